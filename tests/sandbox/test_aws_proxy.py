"""The sandbox under AWS's real host names: through its HTTPS proxy, with its CA trusted and nothing else set."""

from __future__ import annotations

import html
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import certifi
import pytest
import requests
from botocore.config import Config

from grader.sandbox import Sandbox
from grader.sandbox.aws_proxy import AwsProxy, environment_lines
from grader.sandbox.demo import with_domain_version
from grader.sandbox.deploy import deploy_site
from grader.sandbox.layout import SITES_PATH
from grader.sandbox.provision import ProvisionedLab, provision
from grader.sandbox.scenarios import load_scenario
from grader.sandbox.sites import DeployedSite
from grader.sandbox.tls import spki_fingerprints

REGION = "us-east-1"
DOWN = "ec2-3-3-3-3.compute-1.amazonaws.com"
HTTP_ONLY = "ec2-4-4-4-4.compute-1.amazonaws.com"
HANGING = "ec2-5-5-5-5.compute-1.amazonaws.com"
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY")


@dataclass(frozen=True)
class Lab:
    """The finished lab in the sandbox, seen through the proxy."""

    sandbox: Sandbox
    proxy: AwsProxy
    made: ProvisionedLab
    site_root: Path

    @property
    def hosted_ui(self) -> str:
        return f"{self.made.domain}.auth.{REGION}.amazoncognito.com"

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET `url` through the proxy, trusting its CA (unless told otherwise)."""
        kwargs.setdefault("verify", str(self.proxy.ca_file))
        kwargs.setdefault("timeout", 10)
        proxies = {"https": self.proxy.url, "http": self.proxy.url}
        return requests.get(url, proxies=proxies, **kwargs)


@pytest.fixture(scope="module")
def lab(sandbox: Sandbox) -> Iterator[Lab]:
    scenario = load_scenario("finished")
    spec = with_domain_version(scenario.lab, scenario.spec)
    sandbox.reset()
    made = provision(sandbox.url, spec)
    root = deploy_site(sandbox, spec["site"], made)
    assert root is not None
    for host, mode, schemes in (
        (DOWN, "down", ("https", "http")),
        (HTTP_ONLY, "up", ("http",)),
        (HANGING, "hang", ("https", "http")),
    ):
        sandbox.deploy_site(DeployedSite(host=host, root=root, mode=mode, schemes=schemes))
    with AwsProxy(sandbox) as proxy:
        yield Lab(sandbox, proxy, made, root)


@pytest.fixture
def aws_env(lab: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment a user pastes: only the proxy and its CA point boto3 at the sandbox."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for line in environment_lines(lab.proxy):
        name, _, value = line.partition("=")
        monkeypatch.setenv(name, value)


def _client(service: str, **config: Any) -> Any:
    """A boto3 client with its default endpoint: configured by the environment alone."""
    return boto3.client(service, region_name=REGION, config=Config(retries={"max_attempts": 1}, **config))


def test_the_ca_file_is_a_pem_the_ssl_module_loads(lab: Lab) -> None:
    assert lab.proxy.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    context = ssl.create_default_context(cafile=str(lab.proxy.ca_file))
    assert context.cert_store_stats()["x509_ca"] == 1
    assert len(spki_fingerprints(lab.proxy.ca_file)) == 1


def test_the_banner_lines_point_aws_tools_at_the_proxy(lab: Lab) -> None:
    assert environment_lines(lab.proxy) == [
        f"HTTPS_PROXY={lab.proxy.url}",
        f"HTTP_PROXY={lab.proxy.url}",
        "NO_PROXY=localhost,127.0.0.1",
        f"AWS_CA_BUNDLE={lab.proxy.ca_file}",
        "AWS_ACCESS_KEY_ID=sandbox",
        "AWS_SECRET_ACCESS_KEY=sandbox",
        "AWS_DEFAULT_REGION=us-east-1",
    ]


@pytest.mark.usefixtures("aws_env")
def test_boto3_with_default_endpoints_reaches_the_sandbox(lab: Lab) -> None:
    """STS, Cognito, EC2, CloudTrail and S3 (virtual-hosted) answer on AWS's own names."""
    assert _client("sts").get_caller_identity()["Account"]
    pools = _client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"]
    assert [pool["Id"] for pool in pools] == [lab.made.pool_id]
    reservations = _client("ec2").describe_instances()["Reservations"]
    assert lab.made.instance_dns in [i["PublicDnsName"] for r in reservations for i in r["Instances"]]
    assert [trail["Name"] for trail in _client("cloudtrail").describe_trails()["trailList"]] == ["VehicleApp-Trail"]
    s3 = _client("s3", s3={"addressing_style": "virtual"})
    bucket = s3.list_buckets()["Buckets"][0]["Name"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] > 0
    reached = set(lab.proxy.reached)
    assert {
        f"https://cognito-idp.{REGION}.amazonaws.com",
        f"https://ec2.{REGION}.amazonaws.com",
        f"https://cloudtrail.{REGION}.amazonaws.com",
        "https://s3.amazonaws.com",
        f"https://{bucket}.s3.amazonaws.com",
    } <= reached
    assert reached & {"https://sts.amazonaws.com", f"https://sts.{REGION}.amazonaws.com"}


def test_the_hosted_ui_answers_on_its_own_name_and_links_to_it(lab: Lab) -> None:
    """/oauth2/authorize redirects to /login on the same host; the form posts there, not to the sandbox's paths."""
    query = {
        "client_id": lab.made.client_id,
        "response_type": "token",
        "redirect_uri": f"https://{lab.made.instance_dns}",
    }
    authorize = lab.get(f"https://{lab.hosted_ui}/oauth2/authorize", params=query, allow_redirects=False)
    assert authorize.status_code == 302
    assert authorize.headers["Location"].startswith(f"https://{lab.hosted_ui}/login?")
    login = lab.get(authorize.headers["Location"])
    assert login.status_code == 200
    assert 'action="/login?' in login.text
    assert "/_sandbox/" not in login.text


def test_signing_in_on_the_hosted_ui_through_the_proxy_reaches_the_callback(lab: Lab) -> None:
    """The classic hosted UI's cookie and relative form work on the public name: tokens in the callback's fragment."""
    query = {
        "client_id": lab.made.client_id,
        "response_type": "token",
        "redirect_uri": f"https://{lab.made.instance_dns}",
    }
    with requests.Session() as session:
        session.proxies = {"https": lab.proxy.url, "http": lab.proxy.url}
        verify = str(lab.proxy.ca_file)  # per request: REQUESTS_CA_BUNDLE would override the session's
        page = session.get(f"https://{lab.hosted_ui}/login", params=query, verify=verify, timeout=10)
        assert page.status_code == 200
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        action = re.search(r'action="([^"]+)"', page.text)
        assert action is not None
        password = load_scenario("finished").lab["user"]["password"]
        answer = session.post(
            f"https://{lab.hosted_ui}{html.unescape(action.group(1))}",
            data={"_csrf": csrf.group(1), "username": "janedoe", "password": password},
            allow_redirects=False,
            verify=verify,
            timeout=10,
        )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"https://{lab.made.instance_dns}#id_token=")


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_the_deployed_site_answers_on_its_ec2_name(lab: Lab, scheme: str) -> None:
    page = lab.get(f"{scheme}://{lab.made.instance_dns}/login.html")
    assert page.status_code == 200
    assert page.text == (lab.site_root / "login.html").read_text(encoding="utf-8")


def test_an_unknown_host_is_refused(lab: Lab) -> None:
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        lab.get("https://example.com/")
    plain = lab.get("http://example.com/")
    assert plain.status_code == 403
    assert "example.com" in plain.text
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        lab.get("https://sts.amazonaws.com:8443/")


def test_a_site_that_is_down_or_not_serving_the_scheme_refuses(lab: Lab) -> None:
    """As a proxy answers when the origin refuses the connection: 502."""
    with pytest.raises(requests.exceptions.ProxyError, match="502"):
        lab.get(f"https://{DOWN}/login.html")
    plain = lab.get(f"http://{DOWN}/login.html")
    assert plain.status_code == 502
    assert "refused" in plain.text.lower()
    with pytest.raises(requests.exceptions.ProxyError, match="502"):
        lab.get(f"https://{HTTP_ONLY}/login.html")
    assert lab.get(f"http://{HTTP_ONLY}/login.html").status_code == 200


def _raw_connect(lab: Lab, target: str) -> socket.socket:
    port = int(lab.proxy.url.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    return raw


def _read_all(raw: socket.socket) -> bytes:
    data = b""
    while chunk := raw.recv(65_536):
        data += chunk
    return data


def test_connect_to_port_80_is_a_plain_tunnel(lab: Lab) -> None:
    """What Node's proxy agent sends for an http URL: CONNECT host:80, then plain HTTP inside."""
    host = lab.made.instance_dns
    with _raw_connect(lab, f"{host}:80") as raw:
        assert raw.recv(1024).startswith(b"HTTP/1.1 200")
        raw.sendall(f"GET /login.html HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert _read_all(raw).startswith(b"HTTP/1.1 200")
    with _raw_connect(lab, f"{DOWN}:80") as raw:
        assert _read_all(raw).startswith(b"HTTP/1.1 502")


def test_a_hanging_site_is_relayed_and_hangs(lab: Lab) -> None:
    with pytest.raises(requests.exceptions.ReadTimeout):
        lab.get(f"https://{HANGING}/login.html", timeout=1)


def test_verification_fails_without_the_ca(lab: Lab) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        lab.get(f"https://{lab.made.instance_dns}/login.html", verify=certifi.where())


def test_an_untrusted_certificate_for_the_hosted_ui_fails_verification(lab: Lab) -> None:
    """A proxy told to present a certificate its CA did not sign, for the hosted UI only."""
    with AwsProxy(lab.sandbox, untrusted=(f"*.auth.{REGION}.amazoncognito.com",)) as rogue:
        proxies = {"https": rogue.url}
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"https://{lab.hosted_ui}/login", proxies=proxies, verify=str(rogue.ca_file), timeout=10)
        other = requests.get(
            f"https://{lab.made.instance_dns}/login.html", proxies=proxies, verify=str(rogue.ca_file), timeout=10
        )
        assert other.status_code == 200
        rogue.present_trusted()
        trusted_again = requests.get(
            f"https://{lab.hosted_ui}/login", proxies=proxies, verify=str(rogue.ca_file), timeout=10
        )
        assert trusted_again.status_code == 400  # verified; the page itself misses its client_id
        rogue.present_untrusted(lab.made.instance_dns)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(
                f"https://{lab.made.instance_dns}/login.html", proxies=proxies, verify=str(rogue.ca_file), timeout=10
            )


def test_the_sandbox_routes_by_host_header_and_keeps_its_own_paths(lab: Lab) -> None:
    """Without the proxy: a public name in Host (with or without a port) picks the hosted UI or the site."""
    site = requests.get(
        lab.sandbox.url + "/login.html", headers={"Host": f"{lab.made.instance_dns.upper()}:443"}, timeout=10
    )
    assert site.status_code == 200
    assert 'id="username"' in site.text or "username" in site.text
    error = requests.get(lab.sandbox.url + "/error?error=x", headers={"Host": lab.hosted_ui}, timeout=10)
    assert error.status_code == 400
    assert error.headers.get("x-sandbox-reason") == "x"
    listing = requests.get(lab.sandbox.url + SITES_PATH, timeout=10).json()
    assert lab.made.instance_dns in listing
    assert lab.sandbox.answers_host(f"my-bucket.s3.{REGION}.amazonaws.com")
    assert not lab.sandbox.answers_host("s3.example.com")
    assert lab.sandbox.site_state(DOWN) == ("down", ("https", "http"))
    assert lab.sandbox.site_state("example.com") is None


def test_a_client_that_goes_away_leaves_no_traceback(lab: Lab, capfd: pytest.CaptureFixture[str]) -> None:
    port = int(lab.proxy.url.rsplit(":", 1)[1])
    with _raw_connect(lab, f"{lab.hosted_ui}:443") as raw:
        assert raw.recv(1024).startswith(b"HTTP/1.1 200")
        raw.sendall(b"\x16\x03\x01 not a client hello")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET http://exa")
    time.sleep(0.2)
    assert lab.get(f"https://{lab.made.instance_dns}/login.html").status_code == 200
    assert "Traceback" not in capfd.readouterr().err


def test_the_proxy_stops_with_its_sandbox() -> None:
    box = Sandbox()  # never started: its stop() only runs what it was asked to run on stop
    proxy = AwsProxy(box)
    port = int(proxy.start().rsplit(":", 1)[1])
    box.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass

"""`grader doctor` on the network: the proxy and CA bundle in force said in one line (never a proxy's password),
and each AWS host the grade reaches asked through them, every failure said as a sentence. No internet: the proxies
here are local ones that refuse the tunnel, or re-sign TLS with a CA made for the test."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from rich.console import Console

import grader.cli
import grader.doctor
from grader.doctor import Finding, aws_host_findings, aws_hosts, diagnose, first_to_fix, network_findings
from grader.network import Network
from grader.sandbox.tls import Authority
from grader.spec import DEFAULT_SPEC
from grader.target import Target
from tests.test_cli import no_aws_env
from tests.test_doctor import doctor, findings

PROXY_SECRET = "ProxyPassw0rdNeverShown"
REGION_HOSTS = aws_hosts("us-east-1")
NETWORK_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "AWS_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def no_network_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy and no CA bundle from the machine running the tests, nor left by them (`--proxy` sets them)."""
    for name in (*NETWORK_VARIABLES, *(variable.lower() for variable in NETWORK_VARIABLES)):
        monkeypatch.setenv(name, "")  # restored afterwards, even when absent before
        monkeypatch.delenv(name)


def make_ca(name: str) -> Authority:
    """A CA of its own, as a campus proxy has."""
    return Authority.create(name)


def resigned_context(folder: Path, ca: Authority) -> ssl.SSLContext:
    """A TLS server context presenting a certificate for the region's AWS hosts, signed by `ca`."""
    chain, key = ca.issue(*REGION_HOSTS)
    cert_path, key_path = folder / "host.pem", folder / "host-key.pem"
    cert_path.write_bytes(chain)
    key_path.write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def write_ca(path: Path, ca: Authority) -> Path:
    """`ca` written as a PEM CA bundle at `path`."""
    path.write_bytes(ca.pem())
    return path


class ProxyServer(ThreadingHTTPServer):
    """A proxy on a loopback port: it refuses every tunnel with `refusal`, or re-signs TLS with `context`."""

    daemon_threads = True
    refusal: int | None = None
    context: ssl.SSLContext | None = None


class ProxyHandler(BaseHTTPRequestHandler):
    """Answers CONNECT as the server's settings say; AWS's answer to a GET / without a signature is a 403."""

    server: ProxyServer

    def do_CONNECT(self) -> None:
        """Refuse the tunnel, or open it and answer the TLS request inside it."""
        if self.server.refusal is not None:
            self.send_response(self.server.refusal)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        assert self.server.context is not None
        try:
            with self.server.context.wrap_socket(self.connection, server_side=True) as tls:
                read_request_head(tls)
                tls.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (ssl.SSLError, OSError):
            pass  # the client did not trust the certificate: what the test is about

    def log_message(self, *_: object) -> None:
        """Quiet."""


def read_request_head(connection: socket.socket) -> bytes:
    """The request line and headers read from `connection`."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


@pytest.fixture
def start_proxy() -> Iterator[Callable[..., str]]:
    """Starts local proxies (refusing with a status, or re-signing TLS); gives each one's URL."""
    servers: list[ProxyServer] = []

    def start(refusal: int | None = None, context: ssl.SSLContext | None = None) -> str:
        server = ProxyServer(("127.0.0.1", 0), ProxyHandler)
        server.refusal, server.context = refusal, context
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def by_topic(found: list[Finding]) -> dict[str, Finding]:
    """The findings by topic."""
    return {finding.topic: finding for finding in found}


def test_no_proxy_and_the_default_cas_are_said() -> None:
    """Nothing set: the network line says no proxy and the default CAs."""
    network = by_topic(network_findings(Target(endpoint_url="http://127.0.0.1:5000")))["network"]
    assert network == Finding("ok", "network", "no proxy; the default CAs")


def test_a_proxy_and_a_ca_bundle_are_both_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """HTTPS_PROXY, NO_PROXY and AWS_CA_BUNDLE: all three are in the network line."""
    bundle = write_ca(tmp_path / "campus-ca.pem", make_ca("Campus CA"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.edu:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.example.edu")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    network = by_topic(network_findings(Target(endpoint_url="http://127.0.0.1:5000")))["network"]
    assert network.status == "ok"
    assert "proxy http://proxy.example.edu:3128" in network.text
    assert "localhost,.example.edu" in network.text
    assert f"CA bundle {bundle}" in network.text


def test_a_ca_bundle_that_is_no_bundle_fails_the_network_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AWS_CA_BUNDLE naming a file without a certificate: the network line fails, saying how to give one."""
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate", encoding="utf-8")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(not_pem))
    network = by_topic(network_findings(Target(endpoint_url="http://127.0.0.1:5000")))["network"]
    assert network.status == "fail"
    assert "holds no PEM certificate" in network.text
    assert "--ca-bundle FILE" in network.text


def test_a_proxys_user_name_and_password_are_never_shown(
    monkeypatch: pytest.MonkeyPatch, start_proxy: Callable[..., str]
) -> None:
    """A proxy URL with credentials, refusing them (407): named without them in every line, and said to have them."""
    proxy = start_proxy(refusal=407)
    monkeypatch.setenv("HTTPS_PROXY", proxy.replace("http://", f"http://student:{PROXY_SECRET}@"))
    found = network_findings(Target(region="us-east-1"))
    assert found[0] == Finding("ok", "network", f"proxy {proxy} (with a user name and password); the default CAs")
    assert [finding.topic for finding in found[1:]] == list(REGION_HOSTS)
    for finding in found[1:]:
        assert finding.status == "fail"
        assert f"the proxy {proxy} answered 407 Proxy Authentication Required" in finding.text
        assert "http://USER:PASSWORD@HOST:PORT" in finding.text
    for finding in found:
        assert PROXY_SECRET not in finding.text
        assert "student" not in finding.text


def test_a_proxy_that_refuses_the_tunnel_is_named_with_its_answer(
    monkeypatch: pytest.MonkeyPatch, start_proxy: Callable[..., str]
) -> None:
    """A proxy answering CONNECT with 403: each host fails, naming the proxy and its answer."""
    proxy = start_proxy(refusal=403)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    cognito = by_topic(network_findings(Target(region="us-east-1")))["cognito-idp.us-east-1.amazonaws.com"]
    status, text = cognito.status, cognito.text
    assert status == "fail"
    assert text.startswith(f"the proxy {proxy} answered 403 Forbidden instead of a connection to it.")
    assert "*.amazonaws.com" in text


def test_a_proxy_that_cannot_be_reached_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY naming a port nothing listens on: each host fails, naming the proxy it could not reach."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    found = network_findings(Target(region="us-east-1"))
    assert {finding.status for finding in found[1:]} == {"fail"}
    assert found[1].text == f"the proxy {proxy} could not be reached: connection refused. Check --proxy or HTTPS_PROXY."


def test_a_proxy_that_re_signs_tls_needs_its_ca(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start_proxy: Callable[..., str]
) -> None:
    """A proxy re-signing TLS with its own CA: without that CA each host fails on its certificate, saying how to
    give the CA; with a bundle of another CA the bundle is named; with the proxy's CA every host answers."""
    ca = make_ca("Campus Proxy CA")
    proxy = start_proxy(context=resigned_context(tmp_path, ca))
    monkeypatch.setenv("HTTPS_PROXY", proxy)

    untrusted = network_findings(Target(region="us-east-1"))[1]
    assert untrusted.status == "fail"
    assert untrusted.text.startswith("its certificate is not signed by a CA the grader trusts: the default CAs do not")
    assert "--ca-bundle FILE or AWS_CA_BUNDLE" in untrusted.text

    other = write_ca(tmp_path / "other-ca.pem", make_ca("Some Other CA"))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(other))
    assert f"the CA bundle {other} does not sign it" in network_findings(Target(region="us-east-1"))[1].text

    bundle = write_ca(tmp_path / "campus-ca.pem", ca)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    found = network_findings(Target(region="us-east-1"))
    assert found[0] == Finding("ok", "network", f"proxy {proxy}; CA bundle {bundle}")
    assert found[1:] == [Finding("ok", host, f"answers through the proxy {proxy}") for host in REGION_HOSTS]


def test_a_host_out_of_reach_is_said_with_what_to_check() -> None:
    """No proxy and nothing listening: the host fails with the reason and what to check."""
    host = f"127.0.0.1:{closed_port()}"
    (finding,) = aws_host_findings([host], Network())
    assert finding.status == "fail"
    assert finding.text.startswith("could not reach it directly: connection refused. Check this machine's network")
    assert "--proxy URL or HTTPS_PROXY" in finding.text


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            requests.exceptions.ConnectTimeout("timed out"),
            "could not reach it directly: no connection within 5 seconds.",
        ),
        (requests.exceptions.ReadTimeout("timed out"), "could not reach it directly: no answer within 10 seconds."),
        (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), "its certificate is not signed by a CA"),
        (
            requests.exceptions.ConnectionError("Failed to resolve 'sts' ([Errno -2] Name or service not known)"),
            "could not reach it directly: its name does not resolve (DNS).",
        ),
        (ValueError("a broken answer"), "could not be asked directly: ValueError."),
    ],
)
def test_each_failure_is_a_sentence(error: Exception, expected: str) -> None:
    """Whatever the fetch raises, the host fails with a sentence, never a traceback."""

    def fail(_url: str, _settings: Network) -> int:
        raise error

    (finding,) = aws_host_findings(["sts.us-east-1.amazonaws.com"], Network(), fetch=fail)
    assert finding.status == "fail"
    assert finding.text.startswith(expected)


def test_any_http_answer_is_ok_and_the_hosts_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hosts asked at once, answering in the reverse order: the findings keep the hosts' order; a 403 is an answer."""
    asked: list[str] = []

    def slow_first(url: str, _settings: Network) -> int:
        asked.append(url)
        time.sleep(0.05 * (len(REGION_HOSTS) - REGION_HOSTS.index(url.removeprefix("https://").rstrip("/"))))
        return 403

    monkeypatch.setattr(grader.doctor, "fetch_status", slow_first)
    found = network_findings(Target(region="us-east-1"))
    assert found[1:] == [Finding("ok", host, "answers directly") for host in REGION_HOSTS]
    assert sorted(asked) == sorted(f"https://{host}/" for host in REGION_HOSTS)


def test_a_local_endpoint_skips_the_aws_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against a local endpoint no AWS host is asked: one line says so."""

    def never(url: str, _settings: Network) -> int:
        raise AssertionError(f"asked {url}")

    monkeypatch.setattr(grader.doctor, "fetch_status", never)
    found = network_findings(Target(endpoint_url="http://127.0.0.1:5000"))
    assert [finding.topic for finding in found] == ["network", "AWS hosts"]
    assert found[1].status == "ok"
    assert found[1].text.startswith("not checked against a local endpoint")


def test_the_network_comes_before_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """In `diagnose`, the network lines follow the browser and come before the AWS credentials, so an AWS host
    out of reach is the first thing to fix."""

    def unreachable(_url: str, _settings: Network) -> int:
        raise requests.exceptions.ConnectionError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(grader.doctor, "fetch_status", unreachable)
    monkeypatch.setattr(grader.doctor, "browser_finding", lambda _target: Finding("ok", "browser", "stand-in"))
    monkeypatch.setattr(grader.doctor, "aws_findings", lambda _target: [Finding("fail", "credentials", "none")])
    found = diagnose(Target(region="us-east-1"), DEFAULT_SPEC)
    topics = [finding.topic for finding in found]
    assert topics[3:] == ["browser", "network", *REGION_HOSTS, "credentials"]
    blocking = first_to_fix(found)
    assert blocking is not None
    assert blocking.topic == "sts.us-east-1.amazonaws.com"
    assert "network is unreachable" in blocking.text


def test_the_command_line_never_prints_the_proxys_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start_proxy: Callable[..., str]
) -> None:
    """`grader doctor --proxy URL-with-a-password` through a proxy refusing it: the password is in no line, and
    the first host is the first thing to fix."""
    plain = Console(highlight=False, emoji=False, width=400, color_system=None, force_terminal=False)
    monkeypatch.setattr(grader.cli, "console", plain)
    monkeypatch.setattr(grader.doctor, "browser_finding", lambda _target: Finding("ok", "browser", "stand-in"))
    proxy = start_proxy(refusal=407)
    with_password = proxy.replace("http://", f"http://student:{PROXY_SECRET}@")
    result = doctor("--proxy", with_password, "--out", str(tmp_path / "reports"), env=no_aws_env(tmp_path))
    assert result.exit_code == 2, result.output
    assert PROXY_SECRET not in result.output
    found = findings(result.output)
    assert found["network"] == ("ok", f"proxy {proxy} (with a user name and password); the default CAs")
    assert found["sts.us-east-1.amazonaws.com"][0] == "fail"
    assert "Fix first (sts.us-east-1.amazonaws.com): the proxy" in result.output

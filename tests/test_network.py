"""The network settings every part of the grader shares: proxy, NO_PROXY and the CA bundle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.network import Network, ca_bundle_problem, configure, current, proxy_problem, shown
from grader.sandbox.tls import Authority

PROXY = "http://proxy.campus.example:3128"


def test_the_environment_names_the_proxy_lower_case_first_and_the_ca_bundle() -> None:
    settings = Network.from_environment(
        {"HTTPS_PROXY": "http://upper:1", "https_proxy": PROXY, "HTTP_PROXY": "plain:8080", "AWS_CA_BUNDLE": "/ca.pem"}
    )
    assert settings.https_proxy == PROXY
    assert settings.http_proxy == "http://plain:8080"  # a bare host:port is an http proxy, as for curl
    assert settings.ca_bundle == "/ca.pem"
    assert Network.from_environment({}) == Network()


@pytest.mark.parametrize(
    ("url", "through"),
    [
        ("https://cognito-idp.us-east-1.amazonaws.com/", PROXY),
        ("http://ec2-54-1-2-3.compute-1.amazonaws.com/login.html", PROXY),
        ("http://localhost:8000/", ""),
        ("http://127.0.0.1:8000/", ""),
        ("https://intranet.campus.example/", ""),
        ("https://campus.example/", ""),
        ("https://notcampus.example/", PROXY),
    ],
)
def test_no_proxy_sends_its_hosts_and_loopback_straight(url: str, through: str) -> None:
    settings = Network(https_proxy=PROXY, http_proxy=PROXY, no_proxy="localhost, .campus.example")
    assert settings.proxy_for(url) == through
    assert settings.proxies(url) == ({url.split(":")[0]: PROXY} if through else {"http": "", "https": ""})


def test_certificates_are_verified_against_the_bundle_for_aws_hosts_only() -> None:
    settings = Network(ca_bundle="/etc/campus-ca.pem")
    assert settings.verify("https://vehicleapp.auth.us-east-1.amazoncognito.com/login") == "/etc/campus-ca.pem"
    assert settings.verify("https://ec2-54-1-2-3.compute-1.amazonaws.com/") is False
    assert Network().verify("https://sts.us-east-1.amazonaws.com/") is True
    assert settings.botocore_verify() == "/etc/campus-ca.pem"
    assert Network().botocore_verify() is None


def test_the_browser_gets_the_proxy_and_its_bypass_list() -> None:
    assert Network().browser_proxy() is None
    assert Network(https_proxy=PROXY, no_proxy=".campus.example,localhost").browser_proxy() == {
        "server": PROXY,
        "bypass": ".campus.example,localhost,127.0.0.1,[::1]",
    }


def test_a_proxy_password_is_never_shown() -> None:
    secret = "http://jane:hunter2@proxy.campus.example:3128"
    assert "hunter2" not in shown(secret)
    assert "jane" not in shown(secret)
    assert "hunter2" not in Network(https_proxy=secret).describe()
    assert shown(PROXY) == PROXY


@pytest.mark.parametrize("bad", ["socks5://proxy:1080", "http://", "http://proxy:99999", "ftp://proxy"])
def test_a_proxy_url_the_grader_cannot_use_is_named(bad: str) -> None:
    assert proxy_problem(bad)


def test_a_ca_bundle_must_be_a_pem_file_of_certificates(tmp_path: Path, test_ca: Path) -> None:
    assert ca_bundle_problem(test_ca) == ""
    assert "not a file" in ca_bundle_problem(tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    assert "no PEM certificate" in ca_bundle_problem(junk)
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert "cannot be loaded" in ca_bundle_problem(broken)


def test_configure_sets_the_environment_every_part_reads(no_network_env: None, test_ca: Path) -> None:
    settings = configure(PROXY, test_ca)
    assert settings == current()
    assert os.environ["HTTPS_PROXY"] == os.environ["http_proxy"] == PROXY
    assert os.environ["AWS_CA_BUNDLE"] == str(test_ca.resolve())


def test_configure_names_the_option_or_variable_at_fault(
    no_network_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(GraderError, match=r"^--proxy: "):
        configure("socks5://proxy:1080")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.delenv("https_proxy")
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("http_proxy")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    with pytest.raises(GraderError, match=r"^AWS_CA_BUNDLE: nowhere\.pem is not a file"):
        configure()


@pytest.fixture
def no_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle in the environment; whatever a test sets there is undone after it."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "AWS_CA_BUNDLE"):
        monkeypatch.setenv(name, "")  # recorded, so that monkeypatch restores it even when configure() sets it
        monkeypatch.delenv(name)


@pytest.fixture
def test_ca(tmp_path: Path) -> Path:
    """A self-signed CA certificate in a PEM file."""
    path = tmp_path / "campus-ca.pem"
    path.write_bytes(Authority.create("Campus test CA").pem())
    return path

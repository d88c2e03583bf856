"""The HTTP reader checks AWS's certificates, and only the student's website may have one that does not verify."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from grader.network import verifies_certificate
from grader.observe.website import Fetcher, probe

HOSTED_UI = "https://vehicleapp.auth.us-east-1.amazoncognito.com"
SITE = "https://ec2-44-195-176-112.compute-1.amazonaws.com"


@pytest.mark.parametrize(
    ("url", "checked"),
    [
        (f"{HOSTED_UI}/login", True),
        ("https://cognito-idp.us-east-1.amazonaws.com/", True),
        ("https://sts.amazonaws.com/", True),
        ("https://my-bucket.s3.us-east-1.amazonaws.com/", True),
        (f"{SITE}/login.html", False),
        ("https://ec2-3-80-1-2.eu-west-1.compute.amazonaws.com/", False),
        ("https://student.example.org/", False),
        ("https://127.0.0.1:8443/", False),
    ],
)
def test_which_hosts_must_present_a_certificate_that_verifies(url: str, checked: bool) -> None:
    """Cognito's and AWS's hosts are checked; an EC2 instance's name (the student's site) and other sites are not."""
    assert verifies_certificate(url) is checked


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for localhost, signed by nobody the grader trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _SignInPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<form><input name=username><input name=password type=password></form>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def untrusted_tls(tmp_path: Path) -> Iterator[str]:
    """An https server on a loopback port with a self-signed certificate; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SignInPage)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_hosted_ui_whose_certificate_does_not_verify_is_never_read(untrusted_tls: str) -> None:
    """A hosted UI answering with a certificate no trusted CA signed: the probe reads nothing (the grader's error)."""
    fetcher = Fetcher(lambda url: untrusted_tls + "/login" if url.startswith(HOSTED_UI) else None)
    answer = probe(fetcher, f"{HOSTED_UI}/login?client_id=abc&response_type=token")
    assert answer.status is None
    assert answer.error == "unreachable"
    assert answer.unseen()


def test_the_students_self_signed_site_is_still_read(untrusted_tls: str) -> None:
    """The course website's self-signed certificate is the student's choice: the page is read all the same."""
    fetcher = Fetcher(lambda url: untrusted_tls + "/login.html" if url.startswith(SITE) else None)
    found, text = fetcher.get(f"{SITE}/login.html")
    assert found.status == 200
    assert text is not None
    assert "password" in text

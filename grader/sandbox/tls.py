"""Certificates for the AWS host names the sandbox answers: a CA made at start, a leaf per host.

:class:`HostCertificates` makes a certificate authority when it is created and writes its
certificate as PEM (the file a user gives as ``AWS_CA_BUNDLE``); each host's certificate is made
on first use (its one subject alternative name is the host's DNS name), signed by that CA and
kept. A host can be made to present a certificate from a second CA that nobody trusts
(:meth:`HostCertificates.present_untrusted`), as a man in the middle would.

Keys are EC P-256 (fast to make). Leaf keys are written, with their certificates, to a folder of
the sandbox's own that is removed when the sandbox stops: an :class:`ssl.SSLContext` loads a
certificate chain only from files.
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import hashlib
import ipaddress
import os
import re
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 365
LEAF_DAYS = 90
"""Well under the 398 days browsers accept for a server certificate."""
BACKDATE = datetime.timedelta(hours=1)
"""Certificates are valid from a little before they are made, for a clock slightly behind."""
SAFE_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
"""A host name a certificate is made for (it also names the certificate's files)."""


def _key_usage(signs_certificates: bool) -> x509.KeyUsage:
    """What a certificate's key may do: sign (a CA: certificates too) and nothing else."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _alternative_name(host: str) -> x509.GeneralName:
    """`host` as a certificate's subject alternative name: an IP address or a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


@dataclass(frozen=True)
class Authority:
    """A certificate authority: its key and self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, common_name: str) -> Authority:
        """A new CA named `common_name`, valid for CA_DAYS."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Grader sandbox"),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def pem(self) -> bytes:
        """The CA's certificate as PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, host: str, *more_hosts: str) -> tuple[bytes, bytes]:
        """A server certificate for `host` (and `more_hosts`) signed by this CA: (certificate chain PEM, key PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names = [_alternative_name(name) for name in (host, *more_hosts)]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        chain = certificate.public_bytes(serialization.Encoding.PEM) + self.pem()
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return chain, key_pem


class HostCertificates:
    """The TLS server side of every host the sandbox answers, under `folder`.

    `ca_file` is the trusted CA's certificate (PEM). Hosts matching a pattern given to
    :meth:`present_untrusted` (or `untrusted`) get a certificate from a CA nobody trusts instead.
    """

    def __init__(self, folder: Path, untrusted: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.authority = Authority.create("Grader sandbox CA")
        self.ca_file = self.folder / "sandbox-ca.pem"
        self.ca_file.write_bytes(self.authority.pem())
        self._rogue: Authority | None = None
        self._untrusted: list[str] = [pattern.lower() for pattern in untrusted]
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def present_untrusted(self, host_pattern: str) -> None:
        """From now on, hosts matching `host_pattern` (a glob such as ``*.amazoncognito.com``) present
        a certificate the trusted CA did not sign."""
        with self._lock:
            self._untrusted.append(host_pattern.lower())

    def present_trusted(self) -> None:
        """Every host presents its certificate from the trusted CA again."""
        with self._lock:
            self._untrusted.clear()

    def is_untrusted(self, host: str) -> bool:
        """Whether `host` presents a certificate from the CA nobody trusts."""
        with self._lock:
            return any(fnmatch.fnmatchcase(host.lower(), pattern) for pattern in self._untrusted)

    def context_for(self, host: str) -> ssl.SSLContext:
        """The server-side TLS context presenting `host`'s certificate (made on first use, then kept)."""
        host = host.lower()
        if not SAFE_HOST.fullmatch(host):
            raise ValueError(f"not a host name: {host!r}")
        untrusted = self.is_untrusted(host)
        with self._lock:
            known = self._contexts.get((host, untrusted))
            if known is not None:
                return known
            if untrusted and self._rogue is None:
                self._rogue = Authority.create("Untrusted CA")
            authority = self._rogue if untrusted and self._rogue is not None else self.authority
            chain, key = authority.issue(host)
            stem = self.folder / f"{'untrusted-' if untrusted else ''}{host}"
            chain_file, key_file = stem.with_name(stem.name + ".pem"), stem.with_name(stem.name + ".key")
            chain_file.write_bytes(chain)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(["http/1.1"])
            context.load_cert_chain(chain_file, key_file)
            self._contexts[(host, untrusted)] = context
            return context


def spki_fingerprints(pem_file: Path) -> list[str]:
    """Base64 SHA-256 of each certificate's public key in `pem_file`: the values Chromium's
    ``--ignore-certificate-errors-spki-list`` takes to trust a CA it does not know."""
    fingerprints = []
    for certificate in x509.load_pem_x509_certificates(pem_file.read_bytes()):
        der = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        fingerprints.append(base64.b64encode(hashlib.sha256(der).digest()).decode("ascii"))
    return fingerprints

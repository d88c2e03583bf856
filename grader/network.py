"""How the grader reaches the network: the proxy and the CA bundle every part of it uses.

One setting for all of them (boto3, the HTTP reader, the browser and its fetches), read from
the environment as the AWS CLI and most tools read it:

- `HTTPS_PROXY` / `HTTP_PROXY` (or their lower-case forms; `--proxy URL` sets both) name the proxy,
  `NO_PROXY` the hosts reached without it (comma-separated names, `.suffix`es or `*`);
- `AWS_CA_BUNDLE` (or `--ca-bundle FILE`) names a PEM file of the CAs to trust instead of the
  default ones, for a proxy that re-signs TLS with a campus CA.

Certificates are verified for AWS's own hosts only (:func:`verifies_certificate`); the student's
website is read whatever its certificate, as the course's own is self-signed.

Behind a proxy the grader still decides before sending whether a student-controlled address may be
visited (literal addresses, and names it can resolve itself, must be public), but it can no longer
pin the connection to the address it checked: the proxy looks the name up again.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from grader.errors import GraderError

CA_BUNDLE_ENV = "AWS_CA_BUNDLE"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
"""Reached without the proxy whatever NO_PROXY says: a website the user runs on this machine."""
MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024
"""A CA bundle larger than this is not one (the system's full bundle is about 200 KiB)."""

# A running instance's public DNS name: ec2-<ip>.compute-1.amazonaws.com (us-east-1) or
# ec2-<ip>.<region>.compute.amazonaws.com. The name is AWS's; the website and its certificate are the student's.
_EC2_PUBLIC_NAME = re.compile(r"ec2-[0-9-]+\.(?:compute-1|[a-z0-9-]+\.compute)\.amazonaws\.com")


def verifies_certificate(url: str) -> bool:
    """Whether `url`'s TLS certificate is checked: yes for AWS's own hosts (Cognito's hosted UI and
    API, every `*.amazonaws.com` service), no for the student's website, whose course certificate is
    self-signed (said in the evidence, never a fail)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if _EC2_PUBLIC_NAME.fullmatch(host):
        return False
    return host.endswith((".amazoncognito.com", ".amazonaws.com"))


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*@")
_TUNNEL_ANSWER = re.compile(r"Tunnel connection failed: (\d{3}[ A-Za-z-]{0,40})")


def without_credentials(proxy_url: str) -> str:
    """`proxy_url` without the user name and password it may hold."""
    return _USERINFO.sub(lambda found: found.group("scheme") or "", proxy_url, count=1)


def shown(proxy_url: str) -> str:
    """A proxy URL fit to print: its user name and password replaced by a note that it has them."""
    bare = without_credentials(proxy_url)
    return bare if bare == proxy_url else f"{bare} (with a user name and password)"


def tunnel_answer(exc: BaseException) -> str:
    """What a proxy answered instead of opening a tunnel (e.g. '502 Bad Gateway'), or '' when it did not say."""
    found = _TUNNEL_ANSWER.search(str(exc))
    return found.group(1).strip() if found else ""


def _env(environ: Mapping[str, str], name: str) -> str:
    """An environment variable, lower-case form first (as curl and requests read them)."""
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _proxy_url(value: str) -> str:
    """A proxy as the environment gives it; `host:port` without a scheme is an http proxy, as for curl."""
    return value if not value or "://" in value else f"http://{value}"


@dataclass(frozen=True)
class Network:
    """The proxy and CA bundle in use; see the module's docstring."""

    https_proxy: str = ""
    http_proxy: str = ""
    no_proxy: str = ""
    ca_bundle: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Network:
        env = os.environ if environ is None else environ
        return cls(
            https_proxy=_proxy_url(_env(env, "HTTPS_PROXY")),
            http_proxy=_proxy_url(_env(env, "HTTP_PROXY")),
            no_proxy=_env(env, "NO_PROXY"),
            ca_bundle=(env.get(CA_BUNDLE_ENV) or "").strip(),
        )

    @property
    def proxied(self) -> bool:
        return bool(self.https_proxy or self.http_proxy)

    def bypasses(self, url: str) -> bool:
        """Whether `url` is reached without the proxy (its host is in NO_PROXY, or a loopback name)."""
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if host in LOOPBACK_NAMES or host == "::1":
            return True
        for entry in (e.strip().lower() for e in self.no_proxy.split(",")):
            if not entry:
                continue
            if entry == "*":
                return True
            entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry  # host:port -> host
            suffix = entry.lstrip("*").lstrip(".")
            if host == suffix or host.endswith("." + suffix):
                return True
        return False

    def proxy_for(self, url: str) -> str:
        """The proxy `url` goes through, or '' when it goes straight."""
        scheme = urlsplit(url).scheme.lower()
        proxy = self.https_proxy if scheme == "https" else self.http_proxy if scheme == "http" else ""
        if not proxy or self.bypasses(url):
            return ""
        return proxy

    def proxies(self, url: str) -> dict[str, str]:
        """`requests`' proxies for `url`: explicit, so that NO_PROXY is applied the same way everywhere."""
        proxy = self.proxy_for(url)
        scheme = urlsplit(url).scheme.lower()
        # An empty value tells requests not to use the environment's proxy for this scheme.
        return {scheme: proxy} if proxy else {"http": "", "https": ""}

    def verify(self, url: str) -> bool | str:
        """`requests`' `verify` for `url`: the CA bundle (or the default CAs) for AWS's hosts, else False."""
        if not verifies_certificate(url):
            return False
        return self.ca_bundle or True

    def botocore_verify(self) -> str | None:
        """boto3's `verify`: the CA bundle's path, or None for the default CAs."""
        return self.ca_bundle or None

    def browser_proxy(self) -> dict[str, str] | None:
        """Playwright's `proxy` option (server and bypass list), or None without a proxy."""
        server = self.https_proxy or self.http_proxy
        if not server:
            return None
        listed = [e.strip() for e in self.no_proxy.split(",") if e.strip()]
        bypass = listed + [name for name in LOOPBACK_NAMES if name not in listed]
        return {"server": server, "bypass": ",".join(bypass)}

    def describe(self) -> str:
        """One line for a user: the proxy and CA bundle in use."""
        proxy = f"proxy {shown(self.https_proxy or self.http_proxy)}" if self.proxied else "no proxy"
        if self.proxied and self.no_proxy:
            proxy += f" (not for {self.no_proxy})"
        return f"{proxy}; {'CA bundle ' + self.ca_bundle if self.ca_bundle else 'the default CAs'}"


def untrusted_certificate(url_or_host: str, action: str) -> str:
    """The sentence for a TLS certificate of an AWS host that no trusted CA signed."""
    host = urlsplit(url_or_host).hostname if "://" in url_or_host else url_or_host
    settings = current()
    trusted = f"the CA bundle {settings.ca_bundle}" if settings.ca_bundle else "the default CAs"
    return (
        f"The grader could not verify the TLS certificate of {host} while it tried to {action}: "
        f"{trusted} did not sign it, so the answer cannot be trusted to come from AWS. If this "
        "network's proxy re-signs TLS, give its CA with --ca-bundle FILE (or AWS_CA_BUNDLE), then run "
        "the grader again."
    )


def current() -> Network:
    """The network settings in force now (read from the environment at each call)."""
    return Network.from_environment()


def proxy_problem(url: str) -> str:
    """'' when `url` names a proxy the grader can use, else what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http:// or https:// proxy URL (for example http://proxy.example.edu:3128)"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return f"{url!r} names a port that does not exist"
    if not parts.hostname:
        return f"{url!r} names no host"
    return ""


def ca_bundle_problem(path: Path) -> str:
    """'' when `path` is a PEM file of CA certificates the grader can load, else what is wrong."""
    try:
        if not path.is_file():
            return f"{path.name} is not a file"
        if path.stat().st_size > MAX_CA_BUNDLE_BYTES:
            return f"{path.name} is larger than {MAX_CA_BUNDLE_BYTES // (1024 * 1024)} MiB, too large for a CA bundle"
        with path.open("rb") as handle:
            head = handle.read(MAX_CA_BUNDLE_BYTES)
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})"
    if b"-----BEGIN CERTIFICATE-----" not in head:
        return f"{path.name} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError, OSError):
        return f"{path.name} holds a certificate that cannot be loaded"
    return ""


def configure(proxy: str | None = None, ca_bundle: Path | None = None) -> Network:
    """Use `proxy` and `ca_bundle` (the command line's --proxy and --ca-bundle) for everything the grader reaches.

    They are set in this process's environment, where boto3, the HTTP reader and the browser all
    read them; then the settings in force (the environment's, where no option was given) are
    checked. Raises GraderError, naming the option or variable, for a proxy or CA file that cannot
    be used.
    """
    if proxy:
        for name in ("HTTPS_PROXY", "HTTP_PROXY"):
            os.environ[name] = os.environ[name.lower()] = proxy.strip()
    if ca_bundle is not None:
        os.environ[CA_BUNDLE_ENV] = str(ca_bundle.resolve())
    settings = current()
    for url, named in ((settings.https_proxy, "HTTPS_PROXY"), (settings.http_proxy, "HTTP_PROXY")):
        problem = proxy_problem(url) if url else ""
        if problem:
            raise GraderError(f"{'--proxy' if proxy else named}: {problem}.", kind="usage")
    problem = ca_bundle_problem(Path(settings.ca_bundle)) if settings.ca_bundle else ""
    if problem:
        raise GraderError(f"{'--ca-bundle' if ca_bundle is not None else CA_BUNDLE_ENV}: {problem}.", kind="usage")
    return settings

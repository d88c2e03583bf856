"""Which addresses the grader's HTTP reader may visit: public ones, and the origins the user named.

A student controls the website's address and every redirect it answers with; the grader's own
network is not theirs to reach: loopback, private ranges, link-local (169.254.169.254 is the
instance metadata service), unique-local IPv6, unspecified, multicast and reserved addresses are
refused, and so is any scheme but http and https. The decision is made on the resolved addresses:
every address a host name resolves to must be public. An origin the user named explicitly
(`--site-url`) is allowed as it is, local or not.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from grader.site import origin_of

Resolver = Callable[[str, int, float], list[str]]
"""`(host, port, timeout)` -> the addresses `host` resolves to; raises OSError or TimeoutError."""

SCHEMES = ("http", "https")


def is_public(address: str) -> bool:
    """Whether the IP `address` is one the grader may visit (a public unicast address)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


def resolve(host: str, port: int, timeout: float) -> list[str]:
    """The addresses `host` resolves to, waiting at most `timeout` seconds (TimeoutError after)."""
    found: dict[str, object] = {}

    def work() -> None:
        try:
            found["addresses"] = [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        except OSError as exc:
            found["error"] = exc

    worker = threading.Thread(target=work, name="grader-resolve", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if "error" in found:
        raise found["error"]  # type: ignore[misc]
    if "addresses" not in found:
        raise TimeoutError(f"{host} did not resolve within {timeout:g} s")
    return list(found["addresses"])  # type: ignore[call-overload]


def _literal(host: str) -> str | None:
    """`host` as an IP address when it is one (IPv6 without brackets), else None."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None


def pinned(url: str, address: str) -> tuple[str, str]:
    """`url` with its host replaced by the IP `address`, and the Host header that names the host as before."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), parts.netloc.rpartition("@")[2]


class AddressPolicy:
    """Decides whether a URL may be fetched: see the module's docstring."""

    def __init__(self, allowed_origins: Iterable[str | None] = (), resolver: Resolver = resolve) -> None:
        self.allowed_origins = frozenset(o for o in (origin_of(url or "") for url in allowed_origins) if o)
        self.resolver = resolver

    def refusal(self, url: str, timeout: float, *, resolve_names: bool = True) -> str:
        """'' when `url` may be fetched; else the refused address, named for a sentence.

        For example '169.254.169.254', 'evil.example (10.0.0.1)' or 'file:///etc/passwd'. A name
        that does not resolve is not refused here: fetching it fails as "host not found". With
        `resolve_names` False only literal addresses and schemes are judged (no DNS lookup).
        Raises TimeoutError when the name does not resolve within `timeout` seconds.
        """
        return self.decide(url, timeout, resolve_names=resolve_names)[0]

    def decide(self, url: str, timeout: float, *, resolve_names: bool = True) -> tuple[str, str | None]:
        """(:meth:`refusal`'s answer, the address checked for `url`'s host name, or None).

        The address is the one to connect to: a name resolved again when connecting could name
        another address by then (DNS rebinding). None for a literal address, an allowed origin,
        a refused URL, a name not resolved, or with `resolve_names` False.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            return (url if len(url) <= 80 else url[:77] + "..."), None
        host = (parts.hostname or "").lower()
        if not host:
            return url, None
        if origin_of(url) in self.allowed_origins:
            return "", None
        literal = _literal(host)
        if literal is not None:
            return ("" if is_public(literal) else literal), None
        if not resolve_names:
            return "", None
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            return url, None
        try:
            addresses = self.resolver(host, port, timeout)
        except TimeoutError:
            raise
        except OSError:
            return "", None
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            return f"{host} ({refused[0]})", None
        return "", (addresses[0] if addresses else None)

"""Reads the student's website and Cognito's hosted UI over HTTP (no browser).

`Fetcher` GETs pages; in sandbox mode a sandbox-deployed host is fetched from the sandbox. The
website is found where login.html answers, then settings.js is read as text. `probe` asks
Cognito's /oauth2/authorize what it answers to a URL, without following the answer.

Everything a student's server answers is hostile: every read has a total deadline (connect
included) and a byte cap, the body is streamed, redirects are followed by hand (at most
`MAX_REDIRECTS`), and every address, the first and each redirect's, must pass the address policy
(grader/netpolicy.py) before it is fetched. What goes wrong is a Probe's error sentence.
"""

from __future__ import annotations

import html
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import InsecureRequestWarning, NameResolutionError, ReadTimeoutError

import grader
from grader.authorize import HINTS, UNAVAILABLE_TEXT, AuthorizeProbe, cause_of
from grader.netpolicy import AddressPolicy, Resolver, pinned, resolve
from grader.network import current as current_network
from grader.network import shown, tunnel_answer
from grader.site import (
    CONNECTION_REFUSED,
    HOST_NOT_FOUND,
    PAGE_TEXT_CHARS,
    TOO_LARGE,
    Probe,
    Site,
    candidates,
    page_excerpt,
    parse_settings,
)
from grader.snapshot import host_of

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
DEADLINE_S = 15.0
"""The most one read may take, every redirect, the connections and the whole body included."""
MAX_BYTES = 2 * 1024 * 1024
"""The largest body the reader takes (the course's pages are a few KiB)."""
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
REFUSED = CONNECTION_REFUSED
"""The host refused the connection (in the sandbox: it serves nothing there, as the browser sees it)."""
CONNECTION_FAILED = "the connection failed"
"""No connection, for a reason the grader cannot tell (reset, broken TLS, a proxy, ...)."""
UNTRUSTED_CERTIFICATE = "its TLS certificate is not signed by a CA the grader trusts (see --ca-bundle)"
"""An AWS host whose certificate failed verification: nothing it says can be trusted to be AWS's."""
HANGING = f"connected, but no answer within {READ_TIMEOUT:g} s"
NOT_VISITED = "an address the grader does not visit"


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n:,} bytes"


def _socket_of(answer: requests.Response) -> socket.socket | None:
    """The socket an answer is read from (to shorten its timeout to the deadline), if it can be found."""
    sock = getattr(getattr(answer.raw, "connection", None), "sock", None)
    return sock if isinstance(sock, socket.socket) else None


class _ServerNameAdapter(requests.adapters.HTTPAdapter):
    """An https adapter that gives TLS the Host header's name (a URL pinned to an IP keeps its server name)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        named = request.headers.get("Host")
        host = str(named).rsplit(":", 1)[0] if named else ""
        keywords = self.poolmanager.connection_pool_kw
        if host and not host.startswith("["):
            keywords["server_hostname"] = host
        else:
            keywords.pop("server_hostname", None)
        return super().send(request, *args, **kwargs)


class Fetcher:
    """GETs pages; a sandbox-deployed host is fetched from the sandbox instead of the network.

    `local_url(url)` names the URL to fetch instead (None: the URL itself). `offline` (sandbox
    mode): a URL that `local_url` does not map is as dead as an unknown host, and a mapped one is
    fetched (the routes send it to the user's own sandbox, or to the site the user named).
    Otherwise a URL that `local_url` maps elsewhere is fetched there, and any other URL must pass
    the address policy: public addresses only, or an origin in `allowed_origins` (the website the
    user named with --site-url, which may be local). `deadline_s` bounds each read (redirects
    included), `max_bytes` each body; `resolver` resolves host names (tests pass their own).
    """

    def __init__(
        self,
        local_url: Callable[[str], str | None] | None = None,
        *,
        offline: bool = False,
        allowed_origins: Iterable[str | None] = (),
        deadline_s: float = DEADLINE_S,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        resolver: Resolver = resolve,
    ) -> None:
        self.local_url = local_url or (lambda url: None)
        self.offline = offline
        self.policy = AddressPolicy(allowed_origins, resolver)
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.http = requests.Session()
        self.http.headers["User-Agent"] = grader.GRADER_MARK
        self.http.mount("https://", _ServerNameAdapter())

    def get(self, url: str) -> tuple[Probe, str | None]:
        """The probe for `url` and the page's text (None when nothing came back)."""
        probe, text, _ = self._get(url, follow=True)
        return probe, text

    def get_once(self, url: str) -> tuple[Probe, str | None, str]:
        """Like get(), without following a redirect: also returns the Location it names."""
        return self._get(url, follow=False)

    @property
    def _late(self) -> str:
        return f"no complete answer within {self.deadline_s:g} s"

    def _get(self, url: str, follow: bool) -> tuple[Probe, str | None, str]:
        deadline = time.monotonic() + self.deadline_s
        current = url
        for hop in range(self.max_redirects + 1):
            target, refused, address = self._route(current, deadline, hop > 0)
            if refused:
                said = f"the website redirected to {refused}, {NOT_VISITED}" if hop else f"{refused} is {NOT_VISITED}"
                return Probe(url, None, said), None, ""
            if target is None:
                # The sandbox maps nothing where the browser would see the connection refused; against
                # the network, no target means the name did not resolve in time.
                return Probe(url, None, REFUSED if self.offline else HOST_NOT_FOUND), None, ""
            status, text, location, error = self._fetch(current, target, deadline, follow, address)
            if error:
                return Probe(url, None, error), None, ""
            if not follow or status not in REDIRECTS or not location:
                return Probe(url, status), text, location
            current = urljoin(current, location)
        return Probe(url, None, f"the website redirected more than {self.max_redirects} times"), None, ""

    def _route(self, url: str, deadline: float, redirected: bool) -> tuple[str | None, str, str | None]:
        """(the URL to fetch for `url` or None when nothing answers it, the refused address or '',
        the checked address to connect to or None)."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return None, self.policy.refusal(url, 0.0), None
        mapped = self.local_url(url)
        if self.offline:
            # The sandbox's routes decide; a redirect to an unmapped local address is named as refused.
            if mapped is not None or not redirected:
                return mapped, "", None
            return None, self.policy.refusal(url, 0.0, resolve_names=False), None
        if mapped is not None and mapped != url:
            return mapped, "", None
        try:
            refused, address = self.policy.decide(url, min(CONNECT_TIMEOUT, max(deadline - time.monotonic(), 0.0)))
        except TimeoutError:
            return None, "", None
        return url, refused, address

    def _fetch(
        self, url: str, target: str, deadline: float, follow: bool, address: str | None = None
    ) -> tuple[int | None, str | None, str, str]:
        """One GET without following: (status, text, Location, error sentence or '').

        With `address`, the connection goes to that address (the one the policy checked), with
        the URL's host name as the Host header and the TLS server name.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, None, "", self._late
        headers: dict[str, str] = {}
        network = current_network()
        if address is not None and not network.proxy_for(target):
            # Behind a proxy the proxy connects, by name: there is no address to pin.
            target, headers["Host"] = pinned(target, address)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InsecureRequestWarning)
                # The course's https certificate is self-signed: it is the site's, not a bank's. AWS's are checked.
                answer = self.http.get(
                    target,
                    headers=headers,
                    timeout=(min(CONNECT_TIMEOUT, remaining), min(READ_TIMEOUT, remaining)),
                    verify=network.verify(url),
                    proxies=network.proxies(target),
                    allow_redirects=False,
                    stream=True,
                )
        except requests.exceptions.ConnectTimeout:
            return None, None, "", f"no connection within {min(CONNECT_TIMEOUT, remaining):g} s"
        except requests.exceptions.ReadTimeout:
            return None, None, "", HANGING if remaining > READ_TIMEOUT else self._late
        except requests.exceptions.ProxyError as exc:
            return None, None, "", proxy_failure(exc, network.proxy_for(target))
        except requests.exceptions.SSLError:
            return None, None, "", UNTRUSTED_CERTIFICATE
        except requests.exceptions.ConnectionError as exc:
            return None, None, "", connection_failure(exc)
        except requests.exceptions.RequestException as exc:
            return None, None, "", type(exc).__name__
        with answer:
            if self.offline and target != url and answer.status_code == 502:  # the sandbox's "nothing listens there"
                return None, None, "", CONNECTION_REFUSED
            location = answer.headers.get("Location", "")
            if answer.status_code in REDIRECTS and location:
                return answer.status_code, None, location, ""
            body, error = self._read_body(answer, deadline)
        if body is None:
            return None, None, "", error
        encoding = get_encoding_from_headers(answer.headers) or "utf-8"
        try:
            text = body.decode(encoding, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return answer.status_code, text, location, ""

    def _read_body(self, answer: requests.Response, deadline: float) -> tuple[bytes | None, str]:
        """The body, read a chunk at a time until the end, the cap or the deadline."""
        too_large = f"{TOO_LARGE} {_size(self.max_bytes)}"
        length = answer.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            return None, too_large
        raw: Any = answer.raw
        sock = _socket_of(answer)
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, f"the server kept sending for {self.deadline_s:g} s"
            if sock is not None:
                sock.settimeout(min(READ_TIMEOUT, remaining))
            try:
                # read1: at most one read from the socket, so a server dripping bytes meets the deadline.
                chunk = raw.read1(_CHUNK, decode_content=True)
            except (ReadTimeoutError, TimeoutError):
                if deadline - time.monotonic() <= 0:
                    return None, f"the server kept sending for {self.deadline_s:g} s"
                return None, f"the answer stopped for {READ_TIMEOUT:g} s before its end"
            except (Urllib3Error, OSError, ValueError) as exc:
                return None, f"the answer broke off ({type(exc).__name__})"
            if not chunk:
                return b"".join(chunks), ""
            size += len(chunk)
            if size > self.max_bytes:
                return None, too_large
            chunks.append(chunk)


_TEXT_READ_CHARS = 16 * 1024
"""How much of a page the grader reads for its visible text."""


_PIECE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]{0,20})?[^<>]{0,1000}>|[^<]+|<")
_HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})


def visible_text(page: str) -> str:
    """Roughly what a browser shows of an HTML page, on one line and cut short (read as text, never run).

    One pass over the first few KiB, tags bounded in length: a hostile page cannot make it slow.
    """
    parts: list[str] = []
    size = hidden = 0
    for piece in _PIECE.finditer(page[:_TEXT_READ_CHARS]):
        text = piece.group(0)
        if text.startswith("<") and len(text) > 1:
            tag = (piece.group(2) or "").lower()
            if tag in _HIDDEN_TAGS:
                hidden = max(0, hidden - 1) if piece.group(1) else hidden + 1
            continue
        if not hidden:
            parts.append(text)
            size += len(text)
            if size > 4 * PAGE_TEXT_CHARS:
                break
    return page_excerpt(html.unescape(" ".join(parts)))


def proxy_failure(exc: BaseException, proxy: str) -> str:
    """What a proxy said when it did not pass a request on (never the student's failure: only the proxy saw why)."""
    said = tunnel_answer(exc)
    if said:
        return f"the proxy {shown(proxy)} answered {said} instead of connecting"
    return f"the proxy {shown(proxy)} could not be reached ({connection_failure(exc)})"


def connection_failure(exc: BaseException) -> str:
    """What a failed connection was: CONNECTION_REFUSED, HOST_NOT_FOUND, or CONNECTION_FAILED when it cannot be told."""
    todo: list[object] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 12:
        found = todo.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        if isinstance(found, ConnectionRefusedError):
            return CONNECTION_REFUSED
        if isinstance(found, (socket.gaierror, NameResolutionError)):
            return HOST_NOT_FOUND
        if isinstance(found, BaseException):
            todo += [found.__cause__, found.__context__, getattr(found, "reason", None), *found.args]
    return CONNECTION_FAILED


def read_site(fetcher: Fetcher, host_or_url: str, source: str) -> Site:
    """Find the base URL that serves login.html, then read settings.js there."""
    probes: list[Probe] = []
    if not host_or_url:
        return Site("", "", None, (), None)
    host = host_of(host_or_url) if "://" in host_or_url else host_or_url
    for base in candidates(host_or_url):
        probe, text = fetcher.get(base + "login.html")
        if probe.status == 200 and text and 'id="username"' in text.replace("'", '"'):
            probes.append(probe)
            return _with_settings(fetcher, Site(host, source, base, tuple(probes), None))
        if probe.status is not None and text:
            probe = Probe(probe.url, probe.status, probe.error, visible_text(text) or "an empty page")
        probes.append(probe)
        if probe.error == HANGING or probe.error.startswith(("no complete answer", "the server kept sending")):
            break  # a hanging or dripping server: don't wait for it twice
    return Site(host, source, None, tuple(probes), None)


def _with_settings(fetcher: Fetcher, site: Site) -> Site:
    probe, text = fetcher.get(f"{site.base_url}scripts/settings.js")
    if probe.status != 200 or text is None:
        why = f"HTTP {probe.status}" if probe.status else probe.error
        return Site(
            site.host,
            site.source,
            site.base_url,
            (*site.probes, probe),
            None,
            f"scripts/settings.js could not be read ({why})",
            probe,
        )
    settings = parse_settings(text)
    problem = "" if settings else "scripts/settings.js has no UserPoolId or ClientId setting"
    return Site(site.host, site.source, site.base_url, site.probes, settings, problem, probe)


def probe(fetcher: Fetcher, url: str) -> AuthorizeProbe:
    """What Cognito answers to `url` (an authorize or login link), without following it."""
    found, text, location = fetcher.get_once(url)
    if found.status is None:
        return AuthorizeProbe(url, None, "unreachable", f"the hosted UI did not answer ({found.error})")
    host = (urlsplit(url).hostname or "").lower()
    if found.status in {301, 302, 303, 307, 308} and location:
        target = urlsplit(location)
        params = parse_qs(target.query)
        answered = params.get("error", [""])[0]
        description = params.get("error_description", [""])[0]
        if answered:
            error = cause_of(answered, description)
            detail = HINTS.get(error, description or error)
            if description and error == answered and error in HINTS and description != error:
                detail = f"{detail} (Cognito's description: \u201c{description}\u201d)"
            return AuthorizeProbe(url, found.status, error, detail, answered, description)
        if (target.hostname or "").lower() == host and target.path == "/login":
            return AuthorizeProbe(url, found.status, "", "")
        return AuthorizeProbe(
            url,
            found.status,
            "unexpected_redirect",
            f"it redirects to {target.scheme}://{target.hostname}{target.path}",
        )
    if found.status == 200 and urlsplit(url).path == "/login":
        return AuthorizeProbe(url, found.status, "", "")
    if found.status == 404:
        return AuthorizeProbe(url, found.status, "no_domain", "there is no hosted UI at this domain")
    if text and UNAVAILABLE_TEXT.search(text):
        return AuthorizeProbe(url, found.status, "login_pages_unavailable", HINTS["login_pages_unavailable"])
    return AuthorizeProbe(url, found.status, f"http_{found.status}", "Cognito showed an error page")

"""Where the grader's requests go: as they are against real AWS, to the sandbox in sandbox mode.

:func:`discover_routes` gives the routes for a target. With an endpoint URL (sandbox mode) they are
the sandbox's (:class:`grader.sandbox.layout.SandboxRoutes`, which also holds the sandbox's URL
layout): the browser context routes every request, Cognito's endpoint, its hosted-UI domains and
the deployed sites' public names are answered by the sandbox (the request is replayed there with
`route.fetch` and its answer handed back with `route.fulfill`), anything else is aborted and listed
as blocked. :func:`local_url` maps a URL the same way for an HTTP read without the browser.

CORS: the SDK's POST to Cognito is cross-origin with custom headers, so Chromium preflights it.
While any route is set, Playwright answers Chromium's preflight itself (204, allowing the
requested origin, method and headers) and the route handler never sees the OPTIONS; the POST's
own answer carries the sandbox's `Access-Control-Allow-Origin`.

Against real AWS (:class:`RealRoutes`, also from :func:`discover_routes`) every request is
routed too, and decided by the same `decide(url) -> (action, upstream)`: the website the user
named, Cognito's API and hosted-UI hosts, and hosts that resolve only to public addresses
(:class:`~grader.netpolicy.AddressPolicy`, each host resolved once per session) are reached as
they are (with `forward` to themselves, so that a redirect is decided hop by hop as in sandbox
mode; AWS's own hosts are fetched by the grader with their certificates verified, see
grader/browser/recorder.py); anything else (loopback, private, link-local such as
the instance metadata service, other schemes) is aborted and listed as blocked. Playwright
answers CORS preflights here too.
"""

from __future__ import annotations

import html
import json
import re
import threading
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit

from grader.netpolicy import SCHEMES, AddressPolicy, Resolver, pinned, resolve
from grader.network import current as current_network
from grader.site import origin_of

if TYPE_CHECKING:
    from grader.sandbox.layout import SandboxRoutes
    from grader.target import Target

# Cognito's hosted-UI prefix domains: <prefix>.auth.<region>.amazoncognito.com.
PREFIX_HOST = re.compile(r"^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.auth\.([a-z0-9-]+)\.amazoncognito\.com$")
_COGNITO_HOST = re.compile(r"^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com$")
# Against real AWS: how long a host name may take to resolve, and how many hosts' decisions are kept.
RESOLVE_TIMEOUT_S = 2.0
HOSTS_REMEMBERED = 500


class RealRoutes:
    """Where the browser's requests may go against real AWS: see the module's docstring.

    `site_url` is the website the user named (--site-url): its origin is reached as it is, local
    or not. Every other http(s) host must be Cognito's (API or hosted UI) or resolve only to
    public addresses; a host's decision is kept (each host is resolved once, within
    `timeout_s`; one that does not resolve in time is blocked).
    """

    def __init__(
        self, site_url: str | None = None, *, resolver: Resolver = resolve, timeout_s: float = RESOLVE_TIMEOUT_S
    ) -> None:
        origin = origin_of(site_url or "")
        self.direct: tuple[str, ...] = (origin,) if origin else ()
        self.policy = AddressPolicy((), resolver)
        self.timeout_s = timeout_s
        self._hosts: dict[str, tuple[str, str | None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RealRoutes(direct={self.direct!r})"

    def decide(self, url: str) -> tuple[str, str]:
        """What the browser does with a request for `url`, in the terms of the sandbox's routes.

        `("forward", url)` for any request allowed: fetched from `url` itself without following a
        redirect, so that the next hop is decided too (Chromium would follow it past every route);
        `("block", "")` for one refused.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES or not parts.hostname:
            return "block", ""
        if cognito_region(url):
            return "forward", url
        if self.direct and origin_of(url) in self.direct:
            return "forward", url
        if scheme == "https" and is_hosted_ui_host(parts.hostname):
            return "forward", url
        refused, address = self._decided(url)
        if refused:
            return "block", ""
        if address is not None and scheme == "http" and not current_network().proxy_for(url):
            # Fetched from the address that was checked: a second lookup could name another (DNS
            # rebinding). An https host keeps its name, which TLS needs (its server name); behind a
            # proxy, the proxy connects by name.
            return "forward", pinned(url, address)[0]
        return "forward", url

    def refusal(self, url: str) -> str:
        """'' when `url`'s host may be reached, else what is refused (the policy's words); kept per host."""
        return self._decided(url)[0]

    def _decided(self, url: str) -> tuple[str, str | None]:
        """(:meth:`refusal`, the address checked for the host or None); kept per host."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            return url, None
        with self._lock:
            known = self._hosts.get(host)
        if known is not None:
            return known
        try:
            decided = self.policy.decide(url, self.timeout_s)
        except TimeoutError:
            decided = (f"{host} (did not resolve within {self.timeout_s:g} s)", None)
        with self._lock:
            if len(self._hosts) >= HOSTS_REMEMBERED:
                del self._hosts[next(iter(self._hosts))]
            self._hosts[host] = decided
        return decided


Routes: TypeAlias = "SandboxRoutes | RealRoutes"
"""Where the browser's requests go: the sandbox's routes, or the policy against real AWS."""


def discover_routes(target: Target) -> Routes:
    """The routes for `target`: :class:`RealRoutes` against real AWS, else those of the sandbox at its endpoint.

    The sandbox's are read from its site listing (:func:`grader.sandbox.layout.discover`). A website
    the user named (`target.named_site_url`) is reached directly, as it is.
    """
    if target.endpoint_url is None:
        return RealRoutes(target.named_site_url)
    from grader.sandbox.layout import discover

    return discover(target.endpoint_url, target.named_site_url)


def local_url(url: str, routes: Routes | None) -> str | None:
    """The URL a non-browser fetch (`requests`) should use to read `url`.

    Against real AWS (`routes` None or :class:`RealRoutes`) that is `url` itself: the HTTP reader
    applies its own address policy. In sandbox mode it is the sandbox URL
    serving a deployed site's page or a hosted-UI page (also when the site hangs: the caller's
    timeout applies), `url` itself for the sandbox and a website named with --site-url, and
    None when nothing would answer: the host is not a deployed site, the site is down, or it does
    not serve that scheme (the browser sees "connection refused" for the same URL).
    """
    if routes is None or isinstance(routes, RealRoutes):
        return url
    return routes.local_url(url)


def cognito_region(url: str) -> str:
    """The region of a Cognito user-pool endpoint URL, or '' for any other URL."""
    parts = urlsplit(url)
    match = _COGNITO_HOST.match((parts.hostname or "").lower())
    return match.group(1) if match and parts.scheme == "https" else ""


def is_hosted_ui_host(host: str) -> bool:
    """Whether `host` is a Cognito prefix domain, ``<prefix>.auth.<region>.amazoncognito.com``."""
    return bool(PREFIX_HOST.match((host or "").strip().lower()))


def redirect_document(location: str) -> str:
    """A page that sends the browser on to `location`, for a browser route to answer a 3xx with.

    Playwright routes only the first request of a redirect chain: when a route fulfills a 302, the
    browser requests the ``Location`` itself, past every route, on the real network (Playwright's
    own test "should not work with redirects"; measured with Playwright 1.65 and Debian's
    Chromium 156: a fulfilled 302 to ``https://<host>/login`` ends in ``ERR_NAME_NOT_RESOLVED``).
    A route that fulfills navigation requests with this page instead makes the next hop a new
    navigation, which the routes see again. ``location.replace`` keeps the history as a redirect
    would, and the fragment (the implicit grant's tokens) survives.
    """
    target = json.dumps(location).replace("<", "\\u003c").replace(">", "\\u003e")
    shown = html.escape(location, quote=True)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Redirecting</title>'
        f"<script>location.replace({target});</script>"
        f'<noscript><meta http-equiv="refresh" content="0;url={shown}"></noscript>'
        f'</head><body><a href="{shown}">Continue</a></body></html>'
    )

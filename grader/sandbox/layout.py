"""The sandbox's URL layout, and the browser's routes to a sandbox found at an endpoint.

The deployed sites are listed at :data:`SITES_PATH` and served under `SITES_PATH/<public DNS>`;
the hosted UI of `https://<prefix>.auth.<region>.amazoncognito.com` is served under
`HOSTEDUI_PATH/<that host>` (:func:`sandbox_url`). :func:`discover` reads a running sandbox's
site listing into :class:`SandboxRoutes`, which the browser context routes every request by:
Cognito's endpoint, its hosted-UI domains and the deployed sites' public names are answered by the
sandbox, anything else is aborted and listed as blocked (grader.browser.routing has the rest).

Light on purpose: the grader imports this module to talk to a sandbox run elsewhere, so it imports
neither moto nor the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from grader.errors import GraderError
from grader.site import origin_of

# The sandbox lists its deployed websites at SITES_PATH and serves each at SITES_PATH/<public DNS name>.
SITES_PATH = "/_sandbox/sites"
# The sandbox serves the hosted UI of a Cognito domain at HOSTEDUI_PATH/<domain host>.
HOSTEDUI_PATH = "/_sandbox/hostedui"
# Under a domain's hosted UI: the sandbox's own switch of how that hosted UI behaves (not AWS's).
CONTROL_PATH = "/_sandbox/serve"
_LISTING_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SandboxRoutes:
    """Where the browser's requests go in sandbox mode.

    `sites` is the sandbox's listing: public host name (lower case) ->
    `{"path": "/_sandbox/sites/<host>", "mode": "up"|"down"|"hang", "schemes": [...]}`.
    `direct` holds the origins reached as they are: the website the user named (--site-url).
    """

    endpoint_url: str
    sites: dict[str, dict]
    direct: tuple[str, ...] = ()

    def decide(self, url: str) -> tuple[str, str]:
        """What the browser does with a request for `url`: `(action, upstream URL)`.

        Cognito's API endpoint, its hosted-UI domains (`<prefix>.auth.<region>.amazoncognito.com`)
        and the deployed sites are forwarded to the sandbox.

        Actions: `forward` (fetch `upstream` from the sandbox and answer with it), `refuse`
        (a deployed site that is down, or a scheme it does not serve: connection refused),
        `pass` (the sandbox endpoint itself, and the origins in `direct`: reached as they are)
        and `block` (anything else: aborted and listed).
        """
        # Cognito's public host names are the browser routing's; imported here, where the browser
        # already runs, so that importing this module stays light.
        from grader.browser.routing import cognito_region, is_hosted_ui_host

        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        tail = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        endpoint = self.endpoint_url.rstrip("/")
        if parts.netloc.lower() == urlsplit(endpoint).netloc.lower():
            return "pass", url
        if self.direct and origin_of(url) in self.direct:
            return "pass", url
        if cognito_region(url):
            return "forward", endpoint + tail
        if parts.scheme == "https" and is_hosted_ui_host(host):
            return "forward", sandbox_url(endpoint, url)
        site = self.sites.get(host)
        if site is None:
            return "block", ""
        if site.get("mode", "up") == "down" or parts.scheme not in site.get("schemes", ("https", "http")):
            return "refuse", ""
        return "forward", endpoint + str(site.get("path", f"{SITES_PATH}/{host}")).rstrip("/") + tail

    def local_url(self, url: str) -> str | None:
        """The URL a non-browser fetch should use to read `url`: see grader.browser.routing.local_url."""
        from grader.browser.routing import cognito_region

        action, upstream = self.decide(url)
        if action == "pass":
            return url
        if action == "forward" and not cognito_region(url):
            return upstream
        return None


def discover(endpoint_url: str, named_site_url: str | None = None) -> SandboxRoutes:
    """The routes to the sandbox at `endpoint_url`, from its site listing.

    An endpoint without a listing (404, or not JSON) serves no sites. A website the user named
    (`named_site_url`) is reached directly, as it is.
    """
    import requests  # only here: a grader that talks to no sandbox does not need it loaded

    endpoint = endpoint_url.rstrip("/")
    try:
        answer = requests.get(endpoint + SITES_PATH, timeout=_LISTING_TIMEOUT_S)
    except requests.RequestException as exc:
        raise GraderError(
            f"The grader could not reach the sandbox at {endpoint} to list its websites "
            f"({type(exc).__name__}). Check that the sandbox is running and --endpoint-url is right, "
            "then run the grader again.",
            kind="unreachable",
        ) from None
    try:
        listing = answer.json() if answer.ok else None
    except ValueError:
        listing = None
    sites: dict[str, dict] = {}
    if isinstance(listing, dict):
        for host, entry in listing.items():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                schemes = entry.get("schemes")
                sites[str(host).lower()] = {
                    "path": entry["path"],
                    "mode": str(entry.get("mode", "up")),
                    "schemes": [str(s) for s in schemes] if isinstance(schemes, list) else ["https", "http"],
                }
    direct = (origin_of(named_site_url),) if named_site_url and origin_of(named_site_url) else ()
    return SandboxRoutes(endpoint, sites, direct)


def hosted_ui_path(host: str) -> str:
    """Where the sandbox serves the hosted UI of the domain `host` (no trailing slash)."""
    return f"{HOSTEDUI_PATH}/{host.strip().lower()}"


def sandbox_url(endpoint: str, public_url: str) -> str:
    """The sandbox URL that answers `public_url` (``https://<domain host>/<path>?<query>``)."""
    parts = urlsplit(public_url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{endpoint.rstrip('/')}{hosted_ui_path(parts.hostname or '')}{parts.path or '/'}{query}"

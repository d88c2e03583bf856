"""Playwright: finds a Chromium to drive, launches it the same way everywhere, and logs in.

Finding: `--browser-path`; Playwright's own downloaded Chromium (after `playwright install
chromium`); a system Chromium or Chrome. None found is a GraderError saying how to install one.

Logging in: :class:`BrowserSession` opens the student's `login.html` in a real browser, types
janedoe's credentials and reports what happened as a :class:`LoginAttempt`. Against real AWS the
browser talks to the real site and the real Cognito. In sandbox mode (:class:`SandboxRoutes`,
from :func:`discover_routes`) the same code runs, but the browser context routes every request:
Cognito's endpoint and the deployed sites' public names are answered by the sandbox (the request
is replayed there with `route.fetch` and its answer handed back with `route.fulfill`), anything
else is aborted and listed as blocked.

CORS: the SDK's POST to Cognito is cross-origin with custom headers, so Chromium preflights it.
While any route is set, Playwright answers Chromium's preflight itself (204, allowing the
requested origin, method and headers) and the route handler never sees the OPTIONS; the POST's
own answer carries the sandbox's `Access-Control-Allow-Origin`. Against real AWS nothing is
routed, and Cognito answers the preflight as it does for the students.

What the page says to Cognito is observed from the context's `request`/`response`/
`requestfailed` events in both modes (see :class:`Recorder` for how an answer's body is kept).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests

from grader.errors import GraderError
from grader.hostedui import is_hosted_ui_host, redirect_document, sandbox_url
from grader.site import origin_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, Response, Route

    from grader.target import Target

T = TypeVar("T")

SYSTEM_BROWSERS = (
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Chromium features the grader's browser turns off on top of Playwright's own list. A headless
# Chromium (156) still builds each window's address-bar popup as a WebUI page with a renderer of
# its own, and every context is a new window: measured, about 0.9 s of CPU per login on a
# 2-core machine, for a popup nobody opens. Switching it off changes nothing a page can see.
EXTRA_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup")
# Playwright 1.65's own --disable-features list, used when the installed driver's cannot be read.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin",
    "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
    "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion",
)
INSTALL_HINT = (
    "No Chromium was found for the browser checks. Install one with `playwright install chromium` "
    "(or on Debian/Ubuntu `sudo apt-get install chromium`), or give its path with --browser-path."
)


@functools.lru_cache(maxsize=1)
def playwright_disabled_features() -> tuple[str, ...]:
    """The features the installed Playwright driver turns off with its own --disable-features.

    Read from the driver's JavaScript (its `disabledFeatures` list); empty if it cannot be found.
    """
    try:
        import playwright
    except ImportError:
        return ()
    package = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    for source in (package / "server" / "chromium" / "chromiumSwitches.js", package / "coreBundle.js"):
        try:
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = re.search(r"disabledFeatures\s*=\s*\[(.*?)\]", text, re.S)
        if found:
            body = re.sub(r"//[^\n]*", "", found.group(1))
            return tuple(re.findall(r"[\"']([A-Za-z][A-Za-z0-9_]*)[\"']", body))
    return ()


def session_launch_args() -> list[str]:
    """LAUNCH_ARGS plus one --disable-features switch: Playwright's features, then the grader's.

    Chromium keeps only the last --disable-features switch (measured: passing just the grader's
    features turned Playwright's HttpsUpgrades back on, and http pages were upgraded to https),
    so the switch repeats Playwright's list (read from the driver, else Playwright 1.65's).
    """
    features = dict.fromkeys(
        playwright_disabled_features() + PLAYWRIGHT_DISABLED_FEATURES + EXTRA_DISABLED_FEATURES
    )
    return [*LAUNCH_ARGS, "--disable-features=" + ",".join(features)]


@dataclass(frozen=True)
class BrowserChoice:
    """Which browser to launch: `executable` None means Playwright's own download."""

    executable: str | None
    source: str


def _playwright_download() -> str | None:
    """The Chromium `playwright install chromium` put in its cache, if any."""
    roots = [os.environ.get("PLAYWRIGHT_BROWSERS_PATH", ""), str(Path.home() / ".cache" / "ms-playwright")]
    for root in filter(None, roots):
        base = Path(root)
        if not base.is_dir():
            continue
        for pattern in ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-*/headless_shell",
                        "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium", "chromium-*/chrome-win*/chrome.exe"):
            found = sorted(base.glob(pattern))
            if found:
                return str(found[-1])
    return None


def find_browser(explicit: str | None = None) -> BrowserChoice:
    if explicit:
        path = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not path:
            raise GraderError(f"--browser-path {explicit} is not a browser executable.", kind="usage")
        return BrowserChoice(path, "--browser-path")
    if _playwright_download():
        return BrowserChoice(None, "Playwright's Chromium")
    for candidate in SYSTEM_BROWSERS:
        path = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return BrowserChoice(path, f"system browser {path}")
    raise GraderError(INSTALL_HINT, kind="no-browser")


# ---------------------------------------------------------------------------- sandbox routes

SITES_LISTING = "/_sandbox/sites"
TOKEN_KEY_PREFIX = "CognitoIdentityServiceProvider."
_COGNITO_HOST = re.compile(r"^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com$")
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
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        tail = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        endpoint = self.endpoint_url.rstrip("/")
        if parts.netloc.lower() == urlsplit(endpoint).netloc.lower():
            return "pass", url
        if self.direct and origin_of(url) in self.direct:
            return "pass", url
        if _cognito_region(url):
            return "forward", endpoint + tail
        if parts.scheme == "https" and is_hosted_ui_host(host):
            return "forward", sandbox_url(endpoint, url)
        site = self.sites.get(host)
        if site is None:
            return "block", ""
        if site.get("mode", "up") == "down" or parts.scheme not in site.get("schemes", ("https", "http")):
            return "refuse", ""
        return "forward", endpoint + str(site.get("path", f"{SITES_LISTING}/{host}")).rstrip("/") + tail


def discover_routes(target: Target) -> SandboxRoutes | None:
    """The sandbox's routes for `target`: None against real AWS (nothing is routed).

    Reads the sandbox's site listing; an endpoint without one (404, or not JSON) serves no sites.
    A website the user named (`target.site_url`) is reached directly, as it is.
    """
    if target.endpoint_url is None:
        return None
    endpoint = target.endpoint_url.rstrip("/")
    try:
        answer = requests.get(endpoint + SITES_LISTING, timeout=_LISTING_TIMEOUT_S)
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
    direct = (origin_of(target.site_url),) if target.site_url and origin_of(target.site_url) else ()
    return SandboxRoutes(endpoint, sites, direct)


def local_url(url: str, routes: SandboxRoutes | None) -> str | None:
    """The URL a non-browser fetch (`requests`) should use to read `url`.

    Against real AWS (`routes` None) that is `url` itself. In sandbox mode it is the sandbox URL
    serving a deployed site's page or a hosted-UI page (also when the site hangs: the caller's
    timeout applies), `url` itself for the sandbox and a website named with --site-url, and
    None when nothing would answer: the host is not a deployed site, the site is down, or it does
    not serve that scheme (the browser sees "connection refused" for the same URL).
    """
    if routes is None:
        return url
    action, upstream = routes.decide(url)
    if action == "pass":
        return url
    if action == "forward" and not _cognito_region(url):
        return upstream
    return None


# ---------------------------------------------------------------------------- what a login saw


@dataclass(frozen=True)
class CognitoCall:
    """One call the page made to Cognito, without anything secret: no token, password or SRP value."""

    operation: str
    status: int
    outcome: str
    region: str = ""


def cognito_outcome(status: int, body: bytes | str | None) -> str:
    """Say what a Cognito JSON answer was: "tokens issued", "challenge X", "Type: message" or "ok"."""
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        return f"HTTP {status}, not a JSON answer" if status >= 400 or body else f"HTTP {status}, empty answer"
    kind = data.get("__type") or data.get("code")
    if kind:
        kind = str(kind).rpartition("#")[2]
        message = str(data.get("message") or data.get("Message") or "").strip()[:300]
        return f"{kind}: {message}" if message else kind
    if status >= 400:
        return f"HTTP {status}"
    if isinstance(data.get("AuthenticationResult"), dict):
        return "tokens issued"
    if data.get("ChallengeName"):
        return f"challenge {data['ChallengeName']}"
    return "ok"


@dataclass
class LoginAttempt:
    """What happened when the grader logged in on a site's login page.

    `tokens` holds the page's `CognitoIdentityServiceProvider.*` localStorage entries for
    verification only: never report them (it is left out of `repr` and of :meth:`evidence`).
    `error` is a sentence when the login page could not be used at all (connection refused,
    no answer in time, an HTTP error, no login form); `note` says what was seen when the page
    did not reach an end page (`private.html` or `login.html?msg=`) in time.
    """

    login_url: str
    final_url: str = ""
    message: str = ""
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    cognito_calls: list[CognitoCall] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshot_png: bytes | None = field(default=None, repr=False)
    timed_out: bool = False
    error: str = ""
    note: str = ""
    seconds: float = 0.0

    @property
    def landed(self) -> str:
        """Where the login ended: `private` (msg=1 page), `failed` (msg=0), `new_password` (msg=3), or ''."""
        parts = urlsplit(self.final_url)
        if parts.path.endswith("/private.html"):
            return "private"
        if parts.path.endswith("/login.html"):
            msg = dict(p.partition("=")[::2] for p in parts.query.split("&") if p).get("msg")
            return {"0": "failed", "3": "new_password"}.get(msg or "", "")
        return ""

    def evidence(self, *, screenshot: bool = True) -> dict[str, Any]:
        """The non-secret parts, JSON-compatible, for a check's evidence (no token, no password)."""
        out: dict[str, Any] = {
            "login_url": self.login_url,
            "final_url": self.final_url,
            "message": self.message,
            "cognito_calls": [
                {"operation": c.operation, "status": c.status, "outcome": c.outcome}
                | ({"region": c.region} if c.region else {})
                for c in self.cognito_calls
            ],
            "stored_token_keys": sorted(self.tokens),
            "console_errors": list(self.console_errors),
            "blocked": list(self.blocked),
            "timed_out": self.timed_out,
            "error": self.error,
            "note": self.note,
            "seconds": round(self.seconds, 2),
        }
        if screenshot and self.screenshot_png:
            out["screenshot"] = "data:image/png;base64," + base64.b64encode(self.screenshot_png).decode("ascii")
        return out


# ---------------------------------------------------------------------------- the browser session

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
_READ_STORAGE = """() => {
  const out = {};
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key.startsWith('CognitoIdentityServiceProvider.')) out[key] = localStorage.getItem(key);
    }
  } catch (e) { /* an error page has no storage */ }
  return out;
}"""
_READ_MESSAGE = """() => {
  const m = document.querySelector('#message');
  return m ? (m.textContent || '') : '';
}"""
_HAS_LAST_AUTH_USER = """() => {
  try {
    return Object.keys(localStorage).some(
      k => k.startsWith('CognitoIdentityServiceProvider.') && k.endsWith('.LastAuthUser'));
  } catch (e) { return true; }
}"""
_LOGIN_BUTTONS = ('input[value="Login"]', "input[type=submit]")
_FOCUS = """selector => {
  const el = document.querySelector(selector);
  if (!el || el.disabled || el.readOnly) return false;
  el.focus();
  if (document.activeElement !== el) return false;
  if (typeof el.select === 'function') el.select();  // typing replaces whatever is there
  return true;
}"""
_LOGIN_BUTTON = """selectors => selectors.find(selector => document.querySelector(selector) !== null) || null"""
# After the end page is reached, each read of it gets at most this long (seconds).
_READ_TIMEOUT_S = 2.0
# A login whose page threw an uncaught error after the click, and then made no request to Cognito
# and no further error for this long, has stopped: waiting out the whole budget would tell no more.
_STALL_QUIET_S = 1.5
_STALL_POLL_MS = 250.0
_VIEWPORT = {"width": 1000, "height": 720}


def _is_end_page(url: str) -> bool:
    parts = urlsplit(url)
    if parts.path.endswith("/private.html"):
        return True
    return parts.path.endswith("/login.html") and re.search(r"(^|&)msg=", parts.query) is not None


def _type_into(page: Page, selector: str, text: str, timeout_ms: float) -> None:
    """Type `text` into a field as a user would: focus it, then text input (trusted input events).

    The fast path focuses with one script call (cheaper than `fill`, whose checks cost a
    fresh page about 50 ms each); a field that is missing or not focusable yet falls back to
    Playwright's fill, which waits for it (a TimeoutError if it never comes).
    """
    if page.evaluate(_FOCUS, selector):
        page.keyboard.insert_text(text)
    else:
        page.fill(selector, text, timeout=timeout_ms)


def _click_login(page: Page, timeout_ms: float) -> None:
    """Click the Login button (`input[value="Login"]`, else the submit input) with the mouse.

    One script call finds which button the page has; Playwright's click then waits (bounded)
    until it can be clicked and clicks its centre, so even a page that never answers the click
    cannot hold the grader beyond `timeout_ms`.
    """
    selector = page.evaluate(_LOGIN_BUTTON, list(_LOGIN_BUTTONS)) or _LOGIN_BUTTONS[0]
    page.locator(selector).first.click(timeout=timeout_ms)


def load_failure(url: str, exc: Exception) -> str:
    """A sentence for a page that could not be loaded at all."""
    host = urlsplit(url).hostname or url
    text = str(exc)
    match = _NET_ERROR.search(text)
    code = match.group(1) if match else ""
    if code == "ERR_CONNECTION_REFUSED":
        return (f"The browser could not connect to {host}: the connection was refused. Is the instance "
                "running, the web server started, and the port open in its security group?")
    if code in ("ERR_NAME_NOT_RESOLVED", "ERR_NAME_RESOLUTION_FAILED"):
        return f"The name {host} does not resolve: the instance may be stopped or its public name has changed."
    if code in ("ERR_CONNECTION_TIMED_OUT", "ERR_TIMED_OUT", "ERR_ADDRESS_UNREACHABLE"):
        return (f"{host} did not answer the browser: check that the instance is running and that its "
                "security group allows https (443) and http (80) from anywhere.")
    if code in ("ERR_CONNECTION_RESET", "ERR_CONNECTION_CLOSED", "ERR_EMPTY_RESPONSE"):
        return f"{host} closed the connection without sending the page."
    if code.startswith("ERR_SSL") or code.startswith("ERR_CERT"):
        return f"The browser could not set up https with {host} ({code})."
    if code:
        return f"The browser could not load {url} ({code})."
    return f"The browser could not load {url} ({type(exc).__name__})."


def first_line(exc: Exception) -> str:
    """The first line of an exception's text (Playwright appends call logs below it)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def scrub(text: str, password: str) -> str:
    """Text without the password or anything shaped like a token."""
    if password:
        text = text.replace(password, "[password]")
    return _JWT.sub("[token]", text)


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else url.split("?")[0]


def _cognito_region(url: str) -> str:
    """The region of a Cognito user-pool endpoint URL, or '' for any other URL."""
    parts = urlsplit(url)
    match = _COGNITO_HOST.match((parts.hostname or "").lower())
    return match.group(1) if match and parts.scheme == "https" else ""


def remaining_ms(deadline: float, floor_ms: float = 1.0) -> float:
    return max(floor_ms, (deadline - time.monotonic()) * 1000.0)


@dataclass
class _PendingCall:
    operation: str
    region: str
    status: int = 0
    outcome: str = ""
    error_type: str = ""
    failure: str = ""


class Recorder:
    """One login's event sink and, in sandbox mode, the router of every request it makes.

    A Cognito answer's body must be read before the page leaves the document that asked for it
    (Chromium drops a document's response bodies when the next one commits), and the course site
    navigates as soon as the answer arrives. So the body is read in the `response` event handler
    right away; in sandbox mode the router also keeps the outcome of the answer it forwarded,
    which cannot be lost. If the body is gone anyway (real AWS, a very fast redirect), an error's
    type still comes from the `x-amzn-ErrorType` header.
    """

    def __init__(self, routes: SandboxRoutes | None, deadline: float) -> None:
        self.routes = routes
        self.deadline = deadline
        self._pending: dict[int, tuple[Request, _PendingCall]] = {}
        self._routed: dict[int, tuple[Request, str]] = {}
        self.blocked: list[str] = []
        self._blocked_urls: set[str] = set()
        # Every redirect's Location, in order: from the routes in sandbox mode, from the
        # response events against real AWS (where a redirect chain is followed unrouted).
        self.redirects: list[str] = []
        self.console_errors: list[str] = []
        self._page_error_times: list[float] = []
        self._last_activity = time.monotonic()

    def stalled_since(self, since: float, quiet_s: float) -> bool:
        """Whether the page threw an uncaught error after `since`, has no Cognito call in flight,
        and has been quiet (no error, request or answer) for `quiet_s` seconds."""
        now = time.monotonic()
        if not any(t >= since for t in self._page_error_times):
            return False
        in_flight = any(call.status == 0 and not call.failure for _, call in self._pending.values())
        return not in_flight and now - self._last_activity >= quiet_s

    # -- routing (sandbox mode only)

    def route(self, route: Route) -> None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        assert self.routes is not None
        request = route.request
        action, upstream = self.routes.decide(request.url)
        try:
            if action == "pass":
                route.continue_()
            elif action == "block":
                self._blocked_urls.add(request.url)
                short = _without_query(request.url)
                if short not in self.blocked:
                    self.blocked.append(short)
                route.abort("blockedbyclient")
            elif action == "refuse":
                route.abort("connectionrefused")
            else:
                try:
                    answer = route.fetch(url=upstream, max_redirects=0, timeout=remaining_ms(self.deadline, 500))
                except PlaywrightTimeout:
                    route.abort("timedout")
                    return
                except PlaywrightError:
                    route.abort("connectionfailed")
                    return
                if request.method == "POST" and _cognito_region(request.url):
                    self._routed[id(request)] = (request, cognito_outcome(answer.status, answer.body()))
                location = answer.headers.get("location", "")
                if 300 <= answer.status < 400 and location:
                    self.redirects.append(location)
                    if request.is_navigation_request():
                        # A fulfilled 3xx would be followed past every route: see redirect_document.
                        route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                      body=redirect_document(location))
                        return
                route.fulfill(response=answer)
        except Exception:  # noqa: BLE001 - the context closed while the request was in flight
            pass

    # -- observation (both modes)

    def on_request(self, request: Request) -> None:
        self._last_activity = time.monotonic()
        region = _cognito_region(request.url)
        if not region or request.method != "POST":
            return
        target = request.headers.get("x-amz-target", "")
        operation = target.rpartition(".")[2] if target else "(no X-Amz-Target)"
        self._pending[id(request)] = (request, _PendingCall(operation, region))

    def on_response(self, response: Response) -> None:
        self._last_activity = time.monotonic()
        if 300 <= response.status < 400:
            location = response.headers.get("location", "")
            if location and location not in self.redirects[-1:]:
                self.redirects.append(location)
            return
        entry = self._pending.get(id(response.request))
        if entry is None:
            return
        call = entry[1]
        call.status = response.status
        call.error_type = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
        try:
            call.outcome = cognito_outcome(response.status, response.body())
        except Exception:  # noqa: BLE001 - the page moved on first: see the class docstring
            pass

    def on_request_failed(self, request: Request) -> None:
        entry = self._pending.get(id(request))
        if entry is not None:
            entry[1].failure = request.failure or "failed"

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        location = (message.location or {}).get("url", "")
        if location in self._blocked_urls:
            return  # the abort of a blocked request, not the site's doing
        text = message.text
        if text.startswith("Failed to load resource") and location:
            text += f" ({_without_query(location)})"  # Chromium does not say which resource
        self.console_errors.append(text)

    def on_page_error(self, error: Any) -> None:
        self._page_error_times.append(time.monotonic())
        self._last_activity = self._page_error_times[-1]
        text = getattr(error, "message", "") or str(error)
        name = getattr(error, "name", "") or "Error"
        self.console_errors.append(text if text.startswith(name) else f"{name}: {text}")

    def cognito_calls(self) -> list[CognitoCall]:
        """The calls in the order the page made them, with their outcomes."""
        out: list[CognitoCall] = []
        for key, (_, call) in self._pending.items():
            routed = self._routed.get(key)
            if routed is not None:
                outcome = routed[1]
            elif call.outcome:
                outcome = call.outcome
            elif call.status and call.error_type:
                outcome = f"{call.error_type} (HTTP {call.status}; the page moved on before the message could be read)"
            elif call.status:
                outcome = f"HTTP {call.status} (the page moved on before the answer could be read)"
            elif call.failure:
                outcome = f"no answer ({call.failure})"
            else:
                outcome = "no answer (the page moved on first)"
            out.append(CognitoCall(call.operation, call.status, outcome, call.region))
        return out


class BrowserSession:
    """One browser per grading run (launched on first use), a fresh context for every login.

    Against real AWS (`routes` None) nothing is routed or blocked. In sandbox mode Cognito's
    endpoint and the deployed sites are answered by the sandbox and every other request is
    aborted and listed in `LoginAttempt.blocked`.
    """

    def __init__(
        self,
        choice: BrowserChoice,
        routes: SandboxRoutes | None,
        region: str,
        *,
        timeout_s: float = 15.0,
        user_agent_tag: str = "vehicle-lab-grader",
        own_thread: bool = False,
    ) -> None:
        self.choice = choice
        self.routes = routes
        self.region = region
        self.timeout_s = timeout_s
        self.user_agent_tag = user_agent_tag
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._user_agent = ""
        # Playwright's sync API runs one instance per thread. A session kept open beside others
        # (a sandbox's browsers in the test suite) gets a thread of its own; see call().
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser") if own_thread else None

    def start(self) -> None:
        """Launch the browser now, in the session's own thread, without waiting for it.

        For a session with its own thread only (else nothing happens): the caller goes on reading
        the account while Chromium starts. A launch that fails here is tried again, and its
        error raised, at first use.
        """
        if self._worker is not None:
            self._worker.submit(self._launch_quietly)

    def _launch_quietly(self) -> None:
        try:
            self._launch()
        except GraderError:
            pass

    def call(self, work: Callable[..., T], *args: Any) -> T:
        """`work(self, *args)` in the session's thread: its own thread if it has one, else the caller's."""
        if self._worker is None:
            return work(self, *args)
        return self._worker.submit(work, self, *args).result()

    # -- lifecycle

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser and stop Playwright (safe to call twice)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.submit(self._close).result()
            worker.shutdown()
        else:
            self._close()

    def _close(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._stop_playwright()

    def _stop_playwright(self) -> None:
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            try:
                playwright.stop()
            except Exception:  # noqa: BLE001 - already stopped
                pass

    @property
    def user_agent(self) -> str:
        """The user agent of the grader's logins: Chromium's own, then the grader's tag."""
        self._launch()
        return self._user_agent

    def _launch(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._close()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise GraderError(
                "Playwright is not installed, so the browser checks cannot run. Install the grader "
                "with its dependencies, then a Chromium (`playwright install chromium`, or on "
                "Debian/Ubuntu `sudo apt-get install chromium`).",
                kind="no-browser",
            ) from None
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.choice.executable,
                headless=True,
                args=session_launch_args(),
                timeout=30_000,
            )
        except Exception as exc:  # noqa: BLE001 - any launch failure is the same advice
            self._close()
            reason = first_line(exc).removeprefix("BrowserType.launch: ").rstrip(".")
            if "asyncio loop" in reason:
                raise GraderError(
                    "The browser could not be started because Playwright is already running in this "
                    "thread (another BrowserSession, or an asyncio loop). Use one BrowserSession per "
                    "grading run. This is a bug in the grader: please report it.",
                    kind="bug",
                ) from None
            raise GraderError(
                f"The grader could not start the browser ({self.choice.source}): {reason}. "
                "Install a working Chromium with `playwright install chromium` (or on Debian/Ubuntu "
                "`sudo apt-get install chromium`), or give its path with --browser-path.",
                kind="no-browser",
            ) from None
        self._user_agent = f"{self._default_user_agent(self._browser)} {self.user_agent_tag}".strip()
        return self._browser

    @staticmethod
    def _default_user_agent(browser: Browser) -> str:
        try:
            cdp = browser.new_browser_cdp_session()
            try:
                return str(cdp.send("Browser.getVersion")["userAgent"])
            finally:
                cdp.detach()
        except Exception:  # noqa: BLE001 - not Chromium over CDP: ask a page
            context = browser.new_context()
            try:
                return str(context.new_page().evaluate("navigator.userAgent"))
            finally:
                context.close()

    # -- logging in

    def login(self, login_url: str, username: str, password: str, *, timeout_s: float | None = None) -> LoginAttempt:
        """Open `login_url`, log in as `username`, and report what happened.

        Waits at most `timeout_s` (default: the session's) for the login page and the end page
        (`private.html` or `login.html?msg=`), then a couple of seconds more to read the page
        and take a screenshot. A browser that breaks down is a GraderError; everything the site
        does (refused, slow, wrong) is reported in the LoginAttempt.
        """
        return self.logins(login_url, username, [password], timeout_s=timeout_s)[0]

    def logins(
        self, login_url: str, username: str, passwords: list[str], *, timeout_s: float | None = None
    ) -> list[LoginAttempt]:
        """One login per password, each in a fresh context, overlapped: see :meth:`login`.

        Each login page is loaded and submitted in turn, then each is awaited in turn: while one
        page runs its sign-in (the SDK's SRP arithmetic, the calls to Cognito, the next page),
        the grader fills in the next form. Each login keeps its own time budget.
        """
        from playwright.sync_api import Error as PlaywrightError

        budget = self.timeout_s if timeout_s is None else timeout_s
        runs: list[tuple[LoginAttempt, Recorder, Any, float, float, float | None]] = []
        try:
            with contextlib.ExitStack() as stack:
                for password in passwords:
                    started = time.monotonic()
                    deadline = started + budget
                    attempt = LoginAttempt(login_url=login_url)
                    recorder = Recorder(self.routes, deadline)
                    page = stack.enter_context(self.open_page(recorder, budget))
                    clicked = self._submit(page, attempt, username, password, deadline, budget)
                    runs.append((attempt, recorder, page, started, deadline, clicked))
                for (attempt, recorder, page, _, deadline, clicked), password in zip(runs, passwords):
                    if clicked is not None:
                        self._await_end_page(page, recorder, attempt, clicked, deadline, budget)
                    self._read(page, attempt)
                    attempt.cognito_calls = recorder.cognito_calls()
        except PlaywrightError as exc:
            reason = first_line(exc)
            for password in passwords:
                reason = scrub(reason, password)
            raise GraderError(
                f"The browser failed while the grader logged in on {login_url} ({reason}). "
                "Run the grader again; if it keeps happening, show this message to your instructor.",
                kind="browser",
            ) from None
        return [self._finish(attempt, recorder, password, started)
                for (attempt, recorder, _, started, _, _), password in zip(runs, passwords)]

    def _finish(self, attempt: LoginAttempt, recorder: Recorder, password: str, started: float) -> LoginAttempt:
        """What is kept of a login: nothing secret, the notes completed."""
        attempt.blocked = list(recorder.blocked)
        attempt.console_errors = [scrub(text, password)[:500] for text in recorder.console_errors]
        other_regions = sorted({c.region for c in attempt.cognito_calls if c.region and c.region != self.region})
        if other_regions and not attempt.note:
            attempt.note = (f"The page called Cognito in {', '.join(other_regions)}, not in {self.region}: "
                            "settings.js holds a user pool of another region.")
        attempt.message = scrub(attempt.message, password)
        attempt.final_url = scrub(attempt.final_url, password)
        attempt.error = scrub(attempt.error, password)
        attempt.note = scrub(attempt.note, password)
        attempt.seconds = time.monotonic() - started
        return attempt

    @contextlib.contextmanager
    def open_page(self, recorder: Recorder, budget: float) -> Iterator[Page]:
        """A page in a fresh context: routed by `recorder` in sandbox mode, observed by it always.

        Every wait defaults to `budget` seconds; the context is closed on the way out.
        """
        context = self._new_context()
        try:
            context.set_default_timeout(budget * 1000)
            context.set_default_navigation_timeout(budget * 1000)
            if self.routes is not None:
                context.route("**/*", recorder.route)
            context.on("request", recorder.on_request)
            context.on("response", recorder.on_response)
            context.on("requestfailed", recorder.on_request_failed)
            page = context.new_page()
            page.on("console", recorder.on_console)
            page.on("pageerror", recorder.on_page_error)
            yield page
        finally:
            try:
                context.unroute_all(behavior="ignoreErrors")
            except Exception:  # noqa: BLE001
                pass
            try:
                context.close()
            except Exception:  # noqa: BLE001 - the browser went away
                pass

    def _new_context(self) -> BrowserContext:
        """A fresh context; if the browser has gone away, launch it once more."""
        for retry in (False, True):
            browser = self._launch()
            try:
                return browser.new_context(
                    ignore_https_errors=True,  # the course sites use a self-signed certificate
                    user_agent=self._user_agent,
                    viewport=_VIEWPORT,  # type: ignore[arg-type]
                    service_workers="block",
                )
            except Exception:  # noqa: BLE001 - the browser crashed or was closed
                self._close()
                if retry:
                    raise GraderError(
                        "The browser stopped working and could not be started again. Run the grader "
                        "again; if it keeps happening, show this message to your instructor.",
                        kind="browser",
                    ) from None
        raise AssertionError("unreachable")

    def _submit(
        self, page: Page, attempt: LoginAttempt, username: str, password: str, deadline: float, budget: float
    ) -> float | None:
        """Load the login page and submit the form: when Login was clicked, or None (`error` says why)."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        url = attempt.login_url
        try:
            response = page.goto(url, wait_until="domcontentloaded", timeout=remaining_ms(deadline))
        except PlaywrightTimeout:
            attempt.timed_out = True
            attempt.error = (f"The browser waited {budget:g} s for {url} and the page did not load: "
                             "the web server did not answer in time.")
            return None
        except PlaywrightError as exc:
            attempt.error = load_failure(url, exc)
            return None
        if response is not None and response.status >= 400:
            attempt.error = (f"{url} answered HTTP {response.status} {response.status_text}".rstrip()
                             + " instead of the login page.")
            return None
        try:
            form_wait = min(remaining_ms(deadline), _READ_TIMEOUT_S * 1000)
            _type_into(page, "#username", username, form_wait)
            _type_into(page, "#passwd", password, form_wait)
            clicked = time.monotonic()
            _click_login(page, form_wait)
        except PlaywrightTimeout:
            attempt.error = (f"{url} has no login form the grader can use (a #username and #passwd field "
                             "and a Login button): is it the course's login page?")
            return None
        except PlaywrightError as exc:
            attempt.error = load_failure(url, exc)
            return None
        return clicked

    def _await_end_page(
        self, page: Page, recorder: Recorder, attempt: LoginAttempt, clicked: float, deadline: float, budget: float
    ) -> None:
        """Wait for an end page after Login was clicked; fill in `timed_out`/`note` when none comes."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        while True:
            try:
                page.wait_for_url(_is_end_page, wait_until="domcontentloaded",
                                  timeout=min(remaining_ms(deadline), _STALL_POLL_MS))
                break
            except PlaywrightTimeout:
                if time.monotonic() >= deadline:
                    attempt.timed_out = True
                    attempt.note = f"{budget:g} s after Login was clicked the page had not moved on"
                    return
                if recorder.stalled_since(clicked, _STALL_QUIET_S):
                    attempt.note = ("After Login was clicked the page threw an error and then did nothing "
                                    f"for {_STALL_QUIET_S:g} s")
                    return
            except PlaywrightError as exc:
                attempt.note = f"After Login was clicked the next page failed to load ({first_line(exc)})"
                return
        try:
            if urlsplit(page.url).path.endswith("/private.html") and not page.evaluate(_HAS_LAST_AUTH_USER):
                # The SDK writes the tokens before it redirects; give a slow page a moment.
                page.wait_for_function(_HAS_LAST_AUTH_USER, timeout=_READ_TIMEOUT_S * 1000)
        except PlaywrightError:
            pass  # _read reports what is there

    def _read(self, page: Page, attempt: LoginAttempt) -> None:
        """Read the end state: URL, #message, tokens, a screenshot. Each read is bounded."""
        attempt.final_url = page.url
        try:
            attempt.message = " ".join(str(page.evaluate(_READ_MESSAGE)).split())
        except Exception:  # noqa: BLE001 - no document (error page, navigation in flight)
            attempt.message = ""
        try:
            stored = page.evaluate(_READ_STORAGE)
            attempt.tokens = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
        except Exception:  # noqa: BLE001
            attempt.tokens = {}
        try:
            attempt.screenshot_png = page.screenshot(full_page=False, timeout=_READ_TIMEOUT_S * 1000)
        except Exception:  # noqa: BLE001 - a screenshot is nice to have, not essential
            attempt.screenshot_png = None
        if attempt.note and not attempt.note.endswith("."):
            seen = f": it was at {attempt.final_url}"
            if attempt.message:
                seen += f" showing \u201c{attempt.message}\u201d"
            attempt.note += seen + "."

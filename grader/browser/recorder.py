"""What a page says to Cognito, and the router of every request it makes.

What the page says to Cognito is observed from the context's `request`/`response`/
`requestfailed` events in both modes (see :class:`Recorder` for how an answer's body is kept);
each call is kept as a :class:`~grader.observe.signins.CognitoCall`, without anything secret. The
same :class:`Recorder` routes the page's requests in both modes, as its routes decide: the sandbox's
(:class:`~grader.sandbox.layout.SandboxRoutes`) or, against real AWS, the address policy
(:class:`~grader.browser.routing.RealRoutes`).

Everything a page can grow is capped (:class:`Capped`): console errors, blocked requests,
redirects and Cognito calls keep their first entries and their latest, each message kept short,
and the number left out is counted (:meth:`Recorder.left_out`) and said in the evidence
(:func:`~grader.observe.signins.left_out_sentence`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit

from grader.browser.aws_fetch import Answer, UntrustedCertificate, fetch_for_browser
from grader.browser.routing import RealRoutes, cognito_region, redirect_document
from grader.browser.session import remaining_ms
from grader.network import verifies_certificate
from grader.observe.signins import CognitoCall

if TYPE_CHECKING:
    from playwright.sync_api import APIResponse, Request, Response, Route

    from grader.browser.routing import Routes


T = TypeVar("T")

# How much of what a page can grow is kept: the first entries (head) and the latest (tail).
CONSOLE_HEAD, CONSOLE_TAIL = 40, 10
BLOCKED_KEPT = 50
# Redirects followed for one request that is not a page's navigation (a browser follows 20).
MAX_REDIRECT_HOPS = 5
REDIRECTS_HEAD, REDIRECTS_TAIL = 25, 25
CALLS_HEAD, CALLS_TAIL = 25, 25
# A console message is kept at most this long until it is scrubbed (then it is cut to 500).
MESSAGE_CHARS = 2000
OPERATION_CHARS = 100
# How many blocked URLs are remembered to tell Chromium's console errors about them from the site's.
BLOCKED_REMEMBERED = 1000


class Capped(Generic[T]):
    """A list that a page can grow, kept short: its first `head` items and its latest `tail`.

    `left_out` counts the items dropped between the two. Iterating gives the items kept, in order.
    """

    def __init__(self, head: int, tail: int = 0) -> None:
        self.head = head
        self._first: list[T] = []
        self._latest: deque[T] = deque(maxlen=tail)
        self.left_out = 0

    def append(self, item: T) -> T | None:
        """Keep `item`; returns the item this pushed out (or `item` itself when nothing more is kept), else None."""
        if len(self._first) < self.head:
            self._first.append(item)
            return None
        if self._latest.maxlen == 0:
            self.left_out += 1
            return item
        pushed = self._latest[0] if len(self._latest) == self._latest.maxlen else None
        if pushed is not None:
            self.left_out += 1
        self._latest.append(item)
        return pushed

    def last(self) -> T | None:
        if self._latest:
            return self._latest[-1]
        return self._first[-1] if self._first else None

    def __iter__(self) -> Iterator[T]:
        yield from self._first
        yield from self._latest

    def __len__(self) -> int:
        return len(self._first) + len(self._latest)

    def __bool__(self) -> bool:
        return len(self) > 0


def clip_message(text: str, limit: int = MESSAGE_CHARS) -> str:
    """`text`, at most about `limit` characters: a longer one loses its cut last word too (which may be part
    of a token or a password that scrubbing would no longer recognise) and ends with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace():  # the last word goes on past the cut: what is left of it goes too
        cut = cut[: max(0, *(cut.rfind(blank) for blank in " \t\n\r"))]
    kept = cut.rstrip()
    return f"{kept} \u2026" if kept else f"(a message of {len(text):,} characters, not kept)"


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
        kind = str(kind).rpartition("#")[2][:OPERATION_CHARS]
        message = str(data.get("message") or data.get("Message") or "").strip()[:300]
        return f"{kind}: {message}" if message else kind
    if status >= 400:
        return f"HTTP {status}"
    if isinstance(data.get("AuthenticationResult"), dict):
        return "tokens issued"
    if data.get("ChallengeName"):
        return f"challenge {data['ChallengeName']}"
    return "ok"


IDLE_MS = 15
"""How long the router lets Playwright serve other requests between looks at one sent to AWS."""


def _idle_of(request: Request) -> Callable[[], None] | None:
    """A short wait of Playwright's in `request`'s page, during which the browser's thread serves other
    requests; None where the request has no page (then the fetch waits as it is)."""
    try:
        page = request.frame.page
    except Exception:  # noqa: BLE001 - a service worker's request, or a frame already gone
        return None
    return lambda: page.wait_for_timeout(IDLE_MS)


def _is_page_navigation(request: Request) -> bool:
    """Whether `request` loads a page's top document (not a frame's, not a resource)."""
    try:
        return bool(request.is_navigation_request()) and request.frame.parent_frame is None
    except Exception:  # noqa: BLE001 - a request without a frame (a service worker's)
        return False


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else url.split("?")[0]


@dataclass
class _PendingCall:
    operation: str
    region: str
    status: int = 0
    outcome: str = ""
    error_type: str = ""
    failure: str = ""


class Recorder:
    """One login's event sink and the router of every request it makes (`routes` None: real AWS, nothing named).

    A Cognito answer's body must be read before the page leaves the document that asked for it
    (Chromium drops a document's response bodies when the next one commits), and the course site
    navigates as soon as the answer arrives. So the body is read in the `response` event handler
    right away; in sandbox mode the router also keeps the outcome of the answer it forwarded,
    which cannot be lost. If the body is gone anyway (real AWS, a very fast redirect), an error's
    type still comes from the `x-amzn-ErrorType` header.
    """

    def __init__(self, routes: Routes | None, deadline: float) -> None:
        self.routes: Routes = routes if routes is not None else RealRoutes()
        self.deadline = deadline
        # The Cognito calls kept (their keys in order), and each one's request and what is known of it.
        self._calls: Capped[int] = Capped(CALLS_HEAD, CALLS_TAIL)
        self._pending: dict[int, tuple[Request, _PendingCall]] = {}
        self._routed: dict[int, tuple[Request, str]] = {}
        self.blocked: Capped[str] = Capped(BLOCKED_KEPT)
        # AWS pages whose TLS certificate no trusted CA signed (never shown to the page).
        self.untrusted_certificates: Capped[str] = Capped(BLOCKED_KEPT)
        self._blocked_listed: set[str] = set()
        self._blocked_urls: dict[str, None] = {}  # the latest BLOCKED_REMEMBERED, oldest first
        # Redirects' Locations, in order: from the routes in sandbox mode, from the response
        # events against real AWS (where a redirect chain is followed unrouted).
        self.redirects: Capped[str] = Capped(REDIRECTS_HEAD, REDIRECTS_TAIL)
        self.console_errors: Capped[str] = Capped(CONSOLE_HEAD, CONSOLE_TAIL)
        self._last_page_error: float | None = None
        self._last_activity = time.monotonic()
        # The latest page (main-frame) navigation refused by the address policy, and when.
        self.blocked_navigation: tuple[str, float] | None = None

    def left_out(self) -> dict[str, int]:
        """How many of each list were left out: console errors, blocked requests, redirects, Cognito calls."""
        return {
            "console errors": self.console_errors.left_out,
            "blocked requests": self.blocked.left_out,
            "redirects": self.redirects.left_out,
            "Cognito calls": self._calls.left_out,
        }

    def stalled_since(self, since: float, quiet_s: float) -> bool:
        """Whether the page threw an uncaught error after `since`, has no Cognito call in flight,
        and has been quiet (no error, request or answer) for `quiet_s` seconds."""
        now = time.monotonic()
        if self._last_page_error is None or self._last_page_error < since:
            return False
        in_flight = any(call.status == 0 and not call.failure for _, call in self._pending.values())
        return not in_flight and now - self._last_activity >= quiet_s

    # -- routing (both modes)

    def route(self, route: Route) -> None:
        request = route.request
        action, upstream = self.routes.decide(request.url)
        try:
            if action == "pass":
                route.continue_()
            elif action == "block":
                self._remember_blocked(request.url)
                if _is_page_navigation(request):
                    self.blocked_navigation = (_without_query(request.url), time.monotonic())
                route.abort("blockedbyclient")
            elif action == "refuse":
                route.abort("connectionrefused")
            else:
                self._forward(route, request, upstream)
        except Exception:  # noqa: BLE001 - the context closed while the request was in flight
            pass

    def _forward(self, route: Route, request: Request, upstream: str) -> None:
        """Fetch an allowed request from `upstream` and answer it, deciding every redirect hop.

        A page's navigation that redirects gets a document that navigates on (redirect_document),
        so the next hop is routed again. Any other request's redirects are followed here, at most
        MAX_REDIRECT_HOPS, each hop decided by the routes: Chromium would follow a fulfilled 3xx
        past every route.
        """
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        url, method = request.url, request.method
        for hop in range(MAX_REDIRECT_HOPS + 1):
            headers = None
            if isinstance(self.routes, RealRoutes) and urlsplit(upstream).netloc != urlsplit(url).netloc:
                # Pinned to the address the routes checked: the server still gets the name it was asked for.
                headers = {**request.headers, "host": urlsplit(url).netloc}
            try:
                answer: Answer | APIResponse
                if isinstance(self.routes, RealRoutes) and verifies_certificate(upstream):
                    answer = fetch_for_browser(request, upstream, method, self.deadline, idle=_idle_of(request))
                else:
                    answer = route.fetch(
                        url=upstream,
                        method=method,
                        headers=headers,
                        max_redirects=0,
                        timeout=remaining_ms(self.deadline, 500),
                    )
            except (PlaywrightTimeout, TimeoutError):
                route.abort("timedout")
                return
            except UntrustedCertificate:
                self.untrusted_certificates.append(_without_query(upstream))
                route.abort("connectionfailed")
                return
            except (PlaywrightError, ConnectionError):
                route.abort("connectionfailed")
                return
            if hop == 0 and request.method == "POST" and cognito_region(request.url):
                self._keep_routed(request, cognito_outcome(answer.status, answer.body()))
            location = answer.headers.get("location", "")
            if not (300 <= answer.status < 400 and location):
                break
            self.redirects.append(location)
            if request.is_navigation_request():
                # A fulfilled 3xx would be followed past every route: see redirect_document.
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=redirect_document(location))
                return
            url = urljoin(url, location)
            action, upstream = self.routes.decide(url)
            if action == "block" or hop == MAX_REDIRECT_HOPS:
                self._remember_blocked(url)
                route.abort("blockedbyclient")
                return
            if action == "refuse":
                route.abort("connectionrefused")
                return
            upstream = upstream if action == "forward" else url
            method = method if answer.status in (307, 308) else "GET"
        if isinstance(answer, Answer):
            answer.fulfill(route)
        else:
            route.fulfill(response=answer)

    def _remember_blocked(self, url: str) -> None:
        """List a blocked request (once per URL without its query) and remember its URL for on_console."""
        self._blocked_urls.pop(url, None)
        self._blocked_urls[url] = None
        if len(self._blocked_urls) > BLOCKED_REMEMBERED:
            del self._blocked_urls[next(iter(self._blocked_urls))]
        short = _without_query(url)
        if short in self._blocked_listed:
            return
        if self.blocked.append(short) is None:
            self._blocked_listed.add(short)

    def _keep_routed(self, request: Request, outcome: str) -> None:
        """The outcome of a Cognito answer the router forwarded; only as many are kept as calls are."""
        self._routed[id(request)] = (request, outcome)
        if len(self._routed) > 2 * (CALLS_HEAD + CALLS_TAIL):
            for key in [k for k in self._routed if k not in self._pending][: len(self._routed) // 2]:
                del self._routed[key]

    # -- observation (both modes)

    def on_request(self, request: Request) -> None:
        self._last_activity = time.monotonic()
        region = cognito_region(request.url)
        if not region or request.method != "POST":
            return
        target = request.headers.get("x-amz-target", "")
        operation = target.rpartition(".")[2][:OPERATION_CHARS] if target else "(no X-Amz-Target)"
        key = id(request)
        if key in self._pending:
            return
        self._pending[key] = (request, _PendingCall(operation, region))
        pushed = self._calls.append(key)
        if pushed is not None:
            del self._pending[pushed]
            self._routed.pop(pushed, None)

    def on_response(self, response: Response) -> None:
        self._last_activity = time.monotonic()
        if 300 <= response.status < 400:
            location = response.headers.get("location", "")
            if location and location != self.redirects.last():
                self.redirects.append(location)
            return
        entry = self._pending.get(id(response.request))
        if entry is None:
            return
        call = entry[1]
        call.status = response.status
        call.error_type = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
        with contextlib.suppress(Exception):  # the page moved on first: see the class docstring
            call.outcome = cognito_outcome(response.status, response.body())

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
        text = clip_message(str(message.text))
        if text.startswith("Failed to load resource") and location:
            text += f" ({_without_query(location)[:MESSAGE_CHARS]})"  # Chromium does not say which resource
        self.console_errors.append(text)

    def on_page_error(self, error: Any) -> None:
        self._last_page_error = self._last_activity = time.monotonic()
        text = clip_message(str(getattr(error, "message", "") or error))
        name = clip_message(str(getattr(error, "name", "") or "Error"), OPERATION_CHARS)
        self.console_errors.append(text if text.startswith(name) else f"{name}: {text}")

    def cognito_calls(self) -> list[CognitoCall]:
        """The calls in the order the page made them, with their outcomes."""
        out: list[CognitoCall] = []
        for key in self._calls:
            call = self._pending[key][1]
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

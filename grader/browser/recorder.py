"""What a page says to Cognito, and in sandbox mode the router of every request it makes.

What the page says to Cognito is observed from the context's `request`/`response`/
`requestfailed` events in both modes (see :class:`Recorder` for how an answer's body is kept);
each call is kept as a :class:`CognitoCall`, without anything secret. In sandbox mode the same
:class:`Recorder` routes the page's requests as :class:`~grader.browser.routing.SandboxRoutes`
decides.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from grader.browser.launch import remaining_ms
from grader.browser.routing import cognito_region, redirect_document

if TYPE_CHECKING:
    from playwright.sync_api import Request, Response, Route

    from grader.browser.routing import SandboxRoutes


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
                if request.method == "POST" and cognito_region(request.url):
                    self._routed[id(request)] = (request, cognito_outcome(answer.status, answer.body()))
                location = answer.headers.get("location", "")
                if 300 <= answer.status < 400 and location:
                    self.redirects.append(location)
                    if request.is_navigation_request():
                        # A fulfilled 3xx would be followed past every route: see redirect_document.
                        route.fulfill(
                            status=200, content_type="text/html; charset=utf-8", body=redirect_document(location)
                        )
                        return
                route.fulfill(response=answer)
        except Exception:  # noqa: BLE001 - the context closed while the request was in flight
            pass

    # -- observation (both modes)

    def on_request(self, request: Request) -> None:
        self._last_activity = time.monotonic()
        region = cognito_region(request.url)
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

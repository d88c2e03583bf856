"""Signing in through Cognito's hosted UI in the browser, stopping at the redirect to the callback.

:func:`sign_in` opens an authorize URL, fills the sign-in form as janedoe and waits for one of:
the redirect to the callback URL (its Location is kept: with the implicit grant the tokens are in
its fragment), a change-password form (the user is not confirmed: the grader never submits it,
because that would change the student's account), an error shown on the sign-in form, or the
time running out. The student's website is not needed: in sandbox mode the callback navigation is
answered by the grader itself, and against real AWS the redirect's Location is read from the
response before the browser follows it.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grader.browser import BrowserSession, Recorder, first_line, load_failure, remaining_ms, scrub
from grader.errors import GraderError

# What the page shows, read with one script call: forms are told apart by their visible fields,
# so the classic hosted UI (two copies of each form, one hidden) and managed login both work. A
# change-password form is a new-password field, or two password fields at once.
_PAGE_STATE = """() => {
  const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const all = selector => [...document.querySelectorAll(selector)].filter(shown);
  const passwords = all('input[type=password]');
  const change = all('#new_password, input[name=new_password], input[name=newPassword], input[autocomplete=new-password]')
    .length > 0 || passwords.length >= 2;
  const errors = all('#loginErrorMessage, #errorMessage, .errorMessage, [role=alert]')
    .map(e => (e.textContent || '').trim()).filter(Boolean);
  return {
    change,
    username: all('input[name=username]').length > 0,
    password: passwords.length > 0,
    error: errors.length ? errors[0].slice(0, 300) : '',
    path: location.pathname,
  };
}"""
_STUB_PAGE = (
    "<!DOCTYPE html><meta charset='utf-8'><title>Callback reached</title>"
    "<p>The grader stopped at the redirect to the callback URL.</p>"
)
_POLL_MS = 50


@dataclass
class HostedSignIn:
    """What happened when the grader signed in through the hosted UI.

    `fragment` holds the callback's fragment values (the implicit grant's tokens) for
    verification only: it is never reported (left out of `repr` and :meth:`evidence`).
    """

    authorize_url: str
    redirect_uri: str
    callback: str = ""
    """The redirect to the callback URL, without its fragment and query values ('' if none came)."""
    fragment: dict[str, str] = field(default_factory=dict, repr=False)
    callback_error: str = ""
    """The `error` the redirect carried in its query (`?error=...`), if any."""
    change_password_required: bool = False
    sign_in_message: str = ""
    """What the sign-in form said after the grader submitted it (e.g. "Incorrect username or password.")."""
    pages: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshot_png: bytes | None = field(default=None, repr=False)
    error: str = ""
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def reached_callback(self) -> bool:
        return bool(self.callback)

    def evidence(self) -> dict[str, Any]:
        """The non-secret parts, JSON-compatible: no token, no password."""
        out: dict[str, Any] = {
            "authorize_url": self.authorize_url,
            "redirect_uri": self.redirect_uri,
            "hosted_ui_pages": list(self.pages),
            "callback_reached": self.callback,
            "fragment_keys": sorted(self.fragment),
            "callback_error": self.callback_error,
            "change_password_form": self.change_password_required,
            "sign_in_message": self.sign_in_message,
            "blocked": list(self.blocked),
            "error": self.error,
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 2),
        }
        if self.screenshot_png:
            out["screenshot"] = "data:image/png;base64," + base64.b64encode(self.screenshot_png).decode("ascii")
        return out


def same_endpoint(url: str, redirect_uri: str) -> bool:
    """Whether `url` goes to `redirect_uri`'s scheme, host, port and path (query and fragment aside)."""
    a, b = urlsplit(url), urlsplit(redirect_uri)
    try:
        ports = (a.port or _default_port(a.scheme), b.port or _default_port(b.scheme))
    except ValueError:
        return False
    return (
        a.scheme.lower() == b.scheme.lower()
        and (a.hostname or "").lower() == (b.hostname or "").lower()
        and ports[0] == ports[1]
        and (a.path or "/") == (b.path or "/")
    )


def _default_port(scheme: str) -> int | None:
    return {"https": 443, "http": 80}.get(scheme.lower())


def sign_in(
    session: BrowserSession,
    authorize_url: str,
    redirect_uri: str,
    username: str,
    password: str,
    *,
    timeout_s: float | None = None,
) -> HostedSignIn:
    """Sign in as `username` through the hosted UI at `authorize_url`; see the module docstring."""
    from playwright.sync_api import Error as PlaywrightError

    budget = session.timeout_s if timeout_s is None else timeout_s
    started = time.monotonic()
    deadline = started + budget
    result = HostedSignIn(authorize_url=authorize_url, redirect_uri=redirect_uri)
    recorder = Recorder(session.routes, deadline)
    try:
        with session.open_page(recorder, budget) as page:
            page.context.route(lambda url: same_endpoint(url, redirect_uri), answer_callback)
            _drive(page, recorder, result, username, password, deadline, budget)
    except PlaywrightError as exc:
        raise GraderError(
            f"The browser failed while the grader signed in through the hosted UI "
            f"({scrub(first_line(exc), password)}). "
            "Run the grader again; if it keeps happening, show this message to your instructor.",
            kind="browser",
        ) from None
    result.blocked = list(recorder.blocked)
    result.sign_in_message = scrub(result.sign_in_message, password)
    result.error = scrub(result.error, password)
    result.seconds = time.monotonic() - started
    return result


def answer_callback(route: Any) -> None:
    """The callback's navigation, answered by the grader: the student's site is not needed."""
    try:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=_STUB_PAGE)
    except Exception:  # noqa: BLE001 - the context closed first
        pass


def _drive(
    page: Any, recorder: Recorder, result: HostedSignIn, username: str, password: str, deadline: float, budget: float
) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.goto(result.authorize_url, wait_until="domcontentloaded", timeout=remaining_ms(deadline))
    except PlaywrightTimeout:
        result.timed_out = True
        result.error = f"The hosted UI did not load within {budget:g} s."
        return
    except PlaywrightError as exc:
        if _take_callback(recorder, result):
            return
        result.error = load_failure(result.authorize_url, exc)
        return
    submitted_username = submitted_password = False
    while time.monotonic() < deadline:
        if _take_callback(recorder, result):
            return
        state = _state(page)
        if state is not None:
            path = str(state.get("path") or "")
            if path and path not in result.pages[-1:]:
                result.pages.append(path)
            if state.get("change"):
                result.change_password_required = True
                break
            if state.get("error"):
                if submitted_password:
                    result.sign_in_message = str(state["error"])
                else:
                    result.error = f"The hosted UI showed an error page: {state['error']}"
                break
            try:
                if state.get("username") and not submitted_username:
                    page.locator("input[name=username]:visible").first.fill(username, timeout=remaining_ms(deadline))
                    submitted_username = True
                    if not state.get("password"):
                        page.locator("input[name=username]:visible").first.press("Enter")
                if state.get("password") and not submitted_password and submitted_username:
                    field_ = page.locator("input[type=password]:visible").first
                    field_.fill(password, timeout=remaining_ms(deadline))
                    field_.press("Enter")
                    submitted_password = True
            except PlaywrightTimeout:
                pass
            except PlaywrightError:
                pass  # the page navigated while being filled in: look again
        try:
            page.wait_for_timeout(_POLL_MS)
        except PlaywrightError:
            break
    else:
        result.timed_out = True
    if _take_callback(recorder, result):
        result.timed_out = False
        return
    if result.timed_out and not result.error:
        where = result.pages[-1] if result.pages else page.url
        result.error = (f"The hosted UI did not send the browser on to the callback URL within {budget:g} s "
                        f"(it stayed on {where}).")
    try:
        result.screenshot_png = page.screenshot(full_page=False, timeout=2000)
    except Exception:  # noqa: BLE001 - a screenshot is nice to have
        result.screenshot_png = None


def _state(page: Any) -> dict[str, Any] | None:
    try:
        state = page.evaluate(_PAGE_STATE)
    except Exception:  # noqa: BLE001 - a navigation is in flight
        return None
    return state if isinstance(state, dict) else None


def _take_callback(recorder: Recorder, result: HostedSignIn) -> bool:
    """Fill in `result` from the first redirect to the callback URL, if one came."""
    for location in recorder.redirects:
        if same_endpoint(location, result.redirect_uri):
            parts = urlsplit(location)
            result.callback = f"{parts.scheme}://{parts.netloc}{parts.path}"
            result.fragment = {k: v[0] for k, v in parse_qs(parts.fragment).items()}
            result.callback_error = parse_qs(parts.query).get("error", [""])[0]
            return True
    return False

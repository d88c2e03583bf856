"""Logging in on the course website's `login.html` in the browser, as the student does.

:func:`log_in` opens the login page in a fresh context of a
:class:`~grader.browser.session.BrowserSession`, types the credentials, clicks Login and reports
what happened as a :class:`LoginAttempt`. :func:`log_in_each` makes several logins, overlapped:
:func:`submit_logins` loads and submits each page in turn, then :func:`finish_logins` awaits
each in turn (another flow can run between the two). Against real AWS the browser talks to the
real site and the real Cognito; in sandbox mode the session's routes send both to the sandbox
(:mod:`grader.browser.routing`).

:func:`load_failure` and :func:`scrub` serve the hosted-UI sign-in as well.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from grader.browser.recorder import Recorder
from grader.browser.session import BrowserSession, evaluate_within, first_line, remaining_ms
from grader.errors import GraderError
from grader.observe.signins import LoginAttempt
from grader.site import origin_of, page_excerpt

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The SDK keeps a user's tokens in localStorage under keys with this prefix.
TOKEN_KEY_PREFIX = "CognitoIdentityServiceProvider."


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
# The end page's #message text and the Cognito SDK's entries in localStorage, in one script call.
_READ_END_PAGE = """() => {
  const m = document.querySelector('#message');
  const tokens = {};
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key.startsWith('CognitoIdentityServiceProvider.') || key.length > 512) continue;
      const value = localStorage.getItem(key);
      if (value !== null && value.length <= 16384) tokens[key] = value;  // a token is a few KB
      if (Object.keys(tokens).length >= 64) break;
    }
  } catch (e) { /* an error page has no storage */ }
  return {message: m ? String(m.textContent || '').slice(0, 10000) : '', tokens};
}"""
_PAGE_TEXT = """() => document.body ? String(document.body.innerText || '').slice(0, 2000) : ''"""
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
# How long a page gets to answer the grader once it did not take a click (ms).
_BUSY_PROBE_MS = 500.0


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
    if evaluate_within(page, _FOCUS, selector, timeout_ms=timeout_ms):
        page.keyboard.insert_text(text)
    else:
        page.fill(selector, text, timeout=timeout_ms)


def _answers(page: Page) -> bool:
    """Whether the page still runs scripts for the grader (a page spinning in a loop does not)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        evaluate_within(page, "() => true", timeout_ms=_BUSY_PROBE_MS)
    except PlaywrightTimeout:
        return False
    except Exception:  # noqa: BLE001 - navigating, or no document: not busy
        return True
    return True


def _page_text(page: Page) -> str:
    """The page's visible text (bounded; '' when it cannot be read)."""
    try:
        found = evaluate_within(page, _PAGE_TEXT, timeout_ms=_READ_TIMEOUT_S * 1000)
    except Exception:  # noqa: BLE001 - busy, navigating, or no document: nothing to show
        return ""
    return found if isinstance(found, str) else ""


def _login_button(page: Page, timeout_ms: float) -> str | None:
    """The selector of the page's Login button (`input[value="Login"]`, else the submit input); None if it has none."""
    found = evaluate_within(page, _LOGIN_BUTTON, list(_LOGIN_BUTTONS), timeout_ms=timeout_ms)
    return found if isinstance(found, str) else None


def load_failure(url: str, exc: Exception) -> str:
    """A sentence for a page that could not be loaded at all."""
    host = urlsplit(url).hostname or url
    text = str(exc)
    match = _NET_ERROR.search(text)
    code = match.group(1) if match else ""
    if code == "ERR_CONNECTION_REFUSED":
        return (
            f"The browser could not connect to {host}: the connection was refused. Is the instance "
            "running, the web server started, and the port open in its security group?"
        )
    if code in ("ERR_NAME_NOT_RESOLVED", "ERR_NAME_RESOLUTION_FAILED"):
        return f"The name {host} does not resolve: the instance may be stopped or its public name has changed."
    if code in ("ERR_CONNECTION_TIMED_OUT", "ERR_TIMED_OUT", "ERR_ADDRESS_UNREACHABLE"):
        return (
            f"{host} did not answer the browser: check that the instance is running and that its "
            "security group allows https (443) and http (80) from anywhere."
        )
    if code in ("ERR_CONNECTION_RESET", "ERR_CONNECTION_CLOSED", "ERR_EMPTY_RESPONSE"):
        return f"{host} closed the connection without sending the page."
    if code.startswith(("ERR_SSL", "ERR_CERT")):
        return f"The browser could not set up https with {host} ({code})."
    if code:
        return f"The browser could not load {url} ({code})."
    return f"The browser could not load {url} ({type(exc).__name__})."


def scrub(text: str, password: str) -> str:
    """Text without the password or anything shaped like a token."""
    if password:
        text = text.replace(password, "[password]")
    return _JWT.sub("[token]", text)


def log_in(
    session: BrowserSession, login_url: str, username: str, password: str, *, timeout_s: float | None = None
) -> LoginAttempt:
    """Open `login_url`, log in as `username`, and report what happened.

    Waits at most `timeout_s` (default: the session's) for the login page and the end page
    (`private.html` or `login.html?msg=`), then a couple of seconds more to read the page
    and take a screenshot. A browser that breaks down is a GraderError; everything the site
    does (refused, slow, wrong) is reported in the LoginAttempt.
    """
    return log_in_each(session, login_url, username, [password], timeout_s=timeout_s)[0]


def log_in_each(
    session: BrowserSession, login_url: str, username: str, passwords: list[str], *, timeout_s: float | None = None
) -> list[LoginAttempt]:
    """One login per password, each in a fresh context, overlapped: see :func:`log_in`.

    Each login page is loaded and submitted in turn (:func:`submit_logins`), then each is awaited
    in turn (:func:`finish_logins`): while one page runs its sign-in (the SDK's SRP arithmetic,
    the calls to Cognito, the next page), the grader fills in the next form. Each login keeps its
    own time budget.
    """
    with contextlib.ExitStack() as stack:
        runs = submit_logins(session, login_url, username, passwords, stack, timeout_s=timeout_s)
        return finish_logins(session, runs, passwords)


@dataclass
class InFlightLogin:
    """A login submitted by :func:`submit_logins` and not yet awaited: its page is still open."""

    attempt: LoginAttempt
    recorder: Recorder
    page: Page
    started: float
    deadline: float
    budget: float
    clicked: float | None
    """When Login was clicked; None when the page could not be used (`attempt.error` says why)."""
    loading: bool = True
    """Whether the login page started loading (`attempt.error` says why not)."""
    busy: bool = False
    """Whether the page was too busy running its own scripts to answer: it is not read any more."""


def submit_logins(
    session: BrowserSession,
    login_url: str,
    username: str,
    passwords: list[str],
    stack: contextlib.ExitStack,
    *,
    timeout_s: float | None = None,
) -> list[InFlightLogin]:
    """Load `login_url` and submit the form once per password, each page in a fresh context.

    The pages stay open on `stack` (closing it ends them) and each login goes on in its page
    while the caller does something else; :func:`finish_logins` awaits them. Each login has
    `timeout_s` (default: the session's) from the moment its page is opened. This is
    :func:`open_logins` then :func:`submit_opened`; a caller may run another flow in between.
    """
    runs = open_logins(session, login_url, passwords, stack, timeout_s=timeout_s)
    submit_opened(runs, username, passwords)
    return runs


def open_logins(
    session: BrowserSession,
    login_url: str,
    passwords: list[str],
    stack: contextlib.ExitStack,
    *,
    timeout_s: float | None = None,
) -> list[InFlightLogin]:
    """Open one page per password, each in a fresh context, and start loading `login_url` in each.

    Waits only until each answer starts: the pages load side by side while the grader goes on.
    """
    budget = session.timeout_s if timeout_s is None else timeout_s
    runs: list[InFlightLogin] = []
    with _browser_failure(login_url, passwords):
        for _ in passwords:
            started = time.monotonic()
            deadline = started + budget
            attempt = LoginAttempt(login_url=login_url, started_at=time.time())
            recorder = Recorder(session.routes, deadline)
            page = stack.enter_context(session.open_page(recorder, budget))
            loading = _start_loading(page, attempt, deadline, budget)
            runs.append(InFlightLogin(attempt, recorder, page, started, deadline, budget, None, loading))
    return runs


def submit_opened(runs: list[InFlightLogin], username: str, passwords: list[str]) -> None:
    """Fill in and submit the login form on each page :func:`open_logins` opened, in turn."""
    with _browser_failure(runs[0].attempt.login_url if runs else "", passwords):
        for run, password in zip(runs, passwords, strict=True):
            if run.loading:
                _fill_and_click(run, username, password)


def finish_logins(session: BrowserSession, runs: list[InFlightLogin], passwords: list[str]) -> list[LoginAttempt]:
    """Await each login of :func:`submit_logins` in turn and read its end page: the LoginAttempts.

    `passwords` are the ones submitted, in the same order: none of them is left in what is kept.
    """
    with _browser_failure(runs[0].attempt.login_url if runs else "", passwords):
        for run in runs:
            if run.clicked is not None:
                _await_end_page(run.page, run.recorder, run.attempt, run.clicked, run.deadline, run.budget)
            if run.busy:
                run.attempt.final_url = run.page.url
            else:
                _read(run.page, run.attempt)
            run.attempt.cognito_calls = run.recorder.cognito_calls()
    return [
        _finish(session, run.attempt, run.recorder, password, run.started)
        for run, password in zip(runs, passwords, strict=True)
    ]


@contextlib.contextmanager
def _browser_failure(login_url: str, passwords: list[str]) -> Iterator[None]:
    """A browser that breaks down while logging in on `login_url`: a GraderError, without the passwords."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        yield
    except PlaywrightError as exc:
        reason = first_line(exc)
        for password in passwords:
            reason = scrub(reason, password)
        raise GraderError(
            f"The browser failed while the grader logged in on {login_url} ({reason}). "
            "Run the grader again; if it keeps happening, show this message to your instructor.",
            kind="browser",
        ) from None


def _finish(
    session: BrowserSession, attempt: LoginAttempt, recorder: Recorder, password: str, started: float
) -> LoginAttempt:
    """What is kept of a login: nothing secret, the notes completed."""
    attempt.blocked = list(recorder.blocked)
    attempt.console_errors = [scrub(text, password)[:500] for text in recorder.console_errors]
    left_out = recorder.left_out()
    attempt.console_errors_left_out = left_out["console errors"]
    attempt.blocked_left_out = left_out["blocked requests"]
    attempt.cognito_calls_left_out = left_out["Cognito calls"]
    other_regions = sorted({c.region for c in attempt.cognito_calls if c.region and c.region != session.region})
    if other_regions and not attempt.note:
        attempt.note = (
            f"The page called Cognito in {', '.join(other_regions)}, not in {session.region}: "
            "settings.js holds a user pool of another region."
        )
    attempt.message = scrub(attempt.message, password)
    attempt.final_url = scrub(attempt.final_url, password)
    attempt.error = scrub(attempt.error, password)
    attempt.note = scrub(attempt.note, password)
    attempt.page_text = page_excerpt(scrub(attempt.page_text, password))
    attempt.screenshot_skipped = scrub(attempt.screenshot_skipped, password)
    attempt.seconds = time.monotonic() - started
    attempt.ended_at = time.time()
    return attempt


def _start_loading(page: Page, attempt: LoginAttempt, deadline: float, budget: float) -> bool:
    """Navigate to the login page, waiting only until its answer starts; False (`error` set) if it failed."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    url = attempt.login_url
    try:
        response = page.goto(url, wait_until="commit", timeout=remaining_ms(deadline))
    except PlaywrightTimeout:
        attempt.timed_out = True
        attempt.error = (
            f"The browser waited {budget:g} s for {url} and the page did not load: "
            "the web server did not answer in time."
        )
        return False
    except PlaywrightError as exc:
        attempt.error = load_failure(url, exc)
        return False
    if response is not None:
        attempt.status = response.status
    if response is not None and response.status >= 400:
        attempt.error = (
            f"{url} answered HTTP {response.status} {response.status_text}".rstrip() + " instead of the login page."
        )
        return False
    return True


def _fill_and_click(run: InFlightLogin, username: str, password: str) -> None:
    """Type the credentials into the loaded login form and click Login.

    Sets `run.clicked` (when Login was clicked), or `run.attempt.error` saying why the page could
    not be used; `run.busy` when it could not because the page never answered.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, attempt, deadline = run.page, run.attempt, run.deadline
    url = attempt.login_url
    no_form = (
        f"{url} has no login form the grader can use (a #username and #passwd field "
        "and a Login button): is it the course's login page?"
    )
    clicked: float | None = None
    form_wait = min(remaining_ms(deadline), _READ_TIMEOUT_S * 1000)
    try:
        page.wait_for_load_state("domcontentloaded", timeout=remaining_ms(deadline))
        _type_into(page, "#username", username, form_wait)
        _type_into(page, "#passwd", password, form_wait)
        button = _login_button(page, form_wait)
        if button is None:
            attempt.error = no_form
            attempt.page_text = _page_text(page)
            return
        # Playwright's click waits (bounded) until the button can be clicked, then clicks its
        # centre with the mouse: a page that never answers the click cannot hold the grader.
        clicked = time.monotonic()
        page.locator(button).first.click(timeout=form_wait)
    except PlaywrightTimeout:
        run.busy = not _answers(page)
        if clicked is None:
            attempt.error = no_form
            attempt.page_text = "" if run.busy else _page_text(page)
        elif run.busy:
            attempt.error = (
                f"{url} did not take the click on Login within {form_wait / 1000:g} s: "
                "the page was busy running its own scripts and stopped answering."
            )
        else:
            attempt.error = (
                f"The Login button on {url} could not be clicked within {form_wait / 1000:g} s "
                "(hidden, disabled, or covered by another element)."
            )
        return
    except PlaywrightError as exc:
        attempt.error = load_failure(url, exc)
        return
    run.clicked = clicked


def _await_end_page(
    page: Page, recorder: Recorder, attempt: LoginAttempt, clicked: float, deadline: float, budget: float
) -> None:
    """Wait for an end page after Login was clicked; fill in `timed_out`/`note` when none comes."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    while True:
        try:
            page.wait_for_url(
                _is_end_page, wait_until="domcontentloaded", timeout=min(remaining_ms(deadline), _STALL_POLL_MS)
            )
            break
        except PlaywrightTimeout:
            blocked = recorder.blocked_navigation
            if blocked is not None and blocked[1] >= clicked:
                attempt.note = (
                    f"After Login was clicked the page sent the browser to {blocked[0]}, "
                    "an address the grader does not visit (a local or private one, or outside the lab)"
                )
                attempt.stopped = "blocked"
                return
            if time.monotonic() >= deadline:
                attempt.timed_out = True
                attempt.note = f"{budget:g} s after Login was clicked the page had not moved on"
                attempt.stopped = "timeout"
                return
            if recorder.stalled_since(clicked, _STALL_QUIET_S):
                attempt.note = (
                    f"After Login was clicked the page threw an error and then did nothing for {_STALL_QUIET_S:g} s"
                )
                attempt.stopped = "stalled"
                return
        except PlaywrightError as exc:
            attempt.note = f"After Login was clicked the next page failed to load ({first_line(exc)})"
            attempt.stopped = "load_failed"
            return
    try:
        on_private = urlsplit(page.url).path.endswith("/private.html")
        if on_private and not evaluate_within(page, _HAS_LAST_AUTH_USER, timeout_ms=_READ_TIMEOUT_S * 1000):
            # The SDK writes the tokens before it redirects; give a slow page a moment.
            page.wait_for_function(_HAS_LAST_AUTH_USER, timeout=_READ_TIMEOUT_S * 1000)
    except PlaywrightError:
        pass  # _read reports what is there


def _read(page: Page, attempt: LoginAttempt) -> None:
    """Read the end state: URL, #message, tokens, a screenshot. Each read is bounded."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    attempt.final_url = page.url
    busy = False
    try:
        end = evaluate_within(page, _READ_END_PAGE, timeout_ms=_READ_TIMEOUT_S * 1000)
    except PlaywrightTimeout:
        busy, end = True, None
    except Exception:  # noqa: BLE001 - no document (error page, navigation in flight)
        end = None
    end = end if isinstance(end, dict) else {}
    attempt.message = " ".join(str(end.get("message", "")).split())
    stored = end.get("tokens")
    attempt.tokens = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    if not busy and (attempt.landed != "private" or not attempt.message):
        attempt.page_text = _page_text(page)  # what the page shows, for a login the grader may not recognise
    attempt.screenshot_png = None
    if not on_origin(attempt.final_url, attempt.login_url):
        # A page the website sent the browser to is not the website's to show in the report.
        attempt.screenshot_skipped = off_origin_sentence(attempt.final_url, "the website")
    elif not busy:
        try:
            attempt.screenshot_png = page.screenshot(full_page=False, timeout=_READ_TIMEOUT_S * 1000)
        except Exception:  # noqa: BLE001 - a screenshot is nice to have, not essential
            attempt.screenshot_png = None
    _end_note(attempt)


def on_origin(url: str, *owners: str) -> bool:
    """Whether `url` is on the origin of one of the URLs `owners` (http upgraded to https on its host counts)."""
    origin = origin_of(url)
    if not origin:
        return False
    for other in owners:
        own = origin_of(other)
        if own and (origin == own or (own.startswith("http://") and own.endswith(":80") and origin == _upgraded(own))):
            return True
    return False


def _upgraded(origin: str) -> str:
    """`http://host:80` as `https://host:443`."""
    return "https://" + origin[len("http://") : -len(":80")] + ":443"


def off_origin_sentence(url: str, what: str) -> str:
    """Why a screenshot of the page at `url` was not kept."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else (url or "no page")
    if len(shown) > 200:
        shown = shown[:197] + "..."
    return f"the page was on {shown}, not {what}: its screenshot was not kept"


def _end_note(attempt: LoginAttempt) -> None:
    """Complete a note that says the page did not reach an end page with where it was."""
    if attempt.note and not attempt.note.endswith("."):
        seen = f": it was at {attempt.final_url}"
        if attempt.message:
            seen += f" showing \u201c{attempt.message}\u201d"
        attempt.note += seen + "."

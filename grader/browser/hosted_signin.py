"""Signing in through Cognito's hosted UI in the browser, stopping at the redirect to the callback.

:func:`sign_in` opens an authorize URL, fills the sign-in form as janedoe and waits for one of:
the redirect to the callback URL (its Location is kept: with the implicit grant the tokens are in
its fragment), a change-password form (the user is not confirmed: the grader never submits it,
because that would change the student's account), an error shown on the sign-in form, or the
time running out. The student's website is not needed: in sandbox mode the callback navigation is
answered by the grader itself, and against real AWS the redirect's Location is read from the
response before the browser follows it.

Cognito serves one of two hosted UIs (docs/aws-hosted-ui.md): the classic one (the sign-in form
twice, one copy hidden by screen width) and managed login (the user name first, then a **Next**
button and the password on a second page). The grader does not ask which: it reads each page as a
person would (visible fields found by name, autocomplete, label or ``formField:`` id; buttons by
their text) and drives whichever steps that page shows.

It stops without a verdict of its own, with what it saw (the page's path, HTTP status and visible
text cut short), when a page answers 5xx or 429, when a page shows nothing it recognises for
``UNRECOGNISED_S`` seconds, or when the time runs out: the checks report those as the grader's
error, never as the student's.

Two pages of managed login are recognised by their visible text, because their exact markup is
not public (docs/aws-hosted-ui.md, "Managed login"):

- "Login pages unavailable": a version-2 domain on an app client without a branding style shows
  it instead of any form. The grader stops there (`login_pages_unavailable`); only the student
  can fix it (assign a branding style, or use the classic hosted UI).
- a "choose a sign-in method" step, shown with ALLOW_USER_AUTH when several first factors are
  allowed. If one of the options is the password, the grader chooses it and goes on, as the
  student does in the lab: that choice changes nothing in the account and sends nothing. It never
  chooses another method: a one-time password would send the user an email or SMS, and a passkey
  needs the student's own device. Without a password option it stops and names the methods
  offered (`sign_in_methods`, `method_choice_without_password`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grader.browser.recorder import Recorder
from grader.browser.session import BrowserSession, evaluate_within, first_line, remaining_ms
from grader.browser.site_login import load_failure, off_origin_sentence, on_origin, scrub
from grader.errors import GraderError
from grader.observe.signins import HostedSignIn
from grader.site import page_excerpt

# Each read of a page's state gets at most this long (a page too busy to answer reads as none).
_STATE_TIMEOUT_MS = 2000.0
# What the page shows, read with one script call: forms are told apart by their visible fields,
# so the classic hosted UI (two copies of each form, one hidden) and managed login both work. A
# change-password form is a new-password field, or two password fields at once.
#
# Managed login's special pages are matched on visible text only (their markup is not public):
# - "Login pages unavailable" (reported verbatim, followed by "Please contact an administrator.",
#   for a version-2 domain whose app client has no branding style);
# - the sign-in method chooser: a heading like "Choose/Select a sign-in method/option", or, with no
#   password field on the page, clickable options naming the password beside another first factor
#   (passkey, one-time password, email or SMS code: AWS's names for the first factors). An option
#   is a button, link or radio (its label) whose own short text names it; "forgot/reset/change/
#   show password" never count as the password option. The password option found is marked with
#   data-grader-choice (and, for a radio, the button that submits it with data-grader-submit), so
#   the grader clicks exactly what this script saw.
_PAGE_STATE = r"""() => {
  const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const all = selector => [...document.querySelectorAll(selector)].filter(shown);
  const words = el => (el.innerText || el.textContent || el.value || el.getAttribute('aria-label') || '')
    .replace(/\s+/g, ' ').trim();
  const passwords = all('input[type=password]');
  const change = all('#new_password, input[name=new_password], input[name=newPassword], input[autocomplete=new-password]')
    .length > 0 || passwords.length >= 2;
  const errors = all('.errorMessage-customizable, #loginErrorMessage, #errorMessage, .errorMessage, [role=alert]')
    .map(e => (e.textContent || '').trim()).filter(Boolean);
  document.querySelectorAll('[data-grader-field]').forEach(el => el.removeAttribute('data-grader-field'));
  const labelled = el => [...(el.labels || [])].map(words).join(' ') || el.getAttribute('aria-label')
    || el.getAttribute('placeholder') || '';
  const nameLike = /user\s*name|username|e-?mail|sign[- ]?in name|phone/i;
  const userField = all('input:not([type]), input[type=text], input[type=email], input[type=tel]').find(el =>
    !el.readOnly && !el.disabled && (el.name === 'username' || /\busername\b/i.test(el.autocomplete || '')
      || (el.id || '').startsWith('formField:') || nameLike.test(labelled(el))));
  if (userField) userField.setAttribute('data-grader-field', 'username');
  const passwordField = passwords.find(el => !el.readOnly && !el.disabled);
  if (passwordField) passwordField.setAttribute('data-grader-field', 'password');
  document.querySelectorAll('[data-grader-next]').forEach(el => el.removeAttribute('data-grader-next'));
  if (userField && !passwordField) {
    const scope = userField.closest('form') || document;
    const next = [...scope.querySelectorAll('button, input[type=submit], [role=button]')].filter(shown)
      .find(b => /^(?:next|continue|sign[- ]?in|log[- ]?in|submit)$/i.test(words(b)));
    if (next) next.setAttribute('data-grader-next', '1');
  }
  const nav = (performance.getEntriesByType('navigation') || [])[0];
  const status = nav && typeof nav.responseStatus === 'number' ? nav.responseStatus : 0;
  const text = ((document.body && document.body.innerText) || '').replace(/\s+/g, ' ');
  const unavailable = /login\s+pages?\s+(?:are\s+|is\s+)?unavailable/i.test(text);
  const notPassword = /forgot|reset|change|new password|show|hide|one[- ]?time|passkey|\bcode\b|\botp\b/i;
  const otherFactor = /passkey|one[- ]?time|\botp\b|\bcode\b|text message|\bsms\b|security key|face id|touch id|biometric/i;
  document.querySelectorAll('[data-grader-choice], [data-grader-submit]').forEach(el => {
    el.removeAttribute('data-grader-choice');
    el.removeAttribute('data-grader-submit');
  });
  const options = [];
  const clickable = 'button, a[href], [role=button], [role=radio], [role=option], [role=menuitemradio], '
    + 'input[type=radio], input[type=submit], input[type=button]';
  for (const el of document.querySelectorAll(clickable)) {
    const radio = el.matches('input[type=radio]');
    // A styled radio is often hidden behind its label: then the label is what shows and is clicked.
    const target = radio && !shown(el) ? [...(el.labels || [])].find(shown) : el;
    if (!target || !shown(target)) continue;
    const label = radio ? ([...(el.labels || [])].map(words).join(' ') || el.value || '') : words(el);
    if (!label || label.length > 80) continue;
    const isPassword = /\bpassword\b/i.test(label) && !notPassword.test(label);
    if (isPassword || otherFactor.test(label)) options.push({el: target, radio, label, isPassword});
  }
  const heading = /\b(?:choose|select|pick)\b.{0,30}\b(?:sign[- ]?in|log[- ]?in|authentication)\s+(?:method|option|factor)s?\b/i
    .test(text) || /other\s+sign[- ]?in\s+options/i.test(text);
  const chooser = passwords.length === 0 && options.length > 0
    && (heading || (options.some(o => o.isPassword) && options.some(o => !o.isPassword)));
  let passwordChoice = false, choiceNeedsSubmit = false;
  const pick = chooser ? options.find(o => o.isPassword) : undefined;
  if (pick) {
    passwordChoice = true;
    pick.el.setAttribute('data-grader-choice', 'password');
    choiceNeedsSubmit = pick.radio || pick.el.matches('label, [role=radio], [role=option], [role=menuitemradio]');
    if (choiceNeedsSubmit) {
      const scope = pick.el.closest('form') || document;
      const submit = [...scope.querySelectorAll('button[type=submit], input[type=submit], button:not([type])')]
        .filter(shown).find(b => !otherFactor.test(words(b)) && !/back|cancel/i.test(words(b)));
      if (submit) submit.setAttribute('data-grader-submit', '1');
    }
  }
  return {
    change,
    username: !!userField,
    password: passwords.length > 0,
    status,
    seen: text.trim().slice(0, 400),
    error: errors.length ? errors[0].slice(0, 300) : '',
    path: location.pathname,
    unavailable,
    chooser,
    methods: [...new Set(options.map(o => o.label.slice(0, 60)))].slice(0, 6),
    passwordChoice,
    choiceNeedsSubmit,
  };
}"""  # noqa: E501 - JavaScript: its selectors and patterns read best on one line each
_STUB_PAGE = (
    "<!DOCTYPE html><meta charset='utf-8'><title>Callback reached</title>"
    "<p>The grader stopped at the redirect to the callback URL.</p>"
)
_POLL_MS = 50
# The hosted-UI pages kept: the first and the latest, each path at most PATH_CHARS long.
PAGES_HEAD, PAGES_TAIL = 25, 25
PATH_CHARS = 300
# After choosing "password" on a sign-in method chooser, how long the chooser may still show before
# the grader reports that the choice did not take (bounded further by the sign-in's own deadline).
_CHOICE_SETTLE_S = 5.0
# How long a page may show nothing the grader recognises (no field, no chooser, no error) before it stops
# there: long enough for a slow page to finish drawing its form.
UNRECOGNISED_S = 8.0
UNAVAILABLE_SENTENCE = (
    "The hosted UI shows \u201cLogin pages unavailable\u201d instead of a sign-in form: the domain uses "
    "managed login and the app client has no branding style."
)


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
    with contextlib.ExitStack() as stack:
        flight = open_sign_in(session, authorize_url, redirect_uri, stack, password=password, timeout_s=timeout_s)
        return finish_sign_in(flight, username, password)


@dataclass
class InFlightSignIn:
    """A hosted-UI sign-in whose page is open and loading (:func:`open_sign_in`), not yet driven."""

    result: HostedSignIn
    recorder: Recorder
    page: Any
    started: float
    deadline: float
    budget: float
    loading: bool
    """Whether the authorize page started loading (`result.error` says why not)."""


def open_sign_in(
    session: BrowserSession,
    authorize_url: str,
    redirect_uri: str,
    stack: contextlib.ExitStack,
    *,
    password: str = "",
    timeout_s: float | None = None,
) -> InFlightSignIn:
    """Open a page in a fresh context and start loading `authorize_url` in it, without waiting for it.

    The page stays open on `stack`; :func:`finish_sign_in` signs in on it. Another flow can run
    while the hosted UI loads.
    """
    budget = session.timeout_s if timeout_s is None else timeout_s
    started = time.monotonic()
    deadline = started + budget
    result = HostedSignIn(authorize_url=authorize_url, redirect_uri=redirect_uri, started_at=time.time())
    recorder = Recorder(session.routes, deadline)
    with _browser_failure(password):
        page = stack.enter_context(session.open_page(recorder, budget))
        page.context.route(lambda url: same_endpoint(url, redirect_uri), answer_callback)
        loading = _start_loading(page, recorder, result, deadline, budget)
    return InFlightSignIn(result, recorder, page, started, deadline, budget, loading)


def finish_sign_in(flight: InFlightSignIn, username: str, password: str) -> HostedSignIn:
    """Sign in on the page :func:`open_sign_in` opened, and report what happened (nothing secret kept)."""
    result, recorder = flight.result, flight.recorder
    with _browser_failure(password):
        if flight.loading:
            _drive(flight.page, recorder, result, username, password, flight.deadline, flight.budget)
    result.blocked = list(recorder.blocked)
    result.blocked_left_out = recorder.left_out()["blocked requests"]
    result.sign_in_message = scrub(result.sign_in_message, password)
    result.page_text = scrub(result.page_text, password)
    result.error = scrub(result.error, password)
    result.screenshot_skipped = scrub(result.screenshot_skipped, password)
    result.seconds = time.monotonic() - flight.started
    result.ended_at = time.time()
    return result


@contextlib.contextmanager
def _browser_failure(password: str) -> Iterator[None]:
    """A browser that breaks down during the sign-in: a GraderError, without the password."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        yield
    except PlaywrightError as exc:
        raise GraderError(
            f"The browser failed while the grader signed in through the hosted UI "
            f"({scrub(first_line(exc), password)}). "
            "Run the grader again; if it keeps happening, show this message to your instructor.",
            kind="browser",
        ) from None


def answer_callback(route: Any) -> None:
    """The callback's navigation, answered by the grader: the student's site is not needed."""
    with contextlib.suppress(Exception):  # the context closed first
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=_STUB_PAGE)


def _start_loading(page: Any, recorder: Recorder, result: HostedSignIn, deadline: float, budget: float) -> bool:
    """Navigate to the authorize URL, waiting only until the answer starts; False (`error` set) if none came."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.goto(result.authorize_url, wait_until="commit", timeout=remaining_ms(deadline))
    except PlaywrightTimeout:
        result.timed_out = True
        result.error = f"The hosted UI did not load within {budget:g} s."
        return False
    except PlaywrightError as exc:
        if _take_callback(recorder, result):
            return False
        result.error = load_failure(result.authorize_url, exc)
        return False
    return True


def _drive(
    page: Any, recorder: Recorder, result: HostedSignIn, username: str, password: str, deadline: float, budget: float
) -> None:
    """Fill in the hosted UI's forms as they come, until the redirect to the callback (or the deadline)."""
    from playwright.sync_api import Error as PlaywrightError

    steps = _Steps(login=(username, password))
    while time.monotonic() < deadline:
        if _take_callback(recorder, result):
            return
        state = _state(page)
        if state is not None and not _read_page(page, state, result, steps, deadline):
            break
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
        result.error = (
            f"The hosted UI did not send the browser on to the callback URL within {budget:g} s; "
            f"the last page was {_seen(result, page)}."
        )
    _screenshot(page, result)


@dataclass
class _Steps:
    """How far the grader got on the hosted UI's pages, and what it signs in with."""

    login: tuple[str, str] = field(default=("", ""), repr=False)
    username: bool = False
    password: bool = False
    chose_at: float | None = None
    unrecognised_since: float | None = None


def _read_page(page: Any, state: dict[str, Any], result: HostedSignIn, steps: _Steps, deadline: float) -> bool:
    """Act on what the page shows; False (the reason in `result`) to stop."""
    path = str(state.get("path") or "")[:PATH_CHARS]
    if path and path not in result.pages[-1:]:
        _keep_page(result, path)
    result.page_status = int(state.get("status") or 0)
    result.page_text = page_excerpt(str(state.get("seen") or ""))
    if result.page_status >= 500 or result.page_status == 429:
        result.error = f"The hosted UI answered with an error of its own: {_seen(result, page)}."
        return False
    if state.get("unavailable") and not state.get("username") and not state.get("password"):
        result.login_pages_unavailable = True
        result.error = UNAVAILABLE_SENTENCE
        return False
    if state.get("change"):
        result.change_password_required = True
        return False
    if state.get("chooser") and not state.get("error") and (steps.username or not state.get("username")):
        if not _choose_password(page, state, result, steps.chose_at, deadline):
            return False
        steps.chose_at = steps.chose_at or time.monotonic()
        return True
    if state.get("error"):
        if steps.username:
            result.sign_in_message = str(state["error"])
        else:
            result.error = f"The hosted UI showed an error before the grader could sign in: {_seen(result, page)}."
        return False
    if not (state.get("username") or state.get("password")):
        steps.unrecognised_since = steps.unrecognised_since or time.monotonic()
        if time.monotonic() - steps.unrecognised_since >= UNRECOGNISED_S:
            result.unrecognised_page = True
            result.error = (
                f"The hosted UI showed a page with no sign-in form the grader recognises: {_seen(result, page)}."
            )
            return False
        return True
    steps.unrecognised_since = None
    _fill(page, state, steps, deadline)
    return True


def _fill(page: Any, state: dict[str, Any], steps: _Steps, deadline: float) -> None:
    """Type the user name (then Next, on a page without a password field) and the password (then Enter)."""
    from playwright.sync_api import Error as PlaywrightError

    username, password = steps.login
    try:
        if state.get("username") and not steps.username:
            field_ = page.locator("[data-grader-field=username]").first
            field_.fill(username, timeout=remaining_ms(deadline))
            steps.username = True
            if not state.get("password"):
                next_ = page.locator("[data-grader-next]")
                if next_.count():
                    next_.first.click(timeout=min(remaining_ms(deadline), 3000))
                else:
                    field_.press("Enter")
        if state.get("password") and not steps.password and steps.username:
            field_ = page.locator("[data-grader-field=password]").first
            field_.fill(password, timeout=remaining_ms(deadline))
            field_.press("Enter")
            steps.password = True
    except PlaywrightError:
        pass  # the page navigated while being filled in (or a fill timed out): look again


def _seen(result: HostedSignIn, page: Any) -> str:
    """The last page as a phrase: its address, HTTP status and visible text (cut short)."""
    where = result.pages[-1] if result.pages else str(getattr(page, "url", "") or "")[:PATH_CHARS]
    status = f" (HTTP {result.page_status})" if result.page_status else ""
    text = f" showing \u201c{result.page_text}\u201d" if result.page_text else " with no visible text"
    return f"{where}{status}{text}"


def _screenshot(page: Any, result: HostedSignIn) -> None:
    """Keep a screenshot of where the sign-in stopped, if that is the hosted UI or the callback stub."""
    result.screenshot_png = None
    shown = str(getattr(page, "url", "") or "")
    if not (on_origin(shown, result.authorize_url) or same_endpoint(shown, result.redirect_uri)):
        # Only the hosted UI and the grader's callback stub are shown in the report, not where a page sent the browser.
        result.screenshot_skipped = off_origin_sentence(shown, "the hosted UI")
        return
    try:
        result.screenshot_png = page.screenshot(full_page=False, timeout=2000)
    except Exception:  # noqa: BLE001 - a screenshot is nice to have
        result.screenshot_png = None


def _keep_page(result: HostedSignIn, path: str) -> None:
    """Add `path` to the pages, keeping the first PAGES_HEAD and the latest PAGES_TAIL; count the rest."""
    result.pages.append(path)
    if len(result.pages) > PAGES_HEAD + PAGES_TAIL:
        del result.pages[PAGES_HEAD]
        result.pages_left_out += 1


def _choose_password(
    page: Any, state: dict[str, Any], result: HostedSignIn, chose_at: float | None, deadline: float
) -> bool:
    """On a "choose a sign-in method" step: choose the password option, once; False to stop here.

    Stops (False, with `result.error` set) when no option is the password, or when the chooser
    still shows `_CHOICE_SETTLE_S` seconds after the grader chose the password.
    """
    from playwright.sync_api import Error as PlaywrightError

    result.sign_in_methods = [str(m) for m in state.get("methods") or []]
    if not state.get("passwordChoice"):
        result.method_choice_without_password = True
        result.error = (
            "The hosted UI asks to choose a sign-in method and offers no password option "
            f"(it offers {_listing(result.sign_in_methods) or 'nothing the grader recognises'}); "
            "the grader signs in with the lab's password only."
        )
        return False
    if chose_at is not None:
        if time.monotonic() - chose_at < _CHOICE_SETTLE_S:
            return True
        result.error = (
            "The hosted UI asks to choose a sign-in method; the grader chose the password option, "
            f"but {_CHOICE_SETTLE_S:g} s later the page still asked for a choice."
        )
        return False
    choice = page.locator("[data-grader-choice=password]").first
    try:
        choice.click(timeout=min(remaining_ms(deadline), 3000))
        if state.get("choiceNeedsSubmit"):
            submit = page.locator("[data-grader-submit]")
            if submit.count():
                submit.first.click(timeout=min(remaining_ms(deadline), 3000))
            else:
                choice.press("Enter", timeout=min(remaining_ms(deadline), 3000))
    except PlaywrightError:
        pass  # the page moved on (or away) while being clicked: look again
    result.sign_in_method_chosen = "password"
    return True


def _listing(values: list[str]) -> str:
    """`“a”, “b” and “c”`; '' for nothing."""
    quoted = [f"\u201c{v}\u201d" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _state(page: Any) -> dict[str, Any] | None:
    try:
        state = evaluate_within(page, _PAGE_STATE, timeout_ms=_STATE_TIMEOUT_MS)
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

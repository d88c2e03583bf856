"""Tests for the hosted-UI sign-in (grader.browser.hosted_signin) on managed login's special pages,
served as small local pages.

Managed login's exact markup is not public, so these pages are made up around the visible text
reported for them ("Login pages unavailable"; a step that asks to choose a sign-in method among
password, passkey and one-time passwords): the grader must recognise them by that text, in more
than one plausible markup, and never run into its timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from grader.browser import BrowserSession, RealRoutes, find_browser, sign_in
from grader.observe.signins import HostedSignIn

pytestmark = pytest.mark.browser

PASSWORD = "Ilove2SeeTheTemple!!"
TIMEOUT_S = 10.0

_STYLE = "<style>.sr{position:absolute;opacity:0;width:1px;height:1px}</style>"
_USERNAME_PAGE = (
    "<h1>Sign in</h1><form method='post' action='/login'><input type='hidden' name='step' value='username'>"
    "<label>Username <input name='username' autocomplete='username'></label><button type='submit'>Next</button></form>"
)
_PASSWORD_PAGE = (
    "<h1>Enter your password</h1><p>janedoe</p><form method='post' action='/login'>"
    "<input type='hidden' name='step' value='password'><label>Password <input type='password' name='password'></label>"
    "<button type='submit'>Continue</button></form><a href='/forgotPassword'>Forgot your password?</a>"
)
# Managed login's first step as public scripts find it: a field with no name=username, known by its
# label and its formField: id, and a Next button.
_LABELLED_USERNAME_PAGE = (
    "<h1>Sign in</h1><form method='post' action='/login'><input type='hidden' name='step' value='username'>"
    "<label for='formField:r0'>Username</label><input id='formField:r0' type='text'>"
    "<button type='submit'>Next</button></form>"
)
# Three ways a chooser could be built: one button (form) per method, radios with a Next button (the
# inputs visually hidden behind their labels), and no password among the options.
_CHOOSERS = {
    "buttons": (
        "<h1>Choose a sign-in method</h1>"
        + "".join(
            f"<form method='post' action='/login'><input type='hidden' name='method' value='{value}'>"
            f"<button type='submit'>{label}</button></form>"
            for value, label in (
                ("WEB_AUTHN", "Passkey"),
                ("EMAIL_OTP", "Email message one-time password"),
                ("PASSWORD", "Password"),
            )
        )
        + "<a href='/forgotPassword'>Forgot your password?</a>"
    ),
    "radios": (
        "<h2>Select a sign-in option</h2><form method='post' action='/login'>"
        + "".join(
            f"<input class='sr' type='radio' id='m{n}' name='method' value='{value}'><label for='m{n}'>{label}</label>"
            for n, (value, label) in enumerate(
                (
                    ("EMAIL_OTP", "Email me a one-time code"),
                    ("SMS_OTP", "Text message"),
                    ("PASSWORD", "Sign in with password"),
                )
            )
        )
        + "<button type='button'>Back</button><button type='submit'>Next</button></form>"
    ),
    "no-password": (
        "<h1>Choose a sign-in method</h1>"
        + "".join(
            f"<form method='post' action='/login'><input type='hidden' name='method' value='{value}'>"
            f"<button type='submit'>{label}</button></form>"
            for value, label in (("WEB_AUTHN", "Passkey"), ("EMAIL_OTP", "Email message one-time password"))
        )
    ),
}


class _ManagedLogin(BaseHTTPRequestHandler):
    """Managed login in miniature: /oauth2/authorize, then /login as `mode` says, then the callback redirect."""

    mode = ""
    callback = ""
    chosen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path.startswith("/oauth2/authorize"):
            self._send(302, location="/login?" + self.path.partition("?")[2])
        elif self.mode == "unavailable":
            self._send(403, body="<h1>Login pages unavailable</h1><p>Please contact an administrator.</p>")
        elif self.mode == "down":
            self._send(503, body="<h1>Service Unavailable</h1><p>Please try again later.</p>")
        elif self.mode == "unrecognised":
            self._send(200, body="<h1>We are improving your sign-in experience</h1><p>Come back soon.</p>")
        elif self.mode in ("two-step", "stays"):
            self._send(200, body=_LABELLED_USERNAME_PAGE)
        else:
            self._send(200, body=_USERNAME_PAGE)

    def do_POST(self) -> None:
        form = {
            k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()).items()
        }
        if form.get("step") == "username" and self.mode == "stays":
            self._send(200, body=_LABELLED_USERNAME_PAGE)
        elif form.get("step") == "username" and self.mode == "two-step":
            self._send(200, body=_PASSWORD_PAGE)
        elif form.get("step") == "username":
            self._send(200, body=_CHOOSERS[self.mode])
        elif "method" in form:
            self.chosen.append(form["method"])
            body = _PASSWORD_PAGE if form["method"] == "PASSWORD" else "<h1>Check your email</h1><p>We sent a code.</p>"
            self._send(200, body=body)
        elif form.get("step") == "password" and form.get("password") == PASSWORD:
            self._send(
                302, location=self.callback + "#id_token=a.b.c&access_token=d.e.f&token_type=Bearer&expires_in=3600"
            )
        else:
            self._send(200, body="<p role='alert'>Incorrect username or password.</p>" + _PASSWORD_PAGE)

    def _send(self, status: int, *, location: str = "", body: str = "") -> None:
        data = f"<!DOCTYPE html><meta charset='utf-8'><title>Sign in</title>{_STYLE}{body}".encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def session() -> Iterator[BrowserSession]:
    with BrowserSession(find_browser(), None, "us-east-1", timeout_s=TIMEOUT_S) as running:
        yield running


def _sign_in(session: BrowserSession, mode: str) -> tuple[HostedSignIn, list[str]]:
    """Sign in as janedoe on a managed login page in `mode`; returns the result and the methods posted."""
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        dead_port = closed.server_address[1]  # bound, then closed: the callback is down, as it may be
    callback = f"http://127.0.0.1:{dead_port}/cb"
    chosen: list[str] = []
    handler = type("Handler", (_ManagedLogin,), {"mode": mode, "callback": callback, "chosen": chosen})
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        # Against real AWS the fake hosted UI on a loopback port is reached only as the named site.
        session.routes = RealRoutes(f"http://127.0.0.1:{server.server_address[1]}")
        try:
            result = sign_in(
                session,
                f"http://127.0.0.1:{server.server_address[1]}/oauth2/authorize?x=1",
                callback,
                "janedoe",
                PASSWORD,
            )
        finally:
            server.shutdown()
    return result, chosen


def test_login_pages_unavailable_is_named_not_timed_out(session: BrowserSession) -> None:
    """The "Login pages unavailable" page stops the sign-in at once
    with a sentence naming the missing branding style."""
    result, _ = _sign_in(session, "unavailable")
    assert result.login_pages_unavailable
    assert not result.timed_out
    assert not result.reached_callback
    assert "Login pages unavailable" in result.error
    assert "branding style" in result.error
    assert result.evidence()["login_pages_unavailable"] is True


@pytest.mark.parametrize("mode", ["buttons", "radios"])
def test_method_chooser_with_a_password_option_is_answered_with_password(session: BrowserSession, mode: str) -> None:
    """On a "choose a sign-in method" step the grader chooses the password, only that, and reaches the callback."""
    result, chosen = _sign_in(session, mode)
    assert chosen == ["PASSWORD"], chosen
    assert result.reached_callback
    assert not result.error
    assert not result.timed_out
    assert result.fragment["id_token"] == "a.b.c"
    assert result.sign_in_method_chosen == "password"
    assert len(result.sign_in_methods) == 3
    assert PASSWORD not in json.dumps(result.evidence())


def test_method_chooser_without_a_password_option_stops_and_names_the_methods(session: BrowserSession) -> None:
    """Without a password option the grader chooses nothing (no code is sent) and says which methods were offered."""
    result, chosen = _sign_in(session, "no-password")
    assert chosen == []
    assert result.method_choice_without_password
    assert not result.timed_out
    assert not result.reached_callback
    assert result.sign_in_methods == ["Passkey", "Email message one-time password"]
    assert "offers no password option" in result.error
    assert "\u201cPasskey\u201d" in result.error


def test_two_step_sign_in_finds_the_user_name_by_its_label_and_presses_next(session: BrowserSession) -> None:
    """Managed login's user-name step (no name=username, a Next button) then its password page: the callback."""
    result, _ = _sign_in(session, "two-step")
    assert result.reached_callback, result.error
    assert not result.error
    assert not result.timed_out, result.error
    assert result.fragment["access_token"] == "d.e.f"


@pytest.mark.parametrize(
    ("mode", "phrases"),
    [
        ("down", ["HTTP 503", "Service Unavailable"]),
        ("unrecognised", ["no sign-in form the grader recognises", "We are improving your sign-in experience"]),
        ("stays", ["did not send the browser on to the callback URL", "/login (HTTP 200)", "Sign in Username"]),
    ],
)
def test_a_page_the_grader_cannot_read_stops_it_saying_what_it_saw(
    session: BrowserSession, mode: str, phrases: list[str]
) -> None:
    """A 503 page, a page without a known form, or a page that stays put: the result names the page and its text."""
    result, _ = _sign_in(session, mode)
    assert not result.reached_callback
    assert not result.sign_in_message
    assert result.error
    for phrase in phrases:
        assert phrase in result.error, result.error
    assert result.timed_out == (mode == "stays")
    assert result.seconds < TIMEOUT_S + 3

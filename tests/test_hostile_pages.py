"""A page can grow every list the grader keeps of it: console messages, blocked requests, redirects, Cognito calls
and hosted-UI pages are capped, and the number left out is said (issue 11, row 6)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware

from grader.browser import BrowserSession, Recorder, find_browser, log_in
from grader.browser.hosted_signin import InFlightSignIn, finish_sign_in
from grader.browser.site_login import _finish
from grader.observe.signins import HostedSignIn, LoginAttempt
from grader.sandbox.layout import SandboxRoutes
from grader.site import origin_of
from tests.sandbox.serving import serving

MANY = 50_000
COGNITO = "https://cognito-idp.us-east-1.amazonaws.com/"
PASSWORD = "Ilove2SeeTheTemple!!"
# A token-shaped value: the grader never keeps one, whole or cut.
TOKEN = "eyJraWQiOiJhYmMiLCJhbGciOiJSUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" * 200 + ".c2lnbmF0dXJl"


@dataclass
class FakeMessage:
    text: str
    type: str = "error"
    location: dict[str, Any] = field(default_factory=lambda: {"url": "http://site.example/app.js"})


@dataclass
class FakeRequest:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    failure: str | None = None

    def is_navigation_request(self) -> bool:
        return False


@dataclass
class FakeResponse:
    request: FakeRequest
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    payload: bytes = b""

    def body(self) -> bytes:
        return self.payload


@dataclass
class FakeRoute:
    request: FakeRequest
    aborted: str = ""

    def abort(self, reason: str) -> None:
        self.aborted = reason


def _recorder(routes: Any = None) -> Recorder:
    return Recorder(routes, time.monotonic() + 60)


def _attempt(recorder: Recorder) -> LoginAttempt:
    """The LoginAttempt that log_in would keep of `recorder`'s login."""
    attempt = LoginAttempt(login_url="http://site.example/login.html")
    attempt.cognito_calls = recorder.cognito_calls()
    return _finish(SimpleNamespace(region="us-east-1"), attempt, recorder, PASSWORD, time.monotonic())  # type: ignore[arg-type]


def test_fifty_thousand_console_errors_keep_fifty_and_say_how_many_more() -> None:
    """50,000 console.error messages give at most 50 console errors in the evidence, the first one among them, and
    a sentence saying 49,950 more were left out."""
    recorder = _recorder()
    for n in range(MANY):
        recorder.on_console(FakeMessage(f"Error number {n}"))
    assert len(recorder.console_errors) <= 50
    assert recorder.left_out()["console errors"] == MANY - len(recorder.console_errors)
    evidence = _attempt(recorder).evidence()
    assert len(evidence["console_errors"]) == 50
    assert evidence["console_errors"][0] == "Error number 0"
    assert evidence["console_errors_left_out"] == 49_950
    assert "49,950 more console errors were left out" in evidence["left_out"]
    assert len(json.dumps(evidence)) < 20_000


def test_page_errors_count_against_the_same_cap() -> None:
    """Uncaught page errors are console errors too: capped the same way, and a stall is still noticed."""
    recorder = _recorder()
    started = time.monotonic()
    for n in range(MANY):
        recorder.on_page_error(SimpleNamespace(name="TypeError", message=f"x{n} is undefined"))
    assert len(recorder.console_errors) <= 50
    assert recorder.left_out()["console errors"] == MANY - len(recorder.console_errors)
    assert recorder.stalled_since(started, 0.0)


def test_a_huge_console_message_is_kept_short_and_never_keeps_part_of_a_token() -> None:
    """A console message of a megabyte is kept at 500 characters at most, and a token in it, cut or not, is hidden."""
    recorder = _recorder()
    recorder.on_console(FakeMessage("A" * 1_000_000))
    recorder.on_console(FakeMessage("B" * 450 + " " + TOKEN))
    recorder.on_console(FakeMessage("C" * 100 + " " + TOKEN + " " + PASSWORD * 1000))
    assert all(len(text) <= 2000 for text in recorder.console_errors)
    kept = _attempt(recorder).console_errors
    assert all(len(text) <= 500 for text in kept)
    assert not any("eyJ" in text or "Ilove2" in text for text in kept)


def test_fifty_thousand_blocked_requests_keep_fifty_and_say_how_many_more() -> None:
    """50,000 different blocked URLs list 50 of them and say that 49,950 more blocked requests were left out."""
    routes = SimpleNamespace(decide=lambda url: ("block", ""))
    recorder = _recorder(routes)
    for n in range(MANY):
        route = FakeRoute(FakeRequest(f"http://10.0.0.{n % 250}/probe/{n}?q={n}"))
        recorder.route(route)  # type: ignore[arg-type]
        assert route.aborted == "blockedbyclient"
    assert len(recorder.blocked) == 50
    assert recorder.left_out()["blocked requests"] == MANY - 50
    # The same URL again is not counted twice while it is listed.
    recorder.route(FakeRoute(FakeRequest("http://10.0.0.0/probe/0?q=other")))  # type: ignore[arg-type]
    assert recorder.left_out()["blocked requests"] == MANY - 50
    evidence = _attempt(recorder).evidence()
    assert len(evidence["blocked"]) == 50
    assert evidence["blocked"][0] == "http://10.0.0.0/probe/0"
    assert "49,950 more blocked requests were left out" in evidence["left_out"]


def test_console_errors_of_blocked_requests_stay_left_out_whatever_their_number() -> None:
    """The console error Chromium logs for a blocked request is not the site's: not listed, not counted."""
    routes = SimpleNamespace(decide=lambda url: ("block", ""))
    recorder = _recorder(routes)
    url = "http://10.0.0.1/probe/7"
    recorder.route(FakeRoute(FakeRequest(url)))  # type: ignore[arg-type]
    recorder.on_console(FakeMessage("Failed to load resource: net::ERR_BLOCKED_BY_CLIENT", location={"url": url}))
    assert list(recorder.console_errors) == []
    assert recorder.left_out()["console errors"] == 0


def test_fifty_thousand_redirects_keep_the_first_and_the_latest() -> None:
    """50,000 redirects keep at most 50 Locations (the first ones and the latest, where the callback is) and count
    the rest."""
    recorder = _recorder()
    for n in range(MANY):
        recorder.on_response(FakeResponse(FakeRequest(f"http://site.example/{n}"), 302, {"location": f"/next/{n}"}))  # type: ignore[arg-type]
    kept = list(recorder.redirects)
    assert len(kept) == 50
    assert kept[0] == "/next/0"
    assert kept[-1] == f"/next/{MANY - 1}"
    assert recorder.left_out()["redirects"] == MANY - 50


def test_fifty_thousand_cognito_calls_keep_the_first_and_the_latest_with_outcomes() -> None:
    """50,000 calls to Cognito keep at most 50 (the first and the latest, with their outcomes) and count the rest;
    a call's operation name (the page's X-Amz-Target header) is kept short."""
    recorder = _recorder()
    last: FakeRequest | None = None
    for n in range(MANY):
        target = "AWSCognitoIdentityProviderService." + ("InitiateAuth" if n < MANY - 1 else "X" * 100_000)
        request = FakeRequest(COGNITO, "POST", {"x-amz-target": target})
        recorder.on_request(request)  # type: ignore[arg-type]
        if n == 0 or n == MANY - 1:
            answer = b'{"__type": "NotAuthorizedException", "message": "Incorrect username or password."}'
            recorder.on_response(FakeResponse(request, 400, {}, answer))  # type: ignore[arg-type]
        last = request
    assert last is not None
    calls = recorder.cognito_calls()
    assert len(calls) == 50
    assert calls[0].outcome == calls[-1].outcome == "NotAuthorizedException: Incorrect username or password."
    assert len(calls[-1].operation) <= 100
    assert recorder.left_out()["Cognito calls"] == MANY - 50
    evidence = _attempt(recorder).evidence()
    assert len(evidence["cognito_calls"]) == 50
    assert "49,950 more Cognito calls were left out" in evidence["left_out"]


def test_nothing_left_out_adds_nothing_to_the_evidence() -> None:
    """A login of ordinary size has no left-out keys in its evidence."""
    recorder = _recorder()
    recorder.on_console(FakeMessage("one error"))
    evidence = _attempt(recorder).evidence()
    assert "left_out" not in evidence
    assert "console_errors_left_out" not in evidence
    assert evidence["console_errors"] == ["one error"]


class EndlessPaths:
    """A hosted-UI page that shows a new path every time it is looked at, never a form."""

    def __init__(self) -> None:
        self.looks = 0
        self.url = "https://vehicleapp.auth.us-east-1.amazoncognito.com/login"

    def locator(self, selector: str) -> EndlessPaths:
        return self

    def evaluate(self, script: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.looks += 1
        return {"path": f"/step/{self.looks}" + "/x" * 1000}

    def wait_for_timeout(self, ms: float) -> None:
        pass

    def screenshot(self, **_: Any) -> bytes:
        raise RuntimeError("no screenshot")


def test_hosted_sign_in_pages_are_capped_with_the_number_left_out() -> None:
    """A hosted-UI sign-in that passes through thousands of paths keeps at most 50 (the first and the latest, each
    short) and says how many more were left out; blocked requests are capped the same way."""
    routes = SimpleNamespace(decide=lambda url: ("block", ""))
    recorder = _recorder(routes)
    for n in range(MANY):
        recorder.route(FakeRoute(FakeRequest(f"http://10.1.0.1/{n}")))  # type: ignore[arg-type]
    page = EndlessPaths()
    started = time.monotonic()
    result = HostedSignIn(
        authorize_url="https://vehicleapp.auth.us-east-1.amazoncognito.com/oauth2/authorize",
        redirect_uri="https://site.example/",
    )
    flight = InFlightSignIn(result, recorder, page, started, started + 1.0, 1.0, True)
    done = finish_sign_in(flight, "janedoe", PASSWORD)
    assert page.looks > 100
    assert len(done.pages) <= 50
    assert all(len(p) <= 300 for p in done.pages)
    assert done.pages[0].startswith("/step/1/")
    assert done.pages_left_out == page.looks - len(done.pages)
    evidence = done.evidence()
    assert evidence["hosted_ui_pages_left_out"] == done.pages_left_out
    assert len(evidence["blocked"]) == 50
    assert evidence["blocked_left_out"] == MANY - 50
    assert f"{done.pages_left_out:,} more hosted-UI pages" in evidence["left_out"]
    assert "49,950 more blocked requests were left out" in evidence["left_out"]
    assert done.timed_out
    assert done.error.startswith("The hosted UI did not send the browser on")


# ---------------------------------------------------------------------- in a real browser

# The end page floods the console as it loads; Login goes there a moment after the click, so that the click
# itself (which waits for a navigation it starts) is over before the flood.
NOISY_LOGIN = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Login</title>
<script>
if (location.search.includes('msg=0')) {
  for (let i = 0; i < 50000; i++) console.error('noise ' + i + ' ' + 'x'.repeat(400));
}
</script></head>
<body>
<input id="username"><input id="passwd" type="password">
<input type="button" value="Login" onclick="setTimeout(() => { location.href = 'login.html?msg=0'; }, 100)">
<p id="message"></p>
</body></html>
"""


@pytest.fixture
def noisy_site(tmp_path: Path) -> Iterator[str]:
    """A login page whose end page (`login.html?msg=0`) writes 50,000 console errors, on a loopback port."""
    (tmp_path / "login.html").write_text(NOISY_LOGIN)
    with serving(SharedDataMiddleware(NotFound(), {"/": str(tmp_path)})) as url:
        yield url


@pytest.mark.browser
def test_a_page_logging_fifty_thousand_errors_gives_small_evidence(noisy_site: str) -> None:
    """Logging in on a page that logs 50,000 console errors keeps the evidence under 200 KB of JSON and says how
    many console errors were left out."""
    routes = SandboxRoutes("http://127.0.0.1:9", {}, (origin_of(noisy_site),))
    with BrowserSession(find_browser(), routes, "us-east-1", timeout_s=60) as session:
        attempt = log_in(session, f"{noisy_site}/login.html", "janedoe", PASSWORD)
    assert attempt.error == "", attempt.error
    assert attempt.landed == "failed", attempt.final_url
    evidence = attempt.evidence()
    size = len(json.dumps(evidence))
    assert size < 200_000, size
    assert len(evidence["console_errors"]) == 50
    assert evidence["console_errors_left_out"] > 40_000
    assert "more console errors were left out" in evidence["left_out"]

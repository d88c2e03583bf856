"""One mark tells the grader's own traffic from the student's: grader.GRADER_MARK.

The browser's user agent ends with it, the HTTP reader sends it as its User-Agent, and CloudTrail's
filter (AuthEvent.by_grader) takes a record whose user agent holds it for the grader's own call.
Each reads the mark when it uses it: a test that changes the mark sees all three follow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import grader
from grader.browser import BrowserSession, RealRoutes, Recorder, find_browser
from grader.observe.website import Fetcher
from grader.trail import AuthEvent, auth_event_from
from tests.cloudtrail_records import BROWSER, sign_in_record

MARK = "mark-under-test"
TIMEOUT_S = 10.0


class _Recording(BaseHTTPRequestHandler):
    """Answers a small page to every GET and records the User-Agent each one came with."""

    agents: list[str]

    def do_GET(self) -> None:
        self.agents.append(self.headers.get("User-Agent", ""))
        body = b"<!DOCTYPE html><title>login</title><p>Login</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local web server: its URL, and the User-Agent of every GET it answered."""
    agents: list[str] = []
    handler = type("Handler", (_Recording,), {"agents": agents})
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as running:
        thread = threading.Thread(target=running.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{running.server_address[1]}", agents
        finally:
            running.shutdown()


def test_the_mark_is_the_start_of_the_aws_user_agent() -> None:
    """The AWS calls' user agent is the mark and the version (grader/aws.py sends it)."""
    assert grader.USER_AGENT.startswith(f"{grader.GRADER_MARK}/")
    assert grader.USER_AGENT.endswith(grader.__version__)


def test_the_http_reader_sends_the_mark_as_it_is_when_made(
    server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Fetcher made after the mark changed sends the new mark, nothing else."""
    url, agents = server
    monkeypatch.setattr(grader, "GRADER_MARK", MARK)
    found, text = Fetcher(allowed_origins=[url]).get(url + "/login.html")
    assert found.status == 200, found
    assert text is not None
    assert agents == [MARK]


def test_the_cloudtrail_filter_follows_the_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record whose user agent holds the current mark is the grader's; one with the old mark no longer is."""
    old = grader.GRADER_MARK
    by_old = auth_event_from(sign_in_record("InitiateAuth", agent=f"{BROWSER} {old}"))
    assert by_old.by_grader
    monkeypatch.setattr(grader, "GRADER_MARK", MARK)
    by_new: AuthEvent = replace(by_old, user_agent=f"{BROWSER} {MARK}")
    assert by_new.by_grader
    assert not by_old.by_grader
    assert not auth_event_from(sign_in_record("InitiateAuth", agent=BROWSER)).by_grader


def _visit(session: BrowserSession, url: str) -> str:
    """Open `url` in a fresh context of `session`; the page's navigator.userAgent."""
    recorder = Recorder(session.routes, time.monotonic() + TIMEOUT_S)
    with session.open_page(recorder, TIMEOUT_S) as page:
        page.goto(url, wait_until="domcontentloaded")
        return str(page.evaluate("navigator.userAgent"))


@pytest.mark.browser
def test_the_browser_follows_the_mark_even_when_launched_before(
    server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A browser launched with the old mark sends the new one from its next context: header and navigator alike."""
    url, agents = server
    old = grader.GRADER_MARK
    with BrowserSession(find_browser(), RealRoutes(url), "us-east-1", timeout_s=TIMEOUT_S, own_thread=True) as session:
        before = session.call(lambda s: s.user_agent)
        assert before.endswith(f" {old}")
        monkeypatch.setattr(grader, "GRADER_MARK", MARK)
        after = session.call(lambda s: s.user_agent)
        seen = session.call(_visit, url + "/login.html")
    assert after == before.removesuffix(old) + MARK
    assert seen == after
    assert agents, "the page was not requested"
    assert set(agents) == {after}

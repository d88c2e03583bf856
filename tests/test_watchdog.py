"""A page that never answers cannot hold the grader: every in-page read is bounded, and a watchdog outside the page
stops the browser at the grade's deadline; the grade still completes (issue 11, row 2)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from grader.browser import BrowserSession, find_browser
from grader.browser.session import evaluate_within
from grader.errors import GraderError
from grader.observe.observer import Observer
from grader.sandbox.layout import SandboxRoutes
from grader.snapshot import Read

SPINNING_PAGE = (
    "<html><body><p id=message>hello</p><script>setTimeout(() => { for (;;) {} }, 50)</script></body></html>"
)


def _session(**kwargs: Any) -> BrowserSession:
    return BrowserSession(find_browser(), SandboxRoutes("http://127.0.0.1:9", {}, ()), "us-east-1", **kwargs)


def _spin_unbounded(session: BrowserSession) -> Any:
    """What Playwright's own evaluate does on a spinning page: wait for good."""
    with session.open_page(_NoRecorder(), 60) as page:
        page.set_content(SPINNING_PAGE)
        time.sleep(0.2)
        return page.evaluate("() => document.title")


def _read_message(session: BrowserSession) -> str:
    with session.open_page(_NoRecorder(), 10) as page:
        page.set_content("<p id=message>hello</p>")
        return str(evaluate_within(page, "() => document.querySelector('#message').textContent", timeout_ms=2000))


class _NoRecorder:
    """A recorder that lets nothing out of the page (set_content needs no network)."""

    def route(self, route: Any) -> None:
        route.abort("blockedbyclient")

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None


@pytest.mark.browser
def test_a_bounded_read_of_a_spinning_page_gives_up_in_time() -> None:
    """evaluate_within raises Playwright's TimeoutError after its timeout on a page spinning in a loop."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def work(session: BrowserSession) -> float:
        with session.open_page(_NoRecorder(), 60) as page:
            page.set_content(SPINNING_PAGE)
            time.sleep(0.2)
            started = time.monotonic()
            with pytest.raises(PlaywrightTimeout):
                evaluate_within(page, "() => document.title", timeout_ms=1000)
            return time.monotonic() - started

    with _session(own_thread=True) as session:
        took = session.call(work)
        assert took < 5, took
        assert session.call(_read_message) == "hello"  # the browser is still fine


@pytest.mark.browser
def test_the_watchdog_stops_a_browser_stuck_in_a_page_and_the_session_goes_on() -> None:
    """A call stuck in an unbounded evaluate on a spinning page ends at its deadline with a deadline GraderError;
    the session launches a new browser for the next call."""
    with _session(own_thread=True) as session:
        started = time.monotonic()
        with pytest.raises(GraderError) as raised:
            session.call(_spin_unbounded, deadline=started + 3)
        assert raised.value.kind == "deadline"
        assert time.monotonic() - started < 15
        assert session.call(_read_message) == "hello"


@pytest.mark.browser
def test_closing_a_session_whose_thread_is_stuck_returns() -> None:
    """close() on a session busy in a page that never answers stops the browser and returns."""
    from playwright.sync_api import Error as PlaywrightError

    session = _session(own_thread=True, timeout_s=2)
    worker = session._worker
    assert worker is not None
    stuck = worker.submit(_spin_unbounded, session)
    time.sleep(3)
    started = time.monotonic()
    session.close()
    assert time.monotonic() - started < 10
    with pytest.raises(PlaywrightError):  # the stopped browser's
        stuck.result(timeout=10)


class _StoppedBrowser:
    """A browser session whose flows finished the hosted sign-in, then were stopped by the watchdog."""

    routes: Any = None
    region = "us-east-1"

    def call(self, work: Any, login: Any, hosted: Any, finished: dict[str, Read[Any]], **kwargs: Any) -> Any:
        finished["hosted_sign_in"] = Read("signed in")
        kwargs["before_stop"]()
        finished["site_logins"] = Read("read after the browser was stopped: never to be used")
        raise GraderError("stopped", kind="deadline")


def test_a_flow_finished_before_the_watchdog_keeps_its_result_and_the_other_is_the_graders_error(
    tmp_path: Path,
) -> None:
    """At the deadline, what the flows had finished is kept; a flow cut short is the grader's deadline error,
    never a result read from a browser that was being stopped."""
    observer = Observer.__new__(Observer)
    observer.deadline_s = 10
    observer._deadline = time.monotonic() + 10
    observer._browser = lambda: _StoppedBrowser()  # type: ignore[method-assign]
    observer.routes = lambda: None  # type: ignore[method-assign]
    observer._login_request = lambda: "login"  # type: ignore[method-assign]
    observer._hosted_request = lambda: "hosted"  # type: ignore[method-assign]
    observer.connection = type("C", (), {"target": type("T", (), {"region": "us-east-1"})()})()  # type: ignore[assignment]
    parts = observer._run_flows(frozenset({"site_logins", "hosted_sign_in"}))
    assert parts["hosted_sign_in"].value == "signed in"
    error = parts["site_logins"].error
    assert error is not None
    assert error.kind == "deadline"
    assert "stopped the browser after 10 s" in error.message


@pytest.mark.browser
def test_a_grade_on_a_site_that_hangs_the_browser_ends_at_its_deadline_and_is_written(
    sandbox: Any, tmp_path: Path
) -> None:
    """A login page that spins for good when typed into (where no read of the grader is bounded) is stopped by the
    watchdog: the grade ends within its deadline, the browser checks are the grader's deadline error naming the
    website, every other check is judged as usual, and the report is written."""
    import shutil

    from grader.pipeline import grade
    from grader.sandbox.demo import grader_browser, set_up
    from grader.sandbox.scenarios import load_scenario
    from grader.spec import load_spec
    from grader.target import Target
    from tests.test_site_url import serving_folder

    made = set_up(sandbox, load_scenario("finished"))
    root = tmp_path / "site"
    shutil.copytree(sandbox.gateway.sites.sites[made.instance_dns.lower()].root, root)
    login = root / "login.html"
    login.write_text(
        login.read_text().replace(
            "</body>", "<script>document.addEventListener('input', () => { for (;;) {} }, true);</script></body>"
        )
    )
    deadline_s = 8.0
    with serving_folder(root) as site_url:
        started = time.monotonic()
        result = grade(
            Target(endpoint_url=sandbox.url, site_url=site_url, student="spinning-site"),
            load_spec(),
            tmp_path / "out",
            browser=grader_browser(sandbox),
            deadline_s=deadline_s,
        )
        took = time.monotonic() - started
    assert took < deadline_s + 5, took
    statuses = {c.id: c.status for c in result.checks}
    for cid in ("site.login", "site.wrong_password_rejected"):
        assert statuses[cid] == "error", (cid, statuses[cid])
        message = next(c.message for c in result.checks if c.id == cid)
        assert f"stopped the browser after {deadline_s:g} s" in message
        assert "the website did not finish" in message
    assert statuses["site.reachable"] == statuses["pool.exists"] == statuses["cloudtrail.auth_events"] == "pass"
    assert (tmp_path / "out" / "spinning-site" / "results.json").is_file()
    assert (tmp_path / "out" / "spinning-site" / "report.html").is_file()


@pytest.mark.browser
def test_a_call_whose_deadline_passes_in_the_queue_leaves_the_running_work_alone() -> None:
    """A browser lent to many accounts: one account's deadline passing while it waits behind another's work ends
    that call at its deadline, and the work that was running goes on to its end."""
    import threading

    def slow(session: BrowserSession) -> str:
        with session.open_page(_NoRecorder(), 30) as page:
            page.set_content("<p id=message>slow</p>")
            page.wait_for_timeout(3000)
            return str(evaluate_within(page, "() => document.querySelector('#message').textContent", timeout_ms=2000))

    with _session(own_thread=True) as session:
        session.call(_read_message)  # launched
        finished: dict[str, Any] = {}
        runner = threading.Thread(target=lambda: finished.update(slow=session.call(slow)))
        runner.start()
        time.sleep(0.5)
        started = time.monotonic()
        with pytest.raises(GraderError) as raised:
            session.call(_read_message, deadline=started + 1)
        assert raised.value.kind == "browser-busy"
        assert time.monotonic() - started < 2.5
        runner.join(timeout=20)
        assert finished == {"slow": "slow"}

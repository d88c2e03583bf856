"""Browser lanes: how many by default, one student at a time per lane, and a hostile site holding only its own lane.

The isolation test goes by the order of events, never by timing: a student in another lane
finishes while the hostile site still holds its page open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.wrappers import Request, Response

from grader.batch.model import StudentOutcome
from grader.batch.roster import load_roster
from grader.batch.runner import BatchOptions, grade_class, preflight
from grader.browser.lanes import KEPT_FREE_MIB, LANE_MEMORY_MIB, BrowserLanes, choose_lanes, lane_of
from grader.errors import GraderError
from grader.sandbox import Sandbox
from grader.sandbox.classroom import ClassStudent, set_up_class
from grader.spec import load_spec
from tests.sandbox.serving import serving

SITE = Path(__file__).resolve().parent.parent / "fixtures" / "site" / "template"


def test_default_lanes_are_one_per_core_and_fewer_when_memory_is_short() -> None:
    roomy = KEPT_FREE_MIB + 8 * LANE_MEMORY_MIB
    assert choose_lanes(None, cores=2, free_mib=roomy).count == 2
    assert choose_lanes(None, cores=2, free_mib=roomy).said() == "2 browser lanes (one per core)"
    short = choose_lanes(None, cores=4, free_mib=KEPT_FREE_MIB + LANE_MEMORY_MIB + 10)
    assert short.count == 1
    assert short.said().startswith("1 browser lane (fewer than one per core:")
    assert choose_lanes(None, cores=2, free_mib=100).count == 1  # always at least one
    assert choose_lanes(None, cores=3, free_mib=None).count == 3  # memory unknown: one per core
    assert choose_lanes(5, cores=2, free_mib=100).count == 5  # asked: as asked


class FakeSession:
    def __init__(self, name: str) -> None:
        self.name = name
        self.killed = self.closed = 0

    def start(self) -> None:
        pass

    def kill(self) -> None:
        self.killed += 1

    def close(self, patience_s: float | None = None) -> None:
        self.closed += 1


def test_a_lane_serves_one_student_at_a_time_and_a_student_who_finds_none_free_is_told_so() -> None:
    names = iter("ab")
    lanes = BrowserLanes(2, lambda: FakeSession(next(names)))
    far = time.monotonic() + 60
    with lanes.lane(far) as first, lanes.lane(far) as second:
        assert {first.name, second.name} == {"a", "b"}
        with pytest.raises(GraderError) as busy, lanes.lane(time.monotonic() + 0.05):
            pass
        assert busy.value.kind == "browser-busy"
    with lanes.lane(far) as again:  # given back after use
        assert again.name in "ab"
    lanes.kill()
    lanes.close()
    assert all(s.killed == 1 and s.closed == 1 for s in lanes.sessions)
    lone = FakeSession("lone")
    with lane_of(lone, far) as same:  # a single session is its own lane
        assert same is lone


def _hostile_site(held: threading.Event, release: threading.Event) -> Any:
    """The course website, but its login page waits for a script that answers only once released."""
    page = (
        (SITE / "login.html").read_text(encoding="utf-8").replace("<head>", '<head><script src="hold.js"></script>', 1)
    )
    static = SharedDataMiddleware(Response("not found", status=404), {"/": str(SITE)})

    @Request.application
    def app(request: Request) -> Any:
        if request.path == "/hold.js":
            held.set()
            release.wait(60)
            return Response("", mimetype="text/javascript")
        if request.path == "/login.html":
            return Response(page, mimetype="text/html")
        return static

    return app


@pytest.fixture
def hostile_site() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    held, release = threading.Event(), threading.Event()
    with serving(_hostile_site(held, release)) as url:
        try:
            yield url + "/", held, release
        finally:
            release.set()


@pytest.mark.browser
def test_a_hostile_site_holds_only_its_own_lane(
    sandbox: Sandbox, tmp_path: Path, hostile_site: tuple[str, threading.Event, threading.Event]
) -> None:
    """h1's login page does not load until a1 is done; a1 is graded once h1's page is held, in the same lanes.

    With two lanes a1 is graded in the other browser meanwhile: a1 logs in and is done while h1's
    page still waits, and h1 after. (In one lane a1 would wait until h1's login gave up.)
    """
    from grader.browser import BrowserSession, find_browser

    site, held, release = hostile_site
    roster = set_up_class(
        sandbox, (ClassStudent("h1", "Hostile", "finished"), ClassStudent("a1", "Other", "finished")), tmp_path / "in"
    )
    rows = [replace(row, site_url=site) if row.student_id == "h1" else row for row in load_roster(roster).rows]
    options = BatchOptions(
        out=tmp_path / "out", spec=load_spec(), endpoint_url=sandbox.url, deadline_s=60, allow_local_sites=True
    )
    events: list[str] = []

    def done(outcome: StudentOutcome) -> None:
        events.append(f"{outcome.row.student_id} done")
        if outcome.row.student_id == "a1":
            release.set()

    ready = preflight(rows, options).ready
    choice = find_browser()
    lanes = BrowserLanes(2, lambda: BrowserSession(choice, None, "us-east-1", own_thread=True))
    found: dict[str, StudentOutcome] = {}
    try:
        hostile = threading.Thread(
            target=lambda: found.update(
                (o.row.student_id, o)
                for o in grade_class({"h1": ready["h1"]}, rows, options, on_done=done, browser=lanes)
            )
        )
        hostile.start()
        assert held.wait(30), "h1's page never asked for its script"
        other = grade_class({"a1": ready["a1"]}, rows, options, on_done=done, browser=lanes)
        hostile.join(60)
    finally:
        release.set()
        lanes.close()
    assert events == ["a1 done", "h1 done"]
    a1 = other[0].result
    assert a1 is not None
    statuses = {c.id: c.status for c in a1.checks}
    assert statuses["site.login"] == "pass"
    assert statuses["hostedui.implicit_callback"] == "pass"
    assert found["h1"].status == "graded"

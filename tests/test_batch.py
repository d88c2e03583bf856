"""Grading a class (issue 12): preflight sorts the roster, students are graded concurrently and as each alone,
an interrupted batch resumes to the same files, --only re-grades the chosen rows, and no secret is written.

One class is set up once in the sandbox (each student's lab in an account of their own) and batch-graded once;
the tests read that run, and the ones that need a run of their own make it in a copy of its folder.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.batch.model import RosterRow, StudentOutcome
from grader.batch.roster import load_roster
from grader.batch.run import STOPPED, BatchRun, run_batch
from grader.batch.runner import BatchOptions, preflight
from grader.pipeline import grade
from grader.sandbox import Sandbox
from grader.sandbox.classroom import ClassStudent, set_up_class
from grader.sandbox.demo import grader_browser
from grader.spec import load_spec
from grader.target import Target
from tests.leaks import leaks_in_folder
from tests.messages import timeless

pytestmark = pytest.mark.browser

CLASS = (
    ClassStudent("s01", "Ada Lovelace", "finished"),
    ClassStudent("s02", "Alan Turing", "callback-http"),
    ClassStudent("s03", "Grace Hopper", "janedoe-not-confirmed", way_in="credentials-file"),
    ClassStudent("s04", "Ken Thompson", "site-hanging"),
    ClassStudent("s05", "Barbara Liskov", None, way_in="malformed-file"),
    ClassStudent("s06", "Margaret Hamilton", "finished", way_in="expired-file"),
    ClassStudent("s07", "Dennis Ritchie", "finished", way_in="credentials-file"),
)
DEADLINE_S = 40.0


@dataclass
class GradedClass:
    sandbox: Sandbox
    roster: Path
    rows: list[RosterRow]
    out: Path
    run: BatchRun
    done_at: dict[str, float]

    def options(self, out: Path) -> BatchOptions:
        return BatchOptions(out=out, spec=load_spec(), endpoint_url=self.sandbox.url, workers=3, deadline_s=DEADLINE_S)


@pytest.fixture(scope="module")
def graded(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> GradedClass:
    folder = tmp_path_factory.mktemp("class")
    roster = set_up_class(sandbox, CLASS, folder / "handed-in")
    rows = list(load_roster(roster).rows)
    out = folder / "out"
    started = time.monotonic()
    done_at: dict[str, float] = {}

    def done(outcome: StudentOutcome) -> None:
        done_at[outcome.row.student_id] = time.monotonic() - started

    options = BatchOptions(out=out, spec=load_spec(), endpoint_url=sandbox.url, workers=3, deadline_s=DEADLINE_S)
    run = run_batch(rows, roster, options, on_done=done, browser=grader_browser(sandbox))
    return GradedClass(sandbox, roster, rows, out, run, done_at)


def _by_id(run: BatchRun) -> dict[str, StudentOutcome]:
    return {o.row.student_id: o for o in run.outcomes}


def _class_csv(out: Path, without: str = "") -> list[dict[str, str]]:
    rows = csv.DictReader(io.StringIO((out / "class.csv").read_text(encoding="utf-8")))
    return [row for row in rows if row["student_id"] != without]


def _quick(graded: GradedClass) -> list[RosterRow]:
    """The class without s04, whose hanging website takes its reader's whole deadline."""
    return [row for row in graded.rows if row.student_id != "s04"]


def test_preflight_sorts_ready_expired_invalid_missing_and_shared_accounts(graded: GradedClass, tmp_path: Path) -> None:
    """Expired keys, a malformed credentials file, a profile that does not exist, and two rows in one AWS account
    are ungradable, each with what the student must do; the rest are ready."""
    extra = [
        RosterRow(line=90, student_id="s90", profile="no-such-profile-for-the-grader"),
        RosterRow(line=91, student_id="s91", role_arn=graded.rows[0].role_arn),  # s01's account
    ]
    found = preflight([*graded.rows, *extra], graded.options(tmp_path))
    assert sorted(found.ready) == ["s02", "s03", "s04", "s07"]
    reasons = {sid: outcome.reason for sid, outcome in found.ungradable.items()}
    assert "expired" in reasons["s06"]
    assert "start the lab, copy fresh AWS Details and send them again" in reasons["s06"]
    assert "[default]" in reasons["s05"]
    assert "send the [default] block" in reasons["s05"]
    assert "no-such-profile-for-the-grader" in reasons["s90"]
    for sid, other in (("s01", "s91"), ("s91", "s01")):
        assert f"The same AWS account as {other}" in reasons[sid]
    assert all(outcome.status == "ungradable" and outcome.result is None for outcome in found.ungradable.values())


def test_the_class_is_graded_and_ungradable_students_are_never_a_zero(graded: GradedClass) -> None:
    outcomes = _by_id(graded.run)
    assert [o.row.student_id for o in graded.run.outcomes] == [s.student_id for s in CLASS]
    assert {sid for sid, o in outcomes.items() if o.status == "graded"} == {"s01", "s02", "s03", "s04", "s07"}
    assert graded.run.exit_code == 1  # two students are ungradable
    rows = {row["student_id"]: row for row in _class_csv(graded.out)}
    # Each student's lab is in an account of its own: the finished ones score full marks wherever they are.
    assert rows["s01"]["score"] == rows["s01"]["max_score"] == "35"
    assert rows["s07"]["score"] == rows["s07"]["max_score"] == "35"
    assert (rows["s05"]["status"], rows["s05"]["score"], rows["s05"]["client.exists"]) == ("ungradable", "", "")
    result = json.loads((graded.out / "s02" / "results.json").read_text())
    assert result["roster"] == {"student_id": "s02", "name": "Alan Turing", "email": "s02@example.edu", "section": "B"}
    for name in ("class.html", "junit.xml", "batch.json", "gradescope/s01.json", "gradescope/s05.json"):
        assert (graded.out / name).is_file(), name


def test_students_graded_concurrently_score_as_each_graded_alone(graded: GradedClass, tmp_path: Path) -> None:
    """Every check of every graded student ends as when that student is graded alone with `grader check`."""
    outcomes = _by_id(graded.run)
    for row in graded.rows:
        if outcomes[row.student_id].status != "graded" or row.student_id == "s04":
            continue  # s04's hanging site is judged in its own test
        target = Target(
            endpoint_url=graded.sandbox.url,
            role_arn=row.role_arn,
            credentials_file=row.credentials_file,
            student=row.student_id,
        )
        alone = grade(target, load_spec(), tmp_path, browser=grader_browser(graded.sandbox))
        batch = outcomes[row.student_id].result
        assert batch is not None
        # The same verdicts and messages (a trail's latest delivery may be a minute later the second time).
        assert [(c.id, c.status, timeless(c.message)) for c in batch.checks] == [
            (c.id, c.status, timeless(c.message)) for c in alone.checks
        ], row.student_id
        assert batch.account_id == alone.account_id
        # Both timed alike: from the start of the observation to the end of judging, in every file that says it.
        for result, folder in ((batch, graded.out / row.student_id), (alone, tmp_path / row.student_id)):
            observed = json.loads((folder / "evidence.json").read_text())["evidence"]
            span = _seconds_between(observed["observed_at"]["iso"], observed["finished_at"]["iso"])
            assert span <= result.duration_seconds < span + 10, (row.student_id, span, result.duration_seconds)
            assert json.loads((folder / "results.json").read_text())["duration_seconds"] == result.duration_seconds
        entry = _manifest_entry(graded.out, row.student_id)
        assert entry["duration_seconds"] == batch.duration_seconds


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 2)


def _manifest_entry(out: Path, student_id: str) -> dict[str, Any]:
    students = json.loads((out / "batch.json").read_text())["students"]
    return next(entry for entry in students if entry["student_id"] == student_id)


def test_a_hanging_website_does_not_hold_the_others(graded: GradedClass) -> None:
    """s04's website never answers: s04 is still graded (its site could not be checked), and the others finished
    long before."""
    s04 = _by_id(graded.run)["s04"].result
    assert s04 is not None
    assert {c.id: c.status for c in s04.checks}["site.reachable"] == "error"
    others = [graded.done_at[sid] for sid in ("s01", "s02", "s03", "s07")]
    assert max(others) < graded.done_at["s04"]
    assert graded.done_at["s04"] < DEADLINE_S + 10


def test_an_interrupted_batch_resumes_to_the_same_class_files(graded: GradedClass, tmp_path: Path) -> None:
    """Ctrl-C after the first student: what finished is kept, the rest say how to go on; --resume grades only the
    rest, and the class files are those of one uninterrupted run."""
    out = tmp_path / "out"
    seen: list[str] = []

    def interrupt(outcome: StudentOutcome) -> None:
        seen.append(outcome.row.student_id)
        raise KeyboardInterrupt

    stopped = run_batch(
        _quick(graded), graded.roster, graded.options(out), on_done=interrupt, browser=grader_browser(graded.sandbox)
    )
    assert stopped.interrupted
    not_reached = [o for o in stopped.outcomes if o.status == "not-graded"]
    assert not_reached
    assert all(o.reason == STOPPED for o in not_reached)
    again: list[str] = []
    resumed = run_batch(
        _quick(graded),
        graded.roster,
        graded.options(out),
        resume=True,
        on_preflight=lambda row, said: again.append(row.student_id),
        browser=grader_browser(graded.sandbox),
    )
    assert seen[0] not in again  # the student finished before the interrupt is kept
    assert not resumed.interrupted
    assert _class_csv(out) == _class_csv(graded.out, without="s04")


def test_only_failed_regrades_the_failed_students_and_keeps_the_rest(graded: GradedClass, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(graded.out, out)
    before = (out / "s01" / "results.json").read_bytes()
    again: list[str] = []
    run_batch(
        _quick(graded),
        graded.roster,
        graded.options(out),
        only="failed",
        on_preflight=lambda row, said: again.append(row.student_id),
        browser=grader_browser(graded.sandbox),
    )
    assert sorted(again) == ["s02", "s03"]  # s01 and s07 have full marks; s05 and s06 were not graded
    assert (out / "s01" / "results.json").read_bytes() == before
    assert _class_csv(out) == _class_csv(graded.out, without="s04")


def test_no_secret_is_written_in_any_output(graded: GradedClass) -> None:
    """The keys of every credentials file handed in appear in no file the batch wrote, and no token, password or
    cookie either: evidence.json included."""
    secrets: list[str] = []
    for path in (graded.roster.parent).glob("*-credentials.txt"):
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token") and value:
                secrets.append(value.strip())
    assert len(secrets) >= 6
    assert {path.name for path in (graded.out / "s01").iterdir()} >= {"evidence.json", "results.json", "report.html"}
    password = load_spec().expected.final_password
    assert leaks_in_folder(graded.out, (*secrets, password)) == {}


def test_a_roster_with_bad_rows_stops_the_batch_before_any_grade(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,profile\ns1,Ann,lab\ns1,Bob,lab\ns3,Cy,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", str(roster), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "line 3" in result.output
    assert "line 4" in result.output
    assert not (tmp_path / "out" / "batch.json").exists()


def test_the_canvas_export_fills_the_batch_scores(graded: GradedClass, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    gradebook = tmp_path / "gradebook.csv"
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,Lab 2 (111)", "    Points Possible,,,,,10"]
    lines += [f"{s.name},{100 + i},,{s.student_id}@example.edu,A,5" for i, s in enumerate(CLASS)]
    gradebook.write_text("\n".join(lines) + "\n", encoding="utf-8")
    filled = tmp_path / "import.csv"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "canvas",
            str(graded.out),
            "--gradebook",
            str(gradebook),
            "--assignment",
            "Lab 3 (222)",
            "--out",
            str(filled),
            "--new-column",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(filled.read_text(encoding="utf-8"))))
    by_name: dict[str, Any] = {row["Student"]: row for row in rows}
    assert by_name["Ada Lovelace"]["Lab 3 (222)"] == "35"
    assert by_name["Barbara Liskov"]["Lab 3 (222)"] == ""  # ungradable: left empty, never 0
    assert "Lab 2 (111)" not in rows[0]


def test_two_shards_merged_equal_one_run(graded: GradedClass, tmp_path: Path) -> None:
    """Every other row graded in two shard folders, then merged: the class files of one run; overlapping or
    foreign shards are refused."""
    from grader.batch.merge import merge_batches
    from grader.batch.run import shard_rows
    from grader.errors import GraderError

    rows = _quick(graded)
    folders = []
    for shard in ("1/2", "2/2"):
        folder = tmp_path / f"shard-{shard[0]}"
        part = shard_rows(rows, shard)
        assert part == rows[int(shard[0]) - 1 :: 2]
        run_batch(part, graded.roster, graded.options(folder), shard=shard, browser=grader_browser(graded.sandbox))
        folders.append(folder)
    merged = tmp_path / "merged"
    outcomes = merge_batches(folders, merged)
    assert [o.row.student_id for o in outcomes] == [row.student_id for row in rows]
    assert _class_csv(merged) == _class_csv(graded.out, without="s04")
    assert (merged / "s01" / "report.html").is_file()
    with pytest.raises(GraderError, match="in both"):
        merge_batches([folders[0], folders[0]], tmp_path / "twice")
    other = tmp_path / "other"
    shutil.copytree(folders[1], other)
    manifest = json.loads((other / "batch.json").read_text())
    manifest["roster_sha256"] = "0" * 64
    (other / "batch.json").write_text(json.dumps(manifest))
    with pytest.raises(GraderError, match="not shards of one batch"):
        merge_batches([folders[0], other], tmp_path / "foreign")


def test_the_batch_command_prints_preflight_progress_and_the_class_page(graded: GradedClass, tmp_path: Path) -> None:
    """`grader batch` end to end on a one-student roster: exit 0, the preflight table, the class page's path."""
    from typer.testing import CliRunner

    from grader.cli import app

    roster = tmp_path / "one.csv"
    roster.write_text(f"student_id,name,role_arn\ns01,Ada Lovelace,{graded.rows[0].role_arn}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "batch",
            str(roster),
            "--out",
            str(out),
            "--endpoint-url",
            graded.sandbox.url,
            "--workers",
            "1",
            "--lanes",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ready" in result.output
    assert "Grading 1: 1 observed at a time, 1 browser lane (as asked with --lanes)." in result.output
    assert "1 graded" in result.output
    assert "class.html" in result.output
    assert json.loads((out / "s01" / "results.json").read_text())["roster"]["name"] == "Ada Lovelace"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection can be opened: a socket that tries is a test failure."""
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"rejudging tried to open a connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rejudging_a_class_with_its_own_spec_rewrites_the_same_files(
    graded: GradedClass, tmp_path: Path, offline: None
) -> None:
    """`grader rejudge` on the batch folder, offline and with the spec it was graded with: every file as it was."""
    from grader.rejudge import rejudge

    copy = tmp_path / "class"
    shutil.copytree(graded.out, copy)
    before = _files(copy)
    done = rejudge(copy)
    assert done.outcomes is not None
    assert len(done.results) == sum(o.status == "graded" for o in graded.run.outcomes)
    after = _files(copy)
    assert after.keys() == before.keys()
    changed = [name for name in before if before[name] != after[name]]
    assert changed == []


def test_rejudging_a_class_with_another_spec_rescores_it_offline(
    graded: GradedClass, tmp_path: Path, offline: None
) -> None:
    """An instructor's spec with other points and an advisory check: every student re-scored, the class files
    rebuilt, nothing observed; a check the evidence cannot answer is the grader's error, never a fail."""
    from grader.rejudge import rejudge

    spec = load_spec()
    text = spec.source.read_text(encoding="utf-8")
    mine = tmp_path / "mine.toml"
    assert '[checks."user.janedoe_confirmed"]' in text
    mine.write_text(
        text.replace('[checks."user.janedoe_confirmed"]', '[checks."user.janedoe_confirmed"]\nadvisory = true', 1),
        encoding="utf-8",
    )
    copy = tmp_path / "class"
    shutil.copytree(graded.out, copy)
    done = rejudge(copy, load_spec(mine))
    assert done.outcomes is not None
    s03 = next(o for o in done.outcomes if o.row.student_id == "s03")  # janedoe not confirmed
    assert s03.result is not None
    confirmed = next(c for c in s03.result.checks if c.id == "user.janedoe_confirmed")
    assert (confirmed.status, confirmed.advisory, confirmed.max_points) == ("warn", True, 0)
    before = _by_id(graded.run)["s03"].result
    assert before is not None
    assert s03.result.max_score < before.max_score
    assert json.loads((copy / "s03" / "results.json").read_text())["max_score"] == s03.result.max_score
    assert _manifest_entry(copy, "s03")["max_score"] == s03.result.max_score
    assert _class_csv(copy) != _class_csv(graded.out)

"""Ctrl-C and SIGTERM stop a batch at any point: soon, with no traceback, nothing finished lost, --resume goes on.

Each test runs `grader batch` in a process of its own against a small sandbox class and sends it a
real signal: at a named point of its work (tests/batch_stop_driver.py), or to its whole process
group as a terminal's Ctrl-C does.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.batch.stopping import StopRequests
from grader.sandbox import Sandbox
from grader.sandbox.classroom import ClassStudent, set_up_class

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CLASS = tuple(ClassStudent(f"s{number}", f"Student {number}", "finished") for number in range(1, 4))
STOP_WITHIN_S = 30.0
"""A hang guard only: a stopped batch ends in a few seconds; this bound is far above that."""
NOISE = ("Traceback", "exception was never retrieved", "never awaited", "BrokenPipeError", "a bug in the grader")


@dataclass(frozen=True)
class StoppedRun:
    code: int
    output: str
    out: Path


@pytest.fixture(scope="module")
def roster(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return set_up_class(sandbox, CLASS, tmp_path_factory.mktemp("stopping") / "handed-in")


def _batch_args(roster: Path, sandbox: Sandbox, out: Path, *more: str) -> list[str]:
    return [str(roster), "--endpoint-url", sandbox.url, "--out", str(out), "--workers", "1", "--deadline", "40", *more]


def _environment() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}


def _finish(process: subprocess.Popen[str], out: Path) -> StoppedRun:
    try:
        output, _ = process.communicate(timeout=STOP_WITHIN_S + 60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the batch did not stop")
    return StoppedRun(process.returncode, output, out)


def _stop_at(point: str, signal_name: str, roster: Path, sandbox: Sandbox, out: Path) -> StoppedRun:
    command = [sys.executable, "-m", "tests.batch_stop_driver", point, signal_name, *_batch_args(roster, sandbox, out)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return _finish(process, out)


def _statuses(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    return {entry["student_id"]: entry["status"] for entry in manifest["students"]}


def _assert_stopped_cleanly(run: StoppedRun) -> dict[str, str]:
    """What every stop must leave: a clean exit, batch.json, finished students' files, the rest not graded yet."""
    assert run.code == 1, run.output
    assert "Stopped." in run.output, run.output
    for noise in NOISE:
        assert noise not in run.output, run.output
    statuses = _statuses(run.out)
    assert set(statuses) == {student.student_id for student in CLASS}
    assert set(statuses.values()) <= {"graded", "not-graded"}, statuses  # never "ungradable"
    assert "not-graded" in statuses.values()
    for student_id, status in statuses.items():
        assert (run.out / student_id / "results.json").is_file() == (status == "graded"), student_id
    with (run.out / "class.csv").open(encoding="utf-8", newline="") as handle:
        assert {row["student_id"]: row["status"] for row in csv.DictReader(handle)} == statuses
    page = (run.out / "class.html").read_text(encoding="utf-8")
    assert "Not graded yet" in page
    if "graded" not in statuses.values():
        assert "Could not be graded" not in page
    return statuses


def _resume(roster: Path, sandbox: Sandbox, out: Path, before: dict[str, str]) -> None:
    """--resume grades only the students not graded yet, and the class is whole."""
    done = subprocess.run(
        [sys.executable, "-m", "grader", "batch", *_batch_args(roster, sandbox, out, "--resume")],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_statuses(out).values()) == {"graded"}
    kept = sum(status == "graded" for status in before.values())
    if kept:
        assert f"{kept} kept from the run before" in done.stdout


@pytest.mark.parametrize(
    ("point", "signal_name"),
    [
        ("preflight", "SIGINT"),
        ("observing", "SIGINT"),
        ("judging", "SIGINT"),
        ("writing", "SIGINT"),
        ("observing", "SIGTERM"),
        ("judging", "SIGTERM"),
    ],
)
def test_a_signal_at_any_point_stops_the_batch_and_resume_finishes_it(
    point: str, signal_name: str, roster: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A stop while connecting, observing, judging or writing: exit 1, no traceback, the rest 'not graded yet'."""
    run = _stop_at(point, signal_name, roster, sandbox, tmp_path / "out")
    statuses = _assert_stopped_cleanly(run)
    if point in ("judging", "writing"):  # the student in hand when the signal came is finished and kept
        assert sum(status == "graded" for status in statuses.values()) >= 2, statuses
    if point == "preflight":
        assert set(statuses.values()) == {"not-graded"}
    _resume(roster, sandbox, tmp_path / "out", statuses)


def test_ctrl_c_to_the_process_group_spares_the_browser_driver(roster: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches every process of the group:
    the browser's driver lives on until the grader ends it."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "batch", *_batch_args(roster, sandbox, out)],
        cwd=ROOT,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    first = out / CLASS[0].student_id / "results.json"
    ends = time.monotonic() + 120
    while not first.exists() and process.poll() is None and time.monotonic() < ends:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _assert_stopped_cleanly(_finish(process, out))


def test_a_stop_inside_a_shield_waits_for_its_end() -> None:
    """A signal while a student is judged and written is raised only once that work is done."""
    finished: list[str] = []

    def judge_and_write(stops: StopRequests) -> None:
        with stops.shielded():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here, and must not raise
            finished.append("written")

    with StopRequests() as stops, pytest.raises(KeyboardInterrupt):
        judge_and_write(stops)
    assert finished == ["written"]
    assert stops.requested.is_set()


def test_a_second_signal_while_the_class_files_are_written_is_ignored() -> None:
    """Once stopping, the class files are written whatever comes."""
    with StopRequests() as stops:
        with stops.ignoring():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert stops.requested.is_set()


def test_outside_the_main_thread_stop_requests_change_nothing() -> None:
    """Signals are Python's main thread's: a batch run from another thread keeps the handlers as they were."""
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def run() -> None:
        with StopRequests():
            seen.append(signal.getsignal(signal.SIGINT))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert seen == [before]


@pytest.fixture(autouse=True)
def _restore_handlers() -> Iterator[None]:
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)

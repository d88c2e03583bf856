"""`grader batch`: a roster in, every student's report and the class files out.

roster (grader/batch/roster.py) -> what an earlier run already finished (--resume, --only; the
manifest of grader/batch/outputs.py) -> preflight and concurrent grading of the rest
(grader/batch/runner.py) -> class files, written again after every run, interrupted or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from grader.batch.model import RosterRow, StudentOutcome, parse_shard
from grader.batch.outputs import (
    Manifest,
    RosterStamp,
    earlier_outcome,
    finished_result,
    read_manifest,
    write_class_files,
)
from grader.batch.runner import BatchOptions, grade_class, preflight
from grader.batch.stopping import StopRequests

Only = Literal["failed", "ungradable", "below-max"]
STOPPED = "Not graded yet: the batch was stopped before this student was graded. Run it again with --resume."
EARLIER_STOPPED = "The batch was stopped before this student was graded: run it again with --resume."
"""What batch.json said of a student not reached, before such students had a status of their own."""


@dataclass(frozen=True)
class BatchRun:
    """What a batch did: every roster row's outcome in roster order, and whether it was interrupted."""

    outcomes: list[StudentOutcome]
    regraded: int
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every row was graded in full; 1 when some were ungradable or stopped at their deadline."""
        for outcome in self.outcomes:
            if outcome.status != "graded" or outcome.result is None:
                return 1
            if any(check.status == "error" for check in outcome.result.checks):
                return 1
        return 1 if self.interrupted else 0


def chosen(entry: dict[str, Any] | None, only: Only) -> bool:
    """Whether a manifest entry is one `--only` re-grades (a row without one always is).

    failed: a check failed, or was the grader's error; ungradable: not graded; below-max: graded
    without full marks.
    """
    if entry is None:
        return True
    if only == "ungradable":
        return entry.get("status") != "graded"
    if entry.get("status") != "graded":
        return False
    if only == "failed":
        return bool(entry.get("failed")) or bool(entry.get("errors"))
    score, max_score = entry.get("score"), entry.get("max_score")
    return isinstance(score, int | float) and isinstance(max_score, int | float) and score < max_score


def kept_outcome(row: RosterRow, out: Path, manifest: Manifest | None) -> StudentOutcome | None:
    """The outcome an earlier run finished for `row`, as it was (None when there is none to keep)."""
    entry = manifest.students.get(row.student_id) if manifest else None
    if entry is None:
        return None
    result = finished_result(out, row, manifest)
    if result is not None or (entry.get("status") == "ungradable" and entry.get("reason") != EARLIER_STOPPED):
        return earlier_outcome(row, entry, result)
    return None


def run_batch(
    rows: list[RosterRow],
    roster: Path,
    options: BatchOptions,
    *,
    resume: bool = False,
    only: Only | None = None,
    on_preflight: Callable[[RosterRow, str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[StudentOutcome], None] | None = None,
    browser: Any = None,
    shard: str = "",
) -> BatchRun:
    """Grade `rows` (all, or what --resume / --only leave) and write every output into `options.out`.

    `shard` ("K/N") only says, in the outputs, that `rows` are that shard of the roster (see shard_rows).
    """
    started = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = read_manifest(options.out) if (resume or only) else None
    kept: dict[str, StudentOutcome] = {}
    for row in rows:
        entry = manifest.students.get(row.student_id) if manifest else None
        if only is not None and chosen(entry, only):
            continue
        earlier = kept_outcome(row, options.out, manifest) if (resume or only) else None
        if earlier is not None and (only is not None or earlier.status == "graded"):
            kept[row.student_id] = earlier
    to_grade = [row for row in rows if row.student_id not in kept]
    found: dict[str, StudentOutcome] = {}
    interrupted = False
    with StopRequests() as stops:
        try:
            checked = preflight(to_grade, options, on_row=on_preflight)
            found.update(checked.ungradable)
            if on_start is not None:
                on_start(len(checked.ready))

            def done(outcome: StudentOutcome) -> None:
                found[outcome.row.student_id] = outcome
                if on_done is not None:
                    on_done(outcome)

            grade_class(checked.ready, rows, options, on_done=done, browser=browser, stops=stops)
        except KeyboardInterrupt:
            interrupted = True
        with stops.ignoring():  # a second Ctrl-C must not cut the class files short
            outcomes = [
                kept.get(row.student_id)
                or found.get(row.student_id)
                or StudentOutcome(row=row, status="not-graded", reason=STOPPED)
                for row in rows
            ]
            finished = datetime.now(UTC).isoformat(timespec="seconds")
            stamp = RosterStamp.of(roster, shard)
            write_class_files(outcomes, options.spec, options.out, roster=stamp, started=started, finished=finished)
    return BatchRun(outcomes=outcomes, regraded=len(to_grade), interrupted=interrupted)


def shard_rows(rows: list[RosterRow], shard: str) -> list[RosterRow]:
    """The rows of shard `K/N`: every N-th row, starting with the K-th (1 <= K <= N). ValueError for a bad shard."""
    k, n = parse_shard(shard)
    return rows[k - 1 :: n]

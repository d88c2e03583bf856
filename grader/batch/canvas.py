"""Filling an instructor's own Canvas gradebook export with a batch's scores, ready to import back.

Canvas's gradebook export is a CSV file: a header row (`Student, ID, SIS User ID, SIS Login ID`,
sometimes `Integration ID`, then `Section`; then one column per assignment, named like
"Lab 3 (12345)"; then read-only totals such as "Current Score" and "Final Grade"), usually a
"    Points Possible" row, sometimes a row of posting policies, then one row per student (the test
student "Student, Test" among them).

Canvas imports only the columns a file holds, so the filled file holds the export's identity columns
and the one assignment column, and nothing else: the other assignments and the read-only totals are
not written back. Every row of the export is kept, in its order.

Which row is whose (see :func:`fill_gradebook`): by SIS login id, then by Canvas ID, then by email,
never by name. When a student of the batch matches no row or several, nothing is written.

The export is read twice, a row at a time: once to find the column and match the students, once to
write the filled file. Memory grows with the batch, never with the gradebook.

Every cell copied from the export goes through :func:`~grader.batch.exports.spreadsheet_text`: its
control characters are removed, and a cell that would start a formula gets a leading single quote.
That keeps the import matching: Canvas finds each row by its "ID" (then its SIS ids, its name last)
and each assignment column by the id in its header, so a quoted name, section or header ("'=Lab 3
(12345)") still lands on its student and its assignment. The header's identity names and the
"Points Possible" label never start like a formula, so they reach Canvas as it wrote them; plain
numbers (scores, Canvas IDs, the points possible, a negative score kept) are never quoted.

The export's layout (its columns, each row's kind, the assignment column) is read by
:mod:`grader.batch.canvas_layout`; the students are matched to rows by :mod:`grader.batch.canvas_matching`.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from grader.batch.canvas_layout import (
    HOW_TO_EXPORT,
    POINTS_POSSIBLE_CELL,
    READ_ONLY,
    CanvasError,
    Layout,
    Row,
    assignment_column,
    read_layout,
)
from grader.batch.canvas_matching import Finder, who
from grader.batch.exports import complete_result, spreadsheet_text
from grader.batch.model import StudentOutcome
from grader.results import written_atomically
from grader.text import plain

__all__ = ["CanvasError", "FillReport", "Filled", "fill_gradebook", "fill_gradebook_file"]

Records = Iterator[tuple[int, list[str]]]
"""The export's records that hold anything, each with its record number in the file (the first is 1)."""


@dataclass(frozen=True)
class FillReport:
    """What went into a filled gradebook.

    `column` is the assignment column's header as written; `created` says the export did not have it.
    `written` counts the scores written. `left_empty` holds the student ids of the batch's students
    without a complete grade (ungradable, not graded yet, or with a check the grader could not look
    at): their cell was not written (it stays empty, or keeps what the gradebook already held; never
    a zero, never a score lowered by the grader's own blindness). `untouched` counts the gradebook's
    student rows no student of the batch matched: they keep their value.
    """

    column: str
    created: bool
    written: int
    left_empty: list[str]
    untouched: int


@dataclass(frozen=True)
class Filled(FillReport):
    """A gradebook filled in memory: the report, and the CSV `text` (`\\n` line ends, no byte-order mark)."""

    text: str


class _Writer(Protocol):
    """Where the filled rows go: a csv writer."""

    def writerow(self, row: Sequence[str]) -> object: ...


@dataclass(frozen=True)
class _Plan:
    """What the first reading found: the layout, the column, the points to write, and whose each row is."""

    layout: Layout
    index: int | None
    column: str
    maximum: float | None
    claims: dict[int, StudentOutcome]
    has_points: bool
    students: int
    left_empty: list[str]

    def report(self, written: int) -> FillReport:
        """The report of a fill that wrote `written` scores."""
        return FillReport(
            column=self.column,
            created=self.index is None,
            written=written,
            left_empty=self.left_empty,
            untouched=self.students - len(self.claims),
        )


def fill_gradebook(
    export_text: str, assignment: str, outcomes: Sequence[StudentOutcome], *, new_column: bool = False
) -> Filled:
    """Fill the Canvas gradebook export `export_text` with the batch's scores in the column `assignment`.

    The column is the export's own when it has one of that header (or, for a name without an id such
    as "Lab 3", the one column "Lab 3 (12345)"; for "Lab 3 (12345)", the column with id 12345). A name
    the export has no column for is refused, listing the export's assignment columns, unless
    `new_column` allows making it. Graded students get their score, the points row the batch's maximum
    score; ungradable students and rows of no student of the batch keep what the gradebook held.

    Each student of the batch is looked for by the first of these that finds any row: the roster's
    `sis_login_id` against "SIS Login ID" (case-insensitive); its `student_id`, when it is a number,
    against Canvas's "ID"; its `email` against "SIS Login ID" or an email column (case-insensitive).
    Never by name. A row found by Canvas ID must not contradict the roster (another SIS login id or
    email). A student with no row, with several, or sharing a row with another student is a problem;
    all problems are raised together in one :class:`CanvasError` and nothing is written.
    """
    text = export_text.removeprefix("\ufeff")
    plan = _plan(_records(io.StringIO(text, newline="")), assignment, outcomes, new_column)
    out = io.StringIO()
    written = _write(_records(io.StringIO(text, newline="")), plan, csv.writer(out, lineterminator="\n"))
    report = plan.report(written)
    return Filled(**vars(report), text=out.getvalue())


def fill_gradebook_file(
    gradebook: Path, out: Path, assignment: str, outcomes: Sequence[StudentOutcome], *, new_column: bool = False
) -> FillReport:
    """Fill the export in the file `gradebook` as :func:`fill_gradebook` does, into the file `out`.

    The export is read a row at a time; the filled file is written to a temporary file beside `out`
    and renamed onto it once whole, so `out` is never half-written. A gradebook that cannot be read,
    or that changes while it is filled, is a :class:`CanvasError`; writing `out` raises `OSError`.
    Nothing is written when either is raised.
    """
    with _open(gradebook) as file:
        before = _stamp(file)
        plan = _plan(_records(file, gradebook), assignment, outcomes, new_column)
        with written_atomically(out) as staged:
            file.seek(0)
            written = _write(_records(file, gradebook), plan, csv.writer(staged, lineterminator="\n"))
            if _stamp(file) != before:
                raise CanvasError(
                    f"The gradebook {gradebook} changed while it was being filled, and nothing was written: "
                    "fill it again once it is saved."
                )
    return plan.report(written)


@contextmanager
def _open(gradebook: Path) -> Iterator[TextIO]:
    """The gradebook file opened as text (a byte-order mark skipped); one that cannot be opened is a CanvasError.

    It must be a file that can be read twice (not a pipe).
    """
    try:
        file = gradebook.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise _unreadable(gradebook, exc) from None
    with file:
        if not file.seekable():
            raise CanvasError(
                f"The gradebook {gradebook} is not a file the grader can read twice (a pipe?): "
                "save the export as a file and give that."
            )
        yield file


def _unreadable(gradebook: Path | None, exc: Exception) -> CanvasError:
    """The error for a gradebook that could not be read (opened, or decoded as UTF-8)."""
    where = f"The gradebook {gradebook}" if gradebook is not None else "The gradebook"
    return CanvasError(f"{where} could not be read ({type(exc).__name__}): export it from Canvas again.")


def _stamp(file: TextIO) -> tuple[int, int]:
    """The open file's size and modification time, to see it did not change between readings."""
    status = os.fstat(file.fileno())
    return status.st_size, status.st_mtime_ns


def _records(stream: TextIO, gradebook: Path | None = None) -> Records:
    """The export's records that hold anything, numbered as in the file; one not CSV is a CanvasError."""
    reader = csv.reader(stream)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CanvasError(
                f"The gradebook file is not a CSV file as Canvas writes it ({exc}). {HOW_TO_EXPORT}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _unreadable(gradebook, exc) from None
        number += 1
        if any(cell.strip() for cell in cells):
            yield number, cells


def _plan(records: Records, assignment: str, outcomes: Sequence[StudentOutcome], new_column: bool) -> _Plan:
    """Read the export once: find the column, check its points, and match the students to rows (or raise)."""
    layout = read_layout(next(records, None))
    index, column = assignment_column(layout, assignment, new_column)
    problems: list[str] = []
    maximum = _maximum(outcomes, problems)
    finder = Finder(layout, outcomes)
    has_points = False
    students = 0
    for number, cells in records:
        row = layout.row(number, cells)
        if row.kind == "points":
            has_points = True
            if index is not None:
                _check_points(layout, row, index, column, maximum, problems)
        elif row.kind == "student":
            students += 1
            finder.see(row)
    claims = finder.claims(problems)
    if problems:
        raise CanvasError(
            f"The gradebook was not filled, and nothing was written: {_count(len(problems), 'problem')} to fix.",
            problems,
        )
    left_empty = [o.row.student_id for o in outcomes if complete_result(o) is None]
    return _Plan(layout, index, column, maximum, claims, has_points, students, left_empty)


def _write(records: Records, plan: _Plan, writer: _Writer) -> int:
    """Read the export again and write the filled rows; return how many scores were written."""
    layout, index = plan.layout, plan.index
    columns = sorted(layout.identity.values())
    next(records, None)  # the header, written as the plan knows it
    writer.writerow([*(spreadsheet_text(layout.header[i]) for i in columns), spreadsheet_text(plan.column)])
    add_points = plan.maximum is not None and not plan.has_points
    written = 0
    for number, cells in records:
        row = layout.row(number, cells)
        if add_points and row.kind == "student":
            writer.writerow(_points_cells(layout, columns, plan.maximum))
            add_points = False
        value = spreadsheet_text(row.cells[index]) if index is not None else ""
        if row.kind == "points" and plan.maximum is not None:
            value = _number(plan.maximum)
        outcome = plan.claims.get(row.number) if row.kind == "student" else None
        complete = complete_result(outcome) if outcome is not None else None
        if complete is not None:
            value = _number(complete.score)
            written += 1
        writer.writerow([*(spreadsheet_text(row.cells[i]) for i in columns), value])
    if add_points:
        writer.writerow(_points_cells(layout, columns, plan.maximum))
    return written


def _maximum(outcomes: Sequence[StudentOutcome], problems: list[str]) -> float | None:
    """The batch's one maximum score (None when no student was graded); several maxima are a problem."""
    maxima = sorted({round(o.result.max_score, 4) for o in outcomes if o.status == "graded" and o.result is not None})
    if len(maxima) > 1:
        problems.append(
            f"The batch's results are out of different totals ({', '.join(_number(m) for m in maxima)}): "
            "grade the whole class with the same lab spec."
        )
        return None
    for outcome in outcomes:
        if outcome.status == "graded" and outcome.result is None:
            problems.append(f"{who(outcome.row)} is marked graded but has no result: grade them again.")
        elif outcome.result is not None and outcome.status == "graded":
            score = outcome.result.score
            if not math.isfinite(score) or score < 0:
                problems.append(f"{who(outcome.row)} has no usable score ({score!r}): grade them again.")
    return maxima[0] if maxima else None


def _check_points(
    layout: Layout, row: Row, index: int, column: str, maximum: float | None, problems: list[str]
) -> None:
    """A total's column is refused; an assignment's points must be the batch's maximum, or scores would mislead."""
    current = row.cells[index].strip()
    if current.casefold() == READ_ONLY:
        raise CanvasError(
            f"The gradebook's column {plain(layout.header[index], newlines=False)!r} is read-only in Canvas "
            "(a total): name an assignment."
        )
    if maximum is None or not current:
        return
    try:
        points = float(current)
    except ValueError:
        return
    if round(points, 4) != maximum:
        problems.append(
            f"In the gradebook, {column!r} is worth {plain(current, newlines=False)} points, but the batch's scores "
            f"are out of {_number(maximum)}: set the assignment's points to {_number(maximum)} in Canvas, export "
            "the gradebook again, and fill that file."
        )


def _points_cells(layout: Layout, columns: list[int], maximum: float | None) -> list[str]:
    """A points row for an export that has none: the label, empty identity cells, and the maximum."""
    cells = ["" for _ in columns]
    cells[columns.index(layout.identity["Student"])] = POINTS_POSSIBLE_CELL
    return [*cells, _number(maximum) if maximum is not None else ""]


def _number(value: float) -> str:
    """A score as Canvas reads it, without needless decimals: 12, 7.5, 0.3333."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _count(n: int, noun: str) -> str:
    """ "1 problem", "2 problems"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"

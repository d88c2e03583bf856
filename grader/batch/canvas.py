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
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from grader.batch.model import RosterRow, StudentOutcome

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
"""The columns that say who a row is; the filled file keeps those the export has, in its order."""

REQUIRED_COLUMNS = ("Student", "ID")
EMAIL_HEADERS = frozenset({"email", "e-mail", "email address"})
"""Headers of an email column, which some exports carry: read to match, never written back."""

POINTS_POSSIBLE = "Points Possible"
POINTS_POSSIBLE_CELL = "    Points Possible"
"""The Student cell of the points row as Canvas writes it, leading spaces included."""

READ_ONLY = "(read only)"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula."""

HOW_TO_EXPORT = "In Canvas, open Grades, then Export > Export Entire Gradebook, and give the file it downloads."

RowKind = Literal["points", "other", "student"]


class CanvasError(Exception):
    """The gradebook could not be filled: `message` says so in a sentence, `problems` lists each cause.

    `str()` gives the message followed by the problems, one a line.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


@dataclass(frozen=True)
class Filled:
    """A filled gradebook: the CSV `text` to import into Canvas, and what went into it.

    `column` is the assignment column's header as written; `created` says the export did not have it.
    `written` counts the scores written. `left_empty` holds the student ids of the batch's ungradable
    students: their cell was not written (it stays empty, or keeps what the gradebook already held;
    never a zero). `untouched` counts the gradebook's student rows no student of the batch matched:
    they keep their value. The text has `\\n` line ends and no byte-order mark.
    """

    text: str
    column: str
    created: bool
    written: int
    left_empty: list[str]
    untouched: int


@dataclass
class _Row:
    """One record of the export after the header: its row number in the file, cells and kind."""

    number: int
    cells: list[str]
    kind: RowKind


@dataclass
class _Gradebook:
    """The export as read: its header, where each identity column is, and its rows."""

    header: list[str]
    identity: dict[str, int]
    email: int | None
    rows: list[_Row]

    def cell(self, row: _Row, column: str) -> str:
        """The row's cell in an identity column, stripped ("" when the export lacks the column)."""
        index = self.identity.get(column)
        return row.cells[index].strip() if index is not None else ""

    def describe(self, row: _Row) -> str:
        """A row as an instructor finds it in the file: its number and its Student cell."""
        name = self.cell(row, "Student")
        return f"row {row.number} ({name})" if name else f"row {row.number}"


def fill_gradebook(export_text: str, assignment: str, outcomes: Sequence[StudentOutcome]) -> Filled:
    """Fill the Canvas gradebook export `export_text` with the batch's scores in the column `assignment`.

    The column is the export's own when it has one of that header (or, for a name without an id such
    as "Lab 3", the one column "Lab 3 (12345)"; for "Lab 3 (12345)", the column with id 12345), and a
    new one otherwise. Graded students get their score, the points row the batch's maximum score;
    ungradable students and rows of no student of the batch keep what the gradebook held.

    Each student of the batch is looked for by the first of these that finds any row: the roster's
    `sis_login_id` against "SIS Login ID" (case-insensitive); its `student_id`, when it is a number,
    against Canvas's "ID"; its `email` against "SIS Login ID" or an email column (case-insensitive).
    Never by name. A row found by Canvas ID must not contradict the roster (another SIS login id or
    email). A student with no row, with several, or sharing a row with another student is a problem;
    all problems are raised together in one :class:`CanvasError` and nothing is written.
    """
    book = _read(export_text)
    index, column = _assignment_column(book, assignment)
    created = index is None
    problems: list[str] = []
    maximum = _maximum(outcomes, problems)
    points_rows = [row for row in book.rows if row.kind == "points"]
    if index is not None:
        for row in points_rows:
            _check_points(book, row, index, column, maximum, problems)
    claims = _match(book, outcomes, problems)
    if problems:
        raise CanvasError(
            f"The gradebook was not filled, and nothing was written: {_count(len(problems), 'problem')} to fix.",
            problems,
        )

    rows = list(book.rows)
    if maximum is not None and not points_rows:
        rows.insert(_first_student(rows), _Row(0, _points_cells(book), "points"))
    columns = sorted(book.identity.values())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(book.header[i] for i in columns), column])
    written = 0
    for row in rows:
        value = row.cells[index] if index is not None else ""
        if row.kind == "points" and maximum is not None:
            value = _safe(_number(maximum))
        outcome = claims.get(row.number) if row.kind == "student" else None
        if outcome is not None and outcome.status == "graded" and outcome.result is not None:
            value = _safe(_number(outcome.result.score))
            written += 1
        writer.writerow([*(row.cells[i] for i in columns), value])
    return Filled(
        text=out.getvalue(),
        column=column,
        created=created,
        written=written,
        left_empty=[o.row.student_id for o in outcomes if o.status != "graded"],
        untouched=sum(1 for row in book.rows if row.kind == "student" and row.number not in claims),
    )


def _read(text: str) -> _Gradebook:
    """Parse the export (byte-order mark, CRLF and quoted cells allowed) and find its identity columns."""
    text = text.removeprefix("\ufeff")
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise CanvasError(f"The gradebook file is not a CSV file as Canvas writes it ({exc}). {HOW_TO_EXPORT}") from exc
    numbered = [(number, cells) for number, cells in enumerate(records, 1) if any(c.strip() for c in cells)]
    if not numbered:
        raise CanvasError(f"The gradebook file is empty. {HOW_TO_EXPORT}")
    _, header = numbered[0]
    header = [cell.strip() for cell in header]
    first: dict[str, int] = {}
    for i, name in enumerate(header):
        first.setdefault(name.casefold(), i)
    identity = {name: first[name.casefold()] for name in IDENTITY_COLUMNS if name.casefold() in first}
    missing = [name for name in REQUIRED_COLUMNS if name not in identity]
    if missing:
        hint = " It looks separated by semicolons: Canvas's own export uses commas." if ";" in ",".join(header) else ""
        raise CanvasError(
            f"The gradebook file has no {' and no '.join(repr(m) for m in missing)} column, so it is not a Canvas "
            f"gradebook export (its first row should begin Student, ID, SIS User ID, SIS Login ID, Section).{hint} "
            f"{HOW_TO_EXPORT}"
        )
    email = next((i for i, name in enumerate(header) if name.casefold() in EMAIL_HEADERS), None)
    width = len(header)
    rows = []
    for number, cells in numbered[1:]:
        cells = cells[:width] + [""] * (width - len(cells))
        student, canvas_id = cells[identity["Student"]].strip(), cells[identity["ID"]].strip()
        kind: RowKind = "student"
        if student.casefold() == POINTS_POSSIBLE.casefold():
            kind = "points"
        elif not student and not canvas_id:
            kind = "other"
        rows.append(_Row(number, cells, kind))
    return _Gradebook(header, identity, email, rows)


def _assignment_column(book: _Gradebook, assignment: str) -> tuple[int | None, str]:
    """The export's column for `assignment` (its index and header), or (None, the new column's header)."""
    name = " ".join(assignment.split())
    if not name:
        raise CanvasError('Name the assignment column to fill, as Canvas shows it: for example "Lab 3 (12345)".')
    taken = {c.casefold() for c in IDENTITY_COLUMNS} | EMAIL_HEADERS | {POINTS_POSSIBLE.casefold()}
    if name.casefold() in taken:
        raise CanvasError(f"{name!r} names a column that says who a student is, not an assignment.")
    found = [i for i, header in enumerate(book.header) if header == name]
    if not found:
        wanted_title, wanted_id = _split_id(name)
        for i, header in enumerate(book.header):
            title, canvas_id = _split_id(header)
            if canvas_id is None:
                continue
            if (wanted_id is not None and canvas_id == wanted_id) or (
                wanted_id is None and title.casefold() == wanted_title.casefold()
            ):
                found.append(i)
    if len(found) > 1:
        listed = ", ".join(repr(book.header[i]) for i in found)
        raise CanvasError(f"The gradebook has several columns for {name!r} ({listed}): name one with its id.")
    if not found:
        if name.startswith(FORMULA_START):
            raise CanvasError(f"The assignment name {name!r} begins like a spreadsheet formula: choose another name.")
        return None, name
    index = found[0]
    if any(row.kind == "points" and row.cells[index].strip().casefold() == READ_ONLY for row in book.rows):
        raise CanvasError(
            f"The gradebook's column {book.header[index]!r} is read-only in Canvas (a total): name an assignment."
        )
    return index, book.header[index]


def _split_id(header: str) -> tuple[str, str | None]:
    """Split "Lab 3 (12345)" into ("Lab 3", "12345"); a header without an id gives (header, None)."""
    found = re.fullmatch(r"(.*?)\s*\((\d+)\)", header.strip())
    return (found.group(1), found.group(2)) if found else (header.strip(), None)


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
            problems.append(f"{_who(outcome.row)} is marked graded but has no result: grade them again.")
        elif outcome.result is not None and outcome.status == "graded":
            score = outcome.result.score
            if not math.isfinite(score) or score < 0:
                problems.append(f"{_who(outcome.row)} has no usable score ({score!r}): grade them again.")
    return maxima[0] if maxima else None


def _check_points(
    book: _Gradebook, row: _Row, index: int, column: str, maximum: float | None, problems: list[str]
) -> None:
    """An existing column's points must be the batch's maximum, or scores would mean another fraction."""
    current = row.cells[index].strip()
    if maximum is None or not current:
        return
    try:
        points = float(current)
    except ValueError:
        return
    if round(points, 4) != maximum:
        problems.append(
            f"In the gradebook, {column!r} is worth {current} points, but the batch's scores are out of "
            f"{_number(maximum)}: set the assignment's points to {_number(maximum)} in Canvas, export the "
            "gradebook again, and fill that file."
        )


def _match(book: _Gradebook, outcomes: Sequence[StudentOutcome], problems: list[str]) -> dict[int, StudentOutcome]:
    """Find each student's one gradebook row; return the matches by row number, adding problems found."""
    students = [row for row in book.rows if row.kind == "student"]
    claims: dict[int, list[StudentOutcome]] = {}
    for outcome in outcomes:
        roster = outcome.row
        tried: list[str] = []
        hits: list[_Row] = []
        for way, wanted, cells in _keys(book, roster):
            tried.append(f"{way} {wanted!r}")
            hits = [row for row in students if any(_same(way, wanted, cell) for cell in cells(row))]
            if hits:
                break
        if not tried:
            problems.append(
                f"{_who(roster)}: the roster gives no SIS login id, no Canvas ID (student_id {roster.student_id!r} "
                "is not a number) and no email to find them by in the gradebook, which is never matched by name."
            )
        elif not hits:
            problems.append(
                f"{_who(roster)}: no gradebook row has {_either(tried)} (rows are never matched by name): "
                "correct the roster, or export the gradebook again if the student enrolled since."
            )
        elif len(hits) > 1:
            rows = _either([book.describe(row) for row in hits], "and")
            problems.append(f"{_who(roster)}: {len(hits)} gradebook rows have {tried[-1]}: {rows}.")
        elif (conflict := _contradiction(book, roster, hits[0], tried[-1])) is not None:
            problems.append(f"{_who(roster)}: {conflict}")
        else:
            claims.setdefault(hits[0].number, []).append(outcome)
    for number, claimed in claims.items():
        if len(claimed) > 1:
            row = next(row for row in students if row.number == number)
            problems.append(
                f"{_either([_who(o.row) for o in claimed], 'and')} match the same gradebook {book.describe(row)}: "
                "each student needs a row of their own; correct the roster."
            )
    return {number: claimed[0] for number, claimed in claims.items() if len(claimed) == 1}


def _keys(book: _Gradebook, roster: RosterRow) -> list[tuple[str, str, Callable[[_Row], list[str]]]]:
    """The ways to find a roster row in the gradebook, in order: what, the roster's value, the cells to look in."""
    keys: list[tuple[str, str, Callable[[_Row], list[str]]]] = []
    sis, canvas_id, email = roster.sis_login_id.strip(), roster.student_id.strip(), roster.email.strip()
    if sis and "SIS Login ID" in book.identity:
        keys.append(("SIS Login ID", sis, lambda row: [book.cell(row, "SIS Login ID")]))
    if canvas_id.isascii() and canvas_id.isdigit():
        keys.append(("ID", canvas_id, lambda row: [book.cell(row, "ID")]))
    if email:
        keys.append(("email", email, lambda row: [book.cell(row, "SIS Login ID"), _email(book, row)]))
    return keys


def _same(way: str, wanted: str, cell: str) -> bool:
    """Whether a gradebook cell holds the roster's value: Canvas IDs exactly, logins and emails in any case."""
    if not cell:
        return False
    return cell == wanted if way == "ID" else cell.casefold() == wanted.casefold()


def _contradiction(book: _Gradebook, roster: RosterRow, row: _Row, found_by: str) -> str | None:
    """Why a row found by Canvas ID ("ID '123'") is someone else's (its SIS login or email differs), or None."""
    if not found_by.startswith("ID "):
        return None
    sis, email = roster.sis_login_id.strip().casefold(), roster.email.strip().casefold()
    login, row_email = book.cell(row, "SIS Login ID"), _email(book, row)
    if sis and login and login.casefold() not in {sis, email}:
        return (
            f"gradebook {book.describe(row)} has ID {roster.student_id!r}, but its SIS Login ID is {login!r}, "
            f"not {roster.sis_login_id.strip()!r}: correct the roster."
        )
    if email and row_email and row_email.casefold() != email:
        return (
            f"gradebook {book.describe(row)} has ID {roster.student_id!r}, but its email is {row_email!r}, "
            f"not {roster.email.strip()!r}: correct the roster."
        )
    return None


def _email(book: _Gradebook, row: _Row) -> str:
    """The row's email cell, stripped ("" when the export has no email column)."""
    return row.cells[book.email].strip() if book.email is not None else ""


def _points_cells(book: _Gradebook) -> list[str]:
    """The cells of a points row to add to an export that has none (its other cells empty)."""
    cells = [""] * len(book.header)
    cells[book.identity["Student"]] = POINTS_POSSIBLE_CELL
    return cells


def _first_student(rows: list[_Row]) -> int:
    """Where the first student row is (after the header's other rows), or the end."""
    return next((i for i, row in enumerate(rows) if row.kind == "student"), len(rows))


def _number(value: float) -> str:
    """A score as Canvas reads it, without needless decimals: 12, 7.5, 0.3333."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _safe(cell: str) -> str:
    """A cell we write, kept from being read as a formula by a spreadsheet (a leading quote)."""
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


def _who(roster: RosterRow) -> str:
    """A student of the batch as the instructor knows them: id, name, and roster line."""
    name = f", {roster.name}" if roster.name else ""
    return f"Student {roster.student_id} (roster line {roster.line}{name})"


def _either(items: list[str], word: str = "or") -> str:
    """Join ["a", "b", "c"] as "a, b or c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _count(n: int, noun: str) -> str:
    """ "1 problem", "2 problems"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"

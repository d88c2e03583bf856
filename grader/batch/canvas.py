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
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TextIO

from grader.batch.exports import FORMULA_TRIGGERS, complete_result, spreadsheet_text
from grader.batch.model import RosterRow, StudentOutcome
from grader.results import written_atomically
from grader.text import plain

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
"""The columns that say who a row is; the filled file keeps those the export has, in its order."""

REQUIRED_COLUMNS = ("Student", "ID")
EMAIL_HEADERS = frozenset({"email", "e-mail", "email address"})
"""Headers of an email column, which some exports carry: read to match, never written back."""

POINTS_POSSIBLE = "Points Possible"
POINTS_POSSIBLE_CELL = "    Points Possible"
"""The Student cell of the points row as Canvas writes it, leading spaces included."""

READ_ONLY = "(read only)"
LISTED_COLUMNS = 10
"""How many of the export's assignment columns a refusal names before counting the rest."""
LISTED_ROWS = 5
"""How many of the rows that share one student's key are kept to name in a problem."""

HOW_TO_EXPORT = "In Canvas, open Grades, then Export > Export Entire Gradebook, and give the file it downloads."

RowKind = Literal["points", "other", "student"]
Records = Iterator[tuple[int, list[str]]]
"""The export's records that hold anything, each with its record number in the file (the first is 1)."""


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


@dataclass
class _Row:
    """One record of the export after the header: its record number in the file, cells and kind."""

    number: int
    cells: list[str]
    kind: RowKind


@dataclass(frozen=True)
class _Layout:
    """The export's header: its cells (stripped), where each identity column and the email column are."""

    header: list[str]
    identity: dict[str, int]
    email: int | None

    def row(self, number: int, cells: list[str]) -> _Row:
        """A record as a row of the header's width, with its kind."""
        width = len(self.header)
        cells = cells[:width] + [""] * (width - len(cells))
        student, canvas_id = cells[self.identity["Student"]].strip(), cells[self.identity["ID"]].strip()
        kind: RowKind = "student"
        if student.casefold() == POINTS_POSSIBLE.casefold():
            kind = "points"
        elif not student and not canvas_id:
            kind = "other"
        return _Row(number, cells, kind)

    def cell(self, row: _Row, column: str) -> str:
        """The row's cell in an identity column, stripped ("" when the export lacks the column)."""
        index = self.identity.get(column)
        return row.cells[index].strip() if index is not None else ""

    def email_of(self, row: _Row) -> str:
        """The row's email cell, stripped ("" when the export has no email column)."""
        return row.cells[self.email].strip() if self.email is not None else ""


@dataclass(frozen=True)
class _Seen:
    """What a problem may say of a student row: its record number, Student cell, SIS login and email."""

    number: int
    name: str
    login: str
    email: str

    def describe(self) -> str:
        """The row as an instructor finds it in the file: its number and its Student cell."""
        name = plain(self.name, newlines=False)
        return f"row {self.number} ({name})" if name else f"row {self.number}"


@dataclass
class _Hits:
    """The rows one way of finding one student found: how many, and the first few."""

    count: int = 0
    first: list[_Seen] = field(default_factory=list)

    def add(self, seen: _Seen) -> None:
        self.count += 1
        if len(self.first) < LISTED_ROWS:
            self.first.append(seen)


@dataclass(frozen=True)
class _Key:
    """One way to find a student: what ("SIS Login ID", "ID" or "email") and the roster's value."""

    way: str
    wanted: str

    @property
    def lookup(self) -> str:
        """The value as compared: Canvas IDs exactly, logins and emails in any case."""
        return self.wanted if self.way == "ID" else self.wanted.casefold()


@dataclass(frozen=True)
class _Plan:
    """What the first reading found: the layout, the column, the points to write, and whose each row is."""

    layout: _Layout
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
    layout = _layout(next(records, None))
    index, column = _assignment_column(layout, assignment, new_column)
    problems: list[str] = []
    maximum = _maximum(outcomes, problems)
    finder = _Finder(layout, outcomes)
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


def _layout(header_record: tuple[int, list[str]] | None) -> _Layout:
    """The export's header: where its identity columns are; refused when it is no Canvas gradebook export."""
    if header_record is None:
        raise CanvasError(f"The gradebook file is empty. {HOW_TO_EXPORT}")
    header = [cell.strip() for cell in header_record[1]]
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
    return _Layout(header, identity, email)


def _assignment_column(layout: _Layout, assignment: str, new_column: bool) -> tuple[int | None, str]:
    """The export's column for `assignment` (its index and header), or (None, the new column's header)."""
    name = " ".join(plain(assignment, newlines=False).split())
    if not name:
        raise CanvasError('Name the assignment column to fill, as Canvas shows it: for example "Lab 3 (12345)".')
    taken = {c.casefold() for c in IDENTITY_COLUMNS} | EMAIL_HEADERS | {POINTS_POSSIBLE.casefold()}
    if name.casefold() in taken:
        raise CanvasError(f"{name!r} names a column that says who a student is, not an assignment.")
    found = _columns_named(layout.header, name)
    if len(found) > 1:
        listed = ", ".join(repr(plain(layout.header[i], newlines=False)) for i in found)
        raise CanvasError(f"The gradebook has several columns for {name!r} ({listed}): name one with its id.")
    if found:
        return found[0], spreadsheet_text(layout.header[found[0]])
    if not new_column:
        raise CanvasError(
            f"The gradebook has no column {name!r}. {_assignments_listed(layout)} Name one as the gradebook "
            "heads it, or pass --new-column to add a new assignment of that name."
        )
    if name.lstrip().startswith(FORMULA_TRIGGERS):
        raise CanvasError(f"The assignment name {name!r} begins like a spreadsheet formula: choose another name.")
    return None, name


def _columns_named(header: list[str], name: str) -> list[int]:
    """The columns `name` names: by exact header, else by Canvas id ("... (12345)") or by title ("Lab 3")."""
    found = [i for i, cell in enumerate(header) if cell == name]
    if found:
        return found
    wanted_title, wanted_id = _split_id(name)
    for i, cell in enumerate(header):
        title, canvas_id = _split_id(cell)
        if canvas_id is None:
            continue
        if (wanted_id is not None and canvas_id == wanted_id) or (
            wanted_id is None and title.casefold() == wanted_title.casefold()
        ):
            found.append(i)
    return found


def _assignments_listed(layout: _Layout) -> str:
    """A sentence naming the export's assignment columns (those with a Canvas id), the first few of many."""
    identity = set(layout.identity.values()) | {layout.email}
    names = [cell for i, cell in enumerate(layout.header) if i not in identity and _split_id(cell)[1] is not None]
    if not names:
        return 'It has no assignment columns (headed like "Lab 3 (12345)").'
    listed = ", ".join(repr(plain(cell, newlines=False)) for cell in names[:LISTED_COLUMNS])
    more = f" and {len(names) - LISTED_COLUMNS} more" if len(names) > LISTED_COLUMNS else ""
    return f"Its assignment columns are {listed}{more}."


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
    layout: _Layout, row: _Row, index: int, column: str, maximum: float | None, problems: list[str]
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


class _Finder:
    """Matches the batch's students to the export's student rows as they are read, keeping only the hits."""

    def __init__(self, layout: _Layout, outcomes: Sequence[StudentOutcome]) -> None:
        self.layout = layout
        self.outcomes = list(outcomes)
        self.keys = [_keys(layout, outcome.row) for outcome in self.outcomes]
        self.wanted: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for student, keys in enumerate(self.keys):
            for position, key in enumerate(keys):
                self.wanted.setdefault((key.way, key.lookup), []).append((student, position))
        self.hits: dict[tuple[int, int], _Hits] = {}

    def see(self, row: _Row) -> None:
        """Note the row against every student whose key it holds (once a student and key, however many cells)."""
        layout = self.layout
        login, canvas_id, email = layout.cell(row, "SIS Login ID"), layout.cell(row, "ID"), layout.email_of(row)
        cells = [("SIS Login ID", login.casefold()), ("ID", canvas_id), ("email", login.casefold())]
        cells.append(("email", email.casefold()))
        targets = {target for key in cells if key[1] for target in self.wanted.get(key, ())}
        if not targets:
            return
        seen = _Seen(row.number, layout.cell(row, "Student"), login, email)
        for target in targets:
            self.hits.setdefault(target, _Hits()).add(seen)

    def claims(self, problems: list[str]) -> dict[int, StudentOutcome]:
        """Each student's one row, by row number; adds a problem for each student without exactly one."""
        claims: dict[int, list[tuple[StudentOutcome, _Seen]]] = {}
        for student, outcome in enumerate(self.outcomes):
            found = self._row_of(student, outcome.row, problems)
            if found is not None:
                claims.setdefault(found.number, []).append((outcome, found))
        problems.extend(
            f"{_either([_who(o.row) for o, _ in claimed], 'and')} match the same gradebook "
            f"{claimed[0][1].describe()}: each student needs a row of their own; correct the roster."
            for claimed in claims.values()
            if len(claimed) > 1
        )
        return {number: claimed[0][0] for number, claimed in claims.items() if len(claimed) == 1}

    def _row_of(self, student: int, roster: RosterRow, problems: list[str]) -> _Seen | None:
        """The student's one row by the first key that finds any, or None with a problem added."""
        keys = self.keys[student]
        if not keys:
            problems.append(
                f"{_who(roster)}: the roster gives no SIS login id, no Canvas ID (student_id {roster.student_id!r} "
                "is not a number) and no email to find them by in the gradebook, which is never matched by name."
            )
            return None
        tried: list[str] = []
        hits = _Hits()
        for position, key in enumerate(keys):
            tried.append(f"{key.way} {key.wanted!r}")
            hits = self.hits.get((student, position), _Hits())
            if hits.count:
                break
        if not hits.count:
            problems.append(
                f"{_who(roster)}: no gradebook row has {_either(tried)} (rows are never matched by name): "
                "correct the roster, or export the gradebook again if the student enrolled since."
            )
            return None
        if hits.count > 1:
            rows = [seen.describe() for seen in hits.first]
            if hits.count > len(hits.first):
                rows.append(f"{hits.count - len(hits.first)} more")
            problems.append(f"{_who(roster)}: {hits.count} gradebook rows have {tried[-1]}: {_either(rows, 'and')}.")
            return None
        conflict = _contradiction(roster, hits.first[0], tried[-1])
        if conflict is not None:
            problems.append(f"{_who(roster)}: {conflict}")
            return None
        return hits.first[0]


def _keys(layout: _Layout, roster: RosterRow) -> list[_Key]:
    """The ways to find a roster row in the gradebook, in the order they are tried."""
    keys: list[_Key] = []
    sis, canvas_id, email = roster.sis_login_id.strip(), roster.student_id.strip(), roster.email.strip()
    if sis and "SIS Login ID" in layout.identity:
        keys.append(_Key("SIS Login ID", sis))
    if canvas_id.isascii() and canvas_id.isdigit():
        keys.append(_Key("ID", canvas_id))
    if email:
        keys.append(_Key("email", email))
    return keys


def _contradiction(roster: RosterRow, row: _Seen, found_by: str) -> str | None:
    """Why a row found by Canvas ID ("ID '123'") is someone else's (its SIS login or email differs), or None."""
    if not found_by.startswith("ID "):
        return None
    sis, email = roster.sis_login_id.strip().casefold(), roster.email.strip().casefold()
    if sis and row.login and row.login.casefold() not in {sis, email}:
        return (
            f"gradebook {row.describe()} has ID {roster.student_id!r}, but its SIS Login ID is "
            f"{plain(row.login, newlines=False)!r}, not {roster.sis_login_id.strip()!r}: correct the roster."
        )
    if email and row.email and row.email.casefold() != email:
        return (
            f"gradebook {row.describe()} has ID {roster.student_id!r}, but its email is "
            f"{plain(row.email, newlines=False)!r}, not {roster.email.strip()!r}: correct the roster."
        )
    return None


def _points_cells(layout: _Layout, columns: list[int], maximum: float | None) -> list[str]:
    """A points row for an export that has none: the label, empty identity cells, and the maximum."""
    cells = ["" for _ in columns]
    cells[columns.index(layout.identity["Student"])] = POINTS_POSSIBLE_CELL
    return [*cells, _number(maximum) if maximum is not None else ""]


def _number(value: float) -> str:
    """A score as Canvas reads it, without needless decimals: 12, 7.5, 0.3333."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


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

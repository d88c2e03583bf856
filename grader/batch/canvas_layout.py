"""The layout of a Canvas gradebook export: its header's columns, each row's kind, the assignment column.

The header row says where the identity columns are (`Student, ID, SIS User ID, SIS Login ID`,
sometimes `Integration ID`, then `Section`) and, in some exports, an email column; the assignment
columns are named like "Lab 3 (12345)". A file without a Student and an ID column is no Canvas
export and is refused (:class:`CanvasError`), as is an assignment name the export has no column
for, unless a new column is asked for. See :mod:`grader.batch.canvas` for the filling itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grader.batch.exports import FORMULA_TRIGGERS, spreadsheet_text
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


@dataclass
class Row:
    """One record of the export after the header: its record number in the file, cells and kind."""

    number: int
    cells: list[str]
    kind: RowKind


@dataclass(frozen=True)
class Layout:
    """The export's header: its cells (stripped), where each identity column and the email column are."""

    header: list[str]
    identity: dict[str, int]
    email: int | None

    def row(self, number: int, cells: list[str]) -> Row:
        """A record as a row of the header's width, with its kind."""
        width = len(self.header)
        cells = cells[:width] + [""] * (width - len(cells))
        student, canvas_id = cells[self.identity["Student"]].strip(), cells[self.identity["ID"]].strip()
        kind: RowKind = "student"
        if student.casefold() == POINTS_POSSIBLE.casefold():
            kind = "points"
        elif not student and not canvas_id:
            kind = "other"
        return Row(number, cells, kind)

    def cell(self, row: Row, column: str) -> str:
        """The row's cell in an identity column, stripped ("" when the export lacks the column)."""
        index = self.identity.get(column)
        return row.cells[index].strip() if index is not None else ""

    def email_of(self, row: Row) -> str:
        """The row's email cell, stripped ("" when the export has no email column)."""
        return row.cells[self.email].strip() if self.email is not None else ""


def read_layout(header_record: tuple[int, list[str]] | None) -> Layout:
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
    return Layout(header, identity, email)


def assignment_column(layout: Layout, assignment: str, new_column: bool) -> tuple[int | None, str]:
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


def _assignments_listed(layout: Layout) -> str:
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

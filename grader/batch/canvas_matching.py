"""Which row of a Canvas gradebook export is whose: each student of a batch matched to one row, or a problem.

A student is looked for by the first of these that finds any row: the roster's SIS login id against
"SIS Login ID", its student id (a number) against Canvas's "ID", its email against "SIS Login ID" or
an email column; never by name. A row found by Canvas ID must not contradict the roster. The rows
are seen one at a time as the export is read (:class:`Finder`), keeping only the hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.batch.canvas_layout import Layout, Row
from grader.batch.model import RosterRow, StudentOutcome
from grader.text import plain

LISTED_ROWS = 5
"""How many of the rows that share one student's key are kept to name in a problem."""


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


class Finder:
    """Matches the batch's students to the export's student rows as they are read, keeping only the hits."""

    def __init__(self, layout: Layout, outcomes: Sequence[StudentOutcome]) -> None:
        self.layout = layout
        self.outcomes = list(outcomes)
        self.keys = [_keys(layout, outcome.row) for outcome in self.outcomes]
        self.wanted: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for student, keys in enumerate(self.keys):
            for position, key in enumerate(keys):
                self.wanted.setdefault((key.way, key.lookup), []).append((student, position))
        self.hits: dict[tuple[int, int], _Hits] = {}

    def see(self, row: Row) -> None:
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
            f"{_either([who(o.row) for o, _ in claimed], 'and')} match the same gradebook "
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
                f"{who(roster)}: the roster gives no SIS login id, no Canvas ID (student_id {roster.student_id!r} "
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
                f"{who(roster)}: no gradebook row has {_either(tried)} (rows are never matched by name): "
                "correct the roster, or export the gradebook again if the student enrolled since."
            )
            return None
        if hits.count > 1:
            rows = [seen.describe() for seen in hits.first]
            if hits.count > len(hits.first):
                rows.append(f"{hits.count - len(hits.first)} more")
            problems.append(f"{who(roster)}: {hits.count} gradebook rows have {tried[-1]}: {_either(rows, 'and')}.")
            return None
        conflict = _contradiction(roster, hits.first[0], tried[-1])
        if conflict is not None:
            problems.append(f"{who(roster)}: {conflict}")
            return None
        return hits.first[0]


def _keys(layout: Layout, roster: RosterRow) -> list[_Key]:
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


def who(roster: RosterRow) -> str:
    """A student of the batch as the instructor knows them: id, name, and roster line."""
    name = f", {roster.name}" if roster.name else ""
    return f"Student {roster.student_id} (roster line {roster.line}{name})"


def _either(items: list[str], word: str = "or") -> str:
    """Join ["a", "b", "c"] as "a, b or c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"

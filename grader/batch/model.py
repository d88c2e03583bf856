"""A roster row, and what became of one student in a batch: graded (with a result) or ungradable (with why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.results import GradeResult

OutcomeStatus = Literal["graded", "ungradable", "not-graded"]


CLASS_FILES = ("class.csv", "class.html", "junit.xml", "batch.json", "gradescope")
"""What a batch writes into its folder beside the students' own folders: no student id may be one of them."""


@dataclass(frozen=True)
class RosterRow:
    """One student of the roster: who they are, and exactly one way into their AWS account.

    `line` is the row's line number in the roster file (the header is line 1). The way in is one of
    `credentials_file` (resolved against the roster's folder), `profile`, or `role_arn` (with
    `external_id`, optional). `site_url` and `region` are optional per row.
    """

    line: int
    student_id: str
    name: str = ""
    email: str = ""
    sis_login_id: str = ""
    section: str = ""
    credentials_file: Path | None = None
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    site_url: str | None = None
    region: str | None = None

    @property
    def way_in(self) -> str:
        """How the grader reaches the account, in words that hold no secret (a path, a profile, a role)."""
        if self.credentials_file is not None:
            return f"credentials file {self.credentials_file}"
        if self.profile is not None:
            return f"profile {self.profile}"
        return f"role {self.role_arn}"


@dataclass(frozen=True)
class StudentOutcome:
    """What became of one roster row: `graded` with its `result`, `ungradable` with `reason`, or `not-graded`.

    `reason` says why and what the student must do ("start the lab, copy fresh AWS Details, send
    them again"); an ungradable student is never a zero. `not-graded`: the batch was stopped before
    it reached the row (its reason says how to go on); --resume grades it. `results_sha256` is the SHA-256 of the
    student's results.json as written (empty when none was).
    """

    row: RosterRow
    status: OutcomeStatus
    reason: str = ""
    result: GradeResult | None = None
    duration_seconds: float = 0.0
    results_sha256: str = ""


def outcome_counts(outcomes: Sequence[StudentOutcome]) -> str:
    """The counts in words: "3 graded, 1 ungradable", and ", 2 not graded yet" when a stopped batch left some."""
    graded = sum(outcome.status == "graded" for outcome in outcomes)
    ungradable = sum(outcome.status == "ungradable" for outcome in outcomes)
    not_yet = len(outcomes) - graded - ungradable
    return f"{graded} graded, {ungradable} ungradable" + (f", {not_yet} not graded yet" if not_yet else "")


def parse_shard(shard: str) -> tuple[int, int]:
    """K and N of a shard written `K/N` (1 <= K <= N); ValueError, in words for the user, for anything else."""
    k_text, _, n_text = shard.partition("/")
    if not (k_text.isdigit() and n_text.isdigit()) or not 1 <= int(k_text) <= int(n_text):
        raise ValueError(f"--shard {shard} is not K/N with 1 <= K <= N (for example 1/4).")
    return int(k_text), int(n_text)

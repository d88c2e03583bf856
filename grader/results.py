"""The result model: one schema for a graded account, and its JSON form.

Everything the grader shows (terminal summary, HTML report, exports) is rendered from a
`GradeResult`; `results.json` is its serialised form, versioned by `SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)
"""Version 2 added the `warn` status and each check's `advisory` flag, and later (additive) each check's `step`
and `explained_by` and the top-level `fix_first`; version 1 files read as before."""

Status = Literal["pass", "warn", "fail", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "error", "skip")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    `message` is a full sentence saying what was found (and, when not passing, what was
    expected); `hint` says what the student should do; `evidence` holds the values read,
    as JSON-compatible data (never a secret). An `advisory` check scores nothing (its
    `max_points` is 0) and ends `warn` where it would have failed.
    """

    id: str
    title: str
    section: str
    status: Status
    points: float
    max_points: float
    message: str
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    advisory: bool = False
    step: str = ""
    """The step of the lab this check is about (the spec's `step`)."""
    explained_by: tuple[str, ...] = ()
    """For a failed or skipped check: the checks it needs that did not pass (grader/causes.py); () for a root."""


@dataclass(frozen=True)
class SectionScore:
    name: str
    score: float
    max_score: float


@dataclass(frozen=True)
class GradeResult:
    """One student's graded account."""

    student: str
    account_id: str
    caller_arn: str
    region: str
    spec_id: str
    spec_title: str
    grader_version: str
    started: str
    finished: str
    duration_seconds: float
    checks: tuple[CheckResult, ...]
    target: str = "aws"
    schema_version: int = SCHEMA_VERSION
    roster: dict[str, str] = field(default_factory=dict)
    """The student's roster fields (student_id, name, email, section) in a class's batch; empty otherwise."""
    timings: dict[str, float] = field(default_factory=dict)
    """Where the observation's time went, in seconds (grader/observe/timings.py)."""

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)

    @property
    def sections(self) -> tuple[SectionScore, ...]:
        order: dict[str, list[CheckResult]] = {}
        for check in self.checks:
            order.setdefault(check.section, []).append(check)
        return tuple(
            SectionScore(name, sum(c.points for c in cs), sum(c.max_points for c in cs)) for name, cs in order.items()
        )

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def incomplete(self) -> bool:
        """Some scored check failed or was skipped (advisory checks do not count)."""
        return any(c.status in ("fail", "skip") and not c.advisory for c in self.checks)

    @property
    def fix_first(self) -> tuple[CheckResult, ...]:
        """The failed checks that no other failure explains: the root causes, in the spec's (the lab's) order."""
        return tuple(c for c in self.checks if c.status == "fail" and not c.explained_by)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [asdict(c) | {"explained_by": list(c.explained_by)} for c in self.checks]
        data["score"] = self.score
        data["max_score"] = self.max_score
        data["sections"] = [asdict(s) for s in self.sections]
        data["fix_first"] = [{"id": c.id, "step": c.step, "title": c.title} for c in self.fix_first]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        if data.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
            raise ValueError(
                f"results schema version {data.get('schema_version')!r} is not supported "
                f"(this grader reads versions {', '.join(map(str, READABLE_SCHEMA_VERSIONS))})"
            )
        fields = {k: v for k, v in data.items() if k not in {"score", "max_score", "sections", "fix_first"}}
        fields["checks"] = tuple(
            CheckResult(**c | {"explained_by": tuple(c.get("explained_by", ()))}) for c in data["checks"]
        )
        return cls(**fields)

    def to_json(self) -> str:
        """The text of results.json."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def write_json(self, path: Path) -> None:
        """Write results.json to `path` atomically: a reader sees the old file or the whole new one."""
        write_text_atomic(Path(path), self.to_json())

    @classmethod
    def read_json(cls, path: Path) -> GradeResult:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _new_temp_beside(path: Path) -> tuple[Path, TextIO]:
    """A new temporary file in `path`'s folder (so a rename onto `path` is atomic), open to write UTF-8.

    It is made with the usual permissions (0666 less the umask), as a plain write would, and writes
    the same bytes on Windows (no newline translation).
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    return temp, os.fdopen(fd, "w", encoding="utf-8", newline="\n")


def stage_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to a new temporary file beside `path` and return it; renaming it puts it in place.

    If writing fails, no temporary file is left.
    """
    temp, file = _new_temp_beside(path)
    try:
        with file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


@contextmanager
def written_atomically(path: Path) -> Iterator[TextIO]:
    """A temporary file beside `path` to write as a stream; renamed onto `path` once the block ends.

    If the block or the write fails, `path` is as it was and no temporary file is left.
    """
    temp, file = _new_temp_beside(path)
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: never a half-written file."""
    temp = stage_text(path, text)
    try:
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)

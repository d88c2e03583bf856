"""One grading run's context: target, spec, read-only AWS access and whose account it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.aws import Identity, ReadOnlyAWS
from grader.collect import Snapshot, collect
from grader.errors import GraderError
from grader.spec import LabSpec
from grader.target import Target, slug, student_from_arn


@dataclass
class Grading:
    target: Target
    spec: LabSpec
    aws: ReadOnlyAWS
    identity: Identity
    student: str
    out: Path | None = None
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _snapshot: Snapshot | None = None

    @property
    def snapshot(self) -> Snapshot:
        """The account, read once on first use."""
        if self._snapshot is None:
            self._snapshot = collect(self.aws, self.spec, self.identity)
        return self._snapshot


def prepare(target: Target, spec: LabSpec, out: Path | None = None) -> Grading:
    """Connect and find out whose account this is; a GraderError says why it cannot grade."""
    aws = ReadOnlyAWS.for_target(target)
    identity = aws.identity()
    student = slug(target.student) if target.student else student_from_arn(identity.arn, identity.account_id)
    if not student:
        raise GraderError("The student name is empty once unsafe characters are removed; give --student NAME.", kind="usage")
    return Grading(target=target, spec=spec, aws=aws, identity=identity, student=student, out=out)

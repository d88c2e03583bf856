"""A GradeResult for tests that need one: plain values for every field a test does not care about."""

from __future__ import annotations

from typing import Any

from grader.results import CheckResult, GradeResult

PLAIN: dict[str, Any] = {
    "student": "s",
    "account_id": "123456789012",
    "caller_arn": "arn",
    "region": "us-east-1",
    "spec_id": "itm300-m03",
    "spec_title": "t",
    "grader_version": "0",
    "started": "",
    "finished": "",
    "duration_seconds": 1.0,
}


def graded(*checks: CheckResult, **fields: Any) -> GradeResult:
    """A GradeResult of `checks`: `fields` as given, PLAIN values for the rest."""
    return GradeResult(checks=tuple(checks), **(PLAIN | fields))

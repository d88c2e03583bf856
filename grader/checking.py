"""What a check module uses: the `Check` it reports through, and the failure it raises.

A check records the values it read (`check.record(...)`), then either calls `check.fail(...)`
with a sentence saying what was found and what was expected, or `check.passes(...)` with a
sentence saying what was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

Verdict = Literal["", "pass", "fail"]
"""What a check said: nothing yet (""), that the lab passes, or that it fails."""


class CheckFailed(AssertionError):
    """The student's lab is not as the spec expects; `message` says what was found."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Check:
    """The running check's message and evidence."""

    id: str
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    verdict: Verdict = ""
    """'pass' or 'fail' once the check has said; a check that ends without one is the grader's bug."""

    def record(self, **values: Any) -> None:
        """Keep values read from the account as evidence (JSON-compatible, never a secret)."""
        self.evidence.update(values)

    def passes(self, message: str) -> None:
        self.message, self.verdict = message, "pass"

    def fail(self, message: str) -> NoReturn:
        self.message, self.verdict = message, "fail"
        raise CheckFailed(message)


def listing(values: Any) -> str:
    """`a, b and c` for a sentence; `none` for nothing."""
    items = [str(v) for v in values]
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]

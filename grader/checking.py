"""What a check module uses: the `Check` it reports through, and the failure it raises.

A check records the values it read (`check.record(...)`), then either calls `check.fail(...)`
with a sentence saying what was found and what was expected, or `check.passes(...)` with a
sentence saying what was found.

A failure may name its cause: `check.fail(message, cause="http-callback")`. The cause is a short
id the lab spec may give its own hint (`[checks."<id>".hints]`, grader/spec.py); the grade shows
that hint instead of the check's general one. Write the id as a literal `cause="..."` (in the check
function or a helper of its module it calls): that is how the spec learns which ids a check names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

Verdict = Literal["", "pass", "fail"]
"""What a check said: nothing yet (""), that the lab passes, or that it fails."""


class CheckFailed(AssertionError):
    """The student's lab is not as the spec expects; `message` says what was found."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        """The cause the check named ('' for none): picks the spec's hint for it."""


@dataclass
class Check:
    """The running check's message and evidence."""

    id: str
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    verdict: Verdict = ""
    """'pass' or 'fail' once the check has said; a check that ends without one is the grader's bug."""
    cause: str = ""
    """The cause a failure named ('' for none), as in `fail(..., cause=...)`."""

    def record(self, **values: Any) -> None:
        """Keep values read from the account as evidence (JSON-compatible, never a secret)."""
        self.evidence.update(values)

    def passes(self, message: str) -> None:
        self.message, self.verdict = message, "pass"

    def fail(self, message: str, cause: str = "") -> NoReturn:
        """Fail with `message`; `cause` names which of the check's causes it found (its hint in the spec)."""
        self.message, self.verdict, self.cause = message, "fail", cause
        raise CheckFailed(message, cause)


def listing(values: Any) -> str:
    """`a, b and c` for a sentence; `none` for nothing."""
    items = [str(v) for v in values]
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]

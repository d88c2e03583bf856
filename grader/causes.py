"""Root causes: which failures follow from another, so a grade can say what to fix first.

Each check declares the checks it builds on (`@lab_check(..., after=...)`): on the lab as it is,
it cannot pass unless they pass. A failed or skipped check is *explained* by each check it builds
on that did not pass (failed, skipped, or could not be checked). A failure that nothing explains
is a root cause: fixing it is the first thing to do, and it may make the ones it explains pass.
Nothing here reads a message: only the declarations and the statuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from grader.results import CheckResult, GradeResult

NOT_PASSED = frozenset({"fail", "skip", "error"})
"""The statuses of a check that explains the checks building on it (an advisory `warn` blocks nothing)."""
EXPLAINABLE = frozenset({"fail", "skip"})
"""The statuses a check built on a failure may have and be explained (an error is the grader's own)."""


def explained(checks: Sequence[CheckResult], after: Mapping[str, tuple[str, ...]]) -> tuple[CheckResult, ...]:
    """`checks` with each one's `explained_by`: the checks it builds on (`after`) that did not pass."""
    status = {c.id: c.status for c in checks}
    return tuple(
        replace(c, explained_by=tuple(d for d in after.get(c.id, ()) if status.get(d) in NOT_PASSED))
        if c.status in EXPLAINABLE
        else replace(c, explained_by=())
        for c in checks
    )


def roots_of(result: GradeResult, check_id: str) -> tuple[str, ...]:
    """The checks at the end of `check_id`'s explanations (itself when nothing explains it), in the spec's order."""
    by_id = {c.id: c for c in result.checks}
    found: set[str] = set()
    seen: set[str] = set()
    todo = [check_id]
    while todo:
        current = todo.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        if by_id[current].explained_by:
            todo.extend(by_id[current].explained_by)
        else:
            found.add(current)
    return tuple(c.id for c in result.checks if c.id in found)


def explains(result: GradeResult, root_id: str) -> tuple[CheckResult, ...]:
    """The checks whose explanations lead to `root_id` (not itself), in the spec's order."""
    return tuple(c for c in result.checks if c.id != root_id and c.explained_by and root_id in roots_of(result, c.id))

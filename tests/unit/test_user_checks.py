"""The user check (checks/test_user.py) on hand-built evidence: its pass and every fail case."""

from __future__ import annotations

from typing import Any

import pytest

import checks.test_user as user_checks
from tests.unit.evidence import POOL, USER, check_id, fails, ids_of, passes, replace

PASS_CASES: list[tuple[Any, dict[str, Any], str]] = [
    (user_checks.test_janedoe_confirmed, {}, "The user janedoe exists, is enabled and is CONFIRMED."),
]
PASSES = ids_of(*(case[0] for case in PASS_CASES))


@pytest.mark.parametrize(("function", "overrides", "message"), PASS_CASES, ids=[check_id(c[0]) for c in PASS_CASES])
def test_finished_lab_passes_the_user_check(function: Any, overrides: dict[str, Any], message: str) -> None:
    """janedoe, enabled and CONFIRMED, passes; the evidence is the user as read."""
    check = passes(function, **overrides)
    assert check.message == message
    assert check.evidence == {"username": "janedoe", "enabled": True, "status": "CONFIRMED"}


def test_janedoe_missing_fails_naming_the_pool() -> None:
    """No user janedoe in the pool fails naming the pool."""
    check = fails(user_checks.test_janedoe_confirmed, lab_user=None)
    assert check.message == f"The pool {POOL.name} has no user named janedoe."


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"enabled": False}, "The user janedoe is disabled; enable it in Users > janedoe > Actions > Enable user."),
        (
            {"status": "FORCE_CHANGE_PASSWORD"},
            (
                "still has the temporary password (status FORCE_CHANGE_PASSWORD): nobody has signed in through "
                "the hosted UI"
            ),
        ),
        ({"status": "RESET_REQUIRED"}, "The user janedoe has the status RESET_REQUIRED, not CONFIRMED."),
        ({"status": "UNCONFIRMED"}, "The user janedoe has the status UNCONFIRMED, not CONFIRMED."),
        ({"enabled": False, "status": "FORCE_CHANGE_PASSWORD"}, "The user janedoe is disabled;"),
    ],
    ids=["disabled", "temporary-password", "reset-required", "unconfirmed", "disabled-comes-first"],
)
def test_janedoe_not_ready_fails_naming_why(changes: dict[str, Any], phrase: str) -> None:
    """A user that is disabled or not CONFIRMED fails with its state and what to do."""
    check = fails(user_checks.test_janedoe_confirmed, lab_user=replace(USER, **changes))
    assert phrase in check.message
    assert check.evidence["status"] == replace(USER, **changes).status

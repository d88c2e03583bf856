"""The lab's user: janedoe exists, is enabled and has changed the temporary password."""

from __future__ import annotations

from grader.checking import Check
from grader.registry import lab_check
from grader.snapshot import Pool, User
from grader.spec import LabSpec


@lab_check("user.janedoe_confirmed", needs=("snapshot",), after=("pool.exists", "pool.username_sign_in"))
def test_janedoe_confirmed(pool: Pool, lab_user: User | None, spec: LabSpec, check: Check) -> None:
    """Passes when the lab's user exists, is enabled and is CONFIRMED."""
    name = spec.expected.username
    if lab_user is None:
        check.fail(f"The pool {pool.name} has no user named {name}.", cause="missing")
    check.record(username=lab_user.username, enabled=lab_user.enabled, status=lab_user.status)
    if not lab_user.enabled:
        check.fail(
            f"The user {name} is disabled; enable it in Users > {name} > Actions > Enable user.", cause="disabled"
        )
    if lab_user.status == "FORCE_CHANGE_PASSWORD":
        check.fail(
            f"The user {name} still has the temporary password (status FORCE_CHANGE_PASSWORD): "
            "nobody has signed in through the hosted UI and changed it yet.",
            cause="force-change-password",
        )
    if lab_user.status != "CONFIRMED":
        check.fail(f"The user {name} has the status {lab_user.status}, not CONFIRMED.")  # the general hint
    check.passes(f"The user {name} exists, is enabled and is CONFIRMED.")

"""User pool: name, sign-in, password policy, MFA, recovery, sign-up, email and domain."""

from __future__ import annotations

from checks.conftest import describe_pool
from grader.checking import Check, listing
from grader.registry import lab_check
from grader.snapshot import Domain, Pool, Snapshot
from grader.spec import LabSpec


@lab_check("pool.exists", needs=("snapshot",))
def test_exists(snapshot: Snapshot, spec: LabSpec, check: Check) -> None:
    """Passes when exactly one user pool matches the spec (by name, or by its app client's name)."""
    found = snapshot.candidate_pools.get()
    check.record(pools=[{"id": p.id, "name": p.name} for p in found])
    wanted = describe_pool(spec)
    if not found:
        check.fail(f"There is no {wanted} in {snapshot.region}.")
    if len(found) > 1:
        graded = snapshot.pool.get()
        check.record(graded_pool=graded.id if graded else None)
        check.fail(
            f"There are {len(found)} {wanted.replace('user pool', 'user pools', 1)} "
            f"({listing(p.id for p in found)}); the grader checked {graded.id if graded else 'none'}, "
            "but there should be only one.",
            cause="several-pools",
        )
    check.passes(f"Found the {wanted}: {found[0].id}.")


@lab_check("pool.username_sign_in", needs=("snapshot",), after=("pool.exists",))
def test_username_sign_in(pool: Pool, spec: LabSpec, check: Check) -> None:
    """Passes when users sign in with a user name (no email or phone as the user name)."""
    wanted = sorted(spec.expected.sign_in_attributes)
    check.record(username_attributes=list(pool.username_attributes))
    if sorted(pool.username_attributes) != wanted:
        shown = (
            f"{listing(pool.username_attributes)} as the user name" if pool.username_attributes else "a plain user name"
        )
        check.fail(
            f"The pool signs users in with {shown}; the lab asks for "
            f"{listing(wanted) if wanted else 'a plain user name'}."
        )
    check.passes("Users sign in with a user name.")


@lab_check("pool.password_policy", needs=("snapshot",), after=("pool.exists",))
def test_password_policy(pool: Pool, spec: LabSpec, check: Check) -> None:
    """Passes when every password-policy setting equals the spec's (Cognito defaults)."""
    check.record(password_policy=pool.password_policy)
    wrong = [
        f"{key} is {pool.password_policy.get(key)!r} (expected {value!r})"
        for key, value in spec.expected.password_policy.items()
        if pool.password_policy.get(key) != value
    ]
    if wrong:
        check.fail(f"The password policy is not the Cognito default: {listing(wrong)}.")
    check.passes("The password policy is the Cognito default.")


@lab_check("pool.mfa_off", needs=("snapshot",), after=("pool.exists",))
def test_mfa_off(pool: Pool, spec: LabSpec, check: Check) -> None:
    """Passes when the pool's MFA setting is OFF."""
    check.record(mfa=pool.mfa)
    if pool.mfa != spec.expected.mfa:
        check.fail(f"MFA is {pool.mfa}; the lab asks for {spec.expected.mfa} (No MFA).")
    check.passes(f"MFA is {pool.mfa}.")


@lab_check("pool.self_recovery_off", needs=("snapshot",), after=("pool.exists",))
def test_self_recovery_off(pool: Pool, spec: LabSpec, check: Check) -> None:
    """Passes when account recovery is admin-only (self-service recovery off)."""
    wanted = spec.expected.recovery_mechanisms
    check.record(recovery_mechanisms=list(pool.recovery_mechanisms))
    if list(pool.recovery_mechanisms) != wanted:
        check.fail(
            f"Account recovery uses {listing(pool.recovery_mechanisms)}; with self-service recovery "
            f"off it is {listing(wanted)}."
        )
    check.passes("Self-service account recovery is off (admin only).")


@lab_check("pool.self_registration_off", needs=("snapshot",), after=("pool.exists",))
def test_self_registration_off(pool: Pool, spec: LabSpec, check: Check) -> None:
    """Passes when only administrators can create users (self-registration off)."""
    check.record(allow_admin_create_user_only=pool.admin_create_user_only)
    if bool(pool.admin_create_user_only) != spec.expected.admin_create_user_only:
        check.fail("Self-registration is on: anyone can sign up to the pool; the lab turns it off.")
    check.passes("Self-registration is off: only administrators create users.")


@lab_check("pool.email_cognito", needs=("snapshot",), after=("pool.exists",))
def test_email_cognito(pool: Pool, spec: LabSpec, check: Check) -> None:
    """Passes when the pool sends email with Cognito (the default when nothing else is set)."""
    sending = pool.email_sending_account or "COGNITO_DEFAULT"
    check.record(email_sending_account=pool.email_sending_account or "not set (Cognito default)")
    if sending != spec.expected.email_sending_account:
        check.fail(f"The pool sends email with {sending}; the lab asks for Send email with Cognito.")
    check.passes("The pool sends email with Cognito.")


@lab_check("pool.domain", needs=("snapshot",), after=("pool.exists",))
def test_domain(pool: Pool, domain: Domain | None, check: Check) -> None:
    """Passes when the pool has a Cognito prefix domain for its hosted UI and it is ACTIVE."""
    check.record(domain=pool.domain, custom_domain=pool.custom_domain)
    if domain is None:
        if pool.custom_domain:
            check.fail(
                f"The pool has only a custom domain ({pool.custom_domain}); the lab uses a Cognito "
                "domain (a prefix under amazoncognito.com).",
                cause="custom-domain",
            )
        check.fail("The pool has no Cognito domain, so it has no hosted UI.")
    check.record(host=domain.host, status=domain.status)
    if domain.status != "ACTIVE":
        check.fail(
            f"The Cognito domain {domain.host} is {domain.status or 'not ready'}, not ACTIVE.", cause="not-active"
        )
    check.passes(f"The hosted UI is at https://{domain.host} (ACTIVE).")

"""The user-pool checks (checks/test_pool.py) on hand-built evidence: each pass, fail and skip case."""

from __future__ import annotations

from typing import Any

import pytest

import checks.test_pool as pool_checks
from grader.snapshot import Domain, PoolSummary
from tests.unit.evidence import (
    DEFAULT_PASSWORD_POLICY,
    DOMAIN,
    POOL,
    REGION,
    SPEC,
    SPEC_2025,
    check_id,
    fails,
    ids_of,
    passes,
    replace,
    snapshot,
)

OTHER_POOL = PoolSummary(f"{REGION}_Zz98Yx76W", "VehicleAppUserPool")

PASS_CASES: list[tuple[Any, dict[str, Any], str]] = [
    (pool_checks.test_exists, {}, f"Found the user pool named VehicleAppUserPool: {POOL.id}."),
    (pool_checks.test_username_sign_in, {}, "Users sign in with a user name."),
    (pool_checks.test_password_policy, {}, "The password policy is the Cognito default."),
    (pool_checks.test_mfa_off, {}, "MFA is OFF."),
    (pool_checks.test_self_recovery_off, {}, "Self-service account recovery is off (admin only)."),
    (pool_checks.test_self_registration_off, {}, "Self-registration is off: only administrators create users."),
    (pool_checks.test_email_cognito, {}, "The pool sends email with Cognito."),
    (pool_checks.test_domain, {}, f"The hosted UI is at https://{DOMAIN.host} (ACTIVE)."),
]
PASSES = ids_of(*(case[0] for case in PASS_CASES))


@pytest.mark.parametrize(("function", "overrides", "message"), PASS_CASES, ids=[check_id(c[0]) for c in PASS_CASES])
def test_finished_lab_passes_each_pool_check(function: Any, overrides: dict[str, Any], message: str) -> None:
    """The finished lab's pool passes every pool check with the sentence saying what was found."""
    assert passes(function, **overrides).message == message


# -- pool.exists ----------------------------------------------------------------------------------


def test_exists_records_the_pool_found() -> None:
    """The pool found is kept as evidence, by id and name."""
    check = passes(pool_checks.test_exists)
    assert check.evidence == {"pools": [{"id": POOL.id, "name": POOL.name}]}


def test_exists_by_client_name_in_the_2025_spec() -> None:
    """With the 2025 spec the pool is the one holding the app client VechicleApp, and the message says so."""
    check = passes(pool_checks.test_exists, spec=SPEC_2025)
    assert check.message == f"Found the user pool with an app client named VechicleApp: {POOL.id}."


@pytest.mark.parametrize(
    ("spec_overrides", "phrase"),
    [
        ({}, f"There is no user pool named VehicleAppUserPool in {REGION}."),
        ({"spec": SPEC_2025}, f"There is no user pool with an app client named VechicleApp in {REGION}."),
    ],
    ids=["by-pool-name", "by-client-name-2025"],
)
def test_exists_fails_without_a_matching_pool(spec_overrides: dict[str, Any], phrase: str) -> None:
    """No pool matching the spec fails naming what was looked for and the region."""
    check = fails(pool_checks.test_exists, snapshot=snapshot(pool=None, candidate_pools=()), **spec_overrides)
    assert check.message == phrase
    assert check.evidence == {"pools": []}


def test_exists_fails_with_two_pools_of_the_lab_name() -> None:
    """Two pools named VehicleAppUserPool fail naming both and the one graded: there should be only one."""
    two = snapshot(candidate_pools=(PoolSummary(POOL.id, POOL.name), OTHER_POOL))
    check = fails(pool_checks.test_exists, snapshot=two)
    assert check.message == (
        f"There are 2 user pools named VehicleAppUserPool ({POOL.id} and {OTHER_POOL.id}); the grader checked "
        f"{POOL.id}, but there should be only one."
    )
    assert check.evidence["graded_pool"] == POOL.id


# -- one setting wrong at a time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "changes", "phrase"),
    [
        (
            pool_checks.test_username_sign_in,
            {"username_attributes": ("email",)},
            "The pool signs users in with email as the user name; the lab asks for a plain user name.",
        ),
        (
            pool_checks.test_username_sign_in,
            {"username_attributes": ("phone_number", "email")},
            "signs users in with phone_number and email as the user name",
        ),
        (
            pool_checks.test_password_policy,
            {"password_policy": DEFAULT_PASSWORD_POLICY | {"MinimumLength": 12}},
            "The password policy is not the Cognito default: MinimumLength is 12 (expected 8).",
        ),
        (
            pool_checks.test_password_policy,
            {
                "password_policy": DEFAULT_PASSWORD_POLICY
                | {"RequireSymbols": False, "TemporaryPasswordValidityDays": 1}
            },
            "RequireSymbols is False (expected True) and TemporaryPasswordValidityDays is 1 (expected 7).",
        ),
        (pool_checks.test_password_policy, {"password_policy": {}}, "MinimumLength is None (expected 8)"),
        (pool_checks.test_mfa_off, {"mfa": "ON"}, "MFA is ON; the lab asks for OFF (No MFA)."),
        (pool_checks.test_mfa_off, {"mfa": "OPTIONAL"}, "MFA is OPTIONAL; the lab asks for OFF (No MFA)."),
        (
            pool_checks.test_self_recovery_off,
            {"recovery_mechanisms": ("verified_email",)},
            "Account recovery uses verified_email; with self-service recovery off it is admin_only.",
        ),
        (
            pool_checks.test_self_recovery_off,
            {"recovery_mechanisms": ("verified_email", "verified_phone_number")},
            "Account recovery uses verified_email and verified_phone_number;",
        ),
        (
            pool_checks.test_self_registration_off,
            {"admin_create_user_only": False},
            "Self-registration is on: anyone can sign up to the pool; the lab turns it off.",
        ),
        (
            pool_checks.test_self_registration_off,
            {"admin_create_user_only": None},
            "Self-registration is on: anyone can sign up to the pool",
        ),
        (
            pool_checks.test_email_cognito,
            {"email_sending_account": "DEVELOPER"},
            "The pool sends email with DEVELOPER; the lab asks for Send email with Cognito.",
        ),
    ],
    ids=[
        "email-as-username",
        "phone-and-email-as-username",
        "min-length",
        "two-settings",
        "policy-unread",
        "mfa-on",
        "mfa-optional",
        "recovery-by-email",
        "recovery-by-email-and-phone",
        "self-sign-up",
        "sign-up-unset-means-on",
        "email-by-ses",
    ],
)
def test_one_pool_setting_wrong_fails_naming_it(function: Any, changes: dict[str, Any], phrase: str) -> None:
    """A pool that differs from the spec in one setting fails with the value found and the one expected."""
    check = fails(function, pool=replace(POOL, **changes))
    assert phrase in check.message


@pytest.mark.parametrize(
    ("function", "changes", "recorded"),
    [
        (pool_checks.test_username_sign_in, {"username_attributes": ("email",)}, {"username_attributes": ["email"]}),
        (pool_checks.test_mfa_off, {"mfa": "ON"}, {"mfa": "ON"}),
        (
            pool_checks.test_self_recovery_off,
            {"recovery_mechanisms": ("verified_email",)},
            {"recovery_mechanisms": ["verified_email"]},
        ),
        (
            pool_checks.test_self_registration_off,
            {"admin_create_user_only": False},
            {"allow_admin_create_user_only": False},
        ),
        (
            pool_checks.test_email_cognito,
            {"email_sending_account": "DEVELOPER"},
            {"email_sending_account": "DEVELOPER"},
        ),
    ],
    ids=["username", "mfa", "recovery", "sign-up", "email"],
)
def test_a_failed_pool_check_records_the_value_it_read(
    function: Any, changes: dict[str, Any], recorded: dict[str, Any]
) -> None:
    """A pool check's evidence is the setting as read from the account."""
    assert fails(function, pool=replace(POOL, **changes)).evidence == recorded


def test_email_not_set_is_the_cognito_default() -> None:
    """A pool without an email sending account set sends with Cognito: it passes, and the evidence says not set."""
    check = passes(pool_checks.test_email_cognito, pool=replace(POOL, email_sending_account=None))
    assert check.evidence == {"email_sending_account": "not set (Cognito default)"}


# -- pool.domain ----------------------------------------------------------------------------------


def test_domain_fails_without_a_domain() -> None:
    """A pool without any domain fails: it has no hosted UI."""
    check = fails(pool_checks.test_domain, pool=replace(POOL, domain=None), domain=None)
    assert check.message == "The pool has no Cognito domain, so it has no hosted UI."


def test_domain_fails_with_only_a_custom_domain() -> None:
    """A pool with only a custom domain fails naming it: the lab uses a prefix under amazoncognito.com."""
    pool = replace(POOL, domain=None, custom_domain="auth.quick-oil.example")
    check = fails(pool_checks.test_domain, pool=pool, domain=None)
    assert "only a custom domain (auth.quick-oil.example)" in check.message
    assert check.evidence == {"domain": None, "custom_domain": "auth.quick-oil.example"}


@pytest.mark.parametrize(("status", "shown"), [("CREATING", "CREATING"), ("FAILED", "FAILED"), ("", "not ready")])
def test_domain_fails_when_not_active(status: str, shown: str) -> None:
    """A Cognito domain that is not ACTIVE fails naming its status (or 'not ready' when it has none)."""
    check = fails(pool_checks.test_domain, domain=Domain(DOMAIN.prefix, status, DOMAIN.host))
    assert check.message == f"The Cognito domain {DOMAIN.host} is {shown}, not ACTIVE."
    assert check.evidence["status"] == status


def test_username_sign_in_names_a_plain_user_name_when_the_spec_asks_for_email() -> None:
    """A spec that asks for email sign-in, graded on a pool with plain user names, says 'a plain user name'."""
    spec = replace(SPEC, expected=replace(SPEC.expected, sign_in_attributes=["email"]))
    check = fails(pool_checks.test_username_sign_in, spec=spec)
    assert check.message == "The pool signs users in with a plain user name; the lab asks for email."

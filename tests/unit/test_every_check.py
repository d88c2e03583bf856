"""Across the checks: every registered check has a unit pass case, and the narrowing fixtures skip as they say.

The skips of checks/conftest.py (no pool, no app client, website not reached, no lab trail) happen
before a check's body runs, so they are seen by running the real `checks/` under pytest, in
process, with the grader's plugin and a fake observer that hands it hand-built evidence: one run
for an empty account, one for a pool without an app client.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import checks
from grader.errors import GraderError
from grader.observe.evidence import Evidence
from grader.observe.signins import CognitoCall
from grader.pipeline import judge
from grader.registry import info_of, registered
from grader.snapshot import Read
from grader.spec import available_specs, load_spec
from grader.trail import AuthEvents
from tests.unit import (
    test_client_checks,
    test_cloudtrail_checks,
    test_hostedui_checks,
    test_pool_checks,
    test_site_checks,
    test_user_checks,
)
from tests.unit.evidence import (
    CALLBACK,
    HISTORY,
    POOL,
    REGION,
    SITE,
    SPEC,
    empty_evidence,
    finished_evidence,
    logins,
    replace,
    snapshot,
)

UNIT_MODULES = {
    "checks.test_pool": test_pool_checks,
    "checks.test_client": test_client_checks,
    "checks.test_user": test_user_checks,
    "checks.test_hostedui": test_hostedui_checks,
    "checks.test_site": test_site_checks,
    "checks.test_cloudtrail": test_cloudtrail_checks,
}


def declared_in_checks() -> set[str]:
    """The ids the `@lab_check` functions of the checks package declare, read from the functions themselves."""
    found = set()
    for module in pkgutil.iter_modules(checks.__path__):
        if module.name.startswith("test_"):
            loaded = importlib.import_module(f"checks.{module.name}")
            infos = (info_of(value) for value in vars(loaded).values())
            found |= {info.id for info in infos if info is not None and info.module == loaded.__name__}
    return found


def test_every_registered_check_has_a_pass_case_in_its_unit_module() -> None:
    """Each registered check id is in the PASSES of its check module's unit module: a new check needs unit tests."""
    known = registered()
    declared = declared_in_checks()
    assert declared, "the checks package declares no check"
    assert set(known) == declared, "the registry holds exactly the checks the checks package declares"
    for spec_id in available_specs():
        assert set(load_spec(spec_id).checks) == declared, f"the built-in spec {spec_id} grades every check"
    untested = sorted(
        cid
        for cid, info in known.items()
        if info.module not in UNIT_MODULES or cid not in UNIT_MODULES[info.module].PASSES
    )
    assert untested == [], f"checks without a unit pass case in tests/unit/: {', '.join(untested)}"
    claimed = {cid for module in UNIT_MODULES.values() for cid in module.PASSES}
    assert claimed <= set(known), f"unit pass cases for unknown checks: {sorted(claimed - set(known))}"
    assert set(SPEC.checks) == set(known), "the default spec grades every check"
    assert {info.module for info in known.values()} == set(UNIT_MODULES)


# -- the narrowing fixtures, through pytest ----------------------------------------------------------

NO_POOL = "There is no user pool named VehicleAppUserPool, so this cannot be checked yet."
NO_CLIENT = f"The pool {POOL.name} has no app client, so this cannot be checked yet."
NO_SITE = "The website could not be reached (see site.reachable)."
NO_TRAIL = "There is no trail named VehicleApp-Trail (see cloudtrail.trail)."


def _pool_without_client() -> Evidence:
    """A pool with its domain and janedoe but no app client; the website answers on the instance; the trail logs
    but has no sign-in."""
    site = replace(SITE, source="the running EC2 instance's public DNS name")
    refused = logins(
        final_url=f"{CALLBACK}/login.html?msg=0",
        message="No such Username or Password",
        tokens={},
        cognito_calls=[
            CognitoCall(
                "InitiateAuth",
                400,
                "ResourceNotFoundException: User pool client 4kq7example0client0id0abcd does not exist.",
            )
        ],
    )
    return finished_evidence(
        snapshot=snapshot(clients=()),
        site=site,
        link_probe=None,
        authorize_probes={},
        site_logins=refused,
        hosted_sign_in=None,
        auth_events=AuthEvents(HISTORY, ()),
    )


ACCOUNTS: dict[str, tuple[Any, dict[str, tuple[str, str]]]] = {
    "empty-account": (
        empty_evidence,
        {
            "pool.exists": ("fail", f"There is no user pool named VehicleAppUserPool in {REGION}."),
            "pool.username_sign_in": ("skip", NO_POOL),
            "pool.password_policy": ("skip", NO_POOL),
            "pool.mfa_off": ("skip", NO_POOL),
            "pool.self_recovery_off": ("skip", NO_POOL),
            "pool.self_registration_off": ("skip", NO_POOL),
            "pool.email_cognito": ("skip", NO_POOL),
            "pool.domain": ("skip", NO_POOL),
            "client.exists": ("skip", NO_POOL),
            "client.no_secret": ("skip", NO_POOL),
            "client.srp_auth": ("skip", NO_POOL),
            "client.implicit_only": ("skip", NO_POOL),
            "client.oauth_scopes": ("skip", NO_POOL),
            "client.callback_ec2": ("skip", NO_POOL),
            "user.janedoe_confirmed": ("skip", NO_POOL),
            "hostedui.authorize": ("skip", NO_POOL),
            "hostedui.implicit_callback": ("skip", NO_POOL),
            "site.reachable": (
                "fail",
                (
                    "The grader found no address for the website: no callback URL, no running EC2 "
                    "instance, and no --site-url."
                ),
            ),
            "site.configured": ("skip", NO_SITE),
            "site.hosted_ui_link": ("skip", NO_SITE),
            "site.login": ("skip", NO_SITE),
            "site.wrong_password_rejected": ("skip", NO_SITE),
            "cloudtrail.trail": ("fail", f"There is no trail named VehicleApp-Trail for {REGION}."),
            "cloudtrail.logging": ("skip", NO_TRAIL),
            "cloudtrail.auth_events": (
                "fail",
                f"CloudTrail recorded no Cognito sign-in in the last 90 days (source: {HISTORY}).",
            ),
        },
    ),
    "pool-without-app-client": (
        _pool_without_client,
        {
            "pool.exists": ("pass", f"Found the user pool named VehicleAppUserPool: {POOL.id}."),
            "pool.username_sign_in": ("pass", "Users sign in with a user name."),
            "pool.password_policy": ("pass", "The password policy is the Cognito default."),
            "pool.mfa_off": ("pass", "MFA is OFF."),
            "pool.self_recovery_off": ("pass", "Self-service account recovery is off (admin only)."),
            "pool.self_registration_off": ("pass", "Self-registration is off: only administrators create users."),
            "pool.email_cognito": ("pass", "The pool sends email with Cognito."),
            "pool.domain": (
                "pass",
                "The hosted UI is at https://vehicleapp-quick-2841.auth.us-east-1.amazoncognito.com (ACTIVE).",
            ),
            "client.exists": ("fail", f"The pool {POOL.name} has no app client."),
            "client.no_secret": ("skip", NO_CLIENT),
            "client.srp_auth": ("skip", NO_CLIENT),
            "client.implicit_only": ("skip", NO_CLIENT),
            "client.oauth_scopes": ("skip", NO_CLIENT),
            "client.callback_ec2": ("skip", NO_CLIENT),
            "user.janedoe_confirmed": ("pass", "The user janedoe exists, is enabled and is CONFIRMED."),
            "hostedui.authorize": ("skip", NO_CLIENT),
            "hostedui.implicit_callback": ("skip", NO_CLIENT),
            "site.reachable": ("pass", f"The website answers at {CALLBACK}/login.html."),
            "site.configured": ("skip", NO_CLIENT),
            "site.hosted_ui_link": ("skip", NO_CLIENT),
            "site.login": ("skip", NO_CLIENT),
            "site.wrong_password_rejected": (
                "skip",
                "The right password does not log in either (see site.login), so a refusal would prove nothing.",
            ),
            "cloudtrail.trail": (
                "pass",
                "The trail VehicleApp-Trail logs to the bucket aws-cloudtrail-logs-vehicleapp-2841.",
            ),
            "cloudtrail.logging": (
                "pass",
                "The trail VehicleApp-Trail is logging; its latest log file was delivered 2026-03-02 14:56 UTC.",
            ),
            "cloudtrail.auth_events": (
                "fail",
                (
                    f"The user pool {POOL.name} has no app client, so CloudTrail cannot show a "
                    f"sign-in to the lab's app client (source: {HISTORY})."
                ),
            ),
        },
    ),
}


@pytest.mark.parametrize(("build", "expected"), list(ACCOUNTS.values()), ids=list(ACCOUNTS))
def test_checks_run_through_pytest_skip_where_their_narrowing_fixture_says(
    build: Any, expected: dict[str, tuple[str, str]]
) -> None:
    """Judge an account's evidence with the real checks/ (pytest, in process): every check's status, and each
    narrowing skip's reason."""
    result = judge(SPEC, build())
    got = {c.id: (c.status, c.message) for c in result.checks}
    assert got == expected


# -- a read the grader could not make is its error, never the student's fail -------------------------

THROTTLED = GraderError(
    "AWS throttled the grader while it tried to read the user pool's settings, even after retrying. "
    "Wait a minute and run the grader again.",
    kind="throttled",
)
DENIED = GraderError(
    "AWS denied the grader permission to list the EC2 instances (AccessDeniedException on DescribeInstances).",
    kind="access-denied",
)
MINE = ("pool.", "client.", "user.", "site.")


def _unreadable(*parts: str, error: GraderError) -> Evidence:
    """The finished lab with the snapshot's `parts` unreadable (each raising `error`)."""
    return finished_evidence(snapshot=replace(snapshot(), **{part: Read(error=error) for part in parts}))


UNREADABLE: dict[str, tuple[Any, dict[str, str]]] = {
    "throttled-describe-user-pool": (
        lambda: _unreadable("candidate_pools", "pool", "domain", "clients", "client", "user", error=THROTTLED),
        {"site.reachable": "pass"},
    ),
    "denied-describe-instances": (
        lambda: _unreadable("instances", error=DENIED),
        {cid: "pass" for cid in SPEC.checks if cid.startswith(MINE) and cid not in {"client.callback_ec2"}},
    ),
}


@pytest.mark.parametrize(("build", "others"), list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_unreadable_aws_part_is_the_graders_error_in_every_check_that_reads_it(
    build: Any, others: dict[str, str]
) -> None:
    """Through pytest: every pool, client, user and site check that needs a part AWS throttled or denied ends
    `error` with that read's sentence; the checks that do not need it keep their verdict."""
    evidence = build()
    result = judge(SPEC, evidence)
    got = {c.id: (c.status, c.message) for c in result.checks if c.id.startswith(MINE)}
    error = evidence.snapshot.value.pool.error or evidence.snapshot.value.instances.error
    expected = {cid: (others[cid], None) if cid in others else ("error", error.message) for cid in got}
    assert {cid: (status, None if cid in others else message) for cid, (status, message) in got.items()} == expected

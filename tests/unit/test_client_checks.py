"""The app-client checks (checks/test_client.py) on hand-built evidence: each pass, fail and skip case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import checks.test_client as client_checks
from grader.observe.evidence import InstanceStarts
from tests.unit.evidence import (
    CALLBACK,
    CLIENT,
    FORMER_DNS,
    INSTANCE,
    POOL,
    SPEC_2025,
    check_id,
    fails,
    ids_of,
    passes,
    replace,
    snapshot,
)

RESTARTED = datetime(2026, 3, 2, 13, 58, 41, tzinfo=UTC)
STOPPED = replace(INSTANCE, state="stopped", public_dns="", public_ip="")
VECHICLE = replace(CLIENT, name="VechicleApp")

PASS_CASES: list[tuple[Any, dict[str, Any], str]] = [
    (client_checks.test_exists, {}, "The pool has 1 app client: Vehicle App - Quick."),
    (client_checks.test_no_secret, {}, "The app client Vehicle App - Quick has no secret."),
    (client_checks.test_srp_auth, {}, "The app client allows ALLOW_USER_SRP_AUTH."),
    (client_checks.test_implicit_only, {}, "The app client's OAuth grant type is implicit."),
    (client_checks.test_oauth_scopes, {}, "OAuth is on with scopes email, openid and phone and provider COGNITO."),
    (client_checks.test_callback_ec2, {}, f"The callback URL {CALLBACK} is the running instance's https address."),
]
PASSES = ids_of(*(case[0] for case in PASS_CASES))


@pytest.mark.parametrize(("function", "overrides", "message"), PASS_CASES, ids=[check_id(c[0]) for c in PASS_CASES])
def test_finished_lab_passes_each_client_check(function: Any, overrides: dict[str, Any], message: str) -> None:
    """The finished lab's app client passes every client check with the sentence saying what was found."""
    assert passes(function, **overrides).message == message


# -- client.exists --------------------------------------------------------------------------------


def test_exists_names_every_client_of_the_pool() -> None:
    """Several app clients pass, counted and named (the plural is right)."""
    other = replace(CLIENT, id="2nd0client", name="Test client")
    check = passes(client_checks.test_exists, snapshot=snapshot(clients=(CLIENT, other)))
    assert check.message == "The pool has 2 app clients: Vehicle App - Quick and Test client."
    assert check.evidence == {
        "clients": [{"id": CLIENT.id, "name": CLIENT.name}, {"id": "2nd0client", "name": "Test client"}]
    }


def test_exists_names_the_spec_client_name_in_2025() -> None:
    """With the 2025 spec the message names the client name the spec asks for."""
    check = passes(client_checks.test_exists, snapshot=snapshot(clients=(VECHICLE,)), spec=SPEC_2025)
    assert check.message == "The pool has 1 app client named VechicleApp: VechicleApp."


@pytest.mark.parametrize(
    ("spec_overrides", "message"),
    [
        ({}, f"The pool {POOL.name} has no app client."),
        ({"spec": SPEC_2025}, f"The pool {POOL.name} has no app client named VechicleApp."),
    ],
    ids=["any-name", "named-2025"],
)
def test_exists_fails_for_a_pool_without_clients(spec_overrides: dict[str, Any], message: str) -> None:
    """A pool without (the spec's) app client fails naming the pool."""
    check = fails(client_checks.test_exists, snapshot=snapshot(clients=()), **spec_overrides)
    assert check.message == message


# -- one client setting wrong at a time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "changes", "phrases"),
    [
        (
            client_checks.test_no_secret,
            {"has_secret": True},
            ["The app client Vehicle App - Quick has a client secret", "cannot send one, so its logins fail"],
        ),
        (
            client_checks.test_srp_auth,
            {"explicit_auth_flows": ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH")},
            ["allows ALLOW_REFRESH_TOKEN_AUTH and ALLOW_USER_PASSWORD_AUTH; it must also allow ALLOW_USER_SRP_AUTH"],
        ),
        (
            client_checks.test_srp_auth,
            {"explicit_auth_flows": ()},
            ["allows none; it must also allow ALLOW_USER_SRP_AUTH, which the website's login uses."],
        ),
        (
            client_checks.test_implicit_only,
            {"oauth_flows": ("code", "implicit")},
            [
                (
                    "The app client's OAuth grant types are code and implicit: code is still allowed; the lab asks "
                    "for implicit only."
                )
            ],
        ),
        (
            client_checks.test_implicit_only,
            {"oauth_flows": ("code",)},
            ["grant types are code: implicit is not allowed and code is still allowed"],
        ),
        (
            client_checks.test_implicit_only,
            {"oauth_flows": ()},
            ["grant types are none: implicit is not allowed; the lab asks for implicit only."],
        ),
        (
            client_checks.test_oauth_scopes,
            {"oauth_enabled": False},
            ["In the app client Vehicle App - Quick, OAuth is not enabled for the app client (no hosted UI settings)."],
        ),
        (
            client_checks.test_oauth_scopes,
            {"oauth_scopes": ("email", "phone")},
            ["the scopes lack openid (it has email and phone)."],
        ),
        (
            client_checks.test_oauth_scopes,
            {"identity_providers": ()},
            ["the identity providers lack COGNITO (it has none)."],
        ),
        (
            client_checks.test_oauth_scopes,
            {"oauth_enabled": False, "oauth_scopes": (), "identity_providers": ()},
            ["OAuth is not enabled", "; the scopes lack openid (it has none); the identity providers lack COGNITO"],
        ),
    ],
    ids=[
        "secret",
        "no-srp",
        "no-flows",
        "code-too",
        "code-only",
        "no-grant",
        "oauth-off",
        "no-openid",
        "no-cognito-idp",
        "hosted-ui-never-set",
    ],
)
def test_one_client_setting_wrong_fails_naming_it(function: Any, changes: dict[str, Any], phrases: list[str]) -> None:
    """An app client that differs from the spec in one setting fails with what it has and what is missing."""
    check = fails(function, app_client=replace(CLIENT, **changes))
    for phrase in phrases:
        assert phrase in check.message


def test_oauth_scopes_records_the_client_settings() -> None:
    """The OAuth check's evidence is the client's OAuth switch, scopes and providers as read."""
    check = fails(client_checks.test_oauth_scopes, app_client=replace(CLIENT, oauth_enabled=False))
    assert check.evidence == {
        "client": CLIENT.name,
        "oauth_enabled": False,
        "allowed_oauth_scopes": ["email", "openid", "phone"],
        "identity_providers": ["COGNITO"],
    }


# -- client.callback_ec2 --------------------------------------------------------------------------


def _callback_fails(urls: tuple[str, ...], **overrides: Any) -> Any:
    return fails(client_checks.test_callback_ec2, app_client=replace(CLIENT, callback_urls=urls), **overrides)


def test_callback_fails_without_a_callback_url() -> None:
    """A client without any callback URL fails saying so."""
    assert _callback_fails(()).message == f"The app client {CLIENT.name} has no callback URL."


def test_callback_fails_when_the_instance_is_stopped() -> None:
    """With the instance stopped, the callback names no running instance, and a restart changes the name."""
    check = _callback_fails((CALLBACK,), instances=(STOPPED,))
    assert f"No EC2 instance is running ({INSTANCE.id} is stopped)" in check.message
    assert "gets a new public DNS name when it starts again" in check.message


def test_callback_fails_without_any_instance() -> None:
    """With no instance at all, the callback cannot be the website's address."""
    check = _callback_fails((CALLBACK,), instances=())
    assert check.message.startswith("There is no running EC2 instance with a public DNS name, so the callback URL")
    assert check.evidence["instances"] == []


def test_callback_fails_for_http() -> None:
    """The running instance's name over http fails: Cognito needs https."""
    check = _callback_fails((f"http://{INSTANCE.public_dns}",))
    assert f"names the running instance {INSTANCE.id} but uses http; Cognito needs https" in check.message


def test_callback_fails_for_a_typo() -> None:
    """A name one keystroke from the instance's is a typo, named as such."""
    typo = INSTANCE.public_dns.replace("54-214", "54-241")
    check = _callback_fails((f"https://{typo}",))
    assert f"looks like a typo of the instance's name {INSTANCE.public_dns}" in check.message


def test_callback_fails_for_a_former_address_naming_the_restart() -> None:
    """A former EC2 name: the address changed since the callback was saved, with the restart time CloudTrail shows."""
    starts = InstanceStarts(started={INSTANCE.id: RESTARTED})
    check = _callback_fails((f"https://{FORMER_DNS}",), instance_starts=starts)
    assert "has changed since the callback URL was saved" in check.message
    assert "CloudTrail shows it started again 2026-03-02 13:58 UTC" in check.message
    assert f"Update the callback URL to {CALLBACK}, and run rebuildapp.sh again" in check.message
    assert check.evidence["instance_started"] == RESTARTED.isoformat()


def test_callback_former_address_when_cloudtrail_cannot_say_when() -> None:
    """When the restart time could not be read, the message leaves it out and the evidence says why."""
    starts = InstanceStarts(unknown="AWS denied the grader permission to read CloudTrail event history.")
    check = _callback_fails((f"https://{FORMER_DNS}",), instance_starts=starts)
    assert (
        "has changed since the callback URL was saved (a restarted lab session, or a stop and start)" in check.message
    )
    assert check.evidence["instance_started_unknown"] == starts.unknown


def test_callback_fails_for_an_unrelated_address() -> None:
    """A callback that is no EC2 name at all fails naming the running instance's name."""
    check = _callback_fails(("https://quick-oil.example/",))
    assert check.message == (
        f"No callback URL (https://quick-oil.example/) names the running instance {INSTANCE.public_dns}."
    )


def test_callback_passes_with_a_localhost_callback_beside() -> None:
    """A localhost callback beside the instance's does not stop the pass."""
    check = passes(
        client_checks.test_callback_ec2, app_client=replace(CLIENT, callback_urls=("http://localhost:8080/", CALLBACK))
    )
    assert CALLBACK in check.message

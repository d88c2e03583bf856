"""Tests for the hosted-UI checks' messages (checks/test_hostedui.py),
with the probe and the browser sign-in stubbed."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

import checks.test_hostedui as hostedui_checks
from grader.authorize import HINTS, AuthorizeProbe
from grader.browser.hosted_signin import UNAVAILABLE_SENTENCE
from grader.checking import Check, CheckFailed
from grader.observe.evidence import SignInCallback
from grader.observe.signins import HostedSignIn
from grader.snapshot import AppClient, Domain, Instance, Pool, Read, Snapshot, User
from grader.spec import load_spec

REGION = "us-east-1"
DOMAIN = Domain(
    prefix="vehicleapp-quick-2841", status="ACTIVE", host=f"vehicleapp-quick-2841.auth.{REGION}.amazoncognito.com"
)
INSTANCE = Instance(
    id="i-0abc", state="running", public_dns="ec2-54-1-2-3.compute-1.amazonaws.com", public_ip="54.1.2.3", name="web"
)
CALLBACK = f"https://{INSTANCE.public_dns}"
CLIENT = AppClient(
    id="client123",
    name="VehicleApp",
    has_secret=False,
    explicit_auth_flows=("ALLOW_USER_SRP_AUTH",),
    oauth_flows=("implicit",),
    oauth_enabled=True,
    oauth_scopes=("openid",),
    identity_providers=("COGNITO",),
    callback_urls=(CALLBACK,),
    logout_urls=(),
)
POOL = Pool(
    id=f"{REGION}_abc",
    name="VehicleAppUserPool",
    created="",
    username_attributes=(),
    alias_attributes=(),
    password_policy={},
    mfa="OFF",
    recovery_mechanisms=(),
    admin_create_user_only=True,
    email_sending_account="COGNITO_DEFAULT",
    domain=DOMAIN.prefix,
    custom_domain=None,
)


def _probes(client: AppClient, answer: AuthorizeProbe) -> dict[str, AuthorizeProbe]:
    """What the observer would hold: the same answer for every callback Cognito could accept."""
    return {
        cb: dataclasses.replace(answer, url=f"https://{DOMAIN.host}/oauth2/authorize?redirect_uri={cb}")
        for cb in client.callback_urls
    }


def _snapshot() -> Snapshot:
    return Snapshot(
        identity=SimpleNamespace(account_id="123456789012", arn=""),  # type: ignore[arg-type]
        region=REGION,
        candidate_pools=Read(()),
        pool=Read(POOL),
        domain=Read(DOMAIN),
        clients=Read((CLIENT,)),
        client=Read(CLIENT),
        user=Read(User("janedoe", True, "CONFIRMED")),
        instances=Read((INSTANCE,)),
    )


def _authorize_message(client: AppClient, answer: AuthorizeProbe) -> str:
    check = Check("hostedui.authorize")
    with pytest.raises(CheckFailed):
        hostedui_checks.test_authorize(client, DOMAIN, _probes(client, answer), load_spec(), check)
    return check.message


def _callback_message(signed_in: HostedSignIn) -> str:
    check = Check("hostedui.implicit_callback")
    with pytest.raises(CheckFailed):
        hostedui_checks.test_implicit_callback(
            POOL,
            CLIENT,
            DOMAIN,
            _snapshot(),
            SignInCallback(CLIENT.callback_urls[0], AuthorizeProbe("", 302, "", "")),
            signed_in,
            load_spec(),
            REGION,
            check,
        )
    assert check.message.endswith(".")
    return check.message


def test_authorize_names_oauth_off_when_the_client_shows_it() -> None:
    """invalid_request (as observed) or unauthorized_client (as documented) for a client with OAuth off
    names OAuth being off."""
    off = dataclasses.replace(CLIENT, oauth_enabled=False)
    for error in ("invalid_request", "unauthorized_client"):
        message = _authorize_message(off, AuthorizeProbe("", 302, error, HINTS[error]))
        assert f"Cognito answers {error}: OAuth / hosted UI is not enabled for the app client VehicleApp" in message


def test_authorize_keeps_cognitos_hint_when_oauth_is_on() -> None:
    """With OAuth on, invalid_request keeps the general hint, which still names OAuth being off among its causes."""
    message = _authorize_message(CLIENT, AuthorizeProbe("", 302, "invalid_request", HINTS["invalid_request"]))
    assert "OAuth / hosted UI not enabled for this app client" in message
    assert "unknown client id" in message


def test_authorize_takes_loopback_http_callbacks() -> None:
    """http://127.0.0.1 and http://[::1] callbacks beside the instance's are probed, not refused for their scheme."""
    client = dataclasses.replace(CLIENT, callback_urls=(CALLBACK, "http://127.0.0.1:8080/cb", "http://[::1]:8080/cb"))
    check = Check("hostedui.authorize")
    hostedui_checks.test_authorize(client, DOMAIN, _probes(client, AuthorizeProbe("", 302, "", "")), load_spec(), check)
    assert len(check.evidence["probes"]) == 3
    assert "sign-in page" in check.message


def test_implicit_callback_names_a_missing_branding_style() -> None:
    """ "Login pages unavailable" fails with what to do:
    give the app client a branding style, or use the classic hosted UI."""
    signed_in = HostedSignIn("", CALLBACK, login_pages_unavailable=True, error=UNAVAILABLE_SENTENCE)
    message = _callback_message(signed_in)
    assert "Login pages unavailable" in message
    assert "VehicleApp" in message
    assert "style" in message
    assert "Hosted UI (classic)" in message


def test_implicit_callback_names_the_methods_offered_without_a_password() -> None:
    """A sign-in method step without a password option fails naming the methods offered and what to change."""
    signed_in = HostedSignIn(
        "",
        CALLBACK,
        sign_in_methods=["Passkey", "Email message one-time password"],
        method_choice_without_password=True,
        error="x",
    )
    message = _callback_message(signed_in)
    assert "offers no password option (it offers Passkey and Email message one-time password)" in message
    assert "allow password sign-in" in message

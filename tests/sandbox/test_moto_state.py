"""Tests for the pieces the sandbox's layers share: moto lookups, sign-in rules, SigV4, pending state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.cognitoidp.models import cognitoidp_backends
from moto.server import DomainDispatcherApplication, create_backend_app

from grader.sandbox.expiring import ExpiringStore
from grader.sandbox.moto_state import (
    auth_session_seconds,
    find_user_pool,
    missing_required_attributes,
    password_matches,
    reveals_missing_users,
    sign_in_refusal,
)
from grader.sandbox.wsgi import SigV4Credential, sigv4_credential
from tests.sandbox.serving import REGION, client, reset, serving

DEFAULT_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111122223333"
TEMP_PASSWORD = "ILove2SeeTheTemple!"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(DomainDispatcherApplication(create_backend_app)) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(url: str) -> None:
    reset(url)


def _pool(url: str, account: str | None = None, domain: str = "", **settings: Any) -> tuple[str, str]:
    idp = client(url, account=account)
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool", **settings)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app")["UserPoolClient"]["ClientId"]
    if domain:
        idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)
    return pool_id, client_id


# ---------------------------------------------------------------------- find_user_pool


def test_a_pool_is_found_by_id_client_and_domain(url: str) -> None:
    pool_id, client_id = _pool(url, domain="vehicleapp-quick")
    for found in (
        find_user_pool(DEFAULT_ACCOUNT, pool_id=pool_id),
        find_user_pool(DEFAULT_ACCOUNT, client_id=client_id),
        find_user_pool(DEFAULT_ACCOUNT, domain="vehicleapp-quick"),
        find_user_pool(DEFAULT_ACCOUNT, domain="vehicleapp-quick", region=REGION),
    ):
        assert found is not None
        assert (found.account, found.region, found.pool.id) == (DEFAULT_ACCOUNT, REGION, pool_id)
        assert found.backend is cognitoidp_backends[DEFAULT_ACCOUNT][REGION]


def test_nothing_is_found_for_nothing_or_a_stranger(url: str) -> None:
    _pool(url, domain="vehicleapp-quick")
    assert find_user_pool(DEFAULT_ACCOUNT) is None
    assert find_user_pool(DEFAULT_ACCOUNT, pool_id="", client_id="") is None
    assert find_user_pool(DEFAULT_ACCOUNT, pool_id="us-east-1_nothere") is None
    assert find_user_pool(DEFAULT_ACCOUNT, client_id="nosuchclient") is None
    assert find_user_pool(DEFAULT_ACCOUNT, domain="vehicleapp-quick", region="eu-west-1") is None


def test_a_custom_domain_is_only_found_as_one(url: str) -> None:
    pool_id, _ = _pool(url, domain="vehicleapp-quick")
    idp = client(url)
    certificate = f"arn:aws:acm:{REGION}:{DEFAULT_ACCOUNT}:certificate/0000"
    idp.create_user_pool_domain(
        Domain="auth.example.com", UserPoolId=pool_id, CustomDomainConfig={"CertificateArn": certificate}
    )
    found = find_user_pool(DEFAULT_ACCOUNT, custom_domain="auth.example.com")
    assert found is not None
    assert found.pool.id == pool_id
    assert find_user_pool(DEFAULT_ACCOUNT, custom_domain="vehicleapp-quick") is None


def test_the_preferred_account_is_searched_first(url: str) -> None:
    mine, _ = _pool(url, domain="shared-prefix")
    theirs, _ = _pool(url, account=OTHER_ACCOUNT, domain="shared-prefix")
    first = find_user_pool(DEFAULT_ACCOUNT, domain="shared-prefix")
    other = find_user_pool(OTHER_ACCOUNT, domain="shared-prefix")
    assert first is not None
    assert (first.account, first.pool.id) == (DEFAULT_ACCOUNT, mine)
    assert other is not None
    assert (other.account, other.pool.id) == (OTHER_ACCOUNT, theirs)
    # An id found in one account only is found whichever account is preferred.
    found = find_user_pool(DEFAULT_ACCOUNT, pool_id=theirs)
    assert found is not None
    assert found.account == OTHER_ACCOUNT


# ---------------------------------------------------------------------- sign-in rules


@dataclass(frozen=True)
class _Janedoe:
    pool: Any
    user: Any
    client: Any


def _janedoe(url: str, **settings: Any) -> _Janedoe:
    pool_id, client_id = _pool(url, **settings)
    idp = client(url)
    idp.admin_create_user(
        UserPoolId=pool_id, Username="janedoe", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS"
    )
    pool = cognitoidp_backends[DEFAULT_ACCOUNT][REGION].user_pools[pool_id]
    return _Janedoe(pool, pool._get_user("janedoe"), pool.clients[client_id])


def test_the_sign_in_rules_follow_the_user_record(url: str) -> None:
    lab = _janedoe(url)
    assert password_matches(lab.user, TEMP_PASSWORD)
    assert not password_matches(lab.user, TEMP_PASSWORD + "x")
    assert sign_in_refusal(lab.user) is None  # FORCE_CHANGE_PASSWORD: signs in, then changes it
    client(url).admin_disable_user(UserPoolId=lab.pool.id, Username="janedoe")
    refusal = sign_in_refusal(lab.user)
    assert refusal is not None
    assert (refusal.error_type, refusal.message) == ("NotAuthorizedException", "User is disabled.")


def test_required_attributes_the_user_lacks(url: str) -> None:
    schema = [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}]
    lab = _janedoe(url, Schema=schema)
    assert missing_required_attributes(lab.pool, lab.user) == ["email"]
    client(url).admin_update_user_attributes(
        UserPoolId=lab.pool.id, Username="janedoe", UserAttributes=[{"Name": "email", "Value": "jane@example.com"}]
    )
    assert missing_required_attributes(lab.pool, lab.user) == []


def test_client_settings_read_for_sign_in(url: str) -> None:
    lab = _janedoe(url)
    assert auth_session_seconds(lab.client) == 180
    assert not reveals_missing_users(lab.client)
    client(url).update_user_pool_client(
        UserPoolId=lab.pool.id, ClientId=lab.client.id, AuthSessionValidity=15, PreventUserExistenceErrors="LEGACY"
    )
    changed = lab.pool.clients[lab.client.id]
    assert auth_session_seconds(changed) == 900
    assert reveals_missing_users(changed)


# ---------------------------------------------------------------------- SigV4 credential


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host",
            SigV4Credential("AKIAEXAMPLE", "eu-west-1", "cognito-idp"),
        ),
        ("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/short", SigV4Credential("AKIAEXAMPLE")),
        ("", None),
        ("Bearer eyJ", None),
    ],
)
def test_sigv4_credential(authorization: str, expected: SigV4Credential | None) -> None:
    assert sigv4_credential({"HTTP_AUTHORIZATION": authorization}) == expected


# ---------------------------------------------------------------------- ExpiringStore


@dataclass(frozen=True)
class _Entry:
    name: str
    expires_at: float


def test_an_expiring_store_keeps_values_until_they_expire() -> None:
    store: ExpiringStore[_Entry] = ExpiringStore()
    live = _Entry("live", time.monotonic() + 60)
    store.put("live", live)
    store.put("stale", _Entry("stale", time.monotonic() - 1))
    assert store.get("live") is live
    assert store.get("live") is live
    assert store.get("stale") is None
    assert store.pop("stale") is None
    assert store.get("absent") is None
    assert store.pop("absent") is None
    assert store.pop("live") is live
    assert store.get("live") is None

"""What the sandbox relies on moto to do, one behaviour per test, checked against moto itself.

The sandbox (grader/sandbox/) wraps moto's server in its own WSGI layers and reads moto's
in-process backends. Each test here names one behaviour of moto that a sandbox function relies on
(its docstring says which) and checks it directly against moto: moto's WSGI app served on a local
port, boto3 against it, raw requests as the browser sends them, or moto's backends, never through
the sandbox's layers. When a test here fails after raising the moto pin, that behaviour changed:
look at the sandbox function the test names (``module.function``, or ``Class.method`` for the classes of
grader/sandbox/). Browser CORS preflights are answered by the sandbox itself (cors.py), so nothing
here depends on how moto answers ``OPTIONS``.

Tests named ``test_gap_...`` show something moto does not do, which the sandbox does itself. When
one of them fails, moto has filled the gap: the sandbox's stand-in may be dropped or simplified.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import boto3
import jwt
import pytest
import requests
from moto.cloudtrail.models import cloudtrail_backends
from moto.cognitoidp.exceptions import (
    InvalidParameterException,
    InvalidPasswordException,
    NotAuthorizedError,
    UserNotConfirmedException,
    UserNotFoundError,
)
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool, UserStatus, cognitoidp_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.ec2.models import ec2_backends
from moto.iam.models import get_account_id_from, iam_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.s3.models import s3_backends
from moto.server import DomainDispatcherApplication, create_backend_app
from moto.sts.models import sts_backends

from grader.sandbox.provision import SANDBOX_AMI
from tests.sandbox.serving import serving

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
STUDENT_ACCOUNT = "210000000001"
OTHER_ACCOUNT = "210000000002"
TEMPORARY = "ILove2SeeTheTemple!"
PASSWORD = "Vehicle-Lab-2024!"
ORIGIN = "https://ec2-44-195-176-112.compute-1.amazonaws.com"
COGNITO = "AWSCognitoIdentityProviderService."
LOOKUP_EVENTS = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
EC2_VERSION = "2016-11-15"


# ---------------------------------------------------------------------- moto's server, as the sandbox runs it


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """moto's WSGI app, built as server._inner_app builds it, on a free local port."""
    with serving(DomainDispatcherApplication(create_backend_app)) as running:
        yield running


@pytest.fixture(autouse=True)
def _empty_moto() -> None:
    moto_api_backend.reset()


def password_sign_in(url: str, client_id: str) -> requests.Response:
    """janedoe's USER_PASSWORD_AUTH sign-in, sent unsigned as the browser SDK sends it."""
    return browser_post(
        url,
        "InitiateAuth",
        {
            "ClientId": client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "janedoe", "PASSWORD": PASSWORD},
        },
    )


def new_password(url: str, client_id: str, session: str) -> requests.Response:
    """janedoe's NEW_PASSWORD_REQUIRED answer, sent unsigned as the browser SDK sends it."""
    return browser_post(
        url,
        "RespondToAuthChallenge",
        {
            "ClientId": client_id,
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": session,
            "ChallengeResponses": {"USERNAME": "janedoe", "NEW_PASSWORD": PASSWORD},
        },
    )


def aws(
    url: str, service: str, *, region: str = REGION, account: str | None = None, keys: dict[str, str] | None = None
) -> Any:
    """A boto3 client for moto's server; `account` sends x-moto-account-id, `keys` are the credentials."""
    credentials = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    made = boto3.client(  # type: ignore[call-overload]  # boto3-stubs types only literal service names
        service, endpoint_url=url, region_name=region, **credentials
    )
    if account:

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        made.meta.events.register(f"before-sign.{made.meta.service_model.endpoint_prefix}.*", add_header)
    return made


def assumed_keys(url: str, account: str, session: str = "provision") -> dict[str, str]:
    """Credentials of a role assumed in `account` (the role need not exist), as provision.in_account gets them."""
    credentials = aws(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/vehicle-lab-grader-read", RoleSessionName=session
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def browser_post(url: str, operation: str, body: dict[str, Any], origin: str | None = None) -> requests.Response:
    """An unsigned Cognito call, as the browser SDK sends it."""
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": COGNITO + operation}
    if origin:
        headers["Origin"] = origin
    return requests.post(url + "/", data=json.dumps(body), headers=headers, timeout=10)


def signed_headers(service: str, region: str = REGION, access_key: str = "testing") -> dict[str, str]:
    """An Authorization header moto routes by (moto does not check the signature)."""
    scope = f"{access_key}/20240101/{region}/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"}


def make_pool(
    url: str,
    *,
    account: str | None = None,
    region: str = REGION,
    client: dict[str, Any] | None = None,
    **pool: Any,
) -> tuple[str, str]:
    """A user pool and one app client: (pool id, client id)."""
    idp = aws(url, "cognito-idp", region=region, account=account)
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool", **pool)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app", **(client or {}))["UserPoolClient"][
        "ClientId"
    ]
    return pool_id, client_id


def make_user(
    url: str,
    pool_id: str,
    name: str = "janedoe",
    *,
    account: str | None = None,
    region: str = REGION,
    confirmed: bool = True,
    attributes: list[dict[str, str]] | None = None,
) -> None:
    """A user made as provision._users makes it: created with a temporary password, then set permanent."""
    idp = aws(url, "cognito-idp", region=region, account=account)
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=name,
        TemporaryPassword=TEMPORARY,
        MessageAction="SUPPRESS",
        UserAttributes=attributes or [],
    )
    if confirmed:
        idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True)


def backend(account: str = DEFAULT_ACCOUNT_ID, region: str = REGION) -> CognitoIdpBackend:
    return cognitoidp_backends[account][region]


def user_pool(pool_id: str, account: str = DEFAULT_ACCOUNT_ID, region: str = REGION) -> CognitoIdpUserPool:
    return backend(account, region).user_pools[pool_id]


def claims_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def password_verifier(pool_id: str, client_id: str, username: str = "janedoe") -> dict[str, Any]:
    """moto's PASSWORD_VERIFIER branch, called as cognito_fidelity._after_password calls it."""
    found = backend()
    session = str(uuid.uuid4())
    found.sessions[session] = (username, found.user_pools[pool_id])
    return found.respond_to_auth_challenge(
        session,
        client_id,
        "PASSWORD_VERIFIER",
        {
            "USERNAME": username,
            "PASSWORD_CLAIM_SECRET_BLOCK": session,
            "PASSWORD_CLAIM_SIGNATURE": "not-a-signature",
            "TIMESTAMP": "Mon Jan 1 00:00:00 UTC 2024",
        },
    )


# ---------------------------------------------------------------------- the server: reset, routing, CORS


def _reset_directly(url: str) -> None:
    moto_api_backend.reset()


def _reset_over_http(url: str) -> None:
    requests.post(url + "/moto-api/reset", timeout=10).raise_for_status()


@pytest.mark.parametrize("reset", [_reset_directly, _reset_over_http], ids=["moto_api_backend", "POST /moto-api/reset"])
def test_reset_empties_every_backend(url: str, reset: Callable[[str], None]) -> None:
    """moto's reset empties every backend; the sandbox relies on it in server.Sandbox.start/reset to start empty."""
    make_pool(url, account=STUDENT_ACCOUNT)
    aws(url, "ec2").run_instances(ImageId=SANDBOX_AMI, MinCount=1, MaxCount=1)
    aws(url, "s3").create_bucket(Bucket="vehicle-lab-trail")
    aws(url, "cloudtrail").create_trail(Name="vehicle-lab", S3BucketName="vehicle-lab-trail")
    keys = assumed_keys(url, STUDENT_ACCOUNT)

    reset(url)

    assert not any(b.user_pools for regional in cognitoidp_backends.values() for b in regional.values())
    assert not any(b.all_instances() for regional in ec2_backends.values() for b in regional.values())
    assert not any(b.trails for regional in cloudtrail_backends.values() for b in regional.values())
    assert "vehicle-lab-trail" not in s3_backends.bucket_accounts
    assert get_account_id_from(keys["aws_access_key_id"]) == DEFAULT_ACCOUNT_ID


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("cognito-idp", lambda c: c.list_user_pools(MaxResults=10)),
        ("ec2", lambda c: c.describe_instances()),
        ("s3", lambda c: c.list_buckets()),
        ("cloudtrail", lambda c: c.describe_trails()),
        ("sts", lambda c: c.get_caller_identity()),
        ("iam", lambda c: c.list_users()),
    ],
)
def test_signed_calls_are_routed_by_their_credential_scope(url: str, service: str, call: Callable[[Any], Any]) -> None:
    """moto routes a SigV4 call by its credential scope; the sandbox relies on it in server._inner_app (one port)."""
    answer = call(aws(url, service))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_unknown_client_id_is_a_json_resource_not_found(url: str) -> None:
    """moto answers an unknown ClientId ResourceNotFoundException; the sandbox relies on it in CognitoFidelity._find."""
    # Also cloudtrail_records.error_of: the error code of moto's answers is read from ``__type``.
    answer = browser_post(
        url,
        "InitiateAuth",
        {"ClientId": "nosuchclient", "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "janedoe"}},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["__type"] == "ResourceNotFoundException"
    assert isinstance(body["message"], str)


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (ORIGIN, [("Access-Control-Allow-Origin", ORIGIN), ("Vary", "Origin")]),
        (None, [("Access-Control-Allow-Origin", "*")]),
    ],
    ids=["with Origin", "without Origin"],
)
def test_simple_answers_carry_cors_headers(url: str, origin: str | None, expected: list[tuple[str, str]]) -> None:
    """moto's flask-cors lets any origin read its answers; the sandbox relies on it in server.Gateway.__call__."""
    # cors.allow_origin gives the sandbox's own answers these same headers.
    answer = browser_post(url, "GetUser", {"AccessToken": "not-a-token"}, origin=origin)
    assert answer.status_code == 400
    for name, value in expected:
        assert answer.headers.get(name) == value


def test_unsigned_calls_find_the_client_in_any_account_and_region(url: str) -> None:
    """moto finds an unsigned call's client in any account; the sandbox relies on it in CognitoFidelity.__call__."""
    # CognitoFidelity answers USER_SRP_AUTH and USER_PASSWORD_AUTH; other flows reach moto unsigned, as here.
    pool_id, client_id = make_pool(
        url,
        account=STUDENT_ACCOUNT,
        region=OTHER_REGION,
        client={"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]},
    )
    make_user(url, pool_id, account=STUDENT_ACCOUNT, region=OTHER_REGION)
    signed_in = password_sign_in(url, client_id)
    assert signed_in.status_code == 200, signed_in.text
    refresh_token = signed_in.json()["AuthenticationResult"]["RefreshToken"]
    refreshed = browser_post(
        url,
        "InitiateAuth",
        {
            "ClientId": client_id,
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": refresh_token},
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["AuthenticationResult"]["AccessToken"]


def test_unsigned_new_password_required_finds_the_session_in_any_account_and_region(url: str) -> None:
    """moto finds a session put in any backend; the sandbox relies on it in cognito_fidelity._after_password."""
    # Also CognitoFidelity._respond_to_auth_challenge, which passes NEW_PASSWORD_REQUIRED on to moto.
    pool_id, client_id = make_pool(url, account=STUDENT_ACCOUNT, region=OTHER_REGION)
    make_user(url, pool_id, account=STUDENT_ACCOUNT, region=OTHER_REGION, confirmed=False)
    found = backend(STUDENT_ACCOUNT, OTHER_REGION)
    session = str(uuid.uuid4())
    found.sessions[session] = ("janedoe", found.user_pools[pool_id])

    answer = new_password(url, client_id, session)
    assert answer.status_code == 200, answer.text
    assert answer.json()["AuthenticationResult"]["IdToken"]
    user = found.user_pools[pool_id].users["janedoe"]
    assert (user.password, user.status) == (PASSWORD, UserStatus.CONFIRMED)


def test_unsigned_get_user_accepts_a_token_registered_in_access_tokens(url: str) -> None:
    """moto's GetUser accepts tokens put in pool.access_tokens: relied on in hosted_ui_tokens.mint_tokens."""
    pool_id, client_id = make_pool(url, account=STUDENT_ACCOUNT, region=OTHER_REGION)
    make_user(url, pool_id, account=STUDENT_ACCOUNT, region=OTHER_REGION)
    pool = user_pool(pool_id, STUDENT_ACCOUNT, OTHER_REGION)
    token, _ = pool.create_jwt(client_id, "janedoe", "access", extra_data={"scope": "openid"})
    pool.access_tokens[token] = (client_id, "janedoe")

    answer = browser_post(url, "GetUser", {"AccessToken": token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["Username"] == "janedoe"


def test_jwks_is_served_and_verifies_create_jwt_tokens(url: str) -> None:
    """moto serves a JWKS that verifies create_jwt tokens; the sandbox relies on it in hosted_ui_tokens.mint_tokens."""
    # The grader checks the hosted UI's tokens against this JWKS, read through the sandbox (grader.tokens.jwks_url).
    pool_id, client_id = make_pool(url)
    make_user(url, pool_id)
    token, _ = user_pool(pool_id).create_jwt(client_id, "janedoe", "id")

    jwks = requests.get(f"{url}/{pool_id}/.well-known/jwks.json", timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    verified = jwt.decode(token, key=jwt.PyJWK(key).key, algorithms=["RS256"], options={"verify_aud": False})
    assert verified["cognito:username"] == "janedoe"


# ---------------------------------------------------------------------- accounts and identities


def _default(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return {}


def _header(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return {"account": OTHER_ACCOUNT}


def _assumed_key(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return {"keys": assumed_keys(url, STUDENT_ACCOUNT)}


def _header_and_assumed_key(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return {"keys": assumed_keys(url, STUDENT_ACCOUNT), "account": OTHER_ACCOUNT}


def _env_and_header(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", STUDENT_ACCOUNT)
    return {"account": OTHER_ACCOUNT}


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (_default, DEFAULT_ACCOUNT_ID),
        (_header, OTHER_ACCOUNT),
        (_assumed_key, STUDENT_ACCOUNT),
        (_header_and_assumed_key, OTHER_ACCOUNT),
        (_env_and_header, STUDENT_ACCOUNT),
    ],
    ids=["unknown key", "x-moto-account-id", "assumed-role key", "header before key", "MOTO_ACCOUNT_ID before header"],
)
def test_account_of_a_request(
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    setup: Callable[[str, pytest.MonkeyPatch], dict[str, Any]],
    expected: str,
) -> None:
    """moto picks the account by env, header, then key; the sandbox relies on it in moto_state.default_account_id."""
    # Also provision.in_account and classroom.set_up_class: each student's account is an assumed role's.
    assert DEFAULT_ACCOUNT_ID == "123456789012"
    client_args = setup(url, monkeypatch)
    pool_id = aws(url, "cognito-idp", **client_args).create_user_pool(PoolName="p")["UserPool"]["Id"]
    holders = [account for account, regional in cognitoidp_backends.items() if pool_id in regional[REGION].user_pools]
    assert holders == [expected]


def test_get_account_id_from_maps_access_keys_to_their_account(url: str) -> None:
    """moto's get_account_id_from maps keys to accounts; the sandbox relies on it in moto_state.default_account_id."""
    role_key = assumed_keys(url, STUDENT_ACCOUNT)["aws_access_key_id"]
    iam = aws(url, "iam", account=OTHER_ACCOUNT)
    iam.create_user(UserName="teacher")
    user_key = iam.create_access_key(UserName="teacher")["AccessKey"]["AccessKeyId"]
    assert get_account_id_from(role_key) == STUDENT_ACCOUNT
    assert get_account_id_from(user_key) == OTHER_ACCOUNT
    assert get_account_id_from("AKIAUNKNOWNKEY000000") == DEFAULT_ACCOUNT_ID


def test_any_role_can_be_assumed_and_its_keys_are_that_account(url: str) -> None:
    """moto lets any role ARN be assumed, as that account; the sandbox relies on it in provision.in_account."""
    # Also classroom._credentials_text and provision._put_junk_log_file (GetCallerIdentity's Account).
    keys = assumed_keys(url, STUDENT_ACCOUNT, session="student-1")
    identity = aws(url, "sts", keys=keys).get_caller_identity()
    assert identity["Account"] == STUDENT_ACCOUNT
    assert identity["Arn"] == f"arn:aws:sts::{STUDENT_ACCOUNT}:assumed-role/vehicle-lab-grader-read/student-1"


def test_sts_backend_finds_an_assumed_role_by_its_access_key(url: str) -> None:
    """moto's STS backend finds an assumed role by its key; the sandbox relies on it in moto_state.key_owner."""
    key = assumed_keys(url, STUDENT_ACCOUNT, session="student-1")["aws_access_key_id"]
    found = [
        role
        for regional in sts_backends.values()
        for sts in regional.values()
        if (role := sts.get_assumed_role_from_access_key(key)) is not None
    ]
    assert len(found) == 1
    role = found[0]
    assert role.role_arn == f"arn:aws:iam::{STUDENT_ACCOUNT}:role/vehicle-lab-grader-read"
    assert (role.session_name, role.account_id) == ("student-1", STUDENT_ACCOUNT)
    assert role.user_id.endswith(":student-1")
    assert role.arn == f"arn:aws:sts::{STUDENT_ACCOUNT}:assumed-role/vehicle-lab-grader-read/student-1"
    assert isinstance(role.access_key.create_date, datetime)
    assert sts_backends[STUDENT_ACCOUNT]["aws"].get_assumed_role_from_access_key("ASIAUNKNOWN") is None


def test_iam_backend_finds_a_user_by_access_key(url: str) -> None:
    """moto's IAM backend finds a user by access key; the sandbox relies on it in moto_state.key_owner."""
    iam = aws(url, "iam", account=OTHER_ACCOUNT)
    made = iam.create_user(UserName="teacher")["User"]
    key = iam.create_access_key(UserName="teacher")["AccessKey"]["AccessKeyId"]
    iam_backend = iam_backends[OTHER_ACCOUNT]["aws"]
    user = iam_backend.get_user_from_access_key_id(key)
    assert user is not None
    assert (user.id, user.arn, user.account_id, user.name) == (made["UserId"], made["Arn"], OTHER_ACCOUNT, "teacher")
    assert iam_backend.get_user_from_access_key_id("AKIAUNKNOWNKEY000000") is None


def test_get_caller_identity_of_an_unknown_key_is_user_moto(url: str) -> None:
    """moto's GetCallerIdentity names an unknown key user moto; the sandbox copies it in moto_state.key_owner."""
    identity = aws(url, "sts", account=OTHER_ACCOUNT).get_caller_identity()
    assert identity["UserId"] == "AKIAIOSFODNN7EXAMPLE"
    assert identity["Account"] == OTHER_ACCOUNT
    assert identity["Arn"].endswith(f"::{OTHER_ACCOUNT}:user/moto")


def test_gap_an_assumed_role_not_in_iam_gets_a_new_id_on_every_read(url: str) -> None:
    """Gap: moto invents a role id per read for a role not in IAM: cached in cloudtrail_identity.resolve_context."""
    key = assumed_keys(url, STUDENT_ACCOUNT)["aws_access_key_id"]
    role = sts_backends[STUDENT_ACCOUNT]["aws"].get_assumed_role_from_access_key(key)
    assert role is not None
    first, second = role.user_id, role.user_id
    assert first != second


# ---------------------------------------------------------------------- user pools as moto keeps them


def test_pools_clients_and_domains_are_found_by_account_and_region(url: str) -> None:
    """moto keeps pools, clients and domains per region; the sandbox relies on it in moto_state.find_user_pool."""
    pool_id, client_id = make_pool(url, account=STUDENT_ACCOUNT, region=OTHER_REGION)
    idp = aws(url, "cognito-idp", region=OTHER_REGION, account=STUDENT_ACCOUNT)
    idp.create_user_pool_domain(Domain="vehicleapp-quick", UserPoolId=pool_id)
    certificate = f"arn:aws:acm:{REGION}:{STUDENT_ACCOUNT}:certificate/0000"
    idp.create_user_pool_domain(
        Domain="auth.vehicle.example", UserPoolId=pool_id, CustomDomainConfig={"CertificateArn": certificate}
    )

    regional = dict(cognitoidp_backends.items())[STUDENT_ACCOUNT]
    found = dict(regional.items())[OTHER_REGION]
    pool = found.user_pools[pool_id]
    assert pool.id == pool_id
    assert pool.clients[client_id].id == client_id
    prefix, custom = found.user_pool_domains["vehicleapp-quick"], found.user_pool_domains["auth.vehicle.example"]
    assert (prefix.user_pool_id, prefix.custom_domain_config) == (pool_id, {})
    assert custom.user_pool_id == pool_id
    assert custom.custom_domain_config["CertificateArn"] == certificate


def test_backend_dict_get_creates_no_account() -> None:
    """moto's backend dict .get creates no store; the sandbox relies on it in moto_state.account_trails."""
    assert cloudtrail_backends.get("999999999999") is None
    assert "999999999999" not in cloudtrail_backends


def _created(idp: Any, pool_id: str, client_id: str) -> None:
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="janedoe",
        TemporaryPassword=TEMPORARY,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "jane@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )


def _set_permanent(idp: Any, pool_id: str, client_id: str) -> None:
    _created(idp, pool_id, client_id)
    idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)


def _disabled(idp: Any, pool_id: str, client_id: str) -> None:
    _set_permanent(idp, pool_id, client_id)
    idp.admin_disable_user(UserPoolId=pool_id, Username="janedoe")


def _reset_required(idp: Any, pool_id: str, client_id: str) -> None:
    _set_permanent(idp, pool_id, client_id)
    idp.admin_reset_user_password(UserPoolId=pool_id, Username="janedoe")


def _signed_up(idp: Any, pool_id: str, client_id: str) -> None:
    idp.sign_up(ClientId=client_id, Username="janedoe", Password=PASSWORD)


@pytest.mark.parametrize(
    ("made", "status", "enabled", "password"),
    [
        (_created, UserStatus.FORCE_CHANGE_PASSWORD, True, TEMPORARY),
        (_set_permanent, UserStatus.CONFIRMED, True, PASSWORD),
        (_disabled, UserStatus.CONFIRMED, False, PASSWORD),
        (_reset_required, UserStatus.RESET_REQUIRED, True, PASSWORD),
        (_signed_up, UserStatus.UNCONFIRMED, True, PASSWORD),
    ],
    ids=[
        "admin_create_user",
        "admin_set_user_password permanent",
        "admin_disable_user",
        "admin_reset_user_password",
        "sign_up",
    ],
)
def test_user_status_enabled_and_password_follow_the_calls(
    url: str, made: Callable[[Any, str, str], None], status: UserStatus, enabled: bool, password: str
) -> None:
    """moto's user keeps status, enabled, clear password; the sandbox relies on it in moto_state.sign_in_refusal."""
    # Also moto_state.password_matches and HostedUI._login_post (the temporary password signs in).
    pool_id, client_id = make_pool(url)
    made(aws(url, "cognito-idp"), pool_id, client_id)
    user = user_pool(pool_id).users["janedoe"]
    assert (user.status, user.enabled, user.password) == (status, enabled, password)
    assert user.status == status.value


def test_user_attributes_are_name_value_pairs_with_the_sub(url: str) -> None:
    """moto's user.attributes are Name/Value pairs with the sub; the sandbox relies on it in moto_state.user_sub."""
    # Also cognito_fidelity._new_password_parameters and hosted_ui_tokens._id_claims.
    pool_id, _ = make_pool(url)
    make_user(url, pool_id, attributes=[{"Name": "email", "Value": "jane@example.com"}])
    user = user_pool(pool_id).users["janedoe"]
    values = {attribute["Name"]: attribute["Value"] for attribute in user.attributes}
    assert values["email"] == "jane@example.com"
    assert values["sub"] == user.id


def test_get_user_finds_by_username_or_username_attribute_and_none_otherwise(url: str) -> None:
    """moto's pool._get_user finds by username or email, else None; the sandbox relies on it in moto_state.find_user."""
    # Also cognito_fidelity.CognitoFidelity._initiate_auth and moto_state.user_sub.
    plain_id, _ = make_pool(url)
    make_user(url, plain_id)
    by_email_id, _ = make_pool(url, UsernameAttributes=["email"])
    make_user(url, by_email_id, "jane@example.com")

    plain, by_email = user_pool(plain_id), user_pool(by_email_id)
    assert plain._get_user("janedoe").username == "janedoe"
    assert plain._get_user("nobody") is None
    found = by_email._get_user("jane@example.com")
    assert found is not None
    assert found.username == found.id
    assert by_email._get_user("nobody@example.com") is None


CLIENT_SETTINGS: dict[str, Any] = {
    "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    "PreventUserExistenceErrors": "LEGACY",
    "AuthSessionValidity": 5,
    "AllowedOAuthFlowsUserPoolClient": True,
    "AllowedOAuthFlows": ["implicit"],
    "AllowedOAuthScopes": ["openid", "email"],
    "SupportedIdentityProviders": ["COGNITO"],
    "CallbackURLs": [ORIGIN + "/callback.html"],
    "LogoutURLs": [ORIGIN + "/logout.html"],
    "ReadAttributes": ["email", "email_verified"],
    "AccessTokenValidity": 30,
    "IdTokenValidity": 2,
    "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "hours"},
}


def test_client_extended_config_keeps_the_request_members(url: str) -> None:
    """moto keeps client settings in extended_config; the sandbox relies on it in hosted_ui_flow.validate."""
    # Also moto_state.reveals_missing_users and auth_session_seconds, cognito_fidelity.effective_auth_flows,
    # hosted_ui_tokens._validity_seconds, hosted_ui_tokens._id_claims and HostedUI._logout.
    pool_id, client_id = make_pool(url, client=CLIENT_SETTINGS)
    kept = user_pool(pool_id).clients[client_id].extended_config
    assert {member: kept.get(member) for member in CLIENT_SETTINGS} == CLIENT_SETTINGS


def test_client_secret_is_kept_on_the_client(url: str) -> None:
    """moto keeps a client's secret; the sandbox relies on it in cognito_fidelity._check_secret_hash."""
    pool_id, plain_id = make_pool(url)
    idp = aws(url, "cognito-idp")
    answered = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="secret", GenerateSecret=True)
    client_id = answered["UserPoolClient"]["ClientId"]
    clients = user_pool(pool_id).clients
    assert clients[client_id].generate_secret is True
    assert clients[client_id].secret == answered["UserPoolClient"]["ClientSecret"]
    assert clients[plain_id].generate_secret is False


def test_pool_keeps_its_password_policy_and_mfa_setting(url: str) -> None:
    """moto keeps a pool's password policy and MFA: relied on in hosted_ui_flow.password_policy_problem."""
    # Also hosted_ui_flow.sign_in_blocked (mfa_config).
    policy = {
        "MinimumLength": 12,
        "RequireUppercase": True,
        "RequireLowercase": True,
        "RequireNumbers": False,
        "RequireSymbols": False,
        "TemporaryPasswordValidityDays": 7,
    }
    pool_id, _ = make_pool(url, Policies={"PasswordPolicy": policy}, MfaConfiguration="OPTIONAL")
    pool = user_pool(pool_id)
    assert pool.extended_config["Policies"]["PasswordPolicy"] == policy
    assert pool.mfa_config == "OPTIONAL"


def test_schema_attributes_say_which_are_required(url: str) -> None:
    """moto marks required schema attributes; the sandbox relies on it in moto_state.missing_required_attributes."""
    default_id, _ = make_pool(url)
    required = {name for name, a in user_pool(default_id).schema_attributes.items() if a.required}
    assert required == {"sub"}
    email_schema = [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}]
    with_email_id, _ = make_pool(url, Schema=email_schema)
    assert user_pool(with_email_id).schema_attributes["email"].required is True


def test_user_groups_and_mfa_flags(url: str) -> None:
    """moto's user keeps groups and MFA flags; the sandbox relies on it in hosted_ui_tokens.mint_tokens."""
    # Also hosted_ui_flow.sign_in_blocked (the MFA flags).
    pool_id, _ = make_pool(url)
    make_user(url, pool_id)
    idp = aws(url, "cognito-idp")
    user = user_pool(pool_id).users["janedoe"]
    assert (user.sms_mfa_enabled, user.software_token_mfa_enabled) == (False, False)
    idp.create_group(UserPoolId=pool_id, GroupName="drivers")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="janedoe", GroupName="drivers")
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="janedoe", SMSMfaSettings={"Enabled": True})
    assert [group.group_name for group in user.groups] == ["drivers"]
    assert user.sms_mfa_enabled is True


# ---------------------------------------------------------------------- moto's Cognito calls the sandbox makes


def _confirmed(url: str, pool_id: str) -> None:
    make_user(url, pool_id)


def _force_change(url: str, pool_id: str) -> None:
    make_user(url, pool_id, confirmed=False)


def _sms_mfa(url: str, pool_id: str) -> None:
    make_user(url, pool_id)
    aws(url, "cognito-idp").admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username="janedoe", SMSMfaSettings={"Enabled": True}
    )


@pytest.mark.parametrize(
    ("user", "challenge"),
    [(_confirmed, None), (_force_change, "NEW_PASSWORD_REQUIRED"), (_sms_mfa, "SMS_MFA")],
    ids=["confirmed: tokens", "FORCE_CHANGE_PASSWORD", "SMS MFA"],
)
def test_password_verifier_takes_any_claim_and_answers_tokens_or_the_next_challenge(
    url: str, user: Callable[[str, str], None], challenge: str | None
) -> None:
    """moto's PASSWORD_VERIFIER checks no claim; the sandbox relies on it in cognito_fidelity._after_password."""
    # The session is found under PASSWORD_CLAIM_SECRET_BLOCK; tokens, MFA and NEW_PASSWORD_REQUIRED stay moto's.
    pool_id, client_id = make_pool(url)
    user(url, pool_id)
    result = password_verifier(pool_id, client_id)
    if challenge is None:
        assert set(result["AuthenticationResult"]) >= {"AccessToken", "IdToken", "RefreshToken", "ExpiresIn"}
        assert not backend().sessions
    else:
        assert result["ChallengeName"] == challenge
        assert result["Session"] in backend().sessions


def test_create_jwt_makes_a_pool_token_with_the_extra_claims(url: str) -> None:
    """moto's pool.create_jwt makes pool tokens with extra claims: relied on in hosted_ui_tokens.mint_tokens."""
    # Also cloudtrail_identity._pool_id_from_token: the pool id is the last part of ``iss``.
    pool_id, client_id = make_pool(url)
    make_user(url, pool_id)
    pool = user_pool(pool_id)
    access, expires_in = pool.create_jwt(
        client_id, "janedoe", "access", expires_in=1800, extra_data={"scope": "openid email", "origin_jti": "j"}
    )
    id_token, _ = pool.create_jwt(client_id, "janedoe", "id", extra_data={"nonce": "n"})
    claims, id_claims = claims_of(access), claims_of(id_token)
    assert expires_in == 1800
    assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    assert claims["exp"] - claims["iat"] == 1800
    assert (claims["token_use"], claims["client_id"], claims["username"]) == ("access", client_id, "janedoe")
    assert (claims["scope"], claims["origin_jti"]) == ("openid email", "j")
    assert claims["sub"] == pool.users["janedoe"].id
    assert (id_claims["token_use"], id_claims["aud"], id_claims["cognito:username"]) == ("id", client_id, "janedoe")
    assert id_claims["nonce"] == "n"


def test_admin_set_user_password_permanent_confirms_and_checks_the_policy(url: str) -> None:
    """moto's admin_set_user_password confirms or refuses; the sandbox relies on it in HostedUI._change_password."""
    pool_id, _ = make_pool(url)
    make_user(url, pool_id, confirmed=False)
    with pytest.raises(InvalidPasswordException):
        backend().admin_set_user_password(pool_id, "janedoe", "short", True)
    backend().admin_set_user_password(pool_id, "janedoe", PASSWORD, True)
    user = user_pool(pool_id).users["janedoe"]
    assert (user.password, user.status) == (PASSWORD, UserStatus.CONFIRMED)


def test_admin_update_user_attributes_adds_attributes(url: str) -> None:
    """moto's admin_update_user_attributes sets attributes; the sandbox relies on it in HostedUI._change_password."""
    pool_id, _ = make_pool(url)
    make_user(url, pool_id, confirmed=False)
    backend().admin_update_user_attributes(pool_id, "janedoe", [{"Name": "name", "Value": "Jane Doe"}])
    values = {a["Name"]: a["Value"] for a in user_pool(pool_id).users["janedoe"].attributes}
    assert values["name"] == "Jane Doe"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotAuthorizedError("Incorrect username or password."), "NotAuthorizedException"),
        (UserNotConfirmedException("User is not confirmed."), "UserNotConfirmedException"),
        (InvalidParameterException("Missing required parameter USERNAME"), "InvalidParameterException"),
        (UserNotFoundError("User does not exist."), "UserNotFoundException"),
        (JsonRESTError("PasswordResetRequiredException", "Password reset required"), "PasswordResetRequiredException"),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_cognito_errors_are_json_rest_errors(error: JsonRESTError, code: str) -> None:
    """moto's Cognito errors are JsonRESTErrors; the sandbox relies on it in CognitoFidelity.__call__ to answer them."""
    # Also hosted_ui_flow.sign_in_blocked, which shows a refusal's ``message``.
    assert isinstance(error, JsonRESTError)
    assert error.code == 400
    assert json.loads(error.get_body()) == {"__type": code, "message": error.message}
    headers = error.get_headers()
    assert all(isinstance(h, tuple) and len(h) == 2 for h in headers)
    assert ("Content-Type", "application/json") in headers


# ---------------------------------------------------------------------- CloudTrail and S3


def test_trails_live_in_their_home_region_with_the_attributes_read(url: str) -> None:
    """moto keeps trails in their home region; the sandbox relies on it in moto_state.account_trails."""
    # Also cloudtrail_delivery.logging_trails, find_trail and LogDelivery._deliver.
    aws(url, "s3", region=OTHER_REGION).create_bucket(
        Bucket="vehicle-lab-trail", CreateBucketConfiguration={"LocationConstraint": OTHER_REGION}
    )
    trails = aws(url, "cloudtrail", region=OTHER_REGION)
    made = trails.create_trail(
        Name="vehicle-lab", S3BucketName="vehicle-lab-trail", S3KeyPrefix="logs", IsMultiRegionTrail=True
    )
    trail = cloudtrail_backends[DEFAULT_ACCOUNT_ID][OTHER_REGION].trails["vehicle-lab"]
    assert (trail.trail_name, trail.arn, trail.bucket_name) == ("vehicle-lab", made["TrailARN"], "vehicle-lab-trail")
    assert (trail.s3_key_prefix, trail.account_id, trail.region_name) == ("logs", DEFAULT_ACCOUNT_ID, OTHER_REGION)
    assert (trail.is_multi_region, trail.kms_key_id) == (True, None)
    assert trail.status.is_logging is False
    trails.start_logging(Name="vehicle-lab")
    assert trail.status.is_logging is True


def test_event_selectors_are_kept_as_sent(url: str) -> None:
    """moto keeps a trail's event selectors as sent; the sandbox relies on it in cloudtrail_delivery._selected."""
    aws(url, "s3").create_bucket(Bucket="vehicle-lab-trail")
    trails = aws(url, "cloudtrail")
    trails.create_trail(Name="basic", S3BucketName="vehicle-lab-trail")
    trails.create_trail(Name="advanced", S3BucketName="vehicle-lab-trail")
    basic = [
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "ExcludeManagementEventSources": ["kms.aws"]}
    ]
    advanced = [{"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    trails.put_event_selectors(TrailName="basic", EventSelectors=basic)
    trails.put_event_selectors(TrailName="advanced", AdvancedEventSelectors=advanced)
    kept = cloudtrail_backends[DEFAULT_ACCOUNT_ID][REGION].trails
    assert kept["basic"].event_selectors == basic
    assert kept["advanced"].advanced_event_selectors == advanced


def test_bucket_accounts_maps_a_bucket_to_its_partition_and_account(url: str) -> None:
    """moto's bucket_accounts names a bucket's owner; the sandbox relies on it in CloudTrailRecorder._deliver."""
    # Also CloudTrailRecorder._patch_status: a logging trail whose bucket is gone shows NoSuchBucket.
    s3 = aws(url, "s3", account=STUDENT_ACCOUNT)
    s3.create_bucket(Bucket="vehicle-lab-trail")
    assert s3_backends.bucket_accounts["vehicle-lab-trail"] == ("aws", STUDENT_ACCOUNT)
    s3.delete_bucket(Bucket="vehicle-lab-trail")
    assert "vehicle-lab-trail" not in s3_backends.bucket_accounts


def test_backend_put_object_stores_a_readable_object(url: str) -> None:
    """moto's S3 backend put_object stores an object; the sandbox relies on it in CloudTrailRecorder._deliver."""
    s3 = aws(url, "s3", account=STUDENT_ACCOUNT)
    s3.create_bucket(Bucket="vehicle-lab-trail")
    s3_backends[STUDENT_ACCOUNT]["aws"].put_object(
        "vehicle-lab-trail", "AWSLogs/x.json.gz", b"data", encryption="AES256", kms_key_id=None
    )
    answer = s3.get_object(Bucket="vehicle-lab-trail", Key="AWSLogs/x.json.gz")
    assert answer["Body"].read() == b"data"
    assert answer["ServerSideEncryption"] == "AES256"


def test_gap_lookup_events_is_not_implemented(url: str) -> None:
    """Gap: moto has no CloudTrail LookupEvents; the sandbox answers it in CloudTrailRecorder._lookup_events."""
    answer = requests.post(
        url + "/",
        data="{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": LOOKUP_EVENTS,
            **signed_headers("cloudtrail"),
        },
        timeout=10,
    )
    assert answer.status_code >= 500


def test_gap_nothing_is_delivered_to_a_logging_trail(url: str) -> None:
    """Gap: moto delivers no log file to a logging trail's bucket; the sandbox does in CloudTrailRecorder.flush."""
    s3 = aws(url, "s3")
    s3.create_bucket(Bucket="vehicle-lab-trail")
    trails = aws(url, "cloudtrail")
    trails.create_trail(Name="vehicle-lab", S3BucketName="vehicle-lab-trail", IsMultiRegionTrail=True)
    trails.start_logging(Name="vehicle-lab")
    make_pool(url)
    assert s3.list_objects_v2(Bucket="vehicle-lab-trail").get("KeyCount") == 0


def test_gap_get_trail_status_reports_a_delivery_that_never_happened(url: str) -> None:
    """Gap: moto's GetTrailStatus invents a delivery; the sandbox corrects it in CloudTrailRecorder._patch_status."""
    s3 = aws(url, "s3")
    s3.create_bucket(Bucket="vehicle-lab-trail")
    trails = aws(url, "cloudtrail")
    trails.create_trail(Name="vehicle-lab", S3BucketName="vehicle-lab-trail")
    trails.start_logging(Name="vehicle-lab")
    s3.delete_bucket(Bucket="vehicle-lab-trail")
    status = trails.get_trail_status(Name="vehicle-lab")
    assert status["IsLogging"] is True
    assert "LatestDeliveryTime" in status
    assert "LatestDeliveryError" not in status


# ---------------------------------------------------------------------- EC2


def test_sandbox_ami_is_one_moto_knows(url: str) -> None:
    """moto knows the sandbox's AMI in us-east-1; the sandbox relies on it in provision._instance."""
    images = aws(url, "ec2").describe_images(ImageIds=[SANDBOX_AMI])["Images"]
    assert [image["ImageId"] for image in images] == [SANDBOX_AMI]


def test_running_instances_have_a_public_dns_name_and_a_launch_time(url: str) -> None:
    """moto's instances have a DNS name and launch time: relied on in moto_state.running_instance_hosts."""
    # Also provision._instance (the PublicDnsName RunInstances answers).
    made = aws(url, "ec2").run_instances(ImageId=SANDBOX_AMI, MinCount=1, MaxCount=1, InstanceType="t2.micro")
    answered = made["Instances"][0]["PublicDnsName"]
    instances = [i for regional in ec2_backends.values() for b in regional.values() for i in b.all_instances()]
    assert len(instances) == 1
    instance = instances[0]
    assert instance.state == "running"
    assert instance.public_dns_name == answered
    assert re.fullmatch(r"ec2-\d+-\d+-\d+-\d+\.compute-1\.amazonaws\.com", answered)
    assert isinstance(instance.launch_time, datetime)


def test_stop_drops_the_public_name_and_start_gives_a_new_one(url: str) -> None:
    """moto's stop drops the public DNS name, start gives a new one; the sandbox relies on it in provision._restart."""
    # Also moto_state.running_instance_hosts: a stopped instance serves no website.
    ec2 = aws(url, "ec2")
    made = ec2.run_instances(ImageId=SANDBOX_AMI, MinCount=1, MaxCount=1)["Instances"][0]
    instance_id, names = made["InstanceId"], {made["PublicDnsName"]}
    instance = ec2_backends[DEFAULT_ACCOUNT_ID][REGION].get_instance(instance_id)
    for _ in range(3):  # a new name is a random address: the same one twice in a row is rare, not impossible
        ec2.stop_instances(InstanceIds=[instance_id])
        assert (instance.state, instance.public_dns_name) == ("stopped", None)
        ec2.start_instances(InstanceIds=[instance_id])
        assert instance.state == "running"
        assert instance.public_dns_name
        names.add(instance.public_dns_name)
        if len(names) > 1:
            break
    assert len(names) > 1


def _ec2_query(url: str, action: str, instance_ids: list[str]) -> requests.Response:
    body = {"Action": action, "Version": EC2_VERSION}
    body.update({f"InstanceId.{n}": i for n, i in enumerate(instance_ids, start=1)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers("ec2")}
    return requests.post(url + "/", data=body, headers=headers, timeout=10)


def _element(parent: ElementTree.Element, path: str) -> str:
    found = parent.find(path)
    assert found is not None, path
    return (found.text or "").strip()


def _strip_namespaces(payload: bytes) -> ElementTree.Element:
    root = ElementTree.fromstring(payload)
    for element in root.iter():
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


@pytest.mark.parametrize(
    ("action", "previous", "current"),
    [("StopInstances", ("16", "running"), ("64", "stopping")), ("StartInstances", ("80", "stopped"), ("0", "pending"))],
)
def test_start_and_stop_answer_an_instances_set(
    url: str, action: str, previous: tuple[str, str], current: tuple[str, str]
) -> None:
    """moto answers Start/StopInstances with instancesSet: relied on in cloudtrail_ec2.instance_changes."""
    ec2 = aws(url, "ec2")
    instance_id = ec2.run_instances(ImageId=SANDBOX_AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    if action == "StartInstances":
        ec2.stop_instances(InstanceIds=[instance_id])
    answer = _ec2_query(url, action, [instance_id])
    assert answer.status_code == 200, answer.text
    items = _strip_namespaces(answer.content).findall(".//instancesSet/item")
    assert len(items) == 1
    item = items[0]
    assert _element(item, "instanceId") == instance_id
    assert (_element(item, "previousState/code"), _element(item, "previousState/name")) == previous
    assert (_element(item, "currentState/code"), _element(item, "currentState/name")) == current


def test_start_of_an_unknown_instance_is_an_xml_error(url: str) -> None:
    """moto answers EC2 errors as XML Code/Message; the sandbox relies on it in cloudtrail_ec2.ec2_error."""
    answer = _ec2_query(url, "StartInstances", ["i-0123456789abcdef0"])
    assert answer.status_code == 400
    root = _strip_namespaces(answer.content)
    assert _element(root, ".//Error/Code") == "InvalidInstanceID.NotFound"
    assert _element(root, ".//Error/Message")


# ---------------------------------------------------------------------- Cognito sign-in gaps


def test_gap_srp_challenge_names_the_sub_and_is_no_srp(url: str) -> None:
    """Gap: moto's USER_SRP_AUTH is no SRP and names the sub; the sandbox does SRP in CognitoFidelity._srp_challenge."""
    pool_id, client_id = make_pool(url)
    make_user(url, pool_id)
    answer = browser_post(
        url,
        "InitiateAuth",
        {"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "janedoe", "SRP_A": "1"}},
    )
    assert answer.status_code == 200, answer.text
    parameters = answer.json()["ChallengeParameters"]
    assert parameters["USER_ID_FOR_SRP"] == user_pool(pool_id).users["janedoe"].id
    assert parameters["USER_ID_FOR_SRP"] != "janedoe"


def test_gap_explicit_auth_flows_are_not_enforced(url: str) -> None:
    """Gap: moto ignores ExplicitAuthFlows; the sandbox enforces them in cognito_fidelity.effective_auth_flows."""
    pool_id, client_id = make_pool(url, client={"ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH"]})
    make_user(url, pool_id)
    answer = password_sign_in(url, client_id)
    assert answer.status_code == 200, answer.text


def test_gap_new_password_required_lacks_the_user_attributes(url: str) -> None:
    """Gap: moto omits userAttributes; the sandbox adds them in cognito_fidelity._new_password_parameters."""
    pool_id, client_id = make_pool(url)
    make_user(url, pool_id, confirmed=False)
    parameters = password_verifier(pool_id, client_id)["ChallengeParameters"]
    assert "userAttributes" not in parameters
    assert "requiredAttributes" not in parameters


def test_gap_new_password_required_skips_the_secret_hash(url: str) -> None:
    """Gap: moto skips SECRET_HASH on a new password; the sandbox checks it in cognito_fidelity._check_secret_hash."""
    pool_id, client_id = make_pool(url, client={"GenerateSecret": True})
    make_user(url, pool_id, confirmed=False)
    session = password_verifier(pool_id, client_id)["Session"]
    answer = new_password(url, client_id, session)
    assert answer.status_code == 200, answer.text


def test_gap_password_verifier_signs_in_a_disabled_user(url: str) -> None:
    """Gap: moto's PASSWORD_VERIFIER signs in a disabled user; the sandbox refuses in moto_state.sign_in_refusal."""
    pool_id, client_id = make_pool(url)
    make_user(url, pool_id)
    aws(url, "cognito-idp").admin_disable_user(UserPoolId=pool_id, Username="janedoe")
    assert "AuthenticationResult" in password_verifier(pool_id, client_id)

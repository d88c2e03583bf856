"""Tests for the AWS-faithful Cognito sign-in middleware (grader.sandbox.cognito_fidelity)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.jwk import KeySet
from moto.server import DomainDispatcherApplication, create_backend_app
from moto.utilities.utils import load_resource

from grader.sandbox import srp
from grader.sandbox.cognito_fidelity import (
    CognitoFidelity,
    default_account_id,
    effective_auth_flows,
)
from tests.sandbox.serving import ORIGIN, browser_post, client, reset, serving

REGION = "us-east-1"
TEMP_PASSWORD = "ILove2SeeTheTemple!"
PASSWORD = "Ilove2SeeTheTemple!!"
SRP_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
OTHER_ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(CognitoFidelity(DomainDispatcherApplication(create_backend_app))) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(url: str) -> None:
    reset(url)


def _client(url: str, account: str | None = None) -> Any:
    return client(url, account=account)


@pytest.fixture(scope="module")
def idp(url: str) -> Any:
    return _client(url)


def _setup(
    idp: Any, *, flows: list[str] | None = SRP_FLOWS, confirmed: bool = True, **client_kw: Any
) -> tuple[str, str]:
    """A VehicleAppUserPool with one app client and janedoe; returns (pool id, client id)."""
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    if flows is not None:
        client_kw["ExplicitAuthFlows"] = flows
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="VehicleApp", **client_kw)["UserPoolClient"][
        "ClientId"
    ]
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="janedoe",
        TemporaryPassword=TEMP_PASSWORD,
        UserAttributes=[
            {"Name": "email", "Value": "janedoe@example.com"},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    if confirmed:
        idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
    return pool_id, client_id


def _srp_start(
    idp: Any, pool_id: str, client_id: str, username: str = "janedoe", **extra: str
) -> tuple[srp.SrpClient, dict[str, Any]]:
    client = srp.SrpClient(pool_id)
    resp = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": username, "SRP_A": client.srp_a_hex, **extra},
    )
    return client, resp


def _srp_login(idp: Any, pool_id: str, client_id: str, password: str, username: str = "janedoe") -> dict[str, Any]:
    client, resp = _srp_start(idp, pool_id, client_id, username)
    assert resp["ChallengeName"] == "PASSWORD_VERIFIER"
    return idp.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=client.challenge_responses(resp["ChallengeParameters"], password),
    )


def _claims(token: str) -> dict[str, Any]:
    """Verify an RS256 token against moto's published JWKS and return its claims."""
    public = load_resource("cognitoidp/resources/jwks-public.json")
    decoded = jwt.decode(token, KeySet.import_key_set(public), algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256"
    return dict(decoded.claims)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


# ---------------------------------------------------------------------- USER_SRP_AUTH


def test_right_password_logs_in_over_srp(idp: Any) -> None:
    """The right password over USER_SRP_AUTH yields moto's RS256 tokens for janedoe and the client."""
    pool_id, client_id = _setup(idp)
    result = _srp_login(idp, pool_id, client_id, PASSWORD)["AuthenticationResult"]
    assert {"IdToken", "AccessToken", "RefreshToken"} <= result.keys()
    claims = _claims(result["IdToken"])
    assert claims["cognito:username"] == "janedoe"
    assert claims["aud"] == client_id
    assert claims["token_use"] == "id"
    assert claims["iss"].endswith("/" + pool_id)
    assert _claims(result["AccessToken"])["client_id"] == client_id


def test_wrong_password_is_refused(idp: Any) -> None:
    """A wrong password over USER_SRP_AUTH is refused with NotAuthorizedException."""
    pool_id, client_id = _setup(idp)
    with pytest.raises(ClientError) as exc:
        _srp_login(idp, pool_id, client_id, "Ilove2SeeTheTemple!")
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_user_id_for_srp_is_the_user_name(idp: Any) -> None:
    """PASSWORD_VERIFIER carries the user name (not the sub) as USER_ID_FOR_SRP and USERNAME."""
    pool_id, client_id = _setup(idp)
    _, resp = _srp_start(idp, pool_id, client_id)
    params = resp["ChallengeParameters"]
    assert params["USER_ID_FOR_SRP"] == "janedoe"
    assert params["USERNAME"] == "janedoe"
    assert {"SALT", "SRP_B", "SECRET_BLOCK"} <= params.keys()


def test_force_change_password_user_gets_new_password_required_and_can_answer(idp: Any) -> None:
    """The right temporary password gives NEW_PASSWORD_REQUIRED with JSON attributes; answering it confirms the user."""
    pool_id, client_id = _setup(idp, confirmed=False)
    resp = _srp_login(idp, pool_id, client_id, TEMP_PASSWORD)
    assert resp["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert resp["Session"]
    params = resp["ChallengeParameters"]
    attributes = json.loads(params["userAttributes"])
    assert attributes == {"email": "janedoe@example.com", "email_verified": "true"}
    assert json.loads(params["requiredAttributes"]) == []
    assert params["USER_ID_FOR_SRP"] == "janedoe"

    done = idp.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=resp["Session"],
        ChallengeResponses={"USERNAME": "janedoe", "NEW_PASSWORD": PASSWORD},
    )
    assert _claims(done["AuthenticationResult"]["IdToken"])["cognito:username"] == "janedoe"
    assert idp.admin_get_user(UserPoolId=pool_id, Username="janedoe")["UserStatus"] == "CONFIRMED"
    assert "AuthenticationResult" in _srp_login(idp, pool_id, client_id, PASSWORD)


def test_force_change_password_user_with_wrong_temporary_password_is_refused(idp: Any) -> None:
    """A FORCE_CHANGE_PASSWORD user with a wrong password gets NotAuthorizedException, no challenge."""
    pool_id, client_id = _setup(idp, confirmed=False)
    with pytest.raises(ClientError) as exc:
        _srp_login(idp, pool_id, client_id, PASSWORD)
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_required_attribute_missing_is_listed(idp: Any) -> None:
    """requiredAttributes names a required schema attribute the user lacks, prefixed userAttributes."""
    pool_id = idp.create_user_pool(
        PoolName="P",
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool_id, Username="janedoe", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS"
    )
    params = _srp_login(idp, pool_id, client_id, TEMP_PASSWORD)["ChallengeParameters"]
    assert json.loads(params["requiredAttributes"]) == ["userAttributes.email"]
    assert json.loads(params["userAttributes"]) == {}


def test_unknown_user_is_refused_without_disclosure(idp: Any) -> None:
    """An unknown user gets a simulated challenge (stable salt) and then NotAuthorizedException."""
    pool_id, client_id = _setup(idp)
    _, first = _srp_start(idp, pool_id, client_id, "nobody")
    _, second = _srp_start(idp, pool_id, client_id, "nobody")
    assert first["ChallengeParameters"]["SALT"] == second["ChallengeParameters"]["SALT"]
    assert first["ChallengeParameters"]["USER_ID_FOR_SRP"] == second["ChallengeParameters"]["USER_ID_FOR_SRP"]
    with pytest.raises(ClientError) as exc:
        _srp_login(idp, pool_id, client_id, PASSWORD, username="nobody")
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_unknown_user_with_legacy_client_is_user_not_found(idp: Any) -> None:
    """A client with PreventUserExistenceErrors LEGACY discloses the missing user, as AWS does."""
    pool_id, client_id = _setup(idp, PreventUserExistenceErrors="LEGACY")
    with pytest.raises(ClientError) as exc:
        _srp_start(idp, pool_id, client_id, "nobody")
    assert _error(exc) == ("UserNotFoundException", "User does not exist.")


def test_disabled_user_is_refused(idp: Any) -> None:
    """A disabled user with the right password gets 'User is disabled.'; a wrong one stays generic."""
    pool_id, client_id = _setup(idp)
    idp.admin_disable_user(UserPoolId=pool_id, Username="janedoe")
    with pytest.raises(ClientError) as exc:
        _srp_login(idp, pool_id, client_id, PASSWORD)
    assert _error(exc) == ("NotAuthorizedException", "User is disabled.")
    with pytest.raises(ClientError) as exc:
        _srp_login(idp, pool_id, client_id, "Wrong-Password-1")
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_a_claim_cannot_be_replayed(idp: Any) -> None:
    """A PASSWORD_VERIFIER answer works once; replaying it is refused."""
    pool_id, client_id = _setup(idp)
    client, resp = _srp_start(idp, pool_id, client_id)
    answers = client.challenge_responses(resp["ChallengeParameters"], PASSWORD)
    idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answers)
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answers)
    assert _error(exc)[0] == "NotAuthorizedException"


def test_zero_srp_a_is_refused(idp: Any) -> None:
    """SRP_A = N (0 mod N), which would let anyone in, is refused."""
    _, client_id = _setup(idp)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters={"USERNAME": "janedoe", "SRP_A": srp.N_HEX}
        )
    assert _error(exc)[0] == "InvalidParameterException"


# ---------------------------------------------------------------------- app client settings


def test_client_without_srp_flow_is_refused(idp: Any) -> None:
    """A client whose ExplicitAuthFlows lacks ALLOW_USER_SRP_AUTH refuses USER_SRP_AUTH."""
    pool_id, client_id = _setup(idp, flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    with pytest.raises(ClientError) as exc:
        _srp_start(idp, pool_id, client_id)
    assert _error(exc) == ("InvalidParameterException", "USER_SRP_AUTH is not enabled for the client.")


def test_client_without_explicit_flows_allows_srp(idp: Any) -> None:
    """A client created without ExplicitAuthFlows gets AWS's default, which includes SRP."""
    pool_id, client_id = _setup(idp, flows=None)
    assert "AuthenticationResult" in _srp_login(idp, pool_id, client_id, PASSWORD)


def test_client_with_secret_needs_secret_hash(idp: Any) -> None:
    """A client with a secret refuses SRP without SECRET_HASH and accepts it with the right one."""
    pool_id, client_id = _setup(idp, GenerateSecret=True)
    with pytest.raises(ClientError) as exc:
        _srp_start(idp, pool_id, client_id)
    assert _error(exc) == (
        "NotAuthorizedException",
        f"Client {client_id} is configured with secret but SECRET_HASH was not received",
    )
    with pytest.raises(ClientError) as exc:
        _srp_start(idp, pool_id, client_id, SECRET_HASH="d3Jvbmc=")
    assert _error(exc) == ("NotAuthorizedException", f"Unable to verify secret hash for client {client_id}")

    secret = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]["ClientSecret"]
    hashed = srp.secret_hash(client_id, secret, "janedoe")
    client, resp = _srp_start(idp, pool_id, client_id, SECRET_HASH=hashed)
    answers = client.challenge_responses(resp["ChallengeParameters"], PASSWORD)
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answers)
    assert _error(exc)[0] == "NotAuthorizedException"
    client, resp = _srp_start(idp, pool_id, client_id, SECRET_HASH=hashed)
    answers = client.challenge_responses(resp["ChallengeParameters"], PASSWORD) | {"SECRET_HASH": hashed}
    done = idp.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answers
    )
    assert "AuthenticationResult" in done


def test_user_password_auth_is_enforced_and_checked(idp: Any) -> None:
    """USER_PASSWORD_AUTH needs ALLOW_USER_PASSWORD_AUTH and the right password."""
    _, client_id = _setup(idp)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "janedoe", "PASSWORD": PASSWORD},
        )
    assert _error(exc) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")

    _, client_id = _setup(idp, flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"])
    ok = idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "janedoe", "PASSWORD": PASSWORD}
    )
    assert _claims(ok["AuthenticationResult"]["IdToken"])["aud"] == client_id
    for username, password in (("janedoe", "Wrong-Password-1"), ("nobody", PASSWORD)):
        with pytest.raises(ClientError) as exc:
            idp.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_effective_auth_flows() -> None:
    """ExplicitAuthFlows: unset means AWS's default; legacy names keep SRP on."""
    assert "ALLOW_USER_SRP_AUTH" in effective_auth_flows(None)
    assert effective_auth_flows(["ALLOW_USER_PASSWORD_AUTH"]) == {"ALLOW_USER_PASSWORD_AUTH"}
    assert {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"} <= effective_auth_flows(["USER_PASSWORD_AUTH"])
    assert "ALLOW_USER_SRP_AUTH" not in effective_auth_flows(["CUSTOM_AUTH_FLOW_ONLY"])


# ---------------------------------------------------------------------- the browser's view


def test_unsigned_raw_json_posts_log_in_like_the_browser(url: str, idp: Any) -> None:
    """Unsigned JSON POSTs (no SigV4) complete the SRP login and carry CORS headers."""
    pool_id, client_id = _setup(idp)
    client = srp.SrpClient(pool_id)
    first = browser_post(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": "janedoe", "SRP_A": client.srp_a_hex},
            "ClientMetadata": {},
        },
    )
    assert first.status_code == 200, first.text
    assert first.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert first.headers["Content-Type"] == "application/x-amz-json-1.1"
    challenge = first.json()
    second = browser_post(
        url,
        "RespondToAuthChallenge",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ClientId": client_id,
            "ChallengeResponses": client.challenge_responses(challenge["ChallengeParameters"], PASSWORD),
        },
    )
    assert second.status_code == 200, second.text
    assert second.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert _claims(second.json()["AuthenticationResult"]["IdToken"])["cognito:username"] == "janedoe"


def test_unsigned_wrong_password_gets_aws_error_format(url: str, idp: Any) -> None:
    """A refused browser login is HTTP 400 with __type/message JSON, x-amzn-ErrorType and CORS."""
    pool_id, client_id = _setup(idp)
    client = srp.SrpClient(pool_id)
    challenge = browser_post(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": "janedoe", "SRP_A": client.srp_a_hex},
        },
    ).json()
    refused = browser_post(
        url,
        "RespondToAuthChallenge",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ClientId": client_id,
            "ChallengeResponses": client.challenge_responses(challenge["ChallengeParameters"], "nope"),
        },
    )
    assert refused.status_code == 400
    assert refused.json() == {"__type": "NotAuthorizedException", "message": "Incorrect username or password."}
    assert refused.headers["x-amzn-ErrorType"] == "NotAuthorizedException"
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_other_operations_pass_through(url: str, idp: Any) -> None:
    """Operations the middleware does not fix (ListUserPools, refresh, admin auth) reach moto unchanged."""
    pool_id, client_id = _setup(idp)
    assert [p["Name"] for p in idp.list_user_pools(MaxResults=10)["UserPools"]] == ["VehicleAppUserPool"]
    tokens = _srp_login(idp, pool_id, client_id, PASSWORD)["AuthenticationResult"]
    refreshed = idp.initiate_auth(
        ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
    )
    assert "IdToken" in refreshed["AuthenticationResult"]
    admin = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "janedoe", "PASSWORD": PASSWORD},
    )
    assert "AuthenticationResult" in admin
    missing = browser_post(
        url,
        "InitiateAuth",
        {"AuthFlow": "USER_SRP_AUTH", "ClientId": "nosuchclient", "AuthParameters": {"USERNAME": "x", "SRP_A": "ab"}},
    )
    assert missing.status_code == 400
    assert missing.json()["__type"] == "ResourceNotFoundException"


# ---------------------------------------------------------------------- accounts


def test_other_account_via_moto_header(url: str) -> None:
    """Pools in another account (x-moto-account-id) log in, with and without the header."""
    other = _client(url, OTHER_ACCOUNT)
    pool_id, client_id = _setup(other)
    assert _client(url).list_user_pools(MaxResults=10)["UserPools"] == []
    assert "AuthenticationResult" in _srp_login(other, pool_id, client_id, PASSWORD)
    assert "AuthenticationResult" in _srp_login(_client(url), pool_id, client_id, PASSWORD)


def test_default_account_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default account is the header's, else moto's default 123456789012."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    assert default_account_id({}) == "123456789012"
    assert default_account_id({"HTTP_X_MOTO_ACCOUNT_ID": OTHER_ACCOUNT}) == OTHER_ACCOUNT
    auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host"
    assert default_account_id({"HTTP_AUTHORIZATION": auth}) == "123456789012"

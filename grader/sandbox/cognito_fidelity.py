"""A WSGI middleware that makes moto's Cognito user-pool sign-in behave like AWS.

moto 5.2.x gets the browser sign-in of the course website wrong (the "gap" tests of
tests/sandbox/test_moto_assumptions.py show each):
``USER_SRP_AUTH`` accepts any password, ``USER_ID_FOR_SRP`` is the ``sub`` (the SDK sends it
back and moto answers ``UserNotFoundException``), ``NEW_PASSWORD_REQUIRED`` lacks
``userAttributes``/``requiredAttributes`` and ``ExplicitAuthFlows`` is never enforced.

:class:`CognitoFidelity` answers ``InitiateAuth`` (``USER_SRP_AUTH``, ``USER_PASSWORD_AUTH``)
and ``RespondToAuthChallenge`` (``PASSWORD_VERIFIER``) itself, with real SRP-6a
(:mod:`grader.sandbox.srp`) against the password moto keeps for the user. Once the password is
proven it hands over to moto's own ``respond_to_auth_challenge`` (PASSWORD_VERIFIER branch),
so tokens, MFA and ``NEW_PASSWORD_REQUIRED`` sessions are moto's. ``RespondToAuthChallenge``
``NEW_PASSWORD_REQUIRED`` gets its SECRET_HASH checked, then goes to moto. Every other request
(other operations, other flows) passes to the wrapped app untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from grader.sandbox import managed_login, srp
from grader.sandbox.cors import allow_origin
from grader.sandbox.expiring import ExpiringStore
from grader.sandbox.moto_state import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
    InvalidParameterException,
    JsonRESTError,
    NotAuthorizedError,
    UserNotFoundError,
    auth_session_seconds,
    default_account_id,
    find_user,
    find_user_pool,
    missing_required_attributes,
    password_matches,
    reveals_missing_users,
    sign_in_refusal,
)
from grader.sandbox.wsgi import StartResponse, WSGIApp, read_json_object

__all__ = ["CognitoFidelity", "default_account_id", "effective_auth_flows"]

_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
_INITIATE_AUTH = _TARGET_PREFIX + "InitiateAuth"
_RESPOND = _TARGET_PREFIX + "RespondToAuthChallenge"
_INCORRECT = "Incorrect username or password."
_EXPIRED = "Invalid session for the user, session is expired."
_DEFAULT_FLOWS = frozenset({"ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"})
_LEGACY_FLOW_MAP = {
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
}


def effective_auth_flows(explicit: list[str] | None) -> frozenset[str]:
    """The ``ALLOW_*`` flows an app client permits, as AWS reads ``ExplicitAuthFlows``.

    Unset or empty: ``ALLOW_REFRESH_TOKEN_AUTH``, ``ALLOW_USER_SRP_AUTH``, ``ALLOW_CUSTOM_AUTH``
    (AWS's documented default). Legacy values (no ``ALLOW_`` prefix) keep SRP, refresh and custom
    on unless ``CUSTOM_AUTH_FLOW_ONLY``.
    """
    flows = [str(flow) for flow in (explicit or [])]
    if not flows:
        return _DEFAULT_FLOWS
    if any(flow.startswith("ALLOW_") for flow in flows):
        return frozenset(flow for flow in flows if flow.startswith("ALLOW_"))
    if "CUSTOM_AUTH_FLOW_ONLY" in flows:
        return frozenset({"ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"})
    return _DEFAULT_FLOWS | {_LEGACY_FLOW_MAP[f] for f in flows if f in _LEGACY_FLOW_MAP}


@dataclass(frozen=True)
class _Pending:
    """Server state between InitiateAuth (USER_SRP_AUTH) and RespondToAuthChallenge."""

    client_id: str
    pool_id: str
    user_id_for_srp: str
    challenge: srp.ServerChallenge
    expires_at: float
    simulated: bool  # no such user: the claim can never succeed


@dataclass(frozen=True)
class _Target:
    backend: CognitoIdpBackend
    pool: CognitoIdpUserPool
    client: CognitoIdpUserPoolClient


class CognitoFidelity:
    """WSGI middleware: AWS-faithful Cognito sign-in in front of moto's WSGI app.

    ``account_id_for(environ)`` names the account whose pools are searched first for the
    ``ClientId`` (then every other account, as moto and AWS resolve an unsigned call by client
    id alone); it defaults to :func:`default_account_id`.
    """

    def __init__(
        self,
        app: WSGIApp,
        account_id_for: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> None:
        self.app = app
        self.account_id_for = account_id_for or default_account_id
        self._pending: ExpiringStore[_Pending] = ExpiringStore()
        self._simulation_key = secrets.token_bytes(32)

    # ------------------------------------------------------------------ WSGI plumbing

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if environ.get("REQUEST_METHOD") == "POST" and target in managed_login.OPERATIONS:
            return self._managed_login(environ, start_response, target)
        if environ.get("REQUEST_METHOD") != "POST" or target not in (_INITIATE_AUTH, _RESPOND):
            return self.app(environ, start_response)
        params = read_json_object(environ)
        if params is None:
            return self.app(environ, start_response)
        try:
            if target == _INITIATE_AUTH:
                result = self._initiate_auth(environ, params)
            else:
                result = self._respond_to_auth_challenge(environ, params)
        except JsonRESTError as err:
            return self._send(environ, start_response, err.code, err.get_body(), err.get_headers())
        if result is None:
            return self.app(environ, start_response)
        return self._send(
            environ,
            start_response,
            200,
            json.dumps(result),
            [("Content-Type", "application/x-amz-json-1.1")],
        )

    def _managed_login(self, environ: dict[str, Any], start_response: StartResponse, target: str) -> Iterable[bytes]:
        """What moto lacks of managed login: domain versions, branding styles (grader.sandbox.managed_login)."""
        params = read_json_object(environ)
        if params is None:
            return self.app(environ, start_response)

        def send(status: int, body: Any) -> list[bytes]:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else json.dumps(body, default=str)
            return self._send(environ, start_response, status, text, [("Content-Type", "application/x-amz-json-1.1")])

        return managed_login.answer(environ, target, params, self.account_id_for(environ), self.app, send)

    @staticmethod
    def _send(
        environ: Mapping[str, Any],
        start_response: StartResponse,
        status: int,
        body: str,
        headers: list[tuple[str, str]],
    ) -> list[bytes]:
        payload = body.encode()
        reason = HTTPStatus(status).phrase
        out = [*headers, ("x-amzn-requestid", str(uuid.uuid4())), ("Content-Length", str(len(payload)))]
        out.extend(allow_origin(environ))
        start_response(f"{status} {reason}", out)
        return [payload]

    # ------------------------------------------------------------------ InitiateAuth

    def _initiate_auth(self, environ: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
        flow = params.get("AuthFlow")
        if flow not in ("USER_SRP_AUTH", "USER_PASSWORD_AUTH"):
            return None
        found = self._find(environ, params.get("ClientId"))
        if found is None:
            return None  # moto answers ResourceNotFoundException
        client = found.client
        allowed = effective_auth_flows(client.extended_config.get("ExplicitAuthFlows"))
        if f"ALLOW_{flow}" not in allowed:
            if flow == "USER_SRP_AUTH":
                raise InvalidParameterException("USER_SRP_AUTH is not enabled for the client.")
            raise InvalidParameterException("USER_PASSWORD_AUTH flow not enabled for this client")
        auth = _string_map(params.get("AuthParameters"))
        username = _required(auth, "USERNAME")
        _check_secret_hash(client, username, auth.get("SECRET_HASH"))
        user = find_user(found.pool, username)
        if flow == "USER_PASSWORD_AUTH":
            password = _required(auth, "PASSWORD")
            if user is None:
                _unknown_user(client)
                raise NotAuthorizedError(_INCORRECT)
            if not password_matches(user, password):
                raise NotAuthorizedError(_INCORRECT)
            return _after_password(found, user)
        return self._srp_challenge(found, username, user, _required(auth, "SRP_A"))

    def _srp_challenge(self, found: _Target, username: str, user: CognitoIdpUser | None, srp_a: str) -> dict[str, Any]:
        pool, client = found.pool, found.client
        if user is None:
            _unknown_user(client)  # raises unless user-existence errors are prevented
            # AWS: a simulated challenge, same salt and UUID for the same name and pool.
            seed = hmac.new(self._simulation_key, f"{pool.id}\0{username}".encode(), hashlib.sha256).digest()
            user_id = str(uuid.UUID(bytes=seed[16:], version=4))
            salt, password = int.from_bytes(seed[:16], "big"), secrets.token_hex(16)
        else:
            user_id = user.username
            salt = None
            password = user.password if user.password is not None else secrets.token_hex(16)
        try:
            challenge = srp.start_server_challenge(pool.id, user_id, password, srp_a, salt=salt)
        except srp.SrpError as exc:
            raise InvalidParameterException(f"Invalid SRP_A: {exc}") from None
        secret_block = base64.b64encode(secrets.token_bytes(64)).decode()
        pending = _Pending(
            client_id=client.id,
            pool_id=pool.id,
            user_id_for_srp=user_id,
            challenge=challenge,
            expires_at=time.monotonic() + auth_session_seconds(client),
            simulated=user is None,
        )
        self._pending.put(secret_block, pending)
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": challenge.salt_hex,
                "SECRET_BLOCK": secret_block,
                "SRP_B": challenge.srp_b_hex,
                "USERNAME": user_id,
                "USER_ID_FOR_SRP": user_id,
            },
        }

    # ------------------------------------------------------------------ RespondToAuthChallenge

    def _respond_to_auth_challenge(self, environ: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
        name = params.get("ChallengeName")
        if name not in ("PASSWORD_VERIFIER", "NEW_PASSWORD_REQUIRED"):
            return None
        found = self._find(environ, params.get("ClientId"))
        if found is None:
            return None
        answers = _string_map(params.get("ChallengeResponses"))
        if name == "NEW_PASSWORD_REQUIRED":
            _check_secret_hash(found.client, answers.get("USERNAME", ""), answers.get("SECRET_HASH"))
            return None  # moto sets the password, confirms the user and issues tokens
        username = _required(answers, "USERNAME")
        secret_block = _required(answers, "PASSWORD_CLAIM_SECRET_BLOCK")
        signature = _required(answers, "PASSWORD_CLAIM_SIGNATURE")
        timestamp = _required(answers, "TIMESTAMP")
        _check_secret_hash(found.client, username, answers.get("SECRET_HASH"))
        pending = self._pending.pop(secret_block)
        if pending is None:
            raise NotAuthorizedError(_EXPIRED)
        if pending.client_id != found.client.id or pending.pool_id != found.pool.id:
            raise NotAuthorizedError(_INCORRECT)
        user = found.pool.users.get(pending.user_id_for_srp)
        named = find_user(found.pool, username)
        if pending.simulated or user is None or named is not user:
            raise NotAuthorizedError(_INCORRECT)
        if not pending.challenge.verify_claim(secret_block, timestamp, signature):
            raise NotAuthorizedError(_INCORRECT)
        return _after_password(found, user)

    # ------------------------------------------------------------------ moto lookups

    def _find(self, environ: Mapping[str, Any], client_id: Any) -> _Target | None:
        if not isinstance(client_id, str) or not client_id:
            return None
        found = find_user_pool(self.account_id_for(environ), client_id=client_id)
        if found is None:
            return None
        return _Target(found.backend, found.pool, found.pool.clients[client_id])


# ---------------------------------------------------------------------- helpers


def _after_password(found: _Target, user: CognitoIdpUser) -> dict[str, Any]:
    """The password is proven: AWS's post-password checks, then moto's PASSWORD_VERIFIER branch."""
    refusal = sign_in_refusal(user)
    if refusal is not None:
        raise refusal
    session = str(uuid.uuid4())
    found.backend.sessions[session] = (user.username, found.pool)
    result = found.backend.respond_to_auth_challenge(
        session,
        found.client.id,
        "PASSWORD_VERIFIER",
        {
            "USERNAME": user.username,
            "PASSWORD_CLAIM_SECRET_BLOCK": session,
            "PASSWORD_CLAIM_SIGNATURE": "verified-by-cognito-fidelity",
            "TIMESTAMP": srp.format_timestamp(),
        },
    )
    challenge_parameters = result.setdefault("ChallengeParameters", {})
    if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        challenge_parameters.update(_new_password_parameters(found.pool, user))
    result["ChallengeParameters"] = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in challenge_parameters.items()
    }
    return result


def _new_password_parameters(pool: CognitoIdpUserPool, user: CognitoIdpUser) -> dict[str, str]:
    """AWS's NEW_PASSWORD_REQUIRED parameters: JSON strings the browser SDK parses."""
    attributes = {a["Name"]: a["Value"] for a in user.attributes if a.get("Name") != "sub"}
    required = [f"userAttributes.{name}" for name in missing_required_attributes(pool, user)]
    return {
        "USER_ID_FOR_SRP": user.username,
        "userAttributes": json.dumps(attributes, separators=(",", ":")),
        "requiredAttributes": json.dumps(required, separators=(",", ":")),
    }


def _check_secret_hash(client: CognitoIdpUserPoolClient, username: str, given: str | None) -> None:
    if not client.generate_secret:
        return
    if not given:
        raise NotAuthorizedError(f"Client {client.id} is configured with secret but SECRET_HASH was not received")
    expected = srp.secret_hash(client.id, str(client.secret), username)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise NotAuthorizedError(f"Unable to verify secret hash for client {client.id}")


def _unknown_user(client: CognitoIdpUserPoolClient) -> None:
    """LEGACY clients disclose a missing user; others (console default) must not."""
    if reveals_missing_users(client):
        raise UserNotFoundError("User does not exist.")


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _required(values: Mapping[str, str], name: str) -> str:
    value = values.get(name)
    if not value:
        raise InvalidParameterException(f"Missing required parameter {name}")
    return value

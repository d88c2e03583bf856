"""The tokens of a hosted-UI sign-in, made with moto's own JWT signer and registered in the pool."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from grader.sandbox.moto_state import CognitoIdpUser, CognitoIdpUserPool, CognitoIdpUserPoolClient, find_user

# The OpenID Connect scopes of the ID token's claims (each needs openid).
ID_SCOPES = {"email", "phone", "profile"}
_EMAIL_CLAIMS = {"email", "email_verified"}
_PHONE_CLAIMS = {"phone_number", "phone_number_verified"}
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def mint_tokens(
    pool: CognitoIdpUserPool,
    client: CognitoIdpUserPoolClient,
    login_name: str,
    scopes: Iterable[str],
    *,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Tokens for a hosted-UI sign-in, made with moto's ``create_jwt`` and registered in the pool.

    Access token: moto's claims plus ``scope`` (the granted OAuth scopes) and ``origin_jti``; the
    pool records it as moto's ``create_access_token`` does, so GetUser accepts it. ID token (only
    with the openid scope, as AWS documents): the attributes the client can read, narrowed to the
    email/phone claims when only those OIDC scopes were asked for, ``at_hash`` and ``nonce``.
    Lifetimes follow the client's AccessTokenValidity/IdTokenValidity (default one hour).
    """
    scopes = tuple(scopes)
    user = find_user(pool, login_name)
    if user is None:  # the caller has just signed this user in
        raise ValueError(f"the pool has no user {login_name!r}")
    origin_jti = str(uuid.uuid4())
    access_s = _validity_seconds(client, "AccessToken")
    extra: dict[str, Any] = {"origin_jti": origin_jti, "scope": " ".join(scopes)}
    groups = sorted(group.group_name for group in user.groups)
    if groups:
        extra["cognito:groups"] = groups
    access_token, _ = pool.create_jwt(client.id, login_name, "access", expires_in=access_s, extra_data=extra)
    pool.access_tokens[access_token] = (client.id, user.username)
    result: dict[str, Any] = {"access_token": access_token, "expires_in": access_s, "token_type": "Bearer"}
    if "openid" in scopes:
        claims: dict[str, Any] = {"origin_jti": origin_jti, "at_hash": _at_hash(access_token)}
        claims.update(_id_claims(client, user, scopes))
        if groups:
            claims["cognito:groups"] = groups
        if nonce:
            claims["nonce"] = nonce
        id_token, _ = pool.create_jwt(
            client.id, login_name, "id", expires_in=_validity_seconds(client, "IdToken"), extra_data=claims
        )
        pool.id_tokens[id_token] = (client.id, user.username)
        result["id_token"] = id_token
    return result


def _id_claims(client: CognitoIdpUserPoolClient, user: CognitoIdpUser, scopes: tuple[str, ...]) -> dict[str, Any]:
    readable = client.extended_config.get("ReadAttributes") or None
    claims: dict[str, Any] = {}
    for attribute in user.attributes:
        name, value = attribute["Name"], attribute["Value"]
        if name == "sub" or (readable is not None and name not in readable):
            continue
        claims[name] = value == "true" if name in ("email_verified", "phone_number_verified") else value
    oidc = ID_SCOPES & set(scopes)
    if oidc and "profile" not in oidc:  # only email and/or phone: narrow to their claims
        keep = (_EMAIL_CLAIMS if "email" in oidc else set()) | (_PHONE_CLAIMS if "phone" in oidc else set())
        claims = {k: v for k, v in claims.items() if k in keep}
    return claims


def _validity_seconds(client: CognitoIdpUserPoolClient, which: str) -> int:
    value = client.extended_config.get(f"{which}Validity")
    if not value:
        return 3600
    unit = (client.extended_config.get("TokenValidityUnits") or {}).get(which, "hours")
    return int(value) * _UNIT_SECONDS.get(str(unit), 3600)


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")

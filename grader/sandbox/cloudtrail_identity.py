"""Who and where a call recorded by the sandbox's CloudTrail belongs to.

A SigV4-signed call belongs to the signer's account and the region of its signature, and its
``userIdentity`` is the key's owner as moto's GetCallerIdentity sees it (an assumed role's
session, an IAM user, else user ``moto``). An unsigned call (the browser SDK's) belongs to the
account and region of the user pool it names.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from grader.sandbox.cloudtrail_records import CallContext, iso_time
from grader.sandbox.moto_state import default_account_id, find_user_pool, key_owner, user_sub
from grader.sandbox.wsgi import SigV4Credential, sigv4_credential

DEFAULT_REGION = "us-east-1"
_HOST_REGION = re.compile(r"^cognito-idp(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com", re.I)


Identities = dict[str, tuple[dict[str, Any], str | None]]
"""Access key -> (userIdentity, user name): kept, as moto invents a new role id on every look."""


def resolve_context(environ: Mapping[str, Any], params: Mapping[str, Any], identities: Identities) -> CallContext:
    """Who the call belongs to: its account, region, userIdentity and user (``identities`` is the cache)."""
    preferred = default_account_id(environ)
    found = find_user_pool(
        preferred,
        pool_id=_text(params.get("UserPoolId") or _pool_id_from_token(params.get("AccessToken"))),
        client_id=_text(params.get("ClientId")),
    )
    pool = found.pool if found else None
    sub = _user_sub(pool, params)
    key = signed_access_key(environ)
    if key:
        if key not in identities or identities[key][0]["accountId"] != preferred:
            # cached: moto invents a new role id on every look when the role is not in IAM
            identities[key] = identity_of(key, preferred)
        identity, username = copy.deepcopy(identities[key])
        region = signed_region(environ) or DEFAULT_REGION
        return CallContext(preferred, region, identity, key, username, sub)
    # Unsigned (the browser SDK): the event belongs to the pool's account and region.
    if found:
        account, region = found.account, found.region
    else:
        account = preferred
        pool_id = params.get("UserPoolId")
        region = (
            host_region(environ)
            or (pool_id.split("_", 1)[0] if isinstance(pool_id, str) and "_" in pool_id else None)
            or DEFAULT_REGION
        )
    identity = {"type": "Unknown", "principalId": "Anonymous"}
    return CallContext(account, region, identity, None, None, sub)


def identity_of(access_key: str, account: str) -> tuple[dict[str, Any], str | None]:
    """userIdentity for a SigV4-signed call, as moto's GetCallerIdentity sees the key."""
    owner = key_owner(access_key)
    if owner is not None and owner.kind == "AssumedRole":
        return (
            {
                "type": "AssumedRole",
                "principalId": owner.principal_id,
                "arn": owner.arn,
                "accountId": owner.account_id,
                "accessKeyId": access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": owner.principal_id.split(":", 1)[0],
                        "arn": owner.role_arn,
                        "accountId": owner.account_id,
                        "userName": owner.role_arn.split("/")[-1],
                    },
                    "attributes": {
                        "creationDate": iso_time(owner.created) if owner.created else "",
                        "mfaAuthenticated": "false",
                    },
                },
            },
            owner.name,
        )
    if owner is not None:
        return (
            {
                "type": "IAMUser",
                "principalId": owner.principal_id,
                "arn": owner.arn,
                "accountId": owner.account_id,
                "accessKeyId": access_key,
                "userName": owner.name,
            },
            owner.name,
        )
    # A key moto does not know: moto's GetCallerIdentity answers user "moto" of the account.
    return (
        {
            "type": "IAMUser",
            "principalId": "AKIAIOSFODNN7EXAMPLE",
            "arn": f"arn:aws:iam::{account}:user/moto",
            "accountId": account,
            "accessKeyId": access_key,
            "userName": "moto",
        },
        "moto",
    )


def anonymous_context(environ: Mapping[str, Any]) -> CallContext:
    """The context of a Cognito call that could not be placed: the request's account and region."""
    return CallContext(
        default_account_id(environ),
        signed_region(environ) or host_region(environ) or DEFAULT_REGION,
        {"type": "Unknown", "principalId": "Anonymous"},
        signed_access_key(environ),
        None,
        None,
    )


def signed_credential(environ: Mapping[str, Any]) -> SigV4Credential | None:
    """The credential of a signed call: one whose SigV4 scope names its date, region and service."""
    credential = sigv4_credential(environ)
    return credential if credential is not None and credential.region is not None else None


def signed_region(environ: Mapping[str, Any]) -> str | None:
    signed = signed_credential(environ)
    return signed.region if signed else None


def signed_access_key(environ: Mapping[str, Any]) -> str | None:
    signed = signed_credential(environ)
    return signed.access_key if signed else None


def host_region(environ: Mapping[str, Any]) -> str | None:
    match = _HOST_REGION.match(str(environ.get("HTTP_HOST", "")))
    return match.group(1).lower() if match else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _pool_id_from_token(token: Any) -> str | None:
    """The pool id in a Cognito JWT's ``iss`` (read, not verified: only to place the event)."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if isinstance(issuer, str) and "/" in issuer:
        return issuer.rstrip("/").rsplit("/", 1)[-1]
    return None


def _user_sub(pool: Any, params: Mapping[str, Any]) -> str | None:
    """The ``sub`` of the user a sign-in call names, if that user exists."""
    username = None
    for member in ("AuthParameters", "ChallengeResponses"):
        values = params.get(member)
        if isinstance(values, dict) and isinstance(values.get("USERNAME"), str):
            username = values["USERNAME"]
            break
    if username is None and isinstance(params.get("Username"), str):
        username = params["Username"]
    if not username or pool is None:
        return None
    return user_sub(pool, username)

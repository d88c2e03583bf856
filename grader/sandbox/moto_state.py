"""What the sandbox's layers read from moto's in-process Cognito state, and the rules read off it.

The layers in front of moto (CloudTrail recording, the Cognito sign-in fixes, the hosted UI) look
into moto's own records: which account a request belongs to, which user pool a client, pool id or
domain names, and whether a user may sign in. Every read of moto's backend attributes for that
lives here, so a change in moto's internals is met in one place.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.cognitoidp.exceptions import NotAuthorizedError, UserNotConfirmedException
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
    UserStatus,
    cognitoidp_backends,
)
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError

from grader.sandbox.wsgi import sigv4_credential

__all__ = [
    "PoolMatch",
    "auth_session_seconds",
    "default_account_id",
    "find_user_pool",
    "missing_required_attributes",
    "password_matches",
    "reveals_missing_users",
    "sign_in_refusal",
]

# Keys of moto's per-account backend dicts that stand for a partition, not a region.
_NOT_REGIONS = frozenset({"global", "aws"})


def default_account_id(environ: Mapping[str, Any]) -> str:
    """The account moto would pick for this request.

    ``MOTO_ACCOUNT_ID`` env, then the ``x-moto-account-id`` header, then the access key of a
    SigV4 ``Authorization`` header (known IAM/STS keys map to their account), then 123456789012.
    """
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return str(environ["HTTP_X_MOTO_ACCOUNT_ID"])
    credential = sigv4_credential(environ)
    if credential is not None:
        from moto.iam.models import get_account_id_from

        return get_account_id_from(credential.access_key)
    return DEFAULT_ACCOUNT_ID


# ---------------------------------------------------------------------- user pools


@dataclass(frozen=True)
class PoolMatch:
    """A user pool found in moto, with the account, region and backend that hold it."""

    account: str
    region: str
    backend: CognitoIdpBackend
    pool: CognitoIdpUserPool


def find_user_pool(
    preferred_account: str,
    *,
    pool_id: str | None = None,
    client_id: str | None = None,
    domain: str | None = None,
    custom_domain: str | None = None,
    region: str | None = None,
) -> PoolMatch | None:
    """The first user pool, across moto's accounts (``preferred_account`` first), that fits.

    A pool fits when its id is ``pool_id``, it has the app client ``client_id``, its domain is the
    prefix ``domain``, or its custom domain is ``custom_domain``; within one region these are tried
    in that order, and empty values are not looked for. ``region`` limits the search to one region.
    """
    if not (pool_id or client_id or domain or custom_domain):
        return None
    accounts = sorted(cognitoidp_backends.items(), key=lambda item: item[0] != preferred_account)
    for account, regional in accounts:
        for name, backend in list(regional.items()):
            if name in _NOT_REGIONS or (region and name != region):
                continue
            pool = _pool_in(backend, pool_id, client_id, domain, custom_domain)
            if pool is not None:
                return PoolMatch(account, name, backend, pool)
    return None


def _pool_in(
    backend: CognitoIdpBackend,
    pool_id: str | None,
    client_id: str | None,
    domain: str | None,
    custom_domain: str | None,
) -> CognitoIdpUserPool | None:
    pools = backend.user_pools
    if pool_id and pool_id in pools:
        return pools[pool_id]
    if client_id:
        for pool in list(pools.values()):
            if client_id in pool.clients:
                return pool
    for name, custom_only in ((domain, False), (custom_domain, True)):
        record = backend.user_pool_domains.get(name) if name else None
        if record is not None and (record.custom_domain_config or not custom_only):
            found = pools.get(record.user_pool_id)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------------- sign-in rules


def password_matches(user: CognitoIdpUser, password: str) -> bool:
    """Is ``password`` the one moto keeps for the user (compared in constant time)?"""
    return user.password is not None and hmac.compare_digest(user.password.encode(), password.encode())


def sign_in_refusal(user: CognitoIdpUser) -> JsonRESTError | None:
    """AWS's error for a user whose password was right but who may not sign in, else None."""
    if not user.enabled:
        return NotAuthorizedError("User is disabled.")
    if user.status == UserStatus.UNCONFIRMED:
        return UserNotConfirmedException("User is not confirmed.")
    if user.status == UserStatus.RESET_REQUIRED:
        return JsonRESTError("PasswordResetRequiredException", "Password reset required for the user")
    return None


def missing_required_attributes(pool: CognitoIdpUserPool, user: CognitoIdpUser) -> list[str]:
    """The pool's required attributes the user lacks (asked for when the password is changed)."""
    have = {attribute["Name"] for attribute in user.attributes}
    return [
        name
        for name, attribute in pool.schema_attributes.items()
        if getattr(attribute, "required", False) and name not in have and name != "sub"
    ]


def reveals_missing_users(client: CognitoIdpUserPoolClient) -> bool:
    """Does the client say "User does not exist." (LEGACY), rather than hide which users exist?"""
    return client.extended_config.get("PreventUserExistenceErrors") == "LEGACY"


def auth_session_seconds(client: CognitoIdpUserPoolClient) -> float:
    """How long a sign-in session of the client lasts (AuthSessionValidity minutes, default 3)."""
    return 60 * float(client.extended_config.get("AuthSessionValidity") or 3)

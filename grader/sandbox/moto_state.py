"""What the sandbox's layers read from moto's in-process state, and the rules read off it.

The layers in front of moto (CloudTrail recording, the Cognito sign-in fixes, the hosted UI) look
into moto's own records: which account a request belongs to, which user pool a client, pool id or
domain names, whether a user may sign in, who owns an access key, a trail's bucket and the
instances running. Every import from moto's internals (its backends, models and exceptions, which
the other layers use through the names re-exported here) lives in this module, so a change in
moto's internals is met in one place.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.cognitoidp.exceptions import (
    InvalidParameterException,
    InvalidPasswordException,
    NotAuthorizedError,
    UserNotConfirmedException,
    UserNotFoundError,
)
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
    CognitoIdpUserPoolDomain,
    UserStatus,
    cognitoidp_backends,
)
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError

from grader.sandbox.wsgi import sigv4_credential

__all__ = [
    "CognitoIdpBackend",
    "CognitoIdpUser",
    "CognitoIdpUserPool",
    "CognitoIdpUserPoolClient",
    "CognitoIdpUserPoolDomain",
    "InvalidParameterException",
    "InvalidPasswordException",
    "JsonRESTError",
    "KeyOwner",
    "NotAuthorizedError",
    "PoolMatch",
    "UserNotFoundError",
    "UserStatus",
    "account_trails",
    "auth_session_seconds",
    "bucket_exists",
    "default_account_id",
    "find_user",
    "find_user_pool",
    "key_owner",
    "missing_required_attributes",
    "object_kms_key",
    "password_matches",
    "put_log_object",
    "reset_moto",
    "reveals_missing_users",
    "running_instance_hosts",
    "sign_in_refusal",
    "user_sub",
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


# ---------------------------------------------------------------------- users


def find_user(pool: CognitoIdpUserPool, name: str) -> CognitoIdpUser | None:
    """The pool's user whose user name (or username attribute, e.g. email) is `name`, else None."""
    return pool._get_user(name)


def user_sub(pool: CognitoIdpUserPool, name: str) -> str | None:
    """The ``sub`` of the pool's user named `name`, or None when there is no such user."""
    try:
        user = pool._get_user(name)
    except Exception:  # noqa: BLE001 - moto's own lookup: an unknown user is no attribute to read
        return None
    if user is None:
        return None
    for attribute in getattr(user, "attributes", []) or []:
        if attribute.get("Name") == "sub":
            return str(attribute.get("Value"))
    return str(getattr(user, "id", "") or "") or None


# ---------------------------------------------------------------------- access keys


@dataclass(frozen=True)
class KeyOwner:
    """Who moto says signs with an access key: an assumed role's session, or an IAM user."""

    kind: str  # "AssumedRole" or "IAMUser"
    principal_id: str
    arn: str
    account_id: str
    name: str  # the role session's name, or the IAM user's
    role_arn: str = ""  # an assumed role's: the role's ARN
    created: datetime | None = None  # an assumed role's: when its session key was made (UTC)


def key_owner(access_key: str) -> KeyOwner | None:
    """The STS role session, else the IAM user, moto knows `access_key` by; None for a key it does not know."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for _acct, regional in list(sts_backends.items()):
        for _partition, backend in list(regional.items()):
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return KeyOwner(
                    "AssumedRole",
                    role.user_id,
                    role.arn,
                    role.account_id,
                    role.session_name,
                    role.role_arn,
                    role.access_key.create_date.replace(tzinfo=UTC),
                )
    for _acct, iam_regional in list(iam_backends.items()):
        for _partition, iam_backend in list(iam_regional.items()):
            try:
                user = iam_backend.get_user_from_access_key_id(access_key)
            except Exception:  # noqa: BLE001 - moto's own lookup: a key it cannot place is no IAM user
                user = None
            if user is not None:
                return KeyOwner("IAMUser", user.id, user.arn, user.account_id, user.name)
    return None


# ---------------------------------------------------------------------- trails and buckets


def account_trails(account: str) -> list[Any]:
    """Every CloudTrail trail of the account, in every home region, as moto keeps them."""
    from moto.cloudtrail.models import cloudtrail_backends

    regional = cloudtrail_backends.get(account)  # dict.get: no backend is created
    if not regional:
        return []
    return [trail for backend in list(regional.values()) for trail in list(backend.trails.values())]


def bucket_exists(bucket: str) -> bool:
    """Whether moto has an S3 bucket of that name (in any account)."""
    from moto.s3.models import s3_backends

    return bucket in s3_backends.bucket_accounts


def object_kms_key(bucket: str, key: str) -> str | None:
    """The KMS key an S3 object is encrypted with, or None (no such bucket or object, or no KMS key)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account = owner
    try:
        stored = s3_backends[account][partition].get_object(bucket, key)
    except Exception:  # noqa: BLE001 - no such key: S3 answers that itself
        return None
    kms = getattr(stored, "kms_key_id", None)
    return kms if isinstance(kms, str) else None


def put_log_object(bucket: str, key: str, data: bytes, kms_key_id: str | None) -> bool:
    """Store `data` at `key` in the bucket, SSE-KMS with `kms_key_id` if given, else SSE-S3.

    False when there is no such bucket; moto's own refusal (e.g. the bucket vanished meanwhile) is raised.
    """
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return False
    partition, bucket_account = owner
    s3_backends[bucket_account][partition].put_object(
        bucket,
        key,
        data,
        encryption="aws:kms" if kms_key_id else "AES256",
        kms_key_id=kms_key_id or None,
    )
    return True


# ---------------------------------------------------------------------- instances and reset


def running_instance_hosts() -> list[str]:
    """The public DNS names of moto's running EC2 instances, oldest launch first."""
    from moto.ec2.models import ec2_backends

    running = [
        (instance.launch_time, instance.public_dns_name)
        for per_region in ec2_backends.values()
        for backend in per_region.values()
        for instance in backend.all_instances()
        if instance.state == "running" and instance.public_dns_name
    ]
    return [host for _, host in sorted(running)]


def reset_moto() -> None:
    """Forget every resource of every moto backend in this process (moto's own reset)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()

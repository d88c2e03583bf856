"""Tokens verified while observing: the evidence keeps the verdict, never the tokens.

The website's login stores an id and an access token in the browser; the hosted UI's redirect
carries them in its fragment. Both are checked here, against the pool's published signing keys
and the pool, client, user and time of the grader's own sign-in (grader/tokens.py), and then
their values are blanked: judging needs no network, and no token reaches evidence.json.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from grader.observe.evidence import SiteLogins
from grader.observe.signins import HostedSignIn, LoginAttempt
from grader.snapshot import Read, Snapshot
from grader.spec import LabSpec
from grader.tokens import LoginWindow, TokenCheck, verify_callback_tokens, verify_tokens


def verified_logins(
    logins: SiteLogins, snapshot: Snapshot, keys: Read[dict[str, Any] | None], spec: LabSpec, region: str
) -> SiteLogins:
    """Both logins with their stored tokens checked (`token_check`) and blanked."""
    return SiteLogins(
        _verified_login(logins.right, snapshot, keys, spec, region),
        _verified_login(logins.wrong, snapshot, keys, spec, region),
    )


def verified_sign_in(
    result: HostedSignIn | None, snapshot: Snapshot, keys: Read[dict[str, Any] | None], spec: LabSpec, region: str
) -> HostedSignIn | None:
    """The hosted-UI sign-in with its redirect's tokens checked (`token_check`) and blanked."""
    if result is None:
        return None
    ids = _pool_and_client(snapshot)
    check = None
    if ids is not None:
        check = _unverified(keys, result.fragment) or verify_callback_tokens(
            result.fragment,
            pool_id=ids[0],
            client_id=ids[1],
            region=region,
            username=spec.expected.username,
            jwks=keys.value or {},
            window=LoginWindow(result.started_at, result.ended_at),
            scopes=tuple(spec.expected.oauth_scopes),
        )
    return replace(result, fragment=dict.fromkeys(result.fragment, ""), token_check=check)


def _verified_login(
    attempt: LoginAttempt, snapshot: Snapshot, keys: Read[dict[str, Any] | None], spec: LabSpec, region: str
) -> LoginAttempt:
    ids = _pool_and_client(snapshot)
    check = None
    if ids is not None:
        check = _unverified(keys, attempt.tokens) or verify_tokens(
            attempt.tokens,
            pool_id=ids[0],
            client_id=ids[1],
            region=region,
            username=spec.expected.username,
            jwks=keys.value or {},
            window=LoginWindow(attempt.started_at, attempt.ended_at),
            cognito_calls=attempt.cognito_calls,
        )
    return replace(attempt, tokens=dict.fromkeys(attempt.tokens, ""), token_check=check)


def _pool_and_client(snapshot: Snapshot) -> tuple[str, str] | None:
    pool, client = snapshot.pool.value, snapshot.client.value
    return (pool.id, client.id) if pool is not None and client is not None else None


def _unverified(keys: Read[dict[str, Any] | None], tokens: dict[str, str]) -> TokenCheck | None:
    """The verdict on `tokens` when the signing keys could not be read: nothing can be said of them."""
    if keys.error is None or not tokens:
        return None
    return TokenCheck(False, (), unverified=keys.error)

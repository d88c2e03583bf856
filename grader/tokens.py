"""Checks the tokens the website's login left in the browser: whose pool, which client, which user.

Reaching `private.html` proves nothing (the page is not guarded); the tokens the SDK stored in
localStorage do. :func:`verify_tokens` finds janedoe's id and access tokens under the student's
app client, checks their RS256 signature against the pool's published keys (fetched by grader/observe/account.py),
the issuer (the student's pool), the audience / client id and the user. Nothing secret leaves
this module: `TokenCheck.claims` holds a few public claims, never a token.

Only fresh tokens count: each must have `exp` and `iat`, and its `iat` and `auth_time` (when it has
one) must fall inside the grader's own login (:class:`LoginWindow`, with a leeway for clock skew), so
a token from an earlier login that has not expired yet, planted in localStorage by a page, fails.
Stored tokens must also come with a Cognito call the browser saw answer "tokens issued"; the
hosted UI's tokens come in the redirect the grader caught itself, which proves that already.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeGuard

import jwt

from grader.errors import GraderError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from grader.observe.signins import CognitoCall

STORAGE_PREFIX = "CognitoIdentityServiceProvider."
# Tokens are fresh from the login just made; the leeway only absorbs clock differences.
LEEWAY_S = 300
# A token issued this long before the grader's login started still counts (the clocks of the grader
# and of Cognito may differ), and this long after it ended (the last answer arrives as it ends).
SKEW_BEFORE_S = 300
SKEW_AFTER_S = 60
# The calls whose answer carries the tokens of a sign-in (the outcome the recorder gives that answer).
ISSUING_OPERATIONS = frozenset({"InitiateAuth", "RespondToAuthChallenge"})
TOKENS_ISSUED = "tokens issued"


@dataclass(frozen=True)
class LoginWindow:
    """When the grader's own login ran, in epoch seconds: a token of that login was issued inside it."""

    started: float
    ended: float

    def problem(self, name: str, claim: str, when: float) -> str:
        """A sentence when `when` (a token's `iat` or `auth_time`) is outside the window, else ''."""
        verb = "was issued" if claim == "iat" else "comes from a sign-in"
        if when < self.started - SKEW_BEFORE_S:
            return (
                f"{name} {verb} at {_clock(when, self.started)} ({claim}), before this grade's login started at "
                f"{_clock(self.started, when)}: it is not from this login."
            )
        if when > self.ended + SKEW_AFTER_S:
            return (
                f"{name} {verb} at {_clock(when, self.ended)} ({claim}), after this grade's login ended at "
                f"{_clock(self.ended, when)}: it is not from this login."
            )
        return ""


def _clock(when: float, other: float) -> str:
    """`when` as a UTC time of day, with its date when `other` falls on another day (or either is odd)."""
    try:
        moment = datetime.fromtimestamp(when, tz=UTC)
        same_day = moment.date() == datetime.fromtimestamp(other, tz=UTC).date()
    except (OverflowError, OSError, ValueError):
        return f"{when:.0f} (seconds since 1970)"
    return moment.strftime("%H:%M:%S UTC" if same_day else "%Y-%m-%d %H:%M:%S UTC")


def saw_tokens_issued(calls: Iterable[CognitoCall]) -> bool:
    """Whether the browser saw a sign-in call to Cognito answered with tokens."""
    return any(c.operation in ISSUING_OPERATIONS and c.outcome == TOKENS_ISSUED for c in calls)


@dataclass(frozen=True)
class TokenCheck:
    """The verdict on the stored tokens: `problems` are full sentences; `claims` a public summary."""

    ok: bool
    problems: tuple[str, ...]
    claims: dict[str, Any] = field(default_factory=dict)
    unverified: GraderError | None = None
    """Why the tokens could not be checked at all (the pool's signing keys could not be read): the grader's error."""


def jwks_url(pool_id: str, region: str, endpoint_url: str | None = None) -> str:
    """Where a pool publishes its token signing keys (the sandbox serves the same path)."""
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}/.well-known/jwks.json"


def expected_issuer(pool_id: str, region: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def verify_tokens(
    tokens: dict[str, str],
    *,
    pool_id: str,
    client_id: str,
    region: str,
    username: str,
    jwks: dict[str, Any],
    window: LoginWindow,
    cognito_calls: Iterable[CognitoCall],
) -> TokenCheck:
    """Check the `CognitoIdentityServiceProvider.*` entries a login stored (see module docstring).

    `window` is when the grader's login ran; `cognito_calls` what the browser saw the page say to
    Cognito during it: the tokens must have been issued by one of those calls, inside the window.
    """
    prefix = f"{STORAGE_PREFIX}{client_id}."
    stored = {k: v for k, v in tokens.items() if k.startswith(STORAGE_PREFIX)}
    if not stored:
        return TokenCheck(False, ("There are no Cognito tokens in the browser's storage: the login stored nothing.",))
    last_user = stored.get(prefix + "LastAuthUser")
    if not last_user:
        others = sorted({k[len(STORAGE_PREFIX) :].split(".", 1)[0] for k in stored} - {client_id})
        if others:
            problem = (
                f"The browser's storage holds tokens for app client {', '.join(others)}, not for the "
                f"student's app client {client_id}: the website's settings.js names another client."
            )
        else:
            problem = f"There is no LastAuthUser entry for app client {client_id} in the browser's storage."
        return TokenCheck(False, (problem,))

    raws = {kind: stored.get(f"{prefix}{last_user}.{kind}Token", "") for kind in ("id", "access")}
    problems, claims = _check_pair(
        raws,
        "There is no {kind} token in the browser's storage.",
        "in the browser's storage",
        pool_id=pool_id,
        client_id=client_id,
        region=region,
        username=username,
        jwks=jwks,
        window=window,
    )
    if not saw_tokens_issued(cognito_calls):
        problems.append(
            "The page stored tokens but the browser saw no Cognito call that issued them (no InitiateAuth or "
            "RespondToAuthChallenge answered with tokens): they are not from this login."
        )
    return TokenCheck(not problems, tuple(problems), claims)


def verify_callback_tokens(
    fragment: dict[str, str],
    *,
    pool_id: str,
    client_id: str,
    region: str,
    username: str,
    jwks: dict[str, Any],
    window: LoginWindow,
    scopes: tuple[str, ...] = (),
) -> TokenCheck:
    """Check the tokens an implicit-grant redirect carried in its fragment.

    Both tokens must be there and pass the same checks as stored ones, issued inside `window` (when
    the grader's sign-in ran; the redirect the grader caught itself proves who issued them); the
    access token's `scope` claim must hold every scope in `scopes`, and `token_type` must be Bearer.
    """
    raws = {kind: fragment.get(f"{kind}_token", "") for kind in ("id", "access")}
    problems, claims = _check_pair(
        raws,
        "The redirect to the callback URL carried no {kind}_token.",
        "in the redirect",
        pool_id=pool_id,
        client_id=client_id,
        region=region,
        username=username,
        jwks=jwks,
        window=window,
    )
    if "access" in claims:
        granted = str(_payload(raws["access"]).get("scope", "")).split()
        claims["access"]["scope"] = " ".join(granted)
        missing = [s for s in scopes if s not in granted]
        if missing:
            problems.append(
                f"The access token's scopes are {' '.join(granted) or 'empty'}; they lack {', '.join(missing)}."
            )
    if fragment.get("token_type", "").lower() != "bearer":
        problems.append(f"The redirect's token_type is {fragment.get('token_type') or 'missing'}, not Bearer.")
    return TokenCheck(not problems, tuple(problems), claims)


def _check_pair(raws: dict[str, str], missing: str, where: str, **expected: Any) -> tuple[list[str], dict[str, Any]]:
    """The problems with an id and an access token, and their public claims.

    `missing` is the sentence for an absent token (with `{kind}`); `where` says where they were found.
    """
    problems: list[str] = []
    claims: dict[str, Any] = {}
    for kind, raw in raws.items():
        if not raw:
            problems.append(missing.format(kind=kind))
            continue
        summary, found = _check_token(kind, raw, where=where, **expected)
        if summary:
            claims[kind] = summary
        problems.extend(p for p in found if p not in problems)
    return problems, claims


def _payload(raw: str) -> dict[str, Any]:
    try:
        payload = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _check_token(
    kind: str,
    raw: str,
    *,
    pool_id: str,
    client_id: str,
    region: str,
    username: str,
    jwks: dict[str, Any],
    window: LoginWindow,
    where: str = "in the browser's storage",
) -> tuple[dict[str, Any], list[str]]:
    """One token's public claims and the problems found with it."""
    name = f"The {kind} token"
    try:
        header = jwt.get_unverified_header(raw)
        payload = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}, [f"{name} {where} is not a readable JWT."]
    problems: list[str] = []
    summary = _summary(kind, payload)

    issuer = expected_issuer(pool_id, region)
    actual_issuer = str(payload.get("iss", ""))
    if actual_issuer != issuer:
        actual_pool = actual_issuer.rstrip("/").rsplit("/", 1)[-1] or "(none)"
        if actual_pool == pool_id:
            problems.append(f"{name} was issued by {actual_issuer}, not by {issuer}.")
        else:
            problems.append(f"{name} was issued by pool {actual_pool}, not the student's pool {pool_id}.")

    token_use = payload.get("token_use")
    if token_use != kind:
        problems.append(f"{name}'s token_use is {token_use!r}, not {kind!r}.")
    if kind == "id":
        if payload.get("aud") != client_id:
            problems.append(f"The id token's audience is client {payload.get('aud')}, not {client_id}.")
        user = payload.get("cognito:username")
    else:
        if payload.get("client_id") != client_id:
            problems.append(f"The access token's client_id is {payload.get('client_id')}, not {client_id}.")
        user = payload.get("username")
    if user != username:
        problems.append(f"{name} belongs to user {user}, not {username}.")

    problems.extend(_check_times(f"{name} {where}", payload, window))
    problems.extend(_check_signature(name, raw, header, jwks))
    return summary, problems


def _is_time(value: object) -> TypeGuard[float]:
    """Whether a claim is a time (seconds since 1970, as JWT has them)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _check_times(name: str, payload: dict[str, Any], window: LoginWindow) -> list[str]:
    """The token must say when it expires and when it was issued, and be issued inside `window`.

    `auth_time` (when the user signed in) is checked too when the token has it: a token refreshed
    later has a new `iat` but its sign-in's `auth_time`.
    """
    problems: list[str] = []
    if not _is_time(payload.get("exp")):
        problems.append(f"{name} has no exp (expiry time): Cognito's tokens always have one.")
    iat, auth_time = payload.get("iat"), payload.get("auth_time")
    if not _is_time(iat):
        problems.append(f"{name} has no iat (issue time), so nothing shows it is from this login.")
        return problems
    outside = window.problem(name, "iat", iat)
    if not outside and auth_time is not None:
        if _is_time(auth_time):
            outside = window.problem(name, "auth_time", auth_time)
        else:
            outside = f"{name} has an auth_time that is not a time, so nothing shows it is from this login."
    return [*problems, outside] if outside else problems


def _check_signature(name: str, raw: str, header: dict[str, Any], jwks: dict[str, Any]) -> list[str]:
    if header.get("alg") != "RS256":
        return [f"{name} is signed with {header.get('alg')}, not RS256 as Cognito signs."]
    kid = header.get("kid")
    key = next((k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid), None)
    if key is None:
        return [
            (
                f"{name} is signed with key {kid}, which is not one of the pool's keys: "
                "the signature does not verify against the pool's keys."
            )
        ]
    try:
        public_key = jwt.PyJWK(key).key
    except (jwt.PyJWTError, ValueError, TypeError):
        return [
            f"The pool's key {kid} could not be read, so {name[0].lower()}{name[1:]}'s signature could not be checked."
        ]
    try:
        jwt.decode(
            raw,
            key=public_key,
            algorithms=["RS256"],
            leeway=LEEWAY_S,
            options={"verify_aud": False, "verify_iss": False},
        )
    except jwt.ExpiredSignatureError:
        return [f"{name} has expired."]
    except jwt.InvalidSignatureError:
        return ["The signature does not verify against the pool's keys."]
    except jwt.PyJWTError as exc:
        return [f"{name} did not pass verification ({type(exc).__name__})."]
    return []


def _summary(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Public claims only: who issued it, for which client, whose, until when."""
    out: dict[str, Any] = {"iss": payload.get("iss"), "token_use": payload.get("token_use")}
    if kind == "id":
        out["aud"] = payload.get("aud")
        out["cognito:username"] = payload.get("cognito:username")
    else:
        out["client_id"] = payload.get("client_id")
        out["username"] = payload.get("username")
    exp = payload.get("exp")
    if isinstance(exp, (int, float)):
        out["exp"] = datetime.fromtimestamp(exp, tz=UTC).isoformat()
    # Only JSON scalars survive: a claim of another type is shown as JSON text.
    return {k: v if v is None or isinstance(v, (str, int, float, bool)) else json.dumps(v) for k, v in out.items()}

"""Fresh tokens only (issue 11, row 9): site.login and hostedui.implicit_callback on hand-built evidence.

A token counts only when it has `exp` and `iat`, was issued (its `iat`, and its `auth_time` when it
has one) during the grader's own login, and, for the website, came with a Cognito call the browser
saw answer "tokens issued". A token from a login hours ago that has not expired yet, planted in
localStorage by a static page, verifies against the pool's keys and still fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import checks.test_hostedui as hostedui_checks
import checks.test_site as site_checks
from grader.observe.signins import CognitoCall
from grader.tokens import LoginWindow, verify_callback_tokens, verify_tokens
from tests.unit.evidence import (
    CALLBACK,
    CLIENT,
    DROP,
    JWKS,
    LOGIN_ENDED,
    LOGIN_STARTED,
    NOW,
    POOL,
    REGION,
    RIGHT_LOGIN,
    SIGNED_IN,
    USERNAME,
    callback_fragment,
    fails,
    logins,
    passes,
    replace,
    stored_tokens,
)

login = site_checks.test_login
implicit = hostedui_checks.test_implicit_callback

HOURS_AGO = NOW - 3 * 3600
"""A login of the same morning: its tokens (valid for a day, as a pool may set) have not expired yet."""
STILL_VALID = {"exp": NOW + 21 * 3600}


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%S UTC")


def _login_fails(phrase: str, **right_changes: Any) -> str:
    check = fails(login, site_logins=logins(**right_changes))
    assert check.message.startswith("The page says the login worked, but the stored tokens do not prove it: ")
    assert phrase in check.message, check.message
    return check.message


def _callback_fails(phrase: str, **sign_in_changes: Any) -> str:
    check = fails(implicit, hosted_sign_in=replace(SIGNED_IN, **sign_in_changes))
    assert check.message.startswith(f"The hosted UI redirected to {CALLBACK}, but the tokens do not hold up: ")
    assert phrase in check.message, check.message
    return check.message


# -- site.login -------------------------------------------------------------------------------------


def test_fresh_stored_tokens_pass() -> None:
    """Tokens issued during the grader's login, with the call that issued them, pass site.login."""
    passes(login)


def test_tokens_issued_within_the_clock_leeway_pass() -> None:
    """A few minutes of clock difference between the grader and Cognito is not a stale token."""
    passes(login, site_logins=logins(tokens=stored_tokens(iat=NOW - 240, auth_time=NOW - 240)))
    passes(login, site_logins=logins(tokens=stored_tokens(iat=NOW + 50, auth_time=NOW + 50)))


def test_a_planted_token_from_hours_ago_fails() -> None:
    """A token from a login hours ago, not expired, planted in localStorage: not from this login."""
    planted = stored_tokens(iat=HOURS_AGO, auth_time=HOURS_AGO, **STILL_VALID)
    message = _login_fails("it is not from this login", tokens=planted)
    assert (
        f"The id token in the browser's storage was issued at {_clock(HOURS_AGO)} (iat), before this grade's "
        f"login started at {_clock(LOGIN_STARTED)}: it is not from this login." in message
    )
    assert "The access token in the browser's storage was issued at" in message


def test_a_refreshed_token_of_an_old_sign_in_fails() -> None:
    """A fresh iat does not help when auth_time says the sign-in was hours ago (a refreshed token)."""
    refreshed = stored_tokens(auth_time=HOURS_AGO)
    _login_fails(
        f"The id token in the browser's storage comes from a sign-in at {_clock(HOURS_AGO)} (auth_time), before "
        f"this grade's login started at {_clock(LOGIN_STARTED)}: it is not from this login.",
        tokens=refreshed,
    )


def test_a_token_issued_after_the_login_ended_fails() -> None:
    """A token from after the grader's login had ended is not from it either."""
    later = NOW + 3600
    _login_fails(
        f"was issued at {_clock(later)} (iat), after this grade's login ended at {_clock(LOGIN_ENDED)}",
        tokens=stored_tokens(iat=later, auth_time=later, exp=later + 3600),
    )


def test_a_stored_token_without_exp_fails() -> None:
    """A token that never expires is not one Cognito issued."""
    _login_fails(
        "The id token in the browser's storage has no exp (expiry time): Cognito's tokens always have one.",
        tokens=stored_tokens(exp=DROP),
    )


def test_a_stored_token_without_iat_fails() -> None:
    """A token that does not say when it was issued cannot show it is from this login."""
    _login_fails(
        "The access token in the browser's storage has no iat (issue time), so nothing shows it is from this login.",
        tokens=stored_tokens(iat=DROP, auth_time=DROP),
    )


def test_a_token_without_auth_time_is_judged_by_its_iat() -> None:
    """auth_time is optional: without it, a fresh iat passes and an old one fails."""
    passes(login, site_logins=logins(tokens=stored_tokens(auth_time=DROP)))
    _login_fails("(iat), before this grade's login started", tokens=stored_tokens(auth_time=DROP, iat=HOURS_AGO))


@pytest.mark.parametrize(
    "calls",
    [
        [],
        [CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER", REGION)],
        [CognitoCall("GetUser", 200, "ok", REGION)],
        [CognitoCall("RespondToAuthChallenge", 400, "NotAuthorizedException: Incorrect username or password.")],
    ],
    ids=["no-call", "challenge-only", "other-operation", "refused"],
)
def test_stored_tokens_without_a_call_that_issued_them_fail(calls: list[CognitoCall]) -> None:
    """Fresh, valid tokens fail when the browser saw no InitiateAuth/RespondToAuthChallenge answer "tokens issued"."""
    _login_fails("The page stored tokens but the browser saw no Cognito call that issued them", cognito_calls=calls)


def test_tokens_issued_by_initiate_auth_pass() -> None:
    """A flow where InitiateAuth itself answers with tokens (USER_PASSWORD_AUTH) counts as issuing them."""
    passes(login, site_logins=logins(cognito_calls=[CognitoCall("InitiateAuth", 200, "tokens issued", REGION)]))


def test_a_login_whose_times_were_not_recorded_accepts_no_token() -> None:
    """Without the login's times (never recorded), no token can be shown to be from it: it fails, never passes."""
    _login_fails("it is not from this login", started_at=0.0, ended_at=0.0)


def test_the_login_times_are_in_the_evidence() -> None:
    """The evidence says when the grader's login started and ended (ISO, UTC), beside the token claims."""
    check = passes(login)
    assert check.evidence["started_at"] == datetime.fromtimestamp(LOGIN_STARTED, tz=UTC).isoformat(
        timespec="milliseconds"
    )
    assert check.evidence["ended_at"].endswith("+00:00")


# -- hostedui.implicit_callback -----------------------------------------------------------------------


def test_fresh_callback_tokens_pass() -> None:
    """The redirect's tokens, issued during the grader's sign-in, pass."""
    passes(implicit)


def test_old_callback_tokens_fail() -> None:
    """Tokens in the redirect issued hours before the grader's sign-in are not from it."""
    _callback_fails(
        f"The id token in the redirect was issued at {_clock(HOURS_AGO)} (iat), before this grade's login started "
        f"at {_clock(LOGIN_STARTED)}: it is not from this login.",
        fragment=callback_fragment(iat=HOURS_AGO, auth_time=HOURS_AGO, **STILL_VALID),
    )


def test_callback_tokens_of_an_old_sign_in_fail() -> None:
    """A fresh iat with an auth_time of hours ago fails on the auth_time."""
    _callback_fails("comes from a sign-in at", fragment=callback_fragment(auth_time=HOURS_AGO))


@pytest.mark.parametrize(
    ("claim", "phrase"),
    [
        ("exp", "The access token in the redirect has no exp (expiry time)"),
        ("iat", "The id token in the redirect has no iat (issue time)"),
    ],
)
def test_callback_tokens_without_exp_or_iat_fail(claim: str, phrase: str) -> None:
    """The redirect's tokens need exp and iat like stored ones."""
    _callback_fails(phrase, fragment=callback_fragment(**{claim: DROP}))


def test_callback_tokens_need_no_cognito_call() -> None:
    """The redirect the grader caught itself proves who issued the tokens: no Cognito call is asked for."""
    assert not hasattr(SIGNED_IN, "cognito_calls")
    passes(implicit)


# -- the functions themselves -------------------------------------------------------------------------

WINDOW = LoginWindow(LOGIN_STARTED, LOGIN_ENDED)


def test_verify_tokens_takes_the_window_and_the_calls() -> None:
    """verify_tokens accepts fresh tokens with their issuing call, and names each freshness problem once."""
    common: dict[str, Any] = {
        "pool_id": POOL.id,
        "client_id": CLIENT.id,
        "region": REGION,
        "username": USERNAME,
        "jwks": JWKS,
    }
    good = verify_tokens(RIGHT_LOGIN.tokens, **common, window=WINDOW, cognito_calls=RIGHT_LOGIN.cognito_calls)
    assert good.ok
    assert good.problems == ()
    stale = verify_tokens(
        stored_tokens(iat=HOURS_AGO, auth_time=HOURS_AGO, **STILL_VALID),
        **common,
        window=WINDOW,
        cognito_calls=[],
    )
    assert len(stale.problems) == 3
    assert [p.split(" ", 2)[1] for p in stale.problems[:2]] == ["id", "access"]
    assert stale.problems[2].startswith("The page stored tokens but the browser saw no Cognito call")


def test_verify_callback_tokens_takes_the_window() -> None:
    """The same fragment passes inside its sign-in's window and fails in a later one."""
    common: dict[str, Any] = {
        "pool_id": POOL.id,
        "client_id": CLIENT.id,
        "region": REGION,
        "username": USERNAME,
        "jwks": JWKS,
        "scopes": ("openid",),
    }
    assert verify_callback_tokens(SIGNED_IN.fragment, **common, window=WINDOW).ok
    later = LoginWindow(NOW + 7200, NOW + 7210)
    verdict = verify_callback_tokens(SIGNED_IN.fragment, **common, window=later)
    assert not verdict.ok
    assert all("before this grade's login started" in p for p in verdict.problems)


@pytest.mark.parametrize("value", ["yesterday", True, None, float("nan")], ids=["text", "bool", "null", "nan"])
def test_an_iat_that_is_not_a_time_fails(value: Any) -> None:
    """An iat of the wrong type is no issue time."""
    _login_fails("has no iat (issue time)", tokens=stored_tokens(iat=value))

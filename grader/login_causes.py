"""Why a website login failed, in words a student can act on, from what Cognito answered.

A cause is *seen* when it is positive evidence of the student's mistake: Cognito refused the
page's request for a reason of the request (an unknown client, a wrong password, a user who must
change the temporary password, ...) or the page itself showed the mistake ("Invalid UserPoolId
format", a script that threw). No answer from Cognito, its 5xx, its throttling, or an answer that is
not Cognito's JSON shows nothing about the lab: that cause is not seen, and a check that stops on
it reports the grader's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

THROTTLED = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "LimitExceededException", "RequestLimitExceeded"}
)
"""Cognito's answers that mean "too many requests now": nothing about the lab."""
TROUBLE = frozenset(
    {
        "InternalErrorException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
"""Cognito's answers that name its own trouble, whatever HTTP status carried them: nothing about the lab."""


@dataclass(frozen=True)
class Cause:
    """A sentence naming why the login failed, and whether it is positive evidence of the student's mistake."""

    sentence: str
    seen: bool


def explain_login(calls: Sequence[Any], console_errors: Sequence[str], final_url: str) -> str:
    """A sentence naming the real cause; the page itself only ever says 'No such Username or Password'."""
    return login_cause(calls, console_errors).sentence


def login_cause(calls: Sequence[Any], console_errors: Sequence[str]) -> Cause:
    """The cause of a failed login (see the module's docstring for when it is `seen`)."""
    for call in calls:
        known = _known_cause(call.outcome)
        if known:
            return Cause(known, True)
    for call in calls:
        unseen = _unseen_call(call)
        if unseen:
            return Cause(unseen, False)
    invalid_pool = [e for e in console_errors if "Invalid UserPoolId" in e]
    if invalid_pool:
        return Cause(
            "The login form did nothing: the page reports 'Invalid UserPoolId format', "
            "so settings.js still holds a placeholder or a malformed pool id.",
            True,
        )
    if not calls:
        thrown = [e for e in console_errors if not e.startswith("Failed to load resource")]
        if thrown:
            return Cause(f"The login form never called Cognito; the page's console shows: {thrown[0]}", True)
        shown = f"; the page's console shows: {console_errors[0]}" if console_errors else "."
        return Cause("The login form never called Cognito" + shown, False)
    last = calls[-1]
    refused = 400 <= last.status < 500
    return Cause(f"Cognito's last answer was {last.operation}: {last.outcome.rstrip('.')}.", refused)


def _known_cause(outcome: str) -> str:
    """The sentence for a Cognito answer that names the student's mistake ('' for any other answer)."""
    if "NEW_PASSWORD_REQUIRED" in outcome:
        return (
            "Cognito asked for a new password: the user still has the temporary password "
            "(FORCE_CHANGE_PASSWORD). Sign in once through the hosted UI and change it."
        )
    if outcome.startswith("ResourceNotFoundException"):
        return (
            f"Cognito does not know the app client in settings.js ({_detail(outcome)}): "
            "the ClientId is wrong or the client was deleted."
        )
    if "SECRET_HASH" in outcome or "secret hash" in outcome:
        return "The app client has a client secret, which the website cannot send: use an app client without a secret."
    if "USER_SRP_AUTH is not enabled" in outcome or ("InvalidParameterException" in outcome and "SRP" in outcome):
        return "The app client does not allow ALLOW_USER_SRP_AUTH, which the website's login uses."
    if outcome.startswith("UserNotFoundException"):
        return "Cognito has no such user in the pool that settings.js names."
    if "User is disabled" in outcome:
        return "The user is disabled in the pool."
    if outcome.startswith("NotAuthorizedException"):
        return (
            f"Cognito refused the password ({_detail(outcome)}): the user does not exist in the pool "
            "settings.js names, or its password is not the lab's final one."
        )
    return ""


def _unseen_call(call: Any) -> str:
    """The sentence for a call whose answer shows nothing about the lab ('' for an answer that does)."""
    outcome: str = call.outcome
    kind = outcome.split(":", 1)[0].split(" ", 1)[0]
    if not call.status or outcome.startswith(("no answer", "network error")):
        return (
            f"The browser got no answer from Cognito to {call.operation} ({_detail(outcome)}), so the grader "
            "could not see how the login ends."
        )
    if call.status >= 500 or call.status == 429 or kind in THROTTLED | TROUBLE:
        return (
            f"Cognito answered {call.operation} with HTTP {call.status} ({outcome}): its own trouble or "
            "throttling, not a setting of the lab."
        )
    if call.status >= 400 and "not a JSON answer" in outcome:
        return (
            f"{call.operation} got HTTP {call.status} with an answer that is not Cognito's (something between "
            "the browser and Cognito answered), so the grader could not see how the login ends."
        )
    return ""


def _detail(outcome: str) -> str:
    return outcome.split(": ", 1)[1] if ": " in outcome else outcome

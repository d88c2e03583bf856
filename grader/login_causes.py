"""Why a website login failed, in words a student can act on, from what Cognito answered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def explain_login(calls: Sequence[Any], console_errors: Sequence[str], final_url: str) -> str:
    """A sentence naming the real cause; the page itself only ever says 'No such Username or Password'."""
    for call in calls:
        outcome = call.outcome
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
            return (
                "The app client has a client secret, which the website cannot send: use an app client without a secret."
            )
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
        if outcome.startswith("network error"):
            return f"The browser could not reach Cognito ({_detail(outcome)})."
    invalid_pool = [e for e in console_errors if "Invalid UserPoolId" in e]
    if invalid_pool:
        return (
            "The login form did nothing: the page reports 'Invalid UserPoolId format', "
            "so settings.js still holds a placeholder or a malformed pool id."
        )
    if not calls:
        return "The login form never called Cognito" + (
            f"; the page's console shows: {console_errors[0]}" if console_errors else "."
        )
    last = calls[-1]
    return f"Cognito's last answer was {last.operation}: {last.outcome}."


def _detail(outcome: str) -> str:
    return outcome.split(": ", 1)[1] if ": " in outcome else outcome

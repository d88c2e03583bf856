"""CloudTrail records of a browser's sign-in calls, as AWS writes them, for the CloudTrail tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

SECOND = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"
LAB_CLIENT = "1example23456789abcdefghij"


def sign_in_record(name: str, when: datetime = SECOND, *, error: str = "", client: str = LAB_CLIENT) -> dict[str, Any]:
    """A CloudTrail record of a browser sign-in call, secrets hidden as AWS hides them."""
    record: dict[str, Any] = {
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "cognito-idp.amazonaws.com",
        "eventName": name,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": BROWSER,
        "requestParameters": (
            {"authFlow": "USER_SRP_AUTH", "clientId": client, "authParameters": "HIDDEN_DUE_TO_SECURITY_REASONS"}
            if name == "InitiateAuth"
            else {"challengeName": "PASSWORD_VERIFIER", "clientId": client, "challengeResponses": "HIDDEN_DUE_TO_SECURITY_REASONS"}
        ),
    }
    if error:
        record["errorCode"] = error
    return record

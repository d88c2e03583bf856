"""CloudTrail records as AWS writes them, for the CloudTrail tests (docs/aws-cloudtrail.md).

A browser's sign-in calls are unauthenticated (`userIdentity` has no principal), carry the
user's `sub` in `additionalEventData` and never the user name, and show the app client in clear
on InitiateAuth; no public sample shows it on RespondToAuthChallenge (``client=None`` leaves it
out). Hosted-UI pages are service events (`Login_GET`, `Login_POST`, `Token_POST`, ...) whose
parameters are lists under `additionalEventData.requestParameters`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SECOND = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"
LAB_CLIENT = "1example23456789abcdefghij"
ACCOUNT = "123456789012"
SUB = "d4c8a2e6-1b7f-4e0a-9c3d-5f6e7a8b9c0d"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_in_record(
    name: str,
    when: datetime = SECOND,
    *,
    error: str = "",
    client: str | None = LAB_CLIENT,
    agent: str = BROWSER,
    ip: str = "198.51.100.7",
    sub: str | None = None,
    version: str = "1.08",
) -> dict[str, Any]:
    """A CloudTrail record of a browser sign-in call, secrets hidden as AWS hides them.

    `client` None leaves `clientId` out; `sub` puts the user's sub in `additionalEventData`.
    """
    params: dict[str, Any] = (
        {"authFlow": "USER_SRP_AUTH", "authParameters": HIDDEN}
        if name == "InitiateAuth"
        else {"challengeName": "PASSWORD_VERIFIER", "challengeResponses": HIDDEN}
    )
    if client is not None:
        params["clientId"] = client
    record: dict[str, Any] = {
        "eventVersion": version,
        "userIdentity": {"type": "Unknown", "principalId": "Anonymous"},
        "eventTime": _stamp(when),
        "eventSource": "cognito-idp.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": params,
        "responseElements": None,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if sub is not None:
        record["additionalEventData"] = {"sub": sub}
    if error:
        record["errorCode"] = error
        record["errorMessage"] = "Incorrect username or password."
    return record


def hosted_ui_record(name: str, when: datetime = SECOND, *, client: str = LAB_CLIENT) -> dict[str, Any]:
    """A hosted-UI service event (`Login_GET`, `Login_POST`, `Token_POST`, ...) as AWS's samples show them."""
    return {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": ACCOUNT},
        "eventTime": _stamp(when),
        "eventSource": "cognito-idp.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": BROWSER,
        "errorCode": "",
        "errorMessage": "",
        "requestParameters": None,
        "responseElements": None,
        "additionalEventData": {
            "responseParameters": {"status": 302.0 if name.endswith("_POST") else 200.0},
            "requestParameters": {
                "client_id": [client],
                "response_type": ["token"],
                "redirect_uri": ["https://ec2-44-195-176-112.compute-1.amazonaws.com"],
                **({"username": [HIDDEN], "password": [HIDDEN], "_csrf": [HIDDEN]} if name == "Login_POST" else {}),
            },
            "userPoolDomain": "vehicleapp.auth.us-east-1.amazoncognito.com",
            "userPoolId": "us-east-1_AbCdEfGhI",
        },
        "readOnly": not name.endswith("_POST"),
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "serviceEventDetails": {"serviceAccountId": "111122223333"},
        "eventCategory": "Management",
    }


def console_read_record(name: str = "DescribeUserPool", when: datetime = SECOND) -> dict[str, Any]:
    """A signed read of the console (DescribeUserPool, ListUserPools, ...) under the same event source."""
    return {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:student",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/voclabs/student",
            "accountId": ACCOUNT,
        },
        "eventTime": _stamp(when),
        "eventSource": "cognito-idp.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "console.amazonaws.com",
        "requestParameters": {"userPoolId": "us-east-1_AbCdEfGhI"},
        "responseElements": None,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


def lab_client(client_id: str = LAB_CLIENT, name: str = "VehicleApp") -> Any:
    """An app client of the lab as the checks read it (public, SRP, implicit grant)."""
    from grader.snapshot import AppClient

    return AppClient(
        id=client_id, name=name, has_secret=False, explicit_auth_flows=("ALLOW_USER_SRP_AUTH",),
        oauth_flows=("implicit",), oauth_enabled=True, oauth_scopes=("openid",), identity_providers=("COGNITO",),
        callback_urls=(), logout_urls=(),
    )  # fmt: skip


def lab_pool() -> Any:
    """The lab's user pool as the checks read it."""
    from grader.snapshot import Pool

    return Pool(
        id="us-east-1_AbCdEfGhI", name="VehicleAppUserPool", created="", username_attributes=(), alias_attributes=(),
        password_policy={}, mfa="OFF", recovery_mechanisms=(), admin_create_user_only=True,
        email_sending_account=None, domain=None, custom_domain=None,
    )  # fmt: skip


_LAB = object()
"""The lab's own pool, for grade_auth_events (None there means no pool)."""


def grade_auth_events(found: Any, pool: Any = _LAB, clients: tuple[Any, ...] | None = None) -> Any:
    """cloudtrail.auth_events on `found` for `pool` (default: the lab's; None: no pool) and `clients` (default: the
    lab's); a fail is marked in the check's evidence as `failed`."""
    from types import SimpleNamespace

    from checks.test_cloudtrail import test_auth_events
    from grader.checking import Check, CheckFailed
    from grader.snapshot import Read

    pool = lab_pool() if pool is _LAB else pool
    clients = (lab_client(),) if clients is None else clients
    spec = SimpleNamespace(expected=SimpleNamespace(events_days=90))
    snapshot = SimpleNamespace(pool=Read(value=pool), clients=Read(value=clients if pool else ()))
    check = Check("cloudtrail.auth_events")
    try:
        test_auth_events(found, snapshot, spec, check)  # type: ignore[arg-type]
    except CheckFailed:
        check.evidence["failed"] = True
    return check

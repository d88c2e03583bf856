"""CloudTrail's record format for the sandbox's events: the members, hidden secrets and names.

A Cognito user-pool call becomes a management event (``AwsApiCall``) with every secret
(passwords, SRP values, tokens, sessions) shown as ``HIDDEN_DUE_TO_SECURITY_REASONS``; the app
client's ``clientId`` stays in clear on ``InitiateAuth``, as in AWS's samples, and is left out of
``RespondToAuthChallenge`` (no public sample shows it there: docs/aws-cloudtrail.md). A hosted-UI
request becomes a service event (``Login_GET``, ``Token_POST``, ...: ``AwsServiceEvent``,
``requestParameters`` null, the parameters as lists under ``additionalEventData``,
``userIdentity`` only ``{accountId}``). ``eventTime`` is in whole seconds, as CloudTrail stamps it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from grader.sandbox.wsgi import header_value, status_code

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
EVENT_SOURCE = "cognito-idp.amazonaws.com"
EVENT_VERSION = "1.08"
# The hosted UI's endpoints and the service events AWS names them by ("Understanding Amazon Cognito
# sign-in events" and "Example Amazon Cognito events"; Login_POST follows the documented pattern).
HOSTED_UI_EVENTS = {
    ("GET", "/login"): "Login_GET",
    ("POST", "/login"): "Login_POST",
    ("GET", "/signup"): "Signup_GET",
    ("POST", "/signup"): "Signup_POST",
    ("GET", "/confirm"): "Confirm_GET",
    ("POST", "/confirm"): "Confirm_POST",
    ("POST", "/oauth2/token"): "Token_POST",
}
# Hosted-UI parameters AWS shows as HIDDEN_DUE_TO_SECURITY_REASONS.
HOSTED_UI_SECRETS = frozenset(
    {"username", "password", "_csrf", "code", "code_verifier", "refresh_token", "client_secret", "cognitoasfdata"}
)
SERVICE_ACCOUNT = "111122223333"  # the account AWS names in serviceEventDetails.serviceAccountId
# Strings hidden wherever they appear: JWTs, and long opaque blobs (SRP values, sessions).
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_BLOB = re.compile(r"^[A-Za-z0-9+/=_-]{100,}$")
# Request and response members whose whole value AWS replaces with HIDDEN_DUE_TO_SECURITY_REASONS
# (compared case-insensitively with the API's member name).
_SECRET_MEMBERS = frozenset(
    name.lower()
    for name in (
        "AuthParameters",
        "ChallengeResponses",
        "ChallengeParameters",
        "Session",
        "Password",
        "PreviousPassword",
        "ProposedPassword",
        "TemporaryPassword",
        "NewPassword",
        "AccessToken",
        "IdToken",
        "RefreshToken",
        "Token",
        "SecretHash",
        "ClientSecret",
        "ConfirmationCode",
        "SecretCode",
        "UserCode",
        "Code",
        "UserContextData",
        "NewDeviceMetadata",
        "DeviceSecretVerifierConfig",
        "SRP_A",
        "SRP_B",
        "Salt",
        "SecretBlock",
    )
)
# Map-typed members: their keys are data, not member names, so they keep their case.
_MAP_MEMBERS = frozenset(
    {"ClientMetadata", "AuthParameters", "ChallengeResponses", "ChallengeParameters", "UserPoolTags", "Tags"}
)
# Operations recorded as read-only (readOnly true, no responseElements).
READ_PREFIXES = ("Describe", "List", "Get", "AdminGet", "AdminList")


@dataclass(frozen=True)
class CallContext:
    """Who a call belongs to, resolved before the call reaches moto."""

    account: str
    region: str
    identity: dict[str, Any]
    access_key: str | None
    username: str | None
    sub: str | None


@dataclass(frozen=True)
class StoredEvent:
    """An event as event history keeps it: its record, and what LookupEvents filters on."""

    seq: int
    account: str
    region: str
    when: datetime  # eventTime, whole seconds, UTC
    record: dict[str, Any]
    text: str  # the record as JSON, as CloudTrailEvent carries it
    access_key: str | None
    username: str | None
    resources: tuple[tuple[str, str], ...] = ()  # (ResourceType, ResourceName) in event history

    @property
    def sort_key(self) -> tuple[float, int]:
        return (self.when.timestamp(), self.seq)


# ---------------------------------------------------------------------- building records


def new_record(
    now: datetime, environ: Mapping[str, Any], context: CallContext, source: str, name: str
) -> dict[str, Any]:
    """The first members of an event's record (`now`: its time, in whole seconds)."""
    return {
        "eventVersion": EVENT_VERSION,
        "userIdentity": context.identity,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": context.region,
        "sourceIPAddress": source_ip(environ),
        "userAgent": str(environ.get("HTTP_USER_AGENT", "")),
    }


def finish_record(
    record: dict[str, Any],
    context: CallContext,
    headers: list[tuple[str, str]],
    read_only: bool,
    event_type: str = "AwsApiCall",
) -> str:
    """Add the record's last members; returns the record as JSON, as CloudTrailEvent carries it."""
    record.update(
        {
            "requestID": header_value(headers, "x-amzn-requestid") or str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()),
            "readOnly": read_only,
            "eventType": event_type,
            "managementEvent": True,
            "recipientAccountId": context.account,
            "eventCategory": "Management",
        }
    )
    return json.dumps(record, separators=(",", ":"))


def cognito_call_record(
    now: datetime,
    environ: Mapping[str, Any],
    operation: str,
    params: dict[str, Any],
    context: CallContext,
    status: str,
    headers: list[tuple[str, str]],
    payload: bytes,
) -> tuple[dict[str, Any], bool]:
    """The record of a Cognito user-pool call and its answer (not yet finished), and whether it only reads."""
    code = status_code(status)
    try:
        answer = json.loads(payload) if payload else {}
    except ValueError:
        answer = None
    read_only = operation.startswith(READ_PREFIXES)
    record = new_record(now, environ, context, EVENT_SOURCE, operation)
    if code >= 400:
        error_code, message = error_of(answer, headers, code)
        record["errorCode"] = error_code
        record["errorMessage"] = message
        response_elements = None
    elif read_only or not isinstance(answer, dict) or not answer:
        response_elements = None
    else:
        response_elements = scrub(camel(answer))
    request = scrub(camel(params)) if params else None
    if operation == "RespondToAuthChallenge" and isinstance(request, dict):
        request.pop("clientId", None)  # not shown by any public sample: docs/aws-cloudtrail.md
    record["requestParameters"] = request
    record["responseElements"] = response_elements
    if context.sub:
        record["additionalEventData"] = {"sub": context.sub}
    return record, read_only


def service_event_record(
    now: datetime,
    environ: Mapping[str, Any],
    context: CallContext,
    name: str,
    status: int,
    params: dict[str, list[str]],
    pool_id: str,
    host: str,
) -> dict[str, Any]:
    """The record (not yet finished) of one hosted-UI request (`name` as in HOSTED_UI_EVENTS) of `host`."""
    record = new_record(now, environ, context, EVENT_SOURCE, name)
    if name.endswith("_GET"):
        record.update({"errorCode": "", "errorMessage": ""})
    record["requestParameters"] = None
    record["responseElements"] = None
    record["additionalEventData"] = {
        "responseParameters": {"status": float(status)},
        "requestParameters": {
            key: [HIDDEN if key.lower() in HOSTED_UI_SECRETS else value[:500] for value in values[:10]]
            for key, values in list(params.items())[:50]
        },
        "userPoolDomain": host,
        "userPoolId": pool_id,
    }
    record["serviceEventDetails"] = {"serviceAccountId": SERVICE_ACCOUNT}
    return record


# ---------------------------------------------------------------------- members


def camel(value: Any, *, keep_keys: bool = False) -> Any:
    """API member names in CloudTrail's lowerCamelCase (map keys keep their case)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = str(key) if keep_keys else _lower_first(str(key))
            out[name] = camel(item, keep_keys=str(key) in _MAP_MEMBERS)
        return out
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


def scrub(value: Any) -> Any:
    """Hide secrets as AWS does: whole members by name, and any token-like string left over."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if str(key).lower() in _SECRET_MEMBERS and item is not None:
                out[key] = HIDDEN
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, str) and (_JWT.match(value) or _BLOB.match(value)):
        return HIDDEN
    return value


def error_of(answer: Any, headers: list[tuple[str, str]], status: int) -> tuple[str, str]:
    code = ""
    message = ""
    if isinstance(answer, dict):
        code = str(answer.get("__type") or answer.get("code") or "")
        message = str(answer.get("message") or answer.get("Message") or "")
    if not code:
        code = header_value(headers, "x-amzn-errortype") or ("InternalFailure" if status >= 500 else "BadRequest")
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    return code, message


def source_ip(environ: Mapping[str, Any]) -> str:
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")[0].strip()
    return forwarded or str(environ.get("REMOTE_ADDR", ""))


def iso_time(moment: datetime) -> str:
    """`moment` as CloudTrail writes a time: ISO 8601, UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

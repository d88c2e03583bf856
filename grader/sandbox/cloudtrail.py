"""CloudTrail for the sandbox: Cognito user-pool calls become events, as in AWS.

moto 5.2.x keeps trails but records nothing: ``LookupEvents`` answers 500 and no log file ever
reaches a trail's bucket (tests/sandbox/test_moto_assumptions.py). :class:`CloudTrailRecorder` is a WSGI
middleware that

* records every Cognito user-pool call it passes on (``X-Amz-Target:
  AWSCognitoIdentityProviderService.<Op>``, signed SDK calls and the browser's unsigned calls,
  successes and failures) as a management event in CloudTrail's record format, with every
  secret (passwords, SRP values, tokens, sessions) shown as ``HIDDEN_DUE_TO_SECURITY_REASONS``
  (the app client's ``clientId`` stays in clear on ``InitiateAuth``, as in AWS's samples; no public
  sample shows it on ``RespondToAuthChallenge``, so it is left out there and the grader must pair
  a sign-in's two calls without it: docs/aws-cloudtrail.md);
* records hosted-UI requests, as AWS does, as service events (``Login_GET``, ``Login_POST``,
  ``Token_POST``, ...: ``eventType`` ``AwsServiceEvent``, ``requestParameters`` null, the
  parameters as lists under ``additionalEventData.requestParameters``, ``userIdentity`` only
  ``{accountId}``) when the hosted UI answers through :func:`hosted_ui_call`;
* records EC2 ``StartInstances`` and ``StopInstances`` (source ``ec2.amazonaws.com``, the
  instances in ``requestParameters.instancesSet.items``, and in event history's ``Resources``
  as ``AWS::EC2::Instance``), so a restarted instance shows when it was started again;
* stamps ``eventTime`` in whole seconds, as CloudTrail does: the two calls of one browser
  sign-in usually share a second, and event history, newest first, lists the answer
  (``RespondToAuthChallenge``) before the question (``InitiateAuth``);
* answers ``LookupEvents`` (event history: 90 days, per account and region, with or without a
  trail);
* delivers each event at once, as a gzip ``{"Records": [...]}`` object, to every logging trail
  of the account that covers the event's region, under
  ``[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` then the file name
  ``<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz``;
* corrects moto's ``GetTrailStatus`` delivery fields (``LatestDeliveryTime`` of real deliveries,
  ``LatestDeliveryError`` ``NoSuchBucket`` when the bucket is gone);
* delivers a trail's files encrypted with its KMS key (SSE-KMS) when it has one, and, once
  :meth:`CloudTrailRecorder.deny_decrypt` names that key, refuses them to S3 GetObject
  (AccessDenied), as S3 does to a caller without ``kms:Decrypt`` on the key.

It must sit outside the layers that answer Cognito calls (CognitoFidelity, moto), so the real
answer decides success or failure, and inside the gateway (whose injected faults are answered
before any AWS service sees the call).
"""

from __future__ import annotations

import base64
import copy
import functools
import gzip
import hashlib
import json
import logging
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from grader.sandbox.moto_state import default_account_id, find_user_pool
from grader.sandbox.wsgi import (
    SigV4Credential,
    StartResponse,
    WSGIApp,
    read_body,
    read_json_object,
    sigv4_credential,
)

__all__ = ["HIDDEN", "CloudTrailRecorder", "hosted_ui_call", "log_file_key"]

_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
EVENT_SOURCE = "cognito-idp.amazonaws.com"
EC2_SOURCE = "ec2.amazonaws.com"
EC2_INSTANCE = "AWS::EC2::Instance"
EVENT_VERSION = "1.08"
RETENTION = timedelta(days=90)
MAX_RESULTS = 50
DEFAULT_REGION = "us-east-1"

_COGNITO_PREFIX = "AWSCognitoIdentityProviderService."
_CLOUDTRAIL_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_LOOKUP_EVENTS = _CLOUDTRAIL_PREFIX + "LookupEvents"
_GET_TRAIL_STATUS = _CLOUDTRAIL_PREFIX + "GetTrailStatus"
_LOOKUP_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
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
_HOSTED_UI_SECRETS = frozenset(
    {"username", "password", "_csrf", "code", "code_verifier", "refresh_token", "client_secret", "cognitoasfdata"}
)
SERVICE_ACCOUNT = "111122223333"  # the account AWS names in serviceEventDetails.serviceAccountId
_HOST_REGION = re.compile(r"^cognito-idp(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com", re.I)
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_BLOB = re.compile(r"^[A-Za-z0-9+/=_-]{100,}$")
_UNIQUE_ALPHABET = string.ascii_letters + string.digits

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
_READ_PREFIXES = ("Describe", "List", "Get", "AdminGet", "AdminList")
# EC2 calls recorded (the instance state changes a lab session makes).
_EC2_ACTIONS = frozenset({"StartInstances", "StopInstances"})
_INSTANCE_ID_PARAM = re.compile(r"^InstanceId\.(\d+)$")


# ---------------------------------------------------------------------- stored events


@dataclass(frozen=True)
class _Stored:
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


@dataclass
class _Delivery:
    """What CloudTrail knows about a trail's deliveries (for GetTrailStatus)."""

    last_attempt: datetime | None = None
    last_success: datetime | None = None
    error: str | None = None
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Context:
    """Who a Cognito call belongs to, resolved before the call reaches moto."""

    account: str
    region: str
    identity: dict[str, Any]
    access_key: str | None
    username: str | None
    sub: str | None


class CloudTrailRecorder:
    """WSGI middleware: CloudTrail event history and log delivery for Cognito user-pool calls.

    ``clock`` returns the current time as an aware UTC datetime (tests pass a fake one).
    """

    def __init__(self, app: WSGIApp, *, clock: Clock | None = None) -> None:
        self.app = app
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._events: list[_Stored] = []
        self._pending: list[tuple[Any, str, dict[str, Any]]] = []  # (trail, region, record)
        self._deliveries: dict[str, _Delivery] = {}  # trail ARN -> state
        self._identities: dict[str, tuple[dict[str, Any], str | None]] = {}  # access key -> identity
        self._seq = 0
        self._lock = threading.RLock()
        self._denied_keys: set[str] = set()  # KMS key ids whose log files S3 refuses (deny_decrypt)

    # ------------------------------------------------------------------ public API

    def events(self, account_id: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        """The recorded events (CloudTrail records, oldest first), optionally of one account/region."""
        with self._lock:
            chosen = [
                e
                for e in self._events
                if (account_id is None or e.account == account_id) and (region is None or e.region == region)
            ]
        return [copy.deepcopy(e.record) for e in chosen]

    def clear(self) -> None:
        """Forget every event, pending delivery and delivery status (the sandbox's reset)."""
        with self._lock:
            self._events.clear()
            self._pending.clear()
            self._deliveries.clear()
            self._identities.clear()
            self._denied_keys.clear()

    def deny_decrypt(self, key: str) -> None:
        """From now on S3 refuses (AccessDenied) to return any object encrypted with the KMS key `key`
        (its id or ARN), as it does to a caller without kms:Decrypt on that key; until the reset."""
        with self._lock:
            self._denied_keys.add(_key_id(key))

    def flush(self) -> list[tuple[str, str]]:
        """Deliver pending events to their trails' buckets now; returns the (bucket, key) written.

        The recorder calls this itself after each event, so files appear as soon as the call
        that caused them has been answered.
        """
        with self._lock:
            pending, self._pending = self._pending, []
            groups: dict[tuple[int, str], tuple[Any, str, list[dict[str, Any]]]] = {}
            for trail, region, record in pending:
                entry = groups.setdefault((id(trail), region), (trail, region, []))
                entry[2].append(record)
            written = []
            for trail, region, records in groups.values():
                result = self._deliver(trail, region, records)
                if result:
                    written.append(result)
            return written

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO") == "/moto-api/reset" and method == "POST":
            result = self.app(environ, start_response)
            self.clear()
            return result
        if method in ("GET", "HEAD") and self._denied_keys:
            refused = self._kms_refusal(environ)
            if refused is not None:
                return _s3_error(start_response, "AccessDenied", refused)
        if method != "POST":
            return self.app(environ, start_response)
        if target == _LOOKUP_EVENTS:
            return self._lookup_events(environ, start_response)
        if target == _GET_TRAIL_STATUS:
            return self._get_trail_status(environ, start_response)
        if target.startswith(_COGNITO_PREFIX):
            return self._record_call(environ, start_response, target[len(_COGNITO_PREFIX) :])
        action = _ec2_action(environ)
        if action in _EC2_ACTIONS:
            return self._record_ec2_call(environ, start_response, action)
        return self.app(environ, start_response)

    # ------------------------------------------------------------------ recording

    def _record_call(self, environ: dict[str, Any], start_response: StartResponse, operation: str) -> Iterable[bytes]:
        params = read_json_object(environ) or {}
        record = functools.partial(self._record, environ, operation, params)
        return self._pass_on(environ, start_response, operation, params, record, fallback=_anonymous_context)

    def _pass_on(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        name: str,
        params: Mapping[str, Any],
        record: Callable[[_Context, str, list[tuple[str, str]], bytes], None],
        *,
        fallback: Callable[[Mapping[str, Any]], _Context] | None = None,
    ) -> Iterable[bytes]:
        """Pass the call on and ``record`` its answer; no bookkeeping failure ever breaks the call.

        When the call can't be placed in an account and region, ``fallback`` gives its context;
        without one, the call goes unrecorded.
        """
        context: _Context | None
        try:
            context = _resolve_context(environ, params, self._identities)
        except Exception:  # noqa: BLE001 - never let the bookkeeping break the call
            _log.exception("could not place %s in an account and region", name)
            context = fallback(environ) if fallback else None
        status, headers, payload = _call(self.app, environ)
        if context is not None:
            try:
                record(context, status, headers, payload)
            except Exception:  # noqa: BLE001 - recording must never break the call it records
                _log.exception("could not record %s as a CloudTrail event", name)
        start_response(status, headers)
        return [payload]

    def _record(
        self,
        environ: Mapping[str, Any],
        operation: str,
        params: dict[str, Any],
        context: _Context,
        status: str,
        headers: list[tuple[str, str]],
        payload: bytes,
    ) -> None:
        code = _status_code(status)
        try:
            answer = json.loads(payload) if payload else {}
        except ValueError:
            answer = None
        read_only = operation.startswith(_READ_PREFIXES)
        now, record = self._new_record(environ, context, EVENT_SOURCE, operation)
        if code >= 400:
            error_code, message = _error_of(answer, headers, code)
            record["errorCode"] = error_code
            record["errorMessage"] = message
            response_elements = None
        elif read_only or not isinstance(answer, dict) or not answer:
            response_elements = None
        else:
            response_elements = _scrub(_camel(answer))
        request = _scrub(_camel(params)) if params else None
        if operation == "RespondToAuthChallenge" and isinstance(request, dict):
            request.pop("clientId", None)  # not shown by any public sample: docs/aws-cloudtrail.md
        record["requestParameters"] = request
        record["responseElements"] = response_elements
        if context.sub:
            record["additionalEventData"] = {"sub": context.sub}
        self._store(record, context, now, headers, read_only)

    def _new_record(
        self, environ: Mapping[str, Any], context: _Context, source: str, name: str
    ) -> tuple[datetime, dict[str, Any]]:
        """The event's time (now, in whole seconds) and the first members of its record."""
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": context.identity,
            "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": context.region,
            "sourceIPAddress": _source_ip(environ),
            "userAgent": str(environ.get("HTTP_USER_AGENT", "")),
        }
        return now, record

    def _store(
        self,
        record: dict[str, Any],
        context: _Context,
        now: datetime,
        headers: list[tuple[str, str]],
        read_only: bool,
        resources: tuple[tuple[str, str], ...] = (),
        event_type: str = "AwsApiCall",
    ) -> None:
        """Finish the record, keep it for event history and queue it for the logging trails."""
        record.update(
            {
                "requestID": _header(headers, "x-amzn-requestid") or str(uuid.uuid4()),
                "eventID": str(uuid.uuid4()),
                "readOnly": read_only,
                "eventType": event_type,
                "managementEvent": True,
                "recipientAccountId": context.account,
                "eventCategory": "Management",
            }
        )
        text = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._seq += 1
            self._events.append(
                _Stored(
                    self._seq,
                    context.account,
                    context.region,
                    now,
                    record,
                    text,
                    context.access_key,
                    context.username,
                    resources,
                )
            )
            for trail in _logging_trails(context.account, context.region, record):
                self._pending.append((trail, context.region, record))
            self.flush()

    def _record_ec2_call(self, environ: dict[str, Any], start_response: StartResponse, action: str) -> Iterable[bytes]:
        """Pass an EC2 StartInstances/StopInstances call on, and record it as CloudTrail does."""
        instance_ids = _instance_ids(read_body(environ))
        record = functools.partial(self._record_ec2, environ, action, instance_ids)
        return self._pass_on(environ, start_response, action, {}, record)

    def _record_ec2(
        self,
        environ: Mapping[str, Any],
        action: str,
        instance_ids: list[str],
        context: _Context,
        status: str,
        headers: list[tuple[str, str]],
        payload: bytes,
    ) -> None:
        now, record = self._new_record(environ, context, EC2_SOURCE, action)
        code = _status_code(status)
        response_elements = None
        if code >= 400:
            record["errorCode"], record["errorMessage"] = _ec2_error(payload, code)
        else:
            response_elements = {
                "requestId": _header(headers, "x-amzn-requestid")
                or _xml_text(payload, "requestId")
                or str(uuid.uuid4()),
                "instancesSet": {"items": _instance_changes(payload)},
            }
        record["requestParameters"] = {"instancesSet": {"items": [{"instanceId": i} for i in instance_ids]}}
        if action == "StopInstances":
            record["requestParameters"]["force"] = False
        record["responseElements"] = response_elements
        resources = tuple((EC2_INSTANCE, i) for i in instance_ids)
        self._store(record, context, now, headers, False, resources)

    def record_service_event(
        self, environ: Mapping[str, Any], name: str, status: int, params: dict[str, list[str]], pool: Any, host: str
    ) -> None:
        """Record one hosted-UI request (`name` as in HOSTED_UI_EVENTS) of `pool`'s domain `host`, as AWS does."""
        context = _Context(pool.account, pool.region, {"accountId": pool.account}, None, None, None)
        now, record = self._new_record(environ, context, EVENT_SOURCE, name)
        if name.endswith("_GET"):
            record.update({"errorCode": "", "errorMessage": ""})
        record["requestParameters"] = None
        record["responseElements"] = None
        record["additionalEventData"] = {
            "responseParameters": {"status": float(status)},
            "requestParameters": {
                key: [HIDDEN if key.lower() in _HOSTED_UI_SECRETS else value[:500] for value in values[:10]]
                for key, values in list(params.items())[:50]
            },
            "userPoolDomain": host,
            "userPoolId": pool.pool.id,
        }
        record["serviceEventDetails"] = {"serviceAccountId": SERVICE_ACCOUNT}
        self._store(record, context, now, [], name.endswith("_GET"), event_type="AwsServiceEvent")

    def _kms_refusal(self, environ: Mapping[str, Any]) -> str | None:
        """Why S3 refuses this GetObject (its object's KMS key is denied), or None to answer it as usual."""
        signed = _signed(environ)
        bucket, _, key = str(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
        if signed is None or signed.service != "s3" or not bucket or not key:
            return None
        from urllib.parse import unquote

        from moto.s3.models import s3_backends

        owner = s3_backends.bucket_accounts.get(bucket)
        if owner is None:
            return None
        partition, account = owner
        try:
            stored = s3_backends[account][partition].get_object(bucket, unquote(key))
        except Exception:  # noqa: BLE001 - no such key: S3 answers that itself
            return None
        kms = getattr(stored, "kms_key_id", None)
        if not isinstance(kms, str) or _key_id(kms) not in self._denied_keys:
            return None
        return f"The caller is not allowed kms:Decrypt on the KMS key {kms}, which encrypts this object."

    # ------------------------------------------------------------------ delivery

    def _deliver(self, trail: Any, region: str, records: list[dict[str, Any]]) -> tuple[str, str] | None:
        from moto.s3.models import s3_backends

        now = self.clock().astimezone(UTC)
        state = self._deliveries.setdefault(trail.arn, _Delivery())
        state.last_attempt = now
        bucket = trail.bucket_name
        owner = s3_backends.bucket_accounts.get(bucket)
        if owner is None:
            state.error = "NoSuchBucket"
            return None
        partition, bucket_account = owner
        key = log_file_key(trail.account_id, region, now, trail.s3_key_prefix)
        data = gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode())
        kms = getattr(trail, "kms_key_id", None)
        try:
            s3_backends[bucket_account][partition].put_object(
                bucket,
                key,
                data,
                encryption="aws:kms" if kms else "AES256",
                kms_key_id=kms or None,
            )
        except Exception as exc:  # noqa: BLE001 - the bucket vanished meanwhile, or moto refused the object
            state.error = getattr(exc, "code", None) or type(exc).__name__
            return None
        state.last_success = now
        state.error = None
        state.keys.append(key)
        return bucket, key

    # ------------------------------------------------------------------ LookupEvents

    def _lookup_events(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        params = read_json_object(environ)
        if params is None:
            return _json_error(start_response, "SerializationException", "Could not parse the request body.")
        account = default_account_id(environ)
        region = _signed_region(environ) or _host_region(environ) or DEFAULT_REGION
        try:
            answer = self._lookup(account, region, params)
        except _LookupError as err:
            return _json_error(start_response, err.code, err.message)
        return _json_ok(start_response, answer)

    def _lookup(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        attributes = params.get("LookupAttributes") or []
        if not isinstance(attributes, list):
            raise _LookupError("InvalidLookupAttributesException", "LookupAttributes must be a list.")
        if len(attributes) > 1:
            raise _LookupError("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
        attribute: tuple[str, str] | None = None
        if attributes:
            item = attributes[0] if isinstance(attributes[0], dict) else {}
            key, value = item.get("AttributeKey"), item.get("AttributeValue")
            if key not in _LOOKUP_KEYS or not isinstance(value, str) or not value:
                raise _LookupError(
                    "InvalidLookupAttributesException",
                    f"Invalid lookup attribute: {key!r}. Valid keys: {', '.join(_LOOKUP_KEYS)}.",
                )
            attribute = (key, value)
        max_results = params.get("MaxResults", MAX_RESULTS)
        if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= MAX_RESULTS:
            raise _LookupError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        now = self.clock().astimezone(UTC)
        start = _timestamp(params.get("StartTime"), "StartTime")
        end = _timestamp(params.get("EndTime"), "EndTime")
        if start is not None and end is not None and start > end:
            raise _LookupError("InvalidTimeRangeException", "The start time must not be later than the end time.")
        oldest = now - RETENTION
        if start is None or start < oldest:
            start = oldest
        category = params.get("EventCategory")
        if category is not None and category != "insight":
            raise _LookupError("InvalidEventCategoryException", f"Invalid EventCategory: {category!r}.")
        fingerprint = hashlib.sha256(
            json.dumps(
                [attributes, params.get("StartTime"), params.get("EndTime"), category], sort_keys=True, default=str
            ).encode()
        ).hexdigest()[:16]
        after: tuple[float, int] | None = None
        token = params.get("NextToken")
        if token is not None:
            after = _parse_token(token, fingerprint)
        if category == "insight":
            return {"Events": []}  # no Insights events in the sandbox
        with self._lock:
            candidates = [
                e
                for e in self._events
                if e.account == account
                and e.region == region
                and start <= e.when
                and (end is None or e.when <= end)
                and _matches(e, attribute)
            ]
        candidates.sort(key=lambda e: e.sort_key, reverse=True)
        if after is not None:
            candidates = [e for e in candidates if e.sort_key < after]
        page = candidates[:max_results]
        answer: dict[str, Any] = {"Events": [_event_summary(e) for e in page]}
        if len(candidates) > max_results:
            answer["NextToken"] = _make_token(page[-1].sort_key, fingerprint)
        return answer

    # ------------------------------------------------------------------ GetTrailStatus

    def _get_trail_status(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = read_body(environ)
        status, headers, payload = _call(self.app, environ)
        if _status_code(status) != 200:
            start_response(status, headers)
            return [payload]
        try:
            params = json.loads(body or b"{}")
            answer = json.loads(payload)
        except ValueError:
            start_response(status, headers)
            return [payload]
        account = default_account_id(environ)
        region = _signed_region(environ) or DEFAULT_REGION
        trail = _find_trail(account, region, str(params.get("Name", "")))
        if trail is not None and isinstance(answer, dict):
            self._patch_status(trail, answer)
            payload = json.dumps(answer).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    def _patch_status(self, trail: Any, answer: dict[str, Any]) -> None:
        """Delivery fields from what was really delivered (moto reports a delivery 'now')."""
        from moto.s3.models import s3_backends

        with self._lock:
            state = self._deliveries.get(trail.arn)
        answer.pop("LatestDeliveryTime", None)
        answer.pop("LatestDeliveryError", None)
        answer["LatestDeliveryAttemptTime"] = ""
        answer["LatestDeliveryAttemptSucceeded"] = ""
        if state is not None:
            if state.last_attempt is not None:
                answer["LatestDeliveryAttemptTime"] = _iso(state.last_attempt)
            if state.last_success is not None:
                answer["LatestDeliveryTime"] = state.last_success.timestamp()
                answer["LatestDeliveryAttemptSucceeded"] = _iso(state.last_success)
            if state.error:
                answer["LatestDeliveryError"] = state.error
        if trail.status.is_logging and trail.bucket_name not in s3_backends.bucket_accounts:
            # AWS tries to deliver every few minutes (its own API calls are events too).
            answer["LatestDeliveryError"] = "NoSuchBucket"


# ---------------------------------------------------------------------- helpers: WSGI


class _LookupError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _call(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run the inner app to completion: its status, headers and whole body."""
    captured: dict[str, Any] = {}
    written: list[bytes] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, list(headers)
        return written.append

    result = app(environ, capture)
    try:
        chunks = [bytes(chunk) for chunk in result]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured.get("status", "500 Internal Server Error"), captured.get("headers", []), b"".join(written + chunks)


def _key_id(key: str) -> str:
    """A KMS key's id, from its id or its ARN (`arn:aws:kms:<region>:<account>:key/<id>`)."""
    return key.rsplit("key/", 1)[-1]


def _s3_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    """An S3 error answer (XML, 403), as S3 gives it."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _status_code(status: str) -> int:
    try:
        return int(status.split(" ", 1)[0])
    except ValueError:
        return 500


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _json_ok(start_response: StartResponse, answer: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(answer).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


def _json_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    payload = json.dumps({"__type": code, "Message": message}).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


# ---------------------------------------------------------------------- helpers: who and where


def _signed(environ: Mapping[str, Any]) -> SigV4Credential | None:
    """The credential of a signed call: one whose SigV4 scope names its date, region and service."""
    credential = sigv4_credential(environ)
    return credential if credential is not None and credential.region is not None else None


def _signed_region(environ: Mapping[str, Any]) -> str | None:
    signed = _signed(environ)
    return signed.region if signed else None


def _access_key(environ: Mapping[str, Any]) -> str | None:
    signed = _signed(environ)
    return signed.access_key if signed else None


def _anonymous_context(environ: Mapping[str, Any]) -> _Context:
    """The context of a Cognito call that could not be placed: the request's account and region."""
    return _Context(
        default_account_id(environ),
        _signed_region(environ) or _host_region(environ) or DEFAULT_REGION,
        {"type": "Unknown", "principalId": "Anonymous"},
        _access_key(environ),
        None,
        None,
    )


def _host_region(environ: Mapping[str, Any]) -> str | None:
    match = _HOST_REGION.match(str(environ.get("HTTP_HOST", "")))
    return match.group(1).lower() if match else None


def _source_ip(environ: Mapping[str, Any]) -> str:
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")[0].strip()
    return forwarded or str(environ.get("REMOTE_ADDR", ""))


def _ec2_action(environ: dict[str, Any]) -> str | None:
    """The Action of a signed EC2 query-protocol call (its body is put back for the next layer)."""
    signed = _signed(environ)
    if signed is None or signed.service != "ec2":
        return None
    if "x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")):
        return None
    body = read_body(environ)
    return parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]


def _instance_ids(body: bytes) -> list[str]:
    """InstanceId.1, InstanceId.2, ... of an EC2 query-protocol body, in their order."""
    found = []
    for name, values in parse_qs(body.decode("utf-8", "replace")).items():
        match = _INSTANCE_ID_PARAM.match(name)
        if match and values:
            found.append((int(match.group(1)), values[0]))
    return [value for _, value in sorted(found)]


def _xml_root(payload: bytes) -> Any:
    try:
        root = ElementTree.fromstring(payload)
    except ElementTree.ParseError:
        return None
    for element in root.iter():  # drop the EC2 namespace: element names are what matters
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


def _xml_text(payload: bytes, tag: str) -> str:
    root = _xml_root(payload)
    found = root.find(f".//{tag}") if root is not None else None
    return (found.text or "").strip() if found is not None else ""


def _instance_changes(payload: bytes) -> list[dict[str, Any]]:
    """The instancesSet items of a StartInstances/StopInstances answer, as CloudTrail shows them."""
    root = _xml_root(payload)
    if root is None:
        return []
    items = []
    for item in root.findall(".//instancesSet/item"):
        entry: dict[str, Any] = {"instanceId": (item.findtext("instanceId") or "").strip()}
        for name in ("currentState", "previousState"):
            state = item.find(name)
            if state is not None:
                code = (state.findtext("code") or "").strip()
                entry[name] = {
                    "code": int(code) if code.isdigit() else code,
                    "name": (state.findtext("name") or "").strip(),
                }
        items.append(entry)
    return items


def _ec2_error(payload: bytes, status: int) -> tuple[str, str]:
    code = _xml_text(payload, "Code") or ("InternalFailure" if status >= 500 else "BadRequest")
    return code, _xml_text(payload, "Message")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _pool_id_from_token(token: Any) -> str | None:
    """The pool id in a Cognito JWT's ``iss`` (read, not verified: only to place the event)."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if isinstance(issuer, str) and "/" in issuer:
        return issuer.rstrip("/").rsplit("/", 1)[-1]
    return None


def _user_sub(pool: Any, params: Mapping[str, Any]) -> str | None:
    """The ``sub`` of the user a sign-in call names, if that user exists."""
    username = None
    for member in ("AuthParameters", "ChallengeResponses"):
        values = params.get(member)
        if isinstance(values, dict) and isinstance(values.get("USERNAME"), str):
            username = values["USERNAME"]
            break
    if username is None and isinstance(params.get("Username"), str):
        username = params["Username"]
    if not username or pool is None:
        return None
    try:
        user = pool._get_user(username)
    except Exception:  # noqa: BLE001 - moto's own lookup: an unknown user is no attribute to read
        return None
    if user is None:
        return None
    for attribute in getattr(user, "attributes", []) or []:
        if attribute.get("Name") == "sub":
            return str(attribute.get("Value"))
    return str(getattr(user, "id", "") or "") or None


def _identity_of(access_key: str, account: str) -> tuple[dict[str, Any], str | None]:
    """userIdentity for a SigV4-signed call, as moto's GetCallerIdentity sees the key."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for _acct, regional in list(sts_backends.items()):
        for _partition, backend in list(regional.items()):
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is None:
                continue
            role_name = role.role_arn.split("/")[-1]
            principal = role.user_id
            return (
                {
                    "type": "AssumedRole",
                    "principalId": principal,
                    "arn": role.arn,
                    "accountId": role.account_id,
                    "accessKeyId": access_key,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": principal.split(":", 1)[0],
                            "arn": role.role_arn,
                            "accountId": role.account_id,
                            "userName": role_name,
                        },
                        "attributes": {
                            "creationDate": _iso(role.access_key.create_date.replace(tzinfo=UTC)),
                            "mfaAuthenticated": "false",
                        },
                    },
                },
                role.session_name,
            )
    for _acct, iam_regional in list(iam_backends.items()):
        for _partition, iam_backend in list(iam_regional.items()):
            try:
                user = iam_backend.get_user_from_access_key_id(access_key)
            except Exception:  # noqa: BLE001 - moto's own lookup: a key it cannot place is no IAM user
                user = None
            if user is not None:
                return (
                    {
                        "type": "IAMUser",
                        "principalId": user.id,
                        "arn": user.arn,
                        "accountId": user.account_id,
                        "accessKeyId": access_key,
                        "userName": user.name,
                    },
                    user.name,
                )
    # A key moto does not know: moto's GetCallerIdentity answers user "moto" of the account.
    return (
        {
            "type": "IAMUser",
            "principalId": "AKIAIOSFODNN7EXAMPLE",
            "arn": f"arn:aws:iam::{account}:user/moto",
            "accountId": account,
            "accessKeyId": access_key,
            "userName": "moto",
        },
        "moto",
    )


def _resolve_context(
    environ: Mapping[str, Any],
    params: Mapping[str, Any],
    identities: dict[str, tuple[dict[str, Any], str | None]],
) -> _Context:
    preferred = default_account_id(environ)
    found = find_user_pool(
        preferred,
        pool_id=_text(params.get("UserPoolId") or _pool_id_from_token(params.get("AccessToken"))),
        client_id=_text(params.get("ClientId")),
    )
    pool = found.pool if found else None
    sub = _user_sub(pool, params)
    key = _access_key(environ)
    if key:
        if key not in identities or identities[key][0]["accountId"] != preferred:
            # cached: moto invents a new role id on every look when the role is not in IAM
            identities[key] = _identity_of(key, preferred)
        identity, username = copy.deepcopy(identities[key])
        region = _signed_region(environ) or DEFAULT_REGION
        return _Context(preferred, region, identity, key, username, sub)
    # Unsigned (the browser SDK): the event belongs to the pool's account and region.
    if found:
        account, region = found.account, found.region
    else:
        account = preferred
        pool_id = params.get("UserPoolId")
        region = (
            _host_region(environ)
            or (pool_id.split("_", 1)[0] if isinstance(pool_id, str) and "_" in pool_id else None)
            or DEFAULT_REGION
        )
    identity = {"type": "Unknown", "principalId": "Anonymous"}
    return _Context(account, region, identity, None, None, sub)


# ---------------------------------------------------------------------- helpers: records


def _camel(value: Any, *, keep_keys: bool = False) -> Any:
    """API member names in CloudTrail's lowerCamelCase (map keys keep their case)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = str(key) if keep_keys else _lower_first(str(key))
            out[name] = _camel(item, keep_keys=str(key) in _MAP_MEMBERS)
        return out
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


def _scrub(value: Any) -> Any:
    """Hide secrets as AWS does: whole members by name, and any token-like string left over."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if str(key).lower() in _SECRET_MEMBERS and item is not None:
                out[key] = HIDDEN
            else:
                out[key] = _scrub(item)
        return out
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, str) and (_JWT.match(value) or _BLOB.match(value)):
        return HIDDEN
    return value


def _error_of(answer: Any, headers: list[tuple[str, str]], status: int) -> tuple[str, str]:
    code = ""
    message = ""
    if isinstance(answer, dict):
        code = str(answer.get("__type") or answer.get("code") or "")
        message = str(answer.get("message") or answer.get("Message") or "")
    if not code:
        code = _header(headers, "x-amzn-errortype") or ("InternalFailure" if status >= 500 else "BadRequest")
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    return code, message


def _logging_trails(account: str, region: str, record: Mapping[str, Any]) -> list[Any]:
    """The account's trails that log this event now: logging, covering the region, selecting it."""
    return [
        trail
        for trail in _account_trails(account)
        if trail.status.is_logging
        and (trail.is_multi_region or trail.region_name == region)
        and _selected(trail, record)
    ]


def _selected(trail: Any, record: Mapping[str, Any]) -> bool:
    """Do the trail's event selectors take this management event? (none set: all of them)"""
    basic = getattr(trail, "event_selectors", None) or []
    advanced = getattr(trail, "advanced_event_selectors", None) or []
    read_only = bool(record.get("readOnly"))
    if basic:
        for selector in basic:
            if not selector.get("IncludeManagementEvents", True):
                continue
            kind = selector.get("ReadWriteType", "All")
            if (kind == "ReadOnly" and not read_only) or (kind == "WriteOnly" and read_only):
                continue
            if record.get("eventSource") in (selector.get("ExcludeManagementEventSources") or []):
                continue
            return True
        return False
    if advanced:
        return any(_advanced_match(selector, record) for selector in advanced)
    return True


def _advanced_match(selector: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    fields = {
        "eventCategory": record.get("eventCategory"),
        "readOnly": "true" if record.get("readOnly") else "false",
        "eventSource": record.get("eventSource"),
        "eventName": record.get("eventName"),
        "eventType": record.get("eventType"),
    }
    has_category = False
    for condition in selector.get("FieldSelectors") or []:
        name = condition.get("Field")
        if name not in fields:
            continue
        value = str(fields[name])
        has_category = has_category or name == "eventCategory"
        if "Equals" in condition and value not in condition["Equals"]:
            return False
        if "NotEquals" in condition and value in condition["NotEquals"]:
            return False
        if "StartsWith" in condition and not any(value.startswith(p) for p in condition["StartsWith"]):
            return False
        if "NotStartsWith" in condition and any(value.startswith(p) for p in condition["NotStartsWith"]):
            return False
    return has_category


def _find_trail(account: str, region: str, name: str) -> Any:
    if not name:
        return None
    for trail in _account_trails(account):
        if (trail.trail_name == name or trail.arn == name) and (trail.region_name == region or trail.is_multi_region):
            return trail
    return None


def _account_trails(account: str) -> list[Any]:
    """Every trail of the account, in every home region, as moto keeps them."""
    from moto.cloudtrail.models import cloudtrail_backends

    regional = cloudtrail_backends.get(account)  # dict.get: no backend is created
    if not regional:
        return []
    return [trail for backend in list(regional.values()) for trail in list(backend.trails.values())]


def log_file_key(account: str, region: str, delivered: datetime, prefix: str | None = None) -> str:
    """The S3 key CloudTrail gives a log file delivered at ``delivered`` (UTC)."""
    moment = delivered.astimezone(UTC)
    unique = "".join(secrets.choice(_UNIQUE_ALPHABET) for _ in range(16))
    name = f"{account}_CloudTrail_{region}_{moment:%Y%m%dT%H%MZ}_{unique}.json.gz"
    key = f"AWSLogs/{account}/CloudTrail/{region}/{moment:%Y/%m/%d}/{name}"
    prefix = (prefix or "").strip("/")
    return f"{prefix}/{key}" if prefix else key


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------- helpers: LookupEvents


def _timestamp(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str):
            try:
                return datetime.fromtimestamp(float(value), UTC)
            except ValueError:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _LookupError("InvalidTimeRangeException", f"Invalid {name}: {value!r}.")


def _matches(event: _Stored, attribute: tuple[str, str] | None) -> bool:
    if attribute is None:
        return True
    key, value = attribute
    record = event.record
    if key == "EventId":
        return record.get("eventID") == value
    if key == "EventName":
        return record.get("eventName") == value
    if key == "EventSource":
        return record.get("eventSource") == value
    if key == "ReadOnly":
        return ("true" if record.get("readOnly") else "false") == value.lower()
    if key == "Username":
        return event.username == value
    if key == "AccessKeyId":
        return event.access_key == value
    if key == "ResourceType":
        return any(kind == value for kind, _ in event.resources)
    if key == "ResourceName":
        return any(name == value for _, name in event.resources)
    return False


def _event_summary(event: _Stored) -> dict[str, Any]:
    record = event.record
    summary: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
    }
    if event.access_key:
        summary["AccessKeyId"] = event.access_key
    summary["EventTime"] = int(event.when.timestamp())
    summary["EventSource"] = record["eventSource"]
    if event.username:
        summary["Username"] = event.username
    summary["Resources"] = [{"ResourceType": kind, "ResourceName": name} for kind, name in event.resources]
    summary["CloudTrailEvent"] = event.text
    return summary


def _make_token(sort_key: tuple[float, int], fingerprint: str) -> str:
    raw = json.dumps({"t": sort_key[0], "s": sort_key[1], "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_token(token: Any, fingerprint: str) -> tuple[float, int]:
    try:
        text = str(token)
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if raw["f"] != fingerprint:
            raise KeyError("f")
        return float(raw["t"]), int(raw["s"])
    except (ValueError, KeyError, TypeError):
        raise _LookupError(
            "InvalidNextTokenException",
            "Invalid NextToken: it must come from a call with the same parameters.",
        ) from None


def hosted_ui_call(
    environ: dict[str, Any],
    start_response: StartResponse,
    answer: Callable[[StartResponse], Iterable[bytes]],
    *,
    host: str,
    endpoint: str,
    pool_id: str,
    recorder: CloudTrailRecorder,
) -> Iterable[bytes]:
    """Answer a hosted-UI request with `answer`, then record it in the newest live recorder as the
    service event AWS logs for it in `recorder` (Login_GET, Login_POST, Token_POST, ...); other endpoints go
    unrecorded.

    Recording never breaks the answer.
    """
    captured: list[str] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured.append(status)
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    name = HOSTED_UI_EVENTS.get((method, endpoint))
    body = read_body(environ).decode("utf-8", "replace") if name and method == "POST" else ""
    result = answer(capture)
    if name and captured:
        try:
            pool = find_user_pool(default_account_id(environ), pool_id=pool_id)
            params = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
            params.update(parse_qs(body, keep_blank_values=True))
            if pool is not None:
                recorder.record_service_event(environ, name, _status_code(captured[0]), params, pool, host)
        except Exception:  # noqa: BLE001 - recording must never break the page it records
            _log.exception("could not record %s as a CloudTrail service event", name)
    return result

"""CloudTrail for the sandbox: calls become events, as in AWS (the WSGI layer; the CloudTrail requests it answers).

moto 5.2.x keeps trails but records nothing: ``LookupEvents`` answers 500 and no log file ever
reaches a trail's bucket (tests/sandbox/test_moto_assumptions.py). :class:`CloudTrailRecorder` is a
WSGI middleware that records every Cognito user-pool call it passes on (signed SDK calls and the
browser's unsigned calls, successes and failures), the hosted UI's requests answered through
:func:`hosted_ui_call`, and EC2 ``StartInstances``/``StopInstances``; answers ``LookupEvents``;
delivers each event to the logging trails' buckets at once; and corrects moto's
``GetTrailStatus`` delivery fields. The parts:

- grader.sandbox.cloudtrail_records: the record format (hidden secrets, service events);
- grader.sandbox.cloudtrail_identity: the account, region and userIdentity of a call;
- grader.sandbox.cloudtrail_ec2: the EC2 calls recorded;
- grader.sandbox.cloudtrail_lookup: event history and ``LookupEvents``;
- grader.sandbox.cloudtrail_delivery: log files in the trails' buckets, and KMS-denied reads.

It must sit outside the layers that answer Cognito calls (CognitoFidelity, moto), so the real
answer decides success or failure, and inside the gateway (whose injected faults are answered
before any AWS service sees the call).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from grader.sandbox.cloudtrail_delivery import LogDelivery, find_trail
from grader.sandbox.cloudtrail_ec2 import EC2_ACTIONS, ec2_action, ec2_call_record, requested_instance_ids
from grader.sandbox.cloudtrail_identity import (
    DEFAULT_REGION,
    Identities,
    anonymous_context,
    host_region,
    resolve_context,
    signed_region,
)
from grader.sandbox.cloudtrail_lookup import EventHistory, LookupRefusal
from grader.sandbox.cloudtrail_records import (
    HOSTED_UI_EVENTS,
    CallContext,
    cognito_call_record,
    finish_record,
    service_event_record,
)
from grader.sandbox.moto_state import PoolMatch, default_account_id, find_user_pool
from grader.sandbox.wsgi import StartResponse, WSGIApp, call_app, read_body, read_json_object, status_code

__all__ = ["CloudTrailRecorder", "hosted_ui_call"]

_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_COGNITO_PREFIX = "AWSCognitoIdentityProviderService."
_CLOUDTRAIL_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_LOOKUP_EVENTS = _CLOUDTRAIL_PREFIX + "LookupEvents"
_GET_TRAIL_STATUS = _CLOUDTRAIL_PREFIX + "GetTrailStatus"


class CloudTrailRecorder:
    """WSGI middleware: CloudTrail event history and log delivery for the sandbox's calls.

    ``clock`` returns the current time as an aware UTC datetime (tests pass a fake one).
    """

    def __init__(self, app: WSGIApp, *, clock: Clock | None = None) -> None:
        self.app = app
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._history = EventHistory(self._lock)
        self._delivery = LogDelivery(lambda: self.clock(), self._lock)
        self._identities: Identities = {}

    # ------------------------------------------------------------------ public API

    def events(self, account_id: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        """The recorded events (CloudTrail records, oldest first), optionally of one account/region."""
        return self._history.records(account_id, region)

    def clear(self) -> None:
        """Forget every event, pending delivery and delivery status (the sandbox's reset)."""
        with self._lock:
            self._history.clear()
            self._delivery.clear()
            self._identities.clear()

    def deny_decrypt(self, key: str) -> None:
        """From now on S3 refuses (AccessDenied) to return any object encrypted with the KMS key `key`
        (its id or ARN), as it does to a caller without kms:Decrypt on that key; until the reset."""
        self._delivery.deny_decrypt(key)

    def flush(self) -> list[tuple[str, str]]:
        """Deliver pending events to their trails' buckets now; returns the (bucket, key) written.

        The recorder calls this itself after each event, so files appear as soon as the call
        that caused them has been answered.
        """
        return self._delivery.flush()

    def record_service_event(
        self,
        environ: Mapping[str, Any],
        name: str,
        status: int,
        params: dict[str, list[str]],
        pool: PoolMatch,
        host: str,
    ) -> None:
        """Record one hosted-UI request (`name` as in HOSTED_UI_EVENTS) of `pool`'s domain `host`, as AWS does."""
        context = CallContext(pool.account, pool.region, {"accountId": pool.account}, None, None, None)
        now = self._now()
        record = service_event_record(now, environ, context, name, status, params, pool.pool.id, host)
        self._store(record, context, now, [], name.endswith("_GET"), event_type="AwsServiceEvent")

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO") == "/moto-api/reset" and method == "POST":
            result = self.app(environ, start_response)
            self.clear()
            return result
        if method in ("GET", "HEAD") and self._delivery.denied_keys:
            refused = self._delivery.kms_refusal(environ)
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
        action = ec2_action(environ)
        if action in EC2_ACTIONS:
            return self._record_ec2_call(environ, start_response, action)
        return self.app(environ, start_response)

    # ------------------------------------------------------------------ recording

    def _record_call(self, environ: dict[str, Any], start_response: StartResponse, operation: str) -> Iterable[bytes]:
        params = read_json_object(environ) or {}
        record = functools.partial(self._record, environ, operation, params)
        return self._pass_on(environ, start_response, operation, params, record, fallback=anonymous_context)

    def _pass_on(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        name: str,
        params: Mapping[str, Any],
        record: Callable[[CallContext, str, list[tuple[str, str]], bytes], None],
        *,
        fallback: Callable[[Mapping[str, Any]], CallContext] | None = None,
    ) -> Iterable[bytes]:
        """Pass the call on and ``record`` its answer; no bookkeeping failure ever breaks the call.

        When the call can't be placed in an account and region, ``fallback`` gives its context;
        without one, the call goes unrecorded.
        """
        context: CallContext | None
        try:
            context = resolve_context(environ, params, self._identities)
        except Exception:  # noqa: BLE001 - never let the bookkeeping break the call
            _log.exception("could not place %s in an account and region", name)
            context = fallback(environ) if fallback else None
        status, headers, payload = call_app(self.app, environ)
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
        context: CallContext,
        status: str,
        headers: list[tuple[str, str]],
        payload: bytes,
    ) -> None:
        now = self._now()
        record, read_only = cognito_call_record(now, environ, operation, params, context, status, headers, payload)
        self._store(record, context, now, headers, read_only)

    def _record_ec2_call(self, environ: dict[str, Any], start_response: StartResponse, action: str) -> Iterable[bytes]:
        """Pass an EC2 StartInstances/StopInstances call on, and record it as CloudTrail does."""
        instance_ids = requested_instance_ids(read_body(environ))
        record = functools.partial(self._record_ec2, environ, action, instance_ids)
        return self._pass_on(environ, start_response, action, {}, record)

    def _record_ec2(
        self,
        environ: Mapping[str, Any],
        action: str,
        instance_ids: list[str],
        context: CallContext,
        status: str,
        headers: list[tuple[str, str]],
        payload: bytes,
    ) -> None:
        now = self._now()
        record, resources = ec2_call_record(now, environ, action, instance_ids, context, status, headers, payload)
        self._store(record, context, now, headers, False, resources)

    def _now(self) -> datetime:
        """An event's time: now, in whole seconds, as CloudTrail stamps eventTime."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def _store(
        self,
        record: dict[str, Any],
        context: CallContext,
        now: datetime,
        headers: list[tuple[str, str]],
        read_only: bool,
        resources: tuple[tuple[str, str], ...] = (),
        event_type: str = "AwsApiCall",
    ) -> None:
        """Finish the record, keep it for event history and deliver it to the logging trails."""
        text = finish_record(record, context, headers, read_only, event_type)
        with self._lock:
            self._history.add(
                context.account, context.region, now, record, text, context.access_key, context.username, resources
            )
            self._delivery.queue(context.account, context.region, record)
            self._delivery.flush()

    # ------------------------------------------------------------------ CloudTrail's own API

    def _lookup_events(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        params = read_json_object(environ)
        if params is None:
            return _json_error(start_response, "SerializationException", "Could not parse the request body.")
        account = default_account_id(environ)
        region = signed_region(environ) or host_region(environ) or DEFAULT_REGION
        try:
            answer = self._history.lookup(account, region, params, self.clock().astimezone(UTC))
        except LookupRefusal as err:
            return _json_error(start_response, err.code, err.message)
        return _json_ok(start_response, answer)

    def _get_trail_status(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = read_body(environ)
        status, headers, payload = call_app(self.app, environ)
        if status_code(status) != 200:
            start_response(status, headers)
            return [payload]
        try:
            params = json.loads(body or b"{}")
            answer = json.loads(payload)
        except ValueError:
            start_response(status, headers)
            return [payload]
        account = default_account_id(environ)
        region = signed_region(environ) or DEFAULT_REGION
        trail = find_trail(account, region, str(params.get("Name", "")))
        if trail is not None and isinstance(answer, dict):
            self._delivery.patch_status(trail, answer)
            payload = json.dumps(answer).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]


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
                recorder.record_service_event(environ, name, status_code(captured[0]), params, pool, host)
        except Exception:  # noqa: BLE001 - recording must never break the page it records
            _log.exception("could not record %s as a CloudTrail service event", name)
    return result


def _s3_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    """An S3 error answer (XML, 403), as S3 gives it."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


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

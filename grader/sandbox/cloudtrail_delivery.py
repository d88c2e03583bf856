"""CloudTrail's log files for the sandbox: events delivered to the trails' buckets.

Each event goes at once, as a gzip ``{"Records": [...]}`` object, to every logging trail of the
account that covers the event's region and whose event selectors take it, under
``[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` then the file name
``<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz``; encrypted with the trail's
KMS key (SSE-KMS) when it has one. What was delivered corrects moto's ``GetTrailStatus``
(``LatestDeliveryTime``, ``LatestDeliveryError`` ``NoSuchBucket`` when the bucket is gone). Once a
KMS key is denied (:meth:`LogDelivery.deny_decrypt`), S3 refuses its objects (AccessDenied), as it
does to a caller without ``kms:Decrypt`` on the key.
"""

from __future__ import annotations

import gzip
import json
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from grader.sandbox.cloudtrail_identity import signed_credential
from grader.sandbox.cloudtrail_records import iso_time
from grader.sandbox.moto_state import account_trails, bucket_exists, object_kms_key, put_log_object

Clock = Callable[[], datetime]
_UNIQUE_ALPHABET = string.ascii_letters + string.digits


@dataclass
class DeliveryState:
    """What CloudTrail knows about a trail's deliveries (for GetTrailStatus)."""

    last_attempt: datetime | None = None
    last_success: datetime | None = None
    error: str | None = None
    keys: list[str] = field(default_factory=list)


class LogDelivery:
    """The log files of the trails: pending events, each trail's delivery state, denied KMS keys.

    ``clock`` returns the current time as an aware UTC datetime; ``lock`` guards the state.
    """

    def __init__(self, clock: Clock, lock: threading.RLock) -> None:
        self.clock = clock
        self._lock = lock
        self._pending: list[tuple[Any, str, dict[str, Any]]] = []  # (trail, region, record)
        self._states: dict[str, DeliveryState] = {}  # trail ARN -> state
        self.denied_keys: set[str] = set()  # KMS key ids whose log files S3 refuses (deny_decrypt)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._states.clear()
            self.denied_keys.clear()

    def queue(self, account: str, region: str, record: dict[str, Any]) -> None:
        """Queue the event for every trail of `account` that logs it now."""
        with self._lock:
            for trail in logging_trails(account, region, record):
                self._pending.append((trail, region, record))

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

    def _deliver(self, trail: Any, region: str, records: list[dict[str, Any]]) -> tuple[str, str] | None:
        now = self.clock().astimezone(UTC)
        state = self._states.setdefault(trail.arn, DeliveryState())
        state.last_attempt = now
        key = log_file_key(trail.account_id, region, now, trail.s3_key_prefix)
        data = gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode())
        kms = getattr(trail, "kms_key_id", None)
        try:
            stored = put_log_object(trail.bucket_name, key, data, kms or None)
        except Exception as exc:  # noqa: BLE001 - the bucket vanished meanwhile, or moto refused the object
            state.error = getattr(exc, "code", None) or type(exc).__name__
            return None
        if not stored:
            state.error = "NoSuchBucket"
            return None
        state.last_success = now
        state.error = None
        state.keys.append(key)
        return trail.bucket_name, key

    def patch_status(self, trail: Any, answer: dict[str, Any]) -> None:
        """Delivery fields from what was really delivered (moto reports a delivery 'now')."""
        with self._lock:
            state = self._states.get(trail.arn)
        answer.pop("LatestDeliveryTime", None)
        answer.pop("LatestDeliveryError", None)
        answer["LatestDeliveryAttemptTime"] = ""
        answer["LatestDeliveryAttemptSucceeded"] = ""
        if state is not None:
            if state.last_attempt is not None:
                answer["LatestDeliveryAttemptTime"] = iso_time(state.last_attempt)
            if state.last_success is not None:
                answer["LatestDeliveryTime"] = state.last_success.timestamp()
                answer["LatestDeliveryAttemptSucceeded"] = iso_time(state.last_success)
            if state.error:
                answer["LatestDeliveryError"] = state.error
        if trail.status.is_logging and not bucket_exists(trail.bucket_name):
            # AWS tries to deliver every few minutes (its own API calls are events too).
            answer["LatestDeliveryError"] = "NoSuchBucket"

    def deny_decrypt(self, key: str) -> None:
        """From now on S3 refuses the objects encrypted with the KMS key `key` (its id or ARN)."""
        with self._lock:
            self.denied_keys.add(key_id(key))

    def kms_refusal(self, environ: Mapping[str, Any]) -> str | None:
        """Why S3 refuses this GetObject (its object's KMS key is denied), or None to answer it as usual."""
        signed = signed_credential(environ)
        bucket, _, key = str(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
        if signed is None or signed.service != "s3" or not bucket or not key:
            return None
        kms = object_kms_key(bucket, unquote(key))
        if kms is None or key_id(kms) not in self.denied_keys:
            return None
        return f"The caller is not allowed kms:Decrypt on the KMS key {kms}, which encrypts this object."


def logging_trails(account: str, region: str, record: Mapping[str, Any]) -> list[Any]:
    """The account's trails that log this event now: logging, covering the region, selecting it."""
    return [
        trail
        for trail in account_trails(account)
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


def find_trail(account: str, region: str, name: str) -> Any:
    """The account's trail named `name` (or with that ARN) that covers `region`, else None."""
    if not name:
        return None
    for trail in account_trails(account):
        if (trail.trail_name == name or trail.arn == name) and (trail.region_name == region or trail.is_multi_region):
            return trail
    return None


def log_file_key(account: str, region: str, delivered: datetime, prefix: str | None = None) -> str:
    """The S3 key CloudTrail gives a log file delivered at ``delivered`` (UTC)."""
    moment = delivered.astimezone(UTC)
    unique = "".join(secrets.choice(_UNIQUE_ALPHABET) for _ in range(16))
    name = f"{account}_CloudTrail_{region}_{moment:%Y%m%dT%H%MZ}_{unique}.json.gz"
    key = f"AWSLogs/{account}/CloudTrail/{region}/{moment:%Y/%m/%d}/{name}"
    prefix = (prefix or "").strip("/")
    return f"{prefix}/{key}" if prefix else key


def key_id(key: str) -> str:
    """A KMS key's id, from its id or its ARN (`arn:aws:kms:<region>:<account>:key/<id>`)."""
    return key.rsplit("key/", 1)[-1]

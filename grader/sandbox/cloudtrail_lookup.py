"""CloudTrail's event history for the sandbox: the events kept, and ``LookupEvents`` over them.

Event history keeps 90 days of events per account and region, with or without a trail, and lists
them newest first, at most 50 a page, filtered by one lookup attribute and a time range.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from grader.sandbox.cloudtrail_records import StoredEvent

RETENTION = timedelta(days=90)
MAX_RESULTS = 50
LOOKUP_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)


class LookupRefusal(Exception):
    """A LookupEvents request CloudTrail refuses: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EventHistory:
    """The recorded events, oldest first, and LookupEvents over them (``lock`` guards them)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._events: list[StoredEvent] = []
        self._seq = 0
        self._lock = lock

    def add(
        self,
        account: str,
        region: str,
        when: datetime,
        record: dict[str, Any],
        text: str,
        access_key: str | None,
        username: str | None,
        resources: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Keep one event (`when`: its eventTime; `text`: its record as JSON)."""
        with self._lock:
            self._seq += 1
            self._events.append(
                StoredEvent(self._seq, account, region, when, record, text, access_key, username, resources)
            )

    def records(self, account_id: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        """The events' records (copies, oldest first), optionally of one account/region."""
        with self._lock:
            chosen = [
                e
                for e in self._events
                if (account_id is None or e.account == account_id) and (region is None or e.region == region)
            ]
        return [copy.deepcopy(e.record) for e in chosen]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def lookup(self, account: str, region: str, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        """LookupEvents' answer for `params` in `account` and `region` at `now` (UTC); raises :class:`LookupRefusal`."""
        attributes = params.get("LookupAttributes") or []
        if not isinstance(attributes, list):
            raise LookupRefusal("InvalidLookupAttributesException", "LookupAttributes must be a list.")
        if len(attributes) > 1:
            raise LookupRefusal("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
        attribute: tuple[str, str] | None = None
        if attributes:
            item = attributes[0] if isinstance(attributes[0], dict) else {}
            key, value = item.get("AttributeKey"), item.get("AttributeValue")
            if key not in LOOKUP_KEYS or not isinstance(value, str) or not value:
                raise LookupRefusal(
                    "InvalidLookupAttributesException",
                    f"Invalid lookup attribute: {key!r}. Valid keys: {', '.join(LOOKUP_KEYS)}.",
                )
            attribute = (key, value)
        max_results = params.get("MaxResults", MAX_RESULTS)
        if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= MAX_RESULTS:
            raise LookupRefusal("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        start = _timestamp(params.get("StartTime"), "StartTime")
        end = _timestamp(params.get("EndTime"), "EndTime")
        if start is not None and end is not None and start > end:
            raise LookupRefusal("InvalidTimeRangeException", "The start time must not be later than the end time.")
        oldest = now - RETENTION
        if start is None or start < oldest:
            start = oldest
        category = params.get("EventCategory")
        if category is not None and category != "insight":
            raise LookupRefusal("InvalidEventCategoryException", f"Invalid EventCategory: {category!r}.")
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
    raise LookupRefusal("InvalidTimeRangeException", f"Invalid {name}: {value!r}.")


def _matches(event: StoredEvent, attribute: tuple[str, str] | None) -> bool:
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


def _event_summary(event: StoredEvent) -> dict[str, Any]:
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
        raise LookupRefusal(
            "InvalidNextTokenException",
            "Invalid NextToken: it must come from a call with the same parameters.",
        ) from None

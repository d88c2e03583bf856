"""CloudTrail as the grader reads it: the lab's trail, its status, and the Cognito sign-in events.

CloudTrail stamps `eventTime` in whole seconds and event history lists the newest event first,
so the two calls of one browser sign-in (InitiateAuth, then RespondToAuthChallenge, well within
a second) usually share a time and come answer-first. Sign-ins are paired in the order the
protocol makes them, never by time alone. The same records also tell when an EC2 instance was
started again (`StartInstances`): a restarted instance has a new public DNS name.

A record is whatever JSON a log file in the student's bucket holds: every field read from it is
type-checked and kept short, so no record shape can make the grader raise. How many events are
kept is capped (:class:`NewestEvents`), newest first, never splitting one second.

Reading CloudTrail lives in grader/observe/cloudtrail.py (the trails, their status, the source of the
sign-in events), grader/observe/event_history.py and grader/observe/trail_logs.py; nothing here does I/O.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import grader

EVENT_SOURCE = "cognito-idp.amazonaws.com"
SIGN_IN_EVENTS = {"InitiateAuth", "RespondToAuthChallenge"}
# Within one second, the order in which a sign-in makes its calls.
PROTOCOL_ORDER = {"InitiateAuth": 0, "RespondToAuthChallenge": 1}
EC2_SOURCE = "ec2.amazonaws.com"
START_EVENT = "StartInstances"
# The longest record read (CloudTrail's own are at most 256 KB).
MAX_RECORD_CHARS = 1024 * 1024
# The longest value kept of any one field of a record (a user agent is a few hundred characters).
MAX_FIELD_CHARS = 500
# How many sign-in events a grade keeps, newest first (see NewestEvents).
MAX_EVENTS = 5000
# How long after its InitiateAuth a RespondToAuthChallenge may come and still answer it (the
# browser's SDK answers at once: both usually share one second). docs/aws-cloudtrail.md
PAIR_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Trail:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    bucket: str
    prefix: str
    kms_key: str = ""
    """The KMS key its log files are encrypted with (SSE-KMS); '' for S3-managed encryption."""


@dataclass(frozen=True)
class TrailStatus:
    is_logging: bool
    start_logging: datetime | None
    latest_delivery: datetime | None
    delivery_error: str


@dataclass(frozen=True)
class AuthEvent:
    """One Cognito sign-in call as CloudTrail recorded it (never a token: CloudTrail hides them)."""

    time: datetime
    name: str
    error_code: str
    error_message: str
    user_agent: str
    source_ip: str
    auth_flow: str
    challenge: str
    client_id: str = ""
    """The app client signed in to (requestParameters.clientId, in clear); AWS's samples show it
    on InitiateAuth only, so an answer may have none (docs/aws-cloudtrail.md)."""
    sub: str = ""
    """The user's `sub` (additionalEventData.sub), where CloudTrail recorded it; never the user name."""

    @property
    def by_grader(self) -> bool:
        """Whether the grader made this call: its user agent holds :data:`grader.GRADER_MARK` (read now)."""
        return grader.GRADER_MARK in self.user_agent

    def row(self) -> dict[str, str]:
        return {
            "time": self.time.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "event": self.name,
            "error": self.error_code,
            "app client": self.client_id,
            "user agent": self.user_agent,
            "source IP": self.source_ip,
        }


@dataclass(frozen=True)
class AuthEvents:
    """The sign-in events found, where they came from, and what was left aside.

    `events` holds the newest :data:`MAX_EVENTS` at most; `events_left_out` counts the older
    ones dropped. `skipped_files` counts the trail's files that were not read as CloudTrail logs
    (not gzip, not a CloudTrail JSON document, too large), `skipped_events` the event-history
    entries that were not CloudTrail records; `skipped_why` says all of it in a sentence ('' when
    nothing was skipped).
    """

    source: str
    events: tuple[AuthEvent, ...]
    events_left_out: int = 0
    skipped_files: int = 0
    skipped_events: int = 0
    skipped_why: str = ""
    pages_read: int = 0
    """Event-history pages read (LookupEvents answers); 0 when the events came from log files."""
    incomplete: str = ""
    """Why the read stopped before the oldest event wanted (a cap, the deadline, throttling), in a
    sentence; '' when everything was read. What was not read is never taken as absence."""

    def cut_short(self) -> str:
        """Sentences saying what was not read (stopped early, older events left out); '' for nothing."""
        said = [self.incomplete] if self.incomplete else []
        if self.events_left_out:
            said.append(f"{self.events_left_out:,} older sign-in events were left out.")
        return " ".join(said)


def trail_from(raw: dict[str, Any]) -> Trail:
    return Trail(
        name=raw.get("Name", ""),
        arn=raw.get("TrailARN", raw.get("Name", "")),
        home_region=raw.get("HomeRegion", ""),
        multi_region=bool(raw.get("IsMultiRegionTrail")),
        bucket=raw.get("S3BucketName", ""),
        prefix=raw.get("S3KeyPrefix", "") or "",
        kms_key=raw.get("KmsKeyId", "") or "",
    )


def logs_prefix(trail: Trail, account_id: str, region: str) -> str:
    """Where CloudTrail delivers this region's log files in the trail's bucket."""
    base = f"AWSLogs/{account_id}/CloudTrail/{region}/"
    return f"{trail.prefix.rstrip('/')}/{base}" if trail.prefix else base


def text_of(value: object, limit: int = MAX_FIELD_CHARS) -> str:
    """`value` when it is a string (at most `limit` characters), else ''."""
    return value[:limit] if isinstance(value, str) else ""


def list_of(value: object) -> list[Any]:
    """`value` when it is a JSON list, else an empty one."""
    return value if isinstance(value, list) else []


def json_object(value: object) -> dict[str, Any] | None:
    """The JSON object that the string `value` holds; None for anything else (not a string, not JSON, not an object)."""
    if not isinstance(value, str) or len(value) > MAX_RECORD_CHARS:
        return None
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def counted(n: int, one: str, many: str) -> str:
    """`1 file was` / `3 files were`, as `one` and `many` say."""
    return f"{n:,} {one if n == 1 else many}"


def _fields(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def event_time(record: object) -> datetime:
    """The record's `eventTime` (CloudTrail's whole-second UTC form); the epoch when it has none."""
    stamp = text_of(_fields(record).get("eventTime"), 40)
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def is_sign_in(record: object, source: str = EVENT_SOURCE) -> bool:
    """Whether `record` is a Cognito sign-in call (InitiateAuth or RespondToAuthChallenge), whatever its shape."""
    fields = _fields(record)
    return text_of(fields.get("eventSource")) == source and text_of(fields.get("eventName")) in SIGN_IN_EVENTS


def auth_event_from(record: object) -> AuthEvent:
    """The AuthEvent of a CloudTrail record; any field missing or of another type is ''."""
    fields = _fields(record)
    params = _fields(fields.get("requestParameters"))
    extra = _fields(fields.get("additionalEventData"))
    return AuthEvent(
        time=event_time(fields),
        name=text_of(fields.get("eventName")),
        error_code=text_of(fields.get("errorCode")),
        error_message=text_of(fields.get("errorMessage")),
        user_agent=text_of(fields.get("userAgent")),
        source_ip=text_of(fields.get("sourceIPAddress")),
        auth_flow=text_of(params.get("authFlow")),
        challenge=text_of(params.get("challengeName")),
        client_id=text_of(params.get("clientId")),
        sub=text_of(extra.get("sub"), 100),
    )


def pair_sign_ins(events: Iterable[AuthEvent]) -> list[tuple[AuthEvent, AuthEvent]]:
    """Each RespondToAuthChallenge with the SRP InitiateAuth it answers: (question, answer).

    An answer pairs with the latest unanswered question from the same browser (user agent and
    source IP) at most :data:`PAIR_WINDOW` earlier, whose `sub` and client id agree with its own
    where both records carry them. Events of one second are taken in protocol order (InitiateAuth
    first), whatever order they came in (docs/aws-cloudtrail.md).
    """
    waiting: dict[tuple[str, str], deque[AuthEvent]] = {}
    pairs = []
    for event in sorted(events, key=lambda e: (e.time, PROTOCOL_ORDER.get(e.name, len(PROTOCOL_ORDER)))):
        browser = waiting.setdefault((event.user_agent, event.source_ip), deque())
        while browser and event.time - browser[0].time > PAIR_WINDOW:
            browser.popleft()
        if event.name == "InitiateAuth" and event.auth_flow == "USER_SRP_AUTH" and not event.error_code:
            browser.append(event)
        elif event.name == "RespondToAuthChallenge":
            question = _question_of(event, browser)
            if question is not None:
                browser.remove(question)
                pairs.append((question, event))
    return pairs


def _question_of(answer: AuthEvent, waiting: deque[AuthEvent]) -> AuthEvent | None:
    """The latest of `waiting` that `answer` may answer: `sub` and client id equal where both have one."""
    for question in reversed(waiting):
        if _agree(question.sub, answer.sub) and _agree(question.client_id, answer.client_id):
            return question
    return None


def _agree(one: str, other: str) -> bool:
    return not one or not other or one == other


def with_clients(events: Iterable[AuthEvent]) -> list[AuthEvent]:
    """`events`, each answer that names no app client given the client of the InitiateAuth it answers."""
    events = list(events)
    named = {id(answer): question.client_id for question, answer in pair_sign_ins(events) if not answer.client_id}
    return [replace(e, client_id=named[id(e)]) if named.get(id(e)) else e for e in events]


def successful_sign_ins(events: Iterable[AuthEvent]) -> list[AuthEvent]:
    """The answers without error that follow an SRP InitiateAuth of the same browser (see
    :func:`pair_sign_ins`), each with the app client it signed in to."""
    return [
        replace(answer, client_id=answer.client_id or question.client_id)
        for question, answer in pair_sign_ins(events)
        if not answer.error_code
    ]


def started_instances(record: object) -> list[str]:
    """The instance ids a StartInstances record names (requestParameters.instancesSet.items), strings only."""
    params = _fields(_fields(record).get("requestParameters"))
    items = _fields(params.get("instancesSet")).get("items")
    if not isinstance(items, list):
        return []
    ids = (text_of(_fields(item).get("instanceId"), 100) for item in items)
    return [i for i in ids if i]


class NewestEvents:
    """At most `limit` AuthEvents, the newest, and how many older ones were left out.

    Newest means latest in time, and within one second later in the protocol (an answer after its
    InitiateAuth). When events had to be left out, the kept ones of the second of the newest event
    left out go too: a cut never keeps half of a sign-in made within one second (its answer without
    its InitiateAuth), so pairing (:func:`successful_sign_ins`) works on what is kept.
    """

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self.limit = limit
        self._heap: list[tuple[datetime, int, int, AuthEvent]] = []
        self._seen = 0
        self._dropped = 0
        self._newest_dropped: datetime | None = None

    def add(self, event: AuthEvent) -> None:
        self._seen += 1
        entry = (event.time, PROTOCOL_ORDER.get(event.name, len(PROTOCOL_ORDER)), self._seen, event)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
            return
        dropped = heapq.heappushpop(self._heap, entry)
        self._dropped += 1
        if self._newest_dropped is None or dropped[0] > self._newest_dropped:
            self._newest_dropped = dropped[0]

    def merge(self, other: NewestEvents) -> None:
        """Take in what `other` kept and what it left out."""
        for entry in sorted(other._heap):
            self.add(entry[3])
        self._dropped += other._dropped
        if other._newest_dropped is not None and (
            self._newest_dropped is None or other._newest_dropped > self._newest_dropped
        ):
            self._newest_dropped = other._newest_dropped

    def result(self) -> tuple[tuple[AuthEvent, ...], int]:
        """The events kept, newest first (as event history lists them), and how many were left out."""
        cut = self._newest_dropped
        entries = sorted(self._heap, reverse=True)
        kept = [e[3] for e in entries if cut is None or e[0] > cut]
        return tuple(kept), self._dropped + len(entries) - len(kept)

"""CloudTrail's event history (`LookupEvents`): the Cognito sign-in events and the EC2 instance starts.

Sign-ins are looked up by event name (InitiateAuth, then RespondToAuthChallenge), never by event
source: an account's cognito-idp events are mostly console reads and hosted-UI service events,
which would fill any cap before the sign-ins. All the lookups of one connection share one
:class:`LookupPacer` (AWS allows 2 requests a second per account and region), a throttled call is
retried with backoff, and a read that stops early (its page cap, the deadline, throttling) says so
in the result: what was not read is never absence (docs/aws-cloudtrail.md). Every call goes
through the read-only AWS layer (grader/aws.py).
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError
from grader.trail import (
    EC2_SOURCE,
    SIGN_IN_EVENTS,
    START_EVENT,
    AuthEvents,
    NewestEvents,
    auth_event_from,
    counted,
    event_time,
    is_sign_in,
    json_object,
    list_of,
    started_instances,
    text_of,
)

MAX_START_PAGES = 5
HISTORY_DAYS = 90  # how far back event history goes
LOOKUP_INTERVAL = 0.55  # seconds between LookupEvents calls of one account: AWS allows 2 per second
MAX_PAGES = 40  # event-history pages (50 events each) read per event name
MAX_THROTTLED = 5  # retries of one throttled LookupEvents call
FIRST_BACKOFF = 1.0  # seconds before the first retry; doubled at each next one


class LookupPacer:
    """Spaces the LookupEvents calls of one account, from every thread, at least `interval` apart.

    `clock` and `sleep` are time.monotonic and time.sleep unless a test gives others.
    """

    def __init__(
        self,
        interval: float = LOOKUP_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self, deadline: float | None = None) -> bool:
        """Wait for the next call's turn; False, without waiting, when that turn comes after `deadline`."""
        with self._lock:
            now = self.clock()
            turn = max(now, self._next)
            if deadline is not None and turn > deadline:
                return False
            self._next = turn + self.interval
        if turn > now:
            self.sleep(turn - now)
        return True

    def back_off(self, seconds: float) -> None:
        """Make every caller wait `seconds` from now (AWS throttled a call)."""
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)


_PACERS: dict[int, LookupPacer] = {}
_PACERS_LOCK = threading.Lock()


def pacer_for(aws: object) -> LookupPacer:
    """The one LookupPacer of this connection's AWS access (made at its first use, gone with it)."""
    with _PACERS_LOCK:
        pacer = _PACERS.get(id(aws))
        if pacer is None:
            pacer = _PACERS[id(aws)] = LookupPacer()
            with contextlib.suppress(TypeError):  # an object without weak references keeps its pacer
                weakref.finalize(aws, _PACERS.pop, id(aws), None)
        return pacer


class _Stopped(Exception):
    """Event history could not be read to its end; `why` says so in a sentence fragment."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def read_history_sign_ins(
    aws: ReadOnlyAWS, since: datetime, pacer: LookupPacer, deadline: float | None = None
) -> AuthEvents:
    """The Cognito sign-in events since `since` in event history, the newest kept.

    A read stopped before its end (page cap, `deadline` on time.monotonic's clock, throttling)
    says so in `incomplete`. A refusal of event history is raised as the GraderError it is.
    """
    kept = NewestEvents()
    read = _HistoryRead()
    _from_history(aws, since, kept, read, pacer, deadline)
    events, left_out = kept.result()
    return AuthEvents(
        "event history (LookupEvents)",
        events,
        left_out,
        skipped_events=read.junk,
        skipped_why=read.junk_why(),
        pages_read=read.pages,
        incomplete=read.incomplete(),
    )


@dataclass
class _HistoryRead:
    """How far event history was read: pages, entries that were not records, and why it stopped early."""

    pages: int = 0
    junk: int = 0
    stopped: str = ""
    names_cut: list[str] = field(default_factory=list)

    def junk_why(self) -> str:
        if not self.junk:
            return ""
        them = "it" if self.junk == 1 else "them"
        return (
            f"{counted(self.junk, 'event-history entry was', 'event-history entries were')} not CloudTrail records, "
            f"so the grader skipped {them}."
        )

    def incomplete(self) -> str:
        """The sentence saying why the read stopped before the oldest event wanted; '' when it did not."""
        pages = counted(self.pages, "page", "pages")
        if self.stopped:
            return f"The grader read {pages} of event history, then {self.stopped}; older events were not read."
        if self.names_cut:
            return (
                f"The grader read {pages} of event history and stopped at its limit of {MAX_PAGES} pages "
                f"({MAX_PAGES * 50:,} events) of {' and '.join(self.names_cut)}; older events were not read."
            )
        return ""


def _from_history(
    aws: ReadOnlyAWS,
    since: datetime,
    kept: NewestEvents,
    read: _HistoryRead,
    pacer: LookupPacer,
    deadline: float | None,
) -> None:
    """Add event history's sign-in events to `kept`, one event name after the other, newest first.

    The pages of both names are read in turn, so a read cut short covers the same recent time for
    both halves of a sign-in. How far it got goes to `read`.
    """
    cursors: dict[str, dict[str, Any]] = {
        name: {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
            "StartTime": since,
            "MaxResults": 50,
        }
        for name in sorted(SIGN_IN_EVENTS)
    }
    pages = dict.fromkeys(cursors, 0)
    while cursors:
        for name, params in list(cursors.items()):
            if pages[name] >= MAX_PAGES:
                read.names_cut.append(name)
                del cursors[name]
                continue
            try:
                answer = _lookup(aws, params, pacer, deadline)
            except _Stopped as stop:
                read.stopped = stop.why
                return
            pages[name] += 1
            read.pages += 1
            _keep_sign_ins(answer, name, kept, read)
            token = answer.get("NextToken")
            if not isinstance(token, str) or not token:
                del cursors[name]
            else:
                params["NextToken"] = token


def _keep_sign_ins(answer: dict[str, Any], name: str, kept: NewestEvents, read: _HistoryRead) -> None:
    """Add the `name` events of one LookupEvents answer to `kept`; count the entries that are not records."""
    for item in list_of(answer.get("Events")):
        if not isinstance(item, dict) or text_of(item.get("EventName")) != name:
            continue
        record = json_object(item.get("CloudTrailEvent"))
        if record is None:
            read.junk += 1
        elif text_of(record.get("eventName")) == name and is_sign_in(record):
            kept.add(auth_event_from(record))


def _lookup(
    aws: ReadOnlyAWS, params: dict[str, Any], pacer: LookupPacer, deadline: float | None, action: str = ""
) -> dict[str, Any]:
    """One LookupEvents call in its turn, retried with backoff while AWS throttles it.

    Raises _Stopped when its turn would come after `deadline` or AWS still throttles after
    :data:`MAX_THROTTLED` retries.
    """
    backoff = FIRST_BACKOFF
    for attempt in range(MAX_THROTTLED + 1):
        if not pacer.wait(deadline):
            raise _Stopped("it ran out of time (the deadline for one account)")
        try:
            return aws.call("cloudtrail", "lookup_events", action or "read the CloudTrail event history", **params)
        except GraderError as exc:
            if exc.kind != "throttled":
                raise
            if attempt < MAX_THROTTLED:
                pacer.back_off(backoff)
                backoff *= 2
    raise _Stopped(f"AWS still throttled event history after {MAX_THROTTLED} retries")


def read_instance_starts(
    aws: ReadOnlyAWS, days: int = HISTORY_DAYS, *, pacer: LookupPacer | None = None
) -> dict[str, datetime]:
    """When each EC2 instance was last started, from the StartInstances events of event history.

    One read per grade (a few pages at most), paced with the connection's other lookups; an
    instance without such an event is absent.
    """
    pacer = pacer or pacer_for(aws)
    params: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": START_EVENT}],
        "StartTime": datetime.now(UTC) - timedelta(days=days),
        "MaxResults": 50,
    }
    latest: dict[str, datetime] = {}
    for _ in range(MAX_START_PAGES):
        try:
            answer = _lookup(
                aws, params, pacer, None, "read when the EC2 instance was started (CloudTrail event history)"
            )
        except _Stopped as stop:
            raise GraderError(
                f"The grader could not read when the EC2 instance was started: {stop.why}.", kind="throttled"
            ) from None
        for item in list_of(answer.get("Events")):
            record = json_object(item.get("CloudTrailEvent")) if isinstance(item, dict) else None
            if (
                record is None
                or text_of(record.get("eventSource")) != EC2_SOURCE
                or text_of(record.get("eventName")) != START_EVENT
                or record.get("errorCode")
            ):
                continue
            moment = event_time(record)
            for instance_id in started_instances(record):
                if instance_id not in latest or moment > latest[instance_id]:
                    latest[instance_id] = moment
        token = answer.get("NextToken")
        if not token:
            break
        params["NextToken"] = token
    return latest

"""Reads CloudTrail: the lab's trail, its status and bucket, the Cognito sign-in events, instance starts.

Event history (`LookupEvents`) is the first source, looked up by event name (InitiateAuth, then
RespondToAuthChallenge), never by event source: an account's cognito-idp events are mostly
console reads and hosted-UI service events, which would fill any cap before the sign-ins. All the
lookups of one connection share one :class:`LookupPacer` (AWS allows 2 requests a second per
account and region), a throttled call is retried with backoff, and a read that stops early (its
page cap, the deadline, throttling) says so in the result: what was not read is never absence
(docs/aws-cloudtrail.md). When event history is refused, the trail's own log files in its bucket
are the second source. Which source was used is part of the result. Every call goes through the
read-only AWS layer (grader/aws.py).

The log files are the student's to write (anything can be put in the trail's bucket), so they are
read as hostile: a file listed larger than :data:`MAX_LOG_BYTES` is not downloaded, a body is read
a chunk at a time and decompressed as it comes with a cap on its output, and its JSON is parsed as
it comes (:class:`_RecordStream`), one record at a time, so memory stays small whatever the file
holds. A file that is not a gzip CloudTrail log (`{"Records": [{...}, ...]}`) is skipped and
counted, never an error of the grader.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import threading
import time
import weakref
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError, explain
from grader.trail import (
    EC2_SOURCE,
    SIGN_IN_EVENTS,
    START_EVENT,
    AuthEvents,
    NewestEvents,
    Trail,
    TrailStatus,
    auth_event_from,
    event_time,
    is_sign_in,
    logs_prefix,
    started_instances,
    text_of,
    trail_from,
)

MAX_START_PAGES = 5
HISTORY_DAYS = 90  # how far back event history goes
LOOKUP_INTERVAL = 0.55  # seconds between LookupEvents calls of one account: AWS allows 2 per second
MAX_PAGES = 40  # event-history pages (50 events each) read per event name
MAX_THROTTLED = 5  # retries of one throttled LookupEvents call
FIRST_BACKOFF = 1.0  # seconds before the first retry; doubled at each next one
MIB = 1024 * 1024
MAX_LOG_FILES = 200  # the newest log files read
MAX_LIST_PAGES = 100  # pages of the bucket's listing (1,000 keys each)
MAX_LOG_BYTES = 50 * MIB  # one log file as stored (gzip): a larger one is not downloaded
MAX_LOG_JSON_BYTES = 200 * MIB  # one log file once decompressed
MAX_LOGS_TOTAL_BYTES = 1024 * MIB  # every log file of one grade, decompressed
MAX_RECORD_CHARS = MIB  # one record (CloudTrail's own are at most 256 KB)
READ_CHUNK = 256 * 1024  # bytes read from a body at a time
PIECE = MIB  # bytes decompressed at a time


def read_trails(aws: ReadOnlyAWS, name: str) -> tuple[list[Trail], list[str]]:
    """Trails named `name` that cover this region, and the names of every other trail seen."""
    listed = aws.call("cloudtrail", "describe_trails", "list the CloudTrail trails", includeShadowTrails=True).get(
        "trailList", []
    )
    region = aws.target.region
    covering = [t for t in listed if t.get("IsMultiRegionTrail") or t.get("HomeRegion", region) == region]
    matching = [trail_from(t) for t in covering if t.get("Name") == name]
    others = sorted({t.get("Name", "") for t in listed if t.get("Name") != name})
    return matching, others


def bucket_exists(aws: ReadOnlyAWS, bucket: str) -> bool:
    """True when the bucket exists (even if these credentials may not read it)."""
    try:
        aws.client("s3").head_bucket(Bucket=bucket)
        return True
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        if status == 404 or code in {"404", "NoSuchBucket", "NotFound"}:
            return False
        if status == 403 or code in {"403", "AccessDenied"}:
            return True
        raise explain(exc, f"look for the trail's bucket {bucket}") from None
    except GraderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure, said as a GraderError
        raise explain(exc, f"look for the trail's bucket {bucket}") from None


def read_status(aws: ReadOnlyAWS, trail: Trail) -> TrailStatus:
    raw = aws.call("cloudtrail", "get_trail_status", "read the trail's status", Name=trail.arn)
    return TrailStatus(
        is_logging=bool(raw.get("IsLogging")),
        start_logging=raw.get("StartLoggingTime"),
        latest_delivery=raw.get("LatestDeliveryTime") or None,
        delivery_error=raw.get("LatestDeliveryError", "") or "",
    )


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


def read_auth_events(
    aws: ReadOnlyAWS,
    trails: list[Trail],
    days: int,
    account_id: str,
    *,
    deadline: float | None = None,
    pacer: LookupPacer | None = None,
) -> AuthEvents:
    """The Cognito sign-in events of the last `days` days, from event history or the trail's files.

    At most :data:`~grader.trail.MAX_EVENTS` events are kept, the newest; what was left out or
    skipped is counted in the AuthEvents, and a read of event history stopped before its end
    (page cap, `deadline` on time.monotonic's clock, throttling) says so in `incomplete`.
    """
    since = datetime.now(UTC) - timedelta(days=days)
    try:
        kept = NewestEvents()
        read = _HistoryRead()
        _from_history(aws, since, kept, read, pacer or pacer_for(aws), deadline)
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
    except GraderError as exc:
        if exc.kind != "access-denied":
            raise
        return _instead_of_history(aws, trails, account_id, since, exc)


def _instead_of_history(
    aws: ReadOnlyAWS, trails: list[Trail], account_id: str, since: datetime, refused: GraderError
) -> AuthEvents:
    """The sign-in events from the trail's log files, event history having been `refused`."""
    readable = [t for t in trails if t.bucket]
    if not readable:
        raise GraderError(
            f"{refused.message} There is no trail bucket to read the events from instead.", kind=refused.kind
        ) from None
    trail = readable[0]
    prefix = logs_prefix(trail, account_id, aws.target.region)
    found = _from_logs(aws, trail, prefix, since)
    events, left_out = found.events.result()
    return AuthEvents(
        f"the trail's log files (s3://{trail.bucket}/{prefix}), because event history was refused",
        events,
        left_out,
        skipped_files=sum(found.skipped.values()),
        skipped_why=found.why(),
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
            f"{_count(self.junk, 'event-history entry was', 'event-history entries were')} not CloudTrail records, "
            f"so the grader skipped {them}."
        )

    def incomplete(self) -> str:
        """The sentence saying why the read stopped before the oldest event wanted; '' when it did not."""
        pages = _count(self.pages, "page", "pages")
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
    for item in _list_of(answer.get("Events")):
        if not isinstance(item, dict) or text_of(item.get("EventName")) != name:
            continue
        record = _json_object(item.get("CloudTrailEvent"))
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


def _list_of(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_object(value: object) -> dict[str, Any] | None:
    """The JSON object that the string `value` holds; None for anything else (not a string, not JSON, not an object)."""
    if not isinstance(value, str) or len(value) > MAX_RECORD_CHARS:
        return None
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _count(n: int, one: str, many: str) -> str:
    """`1 file was` / `3 files were`, as `one` and `many` say."""
    return f"{n:,} {one if n == 1 else many}"


# Why a log file was skipped, as said in the evidence.
NOT_A_LOG = "not-a-log"
TOO_LARGE = "too-large"
OVER_BUDGET = "over-budget"
UNREADABLE = "unreadable"
# A refusal to read one object (its bucket policy, its encryption key, gone since listed): that file is
# skipped; only when no file at all could be read is it the grader's error.
_OBJECT_REFUSALS = {"access-denied", "aws"}


@dataclass
class _LogsRead:
    """What reading a trail's log files found, and what it skipped (see :meth:`why`)."""

    events: NewestEvents = field(default_factory=NewestEvents)
    skipped: Counter[str] = field(default_factory=Counter)
    listed: int = 0
    listing_cut: bool = False
    decompressed: int = 0
    fetched: int = 0

    def why(self) -> str:
        """What was skipped or not read, in sentences; '' when everything listed was read."""
        parts = []
        if self.skipped[NOT_A_LOG]:
            n = self.skipped[NOT_A_LOG]
            parts.append(f"{_count(n, 'file was not a CloudTrail log', 'files were not CloudTrail logs')}")
        if self.skipped[TOO_LARGE]:
            parts.append(
                f"{_count(self.skipped[TOO_LARGE], 'file was', 'files were')} larger than the grader reads "
                f"({MAX_LOG_BYTES // MIB} MiB, or {MAX_LOG_JSON_BYTES // MIB} MiB uncompressed)"
            )
        if self.skipped[UNREADABLE]:
            n = self.skipped[UNREADABLE]
            parts.append(f"{_count(n, 'file', 'files')} could not be read (AWS refused {'it' if n == 1 else 'them'})")
        if self.skipped[OVER_BUDGET]:
            parts.append(
                f"{_count(self.skipped[OVER_BUDGET], 'file was', 'files were')} left unread once "
                f"{MAX_LOGS_TOTAL_BYTES // MIB:,} MiB of logs had been read"
            )
        sentences = []
        if parts:
            joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
            them = "it" if sum(self.skipped.values()) == 1 else "them"
            sentences.append(f"{joined}, so the grader skipped {them}.")
        if self.listed > MAX_LOG_FILES:
            sentences.append(f"The grader read the newest {MAX_LOG_FILES} of the {self.listed:,} log files listed.")
        if self.listing_cut:
            sentences.append(
                f"The bucket lists more than {MAX_LIST_PAGES * 1000:,} files under the trail's prefix; "
                "the grader stopped listing there."
            )
        return " ".join(sentences)


class _NotALog(Exception):
    """A log file that cannot be read as a CloudTrail log; `reason` is one of the skip reasons above."""

    def __init__(self, reason: str = NOT_A_LOG) -> None:
        super().__init__(reason)
        self.reason = reason


def _from_logs(aws: ReadOnlyAWS, trail: Trail, prefix: str, since: datetime) -> _LogsRead:
    found = _LogsRead()
    refused: GraderError | None = None
    for key, size in _newest_log_files(aws, trail, prefix, since, found):
        if size > MAX_LOG_BYTES:
            found.skipped[TOO_LARGE] += 1
        elif found.decompressed >= MAX_LOGS_TOTAL_BYTES:
            found.skipped[OVER_BUDGET] += 1
        else:
            try:
                _read_log_file(aws, trail.bucket, key, found)
            except GraderError as exc:
                if exc.kind not in _OBJECT_REFUSALS:
                    raise
                found.skipped[UNREADABLE] += 1
                refused = refused or exc
    if refused is not None and not found.fetched:
        raise _key_refusal(trail, refused) if trail.kms_key and refused.kind == "access-denied" else refused
    return found


def _key_refusal(trail: Trail, refused: GraderError) -> GraderError:
    """AWS refused every log file of a trail whose files are encrypted with a KMS key: say which key."""
    return GraderError(
        f"{refused.message} The trail {trail.name} encrypts its log files with the KMS key {trail.kms_key} "
        "(SSE-KMS, the console's default for a new trail): reading them needs kms:Decrypt on that key as well as "
        "s3:GetObject. Allow the grader kms:Decrypt on the key, or allow it cloudtrail:LookupEvents (event "
        "history needs no key), then run the grader again.",
        kind="access-denied",
    )


def _newest_log_files(
    aws: ReadOnlyAWS, trail: Trail, prefix: str, since: datetime, found: _LogsRead
) -> list[tuple[str, int]]:
    """The newest :data:`MAX_LOG_FILES` files under `prefix` changed since `since`: (key, listed size).

    CloudTrail's keys sort by day (`.../YYYY/MM/DD/...`), so the listing starts at the first day
    wanted and only the last keys of it are kept. The count listed goes to `found`.
    """
    newest: deque[tuple[str, int]] = deque(maxlen=MAX_LOG_FILES)
    params: dict[str, Any] = {
        "Bucket": trail.bucket,
        "Prefix": prefix,
        "StartAfter": prefix + since.strftime("%Y/%m/%d/"),
    }
    for _ in range(MAX_LIST_PAGES):
        page = aws.call("s3", "list_objects_v2", f"list the trail's log files in {trail.bucket}", **params)
        for item in _list_of(page.get("Contents")):
            key = item.get("Key") if isinstance(item, dict) else None
            if not isinstance(key, str):
                continue
            modified = item.get("LastModified")
            if isinstance(modified, datetime) and modified < since:
                continue
            size = item.get("Size")
            found.listed += 1
            newest.append((key, size if isinstance(size, int) else 0))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not isinstance(token, str) or not token:
            break
        params["ContinuationToken"] = token
    else:
        found.listing_cut = True
    return sorted(newest)


def _read_log_file(aws: ReadOnlyAWS, bucket: str, key: str, found: _LogsRead) -> None:
    """Add one log file's sign-in events to `found`, or count it as skipped; a file counts whole or not at all."""
    answer = aws.call("s3", "get_object", "read a trail log file", Bucket=bucket, Key=key)
    found.fetched += 1
    body: Any = answer.get("Body")
    staged = NewestEvents(found.events.limit)
    try:
        for record in _records(body, key, found):
            if is_sign_in(record):
                staged.add(auth_event_from(record))
    except _NotALog as exc:
        found.skipped[exc.reason] += 1
        return
    finally:
        with contextlib.suppress(Exception):  # a body that cannot close has nothing more to give
            body.close()
    found.events.merge(staged)


def _records(body: Any, key: str, found: _LogsRead) -> Iterator[dict[str, Any]]:
    """The records of one gzip log file's body, read, decompressed and parsed a piece at a time.

    Raises _NotALog when the body is not a gzip CloudTrail log or outgrows a cap. Counts the bytes
    decompressed in `found.decompressed`.
    """
    unzip = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    text = codecs.getincrementaldecoder("utf-8")()
    stream = _RecordStream()
    stored = unpacked = 0
    while True:
        try:
            chunk = body.read(READ_CHUNK)
        except Exception as exc:  # noqa: BLE001 - the network failed mid-file: the grader's error, said
            raise explain(exc, f"read the trail log file {key}") from None
        if not isinstance(chunk, bytes) or not chunk:
            break
        stored += len(chunk)
        if stored > MAX_LOG_BYTES:
            raise _NotALog(TOO_LARGE)
        data = chunk
        while data:
            try:
                piece = unzip.decompress(data, PIECE)
            except zlib.error:
                raise _NotALog() from None
            data = unzip.unconsumed_tail
            if unzip.eof and unzip.unused_data:  # another gzip member follows, as gzip allows
                data = unzip.unused_data + data
                unzip = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            unpacked += len(piece)
            found.decompressed += len(piece)
            if unpacked > MAX_LOG_JSON_BYTES:
                raise _NotALog(TOO_LARGE)
            if found.decompressed > MAX_LOGS_TOTAL_BYTES:
                raise _NotALog(OVER_BUDGET)
            try:
                yield from stream.feed(text.decode(piece))
            except UnicodeDecodeError:
                raise _NotALog() from None
    if not stored or not unzip.eof:
        raise _NotALog()  # empty, or the gzip stream stops short
    try:
        yield from stream.feed(text.decode(b"", final=True), final=True)
    except UnicodeDecodeError:
        raise _NotALog() from None


_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")


class _RecordStream:
    """A CloudTrail log's JSON, `{"Records": [{...}, ...]}`, parsed as its text arrives: each record as it completes.

    Only one record (or other value) at a time is held, at most :data:`MAX_RECORD_CHARS`. The
    document must be an object with a `Records` list whose items are all objects; its other keys
    are read and ignored. Anything else raises _NotALog.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._pos = 0
        self._state = "start"
        self._key = ""
        self._records = False
        self._retry_at = 0  # a value that did not parse yet is tried again once the text is this long
        self._decoder = json.JSONDecoder()

    def feed(self, text: str, final: bool = False) -> Iterator[dict[str, Any]]:
        if self._pos >= len(self._buf):
            text = text.lstrip(" \t\n\r")  # quicker than the search below, for a file of mostly blanks
        self._buf = self._buf[self._pos :] + text
        self._retry_at = max(0, self._retry_at - self._pos)
        self._pos = 0
        while True:
            ahead = _NOT_WHITESPACE.search(self._buf, self._pos)
            if ahead is None:
                self._pos = len(self._buf)
                break
            self._pos = ahead.start()
            char = self._buf[self._pos]
            state = self._state
            if state == "start":
                self._expect(char, "{", "first-key")
            elif state in ("first-key", "key"):
                if char == "}" and state == "first-key":
                    self._pos += 1
                    self._state = "end"
                    continue
                if char != '"':
                    raise _NotALog()
                key = self._value(final)
                if key is _MORE:
                    break
                self._key = str(key)
                self._state = "colon"
            elif state == "colon":
                self._expect(char, ":", "value")
            elif state == "value":
                if self._key == "Records":
                    self._expect(char, "[", "first-record")
                    self._records = True
                    continue
                if self._value(final) is _MORE:
                    break
                self._state = "next-key"
            elif state == "first-record" and char == "]":
                self._pos += 1
                self._state = "next-key"
            elif state in ("first-record", "record"):
                if char != "{":
                    raise _NotALog()
                record = self._value(final)
                if record is _MORE:
                    break
                if not isinstance(record, dict):
                    raise _NotALog()
                self._state = "next-record"
                yield record
            elif state == "next-record":
                self._pos += 1
                if char == ",":
                    self._state = "record"
                elif char == "]":
                    self._state = "next-key"
                else:
                    raise _NotALog()
            elif state == "next-key":
                self._pos += 1
                if char == ",":
                    self._state = "key"
                elif char == "}":
                    self._state = "end"
                else:
                    raise _NotALog()
            else:  # "end": nothing may follow the document
                raise _NotALog()
        if final and (self._state != "end" or not self._records):
            raise _NotALog()

    def _expect(self, char: str, wanted: str, then: str) -> None:
        if char != wanted:
            raise _NotALog()
        self._pos += 1
        self._state = then

    def _value(self, final: bool) -> object:
        """The JSON value at the current position, or _MORE when its text has not all arrived yet."""
        if not final and len(self._buf) < self._retry_at:
            return _MORE
        try:
            value, end = self._decoder.raw_decode(self._buf, self._pos)
        except (ValueError, RecursionError):
            if final or len(self._buf) - self._pos > MAX_RECORD_CHARS:
                raise _NotALog() from None
            self._retry_at = 2 * len(self._buf)  # each value is tried O(log size) times
            return _MORE
        if end == len(self._buf) and not final and isinstance(value, int | float) and not isinstance(value, bool):
            self._retry_at = len(self._buf) + 1  # a number may go on in the next piece
            return _MORE
        self._retry_at = 0
        self._pos = end
        return value


_MORE = object()


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
        for item in _list_of(answer.get("Events")):
            record = _json_object(item.get("CloudTrailEvent")) if isinstance(item, dict) else None
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

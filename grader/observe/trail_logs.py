"""A trail's own log files in its S3 bucket: the Cognito sign-in events, when event history is refused.

The log files are the student's to write (anything can be put in the trail's bucket), so they are
read as hostile: a file listed larger than :data:`MAX_LOG_BYTES` is not downloaded, a body is read
a chunk at a time and decompressed as it comes with a cap on its output, and its JSON is parsed as
it comes (:class:`_RecordStream`), one record at a time, so memory stays small whatever the file
holds. A file that is not a gzip CloudTrail log (`{"Records": [{...}, ...]}`) is skipped and
counted, never an error of the grader. Every call goes through the read-only AWS layer
(grader/aws.py).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError, explain
from grader.trail import (
    MAX_RECORD_CHARS,
    AuthEvents,
    NewestEvents,
    Trail,
    auth_event_from,
    counted,
    is_sign_in,
    list_of,
    logs_prefix,
)

MIB = 1024 * 1024
MAX_LOG_FILES = 200  # the newest log files read
MAX_LIST_PAGES = 100  # pages of the bucket's listing (1,000 keys each)
MAX_LOG_BYTES = 50 * MIB  # one log file as stored (gzip): a larger one is not downloaded
MAX_LOG_JSON_BYTES = 200 * MIB  # one log file once decompressed
MAX_LOGS_TOTAL_BYTES = 1024 * MIB  # every log file of one grade, decompressed
READ_CHUNK = 256 * 1024  # bytes read from a body at a time
PIECE = MIB  # bytes decompressed at a time


def read_log_sign_ins(
    aws: ReadOnlyAWS, trails: list[Trail], account_id: str, since: datetime, refused: GraderError
) -> AuthEvents:
    """The sign-in events since `since` from the log files of the first of `trails` with a bucket, event history
    having been `refused` (no such trail: `refused`, said so)."""
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
            parts.append(f"{counted(n, 'file was not a CloudTrail log', 'files were not CloudTrail logs')}")
        if self.skipped[TOO_LARGE]:
            parts.append(
                f"{counted(self.skipped[TOO_LARGE], 'file was', 'files were')} larger than the grader reads "
                f"({MAX_LOG_BYTES // MIB} MiB, or {MAX_LOG_JSON_BYTES // MIB} MiB uncompressed)"
            )
        if self.skipped[UNREADABLE]:
            n = self.skipped[UNREADABLE]
            parts.append(f"{counted(n, 'file', 'files')} could not be read (AWS refused {'it' if n == 1 else 'them'})")
        if self.skipped[OVER_BUDGET]:
            parts.append(
                f"{counted(self.skipped[OVER_BUDGET], 'file was', 'files were')} left unread once "
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
        for item in list_of(page.get("Contents")):
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

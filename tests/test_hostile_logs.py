"""A trail's log files are the student's to write: junk in the trail's bucket is skipped and counted,
never the grader's error, and reading it stays bounded in memory (issue 11, row 4)."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from grader.checking import Check
from grader.errors import GraderError
from grader.observe.cloudtrail import read_auth_events
from grader.observe.event_history import read_instance_starts
from grader.trail import (
    AuthEvent,
    AuthEvents,
    Trail,
    auth_event_from,
    event_time,
    is_sign_in,
    started_instances,
    successful_sign_ins,
)
from tests.cloudtrail_records import LAB_CLIENT, SECOND, SUB, grade_auth_events, hosted_ui_record
from tests.cloudtrail_records import sign_in_record as _record

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/"
TRAIL = Trail(
    "VehicleApp-Trail", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/VehicleApp-Trail", REGION, True, "logs", ""
)
MIB = 1024 * 1024


def _key(name: str, when: datetime = SECOND) -> str:
    """A key shaped like CloudTrail's own, in the day's folder."""
    day = when.strftime("%Y/%m/%d")
    stamp = when.strftime("%Y%m%dT%H%MZ")
    return f"{PREFIX}{day}/{ACCOUNT}_CloudTrail_{REGION}_{stamp}_{name:A<16}.json.gz"


def _log(records: list[Any]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode())


def _bomb(head: bytes, fill: bytes, size: int, tail: bytes = b"") -> bytes:
    """`head`, `size` bytes of `fill` and `tail`, gzip-compressed a MiB at a time (memory stays small)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = fill * (MIB // len(fill))
    out = [packer.compress(head)]
    out.extend(packer.compress(block) for _ in range(size // MIB))
    out.append(packer.compress(tail))
    out.append(packer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def zeros_bomb() -> bytes:
    """300 MiB of zero bytes, gzip-compressed to about 300 KiB."""
    return _bomb(b"", b"\0", 300 * MIB)


@pytest.fixture(scope="module")
def json_bomb() -> bytes:
    """A CloudTrail-shaped file that decompresses to 300 MiB: `{"Records": [` then spaces."""
    return _bomb(b'{"Records": [', b" ", 300 * MIB, b"]}")


@dataclass
class BucketAWS:
    """The read-only AWS layer as the log reader uses it, over a bucket in memory, event history refused."""

    files: dict[str, bytes] = field(default_factory=dict)
    listed_sizes: dict[str, int] = field(default_factory=dict)  # a size the listing says, other than the body's
    history: list[dict[str, Any]] | None = None  # LookupEvents' items; None: refused
    refused: set[str] = field(default_factory=set)  # keys whose GetObject is denied (a bucket policy, say)
    fetched: list[str] = field(default_factory=list)
    target: Any = field(default_factory=lambda: SimpleNamespace(region=REGION))

    def _listing(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [
            {"Key": key, "Size": self.listed_sizes.get(key, len(body)), "LastModified": now}
            for key, body in sorted(self.files.items())
        ]

    def call(self, service: str, operation: str, action: str, **params: Any) -> dict[str, Any]:
        if operation == "lookup_events":
            if self.history is None:
                raise GraderError(f"AWS denied the grader permission to {action}.", kind="access-denied")
            return {"Events": self.history}
        if operation == "list_objects_v2":
            after = params.get("StartAfter", "")
            items = [i for i in self._listing() if i["Key"].startswith(params["Prefix"]) and i["Key"] > after]
            return {"Contents": items, "IsTruncated": False, "KeyCount": len(items)}
        if operation == "get_object":
            if params["Key"] in self.refused:
                raise GraderError(f"AWS denied the grader permission to {action}.", kind="access-denied")
            self.fetched.append(params["Key"])
            return {"Body": io.BytesIO(self.files[params["Key"]])}
        raise AssertionError(operation)

    def paginate(self, service: str, operation: str, key: str, action: str, **params: Any) -> list[Any]:
        return self._listing()


def _grade(found: AuthEvents) -> Check:
    """cloudtrail.auth_events on `found` for a lab whose app client is LAB_CLIENT; a fail is marked in evidence."""
    return grade_auth_events(found)


def _read(aws: BucketAWS) -> AuthEvents:
    return read_auth_events(aws, [TRAIL], 90, ACCOUNT)  # type: ignore[arg-type]


REAL_LOG = _log([_record("RespondToAuthChallenge"), _record("InitiateAuth")])


# ---------------------------------------------------------------------- junk beside a real log


def test_junk_files_beside_a_real_log_are_skipped_counted_and_the_check_passes(zeros_bomb: bytes) -> None:
    """A trail prefix holding a real log with a sign-in, and beside it a gzip of `["not","a","dict"]`, a file that
    is not gzip, a gzip bomb and a file listed at 60 GB: the check passes, the four are counted, the huge one is
    never downloaded."""
    huge = _key("HUGE")
    aws = BucketAWS(
        files={
            _key("REAL"): REAL_LOG,
            _key("LIST"): gzip.compress(json.dumps(["not", "a", "dict"]).encode()),
            _key("PLAIN"): b"this is not gzip at all\n",
            _key("BOMB"): zeros_bomb,
            huge: REAL_LOG,
        },
        listed_sizes={huge: 60_000 * MIB},
    )
    found = _read(aws)
    assert found.source.startswith("the trail's log files")
    assert len(successful_sign_ins(found.events)) == 1
    assert huge not in aws.fetched
    assert found.skipped_files == 4
    assert "3 files were not CloudTrail logs" in found.skipped_why
    assert "1 file was larger than" in found.skipped_why
    check = _grade(found)
    assert "failed" not in check.evidence, check.message
    assert check.message.startswith("CloudTrail recorded 1 successful sign-in from the website")
    assert "3 files were not CloudTrail logs" in check.message
    assert check.evidence["skipped_log_files"] == 4


BOGUS_LOGS: list[tuple[str, bytes, int]] = [
    ("a-json-list", gzip.compress(b'["not", "a", "dict"]'), 1),
    ("a-json-string", gzip.compress(b'"Records"'), 1),
    ("not-json", gzip.compress(b"<html>not json</html>"), 1),
    ("not-utf8", gzip.compress(b'{"Records": ["\xff\xfe"]}'), 1),
    ("truncated-gzip", REAL_LOG[: len(REAL_LOG) // 2], 1),
    ("no-records", gzip.compress(b'{"Nothing": []}'), 1),
    ("records-a-string", gzip.compress(b'{"Records": "abc"}'), 1),
    ("records-a-dict", gzip.compress(b'{"Records": {"eventName": "InitiateAuth"}}'), 1),
    ("records-of-numbers", gzip.compress(b'{"Records": [1, 2, 3]}'), 1),
    ("records-of-lists", gzip.compress(b'{"Records": [["InitiateAuth"]]}'), 1),
    ("deeply-nested", gzip.compress(b'{"Records": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}"), 1),
    ("trailing-junk", gzip.compress(b'{"Records": []} and more'), 1),
    ("empty-file", b"", 1),
    (
        "sign-in-record-of-wrong-types",
        _log(
            [
                {
                    "eventSource": "cognito-idp.amazonaws.com",
                    "eventName": "InitiateAuth",
                    "eventTime": ["2026"],
                    "requestParameters": ["authFlow"],
                    "userAgent": {"a": 1},
                    "errorCode": 7,
                    "sourceIPAddress": None,
                }
            ]
        ),
        0,
    ),
    ("event-name-a-list", _log([{"eventSource": "cognito-idp.amazonaws.com", "eventName": ["InitiateAuth"]}]), 0),
    ("event-source-a-dict", _log([{"eventSource": {"x": 1}, "eventName": "InitiateAuth"}]), 0),
    ("other-keys-first", gzip.compress(b'{"Other": {"a": [1, 2]}, "Records": []}'), 0),
]


@pytest.mark.parametrize(("content", "skipped"), [c[1:] for c in BOGUS_LOGS], ids=[c[0] for c in BOGUS_LOGS])
def test_a_bogus_log_beside_a_real_one_is_skipped_never_an_error(content: bytes, skipped: int) -> None:
    """Whatever a file in the prefix holds, reading never raises: a file that is no CloudTrail log is skipped and
    counted, a CloudTrail log with odd records is read, and the real log's sign-in still counts."""
    aws = BucketAWS(files={_key("REAL"): REAL_LOG, _key("ZBOGUS"): content})
    found = _read(aws)
    assert len(successful_sign_ins(found.events)) == 1
    assert found.skipped_files == skipped
    assert ("not CloudTrail log" in found.skipped_why or "not a CloudTrail log" in found.skipped_why) is bool(skipped)
    assert all(isinstance(e.name, str) and isinstance(e.user_agent, str) for e in found.events)
    check = _grade(found)
    assert "failed" not in check.evidence, check.message


def test_a_bogus_log_alone_is_the_students_fail_not_the_graders_error() -> None:
    """With only junk in the prefix the check fails for the student's reason (no sign-in), saying what was skipped."""
    aws = BucketAWS(files={_key("LIST"): gzip.compress(b'["not", "a", "dict"]'), _key("PLAIN"): b"plain"})
    check = _grade(_read(aws))
    assert check.evidence["failed"]
    assert check.message.startswith("CloudTrail recorded no Cognito sign-in in the last 90 days")
    assert "2 files were not CloudTrail logs" in check.message


def test_a_log_file_the_student_made_unreadable_is_skipped_and_counted() -> None:
    """A file whose GetObject is denied (a bucket policy on that one key) is skipped and counted beside a real log;
    the check still passes."""
    aws = BucketAWS(files={_key("REAL"): REAL_LOG, _key("DENIED"): REAL_LOG}, refused={_key("DENIED")})
    found = _read(aws)
    assert len(successful_sign_ins(found.events)) == 1
    assert found.skipped_files == 1
    assert found.skipped_why == "1 file could not be read (AWS refused it), so the grader skipped it."
    assert "failed" not in _grade(found).evidence


def test_no_log_file_readable_at_all_is_the_graders_error() -> None:
    """When AWS refuses every log file, the grader could not look: its error, as before, not a fail."""
    aws = BucketAWS(files={_key("A"): REAL_LOG, _key("B"): REAL_LOG}, refused={_key("A"), _key("B")})
    with pytest.raises(GraderError) as refused:
        _read(aws)
    assert refused.value.kind == "access-denied"


# ---------------------------------------------------------------------- bounded memory


@pytest.mark.parametrize("bomb", ["zeros_bomb", "json_bomb"])
def test_a_gzip_bomb_is_read_in_bounded_memory(bomb: str, request: pytest.FixtureRequest) -> None:
    """A gzip that unpacks to 300 MiB (zeros, or a CloudTrail-shaped `{"Records": [` and spaces) is skipped and
    counted; the peak of memory allocated while reading it stays under 64 MiB."""
    body: bytes = request.getfixturevalue(bomb)
    assert len(body) < 2 * MIB
    aws = BucketAWS(files={_key("REAL"): REAL_LOG, _key("BOMB"): body})
    tracemalloc.start()
    try:
        found = _read(aws)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MIB, f"peak {peak / MIB:.0f} MiB"
    assert found.skipped_files == 1
    assert len(successful_sign_ins(found.events)) == 1


# ---------------------------------------------------------------------- record shapes


HOSTILE_RECORDS: list[Any] = [
    None,
    [],
    "InitiateAuth",
    17,
    {"eventTime": 17},
    {"eventTime": ["2026-03-02T14:00:00Z"]},
    {"eventTime": {"a": 1}},
    {"eventTime": "9" * 100_000},
    {"eventTime": "2026-13-45T99:99:99Z"},
    {"eventName": ["InitiateAuth"], "errorCode": {"a": 1}, "errorMessage": 3.5, "userAgent": ["x"]},
    {"requestParameters": ["authFlow"]},
    {"requestParameters": "clientId"},
    {"requestParameters": {"authFlow": ["USER_SRP_AUTH"], "clientId": {"x": 1}, "challengeName": None}},
    {"requestParameters": {"instancesSet": ["i-1"]}},
    {"requestParameters": {"instancesSet": {"items": "i-123"}}},
    {"requestParameters": {"instancesSet": {"items": {"instanceId": "i-1"}}}},
    {"requestParameters": {"instancesSet": {"items": [{"instanceId": ["i-1"]}, {"instanceId": 5}, "i-2", None]}}},
    {"userAgent": "U" * 1_000_000, "sourceIPAddress": "1" * 1_000_000},
    {"additionalEventData": ["sub"]},
    {"additionalEventData": {"sub": {"x": 1}}},
    {"additionalEventData": {"sub": "s" * 1_000_000}},
]


@pytest.mark.parametrize("record", HOSTILE_RECORDS, ids=[f"record-{i}" for i in range(len(HOSTILE_RECORDS))])
def test_no_record_shape_makes_the_record_parsers_raise(record: Any) -> None:
    """auth_event_from, event_time and started_instances take any JSON value: strings stay strings, nothing raises,
    and no field kept is longer than a few hundred characters."""
    event = auth_event_from(record)
    for value in (
        event.name,
        event.error_code,
        event.error_message,
        event.user_agent,
        event.source_ip,
        event.auth_flow,
        event.challenge,
        event.client_id,
        event.sub,
    ):
        assert isinstance(value, str)
        assert len(value) <= 1000
    assert isinstance(event_time(record), datetime)
    assert all(isinstance(i, str) for i in started_instances(record))


def test_started_instances_keeps_only_string_ids() -> None:
    """Only string instance ids are taken from a StartInstances record, whatever else the list holds."""
    record = {"requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}, {"instanceId": 5}, "i-x"]}}}
    assert started_instances(record) == ["i-0abc"]


JUNK_HISTORY: list[Any] = ["not json {", "[1, 2]", "null", "17", '"a string"', None, 17, ["x"], "{" * 100_000]


def test_event_history_skips_entries_that_are_not_records() -> None:
    """Event history entries whose CloudTrailEvent is not JSON, or not a JSON object, are skipped beside a real one."""
    good = [_record("RespondToAuthChallenge"), _record("InitiateAuth")]
    items = [{"EventName": "InitiateAuth", "CloudTrailEvent": junk} for junk in JUNK_HISTORY]
    items += [{"EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)} for r in good]
    found = _read(BucketAWS(history=items))
    assert found.source == "event history (LookupEvents)"
    assert len(successful_sign_ins(found.events)) == 1
    assert found.skipped_events == len(JUNK_HISTORY)
    assert _grade(found).evidence.get("failed") is None


def test_instance_starts_skip_entries_that_are_not_records() -> None:
    """read_instance_starts skips junk CloudTrailEvent values (not JSON, not an object, odd instance lists)."""
    start = {
        "eventSource": "ec2.amazonaws.com",
        "eventName": "StartInstances",
        "eventTime": SECOND.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
    }
    odd = dict(start, requestParameters={"instancesSet": ["i-0def"]})
    items = [{"EventName": "StartInstances", "CloudTrailEvent": junk} for junk in JUNK_HISTORY]
    items += [{"EventName": "StartInstances", "CloudTrailEvent": json.dumps(r)} for r in (start, odd)]
    assert read_instance_starts(BucketAWS(history=items)) == {"i-0abc": SECOND}  # type: ignore[arg-type]


# ---------------------------------------------------------------------- how many events are kept


def _sign_ins(count: int, newest: datetime) -> list[dict[str, Any]]:
    """`count` sign-ins, one a second back from `newest`, each InitiateAuth and its answer in the same second."""
    out: list[dict[str, Any]] = []
    for n in range(count):
        when = newest - timedelta(seconds=n)
        out += [_record("RespondToAuthChallenge", when), _record("InitiateAuth", when)]
    return out


def test_only_the_newest_events_are_kept_and_the_rest_are_counted() -> None:
    """6,000 sign-ins (12,000 events) in the logs: the newest 5,000 events at most are kept, the number left out
    is said, the latest sign-in is among those kept and each kept answer still pairs with its InitiateAuth."""
    aws = BucketAWS(files={_key("MANY"): _log(_sign_ins(6000, SECOND))})
    found = _read(aws)
    assert 4990 <= len(found.events) <= 5000
    assert found.events_left_out == 12_000 - len(found.events)
    answers = [e for e in found.events if e.name == "RespondToAuthChallenge"]
    done = successful_sign_ins(found.events)
    assert len(done) == len(answers)
    assert max(e.time for e in done) == SECOND
    check = _grade(found)
    assert "failed" not in check.evidence
    assert f"{found.events_left_out:,} older ones were left out" in check.message
    assert check.evidence["events_left_out"] == found.events_left_out
    assert len(check.evidence["events"]) == 25
    assert check.evidence["events_not_listed"] == len(found.events) - 25


def test_the_cut_never_splits_one_second_of_a_sign_in() -> None:
    """When the 5,000th newest event is the answer of a sign-in whose InitiateAuth falls past the cut, the answer is
    left out too: every answer kept has its question."""
    records = _sign_ins(2500, SECOND)  # 5,000 events
    records.append(_record("InitiateAuth", SECOND + timedelta(seconds=5), error="NotAuthorizedException"))
    found = _read(BucketAWS(files={_key("MANY"): _log(records)}))
    assert len(found.events) == 4999
    assert found.events_left_out == 2
    answers = [e for e in found.events if e.name == "RespondToAuthChallenge"]
    assert len(successful_sign_ins(found.events)) == len(answers) == 2499


def test_the_check_says_what_was_skipped_in_its_evidence_and_message() -> None:
    """AuthEvents carries the files skipped and the events left out; the check records both and says them."""
    events: tuple[AuthEvent, ...] = tuple(
        auth_event_from(r) for r in (_record("RespondToAuthChallenge"), _record("InitiateAuth"))
    )
    found = AuthEvents(
        "the trail's log files",
        events,
        events_left_out=0,
        skipped_files=2,
        skipped_why="2 files were not CloudTrail logs, so the grader skipped them.",
    )
    check = _grade(found)
    assert check.message.endswith(
        "(source: the trail's log files). 2 files were not CloudTrail logs, so the grader skipped them."
    )
    assert check.evidence["skipped_log_files"] == 2


# ---------------------------------------------------------------------- the streaming parser


DOCUMENTS = [
    {"Records": []},
    {"Records": [_record("InitiateAuth"), {"a": [1, 2.5, None, True, {"b": "\u00e9\u4e2d"}]}, {}]},
    {"Other": 12345, "Records": [{"n": -1.5e10}], "More": "x"},
]


@pytest.mark.parametrize("indent", [None, 0, 2])
@pytest.mark.parametrize("piece", [1, 3, 64, 100_000])
def test_the_streaming_parser_reads_what_json_reads_however_the_text_is_split(indent: int | None, piece: int) -> None:
    """A CloudTrail-shaped document, fed in pieces of any size, gives exactly its records, in order."""
    from grader.observe.trail_logs import _RecordStream

    for document in DOCUMENTS:
        text = json.dumps(document, indent=indent, ensure_ascii=False)
        stream = _RecordStream()
        records: list[Any] = []
        for start in range(0, len(text), piece):
            records += stream.feed(text[start : start + piece])
        records += stream.feed("", final=True)
        assert records == document["Records"]


# ---------------------------------------------------------------------- records as AWS writes them

HOSTED_UI = ["Login_GET", "Login_POST", "Token_POST", "Signup_GET", "Signup_POST", "Confirm_POST"]


@pytest.mark.parametrize("name", HOSTED_UI)
def test_hosted_ui_service_events_are_read_without_error_and_are_no_sign_in(name: str) -> None:
    """A hosted-UI service event (requestParameters null, lists under additionalEventData, errorCode '') parses,
    and is not a website sign-in."""
    record = hosted_ui_record(name)
    assert not is_sign_in(record)
    event = auth_event_from(record)
    assert (event.name, event.error_code, event.client_id, event.auth_flow) == (name, "", "", "")


def test_log_files_of_hosted_ui_sign_ins_only_count_no_website_sign_in() -> None:
    """Log files holding only hosted-UI service events: no sign-in from the website, the student's fail."""
    aws = BucketAWS(files={_key("HOSTED"): _log([hosted_ui_record(n) for n in reversed(HOSTED_UI)])})
    found = _read(aws)
    assert found.events == ()
    assert found.skipped_files == 0
    check = _grade(found)
    assert check.evidence["failed"]
    assert "recorded no Cognito sign-in" in check.message


@pytest.mark.parametrize("version", ["1.08", "1.09", "1.10", "1.11"])
def test_records_as_aws_writes_them_are_one_sign_in(version: str) -> None:
    """Unauthenticated calls of eventVersion 1.08 to 1.11 with the user's sub and no client id on the answer,
    in a log file: one sign-in to the lab's client, the sub kept."""
    records = [
        _record("RespondToAuthChallenge", client=None, sub=SUB, version=version),
        _record("InitiateAuth", sub=SUB, version=version),
    ]
    found = _read(BucketAWS(files={_key("REAL"): _log(records)}))
    assert {e.sub for e in found.events} == {SUB}
    assert [e.client_id for e in successful_sign_ins(found.events)] == [LAB_CLIENT]
    assert "failed" not in _grade(found).evidence


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def test_log_files_refused_for_want_of_kms_decrypt_are_the_graders_error_naming_the_key() -> None:
    """Event history refused and every SSE-KMS log file refused: the grader's error names the trail's key and
    kms:Decrypt, never the student's fail."""
    trail = Trail(TRAIL.name, TRAIL.arn, REGION, True, "logs", "", kms_key=KEY_ARN)
    aws = BucketAWS(files={_key("A"): REAL_LOG}, refused={_key("A")})
    with pytest.raises(GraderError) as refused:
        read_auth_events(aws, [trail], 90, ACCOUNT)  # type: ignore[arg-type]
    assert refused.value.kind == "access-denied"
    assert KEY_ARN in refused.value.message
    assert "kms:Decrypt" in refused.value.message


def test_event_history_is_used_whatever_the_logs_key() -> None:
    """With event history readable, a trail whose files need a key the grader may not use changes nothing."""
    trail = Trail(TRAIL.name, TRAIL.arn, REGION, True, "logs", "", kms_key=KEY_ARN)
    history = [
        {"EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)}
        for r in (_record("RespondToAuthChallenge", client=None), _record("InitiateAuth"))
    ]
    aws = BucketAWS(files={_key("A"): REAL_LOG}, refused={_key("A")}, history=history)
    found = read_auth_events(aws, [trail], 90, ACCOUNT)  # type: ignore[arg-type]
    assert found.source == "event history (LookupEvents)"
    assert aws.fetched == []
    assert "failed" not in _grade(found).evidence

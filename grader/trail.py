"""Reads CloudTrail: the lab's trail, its status and bucket, and the Cognito sign-in events.

Event history (`LookupEvents`) is the first source, at most 2 requests a second as AWS allows;
when it is refused, the trail's own log files in its bucket are the second. Which source was
used is part of the result.

CloudTrail stamps `eventTime` in whole seconds and event history lists the newest event first,
so the two calls of one browser sign-in (InitiateAuth, then RespondToAuthChallenge, well within
a second) usually share a time and come answer-first. Sign-ins are paired in the order the
protocol makes them, never by time alone.

The same event history also tells when an EC2 instance was last started (`StartInstances`):
a restarted instance has a new public DNS name.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from botocore.exceptions import ClientError

from grader.aws import USER_AGENT, ReadOnlyAWS
from grader.errors import GraderError, explain

EVENT_SOURCE = "cognito-idp.amazonaws.com"
SIGN_IN_EVENTS = {"InitiateAuth", "RespondToAuthChallenge"}
# Within one second, the order in which a sign-in makes its calls.
PROTOCOL_ORDER = {"InitiateAuth": 0, "RespondToAuthChallenge": 1}
EC2_SOURCE = "ec2.amazonaws.com"
START_EVENT = "StartInstances"
MAX_START_PAGES = 5
HISTORY_DAYS = 90  # how far back event history goes
GRADER_MARK = USER_AGENT.split("/", 1)[0]
LOOKUP_INTERVAL = 0.5  # seconds between LookupEvents pages: AWS allows 2 per second
MAX_PAGES = 40
MAX_LOG_FILES = 200


@dataclass(frozen=True)
class Trail:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    bucket: str
    prefix: str


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
    """The app client signed in to (CloudTrail shows requestParameters.clientId in clear)."""

    @property
    def by_grader(self) -> bool:
        return GRADER_MARK in self.user_agent

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
    source: str
    events: tuple[AuthEvent, ...]


def read_trails(aws: ReadOnlyAWS, name: str) -> tuple[list[Trail], list[str]]:
    """Trails named `name` that cover this region, and the names of every other trail seen."""
    listed = aws.call(
        "cloudtrail", "describe_trails", "list the CloudTrail trails", includeShadowTrails=True
    ).get("trailList", [])
    region = aws.target.region
    covering = [
        t for t in listed if t.get("IsMultiRegionTrail") or t.get("HomeRegion", region) == region
    ]
    matching = [_trail(t) for t in covering if t.get("Name") == name]
    others = sorted({t.get("Name", "") for t in listed if t.get("Name") != name})
    return matching, others


def _trail(raw: dict[str, Any]) -> Trail:
    return Trail(
        name=raw.get("Name", ""),
        arn=raw.get("TrailARN", raw.get("Name", "")),
        home_region=raw.get("HomeRegion", ""),
        multi_region=bool(raw.get("IsMultiRegionTrail")),
        bucket=raw.get("S3BucketName", ""),
        prefix=raw.get("S3KeyPrefix", "") or "",
    )


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
    except Exception as exc:
        raise explain(exc, f"look for the trail's bucket {bucket}") from None


def read_status(aws: ReadOnlyAWS, trail: Trail) -> TrailStatus:
    raw = aws.call("cloudtrail", "get_trail_status", "read the trail's status", Name=trail.arn)
    return TrailStatus(
        is_logging=bool(raw.get("IsLogging")),
        start_logging=raw.get("StartLoggingTime"),
        latest_delivery=raw.get("LatestDeliveryTime") or None,
        delivery_error=raw.get("LatestDeliveryError", "") or "",
    )


def read_auth_events(aws: ReadOnlyAWS, trails: list[Trail], days: int, account_id: str) -> AuthEvents:
    """The Cognito sign-in events of the last `days` days, from event history or the trail's files."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    try:
        return AuthEvents("event history (LookupEvents)", tuple(_from_history(aws, since)))
    except GraderError as exc:
        if exc.kind != "access-denied":
            raise
        readable = [t for t in trails if t.bucket]
        if not readable:
            raise GraderError(
                f"{exc.message} There is no trail bucket to read the events from instead.", kind=exc.kind
            ) from None
        trail = readable[0]
        prefix = logs_prefix(trail, account_id, aws.target.region)
        return AuthEvents(
            f"the trail's log files (s3://{trail.bucket}/{prefix}), because event history was refused",
            tuple(_from_logs(aws, trail, prefix, since)),
        )


def _from_history(aws: ReadOnlyAWS, since: datetime) -> Iterable[AuthEvent]:
    params: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": EVENT_SOURCE}],
        "StartTime": since,
        "MaxResults": 50,
    }
    for page in range(MAX_PAGES):
        if page:
            time.sleep(LOOKUP_INTERVAL)
        answer = aws.call("cloudtrail", "lookup_events", "read the CloudTrail event history", **params)
        for item in answer.get("Events", []):
            if item.get("EventName") in SIGN_IN_EVENTS:
                yield _event(json.loads(item.get("CloudTrailEvent") or "{}"))
        token = answer.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def logs_prefix(trail: Trail, account_id: str, region: str) -> str:
    """Where CloudTrail delivers this region's log files in the trail's bucket."""
    base = f"AWSLogs/{account_id}/CloudTrail/{region}/"
    return f"{trail.prefix.rstrip('/')}/{base}" if trail.prefix else base


def _from_logs(aws: ReadOnlyAWS, trail: Trail, prefix: str, since: datetime) -> Iterable[AuthEvent]:
    keys = aws.paginate(
        "s3", "list_objects_v2", "Contents", f"list the trail's log files in {trail.bucket}",
        Bucket=trail.bucket, Prefix=prefix,
    )
    recent = sorted((k for k in keys if k.get("LastModified") is None or k["LastModified"] >= since), key=lambda k: k["Key"])
    for item in recent[-MAX_LOG_FILES:]:
        body = aws.call("s3", "get_object", "read a trail log file", Bucket=trail.bucket, Key=item["Key"])["Body"].read()
        try:
            records = json.loads(gzip.decompress(body)).get("Records", [])
        except (OSError, ValueError):
            continue
        for record in records:
            if record.get("eventSource") == EVENT_SOURCE and record.get("eventName") in SIGN_IN_EVENTS:
                yield _event(record)


def _event_time(record: dict[str, Any]) -> datetime:
    try:
        return datetime.strptime(str(record.get("eventTime") or ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.fromtimestamp(0, timezone.utc)


def _event(record: dict[str, Any]) -> AuthEvent:
    params = record.get("requestParameters") or {}
    return AuthEvent(
        time=_event_time(record),
        name=record.get("eventName", ""),
        error_code=record.get("errorCode", "") or "",
        error_message=record.get("errorMessage", "") or "",
        user_agent=record.get("userAgent", "") or "",
        source_ip=record.get("sourceIPAddress", "") or "",
        auth_flow=str(params.get("authFlow", "")),
        challenge=str(params.get("challengeName", "")),
        client_id=str(params.get("clientId", "") or ""),
    )


def successful_sign_ins(events: Iterable[AuthEvent]) -> list[AuthEvent]:
    """RespondToAuthChallenge answers without error that follow an SRP InitiateAuth from the same
    browser (user agent) to the same app client.

    Events of the same second are taken in protocol order (InitiateAuth first), whatever order
    they came in: CloudTrail's times have whole seconds and event history lists the newest first.
    """
    started: set[tuple[str, str]] = set()
    done = []
    for event in sorted(events, key=lambda e: (e.time, PROTOCOL_ORDER.get(e.name, len(PROTOCOL_ORDER)))):
        browser = (event.user_agent, event.client_id)
        if event.name == "InitiateAuth" and event.auth_flow == "USER_SRP_AUTH" and not event.error_code:
            started.add(browser)
        elif event.name == "RespondToAuthChallenge" and not event.error_code and browser in started:
            done.append(event)
    return done


def read_instance_starts(aws: ReadOnlyAWS, days: int = HISTORY_DAYS) -> dict[str, datetime]:
    """When each EC2 instance was last started, from the StartInstances events of event history.

    One read per grade (a few pages at most); an instance without such an event is absent.
    """
    params: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": START_EVENT}],
        "StartTime": datetime.now(timezone.utc) - timedelta(days=days),
        "MaxResults": 50,
    }
    latest: dict[str, datetime] = {}
    for page in range(MAX_START_PAGES):
        if page:
            time.sleep(LOOKUP_INTERVAL)
        answer = aws.call("cloudtrail", "lookup_events", "read when the EC2 instance was started (CloudTrail event history)", **params)
        for item in answer.get("Events", []):
            try:
                record = json.loads(item.get("CloudTrailEvent") or "{}")
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("eventSource") != EC2_SOURCE or record.get("eventName") != START_EVENT or record.get("errorCode"):
                continue
            moment = _event_time(record)
            for instance_id in started_instances(record):
                if instance_id not in latest or moment > latest[instance_id]:
                    latest[instance_id] = moment
        token = answer.get("NextToken")
        if not token:
            break
        params["NextToken"] = token
    return latest


def started_instances(record: dict[str, Any]) -> list[str]:
    """The instance ids a StartInstances record names (requestParameters.instancesSet.items)."""
    params = record.get("requestParameters") or {}
    items = ((params.get("instancesSet") or {}).get("items")) or []
    return [str(i["instanceId"]) for i in items if isinstance(i, dict) and i.get("instanceId")]

"""Reads CloudTrail: the lab's trail, its status and bucket, and the Cognito sign-in events.

Event history (`LookupEvents`) is the first source, at most 2 requests a second as AWS allows;
when it is refused, the trail's own log files in its bucket are the second. Which source was
used is part of the result.
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

    @property
    def by_grader(self) -> bool:
        return GRADER_MARK in self.user_agent

    def row(self) -> dict[str, str]:
        return {
            "time": self.time.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "event": self.name,
            "error": self.error_code,
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


def _event(record: dict[str, Any]) -> AuthEvent:
    params = record.get("requestParameters") or {}
    when = record.get("eventTime", "")
    try:
        moment = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        moment = datetime.fromtimestamp(0, timezone.utc)
    return AuthEvent(
        time=moment,
        name=record.get("eventName", ""),
        error_code=record.get("errorCode", "") or "",
        error_message=record.get("errorMessage", "") or "",
        user_agent=record.get("userAgent", "") or "",
        source_ip=record.get("sourceIPAddress", "") or "",
        auth_flow=str(params.get("authFlow", "")),
        challenge=str(params.get("challengeName", "")),
    )


def successful_sign_ins(events: Iterable[AuthEvent]) -> list[AuthEvent]:
    """RespondToAuthChallenge answers without error that follow an SRP InitiateAuth from the same browser."""
    started: set[str] = set()
    done = []
    for event in sorted(events, key=lambda e: e.time):
        if event.name == "InitiateAuth" and event.auth_flow == "USER_SRP_AUTH" and not event.error_code:
            started.add(event.user_agent)
        elif event.name == "RespondToAuthChallenge" and not event.error_code and event.user_agent in started:
            done.append(event)
    return done

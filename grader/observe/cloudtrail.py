"""Reads CloudTrail: the lab's trail, its status and bucket, the Cognito sign-in events, instance starts.

Event history (`LookupEvents`) is the first source, at most 2 requests a second as AWS allows;
when it is refused, the trail's own log files in its bucket are the second. Which source was
used is part of the result. Every call goes through the read-only AWS layer (grader/aws.py).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError, explain
from grader.trail import (
    EC2_SOURCE,
    EVENT_SOURCE,
    SIGN_IN_EVENTS,
    START_EVENT,
    AuthEvent,
    AuthEvents,
    Trail,
    TrailStatus,
    auth_event_from,
    event_time,
    logs_prefix,
    started_instances,
    trail_from,
)

MAX_START_PAGES = 5
HISTORY_DAYS = 90  # how far back event history goes
LOOKUP_INTERVAL = 0.5  # seconds between LookupEvents pages: AWS allows 2 per second
MAX_PAGES = 40
MAX_LOG_FILES = 200


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


def read_auth_events(aws: ReadOnlyAWS, trails: list[Trail], days: int, account_id: str) -> AuthEvents:
    """The Cognito sign-in events of the last `days` days, from event history or the trail's files."""
    since = datetime.now(UTC) - timedelta(days=days)
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
                yield auth_event_from(json.loads(item.get("CloudTrailEvent") or "{}"))
        token = answer.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def _from_logs(aws: ReadOnlyAWS, trail: Trail, prefix: str, since: datetime) -> Iterable[AuthEvent]:
    keys = aws.paginate(
        "s3",
        "list_objects_v2",
        "Contents",
        f"list the trail's log files in {trail.bucket}",
        Bucket=trail.bucket,
        Prefix=prefix,
    )
    recent = sorted(
        (k for k in keys if k.get("LastModified") is None or k["LastModified"] >= since), key=lambda k: k["Key"]
    )
    for item in recent[-MAX_LOG_FILES:]:
        body = aws.call("s3", "get_object", "read a trail log file", Bucket=trail.bucket, Key=item["Key"])[
            "Body"
        ].read()
        try:
            records = json.loads(gzip.decompress(body)).get("Records", [])
        except (OSError, ValueError):
            continue
        for record in records:
            if record.get("eventSource") == EVENT_SOURCE and record.get("eventName") in SIGN_IN_EVENTS:
                yield auth_event_from(record)


def read_instance_starts(aws: ReadOnlyAWS, days: int = HISTORY_DAYS) -> dict[str, datetime]:
    """When each EC2 instance was last started, from the StartInstances events of event history.

    One read per grade (a few pages at most); an instance without such an event is absent.
    """
    params: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": START_EVENT}],
        "StartTime": datetime.now(UTC) - timedelta(days=days),
        "MaxResults": 50,
    }
    latest: dict[str, datetime] = {}
    for page in range(MAX_START_PAGES):
        if page:
            time.sleep(LOOKUP_INTERVAL)
        answer = aws.call(
            "cloudtrail", "lookup_events", "read when the EC2 instance was started (CloudTrail event history)", **params
        )
        for item in answer.get("Events", []):
            try:
                record = json.loads(item.get("CloudTrailEvent") or "{}")
            except ValueError:
                continue
            if (
                not isinstance(record, dict)
                or record.get("eventSource") != EC2_SOURCE
                or record.get("eventName") != START_EVENT
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

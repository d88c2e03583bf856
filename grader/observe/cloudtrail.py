"""Reads CloudTrail: the lab's trail, its status and bucket, and where the Cognito sign-in events come from.

Event history (`LookupEvents`, :mod:`grader.observe.event_history`) is the first source of the
sign-in events; when it is refused, the trail's own log files in its bucket
(:mod:`grader.observe.trail_logs`) are the second. Which source was used is part of the result.
The instance starts come from event history alone
(:func:`~grader.observe.event_history.read_instance_starts`). Every call goes through the
read-only AWS layer (grader/aws.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError, explain
from grader.observe.event_history import LookupPacer, pacer_for, read_history_sign_ins
from grader.observe.trail_logs import MAX_LOG_BYTES as MAX_LOG_BYTES  # the sandbox's junk log file is one larger
from grader.observe.trail_logs import read_log_sign_ins
from grader.trail import AuthEvents, Trail, TrailStatus, trail_from


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


def read_auth_events(
    aws: ReadOnlyAWS,
    trails: Sequence[Trail] | Callable[[], Sequence[Trail]],
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

    `trails` (the lab's trails, or a function that gives them) are read only when event history
    is refused: event history is looked up at once, without waiting for them.
    """
    since = datetime.now(UTC) - timedelta(days=days)
    try:
        return read_history_sign_ins(aws, since, pacer or pacer_for(aws), deadline)
    except GraderError as exc:
        if exc.kind != "access-denied":
            raise
        return read_log_sign_ins(aws, list(trails() if callable(trails) else trails), account_id, since, exc)

"""CloudTrail as the grader reads it: the lab's trail, its status, and the Cognito sign-in events.

CloudTrail stamps `eventTime` in whole seconds and event history lists the newest event first,
so the two calls of one browser sign-in (InitiateAuth, then RespondToAuthChallenge, well within
a second) usually share a time and come answer-first. Sign-ins are paired in the order the
protocol makes them, never by time alone. The same records also tell when an EC2 instance was
started again (`StartInstances`): a restarted instance has a new public DNS name.

Reading CloudTrail lives in grader/observe/cloudtrail.py; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from grader import USER_AGENT

EVENT_SOURCE = "cognito-idp.amazonaws.com"
SIGN_IN_EVENTS = {"InitiateAuth", "RespondToAuthChallenge"}
# Within one second, the order in which a sign-in makes its calls.
PROTOCOL_ORDER = {"InitiateAuth": 0, "RespondToAuthChallenge": 1}
EC2_SOURCE = "ec2.amazonaws.com"
START_EVENT = "StartInstances"
GRADER_MARK = USER_AGENT.split("/", 1)[0]


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


def trail_from(raw: dict[str, Any]) -> Trail:
    return Trail(
        name=raw.get("Name", ""),
        arn=raw.get("TrailARN", raw.get("Name", "")),
        home_region=raw.get("HomeRegion", ""),
        multi_region=bool(raw.get("IsMultiRegionTrail")),
        bucket=raw.get("S3BucketName", ""),
        prefix=raw.get("S3KeyPrefix", "") or "",
    )


def logs_prefix(trail: Trail, account_id: str, region: str) -> str:
    """Where CloudTrail delivers this region's log files in the trail's bucket."""
    base = f"AWSLogs/{account_id}/CloudTrail/{region}/"
    return f"{trail.prefix.rstrip('/')}/{base}" if trail.prefix else base


def event_time(record: dict[str, Any]) -> datetime:
    try:
        return datetime.strptime(str(record.get("eventTime") or ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def auth_event_from(record: dict[str, Any]) -> AuthEvent:
    params = record.get("requestParameters") or {}
    return AuthEvent(
        time=event_time(record),
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


def started_instances(record: dict[str, Any]) -> list[str]:
    """The instance ids a StartInstances record names (requestParameters.instancesSet.items)."""
    params = record.get("requestParameters") or {}
    items = ((params.get("instancesSet") or {}).get("items")) or []
    return [str(i["instanceId"]) for i in items if isinstance(i, dict) and i.get("instanceId")]

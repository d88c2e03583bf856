"""CloudTrail: the lab's trail, logging to its bucket, and the website's sign-ins recorded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from grader.checking import Check, listing
from grader.grading import Grading
from grader.trail import Trail, bucket_exists, read_status, successful_sign_ins

MAX_ROWS = 25


@pytest.fixture
def lab_trail(grading: Grading) -> Trail:
    found, _ = grading.trails()
    if not found:
        pytest.skip(f"There is no trail named {grading.spec.expected.trail_name} (see cloudtrail.trail).")
    return found[0]


def test_trail(grading: Grading, check: Check) -> None:
    """Passes when a trail with the spec's name covers this region and its S3 bucket exists."""
    name = grading.spec.expected.trail_name
    found, others = grading.trails()
    check.record(trail_name=name, other_trails=others)
    if not found:
        named = f" (the account has {listing(others)})" if others else ""
        check.fail(f"There is no trail named {name} for {grading.target.region}{named}.")
    trail = found[0]
    check.record(bucket=trail.bucket, home_region=trail.home_region, multi_region=trail.multi_region)
    if not trail.bucket:
        check.fail(f"The trail {name} has no S3 bucket.")
    if not bucket_exists(grading.aws, trail.bucket):
        check.fail(f"The trail {name} logs to the bucket {trail.bucket}, which does not exist any more.")
    check.passes(f"The trail {name} logs to the bucket {trail.bucket}.")


def test_logging(grading: Grading, lab_trail: Trail, check: Check) -> None:
    """Passes when the trail is logging and, once the delivery delay has passed, has delivered a log file."""
    status = read_status(grading.aws, lab_trail)
    delay = timedelta(minutes=grading.spec.expected.delivery_delay_minutes)
    check.record(
        is_logging=status.is_logging,
        started_logging=_when(status.start_logging),
        latest_delivery=_when(status.latest_delivery),
        delivery_error=status.delivery_error,
    )
    if not status.is_logging:
        check.fail(f"The trail {lab_trail.name} exists but is not logging (logging was stopped or never started).")
    if status.delivery_error:
        check.fail(f"The trail {lab_trail.name} is logging, but CloudTrail cannot deliver to its bucket: {status.delivery_error}.")
    if status.latest_delivery:
        check.passes(f"The trail {lab_trail.name} is logging; its latest log file was delivered {_when(status.latest_delivery)}.")
        return
    started = status.start_logging
    if started is not None and datetime.now(timezone.utc) - started < delay:
        check.passes(
            f"The trail {lab_trail.name} is logging; it started {_when(started)}, less than "
            f"{delay.seconds // 60} minutes ago, so no log file is due yet."
        )
        return
    check.fail(
        f"The trail {lab_trail.name} says it is logging, but no log file has been delivered "
        f"{'since ' + _when(started) if started else 'yet'}."
    )


def test_auth_events(grading: Grading, check: Check) -> None:
    """Passes when CloudTrail shows a successful SRP sign-in (InitiateAuth then RespondToAuthChallenge) not made by the grader."""
    found = grading.auth_events()
    mine = [e for e in found.events if not e.by_grader]
    own = len(found.events) - len(mine)
    failed = [e for e in mine if e.error_code]
    check.record(
        source=found.source,
        grader_events_ignored=own,
        events=[e.row() for e in sorted(mine, key=lambda e: e.time, reverse=True)[:MAX_ROWS]],
    )
    succeeded = successful_sign_ins(mine)
    if succeeded:
        latest = max(succeeded, key=lambda e: e.time)
        extra = f"; {len(failed)} failed attempt{'s' if len(failed) != 1 else ''} too" if failed else ""
        check.passes(
            f"CloudTrail recorded {len(succeeded)} successful sign-in{'s' if len(succeeded) != 1 else ''} from the "
            f"website, the latest {_when(latest.time)}{extra} (source: {found.source})."
        )
        return
    if failed:
        codes = sorted({e.error_code for e in failed})
        check.fail(
            f"CloudTrail recorded only failed sign-ins from the website ({len(failed)}, {listing(codes)}), "
            f"no successful one (source: {found.source})."
        )
    if own:
        check.fail(
            f"CloudTrail recorded no sign-in from the website, only the grader's own {own} "
            f"(source: {found.source})."
        )
    check.fail(f"CloudTrail recorded no Cognito sign-in in the last {int(grading.spec.expected.events_days)} days (source: {found.source}).")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else ""

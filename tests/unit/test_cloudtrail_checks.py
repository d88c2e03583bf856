"""The CloudTrail checks (checks/test_cloudtrail.py) on hand-built evidence: each pass, fail and skip case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import checks.test_cloudtrail as cloudtrail_checks
from grader.observe.evidence import TrailsFound
from grader.trail import AuthEvents
from tests.unit.evidence import (
    AUTH_EVENTS,
    CLIENT,
    GRADER_BROWSER,
    HISTORY,
    OBSERVED_AT,
    OTHER_CLIENT_ID,
    POOL,
    REGION,
    SIGNED_IN_AT,
    SPEC,
    TRAIL,
    TRAIL_STATUS,
    check_id,
    empty_snapshot,
    fails,
    grader_bug,
    ids_of,
    passes,
    replace,
    sign_in_events,
    snapshot,
)

trail_check = cloudtrail_checks.test_trail
logging_check = cloudtrail_checks.test_logging
auth_check = cloudtrail_checks.test_auth_events

PASS_CASES: list[tuple[Any, dict[str, Any], str]] = [
    (trail_check, {}, f"The trail VehicleApp-Trail logs to the bucket {TRAIL.bucket}."),
    (
        logging_check,
        {},
        "The trail VehicleApp-Trail is logging; its latest log file was delivered 2026-03-02 14:56 UTC.",
    ),
    (
        auth_check,
        {},
        (
            f"CloudTrail recorded 1 successful sign-in from the website, the latest 2026-03-02 14:00 UTC "
            f"(source: {HISTORY})."
        ),
    ),
]
PASSES = ids_of(*(case[0] for case in PASS_CASES))


@pytest.mark.parametrize(("function", "overrides", "message"), PASS_CASES, ids=[check_id(c[0]) for c in PASS_CASES])
def test_finished_lab_passes_each_cloudtrail_check(function: Any, overrides: dict[str, Any], message: str) -> None:
    """The finished lab's trail and sign-in pass every CloudTrail check with the sentence saying what was found."""
    assert passes(function, **overrides).message == message


# -- cloudtrail.trail -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("others", "message"),
    [
        ((), f"There is no trail named VehicleApp-Trail for {REGION}."),
        (
            ("management-events", "vehicleapp-trail"),
            (
                f"There is no trail named VehicleApp-Trail for {REGION} (the account has management-events and "
                "vehicleapp-trail)."
            ),
        ),
    ],
    ids=["no-trail", "only-other-trails"],
)
def test_trail_fails_without_the_lab_trail(others: tuple[str, ...], message: str) -> None:
    """No trail of the spec's name fails, naming the account's other trails."""
    check = fails(trail_check, trails=TrailsFound(lab=(), others=others), trail_bucket=None)
    assert check.message == message
    assert check.evidence == {"trail_name": "VehicleApp-Trail", "other_trails": list(others)}


def test_trail_fails_without_a_bucket() -> None:
    """A lab trail that names no S3 bucket fails."""
    check = fails(trail_check, trails=TrailsFound(lab=(replace(TRAIL, bucket=""),), others=()), trail_bucket=None)
    assert check.message == "The trail VehicleApp-Trail has no S3 bucket."


def test_trail_fails_when_its_bucket_is_gone() -> None:
    """A lab trail whose bucket no longer exists fails naming the bucket."""
    check = fails(trail_check, trail_bucket=False)
    assert (
        check.message == f"The trail VehicleApp-Trail logs to the bucket {TRAIL.bucket}, which does not exist any more."
    )
    assert check.evidence["multi_region"] is True


# -- cloudtrail.logging ---------------------------------------------------------------------------


def test_logging_without_a_status_is_the_graders_error() -> None:
    """A lab trail whose status was not read is the grader's bug (an AssertionError), not the student's fail."""
    assert "status was not read" in str(grader_bug(logging_check, trail_status=None))


def test_logging_passes_for_a_new_trail_before_its_first_delivery() -> None:
    """A trail started less than the delivery delay ago, with no file yet, passes: no log file is due."""
    fresh = replace(TRAIL_STATUS, start_logging=OBSERVED_AT - timedelta(minutes=3), latest_delivery=None)
    check = passes(logging_check, trail_status=fresh)
    assert check.message == (
        "The trail VehicleApp-Trail is logging; it started 2026-03-02 14:57 UTC, less than 15 "
        "minutes ago, so no log file is due yet."
    )
    assert check.evidence["latest_delivery"] == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"is_logging": False},
            "The trail VehicleApp-Trail exists but is not logging (logging was stopped or never started).",
        ),
        (
            {"delivery_error": "AccessDenied"},
            "The trail VehicleApp-Trail is logging, but CloudTrail cannot deliver to its bucket: AccessDenied.",
        ),
        (
            {"latest_delivery": None},
            (
                "The trail VehicleApp-Trail says it is logging, but no log file has been delivered since "
                "2026-03-02 13:00 UTC."
            ),
        ),
        (
            {"latest_delivery": None, "start_logging": None},
            "The trail VehicleApp-Trail says it is logging, but no log file has been delivered yet.",
        ),
    ],
    ids=["stopped", "delivery-error", "nothing-delivered-since-start", "nothing-delivered-ever"],
)
def test_logging_fails_naming_what_is_wrong(changes: dict[str, Any], message: str) -> None:
    """A trail that is stopped, cannot deliver, or delivered nothing past the delay fails saying which."""
    check = fails(logging_check, trail_status=replace(TRAIL_STATUS, **changes))
    assert check.message == message
    assert check.evidence["is_logging"] is changes.get("is_logging", True)


# -- cloudtrail.auth_events -----------------------------------------------------------------------

EARLIER = SIGNED_IN_AT - timedelta(minutes=10)


def _events(*events: Any, source: str = HISTORY) -> AuthEvents:
    return AuthEvents(source, tuple(events))


def test_auth_events_pass_counts_sign_ins_and_failed_attempts() -> None:
    """Several sign-ins pass with their count, the latest time and the failed attempts beside them."""
    found = _events(*sign_in_events(when=EARLIER), *sign_in_events(), *sign_in_events(error="NotAuthorizedException"))
    check = passes(auth_check, auth_events=found)
    assert check.message == (
        "CloudTrail recorded 2 successful sign-ins from the website, the latest 2026-03-02 14:00 UTC; "
        f"1 failed attempt too (source: {HISTORY})."
    )
    assert check.evidence["lab_app_clients"] == [{"id": CLIENT.id, "name": CLIENT.name}]


def test_auth_events_without_the_pool_counts_any_client() -> None:
    """When the lab's pool was not found, a sign-in to any app client counts, and the message says so."""
    check = passes(auth_check, snapshot=empty_snapshot(), auth_events=_events(*sign_in_events(client=OTHER_CLIENT_ID)))
    assert "; the lab's user pool was not found, so a sign-in to any app client counts" in check.message
    assert check.evidence["lab_app_clients"] is None


def test_auth_events_pass_names_the_log_files_source() -> None:
    """When event history was refused, the source named is the trail's log files."""
    source = f"the trail's log files (s3://{TRAIL.bucket}/AWSLogs/), because event history was refused"
    check = passes(auth_check, auth_events=_events(*sign_in_events(), source=source))
    assert check.message.endswith(f"(source: {source}).")


AUTH_MISTAKES: list[tuple[str, dict[str, Any], str]] = [
    (
        "pool-without-client",
        {"snapshot": snapshot(clients=()), "auth_events": _events(*sign_in_events(client=OTHER_CLIENT_ID))},
        (
            f"The user pool {POOL.name} has no app client, so CloudTrail cannot show a sign-in to the lab's "
            "app client; it "
            f"shows sign-ins only to other app clients ({OTHER_CLIENT_ID}) (source: {HISTORY})."
        ),
    ),
    (
        "only-other-clients",
        {
            "auth_events": _events(
                *sign_in_events(client=OTHER_CLIENT_ID), *sign_in_events(error="NotAuthorizedException")
            )
        },
        (
            f"CloudTrail recorded 1 successful sign-in only to other app clients ({OTHER_CLIENT_ID}), none "
            "to the lab's app "
            f"client {CLIENT.name} (id {CLIENT.id}); 1 failed attempt to the lab's client (source: {HISTORY})."
        ),
    ),
    (
        "only-failed",
        {
            "auth_events": _events(
                *sign_in_events(error="NotAuthorizedException"),
                *sign_in_events(when=EARLIER, error="UserNotFoundException"),
            )
        },
        (
            "CloudTrail recorded only failed sign-ins from the website (2, NotAuthorizedException and "
            "UserNotFoundException), "
            f"no successful one (source: {HISTORY})."
        ),
    ),
    (
        "only-failed-to-other-clients",
        {"auth_events": _events(*sign_in_events(client=OTHER_CLIENT_ID, error="NotAuthorizedException"))},
        (
            f"CloudTrail recorded sign-in attempts only to other app clients ({OTHER_CLIENT_ID}), none to "
            "the lab's app "
            f"client {CLIENT.name} (id {CLIENT.id}) (source: {HISTORY})."
        ),
    ),
    (
        "only-the-graders-own",
        {"auth_events": _events(*sign_in_events(agent=GRADER_BROWSER))},
        (
            "CloudTrail recorded no sign-in from the website, "
            f"only 2 events of the grader's own sign-ins (source: {HISTORY})."
        ),
    ),
    (
        "none",
        {"auth_events": _events()},
        f"CloudTrail recorded no Cognito sign-in in the last 90 days (source: {HISTORY}).",
    ),
    (
        "initiate-without-answer",
        {"auth_events": _events(sign_in_events()[0])},
        f"CloudTrail recorded no Cognito sign-in in the last 90 days (source: {HISTORY}).",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), [m[1:] for m in AUTH_MISTAKES], ids=[m[0] for m in AUTH_MISTAKES])
def test_auth_events_fail_naming_what_cloudtrail_shows(overrides: dict[str, Any], message: str) -> None:
    """No successful SRP sign-in to the lab's client fails naming what CloudTrail did show instead."""
    assert fails(auth_check, **overrides).message == message


def test_auth_events_ignore_the_graders_own_sign_ins() -> None:
    """The grader's sign-ins neither count nor show as rows; the evidence counts them as ignored."""
    found = _events(*sign_in_events(agent=GRADER_BROWSER), *sign_in_events(when=EARLIER))
    check = passes(auth_check, auth_events=found)
    assert check.evidence["grader_events_ignored"] == 2
    assert [row["time"] for row in check.evidence["events"]] == ["2026-03-02 13:50:00 UTC"] * 2
    assert check.message.startswith(
        "CloudTrail recorded 1 successful sign-in from the website, the latest 2026-03-02 13:50 UTC"
    )


def test_auth_events_evidence_shows_the_rows_read() -> None:
    """The evidence lists the events read as rows (app client, user agent) and counts none to other clients."""
    check = passes(auth_check, auth_events=AUTH_EVENTS)
    assert {row["app client"] for row in check.evidence["events"]} == {CLIENT.id}
    assert [row["event"] for row in check.evidence["events"]] == ["InitiateAuth", "RespondToAuthChallenge"]
    assert check.evidence["other_client_events"] == 0


def test_logging_names_a_delivery_delay_longer_than_a_day_in_minutes() -> None:
    """A spec's delay of 1500 minutes reads as 1500 minutes (not the 60 left over after whole days)."""
    spec = replace(SPEC, expected=replace(SPEC.expected, delivery_delay_minutes=1500))
    fresh = replace(TRAIL_STATUS, start_logging=OBSERVED_AT - timedelta(hours=3), latest_delivery=None)
    check = passes(logging_check, trail_status=fresh, spec=spec)
    assert "less than 1500 minutes ago" in check.message


# -- what reading CloudTrail skipped or left out (issue 11, rows 4 and 6) --------------------------

LOGS = f"the trail's log files (s3://{TRAIL.bucket}/AWSLogs/), because event history was refused"
SKIPPED = "2 files were not CloudTrail logs, so the grader skipped them."


def test_auth_events_pass_says_the_files_that_were_not_logs() -> None:
    """Log files that were not CloudTrail logs are counted in the evidence and said after the verdict."""
    found = AuthEvents(LOGS, sign_in_events(), skipped_files=2, skipped_why=SKIPPED)
    check = passes(auth_check, auth_events=found)
    assert check.message == (
        f"CloudTrail recorded 1 successful sign-in from the website, the latest 2026-03-02 14:00 UTC "
        f"(source: {LOGS}). {SKIPPED}"
    )
    assert check.evidence["skipped_log_files"] == 2
    assert check.evidence["skipped_why"] == SKIPPED


def test_auth_events_fail_still_the_students_when_files_were_skipped() -> None:
    """Only junk in the logs: the check fails for the student's reason and says what was skipped."""
    found = AuthEvents(LOGS, (), skipped_files=2, skipped_why=SKIPPED)
    check = fails(auth_check, auth_events=found)
    assert check.message == f"CloudTrail recorded no Cognito sign-in in the last 90 days (source: {LOGS}). {SKIPPED}"


def test_auth_events_say_how_many_older_events_were_left_out() -> None:
    """Events left out past the cap are counted in the evidence and said in the message."""
    found = AuthEvents(HISTORY, sign_in_events(), events_left_out=12_345)
    check = passes(auth_check, auth_events=found)
    assert check.message.endswith(
        f"(source: {HISTORY}). Only the newest 2 sign-in events were kept; 12,345 older ones were left out."
    )
    assert check.evidence["events_left_out"] == 12_345


def test_auth_events_evidence_says_how_many_rows_are_not_listed() -> None:
    """More events than the table's 25 rows: the evidence says how many are not listed."""
    many = tuple(e for n in range(20) for e in sign_in_events(when=EARLIER - timedelta(minutes=n)))
    check = passes(auth_check, auth_events=AuthEvents(HISTORY, many))
    assert len(check.evidence["events"]) == 25
    assert check.evidence["events_not_listed"] == 15


def test_auth_events_add_nothing_when_nothing_was_skipped() -> None:
    """A grade that skipped and left out nothing has none of those keys in its evidence."""
    check = passes(auth_check)
    assert not {"skipped_log_files", "skipped_why", "events_left_out", "events_not_listed"} & set(check.evidence)

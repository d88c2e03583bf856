"""Event history as a real account holds it: looked up by event name, paced, retried, and never
taken as absence when the read stopped early (grader.observe.event_history, cloudtrail.auth_events)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from grader import USER_AGENT
from grader.checking import Check
from grader.errors import GraderError
from grader.observe import event_history
from grader.observe.cloudtrail import read_auth_events
from grader.observe.event_history import LOOKUP_INTERVAL, LookupPacer, pacer_for, read_instance_starts
from grader.trail import AuthEvents
from tests.clock import FakeClock
from tests.cloudtrail_records import (
    BROWSER,
    LAB_CLIENT,
    SECOND,
    SUB,
    console_read_record,
    grade_auth_events,
    hosted_ui_record,
    sign_in_record,
)

OTHER_CLIENT = "7otherlab0123456789abcdefg"
GRADER_BROWSER = f"{BROWSER} {USER_AGENT}"
ACCOUNT = "123456789012"


@dataclass
class HistoryAWS:
    """LookupEvents over records in memory (newest first), as AWS answers it: one lookup attribute,
    50 events a page, a NextToken for more; `throttle` names the call numbers (1-based) AWS throttles."""

    records: list[dict[str, Any]]
    clock: FakeClock = field(default_factory=FakeClock)
    throttle: set[int] | None = None
    calls: list[tuple[float, str]] = field(default_factory=list)  # (clock time, looked-up value) of each call
    target: Any = field(default_factory=lambda: SimpleNamespace(region="us-east-1"))

    def call(self, service: str, operation: str, action: str, **params: Any) -> dict[str, Any]:
        assert (service, operation) == ("cloudtrail", "lookup_events")
        attribute = params["LookupAttributes"][0]
        self.calls.append((self.clock.now, attribute["AttributeValue"]))
        if self.throttle is not None and len(self.calls) in self.throttle:
            raise GraderError(f"AWS throttled the grader's requests to {action}.", kind="throttled")
        field_name = {"EventName": "eventName", "EventSource": "eventSource"}[attribute["AttributeKey"]]
        chosen = [r for r in self.records if r.get(field_name) == attribute["AttributeValue"]]
        start = int(params.get("NextToken", 0))
        page = chosen[start : start + params.get("MaxResults", 50)]
        answer: dict[str, Any] = {
            "Events": [{"EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)} for r in page]
        }
        if start + len(page) < len(chosen):
            answer["NextToken"] = str(start + len(page))
        return answer


def _sign_in(when: datetime, *, agent: str = BROWSER, client: str = LAB_CLIENT, sub: str = SUB) -> list[dict[str, Any]]:
    """One browser sign-in as AWS records it, newest first: the challenge answer carries no client id."""
    return [
        sign_in_record("RespondToAuthChallenge", when, client=None, agent=agent, sub=sub, version="1.10"),
        sign_in_record("InitiateAuth", when, client=client, agent=agent, sub=sub, version="1.10"),
    ]


def real_account(student_signed_in: bool) -> list[dict[str, Any]]:
    """A real account's event history, newest first: thousands of console reads under cognito-idp,
    hundreds of sign-ins by the grader and by another app client from the same browser, hosted-UI
    service events, then (if `student_signed_in`) the student's sign-in on the website."""
    newest = SECOND
    records = [console_read_record("DescribeUserPool", newest - timedelta(seconds=n % 600)) for n in range(2500)]
    for n in range(300):
        records += _sign_in(newest - timedelta(minutes=10, seconds=7 * n), agent=GRADER_BROWSER)
        records += _sign_in(newest - timedelta(minutes=50, seconds=7 * n), client=OTHER_CLIENT, sub="other-sub")
    earlier = newest - timedelta(hours=2)
    records += [hosted_ui_record(name, earlier) for name in ("Token_POST", "Login_POST", "Login_GET")]
    if student_signed_in:
        records += _sign_in(earlier - timedelta(minutes=5))
    return records


def _grade(found: AuthEvents) -> Check:
    """cloudtrail.auth_events on `found` for a lab whose app client is LAB_CLIENT; a fail is marked in evidence."""
    return grade_auth_events(found)


def _read(aws: HistoryAWS, deadline: float | None = None) -> AuthEvents:
    pacer = LookupPacer(clock=aws.clock, sleep=aws.clock.sleep)
    return read_auth_events(aws, [], 90, ACCOUNT, deadline=deadline, pacer=pacer)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- a real account


@pytest.mark.parametrize("signed_in", [True, False], ids=["student-signed-in", "student-never-signed-in"])
def test_real_shaped_history_counts_the_students_sign_in_and_only_it(signed_in: bool) -> None:
    """Behind 2,500 newer console reads, 600 newer sign-ins by the grader and another client and hosted-UI
    service events, the student's sign-in (no client id on its answer) counts; without it, the check fails."""
    aws = HistoryAWS(real_account(signed_in))
    found = _read(aws)
    assert found.incomplete == ""
    assert {value for _, value in aws.calls} == {"InitiateAuth", "RespondToAuthChallenge"}
    check = _grade(found)
    assert check.evidence["history_pages_read"] == len(aws.calls)
    if signed_in:
        assert "failed" not in check.evidence, check.message
        assert check.message.startswith("CloudTrail recorded 1 successful sign-in from the website")
    else:
        assert check.evidence["failed"]
        assert f"only to other app clients ({OTHER_CLIENT})" in check.message


def test_lookups_never_ask_by_event_source() -> None:
    """Event history is asked by event name only: cognito-idp's own events would fill any cap first."""
    aws = HistoryAWS(real_account(True))
    _read(aws)
    assert aws.calls
    assert all(value in {"InitiateAuth", "RespondToAuthChallenge"} for _, value in aws.calls)


# ---------------------------------------------------------------------- a read stopped early


def _behind_the_grader(count: int) -> list[dict[str, Any]]:
    """`count` newer sign-ins by the grader, then the student's."""
    records = [r for n in range(count) for r in _sign_in(SECOND - timedelta(seconds=5 * n), agent=GRADER_BROWSER)]
    return records + _sign_in(SECOND - timedelta(days=3))


def _cap(monkeypatch: pytest.MonkeyPatch) -> tuple[HistoryAWS, float | None]:
    monkeypatch.setattr(event_history, "MAX_PAGES", 2)
    return HistoryAWS(_behind_the_grader(200)), None


def _deadline(monkeypatch: pytest.MonkeyPatch) -> tuple[HistoryAWS, float | None]:
    aws = HistoryAWS(_behind_the_grader(200))
    return aws, aws.clock.now + 3 * LOOKUP_INTERVAL


def _throttled(monkeypatch: pytest.MonkeyPatch) -> tuple[HistoryAWS, float | None]:
    return HistoryAWS(_behind_the_grader(200), throttle=set(range(3, 100))), None


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_cap, "stopped at its limit of 2 pages"),
        (_deadline, "ran out of time"),
        (_throttled, "AWS still throttled event history after 5 retries"),
    ],
    ids=["page-cap", "deadline", "throttling"],
)
def test_a_read_stopped_early_is_the_graders_error_never_absence(
    make: Any, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Event history read only in part (page cap, deadline, throttling): the check is the grader's error
    saying how far it read, never the student's fail."""
    aws, deadline = make(monkeypatch)
    found = _read(aws, deadline)
    assert said in found.incomplete
    assert f"read {found.pages_read} page" in found.incomplete
    with pytest.raises(GraderError) as raised:
        _grade(found)
    assert raised.value.kind == "incomplete"
    assert said in raised.value.message
    assert "could not read all of it" in raised.value.message


def test_a_sign_in_found_in_a_read_stopped_early_still_passes() -> None:
    """A successful sign-in among what was read is positive evidence: the check passes and says the read stopped."""
    aws = HistoryAWS(_sign_in(SECOND) + _behind_the_grader(200))
    found = _read(aws, deadline=aws.clock.now + 3 * LOOKUP_INTERVAL)
    check = _grade(found)
    assert "failed" not in check.evidence
    assert check.message.startswith("CloudTrail recorded 1 successful sign-in")
    assert "ran out of time" in check.message
    assert check.evidence["read_incomplete"] == found.incomplete


# ---------------------------------------------------------------------- pacing and throttling


def test_throttled_lookups_are_retried_with_backoff_and_every_call_is_paced() -> None:
    """Calls 2 and 3 throttled: each is retried after 1 s then 2 s of backoff, every call at least the
    pacer's interval after the one before, and the read completes."""
    aws = HistoryAWS(_sign_in(SECOND), throttle={2, 3})
    found = _read(aws)
    assert found.incomplete == ""
    assert found.pages_read == 2
    assert [value for _, value in aws.calls] == [
        "InitiateAuth",
        "RespondToAuthChallenge",
        "RespondToAuthChallenge",
        "RespondToAuthChallenge",
    ]
    times = [when for when, _ in aws.calls]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[0] == pytest.approx(LOOKUP_INTERVAL)
    assert gaps[1] == pytest.approx(1.0)
    assert gaps[2] == pytest.approx(2.0)
    assert "failed" not in _grade(found).evidence


def test_one_pacer_per_connection_spaces_every_lookup_of_it() -> None:
    """All LookupEvents calls of one connection (its sign-ins and its instance starts, read apart) share one pacer."""
    aws = HistoryAWS(_sign_in(SECOND))
    assert pacer_for(aws) is pacer_for(aws)
    assert pacer_for(aws) is not pacer_for(HistoryAWS([]))
    shared = pacer_for(aws)
    shared.clock, shared.sleep = aws.clock, aws.clock.sleep
    read_auth_events(aws, [], 90, ACCOUNT)  # type: ignore[arg-type]
    read_instance_starts(aws)  # type: ignore[arg-type]
    times = [when for when, _ in aws.calls]
    assert len(times) == 3
    assert all(later - earlier >= LOOKUP_INTERVAL - 1e-9 for earlier, later in itertools.pairwise(times))

"""The sandbox's latency model, LookupEvents' rate limit, and where a grade's time goes (`timings`).

No speed is asserted here: the order of events and the shape of what is recorded are.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import grader.sandbox.server
from grader.observe.parts import PARTS
from grader.observe.timings import BROWSER, CLOUDTRAIL
from grader.results import GradeResult
from grader.sandbox import Sandbox
from grader.sandbox.latency import KINDS, REALISTIC, Delay, Latency, Profile, kind_of, profile_named
from tests.clock import FakeClock


def test_a_delay_is_log_normal_around_its_median_and_never_past_its_longest() -> None:
    delay = Delay(1.0, spread=0.9, longest_s=35.0)
    assert delay.at(0.5) == pytest.approx(1.0)
    assert delay.at(0.99) > 5.0  # the heavy tail of LookupEvents
    assert delay.at(0.999999999) == 35.0
    assert delay.at(0.01) < 0.2


def test_the_realistic_profile_covers_every_kind_and_meets_the_floor_of_each() -> None:
    floors = {"lookup-events": 1.0, "cognito": 0.08, "hosted-ui": 0.15, "website": 0.03}
    assert set(REALISTIC.delays) == set(KINDS)
    for kind, delay in REALISTIC.delays.items():
        assert delay.median_s >= floors.get(kind, 0.05), kind
    assert REALISTIC.throttle_lookups
    assert profile_named("zero") is None
    assert profile_named("realistic") is REALISTIC
    with pytest.raises(ValueError, match="zero or realistic"):
        profile_named("fast")


def test_delays_are_seeded_per_caller_whatever_the_order_of_the_calls() -> None:
    first, second = Latency(REALISTIC, seed=7), Latency(REALISTIC, seed=7)
    a = [first.delay("lookup-events", "alice") for _ in range(3)] + [first.delay("lookup-events", "bob")]
    b = [second.delay("lookup-events", "bob")] + [second.delay("lookup-events", "alice") for _ in range(3)]
    assert a[:3] == b[1:]
    assert a[3] == b[0]
    assert len(set(a)) == 4  # each call draws anew
    assert Latency(REALISTIC, seed=8).delay("lookup-events", "alice") != a[0]


def test_lookup_events_above_two_a_second_per_caller_is_throttled_as_aws_does() -> None:
    clock = FakeClock()
    latency = Latency(Profile("throttle only", throttle_lookups=True), clock=clock, sleep=clock.sleep)
    assert [latency.throttled("lookup-events", "alice") for _ in range(3)] == [False, False, True]
    assert not latency.throttled("lookup-events", "bob")  # another account has its own rate
    assert not latency.throttled("cloudtrail", "alice")  # only LookupEvents is limited so
    clock.now += 0.5
    assert latency.throttled("lookup-events", "alice") is False
    assert latency.throttled("lookup-events", "alice") is True


def test_kinds_of_calls() -> None:
    assert kind_of("cloudtrail", "LookupEvents") == "lookup-events"
    assert kind_of("cloudtrail", "DescribeTrails") == "cloudtrail"
    assert kind_of("cognito-idp", "InitiateAuth") == "cognito"
    assert kind_of("sts", "GetCallerIdentity") == "sts"
    assert kind_of("rest", "GET /x") == "other"


def test_the_sandbox_answers_a_lookup_above_the_rate_with_throttling_exception(sandbox: Sandbox) -> None:
    sandbox.reset()
    # The clock stands still: every call comes in the same instant, however slowly the sandbox answers.
    sandbox.gateway.latency = Latency(Profile("throttle only", throttle_lookups=True), clock=lambda: 0.0)
    try:
        client = boto3.client(
            "cloudtrail",
            endpoint_url=sandbox.url,
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="not-a-secret",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        outcomes = []
        for _ in range(4):
            try:
                client.lookup_events(MaxResults=1)
                outcomes.append("ok")
            except ClientError as exc:
                error = exc.response
                outcomes.append(f"{error['Error']['Code']} {error['ResponseMetadata']['HTTPStatusCode']}")
        assert outcomes == ["ok", "ok", "ThrottlingException 400", "ThrottlingException 400"]
    finally:
        sandbox.reset()
    assert sandbox.gateway.latency is None  # a reset takes the latency away too


@pytest.mark.browser
def test_event_history_is_looked_up_before_the_trails_are_read_and_timings_say_where_time_went(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CloudTrail's other calls slow, the first LookupEvents still starts before any of them ends.

    (Before, event history waited for the trails to be read. The wait is long, 1.5 s, so that a busy
    machine's pause does not pass for waiting.)"""
    from grader.pipeline import grade
    from grader.sandbox.demo import grader_browser, set_up
    from grader.sandbox.scenarios import load_scenario
    from grader.spec import load_spec
    from grader.target import Target

    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    class Logged(Latency):
        def wait(self, kind: str, caller: str) -> bool:
            with lock:
                events.append(("asked", kind))
            try:
                return super().wait(kind, caller)
            finally:
                with lock:
                    events.append(("answered", kind))

    monkeypatch.setattr(grader.sandbox.server, "Latency", Logged)
    sandbox.reset()
    scenario = load_scenario("finished")
    set_up(sandbox, scenario)
    sandbox.set_latency(Profile("slow trail calls", {"cloudtrail": Delay(1.5, spread=0.0)}))
    try:
        result: GradeResult = grade(
            Target(endpoint_url=sandbox.url, student="timed"),
            load_spec(scenario.spec),
            tmp_path,
            browser=grader_browser(sandbox),
        )
    finally:
        sandbox.reset()
    first_lookup = events.index(("asked", "lookup-events"))
    first_trail_answer = events.index(("answered", "cloudtrail"))
    assert first_lookup < first_trail_answer, events[:20]

    timings = result.timings
    assert CLOUDTRAIL in timings
    assert BROWSER in timings
    assert set(timings) - {CLOUDTRAIL, BROWSER} <= set(PARTS)
    assert {"snapshot", "trails", "auth_events", "site_logins", "hosted_sign_in"} <= set(timings)
    assert all(isinstance(v, float) and v >= 0 for v in timings.values())
    assert timings["trails"] >= 1.5  # its DescribeTrails waited
    assert timings[CLOUDTRAIL] >= max(timings["trails"], timings["auth_events"])
    saved: dict[str, Any] = GradeResult.read_json(tmp_path / "timed" / "results.json").timings
    assert saved == timings


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_an_unknown_latency_profile_is_refused_with_the_known_ones(command: str) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    result = CliRunner().invoke(app, [command, "--latency", "fast"])
    assert result.exit_code != 0
    assert "unknown latency profile 'fast': choose zero or realistic" in result.output

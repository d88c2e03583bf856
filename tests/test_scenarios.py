"""Every scenario grades exactly as it says: the finished lab passes, each mistake fails alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox import Sandbox
from grader.sandbox.demo import grade_scenario
from grader.sandbox.scenarios import load_scenario, scenario_names
from grader.spec import load_spec

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_grades_as_expected(sandbox: Sandbox, name: str, tmp_path: Path) -> None:
    """Each check ends as the scenario lists (fail/skip/error), and every other check passes."""
    scenario, result = grade_scenario(sandbox, name, tmp_path)
    spec = load_spec(scenario.spec)
    assert [c.id for c in result.checks] == list(spec.checks)
    got = {c.id: c.status for c in result.checks}
    expected = {cid: scenario.expected_status(cid) for cid in spec.checks}
    assert got == expected
    assert result.score == sum(spec.checks[c].points for c, s in expected.items() if s == "pass")
    assert (tmp_path / result.student / "report.html").is_file()
    assert (tmp_path / result.student / "results.json").is_file()
    # A failed check carries a full-sentence message and the spec's hint for the student.
    for check in result.checks:
        if check.status == "fail":
            assert check.message.endswith(".") and len(check.message.split()) >= 5, check.message
            assert check.hint == spec.checks[check.id].hint


def test_every_check_fails_alone_in_some_scenario() -> None:
    """Each check has a scenario where it is the only failure, or fails beside the checks it implies."""
    failing = {cid for name in scenario_names() for cid in load_scenario(name).fails}
    assert failing == set(load_spec().checks)


def test_scenario_messages_name_the_mistake(sandbox: Sandbox) -> None:
    """Messages name the concrete cause: http, a typo, a stopped instance, a second pool."""
    cases = {
        "callback-http": ("client.callback_ec2", "uses http"),
        "callback-typo": ("client.callback_ec2", "looks like a typo"),
        "instance-stopped": ("client.callback_ec2", "is stopped"),
        "pool-twice": ("pool.exists", "There are 2 user pools named VehicleAppUserPool"),
        "janedoe-not-confirmed": ("user.janedoe_confirmed", "FORCE_CHANGE_PASSWORD"),
        "code-and-implicit": ("client.implicit_only", "code is still allowed"),
        "users-access-denied": ("user.janedoe_confirmed", "AWS denied the grader permission"),
        "nothing-done": ("client.exists", "There is no user pool named VehicleAppUserPool"),
    }
    for name, (cid, phrase) in cases.items():
        _, result = grade_scenario(sandbox, name, None)
        message = next(c.message for c in result.checks if c.id == cid)
        assert phrase in message, (name, message)

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
    # Where the scenario says so, the message names the concrete cause.
    messages = {c.id: c.message for c in result.checks}
    for cid, phrase in scenario.says.items():
        assert phrase in messages[cid], (cid, messages[cid])


def test_scenarios_name_checks_that_exist() -> None:
    """Every check id a scenario lists (fails, skips, errors, says) is one of its spec's checks."""
    for name in scenario_names():
        scenario = load_scenario(name)
        known = set(load_spec(scenario.spec).checks)
        listed = set(scenario.fails) | set(scenario.skips) | set(scenario.errors) | set(scenario.says)
        assert listed <= known, (name, listed - known)


def test_every_check_fails_alone_in_some_scenario() -> None:
    """Each check has a scenario where it is the only failure, or fails beside the checks it implies."""
    failing = {cid for name in scenario_names() for cid in load_scenario(name).fails}
    assert failing == set(load_spec().checks)

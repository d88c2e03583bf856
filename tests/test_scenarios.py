"""Every scenario grades exactly as it says: the finished lab passes, each mistake fails alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.rejudge import rejudge
from grader.sandbox import Sandbox
from grader.sandbox.demo import grade_scenario
from grader.sandbox.scenarios import load_scenario, scenario_names
from grader.spec import load_spec
from tests.leaks import leaks_in_folder

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
    scored = {cid: meta for cid, meta in spec.checks.items() if not meta.advisory}
    assert result.score == sum(meta.points for cid, meta in scored.items() if expected[cid] == "pass")
    assert result.max_score == sum(meta.points for meta in scored.values())
    folder = tmp_path / result.student
    written = {name: (folder / name).read_bytes() for name in ("report.html", "results.json", "evidence.json")}
    # The evidence holds no secret, and judging it again offline with the same spec writes the same files.
    assert leaks_in_folder(folder, (spec.expected.final_password,)) == {}
    rejudge(folder)
    assert {name: (folder / name).read_bytes() for name in written} == written
    # A failed or warned check carries a full-sentence message and the spec's hint for the student.
    for check in result.checks:
        if check.status in ("fail", "warn"):
            assert check.message.endswith("."), check.message
            assert len(check.message.split()) >= 5, check.message
            meta = spec.checks[check.id]
            assert check.hint in {meta.hint, *getattr(meta, "hints", {}).values()}, check.id
    # The root causes: what results.json says to fix first, each failure explained by those it builds on.
    if scenario.roots is not None:
        assert [c.id for c in result.fix_first] == list(scenario.roots)
    saved = json.loads(written["results.json"])
    assert [entry["id"] for entry in saved["fix_first"]] == [c.id for c in result.fix_first]
    assert {c["id"]: tuple(c["explained_by"]) for c in saved["checks"]} == {c.id: c.explained_by for c in result.checks}
    # Where the scenario says so, the message names the concrete cause.
    messages = {c.id: c.message for c in result.checks}
    for cid, phrase in scenario.says.items():
        assert phrase in messages[cid], (cid, messages[cid])


def test_scenarios_name_checks_that_exist() -> None:
    """Every check id a scenario lists (fails, skips, errors, says) is one of its spec's checks."""
    for name in scenario_names():
        scenario = load_scenario(name)
        known = set(load_spec(scenario.spec).checks)
        listed = (
            set(scenario.fails) | set(scenario.warns) | set(scenario.skips) | set(scenario.errors) | set(scenario.says)
        )
        assert listed <= known, (name, listed - known)


def test_scenarios_warn_only_on_advisory_checks() -> None:
    """`warns` names advisory checks only, and no advisory check is expected to fail."""
    for name in scenario_names():
        scenario = load_scenario(name)
        spec = load_spec(scenario.spec)
        advisory = {cid for cid, meta in spec.checks.items() if meta.advisory}
        assert set(scenario.warns) <= advisory, (name, set(scenario.warns) - advisory)
        assert not set(scenario.fails) & advisory, (name, set(scenario.fails) & advisory)


def test_every_check_fails_alone_in_some_scenario() -> None:
    """Each scored check fails in some scenario; each advisory check warns in one and passes in another."""
    spec = load_spec()
    scenarios = [load_scenario(name) for name in scenario_names()]
    advisory = {cid for cid, meta in spec.checks.items() if meta.advisory}
    failing = {cid for scenario in scenarios for cid in scenario.fails}
    assert failing == set(spec.checks) - advisory
    for cid in advisory:
        assert any(s.expected_status(cid) == "warn" for s in scenarios), cid
        assert any(s.expected_status(cid) == "pass" for s in scenarios), cid

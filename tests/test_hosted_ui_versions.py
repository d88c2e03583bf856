"""The hosted UI in both versions (classic, managed login): the verdicts do not depend on which one is served.

Each hosted-UI scenario is graded in tests/test_scenarios.py as its edition's console makes it:
version 1, the classic hosted UI (checked below). Here the same scenarios are graded with the
domain made as version 2 (managed login, with a branding style): every check must end as the
scenario says, the same verdicts as under version 1.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from grader.pipeline import grade
from grader.sandbox import Sandbox
from grader.sandbox.demo import grader_browser, set_up
from grader.sandbox.scenarios import Scenario, load_scenario
from grader.spec import load_spec
from grader.target import Target

pytestmark = pytest.mark.browser

HOSTED_UI_SCENARIOS = (
    "finished",
    "janedoe-not-confirmed",
    "janedoe-other-password",
    "janedoe-disabled",
    "sign-in-with-email",
    "code-grant-only",
    "no-openid-scope",
    "oauth-disabled",
    "callback-with-trailing-slash",
    "hosted-ui-unrecognised",
    "hosted-ui-unavailable",
)


def _with_version(scenario: Scenario, version: int) -> Scenario:
    """The scenario with its domain made as `version` (1 classic hosted UI, 2 managed login)."""
    lab = copy.deepcopy(scenario.lab)
    lab["pool"]["domain_version"] = version
    return dataclasses.replace(scenario, lab=lab)


@pytest.mark.parametrize("name", HOSTED_UI_SCENARIOS)
def test_the_scenario_run_grades_these_under_the_classic_hosted_ui(name: str) -> None:
    """tests/test_scenarios.py grades each of these scenarios with a version-1 domain: that is their classic run."""
    from grader.sandbox.demo import with_domain_version

    scenario = load_scenario(name)
    assert with_domain_version(scenario.lab, scenario.spec)["pool"]["domain_version"] == 1


@pytest.mark.parametrize("version", [2])
@pytest.mark.parametrize("name", HOSTED_UI_SCENARIOS)
def test_hosted_ui_scenario_grades_the_same_in_both_versions(
    sandbox: Sandbox, name: str, version: int, tmp_path: Path
) -> None:
    """Each check ends as the scenario lists under managed login too (its classic run is the scenario test's)."""
    scenario = _with_version(load_scenario(name), version)
    set_up(sandbox, scenario)
    target = Target(endpoint_url=sandbox.url, student=f"versions-{name}-{version}")
    result = grade(target, load_spec(scenario.spec), tmp_path, browser=grader_browser(sandbox))
    got = {c.id: c.status for c in result.checks}
    assert got == {cid: scenario.expected_status(cid) for cid in got}
    messages = {c.id: c.message for c in result.checks}
    for cid, phrase in scenario.says.items():
        assert phrase in messages[cid], (cid, messages[cid])


@pytest.mark.parametrize(("spec", "version"), [("itm300-m03", 1), ("itm300-m03-2025", 2)])
def test_each_editions_console_makes_its_own_hosted_ui(spec: str, version: int) -> None:
    """lab.toml's `domain_version = 0` becomes the version the edition's console makes: the 2025 one, managed login."""
    from grader.sandbox.demo import with_domain_version

    lab = load_scenario("finished").lab
    assert lab["pool"]["domain_version"] == 0
    assert with_domain_version(lab, spec)["pool"]["domain_version"] == version

"""Provision a scenario into a running sandbox and grade it, as `grader demo` does."""

from __future__ import annotations

from pathlib import Path

from grader.results import GradeResult
from grader.run import grade
from grader.sandbox.provision import ProvisionedLab, provision
from grader.sandbox.scenarios import Scenario, load_scenario
from grader.sandbox.server import Sandbox
from grader.spec import load_spec
from grader.target import Target


def set_up(sandbox: Sandbox, scenario: Scenario) -> ProvisionedLab:
    """Empty the sandbox, do the scenario's lab in it, and arm its faults."""
    sandbox.reset()
    made = provision(sandbox.url, scenario.lab)
    sandbox.inject(scenario.faults)
    return made


def grade_scenario(sandbox: Sandbox, name: str, out: Path | None) -> tuple[Scenario, GradeResult]:
    scenario = load_scenario(name)
    set_up(sandbox, scenario)
    target = Target(endpoint_url=sandbox.url, student=f"demo-{name}")
    return scenario, grade(target, load_spec(scenario.spec), out)

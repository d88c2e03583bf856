"""Scenario data: a finished lab (fixtures/lab.toml) and each mistake as a change to it."""

from __future__ import annotations

import copy
import importlib.resources
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.spec import DEFAULT_SPEC


def _fixtures_folder() -> Path:
    """The folder of the package grader.fixtures (the repository's fixtures/, installed with the grader).

    An editable install made before that package existed does not know it: there, the checkout's own
    fixtures/ folder is used.
    """
    try:
        found = importlib.resources.files("grader.fixtures")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "fixtures"
    return Path(str(found))  # a package installed as files (pip never installs one zipped): a folder


FIXTURES = _fixtures_folder()
SCENARIO_KEYS = {"summary", "change", "faults", "fails", "warns", "skips", "errors", "spec", "says", "roots"}
BASELINE = "finished"
"""The finished lab: every other scenario is it with one change, and inherits its `warns`."""


class ScenarioError(Exception):
    """Unknown scenario or malformed scenario data."""


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    lab: dict[str, Any]
    spec: str = DEFAULT_SPEC
    faults: dict[str, str] = field(default_factory=dict)
    fails: tuple[str, ...] = ()
    warns: tuple[str, ...] = ()
    """Advisory checks that end `warn` (inherited from the finished lab unless listed)."""
    skips: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    says: dict[str, str] = field(default_factory=dict)
    """Check id -> a phrase its message must contain (the concrete cause, named)."""
    roots: tuple[str, ...] | None = None
    """The grade's root causes (`fix_first`), in order, when the scenario says them."""

    def expected_status(self, check_id: str) -> str:
        if check_id in self.fails:
            return "fail"
        if check_id in self.skips:
            return "skip"
        if check_id in self.errors:
            return "error"
        if check_id in self.warns:
            return "warn"
        return "pass"


def _load(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    if not path.is_file():
        raise ScenarioError(
            f"The scenario data {path} is missing, so this installation of the grader is incomplete. "
            "Install the grader again (pipx install --force, or pip install --force-reinstall), "
            "then run the command again."
        )
    return tomllib.loads(path.read_text(encoding="utf-8"))


def scenario_names() -> list[str]:
    return list(_load("scenarios.toml"))


def load_scenario(name: str) -> Scenario:
    scenarios = _load("scenarios.toml")
    if name not in scenarios:
        raise ScenarioError(f"There is no scenario {name!r}. `grader demo --list` shows them all.")
    entry = scenarios[name]
    unknown = set(entry) - SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"scenarios.toml: [{name}] has unknown keys {', '.join(sorted(unknown))}.")
    lab = apply_changes(_load("lab.toml"), entry.get("change", {}), name)
    warns = entry.get("warns", scenarios.get(BASELINE, {}).get("warns", ()))
    return Scenario(
        name=name,
        summary=entry.get("summary", ""),
        lab=lab,
        spec=entry.get("spec", DEFAULT_SPEC),
        faults=dict(entry.get("faults", {})),
        fails=tuple(entry.get("fails", ())),
        warns=tuple(warns),
        skips=tuple(entry.get("skips", ())),
        errors=tuple(entry.get("errors", ())),
        says=dict(entry.get("says", {})),
        roots=tuple(entry["roots"]) if "roots" in entry else None,
    )


def apply_changes(lab: dict[str, Any], changes: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of `lab` with each dotted key set; `false` for a whole section removes it."""
    result = copy.deepcopy(lab)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = result
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ScenarioError(f"scenarios.toml: [{name}] changes {dotted}, which lab.toml does not have.")
            node = node[part]
        if leaf not in node:
            raise ScenarioError(f"scenarios.toml: [{name}] changes {dotted}, which lab.toml does not have.")
        node[leaf] = value
    return result

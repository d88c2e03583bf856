"""The result model: advisory checks score nothing, warnings keep the exit code, old files still read."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from grader.cli import exit_code
from grader.results import SCHEMA_VERSION, CheckResult, GradeResult
from tests.grades import graded


def _check(cid: str, status: str, points: float, max_points: float, *, advisory: bool = False) -> CheckResult:
    return CheckResult(
        id=cid,
        title=cid,
        section="S",
        status=status,
        points=points,  # type: ignore[arg-type]
        max_points=max_points,
        message="Found.",
        advisory=advisory,
    )


def _result(*checks: CheckResult) -> GradeResult:
    return graded(*checks, account_id="1", spec_id="x", spec_title="X", duration_seconds=0.0)


def test_a_warning_scores_nothing_and_exits_zero() -> None:
    """Full marks with an advisory warning: score = max_score, exit code 0, one warning counted."""
    result = _result(_check("a.one", "pass", 2, 2), _check("a.link", "warn", 0, 0, advisory=True))
    assert (result.score, result.max_score, result.count("warn")) == (2, 2, 1)
    assert exit_code(result) == 0


def test_a_skipped_advisory_check_leaves_the_exit_code_alone_but_a_scored_one_does_not() -> None:
    """Only scored checks that fail or are skipped make the exit code 1; an error is always 2."""
    assert exit_code(_result(_check("a.one", "pass", 2, 2), _check("a.link", "skip", 0, 0, advisory=True))) == 0
    assert exit_code(_result(_check("a.one", "skip", 0, 2), _check("a.link", "pass", 0, 0, advisory=True))) == 1
    assert exit_code(_result(_check("a.one", "fail", 0, 2))) == 1
    assert exit_code(_result(_check("a.one", "pass", 2, 2), _check("a.link", "error", 0, 0, advisory=True))) == 2


def test_results_json_round_trips_with_the_new_schema(tmp_path: Path) -> None:
    """results.json says schema 2, keeps `advisory` per check, and reads back equal."""
    result = _result(_check("a.one", "pass", 2, 2), _check("a.link", "warn", 0, 0, advisory=True))
    result.write_json(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["checks"][1]["advisory"] is True
    assert data["checks"][1]["status"] == "warn"
    assert GradeResult.read_json(tmp_path / "results.json") == result


def test_a_version_1_file_still_reads(tmp_path: Path) -> None:
    """A results.json written before advisory checks existed reads, every check scored."""
    result = _result(_check("a.one", "fail", 0, 2))
    data = result.to_dict() | {"schema_version": 1}
    for check in data["checks"]:
        del check["advisory"]
    (tmp_path / "results.json").write_text(json.dumps(data))
    assert GradeResult.read_json(tmp_path / "results.json") == replace(result, schema_version=1)

"""The grader's pytest plugin serves the checks alone: `pytest tests/` has none of its fixtures or options, so no
test can reach an AWS account by asking for `snapshot`; `pytest checks/` has them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _fixture_names(output: str) -> set[str]:
    return {line.split()[0] for line in output.splitlines() if line and not line.startswith((" ", "-", "="))}


def test_the_tests_have_no_evidence_fixture_and_no_grading_option() -> None:
    found = _pytest("--fixtures", "tests/test_spec.py")
    assert found.returncode == 0, found.stderr
    names = _fixture_names(found.stdout)
    assert "tmp_path" in names  # the listing is the one asked for
    assert not names & {"snapshot", "evidence", "site_logins", "spec", "check"}
    refused = _pytest("--collect-only", "-q", "tests/test_spec.py", "--deadline", "5")
    assert refused.returncode == 4
    assert "unrecognized arguments: --deadline" in refused.stderr


def test_the_checks_have_every_evidence_fixture_and_option() -> None:
    found = _pytest("--fixtures", "checks")
    assert found.returncode == 0, found.stderr
    assert {"snapshot", "evidence", "site_logins", "sign_in_callback", "spec", "check"} <= _fixture_names(found.stdout)
    assert "--deadline" in _pytest("--help", "checks").stdout

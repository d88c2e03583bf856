"""Honest verdicts: only an explicit fail is the student's; anything else that goes wrong is the grader's."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from grader.errors import GraderError
from grader.observe.evidence import Evidence
from grader.snapshot import Identity, Read
from grader.spec import CheckSpec, Expected, LabSpec
from tests.grades import graded

CHECKS = """
import pytest
from grader.registry import lab_check


@lab_check("verdict.fails", needs=("snapshot",))
def test_fails(check):
    check.fail("The pool is named wrong.")


@lab_check("verdict.passes", needs=("snapshot",))
def test_passes(check):
    check.passes("All good.")


@lab_check("verdict.internal_assert", needs=("snapshot",))
def test_internal_assert(check):
    assert 1 + 1 == 3, "an assumption of the grader's own code"


@lab_check("verdict.no_verdict", needs=("snapshot",))
def test_no_verdict(check):
    check.record(seen=True)


@lab_check("verdict.type_error", needs=("snapshot",))
def test_type_error(check):
    None.name


@lab_check("verdict.could_not_look", needs=("trails",))
def test_could_not_look(trails, check):
    check.passes("unreachable")


@lab_check("verdict.undeclared", needs=("snapshot",))
def test_undeclared(site, check):
    check.passes("unreachable")


@lab_check("verdict.hostile_text", needs=("snapshot",))
def test_hostile_text(check):
    check.fail("The pool is named \x1b[31mred\x1b[0m\x07.")


@lab_check("verdict.skips", needs=("snapshot",))
def test_skips(check):
    pytest.skip("There is no pool, so this cannot be checked yet.")
"""


def _evidence() -> Evidence:
    """Ready-made evidence: the trails part could not be read, nothing else was observed."""
    denied = GraderError("AWS denied the grader permission to list the CloudTrail trails.", kind="access-denied")
    now = datetime.now(UTC)
    return Evidence(
        region="us-east-1",
        identity=Identity("123456789012", "arn"),
        observed_at=now,
        finished_at=now,
        student="s",
        snapshot=Read(None),
        trails=Read(error=denied),
    )


def _spec(ids: list[str]) -> LabSpec:
    checks = {cid: CheckSpec(id=cid, title=cid, section="S", points=1, hint=f"hint for {cid}") for cid in ids}
    return LabSpec(id="t", title="T", source=Path("t.toml"), expected=Expected(), checks=checks)


def _spec_file(folder: Path, ids: list[str]) -> Path:
    entries = "".join(
        f'\n[checks."{cid}"]\ntitle = "{cid}"\nsection = "S"\npoints = 1\nhint = "hint for {cid}"\n' for cid in ids
    )
    path = folder / "verdicts.toml"
    path.write_text(f'id = "t"\ntitle = "T"\n{entries}', encoding="utf-8")
    return path


def test_only_an_explicit_fail_is_the_students(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fail -> fail; skip -> skip; GraderError -> error with its sentence; an assert, another exception,
    no verdict or an undeclared part -> error naming a bug in the grader."""
    import grader.pipeline

    observed: list[frozenset[str]] = []

    def observe(connection: Any, needs: Any = None, **_: Any) -> Evidence:
        observed.append(frozenset(needs))
        return _evidence()

    monkeypatch.setattr(
        grader.pipeline,
        "connect",
        lambda target, spec, out=None: SimpleNamespace(
            spec=spec, target=target, identity=Identity("123456789012", "arn"), student="s", out=out
        ),
    )
    monkeypatch.setattr(grader.pipeline, "observe", observe)
    pytester.makeconftest('pytest_plugins = ["grader.plugin"]')
    pytester.makepyfile(test_verdicts_fixture=CHECKS)
    ids = [
        "verdict.fails",
        "verdict.passes",
        "verdict.internal_assert",
        "verdict.no_verdict",
        "verdict.type_error",
        "verdict.could_not_look",
        "verdict.undeclared",
        "verdict.skips",
        "verdict.hostile_text",
    ]
    out = tmp_path / "out"
    run = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--spec", str(_spec_file(pytester.path, ids)), "--student", "s", "--out", str(out)
    )
    results = json.loads((out / "s" / "results.json").read_text(encoding="utf-8"))
    got = {c["id"]: (c["status"], c["message"]) for c in results["checks"]}
    assert list(got) == ids
    assert got["verdict.fails"] == ("fail", "The pool is named wrong.")
    assert got["verdict.passes"] == ("pass", "All good.")
    assert got["verdict.skips"] == ("skip", "There is no pool, so this cannot be checked yet.")
    assert got["verdict.could_not_look"] == ("error", "AWS denied the grader permission to list the CloudTrail trails.")
    for cid, phrase in [
        ("verdict.internal_assert", "stopped on AssertionError"),
        ("verdict.no_verdict", "ended without a verdict"),
        ("verdict.type_error", "stopped on AttributeError"),
        ("verdict.undeclared", "did not observe the evidence part 'site'"),
    ]:
        status, message = got[cid]
        assert status == "error", (cid, message)
        assert phrase in message, (cid, message)
        assert "bug in the grader" in message, (cid, message)
    assert "-k test_internal_assert" in got["verdict.internal_assert"][1]  # what to run to see it
    # The grade summary prints a student's text without terminal escape sequences or control characters.
    line = next(line for line in run.stdout.lines if line.startswith("FAIL  verdict.hostile_text"))
    assert line == "FAIL  verdict.hostile_text: The pool is named red."
    # Only what the selected checks declare is observed, once.
    assert observed == [frozenset({"snapshot", "trails"})]


def test_an_installed_pytest_plugin_does_not_join_a_grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pytest plugin installed beside the grader (found by its entry point) is not loaded into the checks' run:
    this one would drop every check."""
    from importlib.metadata import entry_points

    from grader.pipeline import judge
    from grader.spec import DEFAULT_SPEC, load_spec

    (tmp_path / "intruder_plugin.py").write_text("def pytest_collection_modifyitems(items):\n    items.clear()\n")
    dist = tmp_path / "intruder-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: intruder\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nintruder = intruder_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "intruder" in {point.name for point in entry_points(group="pytest11")}
    spec = load_spec(DEFAULT_SPEC)
    result = judge(spec, _evidence())
    assert [check.id for check in result.checks] == list(spec.checks)


# -- an error stays the grader's in every output -------------------------------------------------------


def _graded(*statuses: str) -> Any:
    """A GradeResult with one scored check (1 point) per status."""
    from grader.results import CheckResult

    checks = tuple(
        CheckResult(
            id=f"c.{i}",
            title=f"C{i}",
            section="S",
            status=status,
            points=1.0 if status == "pass" else 0.0,
            max_points=1.0,
            message=f"{status} message.",
            hint="hint.",
        )  # type: ignore[arg-type]
        for i, status in enumerate(statuses)
    )
    return graded(*checks, spec_id="t", spec_title="T")


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (("pass",), 0),
        (("pass", "fail"), 1),
        (("pass", "skip"), 1),
        (("pass", "fail", "error"), 2),
        (("pass", "error"), 2),
    ],
)
def test_grader_check_exits_2_whenever_a_check_is_the_graders_error(statuses: tuple[str, ...], code: int) -> None:
    """`grader check` exits 2 when any check is `error` (before any fail), 1 on a fail or skip, 0 otherwise."""
    from grader.cli import exit_code

    assert exit_code(_graded(*statuses)) == code


def test_batch_and_gradescope_say_an_error_is_the_graders() -> None:
    """A batch with a grader's error exits 1 and counts it; Gradescope and JUnit label it as the grader's, not a
    finding (its points are still 0 in the score: see docs/verdicts.md)."""
    from grader.batch.exports import gradescope_results, junit_xml
    from grader.batch.model import RosterRow, StudentOutcome
    from grader.batch.run import BatchRun

    row = RosterRow(student_id="s1", line=2)
    outcome = StudentOutcome(row=row, status="graded", result=_graded("pass", "error"))
    assert BatchRun([outcome], regraded=0).exit_code == 1
    spec = _spec(["c.0", "c.1"])
    tests = gradescope_results(outcome, spec)["tests"]
    assert tests[1]["output"].startswith(
        "Could not check (a problem on the grader's side, not a finding about your lab)"
    )
    assert 'type="grader-error"' in junit_xml([outcome], spec)

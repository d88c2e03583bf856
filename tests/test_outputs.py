"""Report folders that cannot collide, another account's report never overwritten, both files written whole."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import grader.report
from grader.errors import GraderError
from grader.outputs import report_dir, report_folder_name, write_outputs
from grader.results import CheckResult, GradeResult
from grader.snapshot import Identity
from grader.spec import LabSpec
from grader.target import Target, student_from_arn
from tests.grades import graded

JANE_1 = "arn:aws:sts::111111111111:assumed-role/voclabs/user123=Jane_Doe"
JANE_2 = "arn:aws:sts::222222222222:assumed-role/voclabs/user456=Jane_Doe"


def _result(arn: str, account_id: str, *, student: str | None = None, status: str = "pass") -> GradeResult:
    check = CheckResult(
        id="pool.exists",
        title="User pool exists",
        section="User pool",
        status=status,  # type: ignore[arg-type]
        points=2 if status == "pass" else 0,
        max_points=2,
        message="Found the pool.",
    )
    return graded(
        check,
        student=student or student_from_arn(arn, account_id),
        account_id=account_id,
        caller_arn=arn,
        spec_title="Module 03",
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_same_name_in_two_accounts_gets_two_folders(tmp_path: Path) -> None:
    """Two Academy sessions named Jane_Doe in two accounts land in Jane_Doe-<account> each; neither is lost."""
    first, second = _result(JANE_1, "111111111111"), _result(JANE_2, "222222222222")
    assert first.student == second.student == "Jane_Doe"  # the report still shows the readable name
    one = write_outputs(first, tmp_path, named=False)
    two = write_outputs(second, tmp_path, named=False)
    assert (one.name, two.name) == ("Jane_Doe-111111111111", "Jane_Doe-222222222222")
    for folder, account in ((one, "111111111111"), (two, "222222222222")):
        assert sorted(_files(folder)) == ["report.html", "results.json"]
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        assert (data["student"], data["account_id"]) == ("Jane_Doe", account)
        assert account in (folder / "report.html").read_text(encoding="utf-8")
    assert report_dir(second, tmp_path, named=False) == two


def test_a_given_name_is_the_folder_and_an_account_id_is_not_repeated() -> None:
    """--student NAME (or a roster id) names the folder as given; a caller without a name gets its account id once."""
    assert report_folder_name("s1", "111111111111", named=True) == "s1"
    assert report_folder_name("Jane_Doe", "111111111111", named=False) == "Jane_Doe-111111111111"
    nameless = student_from_arn("arn:aws:iam::111111111111:root", "111111111111")
    assert report_folder_name(nameless, "111111111111", named=False) == "111111111111"
    # Neither part can lead out of --out, whatever an endpoint says the account id is.
    assert report_folder_name("../x", "../../etc", named=False) == "x-etc"


def test_another_accounts_folder_is_not_overwritten(tmp_path: Path) -> None:
    """The same --student for a second account is refused with a sentence; the first report stays as it was."""
    folder = write_outputs(_result(JANE_1, "111111111111", student="jane"), tmp_path, named=True)
    before = _files(folder)
    with pytest.raises(GraderError) as refused:
        write_outputs(_result(JANE_2, "222222222222", student="jane", status="fail"), tmp_path, named=True)
    message = refused.value.message
    assert "already holds the report of the AWS account 111111111111" in message
    assert "--student NAME" in message
    assert "--out" in message
    assert message.endswith(".")
    assert _files(folder) == before


def test_the_same_account_graded_again_overwrites_its_report(tmp_path: Path) -> None:
    """A re-grade of the same account replaces both files, as before."""
    write_outputs(_result(JANE_1, "111111111111"), tmp_path, named=False)
    folder = write_outputs(_result(JANE_1, "111111111111", status="fail"), tmp_path, named=False)
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert data["checks"][0]["status"] == "fail"
    assert sorted(_files(folder)) == ["report.html", "results.json"]


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b'["a", "list"]', b'{"account_id": 1}'])
def test_a_results_json_that_cannot_be_read_is_not_overwritten(tmp_path: Path, content: bytes) -> None:
    """When the grader cannot tell whose report a folder holds, it refuses with a sentence and changes nothing."""
    folder = tmp_path / "jane"
    folder.mkdir()
    (folder / "results.json").write_bytes(content)
    with pytest.raises(GraderError) as refused:
        write_outputs(_result(JANE_1, "111111111111", student="jane"), tmp_path, named=True)
    assert "cannot tell whose report it is" in refused.value.message
    assert _files(folder) == {"results.json": content}


def _broken_renderer(result: GradeResult) -> str:
    raise RuntimeError("the renderer broke")


def test_a_crash_before_the_renames_leaves_the_old_pair_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renderer failing mid-write leaves the previous results.json and report.html, matching, and nothing else."""
    folder = write_outputs(_result(JANE_1, "111111111111"), tmp_path, named=False)
    before = _files(folder)
    monkeypatch.setattr(grader.report, "render_html", _broken_renderer)
    with pytest.raises(RuntimeError):
        write_outputs(_result(JANE_1, "111111111111", status="fail"), tmp_path, named=False)
    assert _files(folder) == before


def test_a_crash_on_a_first_grade_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No results.json without its report: a first grade that fails to render leaves an empty folder."""
    monkeypatch.setattr(grader.report, "render_html", _broken_renderer)
    with pytest.raises(RuntimeError):
        write_outputs(_result(JANE_1, "111111111111"), tmp_path, named=False)
    assert _files(tmp_path / "Jane_Doe-111111111111") == {}


def test_a_failed_last_rename_leaves_no_results_json_beside_a_report_not_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """results.json is renamed last, after the old one is removed: a rename that fails is a sentence, and the
    folder holds no results.json that the report.html beside it does not belong to, and no temporary file."""
    folder = write_outputs(_result(JANE_1, "111111111111"), tmp_path, named=False)
    real_replace = Path.replace

    def replace_fails_for_results(self: Path, target: Any) -> Path:
        if Path(target).name == "results.json":
            raise OSError(28, "No space left on device")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace_fails_for_results)
    with pytest.raises(GraderError) as failed:
        write_outputs(_result(JANE_1, "111111111111", status="fail"), tmp_path, named=False)
    assert "could not write the report" in failed.value.message
    assert "No space left on device" in failed.value.message
    assert sorted(_files(folder)) == ["report.html"]


def test_an_out_that_is_a_file_is_a_sentence(tmp_path: Path) -> None:
    """--out naming a file: the grader says it cannot write there, instead of a traceback."""
    (tmp_path / "out").write_text("a file")
    with pytest.raises(GraderError) as failed:
        write_outputs(_result(JANE_1, "111111111111"), tmp_path / "out", named=False)
    assert "could not write the report into" in failed.value.message
    assert "--out" in failed.value.message


# -- the plugin: where a grade writes, and a refusal reaching grade()'s caller -----------------------

CHECKS = """
from grader.registry import lab_check


@lab_check("outputs.passes", needs=("snapshot",))
def test_passes(check):
    check.passes("All good.")
"""

SPEC = """
id = "t"
title = "T"

[checks."outputs.passes"]
title = "Passes"
section = "S"
points = 1
hint = "Nothing to do."
"""


def _account(monkeypatch: pytest.MonkeyPatch, arn: str, account_id: str) -> list[frozenset[str]]:
    """The pipeline connects to the account `account_id` and observes an empty snapshot; the needs observed."""
    import grader.pipeline
    from grader.observe.evidence import Evidence
    from grader.snapshot import Read

    observed: list[frozenset[str]] = []

    def connect(target: Target, spec: LabSpec, out: Path | None = None) -> Any:
        student = target.student or student_from_arn(arn, account_id)
        return SimpleNamespace(spec=spec, target=target, identity=Identity(account_id, arn), student=student, out=out)

    def observe(connection: Any, needs: Any = None, **_: Any) -> Evidence:
        observed.append(frozenset(needs or ()))
        now = datetime.now(UTC)
        return Evidence(
            region="us-east-1",
            identity=connection.identity,
            observed_at=now,
            finished_at=now,
            student=connection.student,
            snapshot=Read(None),
        )

    monkeypatch.setattr(grader.pipeline, "connect", connect)
    monkeypatch.setattr(grader.pipeline, "observe", observe)
    return observed


def _run_checks(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """`pytest` on the check above with the grader's plugin, as `pytest checks/` runs: options `args`."""
    pytester.makeconftest('pytest_plugins = ["grader.plugin"]')
    pytester.makepyfile(
        test_outputs_fixture=CHECKS.replace("def test_passes(check)", "def test_passes(snapshot, check)")
    )
    spec = pytester.makefile(".toml", t=SPEC)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "--spec", str(spec), *args)


def test_a_grade_writes_into_the_account_folder(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --student, a grade writes report.html, results.json and evidence.json into
    <out>/Jane_Doe-<account>/ and says where."""
    observed = _account(monkeypatch, JANE_1, "111111111111")
    ran = _run_checks(pytester, "--out", str(tmp_path))
    assert ran.ret == pytest.ExitCode.OK
    folder = tmp_path / "Jane_Doe-111111111111"
    assert sorted(_files(folder)) == ["evidence.json", "report.html", "results.json"]
    ran.stdout.fnmatch_lines([f"report: {folder / 'report.html'}"])
    assert observed == [frozenset({"snapshot"})]  # what the selected checks declare, observed once


def test_a_refused_folder_stops_a_grade_before_it_observes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """grade() over another account's folder: the refusal reaches its caller (the command line says it, exit 2)
    before anything is observed, and the folder is left as it was."""
    from grader.pipeline import grade
    from grader.spec import load_spec

    first = write_outputs(replace(_result(JANE_1, "111111111111"), student="jane"), tmp_path, named=True)
    before = _files(first)
    observed = _account(monkeypatch, JANE_2, "222222222222")
    with pytest.raises(GraderError, match="another account's report"):
        grade(Target(student="jane"), load_spec(), tmp_path)
    assert observed == []
    assert _files(first) == before


def test_pytest_checks_says_a_refused_folder_as_a_sentence(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pytest checks --student jane --out DIR` over another account's folder: the summary says why, exit 4 (usage)."""
    _account(monkeypatch, JANE_2, "222222222222")
    first = write_outputs(replace(_result(JANE_1, "111111111111"), student="jane"), tmp_path, named=True)
    before = _files(first)
    ran = _run_checks(pytester, "--student", "jane", "--out", str(tmp_path))
    assert ran.ret == pytest.ExitCode.USAGE_ERROR
    ran.stdout.fnmatch_lines(["grader: The folder * already holds the report of the AWS account 111111111111*"])
    assert _files(first) == before

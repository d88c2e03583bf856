"""Gradescope (issue 12): `grader gradescope` grades the credentials file a student submitted into results.json, and
`grader gradescope-package` builds the autograder zip (setup.sh, run_autograder and the grader's wheel).

A finished lab is graded once in the sandbox from a submitted credentials file; expired, missing, malformed and
doubled credentials, and the grader's own failures, need no browser and take a moment each. The zip is built once.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.errors import GraderError
from grader.gradescope import autograder, build_package, find_credentials, project_source, run_autograder
from grader.gradescope import package as autograder_zip
from grader.sandbox import Sandbox
from grader.sandbox.classroom import ClassStudent, account_of, set_up_class
from grader.sandbox.provision import role_arn, sandbox_client
from grader.spec import DEFAULT_SPEC, load_spec
from grader.target import read_credentials_file

NOWHERE = "http://127.0.0.1:9"
"""An endpoint nothing answers on: the tests that must not reach AWS name it."""
FAKE_BLOCK = (
    "[default]\n"
    "aws_access_key_id=ASIAFAKEKEYFORTESTS01\n"
    "aws_secret_access_key=fakeSecretForTheGradescopeTests0123456789\n"
    "aws_session_token=FakeSessionTokenForTheGradescopeTests//abcdefghijklmnop==\n"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


@dataclass
class Graded:
    """One run of the autograder: its exit code, results.json, what it printed, and the secrets it was given."""

    code: int
    results: Path
    printed: str
    secrets: tuple[str, ...]

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.results.read_text(encoding="utf-8"))

    @property
    def output(self) -> str:
        return str(self.data["output"])

    def assert_no_secret_anywhere(self) -> None:
        """No key, secret or token in any file the autograder wrote, nor in what it printed."""
        written = [path for path in self.results.parent.rglob("*") if path.is_file()]
        assert written, "the autograder wrote nothing"
        for secret in self.secrets:
            assert secret not in self.printed
            for path in written:
                assert secret not in path.read_text(encoding="utf-8", errors="replace"), path


def _autograde(
    submission: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *, endpoint_url: str = NOWHERE, **kw: Any
) -> Graded:
    """Run the autograder on `submission` into tmp_path/results/results.json."""
    results = tmp_path / "results" / "results.json"
    secrets = tuple(
        value
        for path in submission.rglob("*")
        if path.is_file()
        for value in autograder.credential_values(path.read_text(encoding="utf-8", errors="replace"))
    )
    options = {"spec": DEFAULT_SPEC, "region": "us-east-1", "endpoint_url": endpoint_url, **kw}
    code = run_autograder(submission, results, **options)
    return Graded(code=code, results=results, printed=capsys.readouterr().out, secrets=secrets)


def _submission(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A submission folder holding `files` (relative path: text or bytes)."""
    folder = tmp_path / "submission"
    folder.mkdir()
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _full_marks() -> float:
    return sum(check.points for check in load_spec().checks.values() if not check.advisory)


# -- a finished lab, graded from its submitted credentials


@pytest.fixture(scope="module")
def finished_credentials(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The text of a credentials file for a sandbox account in which the lab is finished."""
    folder = tmp_path_factory.mktemp("handed-in")
    set_up_class(sandbox, (ClassStudent("g01", "Ada Lovelace", "finished", way_in="credentials-file"),), folder)
    return (folder / "g01-credentials.txt").read_text(encoding="utf-8")


@pytest.mark.browser
def test_a_finished_lab_scores_full_marks_with_a_test_per_check_and_the_report_as_output(
    finished_credentials: str, sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one credentials file (in a folder, under a line of the student's own, beside a screenshot) is graded."""
    submission = _submission(
        tmp_path,
        {"lab 3/AWS details.txt": "My credentials for lab 3:\n" + finished_credentials, "screenshot.png": PNG},
    )
    graded = _autograde(submission, tmp_path, capsys, endpoint_url=sandbox.url)
    assert graded.code == 0, graded.printed
    data = graded.data
    spec = load_spec()
    assert data["score"] == _full_marks(), graded.output
    assert sum(test["max_score"] for test in data["tests"]) == _full_marks()
    assert sorted(test["name"].rsplit("(", 1)[-1].rstrip(")") for test in data["tests"]) == sorted(spec.checks)
    assert {test["status"] for test in data["tests"]} == {"passed"}
    output = graded.output
    assert f"Score {_full_marks():g}/{_full_marks():g}" in output
    for check_id in spec.checks:
        assert re.search(rf"^(PASS|WARN) +{re.escape(check_id)} ", output, re.MULTILINE), check_id
    for markup in ("\x1b", "[/", "[bold", "[dim"):
        assert markup not in output, "plain text, not rich markup"
    assert "lab 3/AWS details.txt" in graded.printed
    assert list((graded.results.parent / "report").glob("*/report.html")), "the HTML report is kept beside"
    assert len(graded.secrets) == 3
    graded.assert_no_secret_anywhere()


# -- what a student must submit again


def test_expired_credentials_score_0_and_say_to_submit_fresh_ones(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keys of a lab session that has ended: score 0, no tests, and the output says what to submit again."""
    keys = sandbox_client(sandbox.url, "sts").assume_role(
        RoleArn=role_arn(account_of(7)), RoleSessionName="student-expired"
    )["Credentials"]
    sandbox.expire_key(keys["AccessKeyId"])
    block = (
        f"[default]\naws_access_key_id={keys['AccessKeyId']}\naws_secret_access_key={keys['SecretAccessKey']}\n"
        f"aws_session_token={keys['SessionToken']}\n"
    )
    submission = _submission(tmp_path, {"credentials.txt": block})
    graded = _autograde(submission, tmp_path, capsys, endpoint_url=sandbox.url)
    assert graded.code == 0
    assert (graded.data["score"], graded.data["tests"]) == (0.0, [])
    output = graded.output
    assert "not a mark for your work" in output
    assert "The credentials in credentials.txt have expired" in output
    assert "Start the lab, open AWS Details > Show, copy the whole [default] block" in output
    assert "submit" in output
    graded.assert_no_secret_anywhere()


@pytest.mark.parametrize(
    ("files", "said"),
    [
        pytest.param({}, ["holds no file at all", "Submit the [default] block of the lab's AWS Details"], id="empty"),
        pytest.param(
            {"notes.txt": "Here are my keys: see the screenshot.\n", "keys.png": PNG},
            [
                "no file with the lab's credentials",
                "keys.png (not plain text",
                "notes.txt (no aws_access_key_id in it)",
                "as one plain .txt file",
            ],
            id="no-credentials-file",
        ),
        pytest.param(
            {"creds.txt": "[default]\naws_access_key_id=ASIAFAKEKEYFORTESTS01\n"},
            ["The credentials file creds.txt lacks aws_secret_access_key", "Submit the [default] block"],
            id="malformed",
        ),
        pytest.param(
            {"creds.txt": "keys: aws_access_key_id=ASIAFAKEKEYFORTESTS01 and the rest\n"},
            ["creds.txt is not in the [default] key = value form", "Submit the [default] block"],
            id="not-a-block",
        ),
        pytest.param(
            {"a.txt": FAKE_BLOCK, "old/b.txt": FAKE_BLOCK},
            ["holds 2 files with an aws_access_key_id (a.txt, old/b.txt)", "Submit only one file"],
            id="two-files",
        ),
    ],
)
def test_a_submission_without_one_usable_credentials_file_scores_0_and_says_what_to_submit(
    files: dict[str, str | bytes], said: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No credentials file, a malformed one, or two: score 0, no tests, the matching sentence; nothing reaches AWS."""
    graded = _autograde(_submission(tmp_path, files), tmp_path, capsys)
    assert graded.code == 0
    assert (graded.data["score"], graded.data["tests"]) == (0.0, [])
    assert "Your lab could not be graded, so the 0 here is not a mark for your work" in graded.output
    for words in said:
        assert words in graded.output
    assert "grader-gradescope-" not in graded.output, "the student's file is named, not the grader's private copy"
    graded.assert_no_secret_anywhere()


def test_the_search_reads_only_small_text_files_a_few_folders_deep_and_follows_no_link(tmp_path: Path) -> None:
    """A big file, a file too deep and a link to a file outside are not read; Windows' UTF-16 text is."""
    outside = tmp_path / "outside.txt"
    outside.write_text(FAKE_BLOCK, encoding="utf-8")
    submission = _submission(
        tmp_path,
        {
            "big.txt": FAKE_BLOCK + "#" * autograder.MAX_FILE_BYTES,
            "a/b/c/d/e/deep.txt": FAKE_BLOCK,
            "windows.txt": b"\xff\xfe" + FAKE_BLOCK.encode("utf-16-le"),
        },
    )
    (submission / "link.txt").symlink_to(outside)
    found = find_credentials(submission)
    assert [found.name(path) for path in found.credentials] == ["windows.txt"]
    assert "big.txt" in [found.name(path) for path, _ in found.others]


# -- the grader's own problems


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        pytest.param(
            GraderError("The grader could not reach AWS to connect.", kind="unreachable"),
            "The autograder could not grade this submission: The grader could not reach AWS to connect.",
            id="grader-error",
        ),
        pytest.param(
            RuntimeError("ASIAFAKEKEYFORTESTS01 in a message"),
            "The autograder failed while grading (RuntimeError). This is a bug in the grader.",
            id="bug",
        ),
    ],
)
def test_the_graders_own_failure_scores_0_as_its_problem_without_a_traceback(
    failure: Exception, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GraderError that is not the credentials' fault, or a bug: score 0, said as the grader's, what to check."""

    def fail(*_: object) -> None:
        raise failure

    monkeypatch.setattr(autograder, "_grade", fail)
    graded = _autograde(_submission(tmp_path, {"creds.txt": FAKE_BLOCK}), tmp_path, capsys)
    assert graded.code == 0
    assert (graded.data["score"], graded.data["tests"]) == (0.0, [])
    assert said in graded.output
    assert "a problem on the grader's side, not a finding about your lab" in graded.output
    assert "Instructor: " in graded.output
    assert "rerun the autograder" in graded.output
    assert "Traceback" not in graded.output + graded.printed
    assert len(graded.secrets) == 3
    graded.assert_no_secret_anywhere()


def test_an_unknown_spec_is_the_graders_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graded = _autograde(_submission(tmp_path, {"creds.txt": FAKE_BLOCK}), tmp_path, capsys, spec="no-such-spec")
    assert graded.code == 0
    assert graded.data["score"] == 0.0
    assert "could not load its lab spec: There is no built-in lab spec 'no-such-spec'" in graded.output


def test_results_that_cannot_be_written_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("a file where the results folder should be", encoding="utf-8")
    code = run_autograder(
        _submission(tmp_path, {}), blocker / "results.json", spec=DEFAULT_SPEC, region="us-east-1", endpoint_url=NOWHERE
    )
    assert code == 2
    assert "could not write" in capsys.readouterr().out


# -- the autograder zip


@dataclass(frozen=True)
class Package:
    path: Path
    members: dict[str, zipfile.ZipInfo]
    texts: dict[str, str]

    def mode(self, name: str) -> int:
        return (self.members[name].external_attr >> 16) & 0o777


def _open_package(path: Path) -> Package:
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist()}
        texts = {name: archive.read(name).decode("utf-8") for name in members if not name.endswith(".whl")}
    return Package(path=path, members=members, texts=texts)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """The autograder zip of the built-in spec, built once (the wheel from this clone)."""
    out = tmp_path_factory.mktemp("package") / "zips" / "autograder.zip"
    assert build_package(out, spec=DEFAULT_SPEC) == out
    return _open_package(out)


def test_the_zip_holds_executable_scripts_and_the_graders_wheel(package: Package) -> None:
    wheels = [name for name in package.members if name.endswith(".whl")]
    assert len(wheels) == 1
    assert wheels[0].startswith("vehicle_lab_grader-")
    assert {"setup.sh", "run_autograder"} <= set(package.members)
    for script in ("setup.sh", "run_autograder"):
        assert package.mode(script) & 0o111 == 0o111, script
        assert package.members[script].create_system == 3
        assert package.texts[script].startswith("#!/usr/bin/env bash\n")
        assert "\r" not in package.texts[script]
        syntax = subprocess.run(["bash", "-n"], input=package.texts[script], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
    with zipfile.ZipFile(package.path) as archive, zipfile.ZipFile(archive.open(wheels[0])) as wheel:
        inside = set(wheel.namelist())
    assert {"grader/__init__.py", "grader/fixtures/scenarios.toml", "checks/__init__.py"} <= inside


def test_setup_installs_the_wheel_and_playwrights_chromium_with_its_system_libraries(package: Package) -> None:
    """Chromium comes from Playwright with --with-deps (its headless shell, what it launches headless), never from apt
    (Ubuntu's is a snap no container runs)."""
    setup = package.texts["setup.sh"]
    commands = [line.strip() for line in setup.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    wheel = next(name for name in package.members if name.endswith(".whl"))
    assert any("-m pip install" in line and line.endswith(f"/{wheel}") for line in commands)
    assert any(line.endswith("-m playwright install --with-deps --only-shell chromium") for line in commands)
    assert not [line for line in commands if re.search(r"apt(-get)? install.*chrom", line)]
    assert "/autograder/grader-venv" in setup


def test_run_autograder_calls_grader_gradescope_with_the_spec(package: Package) -> None:
    run = package.texts["run_autograder"]
    assert re.search(
        rf"^exec \S*/bin/grader gradescope --spec {DEFAULT_SPEC} --region us-east-1 \\$", run, re.MULTILINE
    )
    assert re.search(r"^    --submission /autograder/submission ", run, re.MULTILINE)
    assert '--results "$RESULTS"' in run
    assert "RESULTS=/autograder/results/results.json" in run
    stand_in = re.search(r"<<'EOF'\n(.*?)\nEOF\n", run, re.DOTALL)
    assert stand_in is not None, "a results.json for a grader that setup.sh did not install"
    assert json.loads(stand_in.group(1))["score"] == 0.0


def test_a_spec_file_goes_into_the_zip_and_run_autograder_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "my-course.toml"
    spec.write_text(load_spec().source.read_text(encoding="utf-8"), encoding="utf-8")

    def fake_wheel(source: Path, work: Path) -> Path:
        made = work / "vehicle_lab_grader-0-py3-none-any.whl"
        made.write_bytes(b"wheel")
        return made

    monkeypatch.setattr(autograder_zip, "build_wheel", fake_wheel)
    made = _open_package(build_package(tmp_path / "autograder.zip", spec=str(spec)))
    assert made.texts["spec/my-course.toml"] == spec.read_text(encoding="utf-8")
    assert "grader gradescope --spec /autograder/source/spec/my-course.toml " in made.texts["run_autograder"]


def test_the_region_given_is_the_one_run_autograder_grades_in(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    out = tmp_path / "autograder.zip"
    said = CliRunner().invoke(app, ["gradescope-package", "--out", str(out), "--region", "eu-west-1"])
    assert said.exit_code == 0, said.output
    assert " --region eu-west-1 " in _open_package(out).texts["run_autograder"]


def test_a_region_that_is_not_one_is_refused_before_building(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    out = tmp_path / "autograder.zip"
    said = CliRunner().invoke(app, ["gradescope-package", "--out", str(out), "--region", "eu-west-1; rm -rf /"])
    assert said.exit_code == 2
    assert "does not look like an AWS region" in said.output
    assert "Traceback" not in said.output
    assert not out.exists()


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_an_out_that_is_a_folder_or_cannot_be_made_is_refused(where: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    out = tmp_path if where == "folder" else tmp_path / "a-file" / "autograder.zip"
    with pytest.raises(GraderError, match="is a folder: name the zip file" if where == "folder" else "is a file"):
        build_package(out, spec=DEFAULT_SPEC)


def test_an_unknown_spec_is_refused_before_building(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="no built-in lab spec 'no-such-spec'"):
        build_package(tmp_path / "autograder.zip", spec="no-such-spec")
    assert not (tmp_path / "autograder.zip").exists()


def test_an_installed_grader_without_its_source_says_to_build_from_a_clone(tmp_path: Path) -> None:
    module = tmp_path / "site-packages" / "grader" / "__init__.py"
    module.parent.mkdir(parents=True)
    module.write_text("", encoding="utf-8")
    with pytest.raises(GraderError, match="build the autograder zip from a clone of the grader's repository"):
        project_source(module)
    assert (project_source(Path(grader.__file__)) / "pyproject.toml").is_file()


def test_the_credentials_block_is_found_under_a_line_of_the_students_own(tmp_path: Path) -> None:
    """A block pasted under a note, or without its [default] line, reads as the block."""
    for text in ("Lab 3 keys:\n" + FAKE_BLOCK, FAKE_BLOCK.removeprefix("[default]\n")):
        path = tmp_path / "block.txt"
        path.write_text(autograder.credentials_block(text), encoding="utf-8")
        assert read_credentials_file(path)["aws_access_key_id"] == "ASIAFAKEKEYFORTESTS01"

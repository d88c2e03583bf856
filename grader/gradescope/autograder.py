"""`grader gradescope`: grade the credentials file a student submitted to Gradescope into results.json.

Gradescope runs an autograder in a container of its own (Ubuntu) for each submission: the zip's
`setup.sh` runs once, as root, when the container's image is built; `run_autograder` runs for each
submission, in /autograder, with the student's files in /autograder/submission, and Gradescope
reads /autograder/results/results.json (what `run_autograder` prints is shown to instructors only).

`run_autograder` here finds the credentials file the student submitted (the one text file that
holds an `aws_access_key_id`), grades that account and writes results.json: the score, a test per
check, and the report as plain text in `output`. A submission that cannot be graded (no
credentials file, several, a malformed or expired one) scores 0 with an `output` that tells the
student what to submit again; a problem of the grader's own scores 0 with an `output` that says so
and what the instructor should check. No key, secret or token is ever written or printed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.credentials_file import MAX_FILE_BYTES as MAX_FILE_BYTES
from grader.credentials_file import read_credentials_file, read_text
from grader.errors import GraderError
from grader.results import GradeResult
from grader.spec import LabSpec, SpecError, load_spec
from grader.text import plain

if TYPE_CHECKING:
    from grader.batch.model import RosterRow, StudentOutcome
    from grader.observe.evidence import Evidence
    from grader.target import Target

KEY_MARK = "aws_access_key_id"
"""What makes a submitted file the credentials file: AWS Details' first key line."""

MAX_DEPTH = 4
"""How many folders deep the submission is searched (Gradescope keeps a zip's folders)."""

MAX_FILES = 500
"""How many files of a submission are looked at, at most."""

MIN_SECRET_LENGTH = 8
"""Shorter values are not hidden (no AWS key is that short, and hiding a short word would garble the output)."""

MAX_NAMES_SHOWN = 8
"""How many of the submission's file names the output lists."""

REPORT_FOLDER = "report"
"""The folder beside results.json that keeps report.html (Gradescope shows only results.json)."""


WHAT_TO_SUBMIT = (
    "Submit the [default] block of the lab's AWS Details (AWS Details > Show: the line [default] and the "
    "aws_access_key_id, aws_secret_access_key and aws_session_token lines under it) as one plain .txt file, "
    "while the lab session is running: the autograder grades your account when you submit."
)

STUDENT_REMEDY = {
    "expired": (
        "The credentials in {name} have expired: they last only while the lab session runs. Start the lab, "
        "open AWS Details > Show, copy the whole [default] block into a .txt file again, and submit that file "
        "while the lab session is still running."
    ),
    "bad-credentials": (
        "AWS does not accept the credentials in {name} (a key cut short, mistyped, or from an old lab session). "
        "Copy the whole [default] block of the lab's AWS Details again, exactly as it is shown, into a .txt file "
        "and submit it while the lab session is running."
    ),
}

CREDENTIALS_KINDS = ("expired", "bad-credentials", "no-credentials")
"""The GraderError kinds that are the submitted credentials' fault: the student can fix them."""

INSTRUCTOR_CHECKS = (
    "Instructor: the autograder's own output names the problem. Check the autograder's setup (its lab spec, "
    "its region, that the container reaches AWS and that setup.sh installed the grader and its Chromium), "
    "then rerun the autograder on this submission."
)

STATUS_LABELS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}


# -- the submission


@dataclass(frozen=True)
class Submission:
    """What the submission holds: the files with an aws_access_key_id, and the others with why they do not count."""

    folder: Path
    credentials: tuple[Path, ...] = ()
    others: tuple[tuple[Path, str], ...] = ()

    def name(self, path: Path) -> str:
        """`path` as the student knows it: relative to the submission, printable."""
        try:
            shown = path.relative_to(self.folder).as_posix()
        except ValueError:
            shown = path.name
        return plain(shown, newlines=False)


def find_credentials(folder: Path) -> Submission:
    """Look through the submission (a few folders deep, small text files only) for files with an aws_access_key_id."""
    credentials: list[Path] = []
    others: list[tuple[Path, str]] = []
    for path in _submitted_files(folder):
        text = read_small_text(path)
        if text is None:
            others.append((path, "not plain text, or bigger than a credentials block"))
        elif KEY_MARK in text.lower():
            credentials.append(path)
        else:
            others.append((path, f"no {KEY_MARK} in it"))
    return Submission(folder=folder, credentials=tuple(credentials), others=tuple(others))


def _submitted_files(folder: Path) -> Iterator[Path]:
    """The submission's regular files in name order, at most MAX_DEPTH folders deep; symbolic links not followed."""
    seen = 0
    pending: list[tuple[Path, int]] = [(folder, 0)]
    while pending:
        current, depth = pending.pop(0)
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH and entry.name != "__MACOSX":  # macOS zips add a folder of file metadata
                    pending.append((Path(entry.path), depth + 1))
            elif entry.is_file(follow_symlinks=False):
                seen += 1
                if seen > MAX_FILES:
                    return
                yield Path(entry.path)


def read_small_text(path: Path) -> str | None:
    """The file's text when it is a small text file, read as every command reads a credentials file; else None."""
    try:
        return read_text(path)
    except GraderError:
        return None


def credentials_block(text: str) -> str:
    """The text from its first `[section]` or `aws_...` line on, under a `[default]` line when it has none.

    A student often pastes the block under a line of their own ("My keys:"), or without its header.
    """
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            return "\n".join(lines[index:]) + "\n"
        if stripped.lower().startswith("aws_"):
            return "\n".join(["[default]", *lines[index:]]) + "\n"
    return text


_SECRET_LINE = re.compile(
    r"^\s*aws_(?:access_key_id|secret_access_key|session_token|security_token)\s*[=:]\s*(\S+)",
    re.MULTILINE | re.IGNORECASE,
)


def credential_values(text: str) -> list[str]:
    """The values of the key, secret and token lines of `text`: what must never be written or printed."""
    return _SECRET_LINE.findall(text)


# -- grading one submission


@dataclass
class Secrets:
    """The values of the submitted credentials, to be kept out of everything the autograder writes or prints."""

    values: list[str] = field(default_factory=list)

    def hide(self, text: str) -> str:
        """`text` with every credential value replaced by a mark."""
        for value in self.values:
            if len(value) >= MIN_SECRET_LENGTH:
                text = text.replace(value, "[hidden]")
        return text

    def hide_all(self, value: Any) -> Any:
        """`value` (results.json's dict) with every string in it passed through `hide`."""
        if isinstance(value, str):
            return self.hide(value)
        if isinstance(value, dict):
            return {key: self.hide_all(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.hide_all(item) for item in value]
        return value


def run_autograder(submission: Path, results: Path, *, spec: str, region: str, endpoint_url: str | None) -> int:
    """Grade the credentials file in `submission` into Gradescope's `results`; 0 once written, 2 if it could not be."""
    started = time.monotonic()
    secrets = Secrets()
    try:
        lab = load_spec(spec)
    except SpecError as exc:
        data = grader_problem(f"The autograder could not load its lab spec: {exc}", started)
    else:
        try:
            data = _grade_submission(submission, results, lab, region, endpoint_url, secrets, started)
        except GraderError as exc:
            data = grader_problem(f"The autograder could not grade this submission: {exc.message}", started)
        except Exception as exc:  # noqa: BLE001 - Gradescope must get a results.json, never a traceback
            _say(
                "grader: the autograder failed; where (no values are shown):\n"
                + "".join(traceback.format_tb(exc.__traceback__))
            )
            data = grader_problem(
                f"The autograder failed while grading ({type(exc).__name__}). This is a bug in the grader.", started
            )
    data = secrets.hide_all(data)
    try:
        write_results(results, data)
    except OSError as exc:
        _say(f"grader: could not write {results} ({exc.strerror or type(exc).__name__}); Gradescope gets no result.")
        return 2
    _say(secrets.hide(f"grader: score {data['score']:g}; results in {results}"))
    return 0


def _grade_submission(
    submission: Path,
    results: Path,
    lab: LabSpec,
    region: str,
    endpoint_url: str | None,
    secrets: Secrets,
    started: float,
) -> dict[str, Any]:
    """Find the submitted credentials, grade that account, and return results.json's content."""
    from grader.batch.exports import gradescope_results
    from grader.batch.model import RosterRow, StudentOutcome
    from grader.target import Target

    found = find_credentials(submission)
    row = RosterRow(
        line=0, student_id="submission", credentials_file=found.credentials[0] if found.credentials else None
    )
    problem = _submission_problem(found)
    if problem is not None:
        return gradescope_results(_ungradable(row, problem, started), lab)
    submitted = found.credentials[0]
    name = found.name(submitted)
    _say(f"grader: grading the credentials in {name}")
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as private:
        copy = Path(private) / "credentials"
        copy.touch(mode=0o600)
        text = read_small_text(submitted) or ""
        secrets.values.extend(credential_values(text))
        copy.write_text(credentials_block(text), encoding="utf-8")
        try:
            secrets.values.extend(read_credentials_file(copy).values())
            result, evidence = _grade(Target(credentials_file=copy, region=region, endpoint_url=endpoint_url), lab)
        except GraderError as exc:
            if exc.kind not in CREDENTIALS_KINDS:
                raise
            if exc.kind in STUDENT_REMEDY:
                said = STUDENT_REMEDY[exc.kind].format(name=name)
            else:
                said = f"{exc.message.replace(str(copy), name)} {WHAT_TO_SUBMIT}"
            return gradescope_results(_ungradable(row, said, started), lab)
    _keep_report(result, evidence, results.parent / REPORT_FOLDER)
    outcome = StudentOutcome(row=row, status="graded", result=result, duration_seconds=result.duration_seconds)
    return gradescope_results(outcome, lab, output=report_text(result))


def _grade(target: Target, lab: LabSpec) -> tuple[GradeResult, Evidence]:
    """Grade `target` against `lab` (no files written: the report is kept by `_keep_report`)."""
    from grader.pipeline import grade_account

    return grade_account(target, lab, None)


def _submission_problem(found: Submission) -> str | None:
    """Why the submission cannot be graded as it is (no credentials file, or several), or None."""
    if len(found.credentials) > 1:
        names = ", ".join(found.name(path) for path in found.credentials)
        return (
            f"Your submission holds {len(found.credentials)} files with an {KEY_MARK} ({names}), and the autograder "
            f"cannot tell which is this lab's. Submit only one file. {WHAT_TO_SUBMIT}"
        )
    if found.credentials:
        return None
    if found.others:
        shown = [f"{found.name(path)} ({why})" for path, why in found.others[:MAX_NAMES_SHOWN]]
        more = len(found.others) - len(shown)
        listed = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        looked = f"It holds: {listed}."
    else:
        looked = "It holds no file at all."
    return (
        f"Your submission holds no file with the lab's credentials (no plain text file with an {KEY_MARK} line). "
        f"{looked} {WHAT_TO_SUBMIT} A screenshot or a Word document is not read: paste the block into a text file."
    )


def _ungradable(row: RosterRow, reason: str, started: float) -> StudentOutcome:
    """The outcome of a submission that could not be graded, with what the student must do."""
    from grader.batch.model import StudentOutcome

    return StudentOutcome(
        row=row, status="ungradable", reason=reason, duration_seconds=round(time.monotonic() - started, 2)
    )


def grader_problem(said: str, started: float) -> dict[str, Any]:
    """results.json for a submission the grader itself failed on: score 0, said as the grader's problem."""
    text = (
        "The autograder could not grade your submission, so the 0 here is not a mark for your work.\n\n"
        f"{plain(said)}\n\n"
        "This is a problem on the grader's side, not a finding about your lab: tell your instructor.\n\n"
        f"{INSTRUCTOR_CHECKS}"
    )
    _say(f"grader: {plain(said)}")
    return {"score": 0.0, "execution_time": max(0, round(time.monotonic() - started)), "output": text, "tests": []}


def _keep_report(result: GradeResult, evidence: Evidence, folder: Path) -> None:
    """Write report.html (and the grader's own results.json and evidence.json) under `folder`; a failure is
    said, never fatal."""
    from grader.pipeline import write_outputs

    try:
        made = write_outputs(result, folder, named=False, evidence=evidence)
    except GraderError as exc:
        _say(f"grader: the HTML report was not kept: {exc.message}")
    except OSError as exc:
        _say(f"grader: the HTML report was not kept ({exc.strerror or type(exc).__name__} in {folder}).")
    else:
        _say(f"grader: report in {made / 'report.html'}")


def report_text(result: GradeResult) -> str:
    """The grade as plain text: a line per check (status, id, points, message, what to do), the sections, the score."""
    heading = (
        f"{plain(result.spec_title or result.spec_id, newlines=False)}: graded {result.finished} "
        f"for {plain(result.student, newlines=False)} (AWS account {result.account_id}, {result.region})"
    )
    lines = [heading, ""]
    for check in result.checks:
        points = "advisory" if check.advisory else f"{check.points:g}/{check.max_points:g}"
        line = f"{STATUS_LABELS.get(check.status, check.status.upper()):5} {plain(check.id, newlines=False)} "
        line += f"[{points}] {plain(check.message, newlines=False)}"
        if check.hint and check.status != "pass":
            line += f" What to do: {plain(check.hint, newlines=False)}"
        lines.append(line)
    lines.append("")
    lines += [f"{plain(s.name, newlines=False)}: {s.score:g}/{s.max_score:g}" for s in result.sections]
    lines.append(
        f"Score {result.score:g}/{result.max_score:g} ({result.count('pass')} passed, {result.count('warn')} warned, "
        f"{result.count('fail')} failed, {result.count('error')} could not be checked, {result.count('skip')} skipped)"
    )
    return "\n".join(lines)


def write_results(results: Path, data: dict[str, Any]) -> None:
    """Write results.json (its folder made if missing) through a temporary file renamed into place."""
    results.parent.mkdir(parents=True, exist_ok=True)
    staged = results.with_name(f".{results.name}.tmp")
    try:
        staged.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        staged.replace(results)
    finally:
        staged.unlink(missing_ok=True)


def _say(text: str) -> None:
    """A line for the autograder's output (Gradescope shows it to instructors only)."""
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()

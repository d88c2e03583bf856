"""The class's files for other tools: class.csv (spreadsheets), junit.xml (CI dashboards), Gradescope's results.json.

Every export is rendered from the students' outcomes and the lab spec, in the roster's order, and
holds only what the results hold (never a credential). An ungradable student is never a zero: the
CSV leaves their score empty, JUnit reports an error, and Gradescope tells them what to resubmit.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import Any

from grader.batch.model import StudentOutcome
from grader.report.render import STATUS_LABELS, format_points
from grader.results import CheckResult, GradeResult
from grader.spec import LabSpec
from grader.text import plain

ROSTER_COLUMNS = ("student_id", "name", "email", "sis_login_id", "section")
CLASS_CSV_COLUMNS = (*ROSTER_COLUMNS, "status", "reason", "score", "max_score")
"""The fixed columns of class.csv; one column per check id of the spec follows them."""

# A spreadsheet reads a cell that starts with one of these as a formula (or as the start of one);
# OWASP's advice for CSV files is to prefix such a cell with a single quote so it stays text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

UNGRADABLE_TESTCASE = "grading"
"""The one JUnit testcase of an ungradable student: grading could not start."""

# Gradescope's autograder results format ("Autograder Specifications", output format): the
# top-level object and each entry of `tests`. These are the documented fields this grader
# writes; the format also has optional ones it leaves out (visibility and stdout_visibility
# of the whole result, output_format, test_output_format, test_name_format, extra_data,
# leaderboard; and per test name_format, output_format, tags, extra_data).
GRADESCOPE_RESULT_FIELDS = ("score", "execution_time", "output", "tests")
GRADESCOPE_TEST_FIELDS = ("name", "number", "score", "max_score", "status", "output", "visibility")
GRADESCOPE_STATUSES = ("passed", "failed")

# Characters XML 1.0 cannot hold, even escaped: C0 controls other than tab, newline and carriage
# return, lone surrogates, and U+FFFE / U+FFFF.
_NOT_XML_CHARACTER = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def class_csv(outcomes: Sequence[StudentOutcome], spec: LabSpec) -> str:
    """class.csv: one row per student in roster order, the roster fields, status, score, and each check's points."""
    check_ids = list(spec.checks)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_text(column) for column in (*CLASS_CSV_COLUMNS, *check_ids)])
    for outcome in outcomes:
        row = outcome.row
        roster_cells = [row.student_id, row.name, row.email, row.sis_login_id, row.section]
        result = graded_result(outcome)
        if result is None:
            score_cells = ["", ""]
            check_cells = [""] * len(check_ids)
        else:
            # A check the grader could not look at earned nothing, but it is no zero of the student's: left empty.
            earned = {check.id: check.points for check in result.checks if check.status != "error"}
            score_cells = [format_points(result.score), format_points(result.max_score)]
            check_cells = [format_points(earned[i]) if i in earned else "" for i in check_ids]
        text_cells = [spreadsheet_text(cell) for cell in (*roster_cells, outcome.status, outcome.reason)]
        writer.writerow([*text_cells, *score_cells, *check_cells])
    return buffer.getvalue()


def spreadsheet_text(value: str) -> str:
    """`value` made safe to open in a spreadsheet: one line of text that no spreadsheet reads as a formula.

    Control characters go (escape sequences and C0/C1 controls; a newline or tab becomes a space).
    A cell whose first non-blank character starts a formula gets a single quote before it, unless it
    is a plain decimal number such as -2.5, which a spreadsheet reads as that number and nothing else.
    """
    text = plain(value, newlines=False)
    if text.lstrip().startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return f"'{text}"
    return text


def junit_xml(outcomes: Sequence[StudentOutcome], spec: LabSpec) -> str:
    """junit.xml: a testsuite per student (named by student id), a testcase per check.

    An ungradable student is one error, a student the batch has not reached yet one skipped case.

    fail is a `failure`, the grader's error an `error`, skip `skipped`; an advisory warning is a
    passing testcase whose `system-out` carries the warning (it scores nothing and fails nothing).
    """
    root = ET.Element("testsuites", name=xml_text(spec.title or spec.id))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_seconds = 0.0
    for outcome in outcomes:
        suite = _student_suite(outcome)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        total_seconds += float(suite.get("time", "0"))
    for key, count in totals.items():
        root.set(key, str(count))
    root.set("time", _seconds(total_seconds))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _student_suite(outcome: StudentOutcome) -> ET.Element:
    """One student's testsuite: a testcase per check, or the single `grading` error of an ungradable student."""
    student_id = xml_text(outcome.row.student_id)
    suite = ET.Element("testsuite", name=student_id)
    result = graded_result(outcome)
    if result is None and outcome.status == "not-graded":
        case = ET.SubElement(suite, "testcase", classname=student_id, name=UNGRADABLE_TESTCASE)
        reason = xml_text(outcome.reason or "Not graded yet.")
        ET.SubElement(case, "skipped", message=reason).text = reason
        counts = {"tests": 1, "failures": 0, "errors": 0, "skipped": 1}
        seconds = 0.0
    elif result is None:
        case = ET.SubElement(suite, "testcase", classname=student_id, name=UNGRADABLE_TESTCASE)
        reason = xml_text(outcome.reason or "The student could not be graded.")
        ET.SubElement(case, "error", message=reason, type="ungradable").text = reason
        counts = {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
        seconds = outcome.duration_seconds
    else:
        for check in result.checks:
            suite.append(_check_case(student_id, check))
        counts = {
            "tests": len(result.checks),
            "failures": result.count("fail"),
            "errors": result.count("error"),
            "skipped": result.count("skip"),
        }
        seconds = result.duration_seconds
    for key, count in counts.items():
        suite.set(key, str(count))
    suite.set("time", _seconds(seconds))
    return suite


def _check_case(student_id: str, check: CheckResult) -> ET.Element:
    """One check as a JUnit testcase: nothing inside for pass, else failure, error, skipped or a warning note."""
    case = ET.Element("testcase", classname=student_id, name=xml_text(check.id))
    message = xml_text(check.message)
    details = xml_text(_message_and_hint(check))
    if check.status == "fail":
        ET.SubElement(case, "failure", message=message, type="fail").text = details
    elif check.status == "error":
        ET.SubElement(case, "error", message=message, type="grader-error").text = details
    elif check.status == "skip":
        ET.SubElement(case, "skipped", message=message)
    elif check.status == "warn":
        ET.SubElement(case, "system-out").text = xml_text(f"Warning (advisory, scores nothing): {details}")
    return case


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot hold (control characters and the like)."""
    return _NOT_XML_CHARACTER.sub("", value)


def _seconds(value: float) -> str:
    """A duration as JUnit writes it: seconds with three decimals, never negative."""
    return f"{max(0.0, value):.3f}"


def gradescope_results(outcome: StudentOutcome, spec: LabSpec, *, output: str = "") -> dict[str, Any]:
    """Gradescope's results.json for one student: the score, a test per check, and `output` (the report text).

    An ungradable student gets score 0, no tests, and an `output` that says what to resubmit.
    """
    result = graded_result(outcome)
    seconds = result.duration_seconds if result is not None else outcome.duration_seconds
    execution_time = max(0, round(seconds))
    if result is None and outcome.status == "not-graded":
        text = "Your lab has not been graded yet, so the 0 here is not a mark for your work."
        return {"score": 0.0, "execution_time": 0, "output": text, "tests": []}
    if result is None:
        reason = outcome.reason or "Your submission could not be graded."
        text = (
            "Your lab could not be graded, so the 0 here is not a mark for your work.\n\n"
            f"{reason}\n\nSubmit again once that is done."
        )
        if output:
            text = f"{text}\n\n{output}"
        return {"score": 0.0, "execution_time": execution_time, "output": text, "tests": []}
    numbers = check_numbers(spec, result.checks)
    return {
        "score": result.score,
        "execution_time": execution_time,
        "output": output or _score_summary(result),
        "tests": [_gradescope_test(check, numbers[check.id]) for check in result.checks],
    }


def _gradescope_test(check: CheckResult, number: str) -> dict[str, Any]:
    """One check as a Gradescope test: passed only when the check passed (an advisory warning passes, worth 0)."""
    passed = check.status in ("pass", "warn")
    return {
        "name": f"{check.title} ({check.id})",
        "number": number,
        "score": check.points,
        "max_score": 0.0 if check.advisory else check.max_points,
        "status": "passed" if passed else "failed",
        "output": _gradescope_test_output(check),
        "visibility": "visible",
    }


def _gradescope_test_output(check: CheckResult) -> str:
    """The check's outcome in words, its message, and (when it did not pass) what to do."""
    label = STATUS_LABELS.get(check.status, check.status)
    if check.status == "warn":
        label = "Warning (advisory, scores nothing)"
    elif check.status == "error":
        label = "Could not check (a problem on the grader's side, not a finding about your lab)"
    return f"{label}: {_message_and_hint(check)}"


def _message_and_hint(check: CheckResult) -> str:
    """What the check found, and what to do about it when it did not pass."""
    if check.status == "pass" or not check.hint:
        return check.message
    return f"{check.message}\n\nWhat to do: {check.hint}"


def _score_summary(result: GradeResult) -> str:
    """A one-line summary when no report text is given: the score and how many checks passed."""
    scored = [check for check in result.checks if not check.advisory]
    passed = sum(1 for check in scored if check.status == "pass")
    return (
        f"Score {format_points(result.score)} / {format_points(result.max_score)}: "
        f"{passed} of {len(scored)} scored checks passed."
    )


def check_numbers(spec: LabSpec, checks: Iterable[CheckResult] = ()) -> dict[str, str]:
    """Each check's number "section.position" (e.g. "1.3"), by the lab's order of sections and checks.

    Checks of `checks` the spec does not list are numbered after the spec's own, in their section.
    """
    entries = [(check.id, check.section) for check in spec.checks.values()]
    known = set(spec.checks)
    entries += [(check.id, check.section) for check in checks if check.id not in known]
    sections: dict[str, int] = {}
    positions: dict[str, int] = {}
    numbers: dict[str, str] = {}
    for check_id, section in entries:
        if check_id in numbers:
            continue
        section_number = sections.setdefault(section, len(sections) + 1)
        positions[section] = positions.get(section, 0) + 1
        numbers[check_id] = f"{section_number}.{positions[section]}"
    return numbers


def complete_result(outcome: StudentOutcome) -> GradeResult | None:
    """The outcome's result when every check could be looked at (no grader's error); None otherwise.

    Only such a score goes into a gradebook: a check the grader could not see scores nothing, and
    the student must not lose its points for that.
    """
    result = graded_result(outcome)
    return result if result is not None and result.count("error") == 0 else None


def graded_result(outcome: StudentOutcome) -> GradeResult | None:
    """The outcome's result when the student was graded; None when ungradable."""
    if outcome.status != "graded":
        return None
    if outcome.result is None:
        raise ValueError(f"student {outcome.row.student_id!r} is marked graded but has no result")
    return outcome.result

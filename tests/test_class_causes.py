"""class.html groups the class's failures by root cause: the failed checks nothing explains, per student.

The students' grades are the scenarios' expected grades (tests/test_root_causes.py), explained as the pipeline
explains them; the counts the page must show are worked out here from grader.causes, not from the page's code.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from markupsafe import escape

from grader.batch.class_report import (
    MOST_STUDENTS_INLINE,
    RootCause,
    build_class_context,
    render_class_html,
)
from grader.batch.exports import check_numbers
from grader.batch.model import RosterRow, StudentOutcome
from grader.causes import explains, roots_of
from grader.results import GradeResult
from grader.spec import load_spec
from tests.test_report import tags_of
from tests.test_root_causes import SCENARIOS

SPEC = load_spec()
ORDER = list(SPEC.checks)
NUMBERS = check_numbers(SPEC)
NOT_CONFIRMED = SCENARIOS["janedoe-not-confirmed"]
NO_TRAIL = SCENARIOS["no-trail"]
FINISHED = SCENARIOS["finished"]
EXPIRED = "The AWS Details have expired: start the lab, copy fresh AWS Details, send them again."
HOSTILE = ["<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>', "<script>alert(1)</script>"]


def graded(line: int, student_id: str, result: GradeResult, **row: Any) -> StudentOutcome:
    return StudentOutcome(row=RosterRow(line=line, student_id=student_id, **row), status="graded", result=result)


def ungradable(line: int, student_id: str) -> StudentOutcome:
    return StudentOutcome(row=RosterRow(line=line, student_id=student_id), status="ungradable", reason=EXPIRED)


def links(outcomes: list[StudentOutcome]) -> dict[str, str]:
    return {outcome.row.student_id: f"{outcome.row.student_id}/report.html" for outcome in outcomes}


CLASS = [
    graded(2, "jd1", NOT_CONFIRMED, name="Ann"),
    graded(3, "nt1", NO_TRAIL, name="Bob"),
    graded(4, "jd2", NOT_CONFIRMED, name="Cy"),
    graded(5, "fin", FINISHED, name="Di"),
    ungradable(6, "gone"),
    graded(7, "jd3", NOT_CONFIRMED, name="Ed"),
]
LINKS = links(CLASS)


def causes_of(outcomes: list[StudentOutcome]) -> list[RootCause]:
    causes: list[RootCause] = build_class_context(outcomes, SPEC, report_links=links(outcomes))["root_causes"]
    return causes


def text_of(fragment: str) -> str:
    """What a reader sees of an HTML fragment: its text, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def root_section(html: str) -> str:
    section = re.search(r'<h2 id="root-causes">.*?</section>', html, re.DOTALL)
    assert section is not None
    return section.group(0)


def rate_row(html: str, check_id: str) -> str:
    rows = re.findall(r'<tr id="check-[\d.]+">(.*?)</tr>', html, re.DOTALL)
    assert len(rows) == len(ORDER)
    return str(rows[ORDER.index(check_id)])


def cell(row: str, column: str) -> str:
    found = re.search(rf'<td class="num {column}(?: zero)?">(.*?)</td>', row, re.DOTALL)
    assert found is not None, row
    return found.group(1)


def test_the_scenarios_are_what_these_tests_assume() -> None:
    assert [c.id for c in NOT_CONFIRMED.fix_first] == ["user.janedoe_confirmed"]
    assert [c.id for c in NO_TRAIL.fix_first] == ["cloudtrail.trail"]
    assert FINISHED.fix_first == ()


def test_each_root_cause_counts_its_students_and_what_it_explains_across_them() -> None:
    causes = causes_of(CLASS)
    assert [cause.check_id for cause in causes] == ["user.janedoe_confirmed", "cloudtrail.trail"]
    janedoe, trail = causes
    explained = explains(NOT_CONFIRMED, "user.janedoe_confirmed")
    assert [s.student_id for s in janedoe.students] == ["jd1", "jd2", "jd3"]
    assert [s.href for s in janedoe.students] == ["jd1/report.html", "jd2/report.html", "jd3/report.html"]
    assert janedoe.explained_failed == 3 * sum(c.status == "fail" for c in explained) == 9
    assert janedoe.explained_skipped == 3 * sum(c.status == "skip" for c in explained) == 3
    assert janedoe.step == SPEC.checks["user.janedoe_confirmed"].step
    assert janedoe.summary == "3 students: janedoe exists and is confirmed — explains 9 failed and 3 skipped checks"
    assert [s.student_id for s in trail.students] == ["nt1"]
    assert (trail.explained_failed, trail.explained_skipped) == (0, len(explains(NO_TRAIL, "cloudtrail.trail")))
    assert trail.summary.startswith("1 student: ")


def test_a_finished_or_ungradable_student_has_no_root_cause() -> None:
    assert causes_of([graded(2, "fin", FINISHED), ungradable(3, "gone")]) == []
    html = render_class_html([graded(2, "fin", FINISHED), ungradable(3, "gone")], SPEC, report_links={})
    assert "there is no root cause to show" in text_of(root_section(html))
    assert "gone" not in root_section(html)


def test_most_students_first_and_ties_in_the_labs_order() -> None:
    both = SCENARIOS["unconfirmed-and-no-trail"]
    outcomes = [graded(2, "a", NO_TRAIL), graded(3, "b", both), graded(4, "c", SCENARIOS["nothing-done"])]
    causes = causes_of(outcomes)
    # cloudtrail.trail: three students; then one student each, in the lab's order.
    assert [(c.check_id, len(c.students)) for c in causes] == [
        ("cloudtrail.trail", 3),
        ("pool.exists", 1),
        ("user.janedoe_confirmed", 1),
    ]
    assert ORDER.index("pool.exists") < ORDER.index("user.janedoe_confirmed")
    assert [c.anchor for c in causes] == ["root-1", "root-2", "root-3"]


def test_the_root_cause_section_comes_before_the_per_check_table_and_links_the_students() -> None:
    html = render_class_html(CLASS, SPEC, report_links=LINKS)
    assert html.index('id="root-causes"') < html.index('<table class="rates">')
    items = re.findall(r'<li id="(root-\d+)">(.*?)</li>\s*(?=<li id="root-|</ol>)', root_section(html), re.DOTALL)
    assert [anchor for anchor, _ in items] == ["root-1", "root-2"]
    first, second = (text_of(item) for _, item in items)
    assert first.startswith("3 students: janedoe exists and is confirmed — explains 9 failed and 3 skipped checks")
    assert SPEC.checks["user.janedoe_confirmed"].step in first
    assert second.startswith(f"1 student: {SPEC.checks['cloudtrail.trail'].title} — explains 1 skipped check")
    first_links = [attrs.get("href") for tag, attrs in tags_of(items[0][1]) if tag == "a"]
    assert first_links == [
        f"#check-{NUMBERS['user.janedoe_confirmed']}",
        "jd1/report.html",
        "jd2/report.html",
        "jd3/report.html",
    ]
    assert "fin" not in items[0][1] + items[1][1]


def test_the_per_check_table_counts_root_failures_apart_from_explained_ones() -> None:
    html = render_class_html(CLASS, SPEC, report_links=LINKS)
    assert "Failed as root cause" in html
    assert "Failed because of another" in html
    assert "Hardest steps" not in html  # the symptom ranking is gone: the root causes rank the class's mistakes
    root = rate_row(html, "user.janedoe_confirmed")
    assert cell(root, "root-col") == '<a href="#root-1">3</a>'
    assert cell(root, "explained-col") == "0"
    login = rate_row(html, "site.login")
    assert cell(login, "root-col") == "0"
    assert text_of(cell(login, "explained-col")) == f"3 from {NUMBERS['user.janedoe_confirmed']}"
    assert '<a href="#root-1"' in cell(login, "explained-col")
    assert 'class="seg-fail-explained"' in login
    assert 'class="seg-fail"' not in login
    # cloudtrail.auth_events builds on site.login, which builds on the root: it leads back to the root.
    assert roots_of(NOT_CONFIRMED, "cloudtrail.auth_events") == ("user.janedoe_confirmed",)
    assert '<a href="#root-1"' in cell(rate_row(html, "cloudtrail.auth_events"), "explained-col")
    trail = rate_row(html, "cloudtrail.trail")
    assert cell(trail, "root-col") == '<a href="#root-2">1</a>'
    assert rate_row(html, "pool.exists").rstrip().endswith('<td class="num">100%</td>')


def test_failures_the_grader_could_not_check_are_no_root_cause() -> None:
    """site-hanging: the website could not be checked; what builds on it is explained by that, not a root cause."""
    hanging = SCENARIOS["site-hanging"]
    outcomes = [graded(2, "hang", hanging)]
    context = build_class_context(outcomes, SPEC, report_links=links(outcomes))
    assert context["root_causes"] == []
    assert context["grader_explained"].checks == sum(1 for c in hanging.checks if c.explained_by)
    html = render_class_html(outcomes, SPEC, report_links=links(outcomes))
    assert "only from checks the grader could not complete" in text_of(root_section(html))
    events = rate_row(html, "cloudtrail.auth_events")
    assert cell(events, "root-col") == "0"
    assert f'<a href="#check-{NUMBERS["site.reachable"]}"' in cell(events, "explained-col")


def test_many_students_fold_away_under_a_summary() -> None:
    outcomes = [graded(line, f"s{line}", NO_TRAIL) for line in range(2, MOST_STUDENTS_INLINE + 3)]
    section = root_section(render_class_html(outcomes, SPEC, report_links=links(outcomes)))
    assert f"<summary>The {MOST_STUDENTS_INLINE + 1} students</summary>" in section
    assert section.count("/report.html") == MOST_STUDENTS_INLINE + 1


def test_every_in_page_link_has_its_target_and_nothing_is_loaded() -> None:
    html = render_class_html(CLASS, SPEC, report_links=LINKS)
    tags = tags_of(html)
    ids = {attrs["id"] for _, attrs in tags if attrs.get("id")}
    hrefs = [attrs["href"] or "" for tag, attrs in tags if tag == "a" and "href" in attrs]
    assert {href[1:] for href in hrefs if href.startswith("#")} <= ids
    assert {href for href in hrefs if not href.startswith("#")} <= set(LINKS.values())
    assert "<script" not in html.lower()
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE)
    assert not any(name == "src" or name.startswith("on") for _, attrs in tags for name in attrs)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_student_id_or_name_is_escaped_in_the_root_causes(hostile: str) -> None:
    outcomes = [
        graded(2, f"id{hostile}", NOT_CONFIRMED, name=hostile, section=hostile),
        graded(3, f"{hostile}2", NOT_CONFIRMED, name=hostile),
    ]
    html = render_class_html(outcomes, SPEC, report_links=links(outcomes))
    assert hostile not in html
    section = root_section(html)
    assert str(escape(f"id{hostile}")) in section
    assert "2 students: janedoe exists and is confirmed" in text_of(section)
    tags = tags_of(html)
    assert not any(tag in {"img", "script"} for tag, _ in tags)
    assert [attrs.get("class") for tag, attrs in tags if tag == "svg"] == ["histogram"]
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)
    hrefs = [attrs.get("href") or "" for tag, attrs in tags_of(section) if tag == "a"]
    assert all(href.startswith("#") or (href.endswith("/report.html") and "<" not in href) for href in hrefs)

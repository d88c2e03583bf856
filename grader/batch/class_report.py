"""class.html: one self-contained page for the instructor about the whole class.

The page shows how many students were graded, the mean and median score, the score distribution
as an inline SVG histogram, the class's root causes (each failed check that nothing else explains,
with the students who have it and how many of their failures it explains, most students first),
each check's outcomes across the class with its root failures apart from the failures another
check explains, the students who could not be graded and why, those a stopped batch has not
reached yet, and every student's score linking to their own report. It has no script and loads nothing:
styles are inline, and the only links are the relative paths of the students' reports.
Everything a student controls reaches the page through the report's Jinja2 environment, which
autoescapes; nothing is marked safe.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any
from urllib.parse import quote

from grader.batch.exports import check_numbers, graded_result
from grader.batch.model import StudentOutcome
from grader.causes import explains, roots_of
from grader.report.render import STATUS_ICONS, STATUS_LABELS, format_points, get_environment, percent
from grader.results import GradeResult, Status
from grader.spec import LabSpec

TEMPLATE = "class.html.j2"

# The order of the segments in each check's bar: good news first, the grader's own errors last.
BAR_STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip", "error")
STATUS_WORDS: dict[Status, str] = {
    "pass": "passed",
    "warn": "warned",
    "fail": "failed",
    "skip": "skipped",
    "error": "could not be checked",
}
BAR_KINDS: dict[str, Status] = {
    "pass": "pass",
    "warn": "warn",
    "fail": "fail",
    "fail-explained": "fail",
    "skip": "skip",
    "error": "error",
}
"""The segments of each check's bar, in order, and the status of each: a failure that another check explains
(`fail-explained`) is drawn apart from the root failures (`fail`)."""
FAIL_KINDS = {"root": "failed as a root cause", "explained": "failed because of another check"}
"""The two kinds of failure the bars tell apart: nothing explains it, or a check it builds on did not pass."""
MOST_STUDENTS_INLINE = 24
"""Up to this many students of a root cause are listed as they are; more fold away under a summary."""
MOST_POINT_BARS = 40
"""Up to this many points (whole numbers), the histogram has one bar per point; beyond, ten bars."""

# The histogram's drawing, in SVG user units (the picture scales to the page's width).
CHART_WIDTH = 720
CHART_HEIGHT = 240
CHART_LEFT = 40
CHART_RIGHT = 8
CHART_TOP = 20
CHART_BOTTOM = 40
MOST_AXIS_LABELS = 12


@dataclass(frozen=True)
class HistogramBar:
    """One score bucket, drawn: its rectangle, its label under the axis, and what it counts."""

    x: float
    y: float
    width: float
    height: float
    center: float
    count: int
    label: str
    show_label: bool
    description: str


@dataclass(frozen=True)
class Histogram:
    """The score distribution, ready to draw: its bars, the tallest count, and the chart's frame."""

    bars: tuple[HistogramBar, ...]
    most: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = CHART_LEFT
    right_edge: int = CHART_WIDTH - CHART_RIGHT
    top: int = CHART_TOP
    baseline: int = CHART_HEIGHT - CHART_BOTTOM


@dataclass(frozen=True)
class BarSegment:
    """The share of the class with one outcome of a check: a width in percent, and its words.

    `kind` is the segment's colour: the status, except a failure that another check explains
    (`fail-explained`), which is drawn apart from the root failures (`fail`).
    """

    status: Status
    count: int
    width: float
    description: str
    kind: str = ""


@dataclass(frozen=True)
class StudentLink:
    """A student named on the page by their id, with the link to their report when there is one."""

    student_id: str
    href: str | None


@dataclass(frozen=True)
class CauseLink:
    """A check at the end of other failures' explanations, as a link: to its root cause on the page, else to its row.

    `href` is None for a check the spec does not list (it has no row); `count` is how many failures lead to it.
    """

    number: str
    title: str
    href: str | None
    count: int


@dataclass(frozen=True)
class RootCause:
    """A failed check that nothing explains, across the class: who has it and how much of the rest it explains.

    `explained_failed` and `explained_skipped` count, over `students`, the checks whose explanations
    lead to this one (grader.causes.explains): fixing it may make them pass.
    """

    anchor: str
    number: str
    check_id: str
    title: str
    step: str
    students: tuple[StudentLink, ...]
    row_href: str | None
    """The link to its row of the per-check table; None for a check the spec does not list."""
    explained_failed: int
    explained_skipped: int

    @property
    def explained(self) -> int:
        """How many failed or skipped checks of its students it explains."""
        return self.explained_failed + self.explained_skipped

    @property
    def students_words(self) -> str:
        """The students in words: "3 students", "1 student"."""
        return _plural(len(self.students), "student")

    @property
    def explains_words(self) -> str:
        """What it explains in words: "explains 9 failed and 3 skipped checks", "explains no other check"."""
        counts = ((self.explained_failed, "failed"), (self.explained_skipped, "skipped"))
        shown = [f"{count} {word}" for count, word in counts if count]
        if not shown:
            return "explains no other check"
        return f"explains {' and '.join(shown)} {'check' if self.explained == 1 else 'checks'}"

    @property
    def summary(self) -> str:
        """The cause in one line, e.g. "3 students: janedoe exists and is confirmed — explains 9 failed checks"."""
        return f"{self.students_words}: {self.title} — {self.explains_words}"


@dataclass(frozen=True)
class GraderExplained:
    """Failures that follow only from checks the grader could not complete (no root cause of the student's)."""

    checks: int = 0
    students: tuple[StudentLink, ...] = ()


@dataclass(frozen=True)
class CheckRate:
    """One check across the class: how many students had each outcome, and the share that passed."""

    number: str
    check_id: str
    title: str
    section: str
    points: str
    advisory: bool
    graded: int
    passed: int
    pass_percent: int | None
    segments: tuple[BarSegment, ...]
    summary: str
    root_failures: int = 0
    explained_failures: int = 0
    root_anchor: str | None = None
    because_of: tuple[CauseLink, ...] = ()
    """The checks at the end of its explained failures' explanations, most failures first."""


@dataclass(frozen=True)
class StudentRow:
    """One student on the page: who, their score or the reason there is none, and their report's link."""

    student_id: str
    name: str
    section: str
    graded: bool
    status: str
    score: str
    max_score: str
    percent: int | None
    reason: str
    href: str | None


def render_class_html(
    outcomes: Sequence[StudentOutcome],
    spec: LabSpec,
    *,
    report_links: Mapping[str, str],
    title: str = "",
) -> str:
    """The instructor's class page, as one self-contained HTML document."""
    context = build_class_context(outcomes, spec, report_links=report_links, title=title)
    return get_environment().get_template(TEMPLATE).render(**context)


def build_class_context(
    outcomes: Sequence[StudentOutcome],
    spec: LabSpec,
    *,
    report_links: Mapping[str, str],
    title: str = "",
) -> dict[str, Any]:
    """Everything the class template needs, already counted, shaped and formatted."""
    results = [result for result in map(graded_result, outcomes) if result is not None]
    scores = [result.score for result in results]
    max_score = max([spec_max_score(spec), *(result.max_score for result in results)])
    students = [_student_row(outcome, report_links) for outcome in outcomes]
    causes = root_causes(outcomes, spec, report_links=report_links)
    rates = check_rates(outcomes, spec, causes=causes)
    mean = statistics.fmean(scores) if scores else None
    median = statistics.median(scores) if scores else None
    return {
        "title": title or f"{spec.title}: class results",
        "spec": spec,
        "total": len(outcomes),
        "graded": len(results),
        "ungradable": [row for row in students if row.status == "ungradable"],
        "not_graded": [row for row in students if row.status == "not-graded"],
        "max_score": format_points(max_score),
        "mean": None if mean is None else format_points(mean),
        "mean_percent": None if mean is None else percent(mean, max_score),
        "median": None if median is None else format_points(median),
        "median_percent": None if median is None else percent(median, max_score),
        "histogram": score_histogram(scores, max_score),
        "root_causes": causes,
        "grader_explained": grader_explained(outcomes, report_links=report_links),
        "rates": rates,
        "most_students_inline": MOST_STUDENTS_INLINE,
        "fail_kinds": FAIL_KINDS,
        "students": students,
        "bar_statuses": BAR_STATUSES,
        "labels": STATUS_LABELS,
        "icons": STATUS_ICONS,
        "words": STATUS_WORDS,
    }


def spec_max_score(spec: LabSpec) -> float:
    """The most a student can score in the lab: every check's points except the advisory ones."""
    return sum(check.points for check in spec.checks.values() if not check.advisory)


def score_histogram(scores: Sequence[float], max_score: float) -> Histogram:
    """The score distribution as SVG bars: one per whole point up to MOST_POINT_BARS points, else ten equal ranges."""
    per_point = max_score <= 0 or (max_score == int(max_score) and max_score <= MOST_POINT_BARS)
    if per_point:
        edges = [float(point) for point in range(max(0, int(max_score)) + 2)]
    else:
        edges = [max_score * step / 10 for step in range(11)]
    buckets = len(edges) - 1
    whole_scores = all(score == int(score) for score in scores)
    counts = [0] * buckets
    for score in scores:
        index = next((i for i in range(buckets) if score < edges[i + 1]), buckets - 1)
        counts[max(0, index)] += 1
    most = max(counts, default=0)
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    step = plot_width / buckets
    label_every = max(1, math.ceil(buckets / MOST_AXIS_LABELS))
    bars = []
    for index, count in enumerate(counts):
        low, high = edges[index], edges[index + 1]
        if per_point:
            label = format_points(low)
            exact = whole_scores or index == buckets - 1
            scored = f"scored {label}" if exact else f"scored from {label} to under {format_points(high)}"
        else:
            label = f"{format_points(low)}–{format_points(high)}"  # noqa: RUF001 - an en dash, meant
            last = index == buckets - 1
            scored = f"scored from {format_points(low)} to {'' if last else 'under '}{format_points(high)}"
        height = 0.0 if most == 0 else round(plot_height * count / most, 1)
        x = round(CHART_LEFT + index * step + step * 0.1, 1)
        bars.append(
            HistogramBar(
                x=x,
                y=round(CHART_TOP + plot_height - height, 1),
                width=round(step * 0.8, 1),
                height=height,
                center=round(CHART_LEFT + index * step + step / 2, 1),
                count=count,
                label=label,
                show_label=index % label_every == 0 or index == buckets - 1,
                description=f"{count} {'student' if count == 1 else 'students'} {scored}",
            )
        )
    return Histogram(bars=tuple(bars), most=most)


def root_causes(
    outcomes: Sequence[StudentOutcome], spec: LabSpec, *, report_links: Mapping[str, str]
) -> list[RootCause]:
    """The class's root causes: each failed check nothing explains, per student, most students first.

    Ties keep the lab's order. Each counts the failed and skipped checks it explains across its students.
    An ungradable student, or one not graded yet, has none.
    """
    graded = [(outcome, result) for outcome in outcomes if (result := graded_result(outcome)) is not None]
    order = _lab_order(spec, (result for _, result in graded))
    numbers = check_numbers(spec, chain.from_iterable(result.checks for _, result in graded))
    students: dict[str, list[StudentLink]] = {}
    shown: dict[str, tuple[str, str]] = {}
    failed: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for outcome, result in graded:
        link = _student_link(outcome, report_links)
        for root in result.fix_first:
            students.setdefault(root.id, []).append(link)
            known = spec.checks.get(root.id)
            shown.setdefault(root.id, (known.title, known.step) if known else (root.title, root.step))
            for check in explains(result, root.id):
                if check.status == "fail":
                    failed[root.id] = failed.get(root.id, 0) + 1
                else:
                    skipped[root.id] = skipped.get(root.id, 0) + 1
    ranked = sorted(students, key=lambda check_id: (-len(students[check_id]), order[check_id]))
    return [
        RootCause(
            anchor=f"root-{position}",
            number=numbers[check_id],
            check_id=check_id,
            title=shown[check_id][0],
            step=shown[check_id][1],
            students=tuple(students[check_id]),
            row_href=f"#check-{numbers[check_id]}" if check_id in spec.checks else None,
            explained_failed=failed.get(check_id, 0),
            explained_skipped=skipped.get(check_id, 0),
        )
        for position, check_id in enumerate(ranked, start=1)
    ]


def grader_explained(outcomes: Sequence[StudentOutcome], *, report_links: Mapping[str, str]) -> GraderExplained:
    """The failed or skipped checks whose explanations lead to no root cause: only to checks the grader could not do."""
    checks = 0
    students = []
    for outcome in outcomes:
        result = graded_result(outcome)
        if result is None:
            continue
        roots = {check.id for check in result.fix_first}
        count = sum(
            1 for check in result.checks if check.explained_by and not roots.intersection(roots_of(result, check.id))
        )
        if count:
            checks += count
            students.append(_student_link(outcome, report_links))
    return GraderExplained(checks=checks, students=tuple(students))


def check_rates(
    outcomes: Sequence[StudentOutcome], spec: LabSpec, *, causes: Sequence[RootCause] = ()
) -> list[CheckRate]:
    """Each check of the spec, in the lab's order, with its outcomes across the graded students.

    A failure is a root failure when nothing explains it, and explained when a check it builds on did
    not pass; the explained ones name the checks their explanations lead to (`causes` gives those
    that are root causes their anchor on the page).
    """
    counts: dict[str, dict[str, int]] = {check_id: dict.fromkeys(BAR_KINDS, 0) for check_id in spec.checks}
    because: dict[str, dict[str, int]] = {check_id: {} for check_id in spec.checks}
    for outcome in outcomes:
        result = graded_result(outcome)
        if result is None:
            continue
        for check_result in result.checks:
            if check_result.id not in counts or check_result.status not in BAR_STATUSES:
                continue
            if check_result.status == "fail" and check_result.explained_by:
                counts[check_result.id]["fail-explained"] += 1
                for root in roots_of(result, check_result.id):
                    because[check_result.id][root] = because[check_result.id].get(root, 0) + 1
            else:
                counts[check_result.id][check_result.status] += 1
    numbers = check_numbers(spec)
    anchors = {cause.check_id: cause.anchor for cause in causes}
    order = _lab_order(spec, ())
    rates = []
    for check_id, check in spec.checks.items():
        by_kind = counts[check_id]
        graded = sum(by_kind.values())
        segments = tuple(
            BarSegment(
                status=status,
                count=by_kind[kind],
                width=round(100 * by_kind[kind] / graded, 2),
                description=f"{by_kind[kind]} {_kind_words(kind, bool(by_kind['fail-explained']))}",
                kind=kind,
            )
            for kind, status in BAR_KINDS.items()
            if by_kind[kind]
        )
        because_of = tuple(
            CauseLink(
                number=numbers.get(root, root),
                title=spec.checks[root].title if root in spec.checks else root,
                href=f"#{anchors[root]}" if root in anchors else f"#check-{numbers[root]}" if root in numbers else None,
                count=count,
            )
            for root, count in sorted(
                because[check_id].items(), key=lambda item: (-item[1], order.get(item[0], len(order)))
            )
        )
        rates.append(
            CheckRate(
                number=numbers[check_id],
                check_id=check_id,
                title=check.title,
                section=check.section,
                points=format_points(check.points),
                advisory=check.advisory,
                graded=graded,
                passed=by_kind["pass"],
                pass_percent=percent(by_kind["pass"], graded),
                segments=segments,
                summary=", ".join(segment.description for segment in segments),
                root_failures=by_kind["fail"],
                explained_failures=by_kind["fail-explained"],
                root_anchor=anchors.get(check_id),
                because_of=because_of,
            )
        )
    return rates


def _kind_words(kind: str, split: bool) -> str:
    """What a bar segment counts: the status in words; a failure says which kind when some were explained."""
    if kind == "fail-explained":
        return FAIL_KINDS["explained"]
    if kind == "fail" and split:
        return FAIL_KINDS["root"]
    return STATUS_WORDS[BAR_KINDS[kind]]


def _lab_order(spec: LabSpec, results: Iterable[GradeResult]) -> dict[str, int]:
    """Each check's position in the lab: the spec's order, then checks only the results hold, as first met."""
    order = {check_id: index for index, check_id in enumerate(spec.checks)}
    for result in results:
        for check in result.checks:
            order.setdefault(check.id, len(order))
    return order


def _plural(count: int, word: str) -> str:
    """The count and the word, plural unless the count is 1: "1 student", "3 students"."""
    return f"{count} {word if count == 1 else word + 's'}"


def _student_link(outcome: StudentOutcome, report_links: Mapping[str, str]) -> StudentLink:
    """The student's id, and the link to their report when the batch wrote one."""
    link = report_links.get(outcome.row.student_id)
    return StudentLink(student_id=outcome.row.student_id, href=None if link is None else relative_href(link))


def _student_row(outcome: StudentOutcome, report_links: Mapping[str, str]) -> StudentRow:
    """One line of the students' table: who, their score (or why there is none), and their report's link."""
    result = graded_result(outcome)
    link = report_links.get(outcome.row.student_id)
    return StudentRow(
        student_id=outcome.row.student_id,
        name=outcome.row.name,
        section=outcome.row.section,
        graded=result is not None,
        status=outcome.status,
        score="" if result is None else format_points(result.score),
        max_score="" if result is None else format_points(result.max_score),
        percent=None if result is None else percent(result.score, result.max_score),
        reason=outcome.reason,
        href=None if link is None else relative_href(link),
    )


def relative_href(path: str) -> str:
    """A relative file path (like `s123/report.html`) as a link that can only lead to that file.

    Each part is percent-encoded, so no part of a student id can become a URL scheme (a colon is
    encoded) or a query or fragment; a path from the root (or `//host/...`) is refused.
    """
    if not path or path.startswith(("/", "\\")):
        raise ValueError(f"a report link must be a relative path, not {path!r}")
    return "/".join(quote(part, safe="") for part in path.replace("\\", "/").split("/"))

"""class.html: one self-contained page for the instructor about the whole class.

The page shows how many students were graded, the mean and median score, the score distribution
as an inline SVG histogram, each check's outcomes across the class (which steps the class found
hard), the students who could not be graded and why, those a stopped batch has not reached yet,
and every student's score linking to their own report. It has no script and loads nothing:
styles are inline, and the only links are the relative paths of the students' reports.
Everything a student controls reaches the page through the report's Jinja2 environment, which
autoescapes; nothing is marked safe.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from grader.batch.exports import check_numbers, graded_result
from grader.batch.model import StudentOutcome
from grader.report.render import STATUS_ICONS, STATUS_LABELS, format_points, get_environment, percent
from grader.results import Status
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
HARDEST_SHOWN = 5
"""How many of the checks with the lowest pass rate the page names at the top."""
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
    """The share of the class with one outcome of a check: a width in percent, and its words."""

    status: Status
    count: int
    width: float
    description: str


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
    rates = check_rates(outcomes, spec)
    hardest = sorted(
        (rate for rate in rates if not rate.advisory and rate.pass_percent is not None and rate.pass_percent < 100),
        key=lambda rate: (rate.pass_percent, rate.number),
    )[:HARDEST_SHOWN]
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
        "rates": rates,
        "hardest": hardest,
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


def check_rates(outcomes: Sequence[StudentOutcome], spec: LabSpec) -> list[CheckRate]:
    """Each check of the spec, in the lab's order, with its outcomes across the graded students."""
    counts: dict[str, dict[Status, int]] = {check_id: dict.fromkeys(BAR_STATUSES, 0) for check_id in spec.checks}
    for outcome in outcomes:
        result = graded_result(outcome)
        if result is None:
            continue
        for check_result in result.checks:
            if check_result.id in counts and check_result.status in counts[check_result.id]:
                counts[check_result.id][check_result.status] += 1
    numbers = check_numbers(spec)
    rates = []
    for check_id, check in spec.checks.items():
        by_status = counts[check_id]
        graded = sum(by_status.values())
        segments = tuple(
            BarSegment(
                status=status,
                count=by_status[status],
                width=round(100 * by_status[status] / graded, 2),
                description=f"{by_status[status]} {STATUS_WORDS[status]}",
            )
            for status in BAR_STATUSES
            if by_status[status]
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
                passed=by_status["pass"],
                pass_percent=percent(by_status["pass"], graded),
                segments=segments,
                summary=", ".join(segment.description for segment in segments),
            )
        )
    return rates


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

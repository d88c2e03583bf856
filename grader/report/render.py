"""Render a `GradeResult` as one self-contained HTML page.

All shaping of data happens here (grouping, number formatting, classifying evidence), so the
templates stay declarative. Every value a student controls reaches the page through Jinja2
autoescaping; nothing is marked safe.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from grader.causes import explains, roots_of
from grader.results import STATUSES, CheckResult, GradeResult, SectionScore, Status

TEMPLATE = "report.html.j2"

STATUS_LABELS: dict[Status, str] = {
    "pass": "Passed",
    "warn": "Warning",
    "fail": "Failed",
    "error": "Could not check",
    "skip": "Skipped",
}
# A text symbol beside each label, so a badge never relies on colour alone.
STATUS_ICONS: dict[Status, str] = {"pass": "✓", "warn": "!", "fail": "✗", "error": "?", "skip": "–"}  # noqa: RUF001 - an en dash, meant

# Only a PNG data URI made of base64 characters becomes an <img>; anything else is shown as text.
_PNG_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+={0,2}")

EvidenceKind = Literal["text", "empty", "image", "table", "pairs", "list", "json"]


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence entry, classified for display."""

    key: str
    kind: EvidenceKind
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class CauseLink:
    """A link from a check to a root cause it follows from: the root's title and where it is shown."""

    title: str
    href: str


@dataclass(frozen=True)
class CheckView:
    anchor: str
    check: CheckResult
    label: str
    icon: str
    show_hint: bool
    evidence: tuple[EvidenceItem, ...]
    follows_from: tuple[CauseLink, ...] = ()
    """For an explained check: the root causes at the end of its explanations."""
    fix_anchor: str = ""
    """For a root cause (in `fix_first`): the anchor of its card under "Fix this first"."""

    @property
    def one_line(self) -> bool:
        """An advisory warning is shown as one line (title and message), not as a card that reads like a problem."""
        return self.check.advisory and self.check.status == "warn"


@dataclass(frozen=True)
class RootView:
    """One root cause under "Fix this first": the failed check and the checks that follow from it."""

    anchor: str
    view: CheckView
    explains: tuple[CheckView, ...]


@dataclass(frozen=True)
class SectionView:
    anchor: str
    score: SectionScore
    percent: int | None
    checks: tuple[CheckView, ...]
    counts: dict[Status, int]


def format_points(value: float) -> str:
    """2.0 -> "2", 1.5 -> "1.5", 1/3 -> "0.33"."""
    rounded = round(float(value), 2)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:g}"


def percent(score: float, max_score: float) -> int | None:
    """Whole percent, rounded down so a near miss never reads as 100%; None when nothing to score."""
    if max_score <= 0:
        return None
    return max(0, min(100, math.floor(score / max_score * 100 + 1e-9)))


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cell_text(value: Any) -> str:
    if _is_scalar(value):
        return _scalar_text(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


def is_png_data_uri(value: Any) -> bool:
    return isinstance(value, str) and _PNG_DATA_URI.fullmatch(value) is not None


def classify_evidence(key: str, value: Any) -> EvidenceItem:
    """Decide how one evidence value is shown: inline text, image, table or JSON."""
    if key == "screenshot" and is_png_data_uri(value):
        return EvidenceItem(key, "image", text=value)
    if isinstance(value, str) and value == "":
        return EvidenceItem(key, "empty")
    if _is_scalar(value):
        return EvidenceItem(key, "text", text=_scalar_text(value))
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        columns: dict[str, None] = {}
        for row in value:
            for column in row:
                columns.setdefault(str(column), None)
        normalised = [{str(k): v for k, v in row.items()} for row in value]
        rows = tuple(
            tuple(_cell_text(row[column]) if column in row else "" for column in columns) for row in normalised
        )
        return EvidenceItem(key, "table", columns=tuple(columns), rows=rows)
    if isinstance(value, dict) and value and all(_is_scalar(v) for v in value.values()):
        rows = tuple((str(k), _scalar_text(v)) for k, v in value.items())
        return EvidenceItem(key, "pairs", columns=("Name", "Value"), rows=rows)
    if isinstance(value, list) and value and all(_is_scalar(v) for v in value) and len(value) <= 20:
        return EvidenceItem(key, "list", rows=tuple((_scalar_text(v),) for v in value))
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return EvidenceItem(key, "json", text=text)


def _check_view(index: int, check: CheckResult) -> CheckView:
    return CheckView(
        anchor=f"check-{index}",
        check=check,
        label=STATUS_LABELS.get(check.status, str(check.status)),
        icon=STATUS_ICONS.get(check.status, "•"),
        show_hint=check.status != "pass" and bool(check.hint),
        evidence=tuple(classify_evidence(str(k), v) for k, v in check.evidence.items()),
    )


def _with_causes(result: GradeResult, views: list[CheckView]) -> tuple[list[CheckView], list[RootView]]:
    """`views` with each root cause's card anchor and each explained check's roots, and the root causes' cards.

    Anchors are made from each check's position, never from its id or title (text a results.json may carry).
    """
    roots = {c.id for c in result.fix_first}
    by_id = {v.check.id: v for v in views}
    fix_anchor = {cid: f"fix-{by_id[cid].anchor}" for cid in roots}

    def link(root_id: str) -> CauseLink:
        root = by_id[root_id]
        return CauseLink(root.check.title, f"#{fix_anchor.get(root_id, root.anchor)}")

    def follows_from(check: CheckResult) -> tuple[CauseLink, ...]:
        if not check.explained_by:
            return ()
        # Explanations that lead nowhere (a loop) fall back to the checks that explain it directly.
        ends = [r for r in roots_of(result, check.id) if r != check.id] or check.explained_by
        return tuple(link(r) for r in ends if r in by_id)

    shaped = [replace(v, fix_anchor=fix_anchor.get(v.check.id, ""), follows_from=follows_from(v.check)) for v in views]
    shaped_by_id = {v.check.id: v for v in shaped}
    cards = [
        RootView(
            anchor=fix_anchor[root.id],
            view=shaped_by_id[root.id],
            explains=tuple(shaped_by_id[c.id] for c in explains(result, root.id)),
        )
        for root in result.fix_first
    ]
    return shaped, cards


def build_context(result: GradeResult) -> dict[str, Any]:
    """Everything the template needs, already shaped and formatted."""
    views, fix_first = _with_causes(result, [_check_view(i, check) for i, check in enumerate(result.checks, start=1)])
    sections: list[SectionView] = []
    for number, score in enumerate(result.sections, start=1):
        members = tuple(v for v in views if v.check.section == score.name)
        sections.append(
            SectionView(
                anchor=f"section-{number}",
                score=score,
                percent=percent(score.score, score.max_score),
                checks=members,
                counts={s: sum(1 for v in members if v.check.status == s) for s in STATUSES},
            )
        )
    return {
        "result": result,
        "score": result.score,
        "max_score": result.max_score,
        "percent": percent(result.score, result.max_score),
        "duration": format_duration(result.duration_seconds),
        "counts": {s: result.count(s) for s in STATUSES},
        "statuses": STATUSES,
        "labels": STATUS_LABELS,
        "icons": STATUS_ICONS,
        "sections": sections,
        "fix_first": fix_first,
        "only_grader_errors": not fix_first and result.count("error") > 0,
        "target_label": {"aws": "AWS account", "sandbox": "Sandbox (simulated AWS)"}.get(result.target, result.target),
    }


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("grader", "report/templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2"),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["points"] = format_points
    return env


def render_html(result: GradeResult) -> str:
    """The whole report for one student, as an HTML document."""
    return get_environment().get_template(TEMPLATE).render(**build_context(result))

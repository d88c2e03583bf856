"""The HTML grade report: one self-contained page per student."""

from __future__ import annotations

from pathlib import Path

from grader.report.render import render_html
from grader.results import GradeResult, write_text_atomic

__all__ = ["render_html", "write_report"]


def write_report(result: GradeResult, path: Path) -> None:
    """Render `result` and write it to `path` as UTF-8, creating parent folders as needed.

    The page is rendered first, then written to a temporary file beside `path` and renamed into
    place: a failure leaves the old report (or none), never half of one.
    """
    path = Path(path)
    html = render_html(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, html)

"""The HTML grade report: one self-contained page per student."""

from __future__ import annotations

from pathlib import Path

from grader.report.render import render_html
from grader.results import GradeResult

__all__ = ["render_html", "write_report"]


def write_report(result: GradeResult, path: Path) -> None:
    """Render `result` and write it to `path` as UTF-8, creating parent folders as needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")

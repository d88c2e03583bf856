"""What the command line prints: a grade as the terminal shows it, and the grader's own sentences.

Every string the grader did not write itself goes through `safe`: Rich markup in it is shown as
text, and control characters and terminal escape sequences are removed.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.results import GradeResult
from grader.text import plain

console = Console(highlight=False, emoji=False)
errors = Console(stderr=True, highlight=False, emoji=False)

STATUS_STYLE = {
    "pass": ("PASS", "green"),
    "warn": ("WARN", "dark_orange"),
    "fail": ("FAIL", "red"),
    "error": ("ERROR", "yellow"),
    "skip": ("SKIP", "dim"),
}


def safe(text: object, *, newlines: bool = True) -> str:
    """`text` fit to put in Rich markup: printed as it reads, never as markup or terminal control."""
    return escape(plain(text, newlines=newlines))


def exit_code(result: GradeResult) -> int:
    if result.count("error"):
        return 2
    if result.incomplete:
        return 1
    return 0


def stop(message: str) -> typer.Exit:
    errors.print(f"[bold red]grader:[/] {safe(message)}")
    return typer.Exit(2)


def show(result: GradeResult, out: Path | None, *, named: bool) -> None:
    """The grade as a table, the section scores, the total, and where the report is.

    `named`: the student's name was given (--student, a scenario), so it alone names the report's folder.
    """
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
    table.add_column("", width=5, no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("what the grader found", ratio=1, overflow="fold")
    for check in result.checks:
        label, style = STATUS_STYLE[check.status]
        text = safe(check.message)
        if check.hint and check.status != "pass":
            text += f"\n[dim]→ {safe(check.hint)}[/]"
        points = "advisory" if check.advisory else f"{check.points:g}/{check.max_points:g}"
        table.add_row(f"[{style}]{label}[/]", safe(check.id, newlines=False), points, text)
    console.print(table, markup=True)
    for section in result.sections:
        console.print(f"  {safe(section.name, newlines=False)}: {section.score:g}/{section.max_score:g}")
    console.print(
        f"[bold]Score {result.score:g}/{result.max_score:g}[/] for {safe(result.student, newlines=False)} "
        f"({result.count('pass')} passed, {result.count('warn')} warned, {result.count('fail')} failed, "
        f"{result.count('error')} could not be checked, {result.count('skip')} skipped) "
        f"in {result.duration_seconds:.1f} s"
    )
    if out is not None:
        from grader.outputs import report_dir

        console.print(f"Report: {safe(report_dir(result, out, named=named) / 'report.html', newlines=False)}")

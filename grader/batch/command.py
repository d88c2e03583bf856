"""What `grader batch` prints: the preflight table, a progress bar, and where the class files are.

grader/cli.py parses the options and calls :func:`batch_command`; every string not written by the
grader goes through `safe` (Rich markup shown as text, control characters removed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grader.batch.model import RosterRow, StudentOutcome, outcome_counts
from grader.batch.run import Only, run_batch
from grader.batch.runner import BatchOptions
from grader.batch.stopping import exit_soon
from grader.browser.lanes import choose_lanes
from grader.errors import GraderError


def batch_command(
    roster: Path,
    options: BatchOptions,
    *,
    resume: bool,
    only: Only | None,
    skip_bad_rows: bool,
    shard: str = "",
    console: Console,
    safe: Callable[[object], str],
) -> int:
    """Grade the class of `roster` into `options.out`, telling the instructor as it goes; the exit code."""
    from grader.batch.roster import RosterError, load_roster

    try:
        loaded = load_roster(roster, skip_bad_rows=skip_bad_rows, allow_local_sites=options.allow_local_sites)
    except RosterError as exc:
        raise GraderError(exc.message, kind="usage") from None
    for problem in loaded.skipped:
        console.print(f"[dark_orange]skipped[/] {safe(problem)}")
    rows = list(loaded.rows)
    if shard:
        from grader.batch.run import shard_rows

        rows = shard_rows(rows, shard)
    preflight = Table(title="Preflight: who can be graded", show_header=True, header_style="bold", expand=True)
    preflight.add_column("student", no_wrap=True)
    preflight.add_column("", ratio=1, overflow="fold")
    ungradable = 0

    def on_preflight(row: RosterRow, said: str) -> None:
        nonlocal ungradable
        if said == "ready":
            preflight.add_row(safe(row.student_id), "[green]ready[/]")
        else:
            ungradable += 1
            preflight.add_row(safe(row.student_id), f"[red]ungradable[/] {safe(said)}")

    progress = Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[ungradable]} ungradable"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("grading", total=0, ungradable=0)

    lanes = choose_lanes(options.lanes)
    options = replace(options, lanes=lanes.count)

    def on_start(count: int) -> None:
        console.print(preflight)
        if count:
            console.print(f"Grading {count}: {options.workers} observed at a time, {lanes.said()}.")
        progress.update(task, total=count, ungradable=ungradable)  # so far: those preflight set aside
        progress.start()

    def on_done(outcome: StudentOutcome) -> None:
        nonlocal ungradable
        ungradable += outcome.status != "graded"
        progress.update(task, advance=1, ungradable=ungradable)

    started = time.monotonic()
    try:
        run = run_batch(
            rows,
            roster,
            options,
            resume=resume,
            only=only,
            on_preflight=on_preflight,
            on_start=on_start,
            on_done=on_done,
            shard=shard,
        )
    finally:
        progress.stop()
    if run.interrupted:
        console.print("[bold dark_orange]Stopped.[/] What finished is kept: run again with --resume to go on.")
    kept = "" if run.regraded == len(rows) else f" ({len(rows) - run.regraded} kept from the run before)"
    console.print(
        f"{outcome_counts(run.outcomes)}, of {len(rows)}{kept}, in {time.monotonic() - started:.0f} s.",
        style="bold",
    )
    console.print(f"Class page: {safe(options.out / 'class.html')}")
    if run.interrupted:
        exit_soon(run.exit_code)
    return run.exit_code

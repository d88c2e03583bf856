"""One grade in three steps, the same for `grader check`, `batch`, `gradescope`, `demo` and `rejudge`:

    connection = connect(target, spec)          # whose account: read-only AWS access (grader/observe/observer.py)
    evidence = observe(connection)              # everything the spec's checks read, once (grader/observe/)
    result = judge(spec, evidence)              # the checks, run by pytest on the evidence: no network, no clock
    write(result, evidence, folder)             # report.html, evidence.json, results.json (grader/outputs.py)

`grade()` does the three for one account; a class's batch observes many accounts at once and
judges and writes each as it comes (grader/batch/runner.py); `grader rejudge` reads evidence.json
and judges it again (grader/rejudge.py). A grade's duration runs from the start of its
observation to the end of its judging (`finished`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from grader import __version__
from grader.causes import explained
from grader.errors import GraderError
from grader.observe import DEFAULT_DEADLINE_S
from grader.observe.evidence import NOT_OBSERVED, Evidence
from grader.observe.observer import Connection, Observer, connect
from grader.observe.parts import PARTS
from grader.outputs import refuse_other_account, report_folder_name, write_outputs
from grader.registry import builds_on, needs_of
from grader.results import CheckResult, GradeResult
from grader.snapshot import Read
from grader.spec import LabSpec
from grader.target import Target

__all__ = ["Connection", "connect", "finished", "grade", "grade_account", "judge", "observe", "write_outputs"]


def observe(
    connection: Connection,
    needs: Iterable[str] | None = None,
    *,
    browser: Any = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> Evidence:
    """Observe what the spec's checks need (or `needs`) of the connected account, within `deadline_s`.

    `browser`: a BrowserSession lent by the caller and left open (a class's batch shares one).
    """
    wanted = needs_of(connection.spec.checks) if needs is None else frozenset(needs)
    observer = Observer(connection, browser=browser, deadline_s=deadline_s)
    try:
        return observer.observe(wanted)
    finally:
        observer.close()


def judge(spec: LabSpec, evidence: Evidence, *, quiet: bool = True) -> GradeResult:
    """The spec's checks run on `evidence`: the grade, timed by the evidence's own clock (see `finished`).

    A check whose evidence was not observed (saved evidence judged with another spec) is the
    grader's error for that check, saying so.
    """
    from grader.plugin import GraderPlugin, checks_args

    plugin = GraderPlugin(spec=spec, evidence=_unobserved_said(evidence, needs_of(spec.checks)))
    code = pytest.main(checks_args(spec, quiet=quiet), plugins=[plugin])
    if code == pytest.ExitCode.INTERRUPTED:  # pytest caught a Ctrl-C itself: the caller's stop, not a bug
        raise KeyboardInterrupt
    if not plugin.results:
        raise GraderError(
            f"The checks did not run (pytest exit code {int(code)}). This is a bug in the grader: "
            "run `pytest checks/` to see why, and please report it.",
            kind="bug",
        )
    return score(spec, evidence, plugin.results)


def score(spec: LabSpec, evidence: Evidence, results: dict[str, CheckResult]) -> GradeResult:
    """The GradeResult of the checks' `results` (in the spec's order, each failure's explanation found),
    dated by the evidence."""
    order = list(spec.checks)
    ordered = sorted(results.values(), key=lambda r: order.index(r.id) if r.id in order else len(order))
    checks = explained(ordered, builds_on(order))
    started = evidence.observed_at
    ended = evidence.finished_at or started
    return GradeResult(
        student=evidence.student,
        account_id=evidence.identity.account_id,
        caller_arn=evidence.identity.arn,
        region=evidence.region,
        spec_id=spec.id,
        spec_title=spec.title,
        grader_version=__version__,
        started=started.isoformat(timespec="seconds"),
        finished=ended.isoformat(timespec="seconds"),
        duration_seconds=round((ended - started).total_seconds(), 2),
        checks=checks,
        target=evidence.target,
        timings=dict(evidence.timings),
    )


def finished(result: GradeResult, evidence: Evidence, at: datetime | None = None) -> GradeResult:
    """`result` finished now (or `at`): its duration from the start of the observation to the end of judging."""
    end = at or datetime.now(UTC)
    return replace(
        result,
        finished=end.isoformat(timespec="seconds"),
        duration_seconds=round((end - evidence.observed_at).total_seconds(), 2),
    )


def grade_account(
    target: Target,
    spec: LabSpec,
    out: Path | None,
    *,
    quiet: bool = True,
    browser: Any = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> tuple[GradeResult, Evidence]:
    """Grade `target` against `spec`: connect, observe, judge, and write <out>/<student>/ when `out` is given.

    Raises GraderError when the grader cannot grade at all (credentials, endpoint, a folder that
    holds another account's report).
    """
    connection = connect(target, spec, out)
    named = bool(target.student)
    if out is not None:  # before any work: a folder that holds another account's report is refused
        account = connection.identity.account_id
        refuse_other_account(out / report_folder_name(connection.student, account, named=named), account)
    evidence = observe(connection, browser=browser, deadline_s=deadline_s)
    result = finished(judge(spec, evidence, quiet=quiet), evidence)
    if out is not None:
        write_outputs(result, out, named=named, evidence=evidence)
    return result, evidence


def grade(
    target: Target,
    spec: LabSpec,
    out: Path | None,
    *,
    quiet: bool = True,
    browser: Any = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> GradeResult:
    """Grade `target` against `spec` (see grade_account); the result."""
    return grade_account(target, spec, out, quiet=quiet, browser=browser, deadline_s=deadline_s)[0]


def _unobserved_said(evidence: Evidence, needs: frozenset[str]) -> Evidence:
    """`evidence` with each needed part that was not observed holding the grader's error saying so."""
    missing: dict[str, Any] = {
        name: Read(
            error=GraderError(
                f"The saved evidence of this grade does not hold {name!r}: the spec it was graded with did not "
                "need it. Grade the account again to check this.",
                kind="not-observed",
            )
        )
        for name in PARTS
        if name in needs and getattr(evidence, name) is NOT_OBSERVED
    }
    return replace(evidence, **missing) if missing else evidence


class CommandLineGrade:
    """`pytest checks/ [--region ... --out ...]`: the same three steps, with pytest already running.

    The evidence is observed when the first check asks for it, from the account the options name;
    at the end of the session the grade is written under --out and summed up in the terminal.
    """

    def __init__(self, config: pytest.Config) -> None:
        from grader.plugin import GraderPlugin

        self.config = config
        self.plugin = GraderPlugin(config, evidence=self._observe)
        self.connection: Connection | None = None
        self.evidence: Evidence | None = None
        self.result: GradeResult | None = None
        self.folder: Path | None = None
        self.problem: GraderError | None = None

    def register(self) -> None:
        self.config.pluginmanager.register(self.plugin, "grader-session")
        self.config.pluginmanager.register(self, "grader-command-line")

    def _observe(self, needs: frozenset[str]) -> Evidence:
        from grader.target import OPTION_HELP, target_from_options

        if self.problem is not None:
            raise self.problem
        option = self.config.getoption
        try:
            target = target_from_options({name: option(name) for name in OPTION_HELP})
            self.connection = connect(target, self.plugin.spec, Path(option("out") or "reports"))
        except GraderError as exc:
            self.problem = exc
            raise
        self.evidence = observe(self.connection, needs, deadline_s=float(option("deadline")))
        return self.evidence

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        evidence, connection = self.evidence, self.connection
        if evidence is None or connection is None or not self.plugin.results:
            return
        self.result = finished(score(self.plugin.spec, evidence, self.plugin.results), evidence)
        try:
            self.folder = write_outputs(
                self.result, connection.out or Path("reports"), named=bool(connection.target.student), evidence=evidence
            )
        except GraderError as exc:
            self.problem = exc
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from grader.text import plain

        if self.result is None:
            if self.problem is not None:
                terminalreporter.write_line(f"grader: {plain(self.problem.message)}")
            return
        terminalreporter.section("grade")
        for check in self.result.checks:
            terminalreporter.write_line(f"{check.status.upper():5} {plain(check.id)}: {plain(check.message)}")
        terminalreporter.write_line(f"score {self.result.score:g}/{self.result.max_score:g}")
        if self.problem is not None:
            terminalreporter.write_line(f"grader: {plain(self.problem.message)}")
        elif self.folder is not None:
            terminalreporter.write_line(f"report: {plain(self.folder / 'report.html')}")

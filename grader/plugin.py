"""The pytest plugin: the registered checks, the evidence fixtures, honest verdicts, scoring, output.

`conftest.py` loads it for `pytest checks/`; `grader.run` passes a prepared `GraderPlugin`. A
check is a test function registered with `@check(id, needs=...)` (grader/registry.py): the
plugin grades the checks the spec lists, in the spec's order, observes the evidence they need
once (grader/observe/), and hands each check the parts it asks for as fixtures named after them.

Verdicts: `check.fail(...)` is the student's failure; `pytest.skip(...)` a skip; a GraderError
(the grader could not look) is `error`; any other exception, an AssertionError included, is
`error` too, as a bug in the grader; a check that ends without `check.passes(...)` is an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from grader import __version__
from grader.checking import Check, CheckFailed
from grader.errors import GraderError
from grader.observe import DEFAULT_DEADLINE_S
from grader.observe.evidence import Evidence
from grader.observe.observer import Connection, Observer, connect
from grader.observe.parts import PARTS
from grader.registry import info_of
from grader.results import CheckResult, GradeResult, Status, stage_text
from grader.spec import DEFAULT_SPEC, LabSpec, SpecError, load_spec
from grader.target import OPTION_HELP, slug, target_from_options
from grader.text import plain


def check_id(item: pytest.Item) -> str | None:
    """The registered id of a check's test item; None for anything that is not a check."""
    info = info_of(getattr(item, "function", None))
    return info.id if info else None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grading a student's lab")
    group.addoption("--spec", default=DEFAULT_SPEC, help="lab spec id or path of a .toml spec")
    for name, help_text in OPTION_HELP.items():
        # The help is written for the command line's Rich markup, where [ is escaped.
        group.addoption(f"--{name.replace('_', '-')}", default=None, help=help_text.replace("\\[", "["))
    group.addoption(
        "--deadline", default=DEFAULT_DEADLINE_S, type=float, help="seconds the grader may take to observe one account"
    )
    group.addoption("--out", default="reports", help="folder for <student>/report.html and results.json")


def pytest_configure(config: pytest.Config) -> None:
    if not any(isinstance(p, GraderPlugin) for p in config.pluginmanager.get_plugins()):
        config.pluginmanager.register(GraderPlugin(config), "grader-session")


def _plugin(config: pytest.Config) -> GraderPlugin:
    """The session's GraderPlugin: the one grader.run passed in, or the one pytest_configure made."""
    return next(p for p in config.pluginmanager.get_plugins() if isinstance(p, GraderPlugin))


# -- the fixtures checks use -------------------------------------------------------------------


@pytest.fixture(name="spec", scope="session")
def spec_fixture(request: pytest.FixtureRequest) -> LabSpec:
    return _plugin(request.config).spec


@pytest.fixture(name="evidence", scope="session")
def evidence_fixture(request: pytest.FixtureRequest) -> Evidence:
    return _plugin(request.config).evidence()


@pytest.fixture(name="lab_region", scope="session")
def lab_region_fixture(evidence: Evidence) -> str:
    return evidence.region


@pytest.fixture(name="observed_at", scope="session")
def observed_at_fixture(evidence: Evidence) -> datetime:
    return evidence.observed_at


@pytest.fixture(name="check")
def check_fixture(request: pytest.FixtureRequest) -> Check:
    return Check(id=check_id(request.node) or request.node.name)


def _part_fixture(name: str) -> Callable[[Evidence], Any]:
    """A session fixture named `name` that hands a check that part's value (or raises its error)."""

    def part(evidence: Evidence) -> Any:
        return evidence.part(name).get()

    part.__doc__ = f"The evidence part {name!r} (grader/observe/parts.py)."
    return pytest.fixture(name=name)(part)  # per check: a narrowing fixture listed first may skip before it


for _part in PARTS:
    globals()[f"{_part}_fixture"] = _part_fixture(_part)


class GraderPlugin:
    """Grades one account: observes it once, collects each check's verdict, writes the results."""

    def __init__(self, config: pytest.Config | None = None, observer: Observer | None = None) -> None:
        # A plugin made by grader.run gets its config when pytest configures it.
        self.config = config
        self._observer = observer
        self._setup_error: GraderError | None = None
        self._spec: LabSpec | None = observer.connection.spec if observer else None
        self._evidence: Evidence | None = None
        self.needs: frozenset[str] = frozenset()
        self.results: dict[str, CheckResult] = {}
        self.result: GradeResult | None = None
        self.folder: Path | None = None  # where results.json and report.html were written
        self._output_error: GraderError | None = None
        self._lent_observer = observer is not None
        self.started = datetime.now(UTC)
        self._clock = time.monotonic()

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = self.config or config

    # -- options, connection and evidence ---------------------------------------------------

    def _option(self, name: str) -> Any:
        return self.config.getoption(name) if self.config else None

    @property
    def spec(self) -> LabSpec:
        if self._spec is None:
            try:
                self._spec = load_spec(self._option("spec") or DEFAULT_SPEC)
            except SpecError as exc:
                raise pytest.UsageError(str(exc)) from None
        return self._spec

    def observer(self) -> Observer:
        """The observer; from the command line options when the CLI did not make one."""
        if self._observer is None and self._setup_error is None:
            try:
                target = target_from_options({name: self._option(name) for name in OPTION_HELP})
                out = Path(self._option("out") or "reports")
                self._observer = Observer(connect(target, self.spec, out), deadline_s=float(self._option("deadline")))
            except GraderError as exc:
                self._setup_error = exc
        if self._setup_error is not None:
            raise self._setup_error
        assert self._observer is not None
        return self._observer

    @property
    def connection(self) -> Connection | None:
        return self._observer.connection if self._observer else None

    def evidence(self) -> Evidence:
        """The account's evidence for the selected checks, observed on first use."""
        if self._evidence is None:
            self._evidence = self.observer().observe(self.needs)
        return self._evidence

    # -- hooks ---------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Grade only the checks the spec lists, in the spec's order; note the evidence they need."""
        if not any(check_id(item) for item in items):
            return
        keep = [item for item in items if check_id(item) is None or check_id(item) in self.spec.checks]
        dropped = [item for item in items if item not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        order = list(self.spec.checks)
        keep.sort(key=lambda item: order.index(cid) if (cid := check_id(item)) in order else -1)
        items[:] = keep
        self.needs = frozenset(
            need for item in keep if (info := info_of(getattr(item, "function", None))) for need in info.needs
        )
        if self._observer is not None:
            self._observer.start_browser(self.needs)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        cid = check_id(item)
        if cid is None or cid in self.results or (call.when == "teardown" and report.passed):
            return report
        if call.when == "setup" and report.passed:
            return report
        check = item.funcargs.get("check") if hasattr(item, "funcargs") else None
        result = self._result(cid, item, call, report, check)
        self.results[cid] = result
        if result.status == "warn":
            # An advisory check's finding is not a test failure: `pytest checks/` and its JUnit
            # XML show a passed test, and the grade summary shows the warning.
            report.outcome = "passed"
            report.longrepr = None
        return report

    def _result(
        self, cid: str, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, check: Check | None
    ) -> CheckResult:
        meta = self.spec.check(cid)
        evidence = dict(check.evidence) if check else {}
        status: Status
        hint = meta.hint
        if report.skipped:
            status, message = "skip", _skip_reason(report)
        elif report.passed and check is not None and check.verdict == "pass":
            status, message, hint = "pass", check.message, ""
        elif report.passed:
            status, message, hint = "error", _bug(cid, item, "ended without a verdict (neither passes nor fail)"), ""
        else:
            error = call.excinfo.value if call.excinfo else None
            if isinstance(error, CheckFailed):
                status, message = "fail", error.message
            elif isinstance(error, GraderError):
                status, message, hint = "error", error.message, ""
            else:
                status, message, hint = "error", _bug(cid, item, f"stopped on {type(error).__name__}"), ""
        points = meta.points if status == "pass" else 0
        if meta.advisory:
            points = 0
            if status == "fail":
                status = "warn"
        return CheckResult(
            id=cid,
            title=meta.title,
            section=meta.section,
            status=status,
            points=points,
            max_points=0 if meta.advisory else meta.points,
            message=message,
            hint=hint,
            evidence=evidence,
            advisory=meta.advisory,
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._observer is not None:
            self._observer.close()
        if not self.results:
            return
        order = list(self.spec.checks)
        checks = tuple(sorted(self.results.values(), key=lambda r: order.index(r.id)))
        connection = self.connection
        finished = datetime.now(UTC)
        self.result = GradeResult(
            student=connection.student if connection else "unknown",
            account_id=connection.identity.account_id if connection else "",
            caller_arn=connection.identity.arn if connection else "",
            region=connection.target.region if connection else (self._option("region") or ""),
            spec_id=self.spec.id,
            spec_title=self.spec.title,
            grader_version=__version__,
            started=self.started.isoformat(timespec="seconds"),
            finished=finished.isoformat(timespec="seconds"),
            duration_seconds=round(time.monotonic() - self._clock, 2),
            checks=checks,
            target=connection.target.kind if connection else "aws",
        )
        if connection is not None and connection.out is not None:
            try:
                self.folder = write_outputs(self.result, connection.out, named=bool(connection.target.student))
            except GraderError as exc:
                if self._lent_observer:
                    # grade() passes it on to its caller: the command line says the sentence, exit 2.
                    raise
                self._output_error = exc
                session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.result is None:
            if self._setup_error is not None:
                terminalreporter.write_line(f"grader: {plain(self._setup_error.message)}")
            return
        result = self.result
        terminalreporter.section("grade")
        for check in result.checks:
            terminalreporter.write_line(f"{check.status.upper():5} {plain(check.id)}: {plain(check.message)}")
        terminalreporter.write_line(f"score {result.score:g}/{result.max_score:g}")
        if self._output_error is not None:
            terminalreporter.write_line(f"grader: {plain(self._output_error.message)}")
        elif self.folder is not None:
            terminalreporter.write_line(f"report: {plain(self.folder / 'report.html')}")


def _bug(cid: str, item: pytest.Item, what: str) -> str:
    """The message for a check that broke: the grader's bug, with what to run to see it."""
    function = getattr(item, "originalname", item.name)
    return (
        f"The check {cid} {what}. This is a bug in the grader, not a finding about your lab: run "
        f"`python -m pytest checks -k {function}` with the same options to see where, and please report it."
    )


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def report_folder_name(student: str, account_id: str, *, named: bool) -> str:
    """The name of a student's folder under --out: one that no other account's grade can take.

    `named` (the name was given: --student, a roster id): that name. Otherwise the name comes from
    the caller identity, which two accounts can share (two Academy sessions `user123=Jane_Doe` and
    `user456=Jane_Doe`), so the account id is added: `Jane_Doe-123456789012`.
    """
    name = slug(student) or "student"
    account = slug(account_id)
    if named or not account or account == name:
        return name
    return f"{name}-{account}"


def report_dir(result: GradeResult, out: Path, *, named: bool) -> Path:
    """The folder of `result`'s report.html and results.json under `out` (see report_folder_name)."""
    return out / report_folder_name(result.student, result.account_id, named=named)


def refuse_other_account(folder: Path, account_id: str) -> None:
    """Raise a GraderError if `folder` holds the results of an account other than `account_id`.

    The same account graded again overwrites its report; a folder without results.json is free.
    """
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8
        data = None
    owner = data.get("account_id") if isinstance(data, dict) else None
    if owner == account_id:
        return
    if isinstance(owner, str):
        raise GraderError(
            f"The folder {folder} already holds the report of the AWS account {owner}, and this grade is of "
            f"the account {account_id}: the grader does not overwrite another account's report. Grade again "
            "with --student NAME (a name for this student's folder) or with another --out folder.",
            kind="usage",
        )
    raise GraderError(
        f"The folder {folder} holds a results.json the grader cannot read, so it cannot tell whose report it "
        "is and does not overwrite it. Remove that folder if the report in it is this account's, or grade "
        "again with --student NAME or with another --out folder.",
        kind="usage",
    )


def write_outputs(result: GradeResult, out: Path, *, named: bool, keep_other_accounts: bool = True) -> Path:
    """Write report.html and results.json into the student's folder under `out`; returns that folder.

    Refuses (a GraderError) a folder that holds another account's results. Both files are rendered
    first, then written to temporary files beside them, then renamed into place: the old
    results.json is removed, report.html is renamed, and results.json comes last. results.json is
    the mark of a finished grade (batch tools and the check above read it), so whenever one is in
    the folder, the report.html beside it is its own. A failure before the renames (the renderer, a
    full disk) leaves the folder as it was, and no temporary file stays behind. A class's batch
    (`keep_other_accounts` False) owns its folders: a student's folder is theirs by roster id.
    """
    from grader.report import render_html

    folder = report_dir(result, out, named=named)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    if keep_other_accounts:
        refuse_other_account(folder, result.account_id)
    texts = {"report.html": render_html(result), "results.json": result.to_json()}
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in texts.items():
            staged.append((stage_text(folder / name, text), folder / name))
        (folder / "results.json").unlink(missing_ok=True)
        for temp, final in staged:
            temp.replace(final)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)  # already renamed, unless something failed
    return folder


def _unwritable(folder: Path, exc: OSError) -> GraderError:
    reason = exc.strerror or type(exc).__name__
    return GraderError(
        f"The grader could not write the report into {folder} ({reason}). Choose a folder it can write to with --out.",
        kind="usage",
    )

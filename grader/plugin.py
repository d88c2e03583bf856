"""The pytest plugin: options, the fixtures checks use, result collection, scoring and output.

`conftest.py` loads it for `pytest checks/`; `grader.run` passes a prepared `GraderPlugin`.
A check's id is its module and function name without `test_` (checks/test_pool.py::test_mfa_off
is `pool.mfa_off`), so id, test name and spec entry cannot drift apart.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from grader import __version__
from grader.checking import Check, CheckFailed
from grader.collect import Snapshot
from grader.errors import GraderError, explain
from grader.grading import Grading, prepare
from grader.results import CheckResult, GradeResult, Status
from grader.spec import DEFAULT_SPEC, LabSpec, SpecError, load_spec
from grader.target import Target

CHECKS_PACKAGE = "checks"


def check_id(item: pytest.Item) -> str | None:
    """`pool.mfa_off` for checks/test_pool.py::test_mfa_off; None for anything that is not a check."""
    module = getattr(item, "module", None)
    name = getattr(module, "__name__", "")
    package, _, leaf = name.rpartition(".")
    if package != CHECKS_PACKAGE or not leaf.startswith("test_"):
        return None
    function = getattr(item, "originalname", item.name)
    return f"{leaf[len('test_'):]}.{function[len('test_'):]}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grading a student's lab")
    group.addoption("--spec", default=DEFAULT_SPEC, help="lab spec id or path of a .toml spec")
    group.addoption("--region", default="us-east-1", help="AWS region of the lab")
    group.addoption("--profile", default=None, help="AWS profile to grade with")
    group.addoption("--credentials-file", default=None, help="file holding the lab's [default] credentials block")
    group.addoption("--endpoint-url", default=None, help="AWS endpoint (the grader's sandbox)")
    group.addoption("--site-url", default=None, help="the student's website, if not the callback URL")
    group.addoption("--student", default=None, help="student name for the report")
    group.addoption("--browser-path", default=None, help="Chromium or Chrome to drive for the website checks")
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


@pytest.fixture(name="grading", scope="session")
def grading_fixture(request: pytest.FixtureRequest) -> Grading:
    return _plugin(request.config).grading()


@pytest.fixture(name="snapshot", scope="session")
def snapshot_fixture(request: pytest.FixtureRequest) -> Snapshot:
    return _plugin(request.config).grading().snapshot


@pytest.fixture(name="check")
def check_fixture(request: pytest.FixtureRequest) -> Check:
    return Check(id=check_id(request.node) or request.node.name)


class GraderPlugin:
    """Grades one account: collects each check's result and writes the results and report."""

    def __init__(self, config: pytest.Config | None = None, grading: Grading | None = None) -> None:
        # A plugin made by grader.run gets its config when pytest configures it.
        self.config = config
        self._grading = grading
        self._setup_error: GraderError | None = None
        self._spec: LabSpec | None = grading.spec if grading else None
        self.results: dict[str, CheckResult] = {}
        self.result: GradeResult | None = None
        self.started = datetime.now(timezone.utc)
        self._clock = time.monotonic()

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = self.config or config

    # -- options -----------------------------------------------------------------------------

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

    def grading(self) -> Grading:
        """The prepared grading; from the command line options when the CLI did not prepare one."""
        if self._grading is None and self._setup_error is None:
            credentials = self._option("credentials_file")
            target = Target(
                region=self._option("region") or "us-east-1",
                profile=self._option("profile"),
                credentials_file=Path(credentials) if credentials else None,
                endpoint_url=self._option("endpoint_url"),
                site_url=self._option("site_url"),
                student=self._option("student"),
                browser_path=self._option("browser_path"),
            )
            try:
                self._grading = prepare(target, self.spec, Path(self._option("out") or "reports"))
            except GraderError as exc:
                self._setup_error = exc
            except Exception as exc:
                self._setup_error = explain(exc, "connect to AWS")
        if self._setup_error is not None:
            raise self._setup_error
        assert self._grading is not None
        return self._grading

    # -- hooks ---------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Grade only the checks the spec lists, in the spec's order."""
        if not any(check_id(item) for item in items):
            return
        keep = [item for item in items if check_id(item) is None or check_id(item) in self.spec.checks]
        dropped = [item for item in items if item not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        order = list(self.spec.checks)
        keep.sort(key=lambda item: order.index(cid) if (cid := check_id(item)) in order else -1)
        items[:] = keep

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
        report = yield
        cid = check_id(item)
        if cid is None or cid in self.results or call.when == "teardown" and report.passed:
            return report
        if call.when == "setup" and report.passed:
            return report
        check = item.funcargs.get("check") if hasattr(item, "funcargs") else None
        result = self._result(cid, call, report, check)
        self.results[cid] = result
        if result.status == "warn":
            # An advisory check's finding is not a test failure: `pytest checks/` and its JUnit
            # XML show a passed test, and the grade summary shows the warning.
            report.outcome = "passed"
            report.longrepr = None
        return report

    def _result(self, cid: str, call: pytest.CallInfo[None], report: pytest.TestReport, check: Check | None) -> CheckResult:
        meta = self.spec.check(cid)
        evidence = dict(check.evidence) if check else {}
        status: Status
        hint = meta.hint
        if report.passed:
            status, message = "pass", (check.message if check and check.message else "Passed.")
            hint = ""
        elif report.skipped:
            status, message = "skip", _skip_reason(report)
        else:
            error = call.excinfo.value if call.excinfo else None
            if isinstance(error, CheckFailed):
                status, message = "fail", error.message
            elif isinstance(error, AssertionError):
                status, message = "fail", str(error).split("\n", 1)[0] or f"{meta.title}: not as expected."
            else:
                explained = explain(error, f"check {meta.title.lower()}") if isinstance(error, Exception) else None
                status = "error"
                message = explained.message if explained else "The grader could not run this check."
                hint = ""
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
        if self._grading is not None:
            self._grading.close()
        if not self.results:
            return
        order = list(self.spec.checks)
        checks = tuple(sorted(self.results.values(), key=lambda r: order.index(r.id)))
        grading = self._grading
        finished = datetime.now(timezone.utc)
        self.result = GradeResult(
            student=grading.student if grading else "unknown",
            account_id=grading.identity.account_id if grading else "",
            caller_arn=grading.identity.arn if grading else "",
            region=grading.target.region if grading else (self._option("region") or ""),
            spec_id=self.spec.id,
            spec_title=self.spec.title,
            grader_version=__version__,
            started=self.started.isoformat(timespec="seconds"),
            finished=finished.isoformat(timespec="seconds"),
            duration_seconds=round(time.monotonic() - self._clock, 2),
            checks=checks,
            target=grading.target.kind if grading else "aws",
        )
        if grading is not None and grading.out is not None:
            write_outputs(self.result, grading.out)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.result is None:
            if self._setup_error is not None:
                terminalreporter.write_line(f"grader: {self._setup_error.message}")
            return
        result = self.result
        terminalreporter.section("grade")
        for check in result.checks:
            terminalreporter.write_line(f"{check.status.upper():5} {check.id}: {check.message}")
        terminalreporter.write_line(f"score {result.score:g}/{result.max_score:g}")
        if self._grading is not None and self._grading.out is not None:
            terminalreporter.write_line(f"report: {report_dir(result, self._grading.out) / 'report.html'}")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def report_dir(result: GradeResult, out: Path) -> Path:
    return out / result.student


def write_outputs(result: GradeResult, out: Path) -> Path:
    """Write results.json and report.html under <out>/<student>/; returns that folder."""
    from grader.report import write_report

    folder = report_dir(result, out)
    folder.mkdir(parents=True, exist_ok=True)
    result.write_json(folder / "results.json")
    write_report(result, folder / "report.html")
    return folder

"""The pytest plugin: the evidence as fixtures, and each check's honest verdict.

A check is a test function in `checks/` registered with `@lab_check(id, needs=...)`
(grader/registry.py). The plugin runs the checks the spec lists, in the spec's order, and hands
each check the evidence parts it asks for as fixtures named after them. `grader.pipeline.judge`
passes a `GraderPlugin` holding observed evidence; `pytest checks/` observes the account named by its
options first, then writes the grade (grader/pipeline.py). checks/conftest.py brings this module in
(`__all__`), so its options and fixtures exist for the checks only, never for `pytest tests/`.

Verdicts: `check.fail(...)` is the student's failure; `pytest.skip(...)` a skip; a GraderError
(the grader could not look) is `error`; any other exception, an AssertionError included, is
`error` too, as a bug in the grader; a check that ends without `check.passes(...)` is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import checks
from grader.checking import Check, CheckFailed
from grader.errors import GraderError
from grader.observe import DEFAULT_DEADLINE_S
from grader.observe.evidence import Evidence
from grader.observe.parts import PARTS
from grader.registry import info_of
from grader.results import CheckResult, Status
from grader.spec import DEFAULT_SPEC, LabSpec, SpecError, load_spec
from grader.target import OPTION_HELP

CHECKS_DIR = Path(checks.__file__).parent
EvidenceSource = Callable[[frozenset[str]], Evidence]
"""Observes the parts it is given (the selected checks' needs) when the first check asks for evidence."""


def checks_args(spec: LabSpec, *, quiet: bool = True) -> list[str]:
    """The pytest arguments that run the lab's checks (checks/, whose conftest.py loads this plugin) for `spec`."""
    args = [
        str(CHECKS_DIR),
        # No other installed pytest plugin joins a grade: one could reorder, retry or time out the
        # checks (pytest-randomly, -rerunfailures, -timeout), and none is looked for.
        "--disable-plugin-autoload",
        "-p",
        "no:cacheprovider",
        # Its end-of-run garbage collection costs more than the whole grade in a big process.
        "-p",
        "no:unraisableexception",
        "--rootdir",
        str(CHECKS_DIR.parent),
        "-o",
        "addopts=",
        "--spec",
        str(spec.source),
    ]
    return [*args, "-p", "no:terminal"] if quiet else args


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
    """`pytest checks/` without a plugin from grader.pipeline: grade the account its options name."""
    if not any(isinstance(p, GraderPlugin) for p in config.pluginmanager.get_plugins()):
        from grader.pipeline import CommandLineGrade

        CommandLineGrade(config).register()


def _plugin(config: pytest.Config) -> GraderPlugin:
    """The session's GraderPlugin: the one grader.pipeline passed in, or the command line's."""
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

__all__ = [  # what checks/conftest.py brings to the checks (and only to them): the options, the fixtures
    "check_fixture",
    "evidence_fixture",
    "lab_region_fixture",
    "observed_at_fixture",
    "pytest_addoption",
    "pytest_configure",
    "spec_fixture",
    *(f"{part}_fixture" for part in PARTS),
]


class GraderPlugin:
    """Runs the spec's checks on one account's evidence and keeps each check's verdict in `results`.

    `spec` None: the --spec option's. `evidence`: the observed Evidence, or an EvidenceSource.
    """

    def __init__(
        self, config: pytest.Config | None = None, *, spec: LabSpec | None = None, evidence: Evidence | EvidenceSource
    ) -> None:
        # A plugin made by grader.pipeline gets its config when pytest configures it.
        self.config = config
        self._spec = spec
        self._source = evidence
        self._evidence: Evidence | None = evidence if isinstance(evidence, Evidence) else None
        self.needs: frozenset[str] = frozenset()
        self.results: dict[str, CheckResult] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = self.config or config

    @property
    def spec(self) -> LabSpec:
        if self._spec is None:
            try:
                self._spec = load_spec((self.config.getoption("spec") if self.config else None) or DEFAULT_SPEC)
            except SpecError as exc:
                raise pytest.UsageError(str(exc)) from None
        return self._spec

    def evidence(self) -> Evidence:
        """The account's evidence, observed on first use when the plugin was given a source."""
        if self._evidence is None:
            assert not isinstance(self._source, Evidence)
            self._evidence = self._source(self.needs)
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
                # The hint for the cause the check named; the check's general hint for none, or one without its own.
                status, message, hint = "fail", error.message, meta.hints.get(error.cause, meta.hint)
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
            step=meta.step,
        )


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

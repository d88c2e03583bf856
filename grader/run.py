"""Grade one account: connect, then run the checks under pytest with a prepared plugin.

target -> connect (grader/observe/observer.py) -> the plugin observes the evidence the spec's
checks need (grader/observe/) -> checks judge it (checks/) -> results (grader/results.py) ->
report (grader/report/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import checks
from grader.errors import GraderError
from grader.observe import DEFAULT_DEADLINE_S
from grader.observe.observer import Observer, connect
from grader.plugin import GraderPlugin, refuse_other_account, report_folder_name
from grader.registry import needs_of
from grader.results import GradeResult
from grader.spec import LabSpec
from grader.target import Target

CHECKS_DIR = Path(checks.__file__).parent


def checks_args(spec: LabSpec, *, quiet: bool = True) -> list[str]:
    """The pytest arguments that run the lab's checks (checks/) for `spec`, as a grade does."""
    args = [
        str(CHECKS_DIR),
        # The plugin by name: an installed grader has no conftest.py beside its checks to load it.
        "-p",
        "grader.plugin",
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


def grade(
    target: Target,
    spec: LabSpec,
    out: Path | None,
    *,
    quiet: bool = True,
    browser: Any = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> GradeResult:
    """Grade `target` against `spec`; writes <out>/<student>/ when `out` is given.

    `browser`: a BrowserSession to use and leave open, when grading many accounts in one process
    (launching Chromium costs about a second). Raises GraderError when the grader cannot grade
    at all (credentials, endpoint).
    """
    connection = connect(target, spec, out)
    if out is not None:  # before any work: a folder that holds another account's report is refused
        account = connection.identity.account_id
        refuse_other_account(out / report_folder_name(connection.student, account, named=bool(target.student)), account)
    observer = Observer(connection, browser=browser, deadline_s=deadline_s)
    observer.start_browser(needs_of(spec.checks))
    plugin = GraderPlugin(observer=observer)
    code = pytest.main(checks_args(spec, quiet=quiet), plugins=[plugin])
    if plugin.result is None:
        observer.close()
        raise GraderError(
            f"The checks did not run (pytest exit code {int(code)}). This is a bug in the grader: "
            "run `pytest checks/` to see why, and please report it.",
            kind="bug",
        )
    return plugin.result

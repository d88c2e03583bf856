"""Grade one account: run the checks under pytest with a prepared plugin, return the result."""

from __future__ import annotations

from pathlib import Path

import pytest

import checks
from grader.browser import BrowserSession
from grader.errors import GraderError
from grader.grading import prepare
from grader.plugin import GraderPlugin
from grader.results import GradeResult
from grader.spec import LabSpec
from grader.target import Target

CHECKS_DIR = Path(checks.__file__).parent


def grade(
    target: Target, spec: LabSpec, out: Path | None, *, quiet: bool = True, browser: BrowserSession | None = None
) -> GradeResult:
    """Grade `target` against `spec`; writes <out>/<student>/ when `out` is given.

    `browser`: a session to use and leave open, when grading many accounts in one process
    (launching Chromium costs about a second). Raises GraderError when the grader cannot grade
    at all (credentials, endpoint).
    """
    grading = prepare(target, spec, out, browser=browser)
    plugin = GraderPlugin(grading=grading)
    args = [
        str(CHECKS_DIR),
        "-p", "no:cacheprovider",
        # Its end-of-run garbage collection costs more than the whole grade in a big process.
        "-p", "no:unraisableexception",
        "--rootdir", str(CHECKS_DIR.parent),
        "-o", "addopts=",
        "--spec", str(spec.source),
    ]
    if quiet:
        args += ["-p", "no:terminal"]
    code = pytest.main(args, plugins=[plugin])
    if plugin.result is None:
        raise GraderError(
            f"The checks did not run (pytest exit code {int(code)}). This is a bug in the grader: "
            "run `pytest checks/` to see why, and please report it.",
            kind="bug",
        )
    return plugin.result

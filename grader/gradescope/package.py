"""`grader gradescope-package`: the autograder zip (setup.sh, run_autograder and the grader's wheel).

`build_package` builds the zip from a clone of the grader's repository: it makes the grader's
wheel from that source (offline, with the running Python's pip and setuptools) and puts it beside
the two scripts. An installed grader without its source cannot build the zip, and says so.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import grader
from grader.errors import GraderError
from grader.spec import SpecError, load_spec
from grader.target import AWS_REGION
from grader.text import plain

if TYPE_CHECKING:
    pass

PROJECT_NAME = "vehicle-lab-grader"

AUTOGRADER = Path("/autograder")

SOURCE = AUTOGRADER / "source"

VENV = AUTOGRADER / "grader-venv"

BROWSERS = AUTOGRADER / "ms-playwright"
"""Where setup.sh puts Playwright's Chromium, and where run_autograder tells the grader to look."""

SPEC_FOLDER = "spec"
"""The folder of the zip that holds an instructor's own spec file."""


NOT_SOURCE = shutil.ignore_patterns(".*", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", "reports")


# -- the autograder zip

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu): it installs the
# grader from the wheel beside this file into its own virtual environment, and Playwright's Chromium
# with the system libraries it needs. Ubuntu's own apt Chromium is a snap, which does not run in a
# container: the browser comes from Playwright.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SOURCE={source}
VENV={venv}
export PLAYWRIGHT_BROWSERS_PATH={browsers}

python_at_least_311() {{
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}}

PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_at_least_311 "$candidate"; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    apt-get update
    apt-get install -y --no-install-recommends "python$VERSION-venv"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input "$SOURCE"/{wheel}
# Only the headless shell: Playwright launches it for a headless browser, and it is the lighter download.
"$VENV/bin/python" -m playwright install --with-deps --only-shell chromium
"$VENV/bin/grader" --version
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission, in /autograder: the grader grades the credentials file the
# student submitted and writes /autograder/results/results.json.
set -uo pipefail
export PLAYWRIGHT_BROWSERS_PATH={browsers}
RESULTS=/autograder/results/results.json
if [ ! -x {venv}/bin/grader ]; then
    mkdir -p /autograder/results
    cat > "$RESULTS" <<'EOF'
{not_installed}
EOF
    echo "grader: {venv}/bin/grader is missing: setup.sh did not finish; see the image build's output." >&2
    exit 0
fi
exec {venv}/bin/grader gradescope --spec {spec} --region {region} \\
    --submission /autograder/submission --results "$RESULTS"
"""

NOT_INSTALLED = {
    "score": 0.0,
    "output": (
        "The autograder could not grade your submission, so the 0 here is not a mark for your work: the grader "
        "is not installed in the autograder. Tell your instructor.\n\n"
        "Instructor: setup.sh did not finish when Gradescope built the autograder; read its output on the "
        "autograder's configuration page, fix it, and rebuild the autograder."
    ),
    "tests": [],
}


def build_package(out: Path, *, spec: str, region: str = "us-east-1") -> Path:
    """Build the autograder zip at `out`: setup.sh, run_autograder, the grader's wheel (and a spec file); its path.

    `region` is where every submission's account is graded (AWS Academy's Learner Lab: us-east-1).
    """
    if not AWS_REGION.fullmatch(region):
        raise GraderError(
            f"--region {region!r} does not look like an AWS region: write it like us-east-1.", kind="usage"
        )
    refuse_unwritable(out)
    try:
        lab = load_spec(spec)
    except SpecError as exc:
        raise GraderError(str(exc), kind="usage") from None
    spec_file = lab.source if Path(spec).suffix == ".toml" else None
    spec_argument = f"{SOURCE}/{SPEC_FOLDER}/{spec_file.name}" if spec_file is not None else spec
    source = project_source(Path(grader.__file__))
    with tempfile.TemporaryDirectory(prefix="grader-package-") as work:
        wheel = build_wheel(source, Path(work))
        scripts = {
            "setup.sh": SETUP_SH.format(source=SOURCE, venv=VENV, browsers=BROWSERS, wheel=shlex.quote(wheel.name)),
            "run_autograder": RUN_AUTOGRADER.format(
                venv=VENV,
                browsers=BROWSERS,
                spec=shlex.quote(spec_argument),
                region=shlex.quote(region),
                not_installed=json.dumps(NOT_INSTALLED, indent=2),
            ),
        }
        _write_zip(out, scripts, wheel, spec_file)
    return out


def refuse_unwritable(out: Path) -> None:
    """Raise a GraderError when `out` is a folder, or its nearest existing folder is a file or takes no new file."""
    if out.is_dir():
        raise GraderError(
            f"--out {out} is a folder: name the zip file to write, for example {out / 'autograder.zip'}.", kind="usage"
        )
    nearest = out.parent
    try:
        while not nearest.exists() and nearest.parent != nearest:
            nearest = nearest.parent
        if not nearest.is_dir():
            raise GraderError(f"--out {out} cannot be made: {nearest} is a file, not a folder.", kind="usage")
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as exc:
        raise GraderError(
            f"--out {out} cannot be written ({exc.strerror or type(exc).__name__} in {nearest}): name a file in a "
            "folder you can write to.",
            kind="usage",
        ) from None


def project_source(module_file: Path) -> Path:
    """The clone the grader runs from (the folder holding its pyproject.toml), from grader/__init__.py's path."""
    root = module_file.resolve().parent.parent
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        project = {}
    if project.get("name") != PROJECT_NAME:
        raise GraderError(
            f"The grader here is installed without its source ({root} holds no pyproject.toml of {PROJECT_NAME}), "
            "and the autograder zip is built from the source: build the autograder zip from a clone of the grader's "
            "repository (`.venv/bin/grader gradescope-package` there).",
            kind="usage",
        )
    return root


def build_wheel(source: Path, work: Path) -> Path:
    """The grader's wheel, built offline from a copy of `source` (the clone gets no build folder); its path."""
    copy, dist = work / "source", work / "dist"
    shutil.copytree(source, copy, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    command = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(copy)]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600, check=False)
    wheels = sorted(dist.glob("*.whl")) if dist.is_dir() else []
    if done.returncode != 0 or not wheels:
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no wheel was made")
        raise GraderError(
            f"Building the grader's wheel failed ({plain(last.strip(), newlines=False)}). It is built offline with "
            "this environment's pip and setuptools: install the development tools (`pip install -e '.[dev]'`, or "
            "./bootstrap.sh test) and build again.",
            kind="usage",
        )
    return wheels[0]


def _write_zip(out: Path, scripts: dict[str, str], wheel: Path, spec_file: Path | None) -> None:
    """Write the zip through a temporary file beside `out`: the scripts executable, the wheel and spec readable."""
    members: list[tuple[str, bytes, int]] = [(name, text.encode("utf-8"), 0o755) for name, text in scripts.items()]
    members.append((wheel.name, wheel.read_bytes(), 0o644))
    if spec_file is not None:
        members.append((f"{SPEC_FOLDER}/{spec_file.name}", spec_file.read_bytes(), 0o644))
    stamp = time.localtime()[:6]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp", delete=False) as file:
            staged = Path(file.name)
        try:
            with zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, data, mode in members:
                    info = zipfile.ZipInfo(name, date_time=stamp)
                    info.create_system = 3  # unix: unzip then applies the mode below
                    info.external_attr = (0o100000 | mode) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, data)
            staged.replace(out)
        finally:
            staged.unlink(missing_ok=True)
    except OSError as exc:
        raise GraderError(
            f"--out {out} cannot be written ({exc.strerror or type(exc).__name__}): name a file in a folder you can "
            "write to.",
            kind="usage",
        ) from None

"""The wheel holds everything: built from the checkout, installed (not editable) in a fresh virtual environment, and
run from there, away from the checkout, the grader lists and grades its scenarios as it does from a clone.

Nothing is downloaded: the wheel is built with the project environment's setuptools, installed without its
dependencies, and the new environment reads those from the project environment's site-packages through a .pth
file. That directory holds no copy of the grader (the project's own install is editable, through a finder that a
.pth line does not run), and a test checks that the grader, its checks and its data are the new environment's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import __version__
from grader.sandbox.scenarios import scenario_names
from grader.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".*", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", "reports")
PACKAGED = {"grader": "grader", "checks": "checks", "fixtures": "grader/fixtures"}
"""Each folder of the checkout that the wheel carries, and where it lies in the wheel."""


@dataclass(frozen=True)
class Installed:
    """The grader installed from its wheel in a fresh virtual environment."""

    wheel: Path
    python: Path
    grader: Path
    site_packages: Path
    workdir: Path

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`grader ARGS` from the new environment, in a folder outside the checkout."""
        env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")}
        return subprocess.run(
            [str(self.grader), *args], cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout
        )


def _can_build_wheels_offline() -> bool:
    """Whether this environment's setuptools makes wheels by itself (70.1 and newer), or has `wheel` beside it."""
    return any(importlib.util.find_spec(name) for name in ("setuptools.command.bdist_wheel", "wheel"))


def _left_out(parts: tuple[str, ...]) -> bool:
    """A path no wheel carries: Python's byte-code caches and hidden files (an editor's, the file system's)."""
    return any(part == "__pycache__" or part.startswith(".") for part in parts)


def _step(args: list[str], what: str, cwd: Path) -> str:
    """Run one step of the install; its output is the failure's message when it fails."""
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{what} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel from a copy of the checkout, install it in a new venv, and lend it the project's dependencies."""
    if not _can_build_wheels_offline():
        pytest.fail(
            "Building the wheel without a download needs setuptools 70.1 or newer in the project environment; "
            "the dev extra pins one: run ./bootstrap.sh test (or pip install -e '.[dev]') first."
        )
    base = tmp_path_factory.mktemp("wheel")
    source, dist, venv, workdir = base / "source", base / "dist", base / "venv", base / "work"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # built in a copy: the checkout gets no build/ folder
    workdir.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _step(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source)],
        "pip wheel",
        base,
    )
    wheel = next(dist.glob("vehicle_lab_grader-*.whl"))
    _step([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv", base)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _step([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], "pip install", base)
    paths = json.loads(
        _step(
            [str(python), "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"],
            "sysconfig",
            workdir,
        )
    )
    site_packages = Path(paths["purelib"])
    lent = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "project-dependencies.pth").write_text("".join(f"{path}\n" for path in lent), encoding="utf-8")
    grader = Path(paths["scripts"]) / ("grader.exe" if os.name == "nt" else "grader")
    return Installed(wheel=wheel, python=python, grader=grader, site_packages=site_packages, workdir=workdir)


def test_the_wheel_holds_every_file_of_the_grader_its_checks_and_its_data(installed: Installed) -> None:
    """Every file under grader/, checks/ and fixtures/ (scenario data and the course website) is in the wheel."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    expected = {
        f"{inside}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, inside in PACKAGED.items()
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix != ".pyc" and not _left_out(path.relative_to(ROOT).parts)
    }
    assert {"grader/fixtures/lab.toml", "grader/fixtures/scenarios.toml", "grader/fixtures/site/rebuild.py"} <= expected
    assert sorted(expected - names) == []
    assert not [name for name in names if name.startswith(("tests/", "fixtures/"))], "only the product is installed"


def test_the_installed_grader_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    """grader, checks and the scenario data are imported from the new environment's site-packages."""
    code = (
        "import json, checks, grader, grader.fixtures; from grader.sandbox.scenarios import FIXTURES; "
        "print(json.dumps([grader.__file__, checks.__file__, grader.fixtures.__file__, str(FIXTURES)]))"
    )
    proc = subprocess.run(
        [str(installed.python), "-c", code], cwd=installed.workdir, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    for path in json.loads(proc.stdout):
        assert Path(path).is_relative_to(installed.site_packages), path
    assert Path(json.loads(proc.stdout)[3]) == installed.site_packages / "grader" / "fixtures"


def test_the_installed_grader_says_its_version(installed: Installed) -> None:
    """`grader --version` from the wheel is this checkout's version."""
    proc = installed.run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"grader {__version__}"


def test_the_installed_grader_lists_every_scenario(installed: Installed) -> None:
    """`grader demo --list` from the wheel reads its own scenario data and names each scenario."""
    proc = installed.run("demo", "--list")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    first_words = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    assert set(scenario_names()) <= first_words, proc.stdout


@pytest.mark.browser
def test_the_installed_grader_grades_the_finished_lab_to_full_marks(installed: Installed) -> None:
    """`grader demo` from the wheel deploys its own copy of the course website in the sandbox and scores full marks."""
    out = installed.workdir / "reports"
    proc = installed.run("demo", "--out", str(out), timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    full = sum(check.points for check in load_spec().checks.values() if not check.advisory)
    assert f"Score {full}/{full}" in proc.stdout
    data = json.loads((out / "demo-finished" / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == data["max_score"] == full
    assert (out / "demo-finished" / "report.html").is_file()

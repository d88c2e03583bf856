"""The check registry: every check declares its id and needs, ids are unique, specs are checked against it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.fixtures import FixtureFunctionDefinition

import checks
import checks.conftest
from grader.observe.parts import PARTS, closure
from grader.registry import info_of, narrowed_part, narrowing, registered
from grader.spec import SpecError, available_specs, load_spec


def check_functions() -> list[tuple[str, object]]:
    found = []
    for module in pkgutil.iter_modules(checks.__path__):
        if module.name.startswith("test_"):
            loaded = importlib.import_module(f"checks.{module.name}")
            for name, fn in inspect.getmembers(loaded, inspect.isfunction):
                if name.startswith("test_") and fn.__module__ == loaded.__name__:
                    found.append((f"{module.name}.{name}", fn))
    return found


def test_every_check_function_is_registered_under_its_module_and_name() -> None:
    """checks/test_pool.py::test_mfa_off is registered as pool.mfa_off: id, test name and spec entry agree."""
    functions = check_functions()
    assert functions
    for where, fn in functions:
        info = info_of(fn)
        assert info is not None, f"{where} has no @lab_check"
        module, name = where.split(".")
        assert info.id == f"{module.removeprefix('test_')}.{name.removeprefix('test_')}", where
    assert sorted(registered()) == sorted(info_of(fn).id for _, fn in functions)  # type: ignore[union-attr]


@pytest.mark.parametrize(("where", "fn"), check_functions(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_check_declares_exactly_the_evidence_it_reads(where: str, fn: object) -> None:
    """The parts a check's fixtures read are the parts it declares (what they depend on is observed too)."""
    info = info_of(fn)
    assert info is not None
    assert used_parts(fn) == set(info.needs), where
    assert used_parts(fn) <= closure(info.needs)


def used_parts(fn: object) -> set[str]:
    """The evidence parts `fn` takes: as a parameter, or through a fixture of checks/conftest.py that narrows one."""
    narrowed = narrowing()
    params = set(inspect.signature(fn).parameters)  # type: ignore[arg-type]
    return {p for p in params if p in PARTS} | {narrowed[p] for p in params if p in narrowed}


def conftest_fixtures() -> dict[str, FixtureFunctionDefinition]:
    """The fixtures checks/conftest.py defines, by fixture name."""
    found = {f.name: f for f in vars(checks.conftest).values() if isinstance(f, FixtureFunctionDefinition)}
    assert found, "checks/conftest.py defines no fixture"
    return found


def test_a_narrowing_fixture_declares_the_one_part_it_reads() -> None:
    """Each fixture of checks/conftest.py that reads evidence declares (`@narrows`) the one part it reads, so a
    check taking it is known to read that part; a fixture reading no evidence declares none."""
    fixtures = conftest_fixtures()
    assert set(narrowing()) <= set(fixtures), "@narrows on something that is not a fixture of checks/conftest.py"
    for name, fixture in fixtures.items():
        reads = used_parts(fixture)
        declared = narrowed_part(fixture)
        assert reads == ({declared} if declared else set()), f"{name} reads {sorted(reads)}, declares {declared}"


@pytest.mark.parametrize("spec_id", available_specs())
def test_a_built_in_spec_lists_every_registered_check(spec_id: str) -> None:
    """A built-in spec that leaves out a registered check (or names one twice) is a test failure."""
    assert sorted(load_spec(spec_id).checks) == sorted(registered())


def test_a_spec_naming_an_unknown_check_is_refused_with_the_nearest_id(tmp_path: Path) -> None:
    """A typo in an instructor's copy names the file, the id and the nearest known id."""
    text = (Path(__file__).parents[1] / "grader" / "labs" / "itm300-m03.toml").read_text(encoding="utf-8")
    path = tmp_path / "mine.toml"
    path.write_text(text.replace('[checks."pool.mfa_off"]', '[checks."pool.mfa_of"]', 1), encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    message = str(raised.value)
    assert str(path) in message
    assert "pool.mfa_of" in message
    assert "Did you mean pool.mfa_off?" in message


def test_checks_import_nothing_that_does_io() -> None:
    """Loading every check loads no AWS SDK, HTTP client, browser driver or sandbox: checks read only evidence."""
    code = (
        "import sys, checks.conftest\n"
        "from grader.registry import registered\n"
        "registered()\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'requests', 'urllib3', 'playwright', 'moto')"
        " if m in sys.modules))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr

"""The registry of checks: each check declares its id and the evidence it needs, on itself.

A check is a test function in `checks/` decorated with :func:`lab_check`::

    @lab_check("pool.mfa_off", needs=("snapshot",))
    def test_mfa_off(pool: Pool, spec: LabSpec, check: Check) -> None: ...

The id is the one a spec names and a report shows; `needs` names the parts of the
:class:`~grader.observe.Evidence` the check reads (what they depend on is observed too). Only the
parts that the selected checks need are observed.

A fixture of the checks' own (checks/conftest.py) that hands a check a narrower view of one part
(`pool` of the snapshot, `reachable_site` of the site) declares that part with :func:`narrows`, so
that a check taking the fixture is known to read the part::

    @pytest.fixture
    @narrows("snapshot")
    def pool(snapshot: Snapshot, spec: LabSpec) -> Pool: ...
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from grader.observe.parts import PARTS

F = TypeVar("F", bound=Callable[..., Any])
CHECKS_PACKAGE = "checks"
_ATTRIBUTE = "grader_check"
_NARROWS = "grader_narrows"


@dataclass(frozen=True)
class CheckInfo:
    """What a check says about itself."""

    id: str
    needs: frozenset[str]
    module: str
    function: str
    after: tuple[str, ...] = ()
    """The checks it builds on: on the lab as it is, it cannot pass unless they pass (grader/causes.py)."""


_REGISTRY: dict[str, CheckInfo] = {}


def lab_check(check_id: str, *, needs: Iterable[str] = (), after: Iterable[str] = ()) -> Callable[[F], F]:
    """Register the decorated test function as the check `check_id`, reading the parts `needs`, building on
    the checks `after` (a failure of one of those explains this check's failure or skip)."""
    wanted = frozenset(needs)
    unknown = sorted(wanted - set(PARTS))
    if unknown:
        raise ValueError(f"check {check_id}: unknown evidence part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")

    def register(function: F) -> F:
        info = CheckInfo(check_id, wanted, function.__module__, function.__name__, tuple(after))
        known = _REGISTRY.get(check_id)
        if known is not None and (known.module, known.function) != (info.module, info.function):
            raise ValueError(
                f"check id {check_id} is registered twice: {known.module}.{known.function} and "
                f"{info.module}.{info.function}"
            )
        _REGISTRY[check_id] = info
        setattr(function, _ATTRIBUTE, info)
        return function

    return register


def narrows(part: str) -> Callable[[F], F]:
    """Declare the decorated fixture a narrower view of the evidence part `part` (put it under `@pytest.fixture`).

    A check that takes the fixture reads `part`, so it names `part` in its `needs`.
    """
    if part not in PARTS:
        raise ValueError(f"unknown evidence part {part}; known: {', '.join(PARTS)}")

    def declare(function: F) -> F:
        setattr(function, _NARROWS, part)
        return function

    return declare


def narrowed_part(fixture: Any) -> str | None:
    """The evidence part a fixture declared with :func:`narrows` (None for any other object)."""
    part = getattr(fixture, _NARROWS, None)
    return part if isinstance(part, str) else None


def narrowing() -> dict[str, str]:
    """The checks' own narrowing fixtures (checks/conftest.py) by fixture name, each with the part it narrows."""
    conftest = importlib.import_module(f"{CHECKS_PACKAGE}.conftest")
    found: dict[str, str] = {}
    for name, value in vars(conftest).items():
        part = narrowed_part(value)
        if part is not None:
            found[str(getattr(value, "name", name))] = part  # pytest's fixture name (`name=` may rename it)
    return found


def info_of(function: Any) -> CheckInfo | None:
    """The CheckInfo of a registered check function (None for any other function)."""
    info = getattr(function, _ATTRIBUTE, None)
    return info if isinstance(info, CheckInfo) else None


def registered() -> dict[str, CheckInfo]:
    """Every check of the `checks` package, by id (its modules are imported on first call).

    Checks registered from elsewhere (a test's own) are not among them.
    """
    package = importlib.import_module(CHECKS_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"{CHECKS_PACKAGE}.{module.name}")
    return {cid: info for cid, info in _REGISTRY.items() if info.module.startswith(f"{CHECKS_PACKAGE}.")}


def needs_of(check_ids: Iterable[str]) -> frozenset[str]:
    """The evidence parts the registered checks among `check_ids` read (unknown ids need nothing)."""
    known = registered()
    return frozenset(need for cid in check_ids if cid in known for need in known[cid].needs)


def builds_on(check_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each registered check among `check_ids`, with the checks it builds on (`after`) among `check_ids`."""
    known = registered()
    wanted = set(check_ids)
    return {cid: tuple(d for d in known[cid].after if d in wanted) for cid in wanted if cid in known}


def known_ids() -> set[str]:
    """Every registered check id: the `checks` package's, and any a test registered of its own."""
    return set(registered()) | set(_REGISTRY)


def nearest(check_id: str) -> str | None:
    """The registered id closest to `check_id` (for a message about a typo), or None."""
    close = difflib.get_close_matches(check_id, sorted(known_ids()), n=1, cutoff=0.6)
    return close[0] if close else None

"""The lab spec: what a finished lab looks like, and every check's title, points, hints and advisory flag.

Specs are data (`grader/labs/<id>.toml`, or an instructor's own file). Loading validates them:
an unreadable or non-UTF-8 file, an unknown key, a value of the wrong type or a number that is
not finite (nan, inf) is a `SpecError` naming the file (and the key).

A check's `hint` is what to do when it fails; `[checks."<id>".hints]` may give a hint of its own to
each cause the check names (`check.fail(..., cause="<cause>")`, grader/checking.py). A key there that
names no cause of the check is an unknown key, refused like any other.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import math
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

LABS_DIR = Path(__file__).parent / "labs"
DEFAULT_SPEC = "itm300-m03"


class SpecError(Exception):
    """A lab spec that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Expected:
    """The end state of a finished lab: what the lab text has the student set up (values in grader/labs/*.toml)."""

    pool_name: str = ""
    """Exact pool name; empty means: the pool that holds an app client named `client_name`."""
    client_name: str = ""
    """Exact app client name; empty means any name."""
    username: str = "janedoe"
    final_password: str = ""
    sign_in_attributes: list[str] = field(default_factory=list)
    """`UsernameAttributes` of the pool: empty means sign-in with a user name."""
    password_policy: dict[str, Any] = field(default_factory=dict)
    mfa: str = "OFF"
    recovery_mechanisms: list[str] = field(default_factory=lambda: ["admin_only"])
    admin_create_user_only: bool = True
    email_sending_account: str = "COGNITO_DEFAULT"
    auth_flows: list[str] = field(default_factory=lambda: ["ALLOW_USER_SRP_AUTH"])
    oauth_flows: list[str] = field(default_factory=lambda: ["implicit"])
    oauth_scopes: list[str] = field(default_factory=lambda: ["openid"])
    identity_providers: list[str] = field(default_factory=lambda: ["COGNITO"])
    trail_name: str = "VehicleApp-Trail"
    events_days: float = 90
    """How far back event history is searched for the website's sign-ins (at most 90 days)."""
    delivery_delay_minutes: float = 15
    """How long CloudTrail may take to deliver a trail's first log file."""


@dataclass(frozen=True)
class CheckSpec:
    """How one check is presented and scored."""

    id: str
    title: str
    section: str
    points: float
    hint: str
    step: str = ""
    advisory: bool = False
    """An advisory check warns instead of failing, scores nothing and leaves the exit code alone."""
    hints: dict[str, str] = field(default_factory=dict)
    """A hint for each cause the check names (`check.fail(..., cause=...)`); `hint` for any other failure."""


@dataclass(frozen=True)
class LabSpec:
    id: str
    title: str
    source: Path
    expected: Expected
    checks: dict[str, CheckSpec]

    def check(self, check_id: str) -> CheckSpec:
        return self.checks[check_id]


def available_specs() -> list[str]:
    return sorted(p.stem for p in LABS_DIR.glob("*.toml"))


def load_spec(name_or_path: str | Path = DEFAULT_SPEC) -> LabSpec:
    """Load a built-in spec by id, or an instructor's spec file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = LABS_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            raise SpecError(
                f"There is no built-in lab spec {str(name_or_path)!r}; "
                f"choose one of {', '.join(available_specs())} or give the path of a .toml file."
            )
    if not path.exists():
        raise SpecError(f"The lab spec file {path} does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start} cannot be read); save the spec as UTF-8.") from None
    except OSError as exc:
        raise SpecError(f"The lab spec file {path} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc}).") from None
    _only_finite(data, str(path), "")
    return _parse(data, path)


def _only_finite(value: Any, where: str, key: str) -> None:
    """Refuse nan and inf (TOML allows them): a score of nan would reach results.json and the report."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{where}: {key} must be a finite number, not {value}.")
    if isinstance(value, dict):
        for name, item in value.items():
            _only_finite(item, where, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _only_finite(item, where, f"{key}[{index}]")


def _parse(data: dict[str, Any], path: Path) -> LabSpec:
    where = str(path)
    _only_keys(data, {"id", "title", "expected", "checks"}, where, "")
    spec_id = _typed(data, "id", str, where, "")
    title = _typed(data, "title", str, where, "")
    expected = _build(Expected, data.get("expected", {}), where, "expected.")
    checks_data = data.get("checks", {})
    if not isinstance(checks_data, dict) or not checks_data:
        raise SpecError(f"{where}: [checks] must list at least one check.")
    checks = {}
    for check_id, entry in checks_data.items():
        if not isinstance(entry, dict):
            raise SpecError(f"{where}: checks.{check_id} must be a table.")
        checks[check_id] = _build(CheckSpec, {"id": check_id, **entry}, where, f"checks.{check_id}.")
    _only_known_checks(checks, where)
    for meta in checks.values():
        _only_known_causes(meta, where)
    return LabSpec(id=spec_id, title=title, source=path, expected=expected, checks=checks)


def _only_known_checks(checks: dict[str, CheckSpec], where: str) -> None:
    """Refuse a check id the grader does not have (a typo would silently drop the real check)."""
    from grader.registry import known_ids, nearest

    known = known_ids()
    for check_id in checks:
        if check_id not in known:
            close = nearest(check_id)
            guess = f" Did you mean {close}?" if close else ""
            raise SpecError(
                f'{where}: [checks."{check_id}"] names no check the grader has.{guess} '
                f"The checks are: {', '.join(sorted(known))}."
            )


def _only_known_causes(meta: CheckSpec, where: str) -> None:
    """Refuse a hint for a cause the check never names (a typo would silently show the general hint)."""
    prefix = f"checks.{meta.id}.hints."
    for cause, hint in meta.hints.items():
        _check_type(hint, str, where, prefix + cause)
    causes = causes_of(meta.id)
    if causes is not None:
        _only_keys(meta.hints, set(causes) or {"(none: this check names no cause)"}, where, prefix)


@functools.cache
def causes_of(check_id: str) -> frozenset[str] | None:
    """The causes the registered check `check_id` can name: every literal `cause="<id>"` (a keyword argument
    or an assignment to `cause`) in its function and in the functions of its module that it calls.

    None when the check is not one of the `checks` package's or its source cannot be read.
    """
    from grader.registry import registered

    info = registered().get(check_id)
    if info is None:
        return None
    try:
        tree = ast.parse(inspect.getsource(importlib.import_module(info.module)))
    except (OSError, TypeError, SyntaxError):
        return None
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    found: set[str] = set()
    todo, seen = [info.function], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                todo.append(node.func.id)
            found.update(_cause_literals(node))
    return frozenset(found)


def _cause_literals(node: ast.AST) -> list[str]:
    """The cause ids `node` writes literally: `cause="<id>"` as a keyword, or `cause = "<id>"`."""
    value: ast.expr | None = None
    if isinstance(node, ast.keyword) and node.arg == "cause":
        value = node.value
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id == "cause" for t in targets):
            value = node.value
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
        return [value.value]
    return []


def _build(cls: type, values: Any, where: str, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise SpecError(f"{where}: {prefix.rstrip('.')} must be a table.")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    _only_keys(values, known, where, prefix)
    for key, value in values.items():
        _check_type(value, hints[key], where, prefix + key)
    try:
        return cls(**values)
    except TypeError as exc:  # a required key is missing
        missing = sorted(
            f.name
            for f in fields(cls)
            if f.name not in values and f.default is MISSING and f.default_factory is MISSING
        )
        raise SpecError(f"{where}: {prefix}{', '.join(missing) or '?'} is required ({exc}).") from None


def _only_keys(values: dict[str, Any], known: set[str], where: str, prefix: str) -> None:
    for key in values:
        if key not in known:
            raise SpecError(f"{where}: unknown key {prefix}{key}; known keys here are {', '.join(sorted(known))}.")


def _typed(data: dict[str, Any], key: str, kind: type, where: str, prefix: str) -> Any:
    if key not in data:
        raise SpecError(f"{where}: {prefix}{key} is required.")
    _check_type(data[key], kind, where, prefix + key)
    return data[key]


def _check_type(value: Any, hint: Any, where: str, key: str) -> None:
    origin = getattr(hint, "__origin__", hint)
    if origin is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        name = "a number"
    elif origin is bool:
        ok, name = isinstance(value, bool), "true or false"
    elif origin is str:
        ok, name = isinstance(value, str), "a string"
    elif origin is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        name = "a list of strings"
    elif origin is dict:
        ok, name = isinstance(value, dict), "a table"
    else:
        ok, name = True, ""
    if not ok:
        raise SpecError(f"{where}: {key} must be {name}, not {value!r}.")

"""evidence.json: an account's Evidence saved beside its results, and read back to judge it again offline.

The file is JSON with a schema number. Values are written as plain JSON where JSON has the type
(strings, numbers, booleans, lists, string-keyed objects); everything else is an object tagged
with "@": a tuple, a datetime, bytes (the screenshot), a GraderError, an evidence part that was
not observed, or one of the grader's own dataclasses by module and name. Reading builds only
dataclasses of the modules in EVIDENCE_MODULES, field by field; anything else in the file is
refused with a sentence, never built.

No secret is in the evidence to begin with: tokens are verified while the account is observed
and only their claims and problems are kept; passwords and cookies are never part of it.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.errors import GraderError, error_kind
from grader.observe.evidence import NOT_OBSERVED, Evidence

EVIDENCE_FILE = "evidence.json"
SCHEMA = 1
TAG = "@"
EVIDENCE_MODULES = frozenset(
    {
        "grader.snapshot",
        "grader.trail",
        "grader.site",
        "grader.authorize",
        "grader.tokens",
        "grader.observe.evidence",
        "grader.observe.signins",
    }
)
"""The only modules whose dataclasses evidence.json may name."""


class UnreadableEvidence(ValueError):
    """evidence.json holds something the grader did not write."""


def dumps(evidence: Evidence, *, graded: dict[str, Any] | None = None) -> str:
    """`evidence` as the text of evidence.json; `graded` keeps the grade's own finish time and duration."""
    document = {"schema": SCHEMA, "graded": graded or {}, "evidence": encode(evidence)}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def loads(text: str) -> tuple[Evidence, dict[str, Any]]:
    """The Evidence and the `graded` block of evidence.json's text; UnreadableEvidence says what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UnreadableEvidence(f"it is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else None
        raise UnreadableEvidence(f"its schema is {found!r}, and this grader reads schema {SCHEMA}")
    evidence = decode(document.get("evidence"))
    if not isinstance(evidence, Evidence):
        raise UnreadableEvidence("it holds no evidence")
    graded = document.get("graded")
    return evidence, graded if isinstance(graded, dict) else {}


def read_evidence(folder: Path) -> tuple[Evidence, dict[str, Any]]:
    """The evidence saved in `folder`; a GraderError (kind usage) when there is none the grader can read."""
    path = folder / EVIDENCE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraderError(
            f"{folder} holds no {EVIDENCE_FILE}: only a grade made by this version of the grader or later can be "
            "judged again. Grade the account again instead.",
            kind="usage",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraderError(f"The grader could not read {path} ({exc}).", kind="usage") from None
    try:
        return loads(text)
    except UnreadableEvidence as exc:
        raise GraderError(
            f"{path} is not evidence this grader wrote: {exc}. Grade the account again instead.", kind="usage"
        ) from None


def encode(value: Any) -> Any:
    """`value` as JSON data (see the module's docstring)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is NOT_OBSERVED:
        return {TAG: "not-observed"}
    if isinstance(value, GraderError):
        return {TAG: "GraderError", "message": value.message, "kind": value.kind}
    if isinstance(value, datetime):
        return {TAG: "datetime", "iso": value.isoformat()}
    if isinstance(value, bytes):
        return {TAG: "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) and key != TAG for key in value):
            return {key: encode(item) for key, item in value.items()}
        return {TAG: "dict", "items": [[encode(key), encode(item)] for key, item in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        if kind.__module__ not in EVIDENCE_MODULES:
            raise TypeError(f"{kind.__module__}.{kind.__qualname__} is not a type of the evidence")
        fields = {f.name: encode(_said(f, getattr(value, f.name))) for f in dataclasses.fields(value) if f.init}
        return {TAG: f"{kind.__module__}:{kind.__qualname__}", **fields}
    raise TypeError(f"{type(value).__name__} is not a type of the evidence")


def _said(field: dataclasses.Field[Any], value: Any) -> Any:
    """A field's value as saved: a field of secrets keeps its keys only."""
    if field.metadata.get("secret_values") and isinstance(value, dict):
        return dict.fromkeys(value, "")
    return value


def decode(data: Any) -> Any:
    """The value `data` was encoded from; UnreadableEvidence for anything `encode` does not write."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        raise UnreadableEvidence(f"it holds a {type(data).__name__}")
    tag = data.get(TAG)
    if tag is None:
        return {key: decode(item) for key, item in data.items()}
    try:
        return _tagged(str(tag), data)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, UnreadableEvidence):
            raise
        raise UnreadableEvidence(f"its {str(tag)[:80]!r} value is malformed ({type(exc).__name__})") from None


def _tagged(tag: str, data: dict[str, Any]) -> Any:
    if tag == "not-observed":
        return NOT_OBSERVED
    if tag == "GraderError":
        return GraderError(str(data["message"]), kind=error_kind(str(data["kind"])))
    if tag == "datetime":
        return datetime.fromisoformat(str(data["iso"]))
    if tag == "bytes":
        return base64.b64decode(str(data["base64"]), validate=True)
    if tag == "tuple":
        return tuple(decode(item) for item in data["items"])
    if tag == "dict":
        return {decode(key): decode(item) for key, item in data["items"]}
    return _dataclass(tag, data)


def _dataclass(tag: str, data: dict[str, Any]) -> Any:
    module_name, _, name = tag.partition(":")
    if module_name not in EVIDENCE_MODULES or not name.isidentifier():
        raise UnreadableEvidence(f"it names the type {tag[:80]!r}, which is not a type of the evidence")
    kind = getattr(importlib.import_module(module_name), name, None)
    if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
        raise UnreadableEvidence(f"it names the type {tag[:80]!r}, which is not a type of the evidence")
    known = {f.name for f in dataclasses.fields(kind) if f.init}
    given = {key: decode(item) for key, item in data.items() if key != TAG}
    unknown = sorted(set(given) - known)
    if unknown:
        raise UnreadableEvidence(f"its {name} has fields this grader does not know: {', '.join(unknown)[:200]}")
    return kind(**given)

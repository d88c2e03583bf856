"""What no file the grader writes may hold: each kind of secret a grade handles, found by its shape or value."""

from __future__ import annotations

import re
from pathlib import Path

SECRET_SHAPES = {
    "a JSON Web Token (an id, access or refresh token)": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"),
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    "an AWS secret key or session token field": re.compile(r"(?i)secret_?access_?key|session_?token\W*[:=]"),
    "a cookie header": re.compile(r"(?i)\b(?:set-)?cookie\s*:"),
    "a cookie value": re.compile(r"(?i)\b(?:XSRF-TOKEN|cognito[\w-]*)=[A-Za-z0-9%._-]{8,}"),
}


def leaks(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """The kinds of secret in `text`: by shape, and any of the `known` values (passwords, keys)."""
    found = [kind for kind, shape in SECRET_SHAPES.items() if shape.search(text)]
    found += [f"the known secret {value[:3]}..." for value in known if value and value in text]
    return found


def leaks_in_folder(folder: Path, known: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Every file under `folder` that holds a secret, with the kinds found."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            kinds = leaks(path.read_text(encoding="utf-8", errors="replace"), known)
            if kinds:
                found[str(path.relative_to(folder))] = kinds
    return found

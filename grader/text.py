"""Text from outside the grader made safe to print on a terminal: no escape sequences, no control characters."""

from __future__ import annotations

import re

_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erasing
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC: window title, hyperlinks
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # any other escape
)
# C0 and C1 controls but the newline, and the invisible marks that reorder text (bidi overrides).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(text: object, *, newlines: bool = True) -> str:
    """`text` without terminal escape sequences or control characters (tabs become spaces)."""
    cleaned = _ESCAPE_SEQUENCE.sub("", str(text)).replace("\t", " ")
    if not newlines:
        cleaned = cleaned.replace("\n", " ")
    return _CONTROL.sub("", cleaned)

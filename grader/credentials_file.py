"""A student's credentials file: the `[default]` block of the lab's AWS Details, read the one way every command does.

Students save the block with whatever editor they have: Notepad adds a UTF-8 byte order mark, PowerShell 5's `>`
writes UTF-16, an editor wraps the long session token onto a second line. The file is read as a small text file
(at most MAX_FILE_BYTES, never a device or a named pipe), decoded from any of those encodings, its lines stripped,
and its values taken literally (a `%` is part of the value). No message holds a key, a secret, a token or any of the
file's text: only its path and what to do.
"""

from __future__ import annotations

import codecs
import configparser
import os
import re
import stat
from pathlib import Path

from grader.errors import GraderError

MAX_FILE_BYTES = 64 * 1024
"""A credentials block is under a kilobyte: a bigger file is not read."""

REQUIRED_KEYS = ("aws_access_key_id", "aws_secret_access_key")
OPTIONAL_KEYS = ("aws_session_token",)

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""Read only; a named pipe opened without waiting for a writer; on Windows, bytes as they are (no text mode)."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose mark begins it
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_KEY_LINE = re.compile(rf"({'|'.join((*REQUIRED_KEYS, *OPTIONAL_KEYS))})\s*[=:]", re.IGNORECASE)
_VALUE_PIECE = re.compile(r"[A-Za-z0-9+/]+={0,2}|={1,2}")
"""What the rest of a key, a secret or a token looks like on a line of its own."""
_NOT_A_WORD = re.compile(r"[0-9+/=]|.{16}")
"""A piece with a digit, `+`, `/` or `=`, or a long one: not a word a student wrote under the block."""

_NOT_THE_FORM = (
    "is not in the [default] key = value form that AWS Details shows. Copy that block into the file as it is."
)


def read_credentials_file(path: Path) -> dict[str, str]:
    """The keys of the `[default]` block an AWS Academy lab shows under AWS Details, read from `path`."""
    return parse_credentials(read_text(path), path)


def read_text(path: Path) -> str:
    """The text of the small text file at `path`; a GraderError (no-credentials) says why it is not one."""
    text = decode(read_small_file(path))
    if text is None:
        raise _refused(
            path,
            "is not a text file. Save the [default] block of AWS Details in a plain text file (with Notepad or "
            "TextEdit, say) and use that file.",
        )
    return text


def read_small_file(path: Path) -> bytes:
    """The bytes of the regular file at `path`, MAX_FILE_BYTES at most; never waits on a pipe or reads a device."""
    try:
        _ensure_regular(path.stat().st_mode, path)
        descriptor = os.open(path, _OPEN_FLAGS)
        try:
            _ensure_regular(os.fstat(descriptor).st_mode, path)  # the path may name another file since `stat`
            data = _read_at_most(descriptor, MAX_FILE_BYTES + 1)
        finally:
            os.close(descriptor)
    except (FileNotFoundError, NotADirectoryError):
        raise _refused(path, "does not exist.") from None
    except OSError as exc:
        raise _refused(path, f"could not be read ({exc.strerror or type(exc).__name__}).") from None
    except ValueError:
        raise _refused(path, "is not a usable file name.") from None
    if len(data) > MAX_FILE_BYTES:
        raise _refused(
            path,
            f"is larger than {MAX_FILE_BYTES // 1024} KiB, far more than the few lines of the [default] block: "
            "check that it is the right file.",
        )
    return data


def _ensure_regular(mode: int, path: Path) -> None:
    """Refuse anything but a regular file, saying what it is instead."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise _refused(path, "is a folder: give the path of the file in it that holds the [default] block.")
    raise _refused(
        path,
        f"is not a regular file (it is {_kind_of(mode)}): give the path of the text file that holds the "
        "[default] block.",
    )


def _kind_of(mode: int) -> str:
    """What a file that is not a regular file nor a folder is, in words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _read_at_most(descriptor: int, limit: int) -> bytes:
    """Up to `limit` bytes from `descriptor`, until its end."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(descriptor, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def decode(data: bytes) -> str | None:
    """`data` as text: UTF-8 or UTF-16 (with a byte order mark, or plain ASCII without one); None if it is no text."""
    try:
        text = data.decode(_encoding_of(data))
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _encoding_of(data: bytes) -> str:
    """The encoding `data` says by its byte order mark, or shows by its NUL bytes (UTF-16 without a mark)."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            return encoding
    if data and len(data) % 2 == 0:
        evens, odds = data[0::2], data[1::2]
        if not odds.strip(b"\x00") and b"\x00" not in evens:
            return "utf-16-le"
        if not evens.strip(b"\x00") and b"\x00" not in odds:
            return "utf-16-be"
    return "utf-8"


def parse_credentials(text: str, path: Path) -> dict[str, str]:
    """The key id, secret and (if any) session token of the block in `text`; `path` only names the file in errors."""
    lines = [line.strip() for line in text.splitlines()]
    split = _split_value(lines)
    if split is not None:
        key, count = split
        raise GraderError(
            f"In the credentials file {path}, the {key} seems to be split over {count} lines: put it on one line, "
            "as AWS Details shows it (an editor may have wrapped it).",
            kind="no-credentials",
        )
    parser = configparser.RawConfigParser()  # no interpolation: a `%` in a value is part of it
    try:
        parser.read_string("\n".join(lines))
    except configparser.Error:
        raise _refused(path, _NOT_THE_FORM) from None
    section = "default" if parser.has_section("default") else next(iter(parser.sections()), None)
    if section is None:
        raise _refused(path, "has no [default] block. Copy the whole block from AWS Details.")
    values = {key: value.strip() for key, value in parser.items(section)}
    missing = [key for key in REQUIRED_KEYS if not values.get(key)]
    if missing:
        raise _refused(path, f"lacks {' and '.join(missing)}. Copy the whole block from AWS Details.")
    return {key: values[key] for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS) if values.get(key)}


def _split_value(lines: list[str]) -> tuple[str, int] | None:
    """The key whose value runs on over the next lines (stripped), and over how many lines in all; None if none does.

    A line under a key line that holds nothing but what a key, a secret or a token is made of, and is no word a
    student might have written there, is taken for the rest of that key's value.
    """
    key: str | None = None
    pieces = 0
    for line in [*lines, ""]:
        if key is not None and _VALUE_PIECE.fullmatch(line) and _NOT_A_WORD.search(line):
            pieces += 1
            continue
        if key is not None and pieces:
            return key, pieces + 1
        found = _KEY_LINE.match(line)
        key = found.group(1).lower() if found else None
    return None


def _refused(path: Path, said: str) -> GraderError:
    """The GraderError for a credentials file the grader cannot use: its path and `said`."""
    return GraderError(f"The credentials file {path} {said}", kind="no-credentials")

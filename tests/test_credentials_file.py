"""A student's credentials file is read one way by `check`, `doctor`, `batch` and `gradescope`: any encoding
Windows saves, values taken literally, a wrapped token said so, never more than a small cap read, no device or pipe
opened as a file, and never a key, secret, token or the file's contents in a message."""

from __future__ import annotations

import os
import re
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import grader.doctor
from grader.batch.model import RosterRow
from grader.batch.runner import BatchOptions, preflight
from grader.cli import app
from grader.doctor import Finding
from grader.errors import GraderError
from grader.gradescope import autograder, find_credentials, run_autograder
from grader.sandbox import Sandbox
from grader.spec import DEFAULT_SPEC, load_spec
from grader.target import read_credentials_file
from tests.test_cli import _closed_port, no_aws_env

runner = CliRunner()
KEY_ID = "ASIAFAKEKEYFORREADER01"
SECRET = "fakeSecret/ForTheReaderTests+0123456789"
TOKEN = "IQoJb3JpZ2luX2VjEFakeSessionTokenForTheReaderTests/abcdefghijklmnop+qrstuvwxyz0123456789=="
KEYS = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "aws_session_token": TOKEN}
BLOCK = f"[default]\naws_access_key_id={KEY_ID}\naws_secret_access_key={SECRET}\naws_session_token={TOKEN}\n"
HEAD, TAIL = TOKEN[:40], TOKEN[40:]
"""The token cut where an editor might wrap it."""
PIECES = (KEY_ID, SECRET, TOKEN, HEAD, TAIL, SECRET[:20], SECRET[20:])
"""What no message may hold."""
CAP = autograder.MAX_FILE_BYTES


def _refusal(path: Path) -> str:
    """The message read_credentials_file refuses `path` with, checked to hold no secret."""
    with pytest.raises(GraderError) as raised:
        read_credentials_file(path)
    assert raised.value.kind == "no-credentials"
    message = raised.value.message
    for piece in PIECES:
        assert piece not in message
    return message


def _within(seconds: float, call: Callable[[], object]) -> object:
    """What `call` returns or raises, failing the test if it takes longer than `seconds` (a blocked read)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still reading after {seconds} s"
    return outcome[0]


# -- encodings and layout


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BLOCK.encode("utf-8"), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + BLOCK.encode("utf-8"), id="utf-8-bom-notepad"),
        pytest.param(b"\xff\xfe" + BLOCK.encode("utf-16-le"), id="utf-16-le-bom-powershell"),
        pytest.param(b"\xfe\xff" + BLOCK.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(BLOCK.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(BLOCK.encode("utf-16-be"), id="utf-16-be-no-bom"),
        pytest.param(b"\xff\xfe" + BLOCK.replace("\n", "\r\n").encode("utf-16-le"), id="utf-16-crlf"),
        pytest.param(BLOCK.encode("utf-32"), id="utf-32-bom"),
        pytest.param(BLOCK.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(re.sub("^(\\w+)=", "\\1 \t= ", BLOCK, flags=re.MULTILINE).encode(), id="spaces-around-equals"),
        pytest.param(
            "\n".join(f"{' ' * (n % 3)}{line}\t " for n, line in enumerate(BLOCK.splitlines())).encode(),
            id="indented-unevenly-and-trailing",
        ),
        pytest.param(b"\n\n" + BLOCK.replace("\n", "  \n").encode() + b"\n   \n", id="blank-lines-around"),
    ],
)
def test_every_encoding_and_layout_windows_saves_reads_as_the_same_keys(tmp_path: Path, data: bytes) -> None:
    """UTF-8 with or without BOM, UTF-16 either way round with or without BOM, CRLF, spaces: the same three keys."""
    path = tmp_path / "credentials.txt"
    path.write_bytes(data)
    assert read_credentials_file(path) == KEYS


@pytest.mark.parametrize("secret", ["abc%def", "100%", "%%literal", "%(aws_access_key_id)s", "$HOME%"])
def test_a_percent_sign_in_a_value_is_taken_literally(tmp_path: Path, secret: str) -> None:
    """`%` is part of the value, never interpolation (no error, no other value expanded into it)."""
    path = tmp_path / "credentials.txt"
    path.write_text(BLOCK.replace(SECRET, secret), encoding="utf-8")
    assert read_credentials_file(path)["aws_secret_access_key"] == secret


# -- a value wrapped onto the next line


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        pytest.param(BLOCK.replace(TOKEN, f"{HEAD}\n{TAIL}"), "aws_session_token", 2, id="wrapped"),
        pytest.param(BLOCK.replace(TOKEN, f"{HEAD}\n    {TAIL}"), "aws_session_token", 2, id="wrapped-indented"),
        pytest.param(BLOCK.replace(TOKEN, f"{HEAD}\r\n{TAIL}"), "aws_session_token", 2, id="wrapped-crlf"),
        pytest.param(BLOCK.replace(f"={TOKEN}", f"=\n{TOKEN}"), "aws_session_token", 2, id="value-on-next-line"),
        pytest.param(
            BLOCK.replace(TOKEN, f"{TOKEN[:30]}\n{TOKEN[30:60]}\n{TOKEN[60:]}"), "aws_session_token", 3, id="3-lines"
        ),
        pytest.param(
            BLOCK.replace(SECRET, f"{SECRET[:20]}\n{SECRET[20:]}"), "aws_secret_access_key", 2, id="secret-wrapped"
        ),
    ],
)
def test_a_value_split_over_lines_is_said_so_without_the_value(tmp_path: Path, text: str, key: str, lines: int) -> None:
    """A token (or secret) an editor wrapped is named with how to fix it, never passed on with a newline in it."""
    path = tmp_path / "credentials.txt"
    path.write_text(text, encoding="utf-8")
    message = _refusal(path)
    assert f"the {key} seems to be split over {lines} lines: put it on one line" in message
    assert str(path) in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(BLOCK + "thank you!\n", id="a-note-after-the-block"),
        pytest.param(BLOCK.replace("[default]\n", "[default]\nmy keys\n"), id="a-note-before-the-keys"),
        pytest.param("aws_access_key_id=x\n", id="no-header"),
    ],
)
def test_a_stray_line_that_is_no_piece_of_a_value_keeps_the_general_message(tmp_path: Path, text: str) -> None:
    """Only a line that looks like the rest of a key's value is taken for a wrapped value."""
    path = tmp_path / "credentials.txt"
    path.write_text(text, encoding="utf-8")
    message = _refusal(path)
    assert "is not in the [default] key = value form" in message
    assert "split" not in message


# -- what is not a small text file


def test_a_named_pipe_is_refused_as_not_a_regular_file_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """A FIFO never blocks the grader: it is refused at once, as what it is."""
    fifo = tmp_path / "credentials.fifo"
    os.mkfifo(fifo)
    raised = _within(5, lambda: read_credentials_file(fifo))
    assert isinstance(raised, GraderError)
    assert f"The credentials file {fifo} is not a regular file (it is a named pipe)" in raised.message
    assert raised.kind == "no-credentials"


def test_a_device_is_refused_as_not_a_regular_file_without_reading_it(tmp_path: Path) -> None:
    """/dev/zero is not read (it never ends): it is refused as a device, not as a file that does not exist."""
    raised = _within(5, lambda: read_credentials_file(Path("/dev/zero")))
    assert isinstance(raised, GraderError)
    assert "The credentials file /dev/zero is not a regular file (it is a device)" in raised.message


def test_a_folder_is_refused_as_a_folder(tmp_path: Path) -> None:
    """A folder given as the credentials file is said to be a folder."""
    assert f"The credentials file {tmp_path} is a folder" in _refusal(tmp_path)


@pytest.mark.parametrize(("size", "read"), [(CAP, True), (CAP + 1, False)])
def test_a_file_over_the_cap_is_refused_and_one_at_the_cap_is_read(tmp_path: Path, size: int, read: bool) -> None:
    """The cap is the one the Gradescope submission search uses; a file just over it is refused, by its size."""
    path = tmp_path / "credentials.txt"
    path.write_text(BLOCK + "#" * (size - len(BLOCK)), encoding="ascii")
    if read:
        assert read_credentials_file(path) == KEYS
    else:
        assert "is larger than 64 KiB" in _refusal(path)


def test_a_huge_file_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    """A 100 MiB file costs well under a MiB of memory to refuse."""
    path = tmp_path / "credentials.txt"
    path.write_text(BLOCK, encoding="utf-8")
    with path.open("r+b") as file:
        file.truncate(100 * 1024 * 1024)
    tracemalloc.start()
    try:
        message = _refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "is larger than 64 KiB" in message
    assert peak < 1024 * 1024, f"{peak} bytes at the peak"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), id="png"),
        pytest.param(b"\xde\xad\xbe\xef" * 20 + BLOCK.encode(), id="not-utf-8"),
        pytest.param(BLOCK.encode() + b"\x00\x00\x01\x02", id="nul-bytes"),
        pytest.param(b"\xff\xfe" + b"\x00\xd8" * 8, id="broken-utf-16"),
    ],
)
def test_a_binary_file_is_said_to_be_no_text(tmp_path: Path, data: bytes) -> None:
    """A file that is no text is said so, with how to save the block, and none of its bytes in the message."""
    path = tmp_path / "credentials.txt"
    path.write_bytes(data)
    message = _refusal(path)
    assert f"The credentials file {path} is not a text file" in message
    assert "PNG" not in message


# -- the commands that read it


def _invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """`grader ARGS` in this process; never a traceback."""
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


WINDOWS_FILES = {
    "utf-8-bom": b"\xef\xbb\xbf" + BLOCK.replace("\n", "\r\n").encode(),
    "utf-16-le-bom": b"\xff\xfe" + BLOCK.replace("\n", "\r\n").encode("utf-16-le"),
    "utf-16-be-bom": b"\xfe\xff" + BLOCK.encode("utf-16-be"),
    "percent": BLOCK.replace(SECRET, "fake%Secret%(aws_access_key_id)s").encode(),
}


@pytest.mark.parametrize("name", WINDOWS_FILES)
def test_check_reads_the_files_windows_saves(wide_plain_output: None, tmp_path: Path, name: str) -> None:
    """`grader check` takes a BOM, UTF-16 or a `%` and goes on to AWS (here: an endpoint that does not answer)."""
    creds = tmp_path / f"{name}.txt"
    creds.write_bytes(WINDOWS_FILES[name])
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = _invoke(
        "check", "--credentials-file", str(creds), "--endpoint-url", endpoint, "--out", str(tmp_path / "out"),
        env=no_aws_env(tmp_path),
    )  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "could not reach" in said
    assert "key = value form" not in said
    assert "bug in the grader" not in said


@pytest.mark.parametrize("name", WINDOWS_FILES)
def test_doctor_reads_the_files_windows_saves(
    wide_plain_output: None, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    """`grader doctor` finds the credentials in a BOM, UTF-16 or `%` file, and the sandbox takes them."""
    monkeypatch.setattr(grader.doctor, "browser_finding", lambda _target: Finding("ok", "browser", "stand-in"))
    creds = tmp_path / f"{name}.txt"
    creds.write_bytes(WINDOWS_FILES[name])
    result = _invoke(
        "doctor", "--credentials-file", str(creds), "--endpoint-url", sandbox.url, "--out", str(tmp_path / "reports"),
        env=no_aws_env(tmp_path),
    )  # fmt: skip
    assert f"✓ credentials: from the file {creds} (--credentials-file)" in result.output
    assert "✓ identity: " in result.output
    for piece in PIECES:
        assert piece not in result.output


@pytest.mark.parametrize("name", WINDOWS_FILES)
def test_batch_preflight_reads_the_files_windows_saves(sandbox: Sandbox, tmp_path: Path, name: str) -> None:
    """A roster row's credentials file with a BOM, UTF-16 or a `%` is ready to grade in `grader batch`."""
    creds = tmp_path / f"{name}.txt"
    creds.write_bytes(WINDOWS_FILES[name])
    row = RosterRow(line=2, student_id="s1", credentials_file=creds)
    checked = preflight([row], BatchOptions(out=tmp_path / "out", spec=load_spec(), endpoint_url=sandbox.url))
    assert list(checked.ready) == ["s1"], checked.ungradable


def test_gradescope_uses_the_same_reader_and_cap() -> None:
    """The Gradescope submission search and the other commands read under one and the same 64 KiB cap."""
    from grader import credentials_file

    assert autograder.MAX_FILE_BYTES == credentials_file.MAX_FILE_BYTES == 64 * 1024


def test_gradescope_finds_utf_16_without_a_mark(tmp_path: Path) -> None:
    """A UTF-16 file without its byte order mark is found as the credentials file, as `check` reads it."""
    (tmp_path / "keys.txt").write_bytes(BLOCK.encode("utf-16-le"))
    found = find_credentials(tmp_path)
    assert [found.name(path) for path in found.credentials] == ["keys.txt"]


@pytest.mark.parametrize(
    ("block", "said"),
    [
        pytest.param(
            BLOCK.replace(SECRET, "fake%Secret"), "could not reach http://127.0.0.1:9", id="percent-is-literal"
        ),
        pytest.param(
            BLOCK.replace(TOKEN, f"{HEAD}\n{TAIL}"),
            "the aws_session_token seems to be split over 2 lines: put it on one line",
            id="wrapped-token",
        ),
    ],
)
def test_gradescope_reads_a_submission_as_check_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, said: str
) -> None:
    """A `%` in the secret is no bug of the grader's; a wrapped token is said to the student, without the token."""
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "keys.txt").write_text(block, encoding="utf-8")
    results = tmp_path / "results" / "results.json"
    code = run_autograder(submission, results, spec=DEFAULT_SPEC, region="us-east-1", endpoint_url="http://127.0.0.1:9")
    assert code == 0
    written = results.read_text(encoding="utf-8") + capsys.readouterr().out
    assert said in " ".join(written.split())
    assert "bug in the grader" not in written
    for piece in PIECES:
        assert piece not in written


# -- the help


@pytest.mark.parametrize("command", ["check", "doctor"])
def test_the_help_shows_the_default_block_by_its_name(command: str) -> None:
    """`--help` says "[default] block": Rich markup does not swallow the section's name."""
    result = _invoke(command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "File holding the [default] block from the lab's AWS Details." in result.output

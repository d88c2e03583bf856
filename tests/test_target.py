"""Targets: Academy credential files, student names from ARNs, sandbox keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.target import Target, read_credentials_file, slug, student_from_arn

ACADEMY_BLOCK = """[default]
aws_access_key_id=ASIAEXAMPLEEXAMPLE12
aws_secret_access_key=abc/def+ghi
aws_session_token=IQoJb3JpZ2luX2VjE
"""


def test_reads_the_block_aws_details_shows(tmp_path: Path) -> None:
    """The [default] block with a session token becomes boto3 keys."""
    path = tmp_path / "creds"
    path.write_text(ACADEMY_BLOCK)
    keys = read_credentials_file(path)
    assert keys == {
        "aws_access_key_id": "ASIAEXAMPLEEXAMPLE12",
        "aws_secret_access_key": "abc/def+ghi",
        "aws_session_token": "IQoJb3JpZ2luX2VjE",
    }


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("aws_access_key_id=x\n", "not in the [default] key = value form"),
        ("[default]\naws_access_key_id=x\n", "lacks aws_secret_access_key"),
        ("", "has no [default] block"),
    ],
)
def test_a_broken_credentials_file_is_explained_without_its_contents(tmp_path: Path, text: str, phrase: str) -> None:
    """A malformed file gets one sentence, and never echoes a key."""
    path = tmp_path / "creds"
    path.write_text(text)
    with pytest.raises(GraderError) as raised:
        read_credentials_file(path)
    assert phrase in raised.value.message
    assert "aws_access_key_id=x" not in raised.value.message


def test_a_missing_credentials_file_is_named(tmp_path: Path) -> None:
    """A path that does not exist is said so."""
    with pytest.raises(GraderError, match="does not exist"):
        read_credentials_file(tmp_path / "nope")


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:sts::111122223333:assumed-role/voclabs/user2345678=Jane_Doe", "Jane_Doe"),
        ("arn:aws:sts::111122223333:assumed-role/voclabs/user2345678=jane doe@school.edu", "jane_doe@school.edu"),
        ("arn:aws:iam::111122223333:user/jdoe", "jdoe"),
        ("arn:aws:iam::111122223333:root", "111122223333"),
        ("arn:aws:sts::111122223333:assumed-role/x/../../etc", "etc"),
    ],
)
def test_student_names_come_from_the_caller_arn(arn: str, name: str) -> None:
    """Academy session names give the student; anything unsafe for a folder name is replaced."""
    assert student_from_arn(arn, "111122223333") == name


def test_a_sandbox_target_never_sends_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an endpoint and no explicit credentials, the sandbox keys are used, not the environment's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEYREALKEY12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    creds = Target(endpoint_url="http://127.0.0.1:1").session().get_credentials()
    assert creds.access_key == "sandbox"


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("janedoe", "janedoe"),
        ("a b/../c", "a_b_.._c"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com7", "_com7"),
        ("console", "console"),
        ("jane@example.edu", "jane@example.edu"),
    ],
)
def test_a_student_name_becomes_a_folder_name_usable_on_every_system(name: str, folder: str) -> None:
    """Only letters, digits, dot, dash, underscore and @;
    a name Windows keeps for a device gets a leading underscore."""
    assert slug(name) == folder


def test_clients_are_made_one_at_a_time_in_the_process_whatever_the_session() -> None:
    """boto3 sessions are not thread-safe and the grader's share one loader: two clients made at once failed."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from grader.target import make_client

    inside = 0
    most = 0
    lock = threading.Lock()

    class Session:
        def client(self, service: str, **_: object) -> str:
            nonlocal inside, most
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1
            return service

    sessions = [Session() for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda s: make_client(s, "s3"), sessions))  # type: ignore[arg-type]
    assert made == ["s3"] * 8
    assert most == 1

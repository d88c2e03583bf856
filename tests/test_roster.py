"""The roster: each way in, every kind of bad row reported at once with its line, and no traceback for any file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from grader.batch.model import RosterRow
from grader.batch.roster import MAX_ROSTER_ROWS, Roster, RosterError, load_roster

ROLE = "arn:aws:iam::123456789012:role/GraderReadOnly"
ACCESS_KEY_ID = "ASIAQWERTYUIOPASDFGH"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"


def write_roster(folder: Path, text: str, name: str = "roster.csv") -> Path:
    """Write `text` as a roster file in `folder` and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, *, skip_bad_rows: bool = False) -> RosterError:
    """The RosterError that loading `path` must raise."""
    with pytest.raises(RosterError) as caught:
        load_roster(path, skip_bad_rows=skip_bad_rows)
    return caught.value


def load_or_refusal(path: Path, *, skip_bad_rows: bool) -> Roster | RosterError:
    """The roster at `path`, or the RosterError it raises (any other exception propagates)."""
    try:
        return load_roster(path, skip_bad_rows=skip_bad_rows)
    except RosterError as error:
        return error


def test_a_good_roster_of_each_way_in(tmp_path: Path) -> None:
    """A credentials file, a profile and a role each make a row, in file order, with every column kept."""
    (tmp_path / "ada.txt").write_text("[default]\n")
    path = write_roster(
        tmp_path,
        "student_id,name,email,sis_login_id,section,credentials_file,profile,role_arn,external_id,site_url,region\n"
        "ada,Ada L,ada@uni.edu,ada1,A,ada.txt,,,,http://ec2-1-2-3-4.compute-1.amazonaws.com/,us-east-1\n"
        "bob,Bob K,bob@uni.edu,bob1,B,,bob-lab,,,,\n"
        f"cy@uni.edu,Cy,,,,,,{ROLE},course-7,https://cy.example.org:8443/app,us-gov-west-1\n",
    )
    roster = load_roster(path)
    assert roster == Roster(
        rows=(
            RosterRow(
                line=2,
                student_id="ada",
                name="Ada L",
                email="ada@uni.edu",
                sis_login_id="ada1",
                section="A",
                credentials_file=(tmp_path / "ada.txt").resolve(),
                site_url="http://ec2-1-2-3-4.compute-1.amazonaws.com/",
                region="us-east-1",
            ),
            RosterRow(
                line=3,
                student_id="bob",
                name="Bob K",
                email="bob@uni.edu",
                sis_login_id="bob1",
                section="B",
                profile="bob-lab",
            ),
            RosterRow(
                line=4,
                student_id="cy@uni.edu",
                name="Cy",
                role_arn=ROLE,
                external_id="course-7",
                site_url="https://cy.example.org:8443/app",
                region="us-gov-west-1",
            ),
        ),
        skipped=(),
    )


def test_a_relative_credentials_file_is_found_from_the_rosters_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative path starts at the roster's folder, not the working folder; an absolute path is kept."""
    class_folder = tmp_path / "class"
    (class_folder / "keys").mkdir(parents=True)
    (class_folder / "keys" / "ada.txt").write_text("[default]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    absolute = elsewhere / "bob.txt"
    absolute.write_text("[default]\n")
    write_roster(class_folder, f"student_id,credentials_file\nada,keys/ada.txt\nbob,{absolute}\n")
    monkeypatch.chdir(elsewhere)
    roster = load_roster(Path("..") / "class" / "roster.csv")
    assert [row.credentials_file for row in roster.rows] == [
        (class_folder / "keys" / "ada.txt").resolve(),
        absolute.resolve(),
    ]
    assert all(row.credentials_file is not None and row.credentials_file.is_absolute() for row in roster.rows)


def test_column_names_ignore_case_and_spaces_and_cells_are_stripped(tmp_path: Path) -> None:
    """' Student_ID ', 'PROFILE' and 'Region' are the known columns; cells lose their spaces; regions are lower case."""
    path = write_roster(tmp_path, " Student_ID ,PROFILE,  Region\n  ada  , lab ,US-East-1 \n")
    assert load_roster(path).rows == (RosterRow(line=2, student_id="ada", profile="lab", region="us-east-1"),)


@pytest.mark.parametrize("first_column", ["student_id", '"student_id"'])
def test_a_byte_order_mark_and_windows_line_ends_are_read(tmp_path: Path, first_column: str) -> None:
    """A spreadsheet's 'CSV UTF-8': a BOM before the header (quoted or not) and CRLF line ends."""
    path = tmp_path / "roster.csv"
    path.write_bytes(f"\ufeff{first_column},name,profile\r\nada,Adélaïde,lab\r\n".encode())
    assert load_roster(path).rows == (RosterRow(line=2, student_id="ada", name="Adélaïde", profile="lab"),)


def test_blank_lines_are_skipped_and_lines_are_the_files_own(tmp_path: Path) -> None:
    """Blank and all-empty lines are skipped; a row's line is where it starts in the file, quoted newlines counted."""
    path = write_roster(
        tmp_path,
        '\nstudent_id,name,profile\n\nada,"Ada\nLovelace",lab\n,,\n\nbob,Bob,\n',
    )
    assert refusal(path).problems == [
        "line 8: no way into the student's account (fill in one of credentials_file, profile or role_arn)"
    ]
    rows = load_roster(path, skip_bad_rows=True).rows
    assert [(row.line, row.name) for row in rows] == [(4, "Ada\nLovelace")]


BAD_ROWS = {
    "no way in": ("nia,,,,,", "line 3: no way into the student's account"),
    "two ways in": (f"two,lab,,,{ROLE},", "line 3: 2 ways in: profile and role_arn (keep only one of them)"),
    "missing student_id": (",lab,,,,", "line 3: student_id is empty"),
    "credentials file missing": ("kim,,,kim.txt,,", "line 3: credentials file 'kim.txt' does not exist at "),
    "site_url not http": ("sal,lab,,,,ftp://example.org/", "line 3: site_url 'ftp://example.org/' is not an http(s)"),
    "site_url without host": ("sal,lab,,,,https://", "line 3: site_url 'https://' is not an http(s) address"),
    "region not a region": ("reg,lab,us-esat,,,", "line 3: region 'us-esat' does not look like an AWS region"),
    "role_arn not a role": (
        "rol,,,,arn:aws:iam::12345:user/bob,",
        "line 3: role_arn 'arn:aws:iam::12345:user/bob' is not an IAM role ARN",
    ),
    "unsafe student_id": ("../etc,lab,,,,", "line 3: student_id '../etc' cannot name a folder"),
    "student_id with a slash": ("a/b,lab,,,,", "line 3: student_id 'a/b' cannot name a folder"),
    "student_id with a space": ("Ada Lovelace,lab,,,,", "line 3: student_id 'Ada Lovelace' cannot name a folder"),
    "student_id too long": ("x" * 81 + ",lab,,,,", "line 3: student_id 'xxxx"),
    "student_id a device name": ("NUL,lab,,,,", "line 3: student_id 'NUL' cannot name a folder"),
    # Its folder would be "a": the id must be the folder's name as it is.
    "student_id with an underscore first": ("_a,lab,,,,", "line 3: student_id '_a' cannot name a folder"),
    "more cells than columns": ("ext,lab,,,,,surprise", "line 3: 1 cell past the header's 6 columns"),
}


@pytest.mark.parametrize("bad_row", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_each_kind_of_bad_row_is_refused_with_its_line(tmp_path: Path, bad_row: tuple[str, str]) -> None:
    """One bad row after a good one: the roster is refused, and the problem names line 3 and what to do."""
    row, expected = bad_row
    path = write_roster(tmp_path, f"student_id,profile,region,credentials_file,role_arn,site_url\nok,lab,,,,\n{row}\n")
    error = refusal(path)
    assert len(error.problems) == 1
    assert error.problems[0].startswith(expected)
    assert error.problems[0].endswith(")")
    assert error.message == f"{error.sentence}\n  {error.problems[0]}"
    assert error.sentence.startswith(f"The roster {path} has 1 row to fix")


def test_external_id_needs_a_role(tmp_path: Path) -> None:
    """external_id with a profile is refused; with a role it is kept."""
    path = write_roster(tmp_path, f"student_id,profile,role_arn,external_id\na,lab,,x-1\nb,,{ROLE},x-2\n")
    assert refusal(path).problems == [
        "line 2: external_id without role_arn (external_id goes with role_arn; add the role or remove it)"
    ]


def test_a_duplicate_student_id_names_both_lines(tmp_path: Path) -> None:
    """Two rows with the same id (ignoring case) are both refused, each naming the other's line."""
    path = write_roster(tmp_path, "student_id,profile\nada,one\nbob,two\nADA,three\n")
    assert refusal(path).problems == [
        "line 2: student_id 'ada' is also on line 4 (ids are unique, ignoring case: keep one row per student)",
        "line 4: student_id 'ADA' is also on line 2 (ids are unique, ignoring case: keep one row per student)",
    ]


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    """All the problems of the file in one error, in file order, each with its line; good rows are not named."""
    (tmp_path / "good.txt").write_text("[default]\n")
    path = write_roster(
        tmp_path,
        "student_id,credentials_file,profile,role_arn,site_url,region\n"
        "good1,good.txt,,,,\n"
        "nia,,,,,\n"
        "two,,lab,arn:aws:iam::123456789012:role/R,,\n"
        ",,lab,,,\n"
        "kim,gone.txt,,,,\n"
        "sal,,lab,,mailto:sal@example.org,\n"
        "reg,,lab,,,moon-1\n"
        "rol,,,not-an-arn,,\n"
        "good2,,lab,,,\n"
        "good2,,lab2,,,\n"
        "a b,,lab,,,\n",
    )
    error = refusal(path)
    lines = [problem.split(":", 1)[0] for problem in error.problems]
    assert lines == [f"line {n}" for n in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12)]
    assert "good1" not in error.message
    assert error.sentence == (
        f"The roster {path} has 10 rows to fix before grading (or grade the other rows with --skip-bad-rows):"
    )
    assert error.message.splitlines()[1:] == [f"  {problem}" for problem in error.problems]
    assert "role_arn the value is not an IAM role ARN" in error.problems[6]


def test_one_row_with_several_problems_lists_each(tmp_path: Path) -> None:
    """A row that is wrong in three ways gets three lines, all with its line number."""
    path = write_roster(tmp_path, "student_id,profile,region,site_url\n.hidden,,eu,nowhere\n")
    problems = refusal(path).problems
    assert len(problems) == 4
    assert all(problem.startswith("line 2: ") for problem in problems)


def test_skip_bad_rows_returns_the_good_rows_and_the_problems(tmp_path: Path) -> None:
    """With skip_bad_rows the good rows come back in order and the bad rows' problems are in `skipped`."""
    path = write_roster(tmp_path, "student_id,profile\nada,lab\nnia,\nbob,lab2\nbob,lab3\ncy,lab4\n")
    roster = load_roster(path, skip_bad_rows=True)
    assert [row.student_id for row in roster.rows] == ["ada", "cy"]
    assert [problem.split(":", 1)[0] for problem in roster.skipped] == ["line 3", "line 4", "line 5"]
    all_good = write_roster(tmp_path, "student_id,profile\nada,lab\n", "good.csv")
    assert load_roster(all_good, skip_bad_rows=True).skipped == ()


def test_skip_bad_rows_still_refuses_a_roster_with_no_good_row(tmp_path: Path) -> None:
    """When every row is bad there is nothing to grade: the error says so and lists the problems."""
    path = write_roster(tmp_path, "student_id,profile\nnia,\n,lab\n")
    error = refusal(path, skip_bad_rows=True)
    assert error.sentence.startswith("No row of the roster")
    assert [problem.split(":", 1)[0] for problem in error.problems] == ["line 2", "line 3"]


def test_unknown_columns_are_refused_by_name(tmp_path: Path) -> None:
    """Every unknown column is named once, with a guess when a known name is close, before any row is read."""
    path = write_roster(tmp_path, "student_id,profile,Student Name,Grade,emial,Grade\n,,,,,\n")
    error = refusal(path)
    assert error.sentence.startswith(f"The roster {path} has columns the grader does not know (it knows student_id,")
    assert error.problems == [
        "line 1: unknown column 'Student Name' (remove it, or rename it to one of the known columns)",
        "line 1: unknown column 'Grade' (remove it, or rename it to one of the known columns)",
        "line 1: unknown column 'emial' (did you mean email? rename it, or remove it)",
    ]


def test_a_semicolon_separated_file_gets_a_hint(tmp_path: Path) -> None:
    """A spreadsheet that saved with semicolons is told to save with commas."""
    path = write_roster(tmp_path, "student_id;profile\nada;lab\n")
    assert "save the file as CSV with commas" in refusal(path).message


def test_secret_columns_get_their_own_sentence_and_their_values_are_never_shown(tmp_path: Path) -> None:
    """Key, secret, token and password columns are refused as secrets, unread; no cell of them is in the error."""
    path = write_roster(
        tmp_path,
        "student_id,profile,AWS_Access_Key_ID,aws_secret_access_key,aws_session_token,Password,extra\n"
        f"ada,,{ACCESS_KEY_ID},{SECRET_KEY},IQoJb3JpZ2luX2VjEXAMPLETOKEN,hunter2,x\n",
    )
    error = refusal(path)
    assert error.sentence == (
        f"The roster {path} has columns that look like they hold secrets: AWS keys go in a credentials file named by "
        "the credentials_file column, never in the roster:"
    )
    assert [problem.split(" (", 1)[0] for problem in error.problems] == [
        "line 1: column 'AWS_Access_Key_ID' looks like it holds a secret",
        "line 1: column 'aws_secret_access_key' looks like it holds a secret",
        "line 1: column 'aws_session_token' looks like it holds a secret",
        "line 1: column 'Password' looks like it holds a secret",
        "line 1: unknown column 'extra'",
    ]
    for secret in (ACCESS_KEY_ID, SECRET_KEY, "IQoJb3JpZ2luX2VjEXAMPLETOKEN", "hunter2"):
        assert secret not in error.message


def test_a_key_pasted_into_a_cell_is_not_echoed(tmp_path: Path) -> None:
    """A value that looks like an AWS key, in any column, is described, never shown."""
    path = write_roster(tmp_path, f"student_id,profile,region,site_url\nada,lab,{ACCESS_KEY_ID},{SECRET_KEY}\n")
    error = refusal(path)
    assert len(error.problems) == 2
    assert ACCESS_KEY_ID not in error.message
    assert SECRET_KEY not in error.message
    assert "(a value that looks like a key, not shown)" in error.problems[0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("name,profile", "line 1: no student_id column"),
        ("student_id,name", "line 1: no credentials_file, profile or role_arn column"),
        ("student_id,profile,PROFILE", "line 1: column profile appears twice, as columns 2 and 3"),
    ],
)
def test_a_header_without_what_it_needs_is_refused(tmp_path: Path, header: str, expected: str) -> None:
    """The header must have student_id and a way-in column, each once."""
    error = refusal(write_roster(tmp_path, f"{header}\nada,lab,x\n"))
    assert error.sentence.startswith(f"The header row of the roster {tmp_path / 'roster.csv'} (line 1) needs fixing")
    assert [problem.split(" (", 1)[0] for problem in error.problems] == [expected]


def test_a_value_under_a_column_with_no_name_is_a_problem_of_its_line(tmp_path: Path) -> None:
    """Empty header cells (a spreadsheet's trailing commas) are fine until a row puts a value under one."""
    path = write_roster(tmp_path, "student_id,profile,,\nada,lab,,\nbob,lab,,oops\n")
    assert refusal(path).problems == [
        "line 3: a value in column 4, which has no name in the header (name the column, or empty the cell)"
    ]
    assert [row.student_id for row in load_roster(path, skip_bad_rows=True).rows] == ["ada"]


def test_a_credentials_file_that_is_a_folder_is_a_problem(tmp_path: Path) -> None:
    """A credentials_file naming a folder is refused with the folder's path."""
    (tmp_path / "keys").mkdir()
    path = write_roster(tmp_path, "student_id,credentials_file\nada,keys\n")
    assert refusal(path).problems == [
        f"line 2: credentials file 'keys' is a folder, {tmp_path / 'keys'} (name the file inside it)"
    ]


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "is empty; it needs a header row"),
        (b"\n\n  \n,,\n", "is empty; it needs a header row"),
        (b"student_id,profile\n\n", "has a header row but no students"),
        (b"student_id,name,profile\nada,Ad\xe9la,lab\n", "is not UTF-8 text (line 2 has bytes that are not UTF-8)"),
        ("student_id,profile\n".encode("utf-16"), "is UTF-16 text; save it as CSV UTF-8"),
        (b'student_id,name,profile\nada,"Ada,lab\nbob,Bob,lab\n', "not valid CSV in the row that starts on line 2"),
        (b'student_id,profile\nada,"lab"x\n', "not valid CSV in the row that starts on line 2"),
        (
            b"student_id,name,profile\nada," + b"x" * 200_000 + b",lab\n",
            "not valid CSV in the row that starts on line 2",
        ),
    ],
    ids=["empty", "blank", "header only", "latin-1", "utf-16", "open quote", "text after quote", "huge cell"],
)
def test_an_unusable_file_is_one_sentence(tmp_path: Path, content: bytes, phrase: str) -> None:
    """Empty, header-only, not UTF-8 or malformed CSV: one RosterError sentence saying what to do, no problem lines."""
    path = tmp_path / "roster.csv"
    path.write_bytes(content)
    error = refusal(path)
    assert phrase in error.sentence
    assert error.problems == []
    assert error.message == error.sentence


def test_a_missing_file_or_a_folder_is_one_sentence(tmp_path: Path) -> None:
    """A path that does not exist, or a folder, is refused by name."""
    missing = tmp_path / "nope.csv"
    assert refusal(missing).message == f"The roster {missing} does not exist; check the path and run again."
    assert "is a folder" in refusal(tmp_path).message


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """More than 5 MiB is not a class roster."""
    path = tmp_path / "roster.csv"
    path.write_bytes(b"student_id,profile\n" + b"a,b\n" * (5 * 1024 * 1024 // 4))
    assert "is larger than 5 MiB" in refusal(path).sentence


def test_more_than_ten_thousand_rows_is_refused(tmp_path: Path) -> None:
    """10,000 students load; one more is refused."""
    rows = "".join(f"s{n},lab\n" for n in range(MAX_ROSTER_ROWS))
    path = write_roster(tmp_path, "student_id,profile\n" + rows)
    assert len(load_roster(path).rows) == MAX_ROSTER_ROWS
    path.write_text("student_id,profile\n" + rows + "one-more,lab\n")
    assert "has more than 10,000 students" in refusal(path).sentence


def test_no_file_content_raises_anything_but_a_roster_error(tmp_path: Path) -> None:
    """Random bytes and random CSV-like text either load or raise RosterError: never another exception."""
    generator = random.Random(12)
    alphabet = ['"', ",", "\n", "\r", " ", "a", "é", "\x00", "\ufeff", "student_id", "profile", "role_arn", "/", "."]
    path = tmp_path / "roster.csv"
    for _ in range(300):
        if generator.random() < 0.3:
            path.write_bytes(generator.randbytes(generator.randrange(200)))
        else:
            body = "".join(generator.choice(alphabet) for _ in range(generator.randrange(60)))
            path.write_text("student_id,profile,credentials_file\n" + body, encoding="utf-8")
        outcome = load_or_refusal(path, skip_bad_rows=generator.random() < 0.5)
        assert isinstance(outcome, Roster) or outcome.message.startswith(outcome.sentence)


@pytest.mark.parametrize(
    "student_id", ["gradescope", "GradeScope", "class.html", "class.csv", "junit.xml", "batch.json"]
)
def test_an_id_that_is_a_class_files_name_is_refused_with_its_line(tmp_path: Path, student_id: str) -> None:
    """A student id the batch's own files would collide with (ignoring case) is refused when the roster is read."""
    path = write_roster(tmp_path, f"student_id,profile\nada,lab\n{student_id},lab\n")
    [problem] = refusal(path).problems
    assert problem.startswith(f"line 3: student_id '{student_id}' is the name of a file the batch writes")


def test_the_reserved_names_are_every_name_the_batch_writes(tmp_path: Path) -> None:
    """CLASS_FILES lists exactly what write_class_files puts beside the students' folders."""
    from grader.batch.model import CLASS_FILES, StudentOutcome
    from grader.batch.outputs import RosterStamp, write_class_files
    from grader.spec import load_spec

    row = RosterRow(line=2, student_id="ada", profile="lab")
    outcomes = [StudentOutcome(row=row, status="ungradable", reason="expired")]
    stamp = RosterStamp("roster.csv", "0" * 64)
    write_class_files(outcomes, load_spec(), tmp_path, roster=stamp, started="", finished="")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(CLASS_FILES)


LOCAL_SITES = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8000/",
    "https://10.0.0.5/",
    "http://[::1]/",
    "http://localhost:8080/",
    "http://0.0.0.0/",
]


@pytest.mark.parametrize("site_url", LOCAL_SITES)
def test_a_site_url_on_the_grading_machines_network_is_refused(tmp_path: Path, site_url: str) -> None:
    """A roster's site_url that names a loopback, private or link-local address is a problem of its row."""
    path = write_roster(tmp_path, f"student_id,profile,site_url\nada,lab,{site_url}\n")
    [problem] = refusal(path).problems
    assert "is on the grading machine's own network" in problem
    assert "--allow-local-sites" in problem


@pytest.mark.parametrize("site_url", LOCAL_SITES)
def test_allow_local_sites_accepts_them(tmp_path: Path, site_url: str) -> None:
    """The instructor who runs the students' sites locally can allow them."""
    path = write_roster(tmp_path, f"student_id,profile,site_url\nada,lab,{site_url}\n")
    assert load_roster(path, allow_local_sites=True).rows[0].site_url == site_url


def test_a_roster_site_url_is_held_to_the_address_policy_when_visited() -> None:
    """A roster's site_url (a name that may resolve anywhere) is not reached 'as named': the policy decides."""
    from grader.batch.runner import BatchOptions, target_of
    from grader.browser.routing import RealRoutes, discover_routes
    from grader.spec import load_spec

    row = RosterRow(line=2, student_id="ada", profile="lab", site_url="http://metadata.example/latest/")
    roster_target = target_of(row, BatchOptions(out=Path("out"), spec=load_spec()))
    assert roster_target.named_site_url is None
    routes = discover_routes(roster_target)
    assert isinstance(routes, RealRoutes)
    assert routes.direct == ()
    allowed = target_of(row, BatchOptions(out=Path("out"), spec=load_spec(), allow_local_sites=True))
    assert allowed.named_site_url == row.site_url


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_credentials_file_that_is_not_a_regular_file_says_so(tmp_path: Path, kind: str) -> None:
    """A named pipe or a device as credentials_file is 'not a regular file', never 'does not exist', and never read."""
    import os

    if kind == "fifo":
        os.mkfifo(tmp_path / "keys")
        written = "keys"
    else:
        written = "/dev/zero"
    path = write_roster(tmp_path, f"student_id,credentials_file\nada,{written}\n")
    [problem] = refusal(path).problems
    assert "is not a regular file" in problem
    assert "does not exist" not in problem

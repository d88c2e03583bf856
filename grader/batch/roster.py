"""Reading and checking a class roster (CSV): one row per student, each with exactly one way into their account.

The roster is the instructor's input, often saved by a spreadsheet, so every way it can be wrong ends in a
`RosterError` that says what to fix, never a traceback. Row problems are collected for the whole file and
reported together, each as "line N: what is wrong (what to do)", before anything is graded. No problem line
ever shows a value that looks like a key, and columns that look like they hold secrets are refused unread.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from grader.batch.model import CLASS_FILES, RosterRow
from grader.netpolicy import AddressPolicy
from grader.site import origin_of
from grader.target import AWS_REGION, slug

STUDENT_ID = "student_id"
IDENTITY_COLUMNS = ("student_id", "name", "email", "sis_login_id", "section")
WAY_IN_COLUMNS = ("credentials_file", "profile", "role_arn")
OPTIONAL_COLUMNS = ("external_id", "site_url", "region")
ROSTER_COLUMNS = IDENTITY_COLUMNS + WAY_IN_COLUMNS + OPTIONAL_COLUMNS

MAX_ROSTER_BYTES = 5 * 1024 * 1024
MAX_ROSTER_ROWS = 10_000
MAX_STUDENT_ID_LENGTH = 80
MAX_HEADER_PROBLEMS = 20
MAX_SHOWN_LENGTH = 80

IAM_ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+", re.ASCII)
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
SECRET_COLUMN = re.compile(r"secret|token|passw|pwd|access_?key|api_?key|private_?key|(?:^|_)key(?:_|$)")
AWS_KEY_ID = re.compile(r"(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}")
KEY_LIKE_RUN = re.compile(r"[A-Za-z0-9/+=]{32,}")


class RosterError(Exception):
    """The roster cannot be used as it is: `message` is one sentence, then one line per problem."""

    def __init__(self, sentence: str, problems: Sequence[str] = ()) -> None:
        self.sentence = sentence
        self.problems = list(problems)
        self.message = "\n".join([sentence, *(f"  {problem}" for problem in self.problems)])
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Roster:
    """The students to grade, in file order, and the problems of the rows left out (only with skip_bad_rows)."""

    rows: tuple[RosterRow, ...]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Header:
    """Where each known column sits in the roster, and which columns have no name."""

    line: int
    width: int
    index_of: dict[str, int]
    unnamed: tuple[int, ...]


@dataclass
class _ReadRow:
    """One data row as read: its cells by column, its student id, and what is wrong with it so far."""

    line: int
    student_id: str
    fields: dict[str, str]
    credentials_file: Path | None
    problems: list[str]


def load_roster(path: Path, *, skip_bad_rows: bool = False, allow_local_sites: bool = False) -> Roster:
    """Read and check the roster at `path`; raise RosterError listing every problem, or (skip_bad_rows) skip them.

    A site_url on the grading machine's own network (loopback, private, link-local) is a problem
    unless `allow_local_sites`: students may fill in the roster's site_url.
    """
    path = Path(path)
    records = _records(_read_text(path), path)
    header = _read_header(records, path)
    read_rows = _read_rows(records, header, path, allow_local_sites=allow_local_sites)
    _mark_duplicate_ids(read_rows)
    rows: list[RosterRow] = []
    problems: list[str] = []
    for read_row in read_rows:
        if read_row.problems:
            problems.extend(f"line {read_row.line}: {problem}" for problem in read_row.problems)
        else:
            rows.append(_to_roster_row(read_row))
    if problems and not skip_bad_rows:
        bad_rows = sum(1 for read_row in read_rows if read_row.problems)
        raise RosterError(
            f"The roster {path} has {_count(bad_rows, 'row')} to fix before grading "
            "(or grade the other rows with --skip-bad-rows):",
            problems,
        )
    if not rows:
        raise RosterError(f"No row of the roster {path} can be graded; fix these and run again:", problems)
    return Roster(rows=tuple(rows), skipped=tuple(problems))


def _read_text(path: Path) -> str:
    """The roster's text: a regular file of at most MAX_ROSTER_BYTES, UTF-8 with or without a BOM."""
    try:
        if not path.exists():
            raise RosterError(f"The roster {path} does not exist; check the path and run again.")
        if path.is_dir():
            raise RosterError(f"The roster {path} is a folder; give the path of the roster's CSV file.")
        if not path.is_file():
            raise RosterError(f"The roster {path} is not a regular file; give the path of the roster's CSV file.")
        with path.open("rb") as roster_file:
            data = roster_file.read(MAX_ROSTER_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RosterError(
            f"The roster {path} could not be read ({reason}); check the path and its permissions."
        ) from None
    except ValueError:
        raise RosterError(f"The roster path {str(path)!r} is not a usable file name.") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(
            f"The roster {path} is larger than {MAX_ROSTER_BYTES // (1024 * 1024)} MiB, far more than a class "
            "roster needs; check that it is the right file."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterError(f"The roster {path} is UTF-16 text; save it as CSV UTF-8 and run again.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterError(
            f"The roster {path} is not UTF-8 text (line {line} has bytes that are not UTF-8); "
            "save it as CSV UTF-8 and run again."
        ) from None


def _records(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank CSV record with the physical line it starts on; malformed CSV is a RosterError."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start_line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise RosterError(
                f"The roster {path} is not valid CSV in the row that starts on line {start_line} (a quote that "
                "is never closed, text right after a closing quote, or a cell over 128 KiB); fix that row "
                "and run again."
            ) from None
        if any(cell.strip() for cell in cells):
            yield start_line, cells
        start_line = reader.line_num + 1


def _read_header(records: Iterator[tuple[int, list[str]]], path: Path) -> _Header:
    """The header row's columns; unknown, secret-looking, repeated or missing columns are one RosterError."""
    first = next(records, None)
    if first is None:
        raise RosterError(
            f"The roster {path} is empty; it needs a header row (student_id and one of "
            f"{', '.join(WAY_IN_COLUMNS)}) and one row per student."
        )
    line, cells = first
    written_names = [_column_text(cell) for cell in cells]
    names = [written.lower() for written in written_names]
    secret_names: dict[str, str] = {}
    unknown_names: dict[str, str] = {}
    problems: list[str] = []
    index_of: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name in ROSTER_COLUMNS:
            if name in index_of:
                problems.append(
                    f"line {line}: column {name} appears twice, as columns {index_of[name] + 1} and {index + 1} "
                    "(keep one of them)"
                )
            else:
                index_of[name] = index
        elif SECRET_COLUMN.search(_words_of(name)):
            secret_names.setdefault(name, written_names[index])
        else:
            unknown_names.setdefault(name, written_names[index])
    problems[:0] = [
        f"line {line}: column {_shown(written)} looks like it holds a secret (delete the column; put each "
        "student's keys in a credentials file of their own and name that file in credentials_file)"
        for written in secret_names.values()
    ]
    problems.extend(
        f"line {line}: unknown column {_shown(written)} ({_unknown_column_advice(name)})"
        for name, written in unknown_names.items()
    )
    if STUDENT_ID not in index_of:
        problems.append(
            f"line {line}: no student_id column (add one: each student's id, also the name of their report's folder)"
        )
    if not any(column in index_of for column in WAY_IN_COLUMNS):
        problems.append(
            f"line {line}: no {', '.join(WAY_IN_COLUMNS[:-1])} or {WAY_IN_COLUMNS[-1]} column "
            "(add one: each student needs one way into their AWS account)"
        )
    if problems:
        raise RosterError(_header_sentence(path, line, len(secret_names), len(unknown_names)), _capped(problems))
    unnamed = tuple(index for index, name in enumerate(names) if not name)
    return _Header(line=line, width=len(cells), index_of=index_of, unnamed=unnamed)


def _header_sentence(path: Path, line: int, secret_columns: int, unknown_columns: int) -> str:
    """The sentence that opens a header's RosterError: secrets first, then unknown columns, then the rest."""
    if secret_columns:
        looks = "a column that looks like it holds" if secret_columns == 1 else "columns that look like they hold"
        return (
            f"The roster {path} has {looks} secrets: AWS keys go in a credentials file named by the "
            "credentials_file column, never in the roster:"
        )
    if unknown_columns:
        known = ", ".join(ROSTER_COLUMNS)
        columns = "a column" if unknown_columns == 1 else "columns"
        return f"The roster {path} has {columns} the grader does not know (it knows {known}):"
    return f"The header row of the roster {path} (line {line}) needs fixing:"


def _column_text(cell: str) -> str:
    """A header cell as written, stripped of spaces, byte-order marks and zero-width spaces."""
    return cell.strip().strip("\ufeff\u200b").strip()


def _words_of(name: str) -> str:
    """A column name with every run of other characters than letters and digits made one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def _unknown_column_advice(name: str) -> str:
    """What to do about an unknown column: a likely meant name, a hint about separators, or remove it."""
    if ";" in name or "\t" in name:
        return "the cells seem separated by semicolons or tabs; save the file as CSV with commas"
    words = _words_of(name)
    meant = (
        words if words in ROSTER_COLUMNS else next(iter(difflib.get_close_matches(words, ROSTER_COLUMNS, 1, 0.75)), "")
    )
    if meant:
        return f"did you mean {meant}? rename it, or remove it"
    return "remove it, or rename it to one of the known columns"


def _read_rows(
    records: Iterator[tuple[int, list[str]]], header: _Header, path: Path, *, allow_local_sites: bool
) -> list[_ReadRow]:
    """Every data row after the header, with its own problems (duplicates are marked later)."""
    roster_folder = path.resolve().parent
    read_rows: list[_ReadRow] = []
    for line, cells in records:
        if len(read_rows) == MAX_ROSTER_ROWS:
            raise RosterError(
                f"The roster {path} has more than {MAX_ROSTER_ROWS:,} students, far more than a class; check that "
                "it is the right file, or split it into several rosters."
            )
        cells = [cell.strip() for cell in cells]
        read_rows.append(_read_row(line, cells, header, roster_folder, allow_local_sites=allow_local_sites))
    if not read_rows:
        raise RosterError(f"The roster {path} has a header row but no students; add one row per student.")
    return read_rows


def _read_row(
    line: int, cells: list[str], header: _Header, roster_folder: Path, *, allow_local_sites: bool
) -> _ReadRow:
    """One data row's cells by column name, its credentials file, and what is wrong with it on its own."""
    fields = {name: cells[index] if index < len(cells) else "" for name, index in header.index_of.items()}
    student_id = fields.get(STUDENT_ID, "")
    problems = [*_layout_problems(cells, header), *identity_problems(student_id), *_way_in_problems(fields)]
    credentials_file = None
    if fields.get("credentials_file"):
        credentials_file, problem = _credentials_file(fields["credentials_file"], roster_folder)
        problems.extend([problem] if problem else [])
    problems.extend(_optional_problems(fields, allow_local_sites=allow_local_sites))
    return _ReadRow(line, student_id, fields, credentials_file, problems)


def _layout_problems(cells: list[str], header: _Header) -> list[str]:
    """Values where the header has no column for them: past its end, or under a column with no name."""
    problems: list[str] = []
    extra = sum(1 for cell in cells[header.width :] if cell)
    if extra:
        problems.append(
            f"{_count(extra, 'cell')} past the header's {header.width} columns (remove them, or put quotes "
            "around a cell that holds a comma)"
        )
    problems.extend(
        f"a value in column {index + 1}, which has no name in the header (name the column, or empty the cell)"
        for index in header.unnamed
        if index < len(cells) and cells[index]
    )
    return problems


def identity_problems(student_id: str) -> list[str]:
    """What is wrong with a student id: missing, not safe as the name of the student's report folder, or the
    name of a file the batch writes beside the students' folders."""
    if not student_id:
        return ["student_id is empty (give every student an id: it names the folder of their report)"]
    # The id is the folder's name as it is: exactly the names slug() leaves unchanged.
    if len(student_id) > MAX_STUDENT_ID_LENGTH or slug(student_id) != student_id:
        rule = (
            f"letters, digits, '.', '-', '_' and '@', at most {MAX_STUDENT_ID_LENGTH} characters, no dot or "
            "underscore first or last, not a name Windows keeps for a device such as CON or NUL"
        )
        return [f"student_id {_shown(student_id)} cannot name a folder (use {rule})"]
    # Compared ignoring case, as the file systems of Windows and macOS do.
    if student_id.casefold() in {name.casefold() for name in CLASS_FILES}:
        said = f"student_id {_shown(student_id)} is the name of a file the batch writes for the class"
        return [f"{said} ({', '.join(CLASS_FILES)}): give this student another id"]
    return []


def _way_in_problems(fields: dict[str, str]) -> list[str]:
    """What is wrong with the row's way in: none, more than one, or a role ARN that is not an IAM role's."""
    ways = [column for column in WAY_IN_COLUMNS if fields.get(column)]
    problems: list[str] = []
    if not ways:
        problems.append("no way into the student's account (fill in one of credentials_file, profile or role_arn)")
    elif len(ways) > 1:
        problems.append(f"{_count(len(ways), 'way')} in: {' and '.join(ways)} (keep only one of them)")
    role_arn = fields.get("role_arn", "")
    if role_arn and not IAM_ROLE_ARN.fullmatch(role_arn):
        shown = _shown(role_arn) if role_arn.lower().startswith("arn:") else "the value"
        problems.append(f"role_arn {shown} is not an IAM role ARN (write it as arn:aws:iam::123456789012:role/NAME)")
    external_id = fields.get("external_id", "")
    if external_id and not role_arn:
        problems.append("external_id without role_arn (external_id goes with role_arn; add the role or remove it)")
    elif external_id and not EXTERNAL_ID.fullmatch(external_id):
        problems.append(
            "external_id is not a valid external ID (2 to 1224 letters, digits or any of + = , . @ : / - _)"
        )
    return problems


def _optional_problems(fields: dict[str, str], *, allow_local_sites: bool) -> list[str]:
    """What is wrong with the row's optional site_url and region."""
    problems: list[str] = []
    site_url = fields.get("site_url", "")
    if site_url and not origin_of(site_url):
        problems.append(
            f"site_url {_shown(site_url)} is not an http(s) address (write it as https://HOST/ or http://HOST/, "
            "or leave it empty)"
        )
    elif site_url and not allow_local_sites:
        # Literal addresses only: a name is resolved, and held to the same rule, when the site is visited.
        local = AddressPolicy().refusal(site_url, 0.0, resolve_names=False)
        if local or (urlsplit(site_url).hostname or "").rstrip(".").endswith("localhost"):
            problems.append(
                f"site_url {_shown(site_url)} is on the grading machine's own network, which the grader does not "
                "visit for a roster (give the website's public address; an instructor who runs the sites locally "
                "can allow that with --allow-local-sites)"
            )
    region = fields.get("region", "")
    if region and not AWS_REGION.fullmatch(region.lower()):
        problems.append(
            f"region {_shown(region)} does not look like an AWS region (write it like us-east-1, or leave it empty)"
        )
    return problems


def _mark_duplicate_ids(read_rows: list[_ReadRow]) -> None:
    """Give every row whose student id another row also has (ignoring case) a problem naming the other lines."""
    lines_of: dict[str, list[int]] = {}
    for read_row in read_rows:
        if read_row.student_id:
            lines_of.setdefault(read_row.student_id.casefold(), []).append(read_row.line)
    for read_row in read_rows:
        lines = lines_of.get(read_row.student_id.casefold(), [])
        others = [line for line in lines if line != read_row.line]
        if others:
            where = ", ".join(str(line) for line in others)
            read_row.problems.append(
                f"student_id {_shown(read_row.student_id)} is also on {'line' if len(others) == 1 else 'lines'} "
                f"{where} (ids are unique, "
                "ignoring case: keep one row per student)"
            )


def _to_roster_row(read_row: _ReadRow) -> RosterRow:
    """The RosterRow of a row that has no problem."""
    fields = read_row.fields
    return RosterRow(
        line=read_row.line,
        student_id=read_row.student_id,
        name=fields.get("name", ""),
        email=fields.get("email", ""),
        sis_login_id=fields.get("sis_login_id", ""),
        section=fields.get("section", ""),
        credentials_file=read_row.credentials_file,
        profile=fields.get("profile") or None,
        role_arn=fields.get("role_arn") or None,
        external_id=fields.get("external_id") or None,
        site_url=fields.get("site_url") or None,
        region=fields.get("region", "").lower() or None,
    )


def _credentials_file(written: str, roster_folder: Path) -> tuple[Path | None, str]:
    """The credentials file a cell names (relative to the roster's folder), or the problem with it."""
    where = roster_folder / Path(written).expanduser()
    try:
        mode = where.stat().st_mode
    except (OSError, ValueError):
        mode = None
    if mode is not None and stat.S_ISREG(mode):
        return where, ""
    if mode is not None and stat.S_ISDIR(mode):
        return None, f"credentials file {_shown(written)} is a folder, {where} (name the file inside it)"
    if mode is not None:
        return None, (
            f"credentials file {_shown(written)} at {where} is not a regular file (a device, a pipe or a socket): "
            "name the text file that holds the student's AWS Details"
        )
    return None, (
        f"credentials file {_shown(written)} does not exist at {where} (put the file there or fix the path; "
        "a relative path starts at the roster's folder)"
    )


def _shown(value: str) -> str:
    """A cell quoted for a problem line: printable, shortened, and never a value that looks like a key."""
    if AWS_KEY_ID.search(value) or any(_mixes_cases_and_digits(run) for run in KEY_LIKE_RUN.findall(value)):
        return "(a value that looks like a key, not shown)"
    printable = "".join(char if char.isprintable() else "?" for char in value)
    if len(printable) > MAX_SHOWN_LENGTH:
        printable = printable[: MAX_SHOWN_LENGTH - 1] + "…"
    return f"'{printable}'"


def _mixes_cases_and_digits(text: str) -> bool:
    """Whether `text` has an upper-case letter, a lower-case letter and a digit, as keys and tokens do."""
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


def _capped(problems: list[str]) -> list[str]:
    """The header's problems, at most MAX_HEADER_PROBLEMS of them, then how many more there are."""
    if len(problems) <= MAX_HEADER_PROBLEMS:
        return problems
    return [*problems[:MAX_HEADER_PROBLEMS], f"and {len(problems) - MAX_HEADER_PROBLEMS} more problems with columns"]


def _count(number: int, noun: str) -> str:
    """`number` and `noun`, plural when it is not one ("1 row", "3 rows")."""
    return f"{number} {noun}{'' if number == 1 else 's'}"

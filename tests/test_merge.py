"""`grader merge` trusts no shard folder: ids that are not roster ids, symlinks, paths that leave the shard or
--out, an incomplete or inconsistent set of shards and a broken batch.json are refused with a sentence.

Shard folders are made without grading: results written by hand, then the class files `grader batch` writes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from grader.batch.merge import merge_batches, merge_shards
from grader.batch.model import RosterRow, StudentOutcome
from grader.batch.outputs import MANIFEST, RosterStamp, file_sha256, write_class_files
from grader.batch.run import shard_rows
from grader.cli import app
from grader.errors import GraderError
from grader.spec import load_spec
from tests.test_batch_exports import make_result

SPEC = load_spec()
ROWS = tuple(
    RosterRow(line=line, student_id=f"s0{line - 1}", name=f"Student {line - 1}", profile="p") for line in range(2, 6)
)
UNGRADABLE = "s03"
ROSTER_SHA256 = "ab" * 32
STARTED, FINISHED = "2025-01-01T10:00:00+00:00", "2025-01-01T10:05:00+00:00"


def make_shard(folder: Path, shard: str) -> Path:
    """A folder as `grader batch --shard SHARD` leaves it (the whole roster when `shard` is empty)."""
    outcomes = []
    for row in shard_rows(list(ROWS), shard) if shard else ROWS:
        if row.student_id == UNGRADABLE:
            outcomes.append(StudentOutcome(row=row, status="ungradable", reason="The AWS Details have expired."))
            continue
        outcomes.append(write_student(folder / row.student_id, row))
    stamp = RosterStamp("roster.csv", ROSTER_SHA256, shard)
    write_class_files(outcomes, SPEC, folder, roster=stamp, started=STARTED, finished=FINISHED)
    return folder


def write_student(where: Path, row: RosterRow) -> StudentOutcome:
    """A graded student's results.json and report.html in `where`, and their outcome with its checksum."""
    where.mkdir(parents=True, exist_ok=True)
    result = make_result(student=row.name)
    result.write_json(where / "results.json")
    (where / "report.html").write_text(f"<p>{row.name}</p>\n", encoding="utf-8")
    return StudentOutcome(row=row, status="graded", result=result, results_sha256=file_sha256(where / "results.json"))


def edit_manifest(folder: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    """Change `folder`'s batch.json in place with `edit`."""
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    edit(data)
    (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")


def forge_student(folder: Path, student_id: str, where: Path) -> None:
    """List `student_id` as graded in `folder`'s batch.json, its results at `where` with the matching checksum."""
    outcome = write_student(where, RosterRow(line=9, student_id="s09", name="Mallory"))

    def add(data: dict[str, Any]) -> None:
        entry = dict(data["students"][0], student_id=student_id, line=9, results_sha256=outcome.results_sha256)
        data["students"].append(entry)

    edit_manifest(folder, add)


def files_under(root: Path) -> set[Path]:
    """Every path under `root`, symlinks not followed."""
    return {Path(dirpath) / name for dirpath, dirs, files in os.walk(root) for name in [*dirs, *files]}


def refused(folders: list[Path], out: Path, *, partial: bool = False) -> GraderError:
    """The usage error merging `folders` into `out` raises."""
    with pytest.raises(GraderError) as caught:
        merge_shards(folders, out, partial=partial)
    assert caught.value.kind == "usage", caught.value.message
    return caught.value


def merge_cli(*args: str) -> tuple[int, str]:
    """`grader merge ARGS`: its exit code and output (words joined by single spaces); never a traceback."""
    result = CliRunner().invoke(app, ["merge", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def test_every_shard_merged_gives_the_whole_class_in_roster_order(tmp_path: Path) -> None:
    """Shards 2/2 and 1/2 merged: every student in roster order, each graded student's files copied as files."""
    folders = [make_shard(tmp_path / f"shard-{k}", f"{k}/2") for k in (2, 1)]
    merged = merge_shards(folders, tmp_path / "out")
    assert merged.missing == ()
    assert [o.row.student_id for o in merged.outcomes] == [row.student_id for row in ROWS]
    for student in ("s01", "s02", "s04"):
        assert (tmp_path / "out" / student / "results.json").is_file()
        assert not (tmp_path / "out" / student / "report.html").is_symlink()
    assert not (tmp_path / "out" / UNGRADABLE).exists()
    assert json.loads((tmp_path / "out" / MANIFEST).read_text(encoding="utf-8"))["shard"] == ""


def test_a_whole_batch_alone_merges_as_itself(tmp_path: Path) -> None:
    """A batch.json without a shard (the whole roster) merged alone is the whole class."""
    outcomes = merge_batches([make_shard(tmp_path / "whole", "")], tmp_path / "out")
    assert [o.row.student_id for o in outcomes] == [row.student_id for row in ROWS]


@pytest.mark.parametrize(
    ("student_id", "where"),
    [
        pytest.param("../../x", lambda shard: shard / "../../x", id="up-two"),
        pytest.param("../outside", lambda shard: shard.parent / "outside", id="up-one"),
        pytest.param("", lambda shard: shard / "empty", id="empty"),
        pytest.param("..", lambda shard: shard / "dots", id="dot-dot"),
        pytest.param("s 09", lambda shard: shard / "s 09", id="not-its-slug"),
    ],
)
def test_an_id_that_is_not_a_roster_id_is_refused_and_nothing_is_written(
    tmp_path: Path, student_id: str, where: Callable[[Path], Path]
) -> None:
    """An id the roster would refuse (results.json matching) is refused, naming folder and id; nothing is written."""
    shards = [make_shard(tmp_path / "in" / "deep" / f"shard-{k}", f"{k}/2") for k in (1, 2)]
    forge_student(shards[0], student_id, where(shards[0]))
    before = files_under(tmp_path)
    out = tmp_path / "o1" / "o2" / "out"
    error = refused(shards, out)
    assert str(shards[0]) in error.message
    named = f"student_id '{student_id}'" if student_id else "student_id is empty"
    assert named in error.message
    assert files_under(tmp_path) == before


def test_an_absolute_id_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """An absolute path as a graded student's id is a usage error naming it, from merge_shards and from the CLI."""
    shards = [make_shard(tmp_path / f"shard-{k}", f"{k}/2") for k in (1, 2)]
    absolute = tmp_path / "elsewhere" / "s09"
    forge_student(shards[1], str(absolute), absolute)
    before = files_under(tmp_path)
    error = refused(shards, tmp_path / "out")
    assert str(shards[1]) in error.message
    assert f"'{str(absolute)[:40]}" in error.message
    code, output = merge_cli(*map(str, shards), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "is not a roster id" in output
    assert files_under(tmp_path) == before


def _link_report(student: Path, secret: Path) -> None:
    (student / "report.html").unlink()
    (student / "report.html").symlink_to(secret)


def _link_nested_folder(student: Path, secret: Path) -> None:
    (student / "assets" / "css").mkdir(parents=True)
    (student / "assets" / "css" / "site.css").symlink_to(secret)


def _link_folder_inside(student: Path, secret: Path) -> None:
    (student / "assets").symlink_to(secret.parent, target_is_directory=True)


def _link_the_student_folder(student: Path, secret: Path) -> None:
    elsewhere = secret.parent / student.name
    shutil.move(student, elsewhere)
    student.symlink_to(elsewhere, target_is_directory=True)


def _make_a_pipe(student: Path, secret: Path) -> None:
    os.mkfifo(student / "pipe")


@pytest.mark.parametrize(
    ("link", "what"),
    [
        pytest.param(_link_report, "a symlink", id="a-file"),
        pytest.param(_link_nested_folder, "a symlink", id="a-file-in-a-subfolder"),
        pytest.param(_link_folder_inside, "a symlink", id="a-subfolder"),
        pytest.param(_link_the_student_folder, "a symlink", id="the-student-folder"),
        pytest.param(_make_a_pipe, "neither a plain file nor a folder", id="a-named-pipe"),
    ],
)
def test_a_symlink_in_a_students_folder_is_refused_and_not_followed(
    tmp_path: Path, link: Callable[[Path, Path], None], what: str
) -> None:
    """A symlink or named pipe in (or as) a graded student's folder is refused, naming it; nothing is copied."""
    secret = tmp_path / "private" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0\n", encoding="utf-8")
    shards = [make_shard(tmp_path / f"shard-{k}", f"{k}/2") for k in (1, 2)]
    link(shards[0] / "s01", secret)
    out = tmp_path / "out"
    error = refused(shards, out)
    assert str(shards[0] / "s01") in error.message
    assert "student s01" in error.message
    assert f"which is {what}" in error.message
    assert not out.exists()


def test_a_symlink_in_the_out_folder_is_not_written_through(tmp_path: Path) -> None:
    """A student's folder in --out that is a symlink to elsewhere is refused: nothing is copied into its target."""
    shards = [make_shard(tmp_path / f"shard-{k}", f"{k}/2") for k in (1, 2)]
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "s01").symlink_to(victim, target_is_directory=True)
    error = refused(shards, out)
    assert str(out) in error.message
    assert "symlink" in error.message
    assert list(victim.iterdir()) == []


def test_an_incomplete_set_of_shards_is_refused_naming_the_missing_ones(tmp_path: Path) -> None:
    """Shard 1/2 alone is refused, saying 2/2 is missing and what to do; the CLI exits 2 and writes nothing."""
    shard = make_shard(tmp_path / "shard-1", "1/2")
    out = tmp_path / "out"
    error = refused([shard], out)
    assert error.message == "shard 2/2 is missing: merge every shard, or pass --partial to merge what is here."
    four = [make_shard(tmp_path / f"of-4-{k}", f"{k}/4") for k in (1, 3)]
    assert refused(four, out).message.startswith("shards 2/4 and 4/4 are missing: ")
    code, output = merge_cli(str(shard), "--out", str(out))
    assert code == 2
    assert "shard 2/2 is missing: merge every shard, or pass --partial" in output
    assert not out.exists()


def test_partial_merges_the_shards_present_and_says_which_are_missing(tmp_path: Path) -> None:
    """With --partial, shards 1/4 and 3/4 make class files of their students; the closing line names 2/4 and 4/4."""
    shards = [make_shard(tmp_path / f"shard-{k}", f"{k}/4") for k in (1, 3)]
    merged = merge_shards(shards, tmp_path / "out", partial=True)
    assert merged.missing == ("2/4", "4/4")
    assert [o.row.student_id for o in merged.outcomes] == ["s01", UNGRADABLE]
    code, output = merge_cli(*map(str, shards), "--out", str(tmp_path / "cli"), "--partial")
    assert code == 0, output
    assert "shards 2/4 and 4/4 are missing" in output
    class_csv = (tmp_path / "cli" / "class.csv").read_text(encoding="utf-8")
    assert "s01" in class_csv
    assert "s02" not in class_csv


@pytest.mark.parametrize(
    ("shards", "phrase"),
    [
        pytest.param(["1/2", "1/2"], "shard 1/2 is in both", id="a-shard-twice"),
        pytest.param(["1/2", "2/3"], "is shard 2/3 but", id="two-splits"),
        pytest.param(["1/2", ""], "names no shard", id="a-whole-batch-and-a-shard"),
        pytest.param(["", ""], "names no shard", id="two-whole-batches"),
    ],
)
def test_shards_of_different_splits_are_refused_even_with_partial(
    tmp_path: Path, shards: list[str], phrase: str
) -> None:
    """A shard twice, shards of two splits, or a whole batch beside another folder: refused, --partial or not."""
    folders = [make_shard(tmp_path / f"folder-{i}", shard) for i, shard in enumerate(shards)]
    for partial in (False, True):
        assert phrase in refused(folders, tmp_path / "out", partial=partial).message


def _students(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["students"]


BROKEN_MANIFESTS: list[Any] = [
    pytest.param(b"{not json", "is not JSON", id="not-json"),
    pytest.param(b"\xff\xfe{}", "is not JSON", id="not-utf8"),
    pytest.param(b"[" * 100_000, "is not JSON", id="nested-too-deep"),
    pytest.param(b"[]", "is not a JSON object", id="a-list"),
    pytest.param(lambda d: d.update(schema_version=99), "schema_version is not 1", id="another-schema"),
    pytest.param(lambda d: d.pop("students"), "no students", id="no-students"),
    pytest.param(lambda d: d.update(students=5), "students is not a list", id="students-a-number"),
    pytest.param(lambda d: d.update(spec=5), "spec is not text", id="spec-a-number"),
    pytest.param(lambda d: d.update(shard=2), "shard is not text", id="shard-a-number"),
    pytest.param(lambda d: d.update(shard="3/2"), "'3/2'", id="shard-not-k-of-n"),
    pytest.param(lambda d: d.update(shard="1/99999"), "'1/99999'", id="shard-of-too-many"),
    pytest.param(lambda d: _students(d).append("s09"), "student entry 3", id="entry-not-an-object"),
    pytest.param(
        lambda d: _students(d)[0].update(student_id=7), "student entry 1 has no student_id text", id="id-a-number"
    ),
    pytest.param(lambda d: _students(d)[0].pop("student_id"), "student entry 1 has no student_id text", id="no-id"),
    pytest.param(
        lambda d: _students(d)[0].update(line="two"), "line that is not a whole number", id="line-not-a-number"
    ),
    pytest.param(lambda d: _students(d)[0].update(status=None), "no status text", id="no-status"),
    pytest.param(lambda d: _students(d)[0].update(name=["Ada"]), "name that is not text", id="name-a-list"),
    pytest.param(
        lambda d: _students(d)[0].update(duration_seconds="slow"), "duration_seconds that is not a number", id="slow"
    ),
    pytest.param(lambda d: _students(d).append(dict(_students(d)[0])), "twice", id="a-student-twice"),
    pytest.param(lambda d: _students(d).append(dict(_students(d)[1], student_id="S01")), "twice", id="in-two-cases"),
]


@pytest.mark.parametrize(("broken", "phrase"), BROKEN_MANIFESTS)
def test_a_broken_batch_json_is_a_usage_error_naming_it(
    tmp_path: Path, broken: bytes | Callable[[dict[str, Any]], object], phrase: str
) -> None:
    """A batch.json not JSON, of wrong types or listing a student twice: a usage error naming it; the CLI exits 2."""
    shards = [make_shard(tmp_path / f"shard-{k}", f"{k}/2") for k in (1, 2)]
    if isinstance(broken, bytes):
        (shards[0] / MANIFEST).write_bytes(broken)
    else:
        edit_manifest(shards[0], broken)
    error = refused(shards, tmp_path / "out")
    assert str(shards[0]) in error.message
    assert phrase in error.message
    code, output = merge_cli(*map(str, shards), "--out", str(tmp_path / "out"))
    assert code == 2
    assert phrase in output


def test_a_folder_without_batch_json_is_a_usage_error(tmp_path: Path) -> None:
    """A folder `grader batch` did not write is refused as a usage error naming it."""
    (tmp_path / "empty").mkdir()
    assert str(tmp_path / "empty") in refused([tmp_path / "empty"], tmp_path / "out").message


def test_a_partial_merge_says_which_shards_it_holds_and_never_merges_as_the_whole_roster(tmp_path: Path) -> None:
    """The folder a partial merge writes names its shards ("1/4+3/4"), so merging it later as a whole is refused."""
    shards = [make_shard(tmp_path / f"shard-{k}", f"{k}/4") for k in (3, 1)]
    merge_shards(shards, tmp_path / "out", partial=True)
    manifest = json.loads((tmp_path / "out" / "batch.json").read_text(encoding="utf-8"))
    assert manifest["shard"] == "1/4+3/4"
    assert refused([tmp_path / "out"], tmp_path / "again").kind == "usage"

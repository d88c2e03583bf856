"""`grader merge`: shard folders of one roster joined into one class folder, as if graded in one run.

Nothing in a shard folder is taken on trust. Each batch.json must be one `grader batch` wrote: JSON with
fields of the right types, every student id a roster id, none twice. All must name the same spec and the
same roster (its checksum) and be the shards of one split, "K/N": the same N, each K once, every K from
1 to N (with `partial`, what is here). A batch.json that names no shard graded the whole roster, so it
merges only alone. No student may be in two shards; every graded student's results.json must be the one
its manifest names, and their folder, in the shard and in the merged folder, must hold only plain files
and folders (no symlink). All of this is checked before anything is written; then the students' folders
are copied and the class files rebuilt in roster order.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any

from grader.batch.model import StudentOutcome, parse_shard
from grader.batch.outputs import (
    MANIFEST,
    MANIFEST_SCHEMA,
    Manifest,
    RosterStamp,
    outcomes_of,
    read_manifest,
    write_class_files,
)
from grader.batch.roster import MAX_ROSTER_ROWS, identity_problems
from grader.errors import GraderError
from grader.spec import LabSpec, SpecError, load_spec

REQUIRED_FIELDS = ("spec", "roster_sha256", "students")
TEXT_FIELDS = ("spec", "roster_sha256", "roster", "shard", "spec_source", "started", "finished")
ENTRY_TEXT_FIELDS = ("name", "email", "sis_login_id", "section", "reason", "results_sha256")
MAX_SHOWN_SHARDS = 10
AS_WRITTEN = "Merge only folders `grader batch` wrote, as it wrote them."

Shard = tuple[Path, Manifest]


@dataclass(frozen=True)
class Merged:
    """What a merge made: every student's outcome in roster order, and the shards ("K/N") that were not there."""

    outcomes: list[StudentOutcome]
    missing: tuple[str, ...] = ()


def merge_batches(folders: Sequence[Path], out: Path) -> list[StudentOutcome]:
    """Join every shard folder of one batch into `out` (class files rebuilt); the outcomes, in roster order."""
    return merge_shards(folders, out).outcomes


def merge_shards(folders: Sequence[Path], out: Path, *, partial: bool = False) -> Merged:
    """Join the shard folders `folders` into `out`; with `partial`, shards may be missing (Merged.missing).

    Anything wrong is a GraderError (kind "usage") raised before anything is written.
    """
    if not folders:
        raise GraderError("Name the shard folders to merge.", kind="usage")
    shards = [(folder, checked_manifest(folder)) for folder in folders]
    _refuse_foreign(shards)
    missing = missing_shards(shards)
    if missing and not partial:
        raise GraderError(
            f"{missing_phrase(missing)}: merge every shard, or pass --partial to merge what is here.", kind="usage"
        )
    students = _students_of(shards)
    _refuse_unsafe_copies(students, out)
    first = shards[0][1]
    spec = graded_spec(first.spec, first.spec_source)
    _copy_students(students, out)
    outcomes = [outcome for outcome, _ in students]
    started = min(manifest.started for _, manifest in shards)
    finished = max(manifest.finished for _, manifest in shards)
    # A partial merge says which shards it holds ("1/4+3/4"), so it never passes for the whole roster later.
    held = "+".join(sorted((m.shard for _, m in shards), key=_shard_order)) if missing else ""
    stamp = RosterStamp(first.roster, first.roster_sha256, held)
    write_class_files(outcomes, spec, out, roster=stamp, started=started, finished=finished)
    return Merged(outcomes, tuple(missing))


def _shard_order(shard: str) -> int:
    """The K of a "K/N" shard, for ordering."""
    k_text = shard.partition("/")[0]
    return int(k_text) if k_text.isdigit() else 0


def missing_phrase(missing: Sequence[str]) -> str:
    """The missing shards in words: "shard 2/2 is missing", "shards 2/4 and 4/4 are missing" (a few named)."""
    if len(missing) == 1:
        return f"shard {missing[0]} is missing"
    shown = list(missing[:MAX_SHOWN_SHARDS])
    more = len(missing) - len(shown)
    names = ", ".join(shown) + f" and {more} more" if more else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    return f"shards {names} are missing"


def checked_manifest(folder: Path) -> Manifest:
    """The manifest of `folder` once its batch.json is shown to be one `grader batch` wrote; else a GraderError."""
    path = folder / MANIFEST
    data = _manifest_json(path)
    problem = _manifest_problem(data)
    if problem:
        raise GraderError(f"{path} is not a batch.json `grader batch` wrote: {problem}. {AS_WRITTEN}", kind="usage")
    _refuse_bad_ids(folder, [entry["student_id"] for entry in data["students"]])
    manifest = read_manifest(folder)
    if manifest is None or len(manifest.students) != len(data["students"]):  # changed since it was checked
        raise GraderError(f"{path} changed while it was being read: merge again.", kind="usage")
    return manifest


def _manifest_json(path: Path) -> Any:
    """The JSON of the batch.json at `path`; a GraderError when there is none or it is not JSON."""
    if not path.parent.is_dir():
        raise GraderError(f"{path.parent} is not a folder: name the folders `grader batch` wrote.", kind="usage")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraderError(
            f"{path.parent} holds no batch.json: name the folders `grader batch` wrote.", kind="usage"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise GraderError(f"{path} could not be read ({reason}). {AS_WRITTEN}", kind="usage") from None
    except ValueError:  # not UTF-8
        raise GraderError(f"{path} is not JSON (it is not UTF-8 text). {AS_WRITTEN}", kind="usage") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise GraderError(f"{path} is not JSON. {AS_WRITTEN}", kind="usage") from None


def _manifest_problem(data: Any) -> str:
    """What makes `data` not a manifest merge can read, or "" (every field merge reads, of its type)."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    if data.get("schema_version") != MANIFEST_SCHEMA:
        return f"its schema_version is not {MANIFEST_SCHEMA}"
    absent = [name for name in REQUIRED_FIELDS if name not in data]
    if absent:
        return f"it has no {absent[0]}"
    not_text = [name for name in TEXT_FIELDS if not isinstance(data.get(name, ""), str)]
    if not_text:
        return f"its {not_text[0]} is not text"
    if not isinstance(data["students"], list):
        return "its students is not a list"
    for number, entry in enumerate(data["students"], start=1):
        problem = _entry_problem(entry)
        if problem:
            return f"student entry {number} {problem}"
    return ""


def _entry_problem(entry: Any) -> str:
    """What makes one student entry of a manifest unreadable to merge, or ""."""
    if not isinstance(entry, dict):
        return "is not a JSON object"
    for name in ("student_id", "status"):
        if not isinstance(entry.get(name), str):
            return f"has no {name} text"
    not_text = [name for name in ENTRY_TEXT_FIELDS if not isinstance(entry.get(name), str | None)]
    if not_text:
        return f"has a {not_text[0]} that is not text"
    if not _is_number(entry.get("line"), int):
        return "has a line that is not a whole number"
    if not _is_number(entry.get("duration_seconds"), int | float):
        return "has a duration_seconds that is not a number"
    return ""


def _is_number(value: Any, kind: type | UnionType) -> bool:
    """Whether `value` is absent (None) or a number of `kind`; JSON's true and false are not numbers."""
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def _refuse_bad_ids(folder: Path, student_ids: list[str]) -> None:
    """Refuse a manifest listing an id the roster would refuse, or one id twice (ignoring case, as the roster)."""
    seen: set[str] = set()
    for student_id in student_ids:
        problems = identity_problems(student_id)
        if problems:
            raise GraderError(
                f"The batch.json of {folder} lists a student id that is not a roster id: {problems[0]}. {AS_WRITTEN}",
                kind="usage",
            )
        if student_id.casefold() in seen:
            raise GraderError(
                f"The batch.json of {folder} lists the student {student_id} twice (ids are unique, ignoring case). "
                f"{AS_WRITTEN}",
                kind="usage",
            )
        seen.add(student_id.casefold())


def _refuse_foreign(shards: Sequence[Shard]) -> None:
    """Refuse shards that name another spec or another roster than the first."""
    first_folder, first = shards[0]
    for folder, manifest in shards[1:]:
        if (manifest.spec, manifest.roster_sha256) != (first.spec, first.roster_sha256):
            raise GraderError(
                f"{folder} and {first_folder} are not shards of one batch: their spec or roster differ "
                f"({manifest.spec} and {first.spec}; roster checksums {manifest.roster_sha256[:12]} and "
                f"{first.roster_sha256[:12]}). Merge only the shards of one roster graded with one spec.",
                kind="usage",
            )


def missing_shards(shards: Sequence[Shard]) -> list[str]:
    """The shards ("K/N") of the split `shards` come from that are not among them; a GraderError when they are
    not shards of one split (two N, a K twice, or a whole batch beside other folders)."""
    split: list[tuple[Path, int, int]] = []
    for folder, manifest in shards:
        numbers = _shard_numbers(folder, manifest.shard)
        if numbers is None and len(shards) > 1:
            raise GraderError(
                f"{folder} graded the whole roster (its batch.json names no shard), so it cannot be merged with "
                "other folders: merge it alone, or only the shard folders of one split.",
                kind="usage",
            )
        if numbers is not None:
            split.append((folder, *numbers))
    if not split:
        return []
    first_folder, first_k, n = split[0]
    owner: dict[int, Path] = {}
    for folder, k, n_here in split:
        if n_here != n:
            raise GraderError(
                f"{folder} is shard {k}/{n_here} but {first_folder} is shard {first_k}/{n}: "
                "merge the shards of one split (the same N).",
                kind="usage",
            )
        if k in owner:
            raise GraderError(f"shard {k}/{n} is in both {owner[k]} and {folder}: merge each shard once.", kind="usage")
        owner[k] = folder
    return [f"{k}/{n}" for k in range(1, n + 1) if k not in owner]


def _shard_numbers(folder: Path, shard: str) -> tuple[int, int] | None:
    """K and N of the shard a manifest names (None when it names none); a GraderError when it is not K/N."""
    if not shard:
        return None
    try:
        k, n = parse_shard(shard)
    except ValueError:
        problem = "is not K/N with 1 <= K <= N"
    else:
        if n <= MAX_ROSTER_ROWS:
            return k, n
        problem = f"splits the roster into more shards than a roster has rows ({MAX_ROSTER_ROWS:,} at most)"
    raise GraderError(
        f"The batch.json of {folder} names the shard {shard[:40]!r}, which {problem}. {AS_WRITTEN}", kind="usage"
    )


def _students_of(shards: Sequence[Shard]) -> list[tuple[StudentOutcome, Path]]:
    """Every student of `shards` with the shard folder that holds them, in roster order; none in two shards."""
    owner: dict[str, Path] = {}
    students: list[tuple[StudentOutcome, Path]] = []
    for folder, manifest in shards:
        _refuse_links_in_shard(folder, manifest)
        for outcome in outcomes_of(folder):
            student = outcome.row.student_id
            if student.casefold() in owner:
                raise GraderError(
                    f"The student {student} is in both {owner[student.casefold()]} and {folder}: shards must not "
                    "overlap. Merge each shard once.",
                    kind="usage",
                )
            owner[student.casefold()] = folder
            students.append((outcome, folder))
    students.sort(key=lambda student: student[0].row.line)
    return students


def _refuse_links_in_shard(folder: Path, manifest: Manifest) -> None:
    """Refuse a graded student's folder in the shard that is, or holds, a symlink or a special file."""
    for student_id, entry in manifest.students.items():
        if entry.get("status") == "graded":
            _refuse_odd_entries(folder, student_id, AS_WRITTEN)


def _refuse_unsafe_copies(students: Sequence[tuple[StudentOutcome, Path]], out: Path) -> None:
    """Refuse a graded student whose folder, in its shard or in `out`, leaves that folder or holds a symlink."""
    for outcome, folder in students:
        if outcome.result is None:
            continue
        student_id = outcome.row.student_id
        for root in (folder, out):
            if not _inside(root / student_id, root):
                raise GraderError(
                    f"The folder of the student {student_id}, {root / student_id}, is not inside {root}: merge reads "
                    "and writes only inside the shard folders and the merged folder.",
                    kind="usage",
                )
        _refuse_odd_entries(out, student_id, "Merge into an empty folder, or one without symlinks.")


def _refuse_odd_entries(root: Path, student_id: str, advice: str) -> None:
    """Refuse `root`/`student_id` when it is, or holds, a symlink or anything but plain files and folders."""
    found = _first_odd_entry(root / student_id)
    if found is not None:
        path, oddity = found
        raise GraderError(
            f"The folder of the student {student_id} in {root} has {path}, which is {oddity}: merge copies only "
            f"plain files and folders, and follows no symlink. {advice}",
            kind="usage",
        )


def _first_odd_entry(folder: Path) -> tuple[Path, str] | None:
    """The first of `folder` and everything below it that is not a plain file or folder, and what it is."""
    for path in _entries(folder):
        oddity = _oddity(path)
        if oddity:
            return path, oddity
    return None


def _entries(folder: Path) -> Iterator[Path]:
    """`folder`, then every path below it (symlinks not followed); nothing when it does not exist."""
    yield folder
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            yield Path(dirpath) / name


def _oddity(path: Path) -> str:
    """What `path` is when it is not a plain file or folder ("a symlink", ...); "" when it is one, or missing."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"a path that cannot be looked at ({exc.strerror or type(exc).__name__})"
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ""
    return "neither a plain file nor a folder"


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, every link resolved, is below `root`."""
    resolved, top = path.resolve(), root.resolve()
    return resolved != top and resolved.is_relative_to(top)


def _copy_students(students: Sequence[tuple[StudentOutcome, Path]], out: Path) -> None:
    """Copy each graded student's folder from its shard into `out` (links copied as links, never followed)."""
    for outcome, folder in students:
        source, target = folder / outcome.row.student_id, out / outcome.row.student_id
        if outcome.result is None or source.resolve() == target.resolve():
            continue
        try:
            shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise GraderError(
                f"The folder of the student {outcome.row.student_id} could not be copied from {source} to {target} "
                f"({reason}). Check that the merged folder can be written to, and merge again.",
                kind="usage",
            ) from None


def graded_spec(spec_id: str, source: str) -> LabSpec:
    """The spec the shards were graded with: built in by id, or the file they named."""
    for candidate in (spec_id, source):
        if not candidate:
            continue
        try:
            found = load_spec(candidate)
        except SpecError:
            continue
        if found.id == spec_id:
            return found
    raise GraderError(
        f"The spec {spec_id!r} the shards were graded with cannot be found here ({source}). "
        "Merge on a machine that has it, or give it the same path.",
        kind="usage",
    )

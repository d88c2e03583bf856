"""`grader merge`: shard folders of one roster joined into one class folder, as if graded in one run.

Each shard's batch.json must name the same spec and the same roster (its checksum); no student may
be in two shards; every graded student's results.json must be the one its manifest names. The
students' folders are copied and the class files rebuilt in roster order.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from grader.batch.model import StudentOutcome
from grader.batch.outputs import RosterStamp, outcomes_of, read_manifest, write_class_files
from grader.errors import GraderError
from grader.spec import LabSpec, SpecError, load_spec


def merge_batches(folders: Sequence[Path], out: Path) -> list[StudentOutcome]:
    """Join the batch folders `folders` into `out` (class files rebuilt); the outcomes, in roster order."""
    manifests = []
    for folder in folders:
        manifest = read_manifest(folder)
        if manifest is None:
            raise GraderError(f"{folder} holds no batch.json the grader can read: name folders `grader batch` wrote.")
        manifests.append((folder, manifest))
    first_folder, first = manifests[0]
    for folder, manifest in manifests[1:]:
        if (manifest.spec, manifest.roster_sha256) != (first.spec, first.roster_sha256):
            raise GraderError(
                f"{folder} and {first_folder} are not shards of one batch: their spec or roster differ "
                f"({manifest.spec} and {first.spec}; roster checksums {manifest.roster_sha256[:12]} and "
                f"{first.roster_sha256[:12]}). Merge only the shards of one roster graded with one spec.",
                kind="usage",
            )
    owner: dict[str, Path] = {}
    outcomes: list[StudentOutcome] = []
    for folder, _ in manifests:
        for outcome in outcomes_of(folder):
            student = outcome.row.student_id
            if student in owner:
                raise GraderError(
                    f"The student {student} is in both {owner[student]} and {folder}: shards must not overlap. "
                    "Merge each shard once.",
                    kind="usage",
                )
            owner[student] = folder
            outcomes.append(outcome)
    outcomes.sort(key=lambda outcome: outcome.row.line)
    spec = _spec_of(first.spec, first.spec_source)
    for outcome in outcomes:
        source = owner[outcome.row.student_id] / outcome.row.student_id
        target = out / outcome.row.student_id
        if outcome.result is not None and source.resolve() != target.resolve():
            shutil.copytree(source, target, dirs_exist_ok=True)
    started = min(m.started for _, m in manifests)
    finished = max(m.finished for _, m in manifests)
    stamp = RosterStamp(first.roster, first.roster_sha256)
    write_class_files(outcomes, spec, out, roster=stamp, started=started, finished=finished)
    return outcomes


def _spec_of(spec_id: str, source: str) -> LabSpec:
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

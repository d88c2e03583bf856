"""`grader rejudge FOLDER`: judge saved evidence again, offline, with the spec it was graded with or another.

FOLDER is one grade's folder (results.json and evidence.json) or a class's batch folder (batch.json):
there every graded student's evidence is judged again and the class files are rebuilt. Nothing is
observed: no credentials, no network, no browser. Each grade keeps when it was made and how long
it took; with the same spec and the same grader, the results are the ones first written.
Everything is read and checked before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.batch.model import StudentOutcome
from grader.batch.outputs import MANIFEST, RosterStamp, file_sha256, outcomes_of, read_manifest, write_class_files
from grader.errors import GraderError
from grader.observe.evidence import Evidence
from grader.observe.evidence_file import EVIDENCE_FILE, read_evidence
from grader.outputs import write_grade
from grader.pipeline import judge
from grader.results import GradeResult
from grader.spec import LabSpec, SpecError, load_spec


@dataclass(frozen=True)
class Rejudged:
    """What a rejudge wrote: the folders' new results, and for a class its outcomes (roster order)."""

    results: list[GradeResult]
    outcomes: list[StudentOutcome] | None = None


def rejudge(folder: Path, spec: LabSpec | None = None) -> Rejudged:
    """Judge the evidence saved in `folder` again (see the module's docstring); a GraderError says why not."""
    if (folder / MANIFEST).is_file():
        return _rejudge_class(folder, spec)
    if (folder / EVIDENCE_FILE).is_file() or (folder / "results.json").is_file():
        return Rejudged([_rejudge_one(folder, spec)])
    raise GraderError(
        f"{folder} holds neither a grade (results.json and {EVIDENCE_FILE}) nor a class's batch.json: name the "
        "folder of one student's report, or the --out folder of `grader batch`.",
        kind="usage",
    )


def _rejudge_one(folder: Path, spec: LabSpec | None) -> GradeResult:
    evidence, graded = read_evidence(folder)
    earlier = _earlier_result(folder)
    lab = spec or _spec_by_id(earlier.spec_id if earlier else "", folder)
    result = _judged(lab, evidence, graded, earlier)
    write_grade(result, evidence, folder)
    return result


def _rejudge_class(folder: Path, spec: LabSpec | None) -> Rejudged:
    from grader.batch.merge import graded_spec

    manifest = read_manifest(folder)
    if manifest is None:
        raise GraderError(f"{folder / MANIFEST} is not a batch.json this grader can read.", kind="usage")
    outcomes = outcomes_of(folder)  # refuses a folder whose results were changed after the batch
    lab = spec or graded_spec(manifest.spec, manifest.spec_source)
    saved: dict[str, tuple[Evidence, dict[str, Any]]] = {}
    for outcome in outcomes:  # every student's evidence read before anything is written
        if outcome.result is not None:
            saved[outcome.row.student_id] = read_evidence(folder / outcome.row.student_id)
    rejudged: list[StudentOutcome] = []
    results: list[GradeResult] = []
    for outcome in outcomes:
        student_id = outcome.row.student_id
        if outcome.result is None:
            rejudged.append(outcome)
            continue
        evidence, graded = saved[student_id]
        result = _judged(lab, evidence, graded, outcome.result)
        write_grade(result, evidence, folder / student_id)
        results.append(result)
        checksum = file_sha256(folder / student_id / "results.json")
        rejudged.append(replace(outcome, result=result, results_sha256=checksum))
    stamp = RosterStamp(manifest.roster, manifest.roster_sha256, manifest.shard)
    write_class_files(rejudged, lab, folder, roster=stamp, started=manifest.started, finished=manifest.finished)
    return Rejudged(results, rejudged)


def _judged(spec: LabSpec, evidence: Evidence, graded: dict[str, Any], earlier: GradeResult | None) -> GradeResult:
    """`evidence` judged by `spec`, keeping the grade's own finish time and duration and its roster fields."""
    result = judge(spec, evidence)
    finished, duration = graded.get("finished"), graded.get("duration_seconds")
    if isinstance(finished, str) and isinstance(duration, int | float) and not isinstance(duration, bool):
        result = replace(result, finished=finished, duration_seconds=float(duration))
    return replace(result, roster=dict(earlier.roster)) if earlier is not None else result


def _earlier_result(folder: Path) -> GradeResult | None:
    try:
        return GradeResult.read_json(folder / "results.json")
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _spec_by_id(spec_id: str, folder: Path) -> LabSpec:
    try:
        return load_spec(spec_id)
    except SpecError:
        said = f"the spec {spec_id!r}" if spec_id else "a spec"
        raise GraderError(
            f"The grade in {folder} was made with {said} this grader does not have built in: name it with --spec FILE.",
            kind="usage",
        ) from None

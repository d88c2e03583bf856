"""A batch's files: the class files rebuilt from every outcome, and batch.json, the manifest.

DIR/class.csv, class.html, junit.xml and gradescope/<student_id>.json are rendered from the
outcomes in roster order; batch.json says what was graded (spec, grader version, the roster's
checksum, start and end, and per student: status, reason, score, duration, and the checksum of
their results.json). `--resume` and `--only` read it back (:func:`read_manifest`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import __version__
from grader.batch.model import RosterRow, StudentOutcome
from grader.results import GradeResult, write_text_atomic
from grader.spec import LabSpec

MANIFEST = "batch.json"
MANIFEST_SCHEMA = 1


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What batch.json says of an earlier run: per student id, its entry."""

    spec: str
    roster_sha256: str
    students: dict[str, dict[str, Any]] = field(default_factory=dict)
    roster: str = ""
    shard: str = ""
    spec_source: str = ""
    started: str = ""
    finished: str = ""


def read_manifest(out: Path) -> Manifest | None:
    """The manifest in `out`, or None when there is none (or it cannot be read: the batch starts afresh)."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema_version") != MANIFEST_SCHEMA:
        return None
    students = {str(entry.get("student_id")): entry for entry in data.get("students", []) if isinstance(entry, dict)}
    return Manifest(
        str(data.get("spec", "")),
        str(data.get("roster_sha256", "")),
        students,
        roster=str(data.get("roster", "")),
        shard=str(data.get("shard", "")),
        spec_source=str(data.get("spec_source", "")),
        started=str(data.get("started", "")),
        finished=str(data.get("finished", "")),
    )


def finished_result(out: Path, row: RosterRow, manifest: Manifest | None) -> GradeResult | None:
    """A graded student's result from an earlier run, when the manifest vouches for its results.json."""
    entry = manifest.students.get(row.student_id) if manifest else None
    if not entry or entry.get("status") != "graded":
        return None
    path = out / row.student_id / "results.json"
    try:
        if file_sha256(path) != entry.get("results_sha256"):
            return None
        return GradeResult.read_json(path)
    except (OSError, ValueError, TypeError, KeyError):
        return None


@dataclass(frozen=True)
class RosterStamp:
    """Which roster a batch graded: its name (for titles) and its checksum (shards must share it)."""

    name: str
    sha256: str
    shard: str = ""
    """`K/N` when this batch graded one shard of the roster."""

    @classmethod
    def of(cls, roster: Path, shard: str = "") -> RosterStamp:
        return cls(str(roster), file_sha256(roster), shard)


def write_class_files(
    outcomes: Sequence[StudentOutcome],
    spec: LabSpec,
    out: Path,
    *,
    roster: RosterStamp,
    started: str,
    finished: str,
) -> None:
    """Write class.csv, class.html, junit.xml, gradescope/<id>.json and batch.json for `outcomes` (roster order)."""
    from grader.batch.class_report import render_class_html
    from grader.batch.exports import class_csv, gradescope_results, junit_xml

    out.mkdir(parents=True, exist_ok=True)
    links = {o.row.student_id: f"{o.row.student_id}/report.html" for o in outcomes if o.result is not None}
    write_text_atomic(out / "class.csv", class_csv(outcomes, spec))
    write_text_atomic(out / "junit.xml", junit_xml(outcomes, spec))
    title = Path(roster.name).stem + (f" (shard {roster.shard})" if roster.shard else "")
    write_text_atomic(out / "class.html", render_class_html(outcomes, spec, report_links=links, title=title))
    gradescope = out / "gradescope"
    gradescope.mkdir(exist_ok=True)
    for outcome in outcomes:
        text = json.dumps(gradescope_results(outcome, spec), indent=2) + "\n"
        write_text_atomic(gradescope / f"{outcome.row.student_id}.json", text)
    manifest = {
        "schema_version": MANIFEST_SCHEMA,
        "spec": spec.id,
        "spec_source": str(spec.source),
        "grader_version": __version__,
        "roster": roster.name,
        "roster_sha256": roster.sha256,
        "shard": roster.shard,
        "started": started,
        "finished": finished,
        "students": [_entry(outcome) for outcome in outcomes],
    }
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def _entry(outcome: StudentOutcome) -> dict[str, Any]:
    result = outcome.result
    row = outcome.row
    return {
        "student_id": row.student_id,
        "line": row.line,
        "name": row.name,
        "email": row.email,
        "sis_login_id": row.sis_login_id,
        "section": row.section,
        "status": outcome.status,
        "reason": outcome.reason,
        "score": result.score if result else None,
        "max_score": result.max_score if result else None,
        "failed": result.count("fail") if result else None,
        "errors": result.count("error") if result else None,
        "account_id": result.account_id if result else None,
        "duration_seconds": outcome.duration_seconds,
        "results_sha256": outcome.results_sha256,
    }


def outcomes_of(out: Path) -> list[StudentOutcome]:
    """Every student of the batch in `out`, as its manifest and results files say (roster order).

    A graded student whose results.json is missing or not the one the manifest names is a
    GraderError: the folder was changed after the batch, so its scores cannot be vouched for.
    """
    from grader.errors import GraderError

    manifest = read_manifest(out)
    if manifest is None:
        raise GraderError(
            f"{out} holds no batch.json the grader can read: name the folder `grader batch` wrote.", kind="usage"
        )
    outcomes = []
    for line, (student_id, entry) in enumerate(manifest.students.items(), start=2):
        row = RosterRow(
            line=int(entry.get("line") or line),
            student_id=student_id,
            name=str(entry.get("name") or ""),
            email=str(entry.get("email") or ""),
            sis_login_id=str(entry.get("sis_login_id") or ""),
            section=str(entry.get("section") or ""),
        )
        if entry.get("status") != "graded":
            outcomes.append(earlier_outcome(row, entry, None))
            continue
        result = finished_result(out, row, manifest)
        if result is None:
            raise GraderError(
                f"The results of {student_id} in {out} are missing or were changed after the batch "
                "(their checksum is not the one in batch.json). Grade them again with "
                f"`grader batch ROSTER --out {out} --resume`.",
                kind="usage",
            )
        outcomes.append(earlier_outcome(row, entry, result))
    return outcomes


def earlier_outcome(row: RosterRow, entry: dict[str, Any], result: GradeResult | None) -> StudentOutcome:
    """A student's outcome as the manifest `entry` tells it: graded with `result`, else not graded or ungradable."""
    if result is None:
        reason = str(entry.get("reason") or "")
        if entry.get("status") == "not-graded":
            return StudentOutcome(row=row, status="not-graded", reason=reason)
        return StudentOutcome(row=row, status="ungradable", reason=reason)
    return StudentOutcome(
        row=row,
        status="graded",
        result=result,
        duration_seconds=float(entry.get("duration_seconds") or 0),
        results_sha256=str(entry.get("results_sha256") or ""),
    )

"""evidence.json round-trips what the checks read, holds no secret, refuses what the grader did not write; and
`grader rejudge` judges it again offline: the same results with the same spec, the grader's error for a part the
saved evidence lacks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import GraderError
from grader.observe.evidence import NOT_OBSERVED
from grader.observe.evidence_file import decode, dumps, encode, loads, read_evidence
from grader.outputs import write_grade
from grader.pipeline import judge
from grader.rejudge import rejudge
from tests.leaks import leaks
from tests.unit.evidence import SPEC, finished_evidence


def test_the_finished_labs_evidence_round_trips_and_judges_the_same() -> None:
    evidence = finished_evidence()
    again, graded = loads(dumps(evidence, graded={"finished": "x", "duration_seconds": 1.5}))
    assert graded == {"finished": "x", "duration_seconds": 1.5}
    assert judge(SPEC, again) == judge(SPEC, evidence)
    assert again.snapshot == evidence.snapshot
    assert again.auth_events == evidence.auth_events


def test_the_saved_evidence_holds_no_token_and_no_password() -> None:
    evidence = finished_evidence()
    assert evidence.site_logins.value is not None
    assert evidence.site_logins.value.right.token_check is not None
    text = dumps(evidence)
    assert leaks(text, (SPEC.expected.final_password,)) == []
    # The token fields keep their names, never their values, even when a value was left in.
    raw = replace(evidence.site_logins.value.right, tokens={"CognitoIdentityServiceProvider.c.janedoe.idToken": "eyJx"})
    assert encode(raw)["tokens"] == {"CognitoIdentityServiceProvider.c.janedoe.idToken": ""}


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ("not json", "not JSON"),
        ('{"schema": 99, "evidence": {}}', "schema is 99"),
        ('{"schema": 1, "evidence": {"@": "os:system", "command": "true"}}', "not a type of the evidence"),
        ('{"schema": 1, "evidence": {"@": "grader.snapshot:Pool", "nope": 1}}', "does not know: nope"),
        ('{"schema": 1, "evidence": {"@": "grader.snapshot:__class__"}}', "not a type of the evidence"),
        ('{"schema": 1, "evidence": {"@": "datetime", "iso": "yesterday"}}', "malformed"),
    ],
)
def test_evidence_the_grader_did_not_write_is_refused_with_a_sentence(tmp_path: Path, document: str, said: str) -> None:
    (tmp_path / "evidence.json").write_text(document, encoding="utf-8")
    with pytest.raises(GraderError, match=said) as raised:
        read_evidence(tmp_path)
    assert raised.value.kind == "usage"


def test_rejudging_one_grade_offline_gives_the_same_results(tmp_path: Path) -> None:
    evidence = finished_evidence()
    written = write_grade(judge(SPEC, evidence), evidence, tmp_path)
    before = (written / "results.json").read_bytes()
    assert rejudge(tmp_path).results[0].score == json.loads(before)["score"]
    assert (written / "results.json").read_bytes() == before


def test_a_check_whose_evidence_was_not_observed_is_the_graders_error(tmp_path: Path) -> None:
    """Evidence observed for a spec of pool checks only, judged with the whole spec: the pool checks keep their
    verdicts, every check of another part says the saved evidence does not hold it (error, never fail)."""
    observed_only_snapshot = replace(
        finished_evidence(),
        trails=NOT_OBSERVED,
        trail_status=NOT_OBSERVED,
        trail_bucket=NOT_OBSERVED,
        auth_events=NOT_OBSERVED,
    )
    write_grade(judge(SPEC, finished_evidence()), observed_only_snapshot, tmp_path)
    result = rejudge(tmp_path).results[0]
    statuses = {c.id: (c.status, c.message) for c in result.checks}
    for cid, (status, message) in statuses.items():
        if cid.startswith("cloudtrail."):
            assert status == "error", cid
            assert "saved evidence of this grade does not hold" in message, cid
        else:
            assert status in ("pass", "warn"), (cid, message)
    assert decode(encode(NOT_OBSERVED)) is NOT_OBSERVED


def test_the_rejudge_command_says_what_it_did_and_refuses_a_folder_without_grades(tmp_path: Path) -> None:
    evidence = finished_evidence()
    (tmp_path / "jane").mkdir()
    write_grade(judge(SPEC, evidence), evidence, tmp_path / "jane")
    runner = CliRunner()
    done = runner.invoke(app, ["rejudge", str(tmp_path / "jane")])
    assert done.exit_code == 0, done.output
    assert "Judged 1 saved grade(s) again, offline" in done.output
    refused = runner.invoke(app, ["rejudge", str(tmp_path)])
    assert refused.exit_code == 2
    assert "neither a grade" in " ".join(refused.output.split())

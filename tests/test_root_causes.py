"""Root causes: each check's declared foundations (`after`) are held to the truth by the scenarios, and a grade
leads with the failures nothing else explains.

The scenarios' statuses are the ones tests/test_scenarios.py proves by grading each scenario in the sandbox; here
they are judged for their explanations, which depend on nothing but the statuses and the declarations.
"""

from __future__ import annotations

import pytest

from grader.causes import explained, explains, roots_of
from grader.registry import builds_on, registered
from grader.results import CheckResult, GradeResult
from grader.sandbox.scenarios import Scenario, load_scenario, scenario_names
from grader.spec import load_spec
from tests.grades import graded


def _graded(scenario: Scenario) -> GradeResult:
    """A grade with the scenario's expected statuses, explained as the pipeline explains them."""
    spec = load_spec(scenario.spec)
    checks = [
        CheckResult(
            id=cid,
            title=meta.title,
            section=meta.section,
            status=scenario.expected_status(cid),  # type: ignore[arg-type]
            points=0,
            max_points=meta.points,
            message="",
            step=meta.step,
            advisory=meta.advisory,
        )
        for cid, meta in spec.checks.items()
    ]
    return graded(
        *explained(checks, builds_on(spec.checks)),
        account_id="1",
        caller_arn="",
        spec_id=spec.id,
        spec_title=spec.title,
        duration_seconds=0,
    )


SCENARIOS = {name: _graded(load_scenario(name)) for name in scenario_names()}


def test_every_foundation_is_a_registered_check_and_comes_earlier_in_the_lab() -> None:
    known = registered()
    order = list(load_spec().checks)
    for cid, info in known.items():
        assert set(info.after) <= set(known), (cid, set(info.after) - set(known))
        assert cid not in info.after
        assert all(order.index(d) < order.index(cid) or d.startswith("site.") for d in info.after), cid


@pytest.mark.parametrize(
    ("check_id", "foundation"),
    [(cid, d) for cid, info in sorted(registered().items()) for d in info.after],
)
def test_each_declared_foundation_is_shown_by_a_scenario_where_it_fails(check_id: str, foundation: str) -> None:
    """Some scenario fails `foundation` and shows `check_id` failed or skipped, explained by it (not a root)."""
    shown = [
        name
        for name, result in SCENARIOS.items()
        for c in result.checks
        if c.id == check_id
        and foundation in c.explained_by
        and next(f for f in result.checks if f.id == foundation).status == "fail"
    ]
    assert shown, f"no scenario fails {foundation} and shows {check_id} explained by it"


@pytest.mark.parametrize("name", scenario_names())
def test_a_skip_is_always_explained(name: str) -> None:
    """A check skips only because a check it builds on did not pass: every skip has an explanation."""
    unexplained = [c.id for c in SCENARIOS[name].checks if c.status == "skip" and not c.explained_by]
    assert unexplained == []


def test_janedoe_not_confirmed_is_the_one_thing_to_fix_and_explains_the_sign_ins() -> None:
    result = SCENARIOS["janedoe-not-confirmed"]
    assert [c.id for c in result.fix_first] == ["user.janedoe_confirmed"]
    explained_ids = {c.id for c in explains(result, "user.janedoe_confirmed")}
    assert explained_ids == {
        "hostedui.implicit_callback",
        "site.login",
        "site.wrong_password_rejected",
        "cloudtrail.auth_events",
    }
    assert roots_of(result, "cloudtrail.auth_events") == ("user.janedoe_confirmed",)
    assert result.to_dict()["fix_first"] == [
        {
            "id": "user.janedoe_confirmed",
            "step": "Create a User / Update Password for User",
            "title": "janedoe exists and is confirmed",
        }
    ]


def test_two_mistakes_apart_are_two_root_causes() -> None:
    result = SCENARIOS["unconfirmed-and-no-trail"]
    assert [c.id for c in result.fix_first] == ["user.janedoe_confirmed", "cloudtrail.trail"]
    assert {c.id for c in explains(result, "cloudtrail.trail")} == {"cloudtrail.logging"}


def test_a_check_that_passed_or_errored_is_never_explained_and_results_json_keeps_it() -> None:
    result = SCENARIOS["site-hanging"]
    assert all(not c.explained_by for c in result.checks if c.status in ("pass", "error", "warn"))
    # The website could not be checked (the grader's error): what builds on it is explained by it, and the
    # failure that follows is no root cause the student must fix first.
    assert roots_of(result, "cloudtrail.auth_events") == ("site.reachable",)
    assert [c.id for c in result.fix_first] == []
    again = GradeResult.from_dict(result.to_dict())
    assert again == result

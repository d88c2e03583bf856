"""Hints that match the message: a check names the cause it found (`check.fail(..., cause=...)`), and the grade
shows the spec's hint for that cause (`[checks."<id>".hints]`), or the check's general hint without one."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

import checks
import checks.test_client as client_checks
import checks.test_cloudtrail as cloudtrail_checks
import checks.test_hostedui as hostedui_checks
import checks.test_site as site_checks
import checks.test_user as user_checks
from grader.observe.evidence import TrailsFound
from grader.observe.signins import CognitoCall
from grader.pipeline import judge
from grader.registry import registered
from grader.results import CheckResult
from grader.spec import LABS_DIR, LabSpec, SpecError, available_specs, causes_of, load_spec
from tests.unit.evidence import (
    CALLBACK,
    CLIENT,
    FORMER_DNS,
    INSTANCE,
    SETTINGS,
    SITE,
    SPEC,
    TRAIL_STATUS,
    USER,
    fails,
    finished_evidence,
    hosted_link,
    logins,
    probes,
    refusal,
    replace,
    snapshot,
)

HTTP_CALLBACK = f"http://{INSTANCE.public_dns}"
TYPO = INSTANCE.public_dns.replace("54-214", "54-241")
STOPPED = replace(INSTANCE, state="stopped", public_dns="", public_ip="")
OAUTH_OFF = replace(CLIENT, oauth_enabled=False)
SLASHED_SITE = replace(SITE, settings=replace(SETTINGS, hosted_link=hosted_link(redirect_uri=f"{CALLBACK}/")))
"""The website as the course's template writes it: the hosted-UI link's redirect_uri with a trailing slash."""


def _callbacks(*urls: str) -> Any:
    return replace(CLIENT, callback_urls=urls)


def _login(*calls: CognitoCall, final_url: str = f"{CALLBACK}/login.html?msg=0") -> Any:
    return logins(message="", tokens={}, final_url=final_url, cognito_calls=list(calls))


CAUSES: list[tuple[str, Any, dict[str, Any], str]] = [
    ("authorize-no-domain", hostedui_checks.test_authorize, {"domain": None, "authorize_probes": {}}, "no-domain"),
    (
        "authorize-no-callback",
        hostedui_checks.test_authorize,
        {"app_client": _callbacks(), "authorize_probes": {}},
        "no-callback",
    ),
    (
        "authorize-http",
        hostedui_checks.test_authorize,
        {"app_client": _callbacks(HTTP_CALLBACK), "authorize_probes": {}},
        "http-callback",
    ),
    *(
        (f"authorize-{error}", hostedui_checks.test_authorize, {"authorize_probes": probes(answer=refusal(error))}, id_)
        for error, id_ in [
            ("redirect_mismatch", "redirect-mismatch"),
            ("unauthorized_client", "unauthorized-client"),
            ("invalid_request", "invalid-request"),
            ("invalid_scope", "invalid-scope"),
        ]
    ),
    (
        "authorize-oauth-off",
        hostedui_checks.test_authorize,
        {"app_client": OAUTH_OFF, "authorize_probes": probes(OAUTH_OFF, refusal("invalid_request"))},
        "oauth-off",
    ),
    (
        "authorize-the-first-callbacks-cause",  # an http callback listed before one Cognito refuses
        hostedui_checks.test_authorize,
        {
            "app_client": _callbacks(HTTP_CALLBACK, f"{CALLBACK}/"),
            "authorize_probes": {f"{CALLBACK}/": refusal("redirect_mismatch")},
        },
        "http-callback",
    ),
    ("callback-none", client_checks.test_callback_ec2, {"app_client": _callbacks()}, "no-callback"),
    ("callback-http", client_checks.test_callback_ec2, {"app_client": _callbacks(HTTP_CALLBACK)}, "http-callback"),
    ("callback-typo", client_checks.test_callback_ec2, {"app_client": _callbacks(f"https://{TYPO}")}, "typo"),
    (
        "callback-former-address",
        client_checks.test_callback_ec2,
        {"app_client": _callbacks(f"https://{FORMER_DNS}")},
        "former-address",
    ),
    (
        "callback-instance-stopped",
        client_checks.test_callback_ec2,
        {"instances": (STOPPED,)},
        "no-running-instance",
    ),
    ("callback-elsewhere", client_checks.test_callback_ec2, {"app_client": _callbacks("https://example.com")}, ""),
    ("user-missing", user_checks.test_janedoe_confirmed, {"lab_user": None}, "missing"),
    ("user-disabled", user_checks.test_janedoe_confirmed, {"lab_user": replace(USER, enabled=False)}, "disabled"),
    (
        "user-temporary-password",
        user_checks.test_janedoe_confirmed,
        {"lab_user": replace(USER, status="FORCE_CHANGE_PASSWORD")},
        "force-change-password",
    ),
    ("user-other-status", user_checks.test_janedoe_confirmed, {"lab_user": replace(USER, status="RESET_REQUIRED")}, ""),
    (
        "login-temporary-password",
        site_checks.test_login,
        {
            "site_logins": _login(
                CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER"),
                CognitoCall("RespondToAuthChallenge", 200, "challenge NEW_PASSWORD_REQUIRED"),
                final_url=f"{CALLBACK}/login.html?msg=3",
            )
        },
        "temporary-password",
    ),
    (
        "login-unknown-client",
        site_checks.test_login,
        {"site_logins": _login(CognitoCall("InitiateAuth", 400, "ResourceNotFoundException: no such client."))},
        "unknown-client",
    ),
    (
        "login-password-refused",
        site_checks.test_login,
        {
            "site_logins": _login(
                CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER"),
                CognitoCall("RespondToAuthChallenge", 400, "NotAuthorizedException: Incorrect username or password."),
            )
        },
        "password-refused",
    ),
    ("link-trailing-slash", site_checks.test_hosted_ui_link, {"reachable_site": SLASHED_SITE}, "trailing-slash"),
    (
        "trail-none",
        cloudtrail_checks.test_trail,
        {"trails": TrailsFound(lab=(), others=())},
        "no-trail",
    ),
    (
        "trail-not-logging",
        cloudtrail_checks.test_logging,
        {"trail_status": replace(TRAIL_STATUS, is_logging=False)},
        "not-logging",
    ),
]


@pytest.mark.parametrize(("function", "overrides", "cause"), [c[1:] for c in CAUSES], ids=[c[0] for c in CAUSES])
def test_a_check_names_the_cause_it_found(function: Any, overrides: dict[str, Any], cause: str) -> None:
    """Each failure names its cause ('' where the check's general hint fits), and both specs have its hint."""
    check = fails(function, **overrides)
    assert check.cause == cause, check.message
    if cause:
        for spec_id in available_specs():
            assert cause in load_spec(spec_id).checks[check.id].hints, (spec_id, check.id)


def test_the_course_templates_trailing_slash_is_one_short_sentence() -> None:
    """The lab done word for word warns in one sentence naming the template; the details are the evidence."""
    check = fails(site_checks.test_hosted_ui_link, reachable_site=SLASHED_SITE)
    assert check.message == (
        "The course's own template writes this link with a trailing slash; it works once the app client's "
        f"callback URLs also list {CALLBACK}/."
    )
    assert check.evidence["redirect_uri"] == f"{CALLBACK}/"
    assert check.evidence["registered_callback_url"] == CALLBACK
    assert "Cognito compares redirect_uri with the callback URLs exactly" in check.evidence["trailing_slash"]


def test_beside_another_mistake_the_link_names_every_problem_and_the_first_ones_cause() -> None:
    """A trailing slash beside another mistake is not the template's alone: every problem is said, the first's hint."""
    site = replace(
        SITE, settings=replace(SETTINGS, hosted_link=hosted_link(response_type="code", redirect_uri=f"{CALLBACK}/"))
    )
    check = fails(site_checks.test_hosted_ui_link, reachable_site=site)
    assert "its response_type is 'code'" in check.message
    assert "Cognito compares them exactly" in check.message
    assert check.cause == "not-token"


# -- the grade shows the cause's hint ------------------------------------------------------------------


def _graded(spec: LabSpec, **parts: Any) -> dict[str, CheckResult]:
    return {c.id: c for c in judge(spec, finished_evidence(**parts)).checks}


def test_the_grade_shows_each_causes_hint() -> None:
    """An http callback: the authorize and callback checks show the http hint, not their general paragraph."""
    http = replace(CLIENT, callback_urls=(HTTP_CALLBACK,))
    graded = _graded(SPEC, snapshot=snapshot(clients=(http,)), authorize_probes={})
    for cid in ("hostedui.authorize", "client.callback_ec2"):
        assert graded[cid].status == "fail"
        assert graded[cid].hint == SPEC.checks[cid].hints["http-callback"] != SPEC.checks[cid].hint
    assert "http" in graded["hostedui.authorize"].hint
    assert graded["pool.exists"].hint == ""  # a pass has no hint


def test_the_advisory_link_warns_with_the_trailing_slash_hint() -> None:
    """The course's template link warns with the trailing-slash hint."""
    graded = _graded(SPEC, site=SLASHED_SITE, link_probe=None)
    link = graded["site.hosted_ui_link"]
    assert (link.status, link.hint) == ("warn", SPEC.checks["site.hosted_ui_link"].hints["trailing-slash"])


def test_a_failure_without_a_cause_or_without_its_hint_shows_the_general_hint() -> None:
    """No cause named, or a cause the spec gives no hint of its own: the check's `hint`."""
    user = SPEC.checks["user.janedoe_confirmed"]
    other = _graded(SPEC, snapshot=snapshot(user=replace(USER, status="RESET_REQUIRED")))
    assert other["user.janedoe_confirmed"].hint == user.hint
    bare = dataclasses.replace(SPEC, checks=SPEC.checks | {user.id: dataclasses.replace(user, hints={})})
    missing = _graded(bare, snapshot=snapshot(user=None))
    assert missing["user.janedoe_confirmed"].status == "fail"
    assert missing["user.janedoe_confirmed"].hint == user.hint


# -- every cause has its hint; the spec refuses a hint for no cause ------------------------------------

CAUSE_LITERAL = re.compile(r"""\bcause\s*=\s*["']([^"']+)["']""")


def _written_causes(path: Path) -> set[str]:
    return set(CAUSE_LITERAL.findall(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("spec_id", available_specs())
def test_every_cause_a_check_names_has_a_hint_in_each_built_in_spec(spec_id: str) -> None:
    """Each cause id written in checks/*.py is a cause of a check of its module (as the spec sees them), and each
    check's causes have their hint in the spec."""
    spec = load_spec(spec_id)
    checks_dir = Path(checks.__file__).parent
    by_module: dict[str, set[str]] = {}
    for cid, info in registered().items():
        causes = causes_of(cid)
        assert causes is not None, cid
        missing = sorted(causes - set(spec.checks[cid].hints))
        assert not missing, f"{spec_id}: {cid} names {', '.join(missing)} without a hint"
        by_module.setdefault(info.module.rsplit(".", 1)[1], set()).update(causes)
    for path in sorted(checks_dir.glob("*.py")):
        written = _written_causes(path)
        assert written <= by_module.get(path.stem, set()), (path.name, written - by_module.get(path.stem, set()))
    assert by_module["test_hostedui"] >= {"no-domain", "no-callback", "http-callback", "redirect-mismatch"}


def _spec_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (LABS_DIR / "itm300-m03.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


HINTS_TABLE = '[checks."hostedui.authorize".hints]\n'


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (HINTS_TABLE, HINTS_TABLE + 'http-calback = "Write https."\n', "unknown key checks.hostedui.authorize.hints."),
        (
            HINTS_TABLE,
            HINTS_TABLE + 'speling = "Check the spelling."\n',
            "unknown key checks.hostedui.authorize.hints.speling",
        ),
        (
            '[checks."pool.mfa_off"]\n',
            '[checks."pool.mfa_off"]\nhints = { off = "Choose No MFA." }\n',
            "unknown key checks.pool.mfa_off.hints.off",
        ),
        (
            '[checks."hostedui.authorize".hints]\nno-domain = "',
            '[checks."hostedui.authorize".hints]\nno-domain = 3\nold-no-domain = "',
            "checks.hostedui.authorize.hints.no-domain must be a string",
        ),
        (
            '[checks."pool.mfa_off"]\n',
            '[checks."pool.mfa_off"]\nhints = "Choose No MFA."\n',
            "checks.pool.mfa_off.hints must be a table",
        ),
    ],
    ids=["misspelt-cause", "not-a-cause", "check-without-causes", "not-a-string", "not-a-table"],
)
def test_a_hint_for_no_cause_of_the_check_is_refused(tmp_path: Path, old: str, new: str, phrase: str) -> None:
    """A hint under a cause the check never names (a typo would silently show the general hint) is an unknown key."""
    path = _spec_with(tmp_path, old, new)
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert str(path) in str(raised.value)
    assert phrase in str(raised.value)


def test_an_instructors_spec_may_leave_out_hints_or_give_some() -> None:
    """Hints are optional: a spec without them loads with none, and the built-in ones give the causes' hints."""
    spec = load_spec()
    assert spec.checks["pool.mfa_off"].hints == {}
    assert set(spec.checks["user.janedoe_confirmed"].hints) == {"missing", "disabled", "force-change-password"}

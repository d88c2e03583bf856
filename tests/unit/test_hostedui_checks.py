"""The hosted-UI checks (checks/test_hostedui.py) on hand-built evidence: each pass, fail and skip case.

The implicit-callback check verifies real RS256 tokens (signed in tests/unit/evidence.py with the
pool's key) against the pool's JWKS, so its pass is honest and each token mistake fails on its own.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import checks.test_hostedui as hostedui_checks
from grader.authorize import HINTS, LOCAL_CALLBACK_NAMES, AuthorizeProbe
from grader.browser.hosted_signin import UNAVAILABLE_SENTENCE
from grader.errors import GraderError
from grader.snapshot import Read
from tests.unit.evidence import (
    CALLBACK,
    CLIENT,
    DOMAIN,
    INSTANCE,
    OTHER_CLIENT_ID,
    OTHER_KEY,
    POOL,
    REGION,
    SIGN_IN_PAGE,
    SIGNED_IN,
    USER,
    arguments,
    callback_fragment,
    check_id,
    fails,
    grader_bug,
    ids_of,
    new_check,
    passes,
    probes,
    refusal,
    replace,
    skips,
    snapshot,
)

authorize = hostedui_checks.test_authorize
implicit = hostedui_checks.test_implicit_callback

PASS_CASES: list[tuple[Any, dict[str, Any], str]] = [
    (authorize, {}, f"https://{DOMAIN.host}/oauth2/authorize answers {CALLBACK} with its sign-in page."),
    (
        implicit,
        {},
        (
            f"janedoe signed in on the hosted UI and was sent to {CALLBACK} with an id and an access token "
            f"signed by the pool {POOL.id} for the client {CLIENT.id}."
        ),
    ),
]
PASSES = ids_of(*(case[0] for case in PASS_CASES))


@pytest.mark.parametrize(("function", "overrides", "message"), PASS_CASES, ids=[check_id(c[0]) for c in PASS_CASES])
def test_finished_lab_passes_each_hosted_ui_check(function: Any, overrides: dict[str, Any], message: str) -> None:
    """The finished lab's hosted UI passes both checks with the sentence saying what was found."""
    assert passes(function, **overrides).message == message


# -- hostedui.authorize ---------------------------------------------------------------------------


def test_authorize_records_each_probe() -> None:
    """The authorize check keeps the domain, the callbacks and Cognito's answer to each as evidence."""
    check = passes(authorize)
    assert check.evidence["domain"] == DOMAIN.host
    assert check.evidence["callback_urls"] == [CALLBACK]
    assert [p["error"] for p in check.evidence["probes"]] == [""]


def test_authorize_fails_without_a_domain() -> None:
    """No Cognito domain: there is no hosted UI to sign in on."""
    check = fails(authorize, domain=None, authorize_probes={})
    assert check.message == "The user pool has no Cognito domain, so there is no hosted UI to sign in on."


def test_authorize_fails_without_a_callback_url() -> None:
    """No callback URL: the hosted UI cannot send janedoe back."""
    check = fails(authorize, app_client=replace(CLIENT, callback_urls=()), authorize_probes={})
    assert (
        check.message == f"The app client {CLIENT.name} has no callback URL, so the hosted UI cannot send janedoe back."
    )


@pytest.mark.parametrize(
    ("callback", "phrase"),
    [
        (f"http://{INSTANCE.public_dns}", f"uses http; Cognito accepts http only for {LOCAL_CALLBACK_NAMES}"),
        ("vehicleapp://callback", "vehicleapp://callback is not an https URL"),
        ("https://[::1", "https://[::1 is not a valid URL"),
    ],
    ids=["http", "custom-scheme", "malformed"],
)
def test_authorize_fails_for_a_callback_cognito_cannot_take(callback: str, phrase: str) -> None:
    """A callback Cognito refuses for its scheme fails without a probe, naming the rule."""
    check = fails(authorize, app_client=replace(CLIENT, callback_urls=(callback,)), authorize_probes={})
    assert check.message.startswith("The hosted UI would not complete the implicit grant: ")
    assert phrase in check.message
    assert check.evidence["probes"] == []


@pytest.mark.parametrize(
    "error",
    ["redirect_mismatch", "unauthorized_client", "invalid_scope", "invalid_request", "unsupported_response_type"],
)
def test_authorize_fails_with_cognitos_refusal_and_its_cause(error: str) -> None:
    """Cognito refusing the callback fails naming the callback, Cognito's error and the setting behind it."""
    check = fails(authorize, authorize_probes=probes(answer=refusal(error)))
    assert f"for {CALLBACK}, Cognito answers {error}: {HINTS[error]}." in check.message
    assert check.evidence["probes"][0]["error"] == error


@pytest.mark.parametrize("error", ["invalid_request", "unauthorized_client"])
def test_authorize_names_oauth_off_when_the_client_shows_it(error: str) -> None:
    """With OAuth off for the client, Cognito's invalid_request or unauthorized_client is said as OAuth being off."""
    off = replace(CLIENT, oauth_enabled=False)
    check = fails(authorize, app_client=off, authorize_probes=probes(off, refusal(error)))
    assert (
        f"Cognito answers {error}: OAuth / hosted UI is not enabled for the app client {CLIENT.name}" in check.message
    )


def test_authorize_fails_when_one_of_two_callbacks_is_refused() -> None:
    """Every callback must be accepted: the refused one is named, the accepted one is not."""
    extra = f"{CALLBACK}/"
    client = replace(CLIENT, callback_urls=(CALLBACK, extra))
    answers = probes(client) | {extra: refusal("redirect_mismatch")}
    check = fails(authorize, app_client=client, authorize_probes=answers)
    assert f"for {extra}, Cognito answers redirect_mismatch" in check.message
    assert f"for {CALLBACK}," not in check.message
    assert len(check.evidence["probes"]) == 2


# -- hostedui.implicit_callback: skips and the grader's own error -------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"domain": None}, "The user pool has no Cognito domain (see hostedui.authorize)."),
        (
            {"app_client": replace(CLIENT, callback_urls=(f"http://{INSTANCE.public_dns}",))},
            "No callback URL is the running instance's https address (see client.callback_ec2).",
        ),
        (
            {"instances": (replace(INSTANCE, state="stopped"),)},
            "No callback URL is the running instance's https address (see client.callback_ec2).",
        ),
        (
            {"authorize_probes": probes(answer=refusal("redirect_mismatch"))},
            f"The hosted UI refuses the callback {CALLBACK} (see hostedui.authorize).",
        ),
        ({"authorize_probes": {}}, f"The hosted UI refuses the callback {CALLBACK} (see hostedui.authorize)."),
    ],
    ids=["no-domain", "http-callback", "instance-stopped", "callback-refused", "callback-not-probed"],
)
def test_implicit_callback_skips_when_no_sign_in_could_be_made(overrides: dict[str, Any], reason: str) -> None:
    """Without a domain, a usable callback or Cognito's consent to it, the sign-in skips naming the check to see."""
    assert skips(implicit, **overrides) == reason


def test_implicit_callback_without_a_sign_in_is_the_graders_error() -> None:
    """A usable callback but no sign-in made is the grader's bug (an AssertionError), never the student's fail."""
    assert "the hosted-UI sign-in was not made" in str(grader_bug(implicit, hosted_sign_in=None))


# -- hostedui.implicit_callback: what the hosted UI showed ------------------------------------------


@pytest.mark.parametrize(
    ("changes", "phrases"),
    [
        (
            {"change_password_required": True, "callback": "", "fragment": {}},
            [
                "asks janedoe to change the temporary password: the user is not confirmed yet",
                "The grader does not change it for you",
            ],
        ),
        (
            {"sign_in_message": "Incorrect username or password.", "callback": "", "fragment": {}},
            [
                (
                    "The hosted UI refused janedoe's sign-in with the lab's new password: \u201cIncorrect username "
                    "or password.\u201d."
                )
            ],
        ),
        (
            {"login_pages_unavailable": True, "error": UNAVAILABLE_SENTENCE, "callback": "", "fragment": {}},
            [
                "\u201cLogin pages unavailable\u201d",
                f"the app client {CLIENT.name} has no branding style",
                "Hosted UI (classic)",
            ],
        ),
        (
            {
                "method_choice_without_password": True,
                "sign_in_methods": ["Passkey", "Email message one-time password"],
                "error": "stopped",
                "callback": "",
                "fragment": {},
            },
            [
                "offers no password option (it offers Passkey and Email message one-time password)",
                "allow password sign-in for the app client",
            ],
        ),
        (
            {"method_choice_without_password": True, "error": "stopped", "callback": "", "fragment": {}},
            ["(it offers no option the grader recognises)"],
        ),
        (
            {"callback_error": "unauthorized_client", "fragment": {}},
            [f"The hosted UI sent janedoe back to {CALLBACK} with error=unauthorized_client instead of tokens."],
        ),
    ],
    ids=[
        "change-password-form",
        "wrong-password",
        "login-pages-unavailable",
        "no-password-method",
        "no-method-recognised",
        "callback-error",
    ],
)
def test_implicit_callback_fails_naming_what_the_hosted_ui_showed(changes: dict[str, Any], phrases: list[str]) -> None:
    """A sign-in that did not reach the callback with tokens fails with what the hosted UI showed and what to change."""
    check = fails(implicit, hosted_sign_in=replace(SIGNED_IN, **changes))
    for phrase in phrases:
        assert phrase in check.message
    assert "token_claims" not in check.evidence


def _graders_error(function: Any, **overrides: Any) -> GraderError:
    """Run the check with `overrides`; it must stop on a GraderError (the grader could not see), never a fail."""
    check = new_check(function)
    with pytest.raises(GraderError) as stopped:
        function(**arguments(function, overrides), check=check)
    assert check.verdict == "", check
    return stopped.value


_NOT_THERE = {"callback": "", "fragment": {}}


@pytest.mark.parametrize(
    ("changes", "phrases"),
    [
        (
            {
                "error": "The hosted UI did not send the browser on to the callback URL within 30 s; the last page was "
                "/login (HTTP 200) showing \u201cSign in Username Password\u201d.",
                "timed_out": True,
            },
            ["within 30 s", "/login (HTTP 200)", "Sign in Username Password", "Run the grader again"],
        ),
        (
            {
                "error": "The hosted UI showed a page with no sign-in form the grader recognises: /login (HTTP 200) "
                "showing \u201cWe are improving your sign-in experience\u201d.",
                "unrecognised_page": True,
            },
            ["no sign-in form the grader recognises", "We are improving your sign-in experience"],
        ),
        (
            {
                "error": "The hosted UI answered with an error of its own: /login (HTTP 503) showing "
                "\u201cService Unavailable\u201d."
            },
            ["HTTP 503", "Service Unavailable"],
        ),
        ({}, [f"did not send janedoe on to the callback URL {CALLBACK}"]),
    ],
    ids=["stays-put", "unrecognised-page", "cognito-5xx", "no-redirect-no-reason"],
)
def test_implicit_callback_is_the_graders_error_when_the_page_names_no_mistake(
    changes: dict[str, Any], phrases: list[str]
) -> None:
    """A sign-in that stopped on something the grader could not read is its error, naming what it saw; never a fail."""
    stopped = _graders_error(implicit, hosted_sign_in=replace(SIGNED_IN, **_NOT_THERE, **changes))
    for phrase in phrases:
        assert phrase in stopped.message


@pytest.mark.parametrize(
    ("status", "error", "phrase"),
    [
        (503, "http_503", "Wait a few minutes"),
        (500, "http_500", "Wait a few minutes"),
        (429, "http_429", "Wait a few minutes"),
        (400, "http_400", "names no cause the grader recognises"),
        (302, "unexpected_redirect", "names no cause the grader recognises"),
        (302, "server_error", "names no cause the grader recognises"),
    ],
)
def test_an_authorize_answer_naming_no_cause_is_the_graders_error(status: int, error: str, phrase: str) -> None:
    """Cognito answering 5xx/429, a bare error page, an unknown error or an odd redirect: both checks are errors."""
    answer = AuthorizeProbe(url=SIGN_IN_PAGE.url, status=status, error=error, detail="Cognito showed an error page")
    for function in (authorize, implicit):
        stopped = _graders_error(function, authorize_probes=probes(answer=answer))
        assert phrase in stopped.message
        assert f"HTTP {status}" in stopped.message


def test_authorize_fails_on_a_named_refusal_even_beside_an_unreadable_answer() -> None:
    """One callback refused with a named error is the student's fail, whatever Cognito answered for another."""
    two = replace(CLIENT, callback_urls=(CALLBACK, "https://localhost:3000"))
    answers = probes(client=two)
    answers[CALLBACK] = refusal("redirect_mismatch")
    answers["https://localhost:3000"] = AuthorizeProbe(
        SIGN_IN_PAGE.url, 503, "http_503", "Cognito showed an error page"
    )
    assert "redirect_mismatch" in fails(authorize, app_client=two, authorize_probes=answers).message


def test_implicit_callback_fails_when_the_account_shows_no_branding_style() -> None:
    """A version-2 domain whose client has no style (read from the account) fails naming the style, any page."""
    unseen = replace(SIGNED_IN, **_NOT_THERE, error="a page", unrecognised_page=True)
    version2 = replace(DOMAIN, managed_login_version=2)
    check = fails(implicit, hosted_sign_in=unseen, domain=version2, snapshot=replace(snapshot(), branding=Read(False)))
    assert "has no branding style" in check.message
    assert "create a managed login style" in check.message
    denied = GraderError("AWS denied the grader permission to read the style.")
    stopped = _graders_error(
        implicit, hosted_sign_in=unseen, domain=version2, snapshot=replace(snapshot(), branding=Read(error=denied))
    )
    assert "names no mistake in the lab" in stopped.message


def test_implicit_callback_names_the_temporary_password_behind_a_refusal() -> None:
    """A refused sign-in of a user still FORCE_CHANGE_PASSWORD names the temporary password never changed."""
    refused = replace(SIGNED_IN, sign_in_message="Incorrect username or password.", callback="", fragment={})
    check = fails(
        implicit, hosted_sign_in=refused, snapshot=snapshot(user=replace(USER, status="FORCE_CHANGE_PASSWORD"))
    )
    assert "janedoe is still FORCE_CHANGE_PASSWORD: the temporary password was never changed" in check.message


# -- hostedui.implicit_callback: the tokens in the redirect -----------------------------------------


def _expired() -> dict[str, Any]:
    now = int(time.time())
    return {"iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600}


TOKEN_MISTAKES: list[tuple[str, dict[str, Any], str]] = [
    (
        "other-pool",
        {"pool_id": f"{REGION}_Other9999"},
        f"The id token was issued by pool {REGION}_Other9999, not the student's pool {POOL.id}.",
    ),
    (
        "other-region-issuer",
        {"iss": f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL.id}"},
        (
            f"was issued by https://cognito-idp.eu-west-1.amazonaws.com/{POOL.id}, not by "
            f"https://cognito-idp.{REGION}.amazonaws.com/{POOL.id}."
        ),
    ),
    (
        "other-client",
        {"client_id": OTHER_CLIENT_ID},
        f"The id token's audience is client {OTHER_CLIENT_ID}, not {CLIENT.id}.",
    ),
    ("other-user", {"username": "johndoe"}, "The id token belongs to user johndoe, not janedoe."),
    ("bad-signature", {"key": OTHER_KEY}, "The signature does not verify against the pool's keys."),
    (
        "unknown-key",
        {"kid": "someone-elses-key"},
        "is signed with key someone-elses-key, which is not one of the pool's keys",
    ),
    (
        "hs256",
        {"key": "a-shared-secret-of-at-least-32-bytes!", "algorithm": "HS256"},
        "The id token is signed with HS256, not RS256 as Cognito signs.",
    ),
    ("expired", {"claims": _expired()}, "The id token has expired."),
    ("no-openid-scope", {"scope": "email phone"}, "The access token's scopes are email phone; they lack openid."),
    ("not-bearer", {"token_type": ""}, "The redirect's token_type is missing, not Bearer."),
]


def _fragment(changes: dict[str, Any]) -> dict[str, str]:
    changes = dict(changes)
    claims = changes.pop("claims", {})
    return callback_fragment(**changes, **claims)


@pytest.mark.parametrize(("changes", "phrase"), [m[1:] for m in TOKEN_MISTAKES], ids=[m[0] for m in TOKEN_MISTAKES])
def test_implicit_callback_fails_when_the_tokens_do_not_hold_up(changes: dict[str, Any], phrase: str) -> None:
    """Tokens of another pool, client or user, badly signed, expired or without openid fail naming the mistake."""
    check = fails(implicit, hosted_sign_in=replace(SIGNED_IN, fragment=_fragment(changes)))
    assert check.message.startswith(f"The hosted UI redirected to {CALLBACK}, but the tokens do not hold up: ")
    assert phrase in check.message
    assert "id" in check.evidence["token_claims"] or "access" in check.evidence["token_claims"]


def test_implicit_callback_fails_for_a_missing_or_unreadable_token() -> None:
    """A redirect without an id token, or with a token that is no JWT, fails saying so."""
    without = {k: v for k, v in SIGNED_IN.fragment.items() if k != "id_token"}
    check = fails(implicit, hosted_sign_in=replace(SIGNED_IN, fragment=without))
    assert "The redirect to the callback URL carried no id_token." in check.message
    garbled = SIGNED_IN.fragment | {"access_token": "not-a-jwt"}
    check = fails(implicit, hosted_sign_in=replace(SIGNED_IN, fragment=garbled))
    assert "The access token in the redirect is not a readable JWT." in check.message


def test_implicit_callback_fails_without_the_pools_keys() -> None:
    """Without the pool's published keys, no signature can verify: the tokens are not accepted."""
    check = fails(implicit, signing_keys=None)
    assert "which is not one of the pool's keys" in check.message


def test_implicit_callback_says_it_chose_the_password_method() -> None:
    """When the hosted UI asked for a sign-in method, the pass says the grader chose the password."""
    chose = replace(SIGNED_IN, sign_in_methods=["Password", "Passkey"], sign_in_method_chosen="password")
    check = passes(implicit, hosted_sign_in=chose)
    assert "(on the step that asks for a sign-in method, the grader chose the password)" in check.message


def test_implicit_callback_records_claims_and_never_a_token() -> None:
    """The evidence holds public claims and the fragment's keys, never a token."""
    check = passes(implicit)
    assert check.evidence["token_claims"]["id"]["cognito:username"] == "janedoe"
    assert check.evidence["token_claims"]["access"]["scope"] == "openid email phone"
    assert check.evidence["fragment_keys"] == ["access_token", "expires_in", "id_token", "token_type"]
    assert "eyJ" not in repr(check.evidence)

"""Cognito's hosted UI, checked live: it accepts the client's callbacks, and its implicit grant works.

Each check fails only on what the grader saw of the student's setup (an error Cognito named, a page
that says what is wrong, tokens that do not hold up). What it could not see (Cognito answering 5xx
or 429, a page it does not recognise, a page that never moves on, no answer) is the grader's error,
said with what was seen and what to do (docs/aws-hosted-ui.md, "What the grader reads as the
student's mistake").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from grader.authorize import AuthorizeProbe, callback_scheme_problem
from grader.checking import Check, listing
from grader.errors import GraderError
from grader.observe.evidence import SignInCallback
from grader.registry import lab_check
from grader.snapshot import AppClient, Domain, Pool, Snapshot
from grader.spec import LabSpec

if TYPE_CHECKING:
    from grader.observe.signins import HostedSignIn


def _refusal(answer: AuthorizeProbe, client: AppClient) -> tuple[str, str]:
    """Cognito's answer as a sentence part, naming OAuth being off when the client's settings show it, and
    its cause ('' for an error without a hint of its own).

    Cognito was seen to answer a client with OAuth off with invalid_request (the documentation
    says unauthorized_client); either way, the client's own settings name the cause.
    """
    if answer.error in {"invalid_request", "unauthorized_client"} and not client.oauth_enabled:
        cause = "oauth-off"
        sentence = (
            f"Cognito answers {answer.error}: OAuth / hosted UI is not enabled for the app client {client.name} "
            "(edit its login pages and save them with the callback URL, the Implicit grant and the scopes)"
        )
        return sentence, cause
    cause = ""
    match answer.error:
        case "redirect_mismatch":
            cause = "redirect-mismatch"
        case "unauthorized_client":
            cause = "unauthorized-client"
        case "invalid_request":
            cause = "invalid-request"
        case "invalid_scope":
            cause = "invalid-scope"
        case "login_pages_unavailable":
            cause = "login-pages-unavailable"
    return answer.sentence(), cause


@lab_check("hostedui.authorize", needs=("snapshot", "authorize_probes"), after=("pool.domain", "client.exists"))
def test_authorize(
    app_client: AppClient,
    domain: Domain | None,
    authorize_probes: dict[str, AuthorizeProbe],
    spec: LabSpec,
    check: Check,
) -> None:
    """Passes when Cognito's /oauth2/authorize answers every callback URL with its sign-in page
    (implicit grant, the spec's scopes)."""
    check.record(domain=domain.host if domain else None, callback_urls=list(app_client.callback_urls))
    if domain is None:
        check.fail("The user pool has no Cognito domain, so there is no hosted UI to sign in on.", cause="no-domain")
    if not app_client.callback_urls:
        check.fail(
            f"The app client {app_client.name} has no callback URL, so the hosted UI cannot send "
            f"{spec.expected.username} back.",
            cause="no-callback",
        )
    problems: list[tuple[str, str]] = []  # (cause, what is wrong), one for each callback URL refused
    unseen: list[str] = []
    probes = []
    for callback in app_client.callback_urls:
        scheme_problem = callback_scheme_problem(callback)
        if scheme_problem:
            cause = "not-https"
            if callback.lower().startswith("http:"):
                cause = "http-callback"
            problems.append((cause, scheme_problem))
            continue
        answer = authorize_probes[callback]
        probes.append(answer.evidence())
        if answer.unseen():
            unseen.append(answer.unseen())
        elif not answer.ok:
            sentence, cause = _refusal(answer, app_client)
            problems.append((cause, f"for {callback}, {sentence}"))
    check.record(probes=probes)
    if problems:
        # Several callbacks may be refused for different causes: the hint is the first one's (in the
        # app client's order, as the message lists them).
        check.fail(
            f"The hosted UI would not complete the implicit grant: {'; '.join(p for _, p in problems)}.",
            cause=problems[0][0],
        )
    if unseen:
        raise GraderError(" ".join(unseen), kind="hosted-ui")
    check.passes(
        f"https://{domain.host}/oauth2/authorize answers {listing(app_client.callback_urls)} with its sign-in page."
    )


@lab_check(
    "hostedui.implicit_callback",
    needs=("snapshot", "sign_in_callback", "hosted_sign_in"),
    after=("hostedui.authorize", "client.callback_ec2", "user.janedoe_confirmed"),
)
def test_implicit_callback(
    pool: Pool,
    app_client: AppClient,
    domain: Domain | None,
    snapshot: Snapshot,
    sign_in_callback: SignInCallback | None,
    hosted_sign_in: HostedSignIn | None,
    spec: LabSpec,
    lab_region: str,
    check: Check,
) -> None:
    """Passes when janedoe signs in on the hosted UI and is sent to the instance's callback with id and
    access tokens of this pool and client, issued during this sign-in."""
    expected = spec.expected
    if domain is None:
        pytest.skip("The user pool has no Cognito domain (see hostedui.authorize).")
    if sign_in_callback is None:
        pytest.skip("No callback URL is the running instance's https address (see client.callback_ec2).")
    callback, answer = sign_in_callback.url, sign_in_callback.answer
    if answer is not None and answer.unseen():
        raise GraderError(answer.unseen(), kind="hosted-ui")
    if answer is None or not answer.ok:
        pytest.skip(f"The hosted UI refuses the callback {callback} (see hostedui.authorize).")
    result = hosted_sign_in
    if result is None:  # a usable callback was found above, so the grader signed in with it
        raise AssertionError("the hosted-UI sign-in was not made")
    check.record(
        **result.evidence(),
        stopped_at_redirect=(
            "The grader stops at the redirect to the callback URL: the website itself is not needed for this check."
        ),
    )
    who = expected.username
    if result.change_password_required:
        check.fail(
            f"The hosted UI asks {who} to change the temporary password: the user is not confirmed yet. "
            "The grader does not change it for you; sign in once on the hosted UI and set the lab's new password.",
            cause="temporary-password",
        )
    if result.sign_in_message:
        why = ""
        cause = "password-refused"
        user = snapshot.user.value  # None when it could not be read: the hosted UI's answer stands alone
        if user is not None and user.status == "FORCE_CHANGE_PASSWORD":
            why = (
                f" {who} is still FORCE_CHANGE_PASSWORD: the temporary password was never changed to the "
                "lab's new one on the hosted UI."
            )
            cause = "temporary-password"
        check.fail(
            f"The hosted UI refused {who}'s sign-in with the lab's new password: "
            f"\u201c{result.sign_in_message}\u201d.{why}",
            cause=cause,
        )
    no_style = result.login_pages_unavailable or (
        not result.reached_callback and snapshot.branding.error is None and snapshot.branding.value is False
    )
    if no_style:
        check.record(branding_style=snapshot.branding.value, managed_login_version=domain.managed_login_version)
        shown = (
            "The hosted UI shows \u201cLogin pages unavailable\u201d instead of a sign-in form"
            if result.login_pages_unavailable
            else "The hosted UI shows no sign-in form, and the account says why"
        )
        check.fail(
            f"{shown}: "
            f"the domain {domain.host} uses managed login and the app client {app_client.name} has no branding style. "
            f"In the Cognito console, create a managed login style for {app_client.name} (Cognito's default look is "
            "enough), or set the domain's branding version to Hosted UI (classic), then grade again.",
            cause="no-branding-style",
        )
    if result.method_choice_without_password:
        offered = listing(result.sign_in_methods) if result.sign_in_methods else "no option the grader recognises"
        check.fail(
            f"The hosted UI asks {who} to choose a sign-in method and offers no password option (it offers {offered}). "
            f"The grader signs in with {who}'s password only, as the lab does: allow password sign-in for the app "
            "client and the user pool, or set the domain's branding version to Hosted UI (classic).",
            cause="no-password-option",
        )
    if result.callback_error:
        check.fail(
            f"The hosted UI sent {who} back to {result.callback} with error={result.callback_error} instead of tokens."
        )
    if result.error or not result.reached_callback:
        seen = result.error or f"the hosted UI did not send {who} on to the callback URL {callback}."
        raise GraderError(
            f"The grader could not finish {who}'s sign-in on the hosted UI, and what it saw names no mistake in "
            f"the lab: {seen} Run the grader again; if it happens again, open {domain.host}'s sign-in page in a "
            "browser and show this message and the page to your instructor.",
            kind="hosted-ui",
        )
    tokens = result.token_check
    if tokens is None:  # verified while observing whenever the pool and its app client were read
        raise AssertionError("the redirect's tokens were not verified")
    if tokens.unverified is not None:
        raise tokens.unverified
    check.record(token_claims=tokens.claims)
    if not tokens.ok:
        check.fail(
            f"The hosted UI redirected to {result.callback}, but the tokens do not hold up: {' '.join(tokens.problems)}"
        )
    chose = ""
    if result.sign_in_method_chosen:
        chose = " (on the step that asks for a sign-in method, the grader chose the password)"
    check.passes(
        f"{who} signed in on the hosted UI{chose} and was sent to {result.callback} with an id and an access token "
        f"signed by the pool {pool.id} for the client {app_client.id}."
    )

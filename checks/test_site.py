"""The website on the EC2 instance: reachable, configured for this pool, and a real login works."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest

from grader.authorize import AuthorizeProbe
from grader.checking import Check, listing
from grader.errors import GraderError
from grader.login_causes import login_cause
from grader.observe.evidence import SiteLogins
from grader.registry import lab_check
from grader.site import CONNECTION_REFUSED, HOST_NOT_FOUND, TOO_LARGE, Probe, Site, parse_hosted_link, unseen_status
from grader.snapshot import AppClient, Domain, Pool, Snapshot, running_hosts
from grader.spec import LabSpec

if TYPE_CHECKING:
    from grader.observe.signins import LoginAttempt

RUN_AGAIN = "then run the grader again"


def could_not_see(message: str) -> GraderError:
    """The grader's error for something it could not see (not the student's failure)."""
    return GraderError(message, kind="could-not-see")


@lab_check("site.reachable", needs=("site", "snapshot"))
def test_reachable(site: Site, snapshot: Snapshot, check: Check) -> None:
    """Passes when the course website's login.html answers at the instance's address (https or http)."""
    check.record(address_from=site.source, tried=[p.evidence() for p in site.probes])
    if not site.host:
        for part in (snapshot.client, snapshot.instances):
            part.get()  # the address comes from these: one the grader could not read is its error
        check.fail(
            "The grader found no address for the website: no callback URL, no running EC2 instance, and no --site-url.",
            cause="no-address",
        )
    if site.base_url is None:
        seen = "; ".join(f"{p.url}: {p.said()}" for p in site.probes)
        answered = [p for p in site.probes if answered_error(p)]
        if any(p.status == 404 for p in answered):
            check.fail(
                f"The web server on {site.host} answers, but login.html is not there ({seen}): "
                "the course website is not deployed.",
                cause="not-deployed",
            )
        if answered:
            check.fail(
                f"The web server on {site.host} answers login.html with something that is not the course's login "
                f"page ({seen}): the course website does not work there.",
                cause="other-page",
            )
        instances = snapshot.instances
        if site.source != "--site-url" and instances.error is None and not running_hosts(instances.value or ()):
            check.fail(
                f"No EC2 instance is running in {snapshot.region}, so nothing serves the website at "
                f"{site.host} ({seen}). Start the instance, then save its new public DNS name as the callback "
                "URL and run rebuildapp.sh again.",
                cause="instance-stopped",
            )
        if all(p.error == CONNECTION_REFUSED for p in site.probes):
            check.fail(
                f"Nothing listens for the website on {site.host}: the host refused the connection ({seen}), so its "
                "web server is not running. Start it on the instance (sudo systemctl start httpd), or run "
                "rebuildapp.sh again.",
                cause="server-down",
            )
        raise could_not_see(_unreached(site, seen))
    check.passes(f"The website answers at {site.login_url}.")


def answered_error(probe: Probe) -> bool:
    """Whether the web server itself answered with something that is not the login page: an error status of
    its own (a 404, a 500), or more than the reader takes (the course's login.html is a few KiB)."""
    if probe.error.startswith(TOO_LARGE):
        return True
    return probe.status is not None and probe.status >= 400 and not probe.unseen


def _unreached(site: Site, seen: str) -> str:
    """The grader's error for a website that gave no answer showing anything about the lab."""
    if any(p.status == 200 for p in site.probes):
        todo = (
            "That is not the course's login page (it has no #username field): open it in a browser; if it is "
            "another site, deploy the course website with rebuildapp.sh"
        )
    elif any(p.error == HOST_NOT_FOUND for p in site.probes):
        todo = (
            "Its name did not resolve for the grader: check the grader's network connection, and that the address "
            "is the instance's current public DNS name"
        )
    elif any(p.error.startswith("the proxy ") for p in site.probes):
        todo = (
            "Only the proxy between the grader and the website saw why it failed: check that the instance is "
            "running and its web server is started (sudo systemctl start httpd), or grade from a network without "
            "a proxy to see the cause"
        )
    elif any(p.status is not None and p.unseen for p in site.probes):
        todo = "The website said to try later (or a gateway between answered): wait a minute"
    else:
        todo = (
            "Check that the instance is running, its web server is started and its security group allows "
            "http (80) and https (443) from anywhere"
        )
    return f"The grader could not see the website on {site.host} ({seen}). {todo}, {RUN_AGAIN}."


@lab_check("site.configured", needs=("site", "snapshot"), after=("site.reachable", "client.exists"))
def test_configured(reachable_site: Site, pool: Pool, app_client: AppClient, check: Check) -> None:
    """Passes when scripts/settings.js names this student's user pool id and app client id."""
    settings = reachable_site.settings
    if settings is None:
        read = reachable_site.settings_probe
        if read is not None and read.unseen:
            check.record(settings_read=read.evidence())
            raise could_not_see(
                f"The grader could not read the website's scripts/settings.js ({read.url}: {read.said()}), so it "
                f"cannot tell which pool and client the site uses. Check that the web server answers, {RUN_AGAIN}."
            )
        check.fail(f"The website's settings could not be read: {reachable_site.settings_problem}.")
    check.record(
        settings_user_pool_id=settings.user_pool_id,
        settings_client_id=settings.client_id,
        pool_id=pool.id,
        client_id=app_client.id,
    )
    placeholders = [p for p in settings.placeholders if p != "HostedId"]
    if placeholders:
        check.fail(
            f"scripts/settings.js still holds the placeholder for {listing(placeholders)}: "
            "the rebuild script was not given the ids."
        )
    wrong = []
    if settings.user_pool_id != pool.id:
        wrong.append(f"UserPoolId is {settings.user_pool_id!r}, but the pool {pool.name} is {pool.id}")
    if settings.client_id != app_client.id:
        wrong.append(f"ClientId is {settings.client_id!r}, but the app client {app_client.name} is {app_client.id}")
    if wrong:
        check.fail(f"scripts/settings.js names another pool or client: {'; '.join(wrong)}.")
    check.passes("scripts/settings.js names this pool and app client.")


@lab_check("site.hosted_ui_link", needs=("site", "snapshot", "link_probe"), after=("site.reachable", "client.exists"))
def test_hosted_ui_link(
    reachable_site: Site,
    pool: Pool,
    app_client: AppClient,
    domain: Domain | None,
    link_probe: AuthorizeProbe | None,
    check: Check,
) -> None:
    """Passes when the site's hosted-UI link has this pool's domain, client id, response_type=token and a
    registered redirect_uri, and Cognito accepts it."""
    settings = reachable_site.settings
    if settings is None:
        pytest.skip("The website's settings.js could not be read (see site.configured).")
    link = parse_hosted_link(settings.hosted_link)
    check.record(hosted_link=settings.hosted_link, callback_urls=list(app_client.callback_urls))
    if not settings.hosted_link:
        check.fail(
            "scripts/settings.js has no hosted-UI link (its HostedId setting is missing or empty).", cause="no-link"
        )
    if "REPLACE-WITH" in settings.hosted_link:
        check.fail(
            "The hosted-UI link in scripts/settings.js still holds placeholders (HostedId).", cause="placeholders"
        )
    problems: list[tuple[str, str]] = []  # (cause, what is wrong)

    def problem(text: str, cause: str = "") -> None:
        problems.append((cause, text))

    if link.scheme != "https":
        problem(
            "it does not start with https:// "
            f"(the Cognito domain was typed as {settings.hosted_link.split('/oauth2', 1)[0]!r}), "
            "so the browser treats it as a page of the website itself",
            cause="not-https",
        )
    elif domain is None or link.host != domain.host:
        problem(
            f"its host is {link.host}, but the pool's Cognito domain is {domain.host if domain else 'missing'}",
            cause="other-domain",
        )
    if link.path not in {"/oauth2/authorize", "/login"}:
        problem(f"its path is {link.path or 'empty'}, not /oauth2/authorize")  # the general hint
    if link.params.get("client_id") != app_client.id:
        problem(
            f"its client_id is {link.params.get('client_id')!r}, not the app client's {app_client.id}",
            cause="other-client",
        )
    if link.params.get("response_type") != "token":
        problem(
            f"its response_type is {link.params.get('response_type')!r}, not token (the implicit grant)",
            cause="not-token",
        )
    redirect = link.params.get("redirect_uri", "")
    if redirect not in app_client.callback_urls:
        trimmed = {u.rstrip("/"): u for u in app_client.callback_urls}
        if redirect.rstrip("/") in trimmed:
            registered = trimmed[redirect.rstrip("/")]
            fix = (
                f"add {redirect} to the app client's callback URLs, or change the end of HostedId in "
                f"scripts/settings.js to match {registered}"
            )
            check.record(
                redirect_uri=redirect,
                registered_callback_url=registered,
                trailing_slash=f"Cognito compares redirect_uri with the callback URLs exactly: {fix}",
            )
            problem(
                f"its redirect_uri is {redirect} but the registered callback URL is {registered}, and Cognito "
                f"compares them exactly: {fix}",
                cause="trailing-slash",
            )
            if len(problems) == 1 and redirect == registered + "/":
                # The lab done word for word: the course's rebuildapp.sh writes the link with a trailing
                # slash that the lab text does not register. Say just that; the details are the evidence.
                check.fail(
                    "The course's own template writes this link with a trailing slash; it works once the app "
                    f"client's callback URLs also list {redirect}.",
                    cause="trailing-slash",
                )
        else:
            problem(
                f"its redirect_uri {redirect or '(none)'} is not one of the callback URLs "
                f"({listing(app_client.callback_urls)})",
                cause="unregistered-redirect",
            )
    if problems:
        # The hint is the first problem's (the link read from its start to its end); a wrong path has none of its own.
        check.fail(
            f"The hosted-UI link in scripts/settings.js would not work: {'; '.join(p for _, p in problems)}.",
            cause=problems[0][0],
        )
    answer = link_probe
    if answer is None:  # the link goes to the pool's domain (checked above), so it was probed
        raise AssertionError("the website's hosted-UI link was not probed")
    check.record(cognito_answer=answer.evidence())
    unseen = answer.unseen()
    if unseen:
        raise could_not_see(unseen)
    if not answer.ok:
        check.fail(
            "The hosted-UI link in scripts/settings.js looks right, but Cognito refuses it: "
            f"{answer.error}, {answer.detail}.",
            cause="refused",
        )
    check.passes(
        f"The hosted-UI link goes to https://{link.host} for this client, returns to {redirect}, "
        "and Cognito answers it with its sign-in page."
    )


@lab_check(
    "site.login",
    needs=("site", "snapshot", "site_logins"),
    after=("site.reachable", "site.configured", "client.no_secret", "client.srp_auth", "user.janedoe_confirmed"),
)
def test_login(
    reachable_site: Site,
    pool: Pool,
    app_client: AppClient,
    site_logins: SiteLogins,
    spec: LabSpec,
    lab_region: str,
    check: Check,
) -> None:
    """Passes when janedoe signs in on login.html, lands on private.html?msg=1, and the stored tokens are
    this pool's and client's, issued during this login by a Cognito call the browser saw."""
    expected = spec.expected
    attempt = site_logins.right
    check.record(**attempt.evidence())
    if attempt.screenshot_png:
        check.record(screenshot="data:image/png;base64," + base64.b64encode(attempt.screenshot_png).decode())
    if attempt.error:
        if attempt.status is not None and attempt.status >= 400 and not unseen_status(attempt.status):
            check.fail(f"The login page could not be used: {attempt.error}")
        raise could_not_see(
            f"The grader could not use the website's login page: {attempt.error}{_shown(attempt)} "
            f"{_TRY_IT_YOURSELF.format(url=reachable_site.login_url, user=expected.username)}"
        )
    landed = "private.html" in attempt.final_url and "msg=1" in attempt.final_url
    if not landed:
        cause = login_cause(attempt.cognito_calls, attempt.console_errors)
        where = _where(attempt)
        if _seen_failure(attempt, cause.seen, lab_region):
            check.fail(
                f"{expected.username} could not log in: {where}. {cause.sentence}",
                cause=_login_cause(attempt, cause.sentence, lab_region),
            )
        raise could_not_see(
            f"The grader could not see how {expected.username}'s login ends: {where}.{_shown(attempt)} "
            f"{cause.sentence} {_TRY_IT_YOURSELF.format(url=reachable_site.login_url, user=expected.username)}"
        )
    if "Thank you for Logging In" not in attempt.message:
        if not attempt.message:
            raise could_not_see(
                f"The page reached {attempt.final_url}, but the grader could not read its message (no #message "
                f"text).{_shown(attempt)} Open that page after logging in to see it, {RUN_AGAIN}."
            )
        check.fail(
            f"The page reached {attempt.final_url} but shows {attempt.message!r} instead of 'Thank you for Logging In'."
        )
    verdict = attempt.token_check
    if verdict is None:  # verified while observing whenever the pool and its app client were read
        raise AssertionError("the stored tokens were not verified")
    if verdict.unverified is not None:
        raise verdict.unverified
    check.record(token_claims=verdict.claims)
    if not verdict.ok:
        check.fail(
            f"The page says the login worked, but the stored tokens do not prove it: {' '.join(verdict.problems)}"
        )
    check.passes(
        f"{expected.username} logged in at {reachable_site.login_url} and reached private.html; the tokens are "
        f"signed by the pool {pool.id} for the client {app_client.id}."
    )


@lab_check("site.wrong_password_rejected", needs=("site", "snapshot", "site_logins"), after=("site.login",))
def test_wrong_password_rejected(
    reachable_site: Site, pool: Pool, site_logins: SiteLogins, spec: LabSpec, check: Check
) -> None:
    """Passes when a wrong password ends on login.html?msg=0 and leaves no tokens."""
    expected = spec.expected
    right, attempt = site_logins.right, site_logins.wrong
    if "private.html" not in right.final_url or not right.tokens:
        pytest.skip("The right password does not log in either (see site.login), so a refusal would prove nothing.")
    check.record(**attempt.evidence())
    if attempt.error:  # the page could not be used this time: nothing is known about the refusal
        raise could_not_see(
            f"The grader could not try a wrong password on the website: {attempt.error}{_shown(attempt)} "
            "Run the grader again; if it keeps happening, check that the web server is up."
        )
    if attempt.tokens or "private.html" in attempt.final_url:
        check.fail(f"The website logged {expected.username} in with a wrong password and ended on {attempt.final_url}.")
    if "msg=0" not in attempt.final_url:
        where = "did not move on" if attempt.timed_out else f"went to {attempt.final_url}"
        issued = any(c.outcome == "tokens issued" for c in attempt.cognito_calls)
        if not (issued or attempt.landed or attempt.stopped in _SEEN_STOPS):
            raise could_not_see(
                f"The grader could not see how the website answers a wrong password: {_where(attempt)}."
                f"{_shown(attempt)}{_last_answer(attempt)} "
                "Run the grader again; if it keeps happening, try a wrong password on the website yourself."
            )
        check.fail(
            f"After a wrong password the page {where} instead of login.html?msg=0 ('No such Username or Password')."
        )
    check.passes("A wrong password ends on login.html?msg=0 and stores no tokens.")


_TRY_IT_YOURSELF = (
    "Run the grader again; if it keeps happening, open {url} in a browser and log in as {user} to see what the "
    "page does."
)
_SEEN_STOPS = frozenset({"stalled", "blocked"})
"""Stops that show the site's own doing: its script threw after Login, or it sent the browser off the site."""


def _where(attempt: LoginAttempt) -> str:
    """Where a login that did not reach private.html?msg=1 stopped, for a sentence."""
    if attempt.timed_out:
        return "the page did not move on within the time allowed"
    if attempt.note:
        return attempt.note[0].lower() + attempt.note[1:].rstrip(".")
    return f"the page went to {attempt.final_url}"


def _seen_failure(attempt: LoginAttempt, cause_seen: bool, region: str) -> bool:
    """Whether the grader saw why the login failed: Cognito's refusal, the page's own error, the site's
    own end page asking for a new password, or a pool of another region in settings.js."""
    other_region = any(c.region and c.region != region for c in attempt.cognito_calls)
    return cause_seen or other_region or attempt.landed == "new_password" or attempt.stopped in _SEEN_STOPS


def _login_cause(attempt: LoginAttempt, sentence: str, region: str) -> str:
    """The cause of a login failure the grader saw, by the sentence grader.login_causes says it with (the
    message's), else by where the page went ('' for a failure without a hint of its own)."""
    cause = ""
    if sentence.startswith("Cognito asked for a new password"):
        cause = "temporary-password"
    elif sentence.startswith("Cognito does not know the app client"):
        cause = "unknown-client"
    elif sentence.startswith("The app client has a client secret"):
        cause = "client-secret"
    elif sentence.startswith("The app client does not allow"):
        cause = "srp-off"
    elif sentence.startswith("Cognito has no such user"):
        cause = "no-user"
    elif sentence.startswith("The user is disabled"):
        cause = "user-disabled"
    elif sentence.startswith("Cognito refused the password"):
        cause = "password-refused"
    elif "Invalid UserPoolId format" in sentence:
        cause = "invalid-pool-id"
    elif sentence.startswith("The login form never called Cognito; the page's console shows"):
        cause = "script-error"
    elif any(c.region and c.region != region for c in attempt.cognito_calls):
        cause = "other-region"
    elif attempt.landed == "new_password":
        cause = "temporary-password"
    return cause


def _last_answer(attempt: LoginAttempt) -> str:
    """' Cognito's last answer was …' when the page called Cognito; '' otherwise."""
    calls = attempt.cognito_calls
    return f" Cognito's last answer was {calls[-1].operation}: {calls[-1].outcome.rstrip('.')}." if calls else ""


def _shown(attempt: LoginAttempt) -> str:
    """' The page showed “…”.' when the page's visible text (or its message) was kept; '' otherwise."""
    text = attempt.page_text or attempt.message
    return f" The page showed \u201c{text}\u201d." if text else ""

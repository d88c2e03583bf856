"""The website checks (checks/test_site.py) on hand-built evidence: each pass, fail and skip case.

site.login verifies real RS256 tokens (signed in tests/unit/evidence.py with the pool's key) that
the website's SDK stored, against the pool's JWKS.
"""

from __future__ import annotations

from typing import Any

import pytest

import checks.test_site as site_checks
from grader.checking import Check
from grader.errors import GraderError
from grader.observe.signins import CognitoCall
from grader.site import Probe
from grader.snapshot import Read
from tests.unit.evidence import (
    CALLBACK,
    CLIENT,
    DOMAIN,
    INSTANCE,
    LINK_PROBE,
    OTHER_CLIENT_ID,
    OTHER_KEY,
    POOL,
    REGION,
    RIGHT_LOGIN,
    SETTINGS,
    SITE,
    SPEC,
    UNREACHABLE_SITE,
    cannot_see,
    check_id,
    fails,
    grader_bug,
    hosted_link,
    ids_of,
    logins,
    passes,
    refusal,
    replace,
    skips,
    snapshot,
    stored_tokens,
    wrong_login,
)

reachable = site_checks.test_reachable
configured = site_checks.test_configured
link = site_checks.test_hosted_ui_link
login = site_checks.test_login
wrong_password = site_checks.test_wrong_password_rejected
HOST = INSTANCE.public_dns

PASS_CASES: list[tuple[Any, dict[str, Any], str]] = [
    (reachable, {}, f"The website answers at {CALLBACK}/login.html."),
    (configured, {}, "scripts/settings.js names this pool and app client."),
    (
        link,
        {},
        (
            f"The hosted-UI link goes to https://{DOMAIN.host} for this client, returns to {CALLBACK}, and Cognito "
            "answers it with its sign-in page."
        ),
    ),
    (
        login,
        {},
        (
            f"janedoe logged in at {CALLBACK}/login.html and reached private.html; the tokens are signed by the "
            f"pool {POOL.id} for the client {CLIENT.id}."
        ),
    ),
    (wrong_password, {}, "A wrong password ends on login.html?msg=0 and stores no tokens."),
]
PASSES = ids_of(*(case[0] for case in PASS_CASES))


@pytest.mark.parametrize(("function", "overrides", "message"), PASS_CASES, ids=[check_id(c[0]) for c in PASS_CASES])
def test_finished_lab_passes_each_site_check(function: Any, overrides: dict[str, Any], message: str) -> None:
    """The finished lab's website passes every site check with the sentence saying what was found."""
    assert passes(function, **overrides).message == message


def _with_settings(**changes: Any) -> Any:
    return replace(SITE, settings=replace(SETTINGS, **changes))


# -- site.reachable -------------------------------------------------------------------------------


def test_reachable_records_where_the_address_came_from() -> None:
    """The evidence says where the website's address came from and every address tried."""
    check = passes(reachable)
    assert check.evidence == {
        "address_from": "the app client's callback URL",
        "tried": [{"url": f"{CALLBACK}/login.html", "status": 200, "error": ""}],
    }


def test_reachable_fails_without_any_address() -> None:
    """No callback URL, no running instance and no --site-url: the grader found no address."""
    check = fails(reachable, site=UNREACHABLE_SITE)
    assert check.message.startswith("The grader found no address for the website")


def test_reachable_fails_when_login_html_is_missing() -> None:
    """A web server answering 404 for login.html: the course website is not deployed."""
    tried = (Probe(f"https://{HOST}/login.html", 404), Probe(f"http://{HOST}/login.html", 404))
    check = fails(reachable, site=replace(SITE, base_url=None, settings=None, probes=tried))
    assert check.message == (
        f"The web server on {HOST} answers, but login.html is not there (https://{HOST}/login.html: HTTP 404; "
        f"http://{HOST}/login.html: HTTP 404): the course website is not deployed."
    )


def _tried(*answers: tuple[int | None, str, str]) -> Any:
    """The site as read when login.html was not found: one probe per (status, error, page text), https then http."""
    urls = [f"https://{HOST}/login.html", f"http://{HOST}/login.html"]
    probes = tuple(Probe(url, status, error, text) for url, (status, error, text) in zip(urls, answers, strict=False))
    return replace(SITE, base_url=None, settings=None, probes=probes)


UNSEEN_SITES: list[tuple[str, Any, list[str]]] = [
    (
        "nothing-answers",
        _tried((None, "the connection failed", ""), (None, "no connection within 5 s", "")),
        [
            (
                f"The grader could not see the website on {HOST} (https://{HOST}/login.html: the connection failed; "
                f"http://{HOST}/login.html: no connection within 5 s)."
            ),
            "security group allows http (80) and https (443) from anywhere, then run the grader again.",
        ],
    ),
    (
        "refused-then-timeout",
        _tried((None, "connection refused", ""), (None, "no connection within 5 s", "")),
        [f"https://{HOST}/login.html: connection refused; ", "security group allows http (80)"],
    ),
    (
        "host-not-found",
        _tried((None, "host not found", ""), (None, "host not found", "")),
        ["Its name did not resolve for the grader: check the grader's network connection"],
    ),
    (
        "too-many-requests",
        _tried((429, "", "Too Many Requests"), (None, "the connection failed", "")),
        ["HTTP 429 showing \u201cToo Many Requests\u201d", "try later (or a gateway between answered): wait a minute"],
    ),
    ("service-unavailable", _tried((503, "", ""), (503, "", "")), [f"https://{HOST}/login.html: HTTP 503;"]),
    ("bad-gateway", _tried((502, "", "Bad Gateway"), (504, "", "")), ["HTTP 502", "HTTP 504"]),
    (
        "unrecognised-page",
        _tried((200, "", "Welcome to our Wi-Fi: accept the terms to continue")),
        [
            "HTTP 200 showing \u201cWelcome to our Wi-Fi: accept the terms to continue\u201d",
            "not the course's login page (it has no #username field)",
        ],
    ),
]


@pytest.mark.parametrize(("site", "phrases"), [u[1:] for u in UNSEEN_SITES], ids=[u[0] for u in UNSEEN_SITES])
def test_reachable_is_the_graders_error_when_no_answer_shows_the_site(site: Any, phrases: list[str]) -> None:
    """No answer, a timeout, 429/502/503/504 or a page that is not the login page: the grader's error, saying what
    each address gave and what to do."""
    error, check = cannot_see(reachable, site=site)
    for phrase in phrases:
        assert phrase in error.message
    assert check.evidence["tried"] == [p.evidence() for p in site.probes]


@pytest.mark.parametrize(
    ("site", "phrase"),
    [
        (
            _tried((500, "", "Internal Server Error"), (None, "no connection within 5 s", "")),
            "not the course's login page",
        ),
        (_tried((403, "", "Forbidden"), (503, "", "")), "not the course's login page"),
        (_tried((None, "no connection within 5 s", ""), (404, "", "Not Found")), "login.html is not there"),
        (
            _tried((None, "the answer was larger than 2 MiB", ""), (None, "the answer was larger than 2 MiB", "")),
            "not the course's login page (https://",
        ),
    ],
    ids=["server-error-500", "forbidden-403", "http-404-after-https-timeout", "endless-answer"],
)
def test_reachable_fails_when_the_web_server_itself_answers_an_error(site: Any, phrase: str) -> None:
    """A 404, 403, 500 or an answer of more than 2 MiB is the student's web server's own answer: positive evidence
    the site does not work."""
    check = fails(reachable, site=site)
    assert phrase in check.message


def test_reachable_fails_when_the_host_refuses_every_connection() -> None:
    """Both https and http refused by the instance itself (a TCP reset): nothing listens, the web server is not
    running. That answer is the host's own, so it is the student's fail."""
    check = fails(reachable, site=_tried((None, "connection refused", ""), (None, "connection refused", "")))
    assert check.message.startswith(f"Nothing listens for the website on {HOST}: the host refused the connection")


@pytest.mark.parametrize("state", ["stopped", "none"])
def test_reachable_fails_when_no_instance_runs_to_serve_the_site(state: str) -> None:
    """No answer at the callback's host while EC2 shows no running instance: the student's fail (EC2 shows it)."""
    instances = (replace(INSTANCE, state="stopped", public_dns=""),) if state == "stopped" else ()
    site = replace(_tried((None, "the connection failed", "")), source="the app client's callback URL")
    check = fails(reachable, site=site, snapshot=snapshot(instances=instances))
    assert check.message.startswith(f"No EC2 instance is running in {REGION}, so nothing serves the website at {HOST}")


def test_reachable_named_with_site_url_is_the_graders_error_whatever_ec2_shows() -> None:
    """A website named with --site-url is not on the account's instance: EC2 proves nothing about it."""
    site = replace(_tried((None, "no connection within 5 s", "")), source="--site-url")
    error, _ = cannot_see(reachable, site=site, snapshot=snapshot(instances=()))
    assert error.message.startswith(f"The grader could not see the website on {HOST}")


@pytest.mark.parametrize("part", ["client", "instances"])
def test_reachable_without_an_address_is_the_graders_error_when_its_source_was_unreadable(part: str) -> None:
    """No address because the app client or the EC2 instances could not be read: that read's error, not a fail."""
    throttled = GraderError("AWS throttled the grader while it tried to list the EC2 instances.", kind="throttled")
    unread = replace(snapshot(), **{part: Read(error=throttled)})
    error, _ = cannot_see(reachable, site=UNREACHABLE_SITE, snapshot=unread)
    assert error is throttled


# -- site.configured ------------------------------------------------------------------------------


def _settings_read(status: int | None, error: str = "") -> Any:
    """The site with scripts/settings.js answered by `status` (or `error`)."""
    read = Probe(f"{CALLBACK}/scripts/settings.js", status, error)
    why = f"HTTP {status}" if status else error
    return replace(
        SITE, settings=None, settings_problem=f"scripts/settings.js could not be read ({why})", settings_probe=read
    )


def test_configured_fails_when_settings_js_is_missing() -> None:
    """settings.js answered 404 (the web server's own answer) fails with why it could not be read."""
    check = fails(configured, reachable_site=_settings_read(404))
    assert (
        check.message == "The website's settings could not be read: scripts/settings.js could not be read (HTTP 404)."
    )


def test_configured_fails_when_settings_js_has_no_ids() -> None:
    """A settings.js that was read but holds no UserPoolId or ClientId fails (the grader read it)."""
    site = replace(
        SITE,
        settings=None,
        settings_problem="scripts/settings.js has no UserPoolId or ClientId setting",
        settings_probe=Probe(f"{CALLBACK}/scripts/settings.js", 200),
    )
    assert "has no UserPoolId or ClientId setting" in fails(configured, reachable_site=site).message


@pytest.mark.parametrize(
    ("status", "error"),
    [(None, "no complete answer within 15 s"), (None, "the connection failed"), (429, ""), (503, "")],
    ids=["deadline", "refused", "too-many-requests", "unavailable"],
)
def test_configured_is_the_graders_error_when_settings_js_gave_no_answer(status: int | None, error: str) -> None:
    """settings.js not read because of a timeout, a network error, 429 or 503: the grader's error, naming the read."""
    raised, check = cannot_see(configured, reachable_site=_settings_read(status, error))
    said = error or f"HTTP {status}"
    assert raised.message.startswith(
        f"The grader could not read the website's scripts/settings.js ({CALLBACK}/scripts/settings.js: {said})"
    )
    assert raised.message.endswith("then run the grader again.")
    assert check.evidence["settings_read"]["status"] == status


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        (
            {"user_pool_id": "REPLACE-WITH-YOUR-USER-POOL-ID", "client_id": "REPLACE-WITH-YOUR-CLIENT-ID"},
            (
                "scripts/settings.js still holds the placeholder for UserPoolId and ClientId: the rebuild "
                "script was not given "
                "the ids."
            ),
        ),
        ({"client_id": "REPLACE-WITH-YOUR-CLIENT-ID"}, "still holds the placeholder for ClientId:"),
        (
            {"user_pool_id": f"{REGION}_Other9999"},
            (
                f"scripts/settings.js names another pool or client: UserPoolId is '{REGION}_Other9999', but the pool "
                f"{POOL.name} is {POOL.id}."
            ),
        ),
        (
            {"client_id": OTHER_CLIENT_ID},
            f"ClientId is '{OTHER_CLIENT_ID}', but the app client {CLIENT.name} is {CLIENT.id}.",
        ),
        (
            {"user_pool_id": f"{REGION}_Other9999", "client_id": OTHER_CLIENT_ID},
            f"is {POOL.id}; ClientId is '{OTHER_CLIENT_ID}'",
        ),
    ],
    ids=["both-placeholders", "client-placeholder", "other-pool", "other-client", "both-wrong"],
)
def test_configured_fails_naming_the_wrong_setting(changes: dict[str, Any], phrase: str) -> None:
    """settings.js with a placeholder or another pool's or client's id fails naming the setting and the right id."""
    check = fails(configured, reachable_site=_with_settings(**changes))
    assert phrase in check.message


def test_configured_leaves_the_hosted_link_to_its_own_check() -> None:
    """A HostedId placeholder alone does not fail site.configured (site.hosted_ui_link judges the link)."""
    check = passes(configured, reachable_site=_with_settings(hosted_link="REPLACE-WITH-COGNITO-URL/oauth2/authorize"))
    assert check.evidence["settings_client_id"] == CLIENT.id


# -- site.hosted_ui_link --------------------------------------------------------------------------


def test_hosted_ui_link_skips_without_settings() -> None:
    """Without a readable settings.js there is no link to judge: skip, pointing at site.configured."""
    reason = skips(link, reachable_site=replace(SITE, settings=None, settings_problem="HTTP 404"))
    assert reason == "The website's settings.js could not be read (see site.configured)."


MISTAKEN_LINKS: list[tuple[str, str, str]] = [
    (
        "placeholders",
        "REPLACE-WITH-COGNITO-URL/oauth2/authorize?client_id=REPLACE-WITH-CLIENT-ID&response_type=token",
        "The hosted-UI link in scripts/settings.js still holds placeholders (HostedId).",
    ),
    (
        "no-https",
        hosted_link(origin=DOMAIN.host),
        (
            f"it does not start with https:// (the Cognito domain was typed as '{DOMAIN.host}'), so the "
            "browser treats it "
            "as a page of the website itself"
        ),
    ),
    (
        "other-domain",
        hosted_link(origin="https://someone-else.auth.us-east-1.amazoncognito.com"),
        f"its host is someone-else.auth.us-east-1.amazoncognito.com, but the pool's Cognito domain is {DOMAIN.host}",
    ),
    ("wrong-path", hosted_link(path="/oauth2/token"), "its path is /oauth2/token, not /oauth2/authorize"),
    (
        "other-client",
        hosted_link(client_id=OTHER_CLIENT_ID),
        f"its client_id is '{OTHER_CLIENT_ID}', not the app client's {CLIENT.id}",
    ),
    ("code-grant", hosted_link(response_type="code"), "its response_type is 'code', not token (the implicit grant)"),
    (
        # The course template's trailing slash alone: one sentence saying so (the details are the evidence).
        "trailing-slash",
        hosted_link(redirect_uri=f"{CALLBACK}/"),
        (
            "The course's own template writes this link with a trailing slash; it works once the app client's "
            f"callback URLs also list {CALLBACK}/."
        ),
    ),
    (
        # Beside another mistake, every problem is said, the trailing slash with how Cognito compares.
        "trailing-slash-and-code-grant",
        hosted_link(response_type="code", redirect_uri=f"{CALLBACK}/"),
        (
            f"its redirect_uri is {CALLBACK}/ but the registered callback URL is {CALLBACK}, and Cognito compares them "
            f"exactly: add {CALLBACK}/ to the app client's callback URLs, or change the end of HostedId"
        ),
    ),
    (
        "unregistered-redirect",
        hosted_link(redirect_uri="https://quick-oil.example/"),
        f"its redirect_uri https://quick-oil.example/ is not one of the callback URLs ({CALLBACK})",
    ),
]


@pytest.mark.parametrize(("hosted", "phrase"), [m[1:] for m in MISTAKEN_LINKS], ids=[m[0] for m in MISTAKEN_LINKS])
def test_hosted_ui_link_fails_naming_the_mistake(hosted: str, phrase: str) -> None:
    """A link with a placeholder, without https, to another domain, path, client, grant or redirect fails naming it."""
    check = fails(link, reachable_site=_with_settings(hosted_link=hosted), link_probe=None)
    assert phrase in check.message
    assert check.evidence["hosted_link"] == hosted
    assert "cognito_answer" not in check.evidence


def test_hosted_ui_link_fails_without_a_pool_domain() -> None:
    """A pool without a Cognito domain: the link's host cannot be the pool's domain."""
    check = fails(link, domain=None, link_probe=None)
    assert f"its host is {DOMAIN.host}, but the pool's Cognito domain is missing" in check.message


def test_hosted_ui_link_fails_when_cognito_refuses_it() -> None:
    """A link that looks right but that Cognito refuses fails with Cognito's answer."""
    check = fails(link, link_probe=refusal("invalid_scope", url=SETTINGS.hosted_link))
    assert check.message.startswith(
        "The hosted-UI link in scripts/settings.js looks right, but Cognito refuses it: invalid_scope, "
    )
    assert check.evidence["cognito_answer"]["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (replace(LINK_PROBE, status=503, error="http_503", detail="Cognito showed an error page"), "HTTP 503"),
        (replace(LINK_PROBE, status=429, error="http_429", detail="Cognito showed an error page"), "HTTP 429"),
        (
            replace(LINK_PROBE, status=302, error="unexpected_redirect", detail="it redirects to https://x.example/"),
            "names no cause the grader recognises",
        ),
    ],
    ids=["cognito-5xx", "cognito-throttled", "unexpected-redirect"],
)
def test_hosted_ui_link_is_the_graders_error_when_cognitos_answer_names_no_cause(answer: Any, phrase: str) -> None:
    """Cognito answering 5xx or 429, or redirecting somewhere unknown, shows nothing about the link: the grader's
    error, not a refusal."""
    error, check = cannot_see(link, link_probe=answer)
    assert phrase in error.message
    assert check.evidence["cognito_answer"]["status"] == answer.status


def test_hosted_ui_link_accepts_the_login_path() -> None:
    """A link to the hosted UI's /login page (rather than /oauth2/authorize) is accepted."""
    check = passes(link, reachable_site=_with_settings(hosted_link=hosted_link(path="/login")), link_probe=LINK_PROBE)
    assert check.evidence["cognito_answer"]["error"] == ""


def test_hosted_ui_link_not_probed_is_the_graders_error() -> None:
    """A right link that Cognito was never asked about is the grader's bug (an AssertionError), not a fail."""
    assert "was not probed" in str(grader_bug(link, link_probe=None))


# -- site.login: the page ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500])
def test_login_fails_when_the_login_page_answers_its_own_error(status: int) -> None:
    """A login page answering 404 or 500 (the web server's own answer) fails with the browser's sentence."""
    said = f"{CALLBACK}/login.html answered HTTP {status} instead of the login page."
    check = fails(login, site_logins=logins(error=said, status=status, final_url="", tokens={}))
    assert check.message == f"The login page could not be used: {said}"


UNUSABLE_PAGES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "bad-gateway",
        {"error": f"{CALLBACK}/login.html answered HTTP 502 Bad Gateway instead of the login page.", "status": 502},
        ["The grader could not use the website's login page:", "HTTP 502 Bad Gateway"],
    ),
    (
        "too-many-requests",
        {"error": f"{CALLBACK}/login.html answered HTTP 429 instead of the login page.", "status": 429},
        ["HTTP 429"],
    ),
    (
        "load-timeout",
        {"error": "The browser waited 30 s for the login page and the page did not load.", "timed_out": True},
        ["The browser waited 30 s"],
    ),
    (
        "name-not-resolved",
        {"error": f"The name {HOST} does not resolve: the instance may be stopped or its public name has changed."},
        [f"The name {HOST} does not resolve"],
    ),
    (
        "unrecognised-page",
        {
            "error": f"{CALLBACK}/login.html has no login form the grader can use: is it the course's login page?",
            "status": 200,
            "page_text": "Sign in to the campus network",
        },
        ["has no login form", "The page showed \u201cSign in to the campus network\u201d."],
    ),
    (
        "busy-page",
        {
            "error": f"{CALLBACK}/login.html did not take the click on Login within 2 s: the page was busy.",
            "status": 200,
        },
        ["did not take the click on Login"],
    ),
]


@pytest.mark.parametrize(("changes", "phrases"), [u[1:] for u in UNUSABLE_PAGES], ids=[u[0] for u in UNUSABLE_PAGES])
def test_login_is_the_graders_error_when_the_page_could_not_be_used(
    changes: dict[str, Any], phrases: list[str]
) -> None:
    """A login page that timed out, did not resolve, answered 429/502, was busy or is not recognised: the grader's
    error with what was seen and what to do."""
    error, check = cannot_see(login, site_logins=logins(final_url="", tokens={}, **changes))
    for phrase in phrases:
        assert phrase in error.message
    assert error.message.endswith(
        f"open {CALLBACK}/login.html in a browser and log in as janedoe to see what the page does."
    )
    assert check.evidence["error"] == changes["error"]


FAILED_LOGINS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "new-password-required",
        {
            "final_url": f"{CALLBACK}/login.html?msg=3",
            "cognito_calls": [
                CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER"),
                CognitoCall("RespondToAuthChallenge", 200, "challenge NEW_PASSWORD_REQUIRED"),
            ],
        },
        [
            f"janedoe could not log in: the page went to {CALLBACK}/login.html?msg=3.",
            "Cognito asked for a new password: the user still has the temporary password (FORCE_CHANGE_PASSWORD).",
        ],
    ),
    (
        "wrong-password",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "cognito_calls": [
                CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER"),
                CognitoCall("RespondToAuthChallenge", 400, "NotAuthorizedException: Incorrect username or password."),
            ],
        },
        ["Cognito refused the password (Incorrect username or password.)"],
    ),
    (
        "unknown-client",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "cognito_calls": [
                CognitoCall("InitiateAuth", 400, "ResourceNotFoundException: User pool client abc does not exist.")
            ],
        },
        ["Cognito does not know the app client in settings.js (User pool client abc does not exist.)"],
    ),
    (
        "pool-placeholder",
        {
            "final_url": f"{CALLBACK}/login.html",
            "timed_out": True,
            "cognito_calls": [],
            "console_errors": ["Error: Invalid UserPoolId format."],
        },
        [
            "janedoe could not log in: the page did not move on within the time allowed.",
            "the page reports 'Invalid UserPoolId format', so settings.js still holds a placeholder",
        ],
    ),
    (
        "stalled-with-note",
        {
            "final_url": f"{CALLBACK}/login.html",
            "note": "The page stopped after an uncaught error.",
            "cognito_calls": [],
            "console_errors": ["TypeError: settings is undefined"],
        },
        [
            (
                "janedoe could not log in: the page stopped after an uncaught error. The login form never "
                "called Cognito; "
                "the page's console shows: TypeError: settings is undefined"
            )
        ],
    ),
]


@pytest.mark.parametrize(("changes", "phrases"), [f[1:] for f in FAILED_LOGINS], ids=[f[0] for f in FAILED_LOGINS])
def test_login_fails_naming_where_it_stopped_and_why(changes: dict[str, Any], phrases: list[str]) -> None:
    """A login that did not reach private.html?msg=1 fails with where it stopped and the cause Cognito gave."""
    check = fails(login, site_logins=logins(message="", tokens={}, **changes))
    for phrase in phrases:
        assert phrase in check.message
    assert "token_claims" not in check.evidence


SEEN_STOPS: list[tuple[str, dict[str, Any], str]] = [
    (
        "sent-off-the-site",
        {
            "final_url": f"{CALLBACK}/login.html",
            "stopped": "blocked",
            "note": "After Login was clicked the page sent the browser to http://10.0.0.5/, an address the grader "
            "does not visit (a local or private one, or outside the lab)",
            "cognito_calls": [],
        },
        "janedoe could not log in: after Login was clicked the page sent the browser to http://10.0.0.5/",
    ),
    (
        "pool-of-another-region",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "cognito_calls": [CognitoCall("InitiateAuth", 0, "no answer (net::ERR_FAILED)", "eu-west-1")],
        },
        f"janedoe could not log in: the page went to {CALLBACK}/login.html?msg=0.",
    ),
]


@pytest.mark.parametrize(("changes", "phrase"), [c[1:] for c in SEEN_STOPS], ids=[c[0] for c in SEEN_STOPS])
def test_login_fails_when_the_page_itself_shows_the_mistake(changes: dict[str, Any], phrase: str) -> None:
    """A page that sends the browser off the site, or a settings.js pool of another region, is the student's fail
    even without Cognito's answer."""
    check = fails(login, site_logins=logins(message="", tokens={}, **changes))
    assert phrase in check.message


UNSEEN_LOGINS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "stays-put",
        {"final_url": f"{CALLBACK}/login.html", "timed_out": True, "stopped": "timeout", "cognito_calls": []},
        [
            "The grader could not see how janedoe's login ends: the page did not move on within the time allowed.",
            "The login form never called Cognito.",
        ],
    ),
    (
        "cognito-5xx",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "message": "No such Username or Password",
            "cognito_calls": [CognitoCall("InitiateAuth", 500, "InternalErrorException: Internal error", REGION)],
        },
        [
            "The page showed \u201cNo such Username or Password\u201d.",
            "Cognito answered InitiateAuth with HTTP 500 (InternalErrorException: Internal error): its own trouble",
        ],
    ),
    (
        "cognito-throttled",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "cognito_calls": [CognitoCall("InitiateAuth", 400, "TooManyRequestsException: Rate exceeded", REGION)],
        },
        ["Cognito answered InitiateAuth with HTTP 400 (TooManyRequestsException: Rate exceeded)"],
    ),
    (
        "cognito-unreachable",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "cognito_calls": [CognitoCall("InitiateAuth", 0, "no answer (net::ERR_NAME_NOT_RESOLVED)", REGION)],
        },
        ["The browser got no answer from Cognito to InitiateAuth (no answer (net::ERR_NAME_NOT_RESOLVED))"],
    ),
    (
        "next-page-did-not-load",
        {
            "final_url": f"{CALLBACK}/login.html",
            "stopped": "load_failed",
            "note": "After Login was clicked the next page failed to load (net::ERR_CONNECTION_RESET).",
            "cognito_calls": RIGHT_LOGIN.cognito_calls,
        },
        ["after Login was clicked the next page failed to load (net::ERR_CONNECTION_RESET)."],
    ),
    (
        "not-cognitos-answer",
        {
            "final_url": f"{CALLBACK}/login.html?msg=0",
            "cognito_calls": [CognitoCall("InitiateAuth", 403, "HTTP 403, not a JSON answer", REGION)],
        },
        ["InitiateAuth got HTTP 403 with an answer that is not Cognito's"],
    ),
]


@pytest.mark.parametrize(("changes", "phrases"), [u[1:] for u in UNSEEN_LOGINS], ids=[u[0] for u in UNSEEN_LOGINS])
def test_login_is_the_graders_error_when_it_did_not_see_why_the_login_failed(
    changes: dict[str, Any], phrases: list[str]
) -> None:
    """A page that stays put, Cognito's 5xx or throttling, no answer from Cognito, a next page that did not load:
    the grader's error, with what was seen and what to do."""
    error, check = cannot_see(login, site_logins=logins(**({"message": "", "tokens": {}} | changes)))
    for phrase in phrases:
        assert phrase in error.message
    assert "token_claims" not in check.evidence


def test_login_is_the_graders_error_when_the_private_page_message_was_not_read() -> None:
    """private.html?msg=1 reached but no #message text read: the grader did not see the page, so its error."""
    error, _ = cannot_see(login, site_logins=logins(message="", page_text="Loading"))
    assert error.message.startswith(
        f"The page reached {CALLBACK}/private.html?msg=1, but the grader could not read its message (no #message "
        "text). The page showed \u201cLoading\u201d."
    )


def test_login_fails_when_private_page_does_not_thank() -> None:
    """Reaching private.html without its 'Thank you for Logging In' message fails quoting what it shows."""
    check = fails(login, site_logins=logins(message="Please log in"))
    assert check.message == (
        f"The page reached {CALLBACK}/private.html?msg=1 but shows 'Please log in' instead of "
        "'Thank you for Logging In'."
    )


# -- site.login: the stored tokens ------------------------------------------------------------------

STORED_MISTAKES: list[tuple[str, dict[str, str], str]] = [
    ("nothing-stored", {}, "There are no Cognito tokens in the browser's storage: the login stored nothing."),
    (
        "another-client",
        stored_tokens(client_id=OTHER_CLIENT_ID),
        (
            f"The browser's storage holds tokens for app client {OTHER_CLIENT_ID}, not for the student's app client "
            f"{CLIENT.id}: the website's settings.js names another client."
        ),
    ),
    (
        "other-pool",
        stored_tokens(pool_id=f"{REGION}_Other9999"),
        f"The id token was issued by pool {REGION}_Other9999, not the student's pool {POOL.id}.",
    ),
    ("other-user", stored_tokens(username="johndoe"), "The id token belongs to user johndoe, not janedoe."),
    ("bad-signature", stored_tokens(key=OTHER_KEY), "The signature does not verify against the pool's keys."),
    (
        "audience-of-another-client",
        {
            **stored_tokens(),
            f"CognitoIdentityServiceProvider.{CLIENT.id}.janedoe.idToken": stored_tokens(client_id=OTHER_CLIENT_ID)[
                f"CognitoIdentityServiceProvider.{OTHER_CLIENT_ID}.janedoe.idToken"
            ],
        },
        f"The id token's audience is client {OTHER_CLIENT_ID}, not {CLIENT.id}.",
    ),
]


@pytest.mark.parametrize(("tokens", "phrase"), [m[1:] for m in STORED_MISTAKES], ids=[m[0] for m in STORED_MISTAKES])
def test_login_fails_when_the_stored_tokens_do_not_prove_it(tokens: dict[str, str], phrase: str) -> None:
    """A thanked login whose stored tokens are missing, another client's, pool's or user's, or badly signed fails."""
    check = fails(login, site_logins=logins(tokens=tokens))
    assert check.message.startswith("The page says the login worked, but the stored tokens do not prove it: ")
    assert phrase in check.message


def test_login_fails_without_the_pools_keys() -> None:
    """Without the pool's published keys the signatures cannot verify, so the login is not proved."""
    check = fails(login, signing_keys=None)
    assert "which is not one of the pool's keys" in check.message


def test_login_records_claims_and_screenshot_never_a_token() -> None:
    """The evidence holds the stored keys' names, public claims and the screenshot, never a token."""
    png = b"\x89PNG\r\n\x1a\n-not-really-a-png"
    check = passes(login, site_logins=logins(screenshot_png=png))
    assert check.evidence["screenshot"].startswith("data:image/png;base64,")
    assert check.evidence["token_claims"]["id"]["aud"] == CLIENT.id
    assert sorted(check.evidence["stored_token_keys"]) == sorted(RIGHT_LOGIN.tokens)
    assert "eyJ" not in repr({k: v for k, v in check.evidence.items() if k != "screenshot"})


# -- site.wrong_password_rejected ---------------------------------------------------------------


@pytest.mark.parametrize(
    "right_changes",
    [{"final_url": f"{CALLBACK}/login.html?msg=0", "tokens": {}}, {"tokens": {}}],
    ids=["right-password-refused", "right-password-stored-nothing"],
)
def test_wrong_password_skips_when_the_right_one_fails_too(right_changes: dict[str, Any]) -> None:
    """When the right password does not log in (or stores nothing), a refusal proves nothing: skip."""
    reason = skips(wrong_password, site_logins=logins(**right_changes))
    assert reason == "The right password does not log in either (see site.login), so a refusal would prove nothing."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"final_url": f"{CALLBACK}/private.html?msg=1", "tokens": stored_tokens()},
            f"The website logged janedoe in with a wrong password and ended on {CALLBACK}/private.html?msg=1.",
        ),
        (
            {"final_url": f"{CALLBACK}/private.html?msg=1"},
            f"The website logged janedoe in with a wrong password and ended on {CALLBACK}/private.html?msg=1.",
        ),
        (
            {
                "final_url": f"{CALLBACK}/login.html",
                "timed_out": True,
                "stopped": "timeout",
                "cognito_calls": RIGHT_LOGIN.cognito_calls,
            },
            (
                "After a wrong password the page did not move on instead of login.html?msg=0 ('No such Username "
                "or Password')."
            ),
        ),
        (
            {"final_url": f"{CALLBACK}/login.html?msg=3"},
            (
                f"After a wrong password the page went to {CALLBACK}/login.html?msg=3 instead of login.html?msg=0 "
                "('No such Username or Password')."
            ),
        ),
        (
            {"final_url": f"{CALLBACK}/login.html", "stopped": "stalled", "note": "The page threw an error."},
            (
                f"After a wrong password the page went to {CALLBACK}/login.html instead of login.html?msg=0 "
                "('No such Username or Password')."
            ),
        ),
    ],
    ids=["tokens-stored", "failure-goes-to-private", "tokens-issued-then-stayed", "asked-for-new-password", "stalled"],
)
def test_wrong_password_fails_when_not_refused(changes: dict[str, Any], message: str) -> None:
    """A wrong password that logs in, lands on private.html or does not end on login.html?msg=0 fails."""
    check = fails(wrong_password, site_logins=wrong_login(**changes))
    assert check.message == message
    assert check.evidence["final_url"] == changes["final_url"]


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        (
            {"final_url": f"{CALLBACK}/login.html", "timed_out": True, "stopped": "timeout"},
            "the page did not move on within the time allowed.",
        ),
        ({"final_url": f"{CALLBACK}/index.html"}, f"the page went to {CALLBACK}/index.html."),
    ],
    ids=["timed-out", "went-elsewhere"],
)
def test_wrong_password_that_did_not_end_is_the_graders_error(changes: dict[str, Any], phrase: str) -> None:
    """A wrong-password try that stays put or ends on a page the grader does not know, with no token issued and no
    error of the page's own, shows no mistake: the grader's error."""
    error, _ = cannot_see(wrong_password, site_logins=wrong_login(**changes))
    assert error.message.startswith(f"The grader could not see how the website answers a wrong password: {phrase}")
    assert (
        "Cognito's last answer was RespondToAuthChallenge: NotAuthorizedException: Incorrect username or password."
        in (error.message)
    )


def test_wrong_password_try_that_could_not_use_the_page_is_the_graders_error() -> None:
    """A wrong-password try whose page could not be used (HTTP 502, refused) is the grader's error, not a fail."""
    check = Check("site.wrong_password_rejected")
    broken = wrong_login(error="The login page answered HTTP 502.", final_url="")
    with pytest.raises(GraderError, match="could not try a wrong password on the website: The login page answered"):
        wrong_password(reachable_site=SITE, pool=POOL, site_logins=broken, spec=SPEC, check=check)
    assert check.verdict == ""


def test_hosted_ui_link_fails_when_settings_js_has_none() -> None:
    """A settings.js without a HostedId link fails saying the link is missing, not naming empty parts."""
    check = fails(link, reachable_site=replace(SITE, settings=replace(SETTINGS, hosted_link="")))
    assert check.message == "scripts/settings.js has no hosted-UI link (its HostedId setting is missing or empty)."

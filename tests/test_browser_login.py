"""Tests for the grader's browser login (grader.browser) and token verification (grader.tokens)."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from grader.browser import (
    BrowserChoice,
    BrowserSession,
    RealRoutes,
    Recorder,
    discover_routes,
    find_browser,
    local_url,
    log_in,
    log_in_each,
)
from grader.browser.discovery import (
    EXTRA_DISABLED_FEATURES,
    playwright_disabled_features,
    session_launch_args,
)
from grader.browser.recorder import cognito_outcome
from grader.errors import GraderError
from grader.observe.account import fetch_jwks
from grader.observe.signins import CognitoCall, LoginAttempt
from grader.sandbox import Sandbox
from grader.sandbox.layout import SandboxRoutes
from grader.sandbox.sites import DeployedSite
from grader.target import Target
from grader.tokens import (
    LoginWindow,
    TokenCheck,
    expected_issuer,
    verify_callback_tokens,
    verify_tokens,
)

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
HOST = "ec2-54-214-1-2.compute-1.amazonaws.com"
DOWN_HOST = "ec2-54-214-1-3.compute-1.amazonaws.com"
HANG_HOST = "ec2-54-214-1-4.compute-1.amazonaws.com"
HTTPS_ONLY_HOST = "ec2-54-214-1-5.compute-1.amazonaws.com"
PLACEHOLDER_HOST = "ec2-54-214-1-6.compute-1.amazonaws.com"
TEMP_PASSWORD = "ILove2SeeTheTemple!"
PASSWORD = "Ilove2SeeTheTemple!!"
NEW_USER = "newhire"


def _load_rebuild() -> Any:
    spec = importlib.util.spec_from_file_location("site_rebuild", ROOT / "fixtures" / "site" / "rebuild.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Lab:
    sandbox: Sandbox
    pool_id: str
    client_id: str
    routes: SandboxRoutes

    def login_url(self, host: str = HOST, scheme: str = "https") -> str:
        return f"{scheme}://{host}/login.html"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A finished lab in a sandbox of its own: pool, public SRP client, janedoe, the site on four hosts."""
    with Sandbox() as sandbox:
        idp = boto3.client(
            "cognito-idp",
            endpoint_url=sandbox.url,
            region_name=REGION,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="VehicleApp",
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool_id, Username="janedoe", TemporaryPassword=TEMP_PASSWORD)
        idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
        idp.admin_create_user(UserPoolId=pool_id, Username=NEW_USER, TemporaryPassword=TEMP_PASSWORD)
        rebuild = _load_rebuild()
        root = rebuild.render_site(
            rebuild.TEMPLATE_DIR,
            tmp_path_factory.mktemp("site"),
            user_pool_id=pool_id,
            client_id=client_id,
            cognito_domain=f"vehicleapp.auth.{REGION}.amazoncognito.com",
            ec2_host=HOST,
        )
        shipped = rebuild.render_site(
            rebuild.TEMPLATE_DIR,
            tmp_path_factory.mktemp("shipped"),
            user_pool_id=None,
            client_id=None,
            cognito_domain=None,
            ec2_host=None,
        )
        sandbox.deploy_site(DeployedSite(host=HOST, root=root))
        sandbox.deploy_site(DeployedSite(host=PLACEHOLDER_HOST, root=shipped))
        sandbox.deploy_site(DeployedSite(host=DOWN_HOST, root=root, mode="down"))
        sandbox.deploy_site(DeployedSite(host=HANG_HOST, root=root, mode="hang"))
        sandbox.deploy_site(DeployedSite(host=HTTPS_ONLY_HOST, root=root, schemes=("https",)))
        routes = discover_routes(Target(region=REGION, endpoint_url=sandbox.url))
        assert routes is not None
        yield Lab(sandbox, pool_id, client_id, routes)


@pytest.fixture(scope="module")
def session(lab: Lab) -> Iterator[BrowserSession]:
    """One browser for the module, routed to the lab's sandbox."""
    try:
        choice = find_browser()
    except GraderError as exc:
        pytest.skip(exc.message)
    with BrowserSession(choice, lab.routes, REGION) as running:
        yield running


@pytest.fixture(scope="module")
def good_login(lab: Lab, session: BrowserSession) -> LoginAttempt:
    """janedoe's login with the right password, made once for the module."""
    return log_in(session, lab.login_url(), "janedoe", PASSWORD)


@pytest.fixture(scope="module")
def jwks(lab: Lab) -> dict[str, Any]:
    return fetch_jwks(lab.pool_id, REGION, lab.sandbox.url)


def _window_of(attempt: LoginAttempt) -> LoginWindow:
    return LoginWindow(attempt.started_at, attempt.ended_at)


# ------------------------------------------------------------------ logging in (browser)


@pytest.mark.browser
def test_right_password_lands_on_private_page_with_tokens(good_login: LoginAttempt) -> None:
    """The right password reaches private.html?msg=1, says "Thank you for Logging In" and stores tokens."""
    assert good_login.error == ""
    assert not good_login.timed_out
    assert good_login.final_url == f"https://{HOST}/private.html?msg=1"
    assert good_login.landed == "private"
    assert good_login.message == "Thank you for Logging In"
    assert any(key.endswith(".janedoe.idToken") for key in good_login.tokens)
    assert good_login.screenshot_png
    assert good_login.screenshot_png.startswith(b"\x89PNG")


FULL_BROWSERS = ("/usr/lib/chromium/chromium", "chromium", "google-chrome", "google-chrome-stable")


@pytest.mark.browser
def test_a_full_chromium_logs_in_as_the_headless_shell_does(lab: Lab) -> None:
    """Where only Chrome or a full Chromium is installed (many students' machines),
    the grader drives it the same way."""
    from grader.browser.discovery import _system_browser

    path = next((found for candidate in FULL_BROWSERS if (found := _system_browser(candidate))), None)
    if path is None:
        if os.environ.get("GRADER_REQUIRE_BROWSER") == "1":
            pytest.fail("GRADER_REQUIRE_BROWSER=1 but no full Chromium is installed (Debian: apt-get install chromium)")
        pytest.skip("no full Chromium or Chrome installed")
    assert "headless" not in Path(path).name  # a full browser, not a headless shell
    # In a thread of its own: the module's session holds this thread's Playwright.
    with BrowserSession(BrowserChoice(path, "a full Chromium"), lab.routes, REGION, own_thread=True) as full:
        attempt = full.call(log_in, lab.login_url(), "janedoe", PASSWORD)
    assert attempt.error == ""
    assert attempt.landed == "private"
    assert attempt.message == "Thank you for Logging In"


@pytest.mark.browser
def test_right_password_shows_the_srp_exchange(good_login: LoginAttempt) -> None:
    """The cross-origin SRP calls (preflighted) succeed: a PASSWORD_VERIFIER challenge, then tokens."""
    assert [(c.operation, c.status, c.outcome) for c in good_login.cognito_calls] == [
        ("InitiateAuth", 200, "challenge PASSWORD_VERIFIER"),
        ("RespondToAuthChallenge", 200, "tokens issued"),
    ]
    assert {c.region for c in good_login.cognito_calls} == {REGION}


@pytest.mark.browser
def test_stored_tokens_verify_for_the_students_pool_and_client(
    lab: Lab, good_login: LoginAttempt, jwks: dict[str, Any]
) -> None:
    """verify_tokens accepts the tokens the login stored, and summarises public claims only."""
    check = verify_tokens(
        good_login.tokens,
        pool_id=lab.pool_id,
        client_id=lab.client_id,
        region=REGION,
        username="janedoe",
        jwks=jwks,
        window=_window_of(good_login),
        cognito_calls=good_login.cognito_calls,
    )
    assert check == TokenCheck(True, (), check.claims)
    assert check.claims["id"]["aud"] == lab.client_id
    assert check.claims["id"]["cognito:username"] == "janedoe"
    assert check.claims["access"]["client_id"] == lab.client_id
    assert check.claims["access"]["iss"] == expected_issuer(lab.pool_id, REGION)
    assert not any(value in json.dumps(check.claims) for value in good_login.tokens.values() if len(value) > 40)


@pytest.mark.browser
def test_stored_tokens_are_from_this_login(good_login: LoginAttempt) -> None:
    """The sandbox's tokens carry exp, iat and auth_time, issued between the login's recorded start and end."""
    assert 0 < good_login.started_at <= good_login.ended_at
    for key in (k for k in good_login.tokens if k.endswith(("idToken", "accessToken"))):
        claims = jwt.decode(good_login.tokens[key], options={"verify_signature": False})
        assert {"exp", "iat", "auth_time"} <= set(claims)
        assert int(good_login.started_at) <= claims["iat"] <= good_login.ended_at
        assert int(good_login.started_at) <= claims["auth_time"] <= good_login.ended_at


@pytest.mark.browser
def test_verify_tokens_names_another_client(lab: Lab, good_login: LoginAttempt, jwks: dict[str, Any]) -> None:
    """Given another client id, verify_tokens says the tokens belong to the site's client instead."""
    check = verify_tokens(
        good_login.tokens,
        pool_id=lab.pool_id,
        client_id="otherclient123",
        region=REGION,
        username="janedoe",
        jwks=jwks,
        window=_window_of(good_login),
        cognito_calls=good_login.cognito_calls,
    )
    assert not check.ok
    assert check.problems == (
        (
            f"The browser's storage holds tokens for app client {lab.client_id}, not for the student's app "
            "client otherclient123: the website's settings.js names another client."
        ),
    )


@pytest.mark.browser
def test_verify_tokens_names_another_pool(lab: Lab, good_login: LoginAttempt, jwks: dict[str, Any]) -> None:
    """Given another pool id, verify_tokens says which pool issued both tokens."""
    check = verify_tokens(
        good_login.tokens,
        pool_id="us-east-1_Other0000",
        client_id=lab.client_id,
        region=REGION,
        username="janedoe",
        jwks=jwks,
        window=_window_of(good_login),
        cognito_calls=good_login.cognito_calls,
    )
    assert not check.ok
    assert check.problems == (
        f"The id token was issued by pool {lab.pool_id}, not the student's pool us-east-1_Other0000.",
        f"The access token was issued by pool {lab.pool_id}, not the student's pool us-east-1_Other0000.",
    )


@pytest.mark.browser
def test_wrong_password_lands_on_msg0_with_not_authorized(lab: Lab, session: BrowserSession) -> None:
    """A wrong password reaches login.html?msg=0, stores nothing, and the Cognito answer names the cause."""
    attempt = log_in(session, lab.login_url(), "janedoe", "Wrong-Password-1!")
    assert attempt.final_url == f"https://{HOST}/login.html?msg=0"
    assert attempt.landed == "failed"
    assert attempt.message == "No such Username or Password"
    assert attempt.tokens == {}
    assert attempt.cognito_calls[-1].operation == "RespondToAuthChallenge"
    assert attempt.cognito_calls[-1].status == 400
    assert attempt.cognito_calls[-1].outcome == "NotAuthorizedException: Incorrect username or password."


@pytest.mark.browser
def test_overlapped_logins_stay_apart(lab: Lab, session: BrowserSession) -> None:
    """Logins made together each get their own context: the right password's tokens never show in the wrong one's."""
    right, wrong = log_in_each(session, lab.login_url(), "janedoe", [PASSWORD, PASSWORD + "x"])
    assert right.landed == "private"
    assert right.tokens
    assert wrong.landed == "failed"
    assert wrong.tokens == {}
    assert [c.operation for c in wrong.cognito_calls] == ["InitiateAuth", "RespondToAuthChallenge"]
    assert wrong.cognito_calls[-1].outcome.startswith("NotAuthorizedException")


@pytest.mark.browser
def test_error_type_survives_when_the_page_moves_on_first(
    lab: Lab, session: BrowserSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the router's copy (as against real AWS), a lost error body still yields its type."""
    monkeypatch.setattr(Recorder, "on_response", _on_response_without_body)
    real_route = Recorder.route

    def route_without_copy(self: Recorder, route: Any) -> None:
        real_route(self, route)
        self._routed.clear()

    monkeypatch.setattr(Recorder, "route", route_without_copy)
    attempt = log_in(session, lab.login_url(), "janedoe", "Wrong-Password-1!")
    assert attempt.cognito_calls[-1].outcome.startswith("NotAuthorizedException (HTTP 400; ")


def _on_response_without_body(self: Recorder, response: Any) -> None:
    entry = self._pending.get(id(response.request))
    if entry is not None:
        entry[1].status = response.status
        entry[1].error_type = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]


@pytest.mark.browser
def test_temporary_password_lands_on_msg3_with_new_password_challenge(lab: Lab, session: BrowserSession) -> None:
    """A FORCE_CHANGE_PASSWORD user reaches login.html?msg=3 after a NEW_PASSWORD_REQUIRED challenge."""
    attempt = log_in(session, lab.login_url(), NEW_USER, TEMP_PASSWORD)
    assert attempt.final_url == f"https://{HOST}/login.html?msg=3"
    assert attempt.landed == "new_password"
    assert attempt.message.startswith("Need to reset password.")
    assert attempt.cognito_calls[-1].outcome == "challenge NEW_PASSWORD_REQUIRED"
    assert attempt.tokens == {}


@pytest.mark.browser
def test_other_hosts_are_blocked_and_listed(good_login: LoginAttempt) -> None:
    """In sandbox mode the SDK CDN and Google Fonts are aborted, listed without query, and not console noise."""
    assert "https://sdk.amazonaws.com/js/aws-sdk-2.1611.0.min.js" in good_login.blocked
    assert "https://fonts.googleapis.com/css2" in good_login.blocked
    assert good_login.console_errors == []


@pytest.mark.browser
def test_site_that_is_down_is_refused_quickly(lab: Lab, session: BrowserSession) -> None:
    """A site in mode "down" gives a connection-refused sentence at once, not after the timeout."""
    started = time.monotonic()
    attempt = log_in(session, lab.login_url(DOWN_HOST), "janedoe", PASSWORD)
    assert time.monotonic() - started < 5
    assert attempt.error.startswith(f"The browser could not connect to {DOWN_HOST}: the connection was refused.")
    assert not attempt.timed_out
    assert attempt.status is None
    assert attempt.cognito_calls == []
    assert attempt.tokens == {}


@pytest.mark.browser
def test_scheme_the_site_does_not_serve_is_refused(lab: Lab, session: BrowserSession) -> None:
    """http:// to a site that serves only https is refused, as a closed port 80 would be."""
    attempt = log_in(session, lab.login_url(HTTPS_ONLY_HOST, scheme="http"), "janedoe", PASSWORD)
    assert "connection was refused" in attempt.error


@pytest.mark.browser
def test_site_that_hangs_times_out_within_the_budget(lab: Lab, session: BrowserSession) -> None:
    """A site that never answers ends as timed out within timeout_s plus a few seconds."""
    started = time.monotonic()
    attempt = log_in(session, lab.login_url(HANG_HOST), "janedoe", PASSWORD, timeout_s=3)
    elapsed = time.monotonic() - started
    assert attempt.timed_out
    assert attempt.error == (
        f"The browser waited 3 s for {lab.login_url(HANG_HOST)} and the page did not load: "
        "the web server did not answer in time."
    )
    assert 2.5 < elapsed < 7


@pytest.mark.browser
def test_form_that_throws_stops_early_saying_what_was_seen(lab: Lab, session: BrowserSession) -> None:
    """With settings.js placeholders the form throws and does nothing:
    the login stops early with a note and the error."""
    started = time.monotonic()
    attempt = log_in(session, lab.login_url(PLACEHOLDER_HOST), "janedoe", PASSWORD, timeout_s=12)
    assert time.monotonic() - started < 8  # well before the 12 s budget
    assert not attempt.timed_out
    assert attempt.error == ""
    assert attempt.note == (
        "After Login was clicked the page threw an error and then did nothing for 1.5 s: "
        f"it was at {lab.login_url(PLACEHOLDER_HOST)}."
    )
    assert any("Invalid UserPoolId format" in line for line in attempt.console_errors)
    assert attempt.cognito_calls == []
    assert attempt.stopped == "stalled"  # the page's own script threw: the grader saw the mistake


@pytest.mark.browser
def test_missing_login_page_is_an_http_error(lab: Lab, session: BrowserSession) -> None:
    """A login URL the site does not have gives the HTTP status as a sentence."""
    attempt = log_in(session, f"https://{HOST}/nope.html", "janedoe", PASSWORD)
    assert attempt.error == f"https://{HOST}/nope.html answered HTTP 404 Not Found instead of the login page."
    assert attempt.status == 404  # the web server's own answer: site.login judges it by this status


@pytest.mark.browser
def test_page_without_the_login_form_keeps_its_visible_text(lab: Lab, session: BrowserSession) -> None:
    """A page that answers 200 but has no login form: the error says so, with the status and the page's text kept."""
    attempt = log_in(session, f"https://{HOST}/index.html", "janedoe", PASSWORD, timeout_s=8)
    assert attempt.error.startswith(f"https://{HOST}/index.html has no login form the grader can use")
    assert attempt.status == 200
    assert attempt.page_text
    assert len(attempt.page_text) <= 200
    assert attempt.evidence()["page_text"] == attempt.page_text


@pytest.mark.browser
def test_session_still_works_after_a_hanging_site(lab: Lab, session: BrowserSession) -> None:
    """The request left hanging in the sandbox does not spoil the next login."""
    log_in(session, lab.login_url(HANG_HOST), "janedoe", PASSWORD, timeout_s=1)
    attempt = log_in(session, lab.login_url(), "janedoe", PASSWORD)
    assert attempt.landed == "private"
    assert attempt.tokens


@pytest.mark.browser
def test_evidence_carries_no_token_and_no_password(good_login: LoginAttempt) -> None:
    """evidence() and repr() hold neither the stored tokens nor the password, but name the stored keys."""
    evidence = good_login.evidence()
    text = json.dumps(evidence | {"screenshot": ""}) + repr(good_login)
    assert PASSWORD not in text
    for value in good_login.tokens.values():
        if len(value) > 20:
            assert value not in text
    assert "eyJ" not in text
    assert any(key.endswith(".janedoe.idToken") for key in evidence["stored_token_keys"])
    assert evidence["screenshot"].startswith("data:image/png;base64,")


@pytest.mark.browser
def test_http_site_is_not_upgraded_to_https(lab: Lab, session: BrowserSession) -> None:
    """An http:// login stays on http (Playwright's HttpsUpgrades switch-off survives the grader's flags)."""
    attempt = log_in(session, lab.login_url(scheme="http"), "janedoe", PASSWORD)
    assert attempt.final_url == f"http://{HOST}/private.html?msg=1"


@pytest.mark.browser
def test_user_agent_is_chromiums_own_plus_the_grader_tag(session: BrowserSession) -> None:
    """The grader's logins are recognisable in CloudTrail: Chromium's user agent, then the tag."""
    assert session.user_agent.startswith("Mozilla/5.0 ")
    assert session.user_agent.endswith(" vehicle-lab-grader")


# ------------------------------------------------------------------ no browser needed


def test_launch_failure_is_a_grader_error() -> None:
    """A browser that cannot start becomes a GraderError telling how to install one."""
    caught: list[BaseException] = []

    def attempt() -> None:  # a thread of its own: Playwright runs one sync session per thread
        broken = BrowserSession(BrowserChoice("/nonexistent/chromium", "test"), None, REGION)
        try:
            log_in(broken, "https://example.invalid/login.html", "janedoe", PASSWORD)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            caught.append(exc)
        finally:
            broken.close()

    worker = threading.Thread(target=attempt)
    worker.start()
    worker.join(timeout=60)
    assert len(caught) == 1
    assert isinstance(caught[0], GraderError)
    assert caught[0].kind == "no-browser"
    assert "playwright install chromium" in caught[0].message
    assert PASSWORD not in caught[0].message


def test_launch_args_repeat_playwrights_disabled_features() -> None:
    """Chromium keeps only the last --disable-features: the grader's one holds Playwright's list too."""
    switches = [a for a in session_launch_args() if a.startswith("--disable-features=")]
    assert len(switches) == 1
    features = switches[0].split("=", 1)[1].split(",")
    assert "HttpsUpgrades" in playwright_disabled_features()  # the installed driver's list was read
    assert set(playwright_disabled_features()) | set(EXTRA_DISABLED_FEATURES) <= set(features)


def test_discover_routes_is_the_address_policy_against_real_aws() -> None:
    """Without an endpoint the routes are the address policy, with the named site's origin allowed."""
    routes = discover_routes(Target(region=REGION, site_url="http://127.0.0.1:8123/index.html"))
    assert isinstance(routes, RealRoutes)
    assert routes.direct == ("http://127.0.0.1:8123",)
    assert isinstance(discover_routes(Target(region=REGION)), RealRoutes)


def test_endpoint_without_a_site_listing_has_no_sites() -> None:
    """An endpoint that answers the listing with 404 serves no sites (and is still routed)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        assert discover_routes(Target(endpoint_url=endpoint)) == SandboxRoutes(endpoint, {})
    finally:
        server.shutdown()
        server.server_close()


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_unreachable_sandbox_is_a_grader_error() -> None:
    """A sandbox endpoint nobody listens on is a GraderError, not a traceback."""
    with pytest.raises(GraderError) as caught:
        discover_routes(Target(endpoint_url="http://127.0.0.1:9"))
    assert caught.value.kind == "unreachable"


ROUTES = SandboxRoutes(
    "http://127.0.0.1:5000",
    {
        HOST: {"path": f"/_sandbox/sites/{HOST}", "mode": "up", "schemes": ["https", "http"]},
        DOWN_HOST: {"path": f"/_sandbox/sites/{DOWN_HOST}", "mode": "down", "schemes": ["https", "http"]},
        HTTPS_ONLY_HOST: {"path": f"/_sandbox/sites/{HTTPS_ONLY_HOST}", "mode": "up", "schemes": ["https"]},
    },
)


@pytest.mark.parametrize(
    ("url", "decision"),
    [
        (f"https://{HOST}/login.html", ("forward", f"http://127.0.0.1:5000/_sandbox/sites/{HOST}/login.html")),
        (f"http://{HOST.upper()}/", ("forward", f"http://127.0.0.1:5000/_sandbox/sites/{HOST}/")),
        (
            f"https://{HOST}/login.html?msg=0",
            ("forward", f"http://127.0.0.1:5000/_sandbox/sites/{HOST}/login.html?msg=0"),
        ),
        ("https://cognito-idp.us-east-1.amazonaws.com/", ("forward", "http://127.0.0.1:5000/")),
        ("https://cognito-idp.eu-west-1.amazonaws.com/", ("forward", "http://127.0.0.1:5000/")),
        (f"https://{DOWN_HOST}/login.html", ("refuse", "")),
        (f"http://{HTTPS_ONLY_HOST}/login.html", ("refuse", "")),
        ("https://fonts.googleapis.com/css2?family=Roboto", ("block", "")),
        ("http://cognito-idp.us-east-1.amazonaws.com/", ("block", "")),
        ("http://127.0.0.1:5000/moto-api/", ("pass", "http://127.0.0.1:5000/moto-api/")),
    ],
)
def test_sandbox_routes_decide(url: str, decision: tuple[str, str]) -> None:
    """Cognito and deployed sites go to the sandbox, down sites and unserved schemes are refused, the rest blocked."""
    assert ROUTES.decide(url) == decision


def test_local_url_maps_site_pages_only() -> None:
    """local_url gives the sandbox URL of a site page, None when nothing would answer, and url unchanged on AWS."""
    assert local_url(f"https://{HOST}/scripts/settings.js", ROUTES) == (
        f"http://127.0.0.1:5000/_sandbox/sites/{HOST}/scripts/settings.js"
    )
    assert local_url(f"https://{DOWN_HOST}/login.html", ROUTES) is None
    assert local_url("https://example.com/login.html", ROUTES) is None
    assert local_url("https://cognito-idp.us-east-1.amazonaws.com/", ROUTES) is None
    assert local_url(f"https://{HOST}/login.html", None) == f"https://{HOST}/login.html"


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (
            200,
            {"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": {"SRP_B": "ab"}},
            "challenge PASSWORD_VERIFIER",
        ),
        (200, {"AuthenticationResult": {"IdToken": "eyJx"}, "ChallengeParameters": {}}, "tokens issued"),
        (200, {}, "ok"),
        (
            400,
            {"__type": "NotAuthorizedException", "message": "Incorrect username or password."},
            "NotAuthorizedException: Incorrect username or password.",
        ),
        (
            400,
            {
                "__type": "com.amazonaws.cognito#ResourceNotFoundException",
                "message": "User pool client x does not exist.",
            },
            "ResourceNotFoundException: User pool client x does not exist.",
        ),
        (400, {"__type": "UserNotFoundException"}, "UserNotFoundException"),
        (502, "<html>bad gateway</html>", "HTTP 502, not a JSON answer"),
    ],
)
def test_cognito_outcome(status: int, body: Any, outcome: str) -> None:
    """A Cognito answer is summarised without any of its secret fields."""
    raw = body if isinstance(body, str) else json.dumps(body)
    assert cognito_outcome(status, raw.encode()) == outcome


def test_evidence_of_an_unloaded_page_is_plain() -> None:
    """An attempt that never loaded renders as JSON-compatible evidence without a screenshot."""
    attempt = LoginAttempt(login_url=f"https://{DOWN_HOST}/login.html", error="refused")
    evidence = attempt.evidence()
    assert json.loads(json.dumps(evidence)) == evidence
    assert "screenshot" not in evidence
    assert attempt.landed == ""


# ------------------------------------------------------------------ token verification (no browser)

POOL = "us-east-1_Pool12345"
CLIENT = "client1234567890abcdefghij"
PREFIX = f"CognitoIdentityServiceProvider.{CLIENT}"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def local_jwks(signing_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    return {"keys": [jwk | {"kid": "k1", "alg": "RS256", "use": "sig"}]}


def _token(key: rsa.RSAPrivateKey, kind: str, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": expected_issuer(POOL, REGION), "token_use": kind, "exp": now + 3600, "iat": now}
    claims |= (
        {"aud": CLIENT, "cognito:username": "janedoe"} if kind == "id" else {"client_id": CLIENT, "username": "janedoe"}
    )
    claims |= overrides
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def _storage(key: rsa.RSAPrivateKey, id_claims: dict[str, Any] | None = None, **access: Any) -> dict[str, str]:
    return {
        f"{PREFIX}.LastAuthUser": "janedoe",
        f"{PREFIX}.janedoe.idToken": _token(key, "id", **(id_claims or {})),
        f"{PREFIX}.janedoe.accessToken": _token(key, "access", **access),
        f"{PREFIX}.janedoe.refreshToken": "opaque",
    }


# The tokens below are made now, as a login now would get them, with the call that issued them.
ISSUED = [CognitoCall("RespondToAuthChallenge", 200, "tokens issued", REGION)]


def _now_window() -> LoginWindow:
    return LoginWindow(time.time() - 5, time.time() + 5)


def _verify(tokens: dict[str, str], jwks: dict[str, Any]) -> TokenCheck:
    return verify_tokens(
        tokens,
        pool_id=POOL,
        client_id=CLIENT,
        region=REGION,
        username="janedoe",
        jwks=jwks,
        window=_now_window(),
        cognito_calls=ISSUED,
    )


def test_verify_tokens_accepts_good_tokens(signing_key: rsa.RSAPrivateKey, local_jwks: dict[str, Any]) -> None:
    """Tokens of the right pool, client and user, signed by the pool's key, pass with an ISO expiry."""
    check = _verify(_storage(signing_key), local_jwks)
    assert check.ok
    assert check.problems == ()
    assert check.claims["id"]["exp"].endswith("+00:00")


@pytest.mark.parametrize(
    ("id_claims", "access_claims", "problem"),
    [
        ({"aud": "otherclient"}, {}, f"The id token's audience is client otherclient, not {CLIENT}."),
        ({}, {"client_id": "otherclient"}, f"The access token's client_id is otherclient, not {CLIENT}."),
        (
            {"iss": expected_issuer("us-east-1_Else", REGION)},
            {},
            f"The id token was issued by pool us-east-1_Else, not the student's pool {POOL}.",
        ),
        ({"token_use": "access"}, {}, "The id token's token_use is 'access', not 'id'."),
        ({"cognito:username": "mallory"}, {}, "The id token belongs to user mallory, not janedoe."),
        ({"exp": int(time.time()) - 3600}, {}, "The id token has expired."),
    ],
)
def test_verify_tokens_names_each_problem(
    signing_key: rsa.RSAPrivateKey,
    local_jwks: dict[str, Any],
    id_claims: dict[str, Any],
    access_claims: dict[str, Any],
    problem: str,
) -> None:
    """Each wrong claim gives its own full sentence."""
    check = _verify(_storage(signing_key, id_claims, **access_claims), local_jwks)
    assert check.problems == (problem,)


def test_verify_tokens_rejects_a_foreign_signature(local_jwks: dict[str, Any]) -> None:
    """Tokens signed by another key fail signature verification."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    check = _verify(_storage(other), local_jwks)
    assert check.problems == ("The signature does not verify against the pool's keys.",)


def test_verify_tokens_reports_missing_tokens(signing_key: rsa.RSAPrivateKey, local_jwks: dict[str, Any]) -> None:
    """No storage at all, and a missing id token, are each said plainly."""
    assert _verify({}, local_jwks).problems == (
        "There are no Cognito tokens in the browser's storage: the login stored nothing.",
    )
    tokens = _storage(signing_key)
    del tokens[f"{PREFIX}.janedoe.idToken"]
    assert _verify(tokens, local_jwks).problems == ("There is no id token in the browser's storage.",)


def test_fetch_jwks_failure_is_a_grader_error() -> None:
    """An unreachable key endpoint is a GraderError."""
    with pytest.raises(GraderError):
        fetch_jwks(POOL, REGION, "http://127.0.0.1:9")


def test_tokens_are_not_in_the_token_check(signing_key: rsa.RSAPrivateKey, local_jwks: dict[str, Any]) -> None:
    """The TokenCheck summary carries claims, never a token."""
    tokens = _storage(signing_key)
    text = json.dumps(_verify(tokens, local_jwks).claims)
    assert not any(value in text for value in tokens.values() if value.startswith("eyJ"))


def _fragment(key: rsa.RSAPrivateKey, scope: str = "openid email", **values: str) -> dict[str, str]:
    return {
        "id_token": _token(key, "id"),
        "access_token": _token(key, "access", scope=scope),
        "token_type": "Bearer",
        "expires_in": "3600",
    } | values


def _verify_callback(fragment: dict[str, str], jwks: dict[str, Any]) -> TokenCheck:
    return verify_callback_tokens(
        fragment,
        pool_id=POOL,
        client_id=CLIENT,
        region=REGION,
        username="janedoe",
        jwks=jwks,
        scopes=("openid",),
        window=_now_window(),
    )


def test_callback_tokens_pass_with_the_openid_scope(signing_key: rsa.RSAPrivateKey, local_jwks: dict[str, Any]) -> None:
    """An implicit-grant fragment with both tokens of this pool and client, and scope openid, passes."""
    check = _verify_callback(_fragment(signing_key), local_jwks)
    assert check.ok
    assert check.claims["access"]["scope"] == "openid email"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"scope": "email phone"}, "The access token's scopes are email phone; they lack openid."),
        ({"drop": "id_token"}, "The redirect to the callback URL carried no id_token."),
        ({"token_type": "mac"}, "The redirect's token_type is mac, not Bearer."),
    ],
)
def test_callback_tokens_name_each_problem(
    signing_key: rsa.RSAPrivateKey, local_jwks: dict[str, Any], change: dict[str, str], problem: str
) -> None:
    """A missing scope, a missing token and a wrong token type are each said plainly."""
    fragment = _fragment(signing_key, scope=change.get("scope", "openid"))
    if "drop" in change:
        del fragment[change["drop"]]
    if "token_type" in change:
        fragment["token_type"] = change["token_type"]
    assert _verify_callback(fragment, local_jwks).problems == (problem,)


def test_callback_tokens_of_another_pool_fail(local_jwks: dict[str, Any]) -> None:
    """Tokens signed by a key that is not the pool's do not verify, even in a redirect."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert (
        "The signature does not verify against the pool's keys."
        in _verify_callback(_fragment(other), local_jwks).problems
    )

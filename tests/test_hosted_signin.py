"""Tests for the hosted-UI probe (grader.authorize) and the browser sign-in through it
(grader.browser.hosted_signin)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from grader.authorize import HINTS, authorize_url, callback_scheme_problem
from grader.browser import (
    BrowserSession,
    RealRoutes,
    discover_routes,
    find_browser,
    local_url,
)
from grader.browser.hosted_signin import same_endpoint, sign_in
from grader.observe.account import fetch_jwks
from grader.observe.signins import HostedSignIn
from grader.observe.website import Fetcher, probe
from grader.sandbox import Sandbox
from grader.sandbox.layout import SandboxRoutes
from grader.sandbox.sites import DeployedSite
from grader.site import Probe
from grader.target import Target
from grader.tokens import LoginWindow, verify_callback_tokens

REGION = "us-east-1"
PREFIX = "vehicleapp-signin-7"
DOMAIN = f"{PREFIX}.auth.{REGION}.amazoncognito.com"
INSTANCE = "ec2-54-9-8-7.compute-1.amazonaws.com"
CALLBACK = f"https://{INSTANCE}/"
TEMP_PASSWORD = "ILove2SeeTheTemple!"
PASSWORD = "Ilove2SeeTheTemple!!"


# ------------------------------------------------------------------ names and matching (no browser)


@pytest.mark.parametrize(
    ("url", "redirect_uri", "same"),
    [
        (f"https://{INSTANCE}/#id_token=x", CALLBACK, True),
        (f"https://{INSTANCE.upper()}/?error=unauthorized_client", f"https://{INSTANCE}", True),
        (f"https://{INSTANCE}:443/", CALLBACK, True),
        (f"https://{INSTANCE}/login.html", CALLBACK, False),
        (f"http://{INSTANCE}/", CALLBACK, False),
        ("https://elsewhere.example.com/", CALLBACK, False),
        ("http://localhost:3000/cb#a=1", "http://localhost:3000/cb", True),
    ],
)
def test_same_endpoint(url: str, redirect_uri: str, same: bool) -> None:
    """A redirect goes to the callback when scheme, host, port and path agree; query and fragment aside."""
    assert same_endpoint(url, redirect_uri) is same


_HTTP_ONLY_FOR = "Cognito accepts http only for http://localhost, http://127.0.0.1 and http://[::1], so write https://"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (CALLBACK, ""),
        ("http://localhost:3000", ""),
        ("http://LOCALHOST/cb", ""),
        ("http://127.0.0.1/cb", ""),
        ("http://127.0.0.1:8080/callback", ""),
        ("http://[::1]:8080/cb", ""),
        ("http://[::1]", ""),
        (f"http://{INSTANCE}", f"http://{INSTANCE} uses http; {_HTTP_ONLY_FOR}"),
        ("http://127.0.0.2/cb", f"http://127.0.0.2/cb uses http; {_HTTP_ONLY_FOR}"),
        ("http://[::2]:8080/cb", f"http://[::2]:8080/cb uses http; {_HTTP_ONLY_FOR}"),
        ("http://[::1/cb", "http://[::1/cb is not a valid URL"),
        ("myapp://callback", "myapp://callback is not an https URL"),
    ],
)
def test_callback_scheme_problem(url: str, problem: str) -> None:
    """https callbacks are taken, http only for localhost and the loopback literals 127.0.0.1 and [::1]."""
    assert callback_scheme_problem(url) == problem


class _Answers:
    """A fetcher that answers every URL with one fixed response (status, body, Location)."""

    def __init__(self, status: int, location: str = "", body: str = "") -> None:
        self.answer = (status, location, body)

    def get_once(self, url: str) -> tuple[Probe, str | None, str]:
        status, location, body = self.answer
        return Probe(url, status), body, location


_AUTHORIZE = authorize_url(DOMAIN, "client123", CALLBACK)


@pytest.mark.parametrize(
    ("location", "error", "answered", "description"),
    [
        # AWS's documentation: the error back at the redirect_uri.
        (f"{CALLBACK}?error=invalid_scope", "invalid_scope", "invalid_scope", ""),
        # Observed 2020 and 2023: the specific error only in error_description.
        (
            f"{CALLBACK}?error=invalid_request&error_description=invalid_scope",
            "invalid_scope",
            "invalid_request",
            "invalid_scope",
        ),
        (
            f"{CALLBACK}?error=invalid_request&error_description=invalid+scope&state=s",
            "invalid_scope",
            "invalid_request",
            "invalid scope",
        ),
        # Observed 2024: Cognito's own error page.
        (f"https://{DOMAIN}/error?error=invalid_scope&client_id=client123", "invalid_scope", "invalid_scope", ""),
    ],
)
def test_probe_reads_every_shape_of_an_invalid_scope(
    location: str, error: str, answered: str, description: str
) -> None:
    """An invalid scope is named invalid_scope in the documented shape and in both shapes real Cognito sent."""
    answer = probe(_Answers(302, location), _AUTHORIZE)  # type: ignore[arg-type]
    assert (answer.error, answer.answered, answer.description) == (error, answered, description)
    assert answer.detail == HINTS["invalid_scope"]
    assert answer.evidence()["answered_error"] == answered
    assert answer.evidence()["error"] == error


def test_probe_names_oauth_off_among_the_causes_of_invalid_request() -> None:
    """/error?error=invalid_request (seen for a client with OAuth off) reads as invalid_request
    naming OAuth being off."""
    answer = probe(_Answers(302, f"https://{DOMAIN}/error?error=invalid_request"), _AUTHORIZE)  # type: ignore[arg-type]
    assert answer.error == "invalid_request"
    assert not answer.ok
    assert "OAuth / hosted UI not enabled for this app client" in answer.sentence()


def test_probe_keeps_an_error_description_that_names_no_known_error() -> None:
    """A description that is not an error name leaves the error as sent and is quoted after the hint."""
    location = f"{CALLBACK}?error=invalid_request&error_description=Missing+required+parameter"
    answer = probe(_Answers(302, location), _AUTHORIZE)  # type: ignore[arg-type]
    assert answer.error == "invalid_request"
    assert answer.detail.startswith(HINTS["invalid_request"])
    assert "\u201cMissing required parameter\u201d" in answer.detail
    documented = probe(_Answers(302, f"{CALLBACK}?error=unauthorized_client"), _AUTHORIZE)  # type: ignore[arg-type]
    assert documented.error == "unauthorized_client"


def test_probe_names_managed_logins_login_pages_unavailable() -> None:
    """A /login link answered with managed login's "Login pages unavailable" page is named, not a bare HTTP 403."""
    body = "<h1>Login pages unavailable</h1><p>Please contact an administrator.</p>"
    answer = probe(_Answers(403, body=body), f"https://{DOMAIN}/login?client_id=client123")  # type: ignore[arg-type]
    assert answer.error == "login_pages_unavailable"
    assert "branding style" in answer.detail
    assert probe(_Answers(403, body="<h1>Forbidden</h1>"), _AUTHORIZE).error == "http_403"  # type: ignore[arg-type]


def test_hosted_ui_hosts_are_routed_to_the_sandbox() -> None:
    """The browser and HTTP reads send a hosted-UI domain to the sandbox's stand-in, and only over https."""
    routes = SandboxRoutes("http://127.0.0.1:5000", {})
    assert routes.decide(f"https://{DOMAIN}/oauth2/authorize?a=1") == (
        "forward",
        f"http://127.0.0.1:5000/_sandbox/hostedui/{DOMAIN}/oauth2/authorize?a=1",
    )
    assert routes.decide(f"http://{DOMAIN}/login") == ("block", "")
    assert (
        local_url(f"https://{DOMAIN}/login?b=2", routes)
        == f"http://127.0.0.1:5000/_sandbox/hostedui/{DOMAIN}/login?b=2"
    )


# ------------------------------------------------------------------ against the sandbox's hosted UI


@dataclass(frozen=True)
class Lab:
    sandbox: Sandbox
    idp: Any
    pool_id: str
    client_id: str
    code_client_id: str
    oauth_off_client_id: str
    routes: SandboxRoutes

    def authorize(self, client_id: str | None = None, redirect_uri: str = CALLBACK, scope: str = "openid") -> str:
        return authorize_url(DOMAIN, client_id or self.client_id, redirect_uri, scope=scope)

    def status(self, username: str) -> str:
        return self.idp.admin_get_user(UserPoolId=self.pool_id, Username=username)["UserStatus"]


@pytest.fixture(scope="module")
def lab(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """A pool with a domain, an implicit-grant, a code-only and an OAuth-off client, janedoe confirmed, newhire not."""
    sandbox.reset()
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=sandbox.url,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    idp.create_user_pool_domain(Domain=PREFIX, UserPoolId=pool_id)
    common: dict[str, Any] = {
        "AllowedOAuthFlowsUserPoolClient": True,
        "AllowedOAuthScopes": ["email", "openid", "phone"],
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": [CALLBACK],
    }
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="VehicleApp", AllowedOAuthFlows=["implicit"], **common
    )["UserPoolClient"]["ClientId"]
    code_client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="CodeOnly", AllowedOAuthFlows=["code"], **common
    )["UserPoolClient"]["ClientId"]
    oauth_off_client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="OAuthOff",
        AllowedOAuthFlows=["implicit"],
        **(common | {"AllowedOAuthFlowsUserPoolClient": False}),
    )["UserPoolClient"]["ClientId"]
    for name in ("janedoe", "newhire"):
        idp.admin_create_user(
            UserPoolId=pool_id, Username=name, TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS"
        )
    idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
    # The instance's website is down: the implicit-grant check must not need it.
    root = tmp_path_factory.mktemp("site")
    sandbox.deploy_site(DeployedSite(host=INSTANCE, root=root, mode="down"))
    routes = discover_routes(Target(region=REGION, endpoint_url=sandbox.url))
    assert routes is not None
    return Lab(sandbox, idp, pool_id, client_id, code_client_id, oauth_off_client_id, routes)


def test_probe_accepts_a_good_request_and_names_cognitos_error(lab: Lab) -> None:
    """The no-redirect probe sees the sign-in page for a good request and Cognito's error for a bad one."""
    fetcher = Fetcher(lambda url: local_url(url, lab.routes), offline=True)
    assert probe(fetcher, lab.authorize()).ok
    code_only = probe(fetcher, lab.authorize(lab.code_client_id))
    assert code_only.error == "unauthorized_client"
    assert "implicit grant" in code_only.detail
    assert probe(fetcher, lab.authorize(redirect_uri=CALLBACK + "x")).error == "redirect_mismatch"
    assert probe(fetcher, lab.authorize("nosuchclient")).error == "invalid_request"
    # The stand-in answers as real Cognito was seen to: an invalid scope as invalid_request with the
    # scope error in error_description, OAuth off as invalid_request on the error page.
    bad_scope = probe(fetcher, lab.authorize(scope="openid profile"))
    assert (bad_scope.error, bad_scope.answered, bad_scope.description) == (
        "invalid_scope",
        "invalid_request",
        "invalid_scope",
    )
    oauth_off = probe(fetcher, lab.authorize(lab.oauth_off_client_id))
    assert oauth_off.error == "invalid_request"
    assert "OAuth / hosted UI not enabled" in oauth_off.detail
    other_domain = authorize_url(f"nobody.auth.{REGION}.amazoncognito.com", lab.client_id, CALLBACK)
    assert probe(fetcher, other_domain).error == "no_domain"


@pytest.fixture(scope="module")
def session(lab: Lab) -> Iterator[BrowserSession]:
    with BrowserSession(find_browser(), lab.routes, REGION, timeout_s=10) as running:
        yield running


@pytest.mark.browser
def test_sign_in_stops_at_the_callback_with_verified_tokens(lab: Lab, session: BrowserSession) -> None:
    """janedoe reaches the callback of a site that is down; the fragment's tokens verify, and evidence holds none."""
    result = sign_in(session, lab.authorize(), CALLBACK, "janedoe", PASSWORD)
    assert result.callback == CALLBACK
    assert not result.error
    assert not result.callback_error
    assert result.pages[:1] == ["/login"]
    check = verify_callback_tokens(
        result.fragment,
        pool_id=lab.pool_id,
        client_id=lab.client_id,
        region=REGION,
        username="janedoe",
        jwks=fetch_jwks(lab.pool_id, REGION, lab.sandbox.url),
        scopes=("openid",),
        window=LoginWindow(result.started_at, result.ended_at),
    )
    assert check.ok, check.problems
    assert 0 < result.started_at <= result.ended_at
    assert "openid" in check.claims["access"]["scope"].split()
    text = json.dumps(result.evidence()) + repr(result)
    assert "eyJ" not in text
    assert PASSWORD not in text
    assert result.evidence()["fragment_keys"] == ["access_token", "expires_in", "id_token", "token_type"]


@pytest.mark.browser
def test_change_password_form_stops_the_grader_without_changing_anything(lab: Lab, session: BrowserSession) -> None:
    """A user still in FORCE_CHANGE_PASSWORD gets the form; the grader reports it and submits nothing."""
    result = sign_in(session, lab.authorize(), CALLBACK, "newhire", TEMP_PASSWORD)
    assert result.change_password_required
    assert not result.reached_callback
    assert lab.status("newhire") == "FORCE_CHANGE_PASSWORD"


@pytest.mark.browser
def test_wrong_password_reports_the_hosted_uis_message(lab: Lab, session: BrowserSession) -> None:
    """A refused sign-in keeps the hosted UI's own words, never the password."""
    result = sign_in(session, lab.authorize(), CALLBACK, "janedoe", PASSWORD + "x")
    assert result.sign_in_message == "Incorrect username or password."
    assert not result.reached_callback
    assert PASSWORD not in json.dumps(result.evidence())


# ------------------------------------------------------------------ the real-AWS path: nothing routed


class _FakeHostedUI(BaseHTTPRequestHandler):
    """An authorize endpoint and a sign-in form that redirect, as Cognito does, to a callback nobody serves."""

    callback = ""

    def do_GET(self) -> None:
        if self.path.startswith("/oauth2/authorize"):
            self._send(302, location="/login?" + self.path.partition("?")[2])
        else:
            form = (
                '<form method="post" action="/login"><input name="username"><input name="password" type="password">'
                '<input type="submit" value="Sign in"></form>'
            )
            self._send(200, body=form)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(302, location=self.callback + "#id_token=a.b.c&access_token=d.e.f&token_type=Bearer&expires_in=3600")

    def _send(self, status: int, *, location: str = "", body: str = "") -> None:
        data = body.encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.browser
def test_unrouted_sign_in_reads_the_callback_from_the_redirect(session: BrowserSession) -> None:
    """Against real AWS (the fake hosted UI named as the site): the redirect's Location is read, the callback down."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _FakeHostedUI) as closed:
        dead_port = closed.server_address[1]  # bound, then closed: nothing listens there
    callback = f"http://127.0.0.1:{dead_port}/cb"
    handler = type("Handler", (_FakeHostedUI,), {"callback": callback})
    routes = session.routes
    try:
        with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            session.routes = RealRoutes(f"http://127.0.0.1:{server.server_address[1]}")  # as against real AWS
            threading.Thread(target=server.serve_forever, daemon=True).start()
            result: HostedSignIn = sign_in(
                session,
                f"http://127.0.0.1:{server.server_address[1]}/oauth2/authorize?x=1",
                callback,
                "janedoe",
                PASSWORD,
            )
            server.shutdown()
    finally:
        session.routes = routes
    assert result.callback == callback
    assert not result.error
    assert result.fragment["id_token"] == "a.b.c"
    assert result.fragment["token_type"] == "Bearer"

"""Tests for the hosted-UI probe (grader.hostedui) and the browser sign-in through it (grader.hosted_signin)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from grader.browser import BrowserSession, SandboxRoutes, discover_routes, find_browser, local_url
from grader.hosted_signin import HostedSignIn, same_endpoint, sign_in
from grader.hostedui import authorize_url, callback_scheme_problem, probe
from grader.sandbox import Sandbox
from grader.sandbox.sites import DeployedSite
from grader.site import Fetcher
from grader.target import Target
from grader.tokens import fetch_jwks, verify_callback_tokens

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


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (CALLBACK, ""),
        ("http://localhost:3000", ""),
        ("http://127.0.0.1/cb", ""),
        (f"http://{INSTANCE}", f"http://{INSTANCE} uses http; Cognito accepts http only for localhost, so write https://"),
        ("myapp://callback", "myapp://callback is not an https URL"),
    ],
)
def test_callback_scheme_problem(url: str, problem: str) -> None:
    """Only https callbacks, and http for localhost, are taken."""
    assert callback_scheme_problem(url) == problem


def test_hosted_ui_hosts_are_routed_to_the_sandbox() -> None:
    """The browser and HTTP reads send a hosted-UI domain to the sandbox's stand-in, and only over https."""
    routes = SandboxRoutes("http://127.0.0.1:5000", {})
    assert routes.decide(f"https://{DOMAIN}/oauth2/authorize?a=1") == (
        "forward", f"http://127.0.0.1:5000/_sandbox/hostedui/{DOMAIN}/oauth2/authorize?a=1"
    )
    assert routes.decide(f"http://{DOMAIN}/login") == ("block", "")
    assert local_url(f"https://{DOMAIN}/login?b=2", routes) == f"http://127.0.0.1:5000/_sandbox/hostedui/{DOMAIN}/login?b=2"


# ------------------------------------------------------------------ against the sandbox's hosted UI


@dataclass(frozen=True)
class Lab:
    sandbox: Sandbox
    idp: Any
    pool_id: str
    client_id: str
    code_client_id: str
    routes: SandboxRoutes

    def authorize(self, client_id: str | None = None, redirect_uri: str = CALLBACK) -> str:
        return authorize_url(DOMAIN, client_id or self.client_id, redirect_uri)

    def status(self, username: str) -> str:
        return self.idp.admin_get_user(UserPoolId=self.pool_id, Username=username)["UserStatus"]


@pytest.fixture(scope="module")
def lab(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """A pool with a domain, an implicit-grant client and a code-only client, janedoe confirmed, newhire not."""
    sandbox.reset()
    idp = boto3.client("cognito-idp", endpoint_url=sandbox.url, region_name=REGION,
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    idp.create_user_pool_domain(Domain=PREFIX, UserPoolId=pool_id)
    common: dict[str, Any] = {
        "AllowedOAuthFlowsUserPoolClient": True, "AllowedOAuthScopes": ["email", "openid", "phone"],
        "SupportedIdentityProviders": ["COGNITO"], "CallbackURLs": [CALLBACK],
    }
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="VehicleApp", AllowedOAuthFlows=["implicit"], **common
    )["UserPoolClient"]["ClientId"]
    code_client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="CodeOnly", AllowedOAuthFlows=["code"], **common
    )["UserPoolClient"]["ClientId"]
    for name in ("janedoe", "newhire"):
        idp.admin_create_user(UserPoolId=pool_id, Username=name, TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
    # The instance's website is down: the implicit-grant check must not need it.
    root = tmp_path_factory.mktemp("site")
    sandbox.deploy_site(DeployedSite(host=INSTANCE, root=root, mode="down"))
    routes = discover_routes(Target(region=REGION, endpoint_url=sandbox.url))
    assert routes is not None
    return Lab(sandbox, idp, pool_id, client_id, code_client_id, routes)


def test_probe_accepts_a_good_request_and_names_cognitos_error(lab: Lab) -> None:
    """The no-redirect probe sees the sign-in page for a good request and Cognito's error for a bad one."""
    fetcher = Fetcher(lambda url: local_url(url, lab.routes), offline=True)
    assert probe(fetcher, lab.authorize()).ok
    code_only = probe(fetcher, lab.authorize(lab.code_client_id))
    assert code_only.error == "unauthorized_client" and "implicit grant" in code_only.detail
    assert probe(fetcher, lab.authorize(redirect_uri=CALLBACK + "x")).error == "redirect_mismatch"
    assert probe(fetcher, lab.authorize("nosuchclient")).error == "invalid_request"
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
    assert result.callback == CALLBACK and not result.error and not result.callback_error
    assert result.pages[:1] == ["/login"]
    check = verify_callback_tokens(
        result.fragment, pool_id=lab.pool_id, client_id=lab.client_id, region=REGION, username="janedoe",
        jwks=fetch_jwks(lab.pool_id, REGION, lab.sandbox.url), scopes=("openid",),
    )
    assert check.ok, check.problems
    assert "openid" in check.claims["access"]["scope"].split()
    text = json.dumps(result.evidence()) + repr(result)
    assert "eyJ" not in text and PASSWORD not in text
    assert result.evidence()["fragment_keys"] == ["access_token", "expires_in", "id_token", "token_type"]


@pytest.mark.browser
def test_change_password_form_stops_the_grader_without_changing_anything(lab: Lab, session: BrowserSession) -> None:
    """A user still in FORCE_CHANGE_PASSWORD gets the form; the grader reports it and submits nothing."""
    result = sign_in(session, lab.authorize(), CALLBACK, "newhire", TEMP_PASSWORD)
    assert result.change_password_required and not result.reached_callback
    assert lab.status("newhire") == "FORCE_CHANGE_PASSWORD"


@pytest.mark.browser
def test_wrong_password_reports_the_hosted_uis_message(lab: Lab, session: BrowserSession) -> None:
    """A refused sign-in keeps the hosted UI's own words, never the password."""
    result = sign_in(session, lab.authorize(), CALLBACK, "janedoe", PASSWORD + "x")
    assert result.sign_in_message == "Incorrect username or password."
    assert not result.reached_callback and PASSWORD not in json.dumps(result.evidence())


# ------------------------------------------------------------------ the real-AWS path: nothing routed


class _FakeHostedUI(BaseHTTPRequestHandler):
    """An authorize endpoint and a sign-in form that redirect, as Cognito does, to a callback nobody serves."""

    callback = ""

    def do_GET(self) -> None:  # noqa: N802 - the handler's protocol
        if self.path.startswith("/oauth2/authorize"):
            self._send(302, location="/login?" + self.path.partition("?")[2])
        else:
            form = ('<form method="post" action="/login"><input name="username"><input name="password" type="password">'
                    '<input type="submit" value="Sign in"></form>')
            self._send(200, body=form)

    def do_POST(self) -> None:  # noqa: N802
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
    """Against real AWS nothing is routed: the redirect's Location is read even though the callback is down."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _FakeHostedUI) as closed:
        dead_port = closed.server_address[1]  # bound, then closed: nothing listens there
    callback = f"http://127.0.0.1:{dead_port}/cb"
    handler = type("Handler", (_FakeHostedUI,), {"callback": callback})
    routes, session.routes = session.routes, None  # as against real AWS
    try:
        with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            result: HostedSignIn = sign_in(
                session, f"http://127.0.0.1:{server.server_address[1]}/oauth2/authorize?x=1", callback, "janedoe", PASSWORD
            )
            server.shutdown()
    finally:
        session.routes = routes
    assert result.callback == callback and not result.error
    assert result.fragment["id_token"] == "a.b.c" and result.fragment["token_type"] == "Bearer"

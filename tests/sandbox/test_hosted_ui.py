"""Tests for the hosted-UI stand-in (grader.sandbox.hosted_ui) on moto's Cognito."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from moto.server import DomainDispatcherApplication, create_backend_app

from grader.browser import find_browser
from grader.browser.discovery import LAUNCH_ARGS
from grader.browser.routing import is_hosted_ui_host, redirect_document
from grader.sandbox.cognito_fidelity import CognitoFidelity
from grader.sandbox.hosted_ui import HostedUI
from grader.sandbox.layout import CONTROL_PATH, hosted_ui_path, sandbox_url
from tests.sandbox.serving import client, reset, serving

REGION = "us-east-1"
PREFIX = "vehicleapp-quick-2841"
HOST = f"{PREFIX}.auth.{REGION}.amazoncognito.com"
CALLBACK = "https://ec2-54-1-2-3.compute-1.amazonaws.com"
SIGNED_OUT = "https://ec2-54-1-2-3.compute-1.amazonaws.com/index.html"
TEMP_PASSWORD = "ILove2SeeTheTemple!"
NEW_PASSWORD = "Ilove2SeeTheTemple!!"
SCOPE = "email openid phone"


class _Dispatch:
    """The sandbox's layering in miniature: hosted UI paths to HostedUI, the rest to moto."""

    def __init__(self) -> None:
        self.hosted = HostedUI()
        self.moto = CognitoFidelity(DomainDispatcherApplication(create_backend_app))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.hosted.handles(environ.get("PATH_INFO", "")):
            return self.hosted(environ, start_response)
        return self.moto(environ, start_response)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(_Dispatch()) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(url: str) -> None:
    reset(url)


@pytest.fixture
def idp(url: str) -> Any:
    return client(url)


@dataclass(frozen=True)
class Lab:
    pool_id: str
    client_id: str


def _lab(idp: Any, **client: Any) -> Lab:
    """The lab's end state before janedoe's first sign-in; `client` overrides the app client's settings."""
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    idp.create_user_pool_domain(Domain=PREFIX, UserPoolId=pool_id)
    settings: dict[str, Any] = {
        "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "AllowedOAuthFlows": ["implicit"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "AllowedOAuthScopes": ["email", "openid", "phone"],
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": [CALLBACK],
        "LogoutURLs": [SIGNED_OUT],
    }
    settings.update(client)
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="VehicleApp", **settings)["UserPoolClient"][
        "ClientId"
    ]
    idp.admin_create_user(
        UserPoolId=pool_id, Username="janedoe", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS"
    )
    return Lab(pool_id, client_id)


def _params(lab: Lab, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "client_id": lab.client_id,
        "response_type": "token",
        "scope": SCOPE,
        "redirect_uri": CALLBACK,
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


# One browser-like session: the classic form's XSRF-TOKEN cookie goes back with its POST.
_SESSION = requests.Session()


def _get(url: str, path: str, params: dict[str, str], host: str = HOST) -> requests.Response:
    return _SESSION.get(url + hosted_ui_path(host) + path, params=params, allow_redirects=False, timeout=10)


def _follow(url: str, public: str) -> requests.Response:
    return _SESSION.get(sandbox_url(url, public), allow_redirects=False, timeout=10)


def _form(page: requests.Response) -> tuple[str, dict[str, str]]:
    """The page's (first) form: (public action URL, hidden fields); a relative action is on the hosted UI's host."""
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    action = f"https://{HOST}{action}" if action.startswith("/") else action
    hidden = {
        html.unescape(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }
    return action, hidden


def _post(url: str, action: str, data: dict[str, str]) -> requests.Response:
    """POST a form as the browser does: with the _csrf the page's XSRF-TOKEN cookie holds."""
    data = {**data, "_csrf": _SESSION.cookies.get("XSRF-TOKEN") or ""}  # the latest page's token
    return _SESSION.post(sandbox_url(url, action), data=data, allow_redirects=False, timeout=10)


def _error_page_location(response: requests.Response, error: str, client_id: str) -> None:
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.hostname, parts.path) == ("https", HOST, "/error")
    assert parse_qs(parts.query) == {"error": [error], "client_id": [client_id]}


def _error_redirect(response: requests.Response, error: str, state: str | None = None, description: str = "") -> None:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    expected = {"error": [error]} | ({"error_description": [description]} if description else {})
    expected |= {"state": [state]} if state else {}
    assert parse_qs(urlsplit(location).query) == expected


def _sign_in_to_change_form(url: str, lab: Lab, **overrides: str | None) -> requests.Response:
    login = _follow(url, _get(url, "/oauth2/authorize", _params(lab, **overrides)).headers["Location"])
    action, _ = _form(login)
    page = _post(url, action, {"username": "janedoe", "password": TEMP_PASSWORD})
    assert page.status_code == 200
    assert 'id="new_password"' in page.text
    return page


def _verify(url: str, lab: Lab, token: str, use: str) -> dict[str, Any]:
    jwks = requests.get(f"{url}/{lab.pool_id}/.well-known/jwks.json", timeout=10).json()
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{lab.pool_id}"
    if use == "id":
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer, audience=lab.client_id)
    else:
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer, options={"verify_aud": False})
        assert claims["client_id"] == lab.client_id
    assert claims["token_use"] == use
    return claims


# ---------------------------------------------------------------- helpers


def test_paths_map_public_names_to_the_sandbox() -> None:
    """hosted_ui_path/sandbox_url put the domain host under /_sandbox/hostedui and keep path and query."""
    assert hosted_ui_path(HOST.upper()) == f"/_sandbox/hostedui/{HOST}"
    assert sandbox_url("http://127.0.0.1:9/", f"https://{HOST}/login?a=1&b=%2F") == (
        f"http://127.0.0.1:9/_sandbox/hostedui/{HOST}/login?a=1&b=%2F"
    )
    assert is_hosted_ui_host(HOST)
    assert not is_hosted_ui_host("cognito-idp.us-east-1.amazonaws.com")


# ---------------------------------------------------------------- /oauth2/authorize


def test_authorize_redirects_to_login_with_the_same_parameters(url: str, idp: Any) -> None:
    """A valid request is a 302 to the real /login URL carrying the request's parameters and state."""
    lab = _lab(idp)
    params = _params(lab, state="s-123")
    response = _get(url, "/oauth2/authorize", params)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.hostname, location.path) == ("https", HOST, "/login")
    assert {k: v[0] for k, v in parse_qs(location.query).items()} == params


def test_unknown_client_id_goes_to_the_error_page(url: str, idp: Any) -> None:
    """An unknown client_id is a 302 to the domain's /error page (invalid_request), never to redirect_uri."""
    lab = _lab(idp)
    response = _get(url, "/oauth2/authorize", _params(lab, client_id="nosuchclient"))
    _error_page_location(response, "invalid_request", "nosuchclient")
    page = _follow(url, response.headers["Location"])
    assert page.status_code == 400
    assert "An error was encountered with the requested page." in page.text


@pytest.mark.parametrize(
    "redirect_uri",
    [CALLBACK + "/", "http://ec2-54-1-2-3.compute-1.amazonaws.com", "https://evil.example.com", None],
    ids=["trailing-slash", "http", "unregistered", "missing"],
)
def test_redirect_uri_not_registered_is_redirect_mismatch(url: str, idp: Any, redirect_uri: str | None) -> None:
    """A redirect_uri not exactly a registered callback URL goes to the error page as redirect_mismatch."""
    lab = _lab(idp)
    response = _get(url, "/oauth2/authorize", _params(lab, redirect_uri=redirect_uri))
    _error_page_location(response, "redirect_mismatch", lab.client_id)
    assert response.headers["x-sandbox-reason"]


def test_token_for_a_code_only_client_is_unauthorized_client(url: str, idp: Any) -> None:
    """response_type=token for a client allowing only the code grant redirects error=unauthorized_client."""
    lab = _lab(idp, AllowedOAuthFlows=["code"])
    _error_redirect(_get(url, "/oauth2/authorize", _params(lab, state="xyz")), "unauthorized_client", "xyz")


def test_oauth_disabled_goes_to_the_error_page_as_invalid_request(url: str, idp: Any) -> None:
    """A client with AllowedOAuthFlowsUserPoolClient false gets Cognito's error page as invalid_request
    (as observed): 400."""
    lab = _lab(idp, AllowedOAuthFlowsUserPoolClient=False)
    response = _get(url, "/oauth2/authorize", _params(lab, state="s1"))
    _error_page_location(response, "invalid_request", lab.client_id)
    assert response.headers["x-sandbox-reason"] == "OAuth is not enabled for the client"
    assert _follow(url, response.headers["Location"]).status_code == 400
    login = _get(url, "/login", _params(lab))
    assert login.status_code == 400
    assert "invalid_request" in login.text


def test_scope_not_allowed_is_invalid_request_describing_invalid_scope(url: str, idp: Any) -> None:
    """A scope the client does not allow (profile) redirects
    error=invalid_request&error_description=invalid_scope, as observed."""
    lab = _lab(idp)
    _error_redirect(
        _get(url, "/oauth2/authorize", _params(lab, scope="openid profile")),
        "invalid_request",
        description="invalid_scope",
    )
    _error_redirect(
        _get(url, "/login", _params(lab, scope="email", state="s2")),
        "invalid_request",
        "s2",
        description="invalid_scope",
    )


def test_response_type_missing_or_unsupported(url: str, idp: Any) -> None:
    """No response_type redirects invalid_request; an unknown one unsupported_response_type."""
    lab = _lab(idp)
    _error_redirect(_get(url, "/oauth2/authorize", _params(lab, response_type=None)), "invalid_request")
    _error_redirect(_get(url, "/oauth2/authorize", _params(lab, response_type="id_token")), "unsupported_response_type")


def test_client_without_cognito_provider_goes_to_the_error_page(url: str, idp: Any) -> None:
    """A client that does not support the COGNITO identity provider gets the invalid_request error page."""
    lab = _lab(idp, SupportedIdentityProviders=[])
    _error_page_location(_get(url, "/oauth2/authorize", _params(lab)), "invalid_request", lab.client_id)


def test_unknown_domain_is_not_found(url: str, idp: Any) -> None:
    """A domain no user pool has answers 404."""
    lab = _lab(idp)
    response = _get(url, "/oauth2/authorize", _params(lab), host=f"other.auth.{REGION}.amazoncognito.com")
    assert response.status_code == 404


# ---------------------------------------------------------------- /login


def test_login_page_validates_and_shows_the_sign_in_form(url: str, idp: Any) -> None:
    """GET /login shows the form posting to the real /login URL; a bad redirect_uri there is a 400 page."""
    lab = _lab(idp)
    page = _get(url, "/login", _params(lab))
    assert page.status_code == 200
    for marker in (
        'id="signInFormUsername"',
        'name="username"',
        'id="signInFormPassword"',
        'name="password"',
        'name="signInSubmitButton"',
    ):
        assert marker in page.text
    assert re.search(r'<form[^>]*action="/login\?', page.text)  # relative, as Cognito's own form
    assert "<script" not in page.text
    assert "http://" not in page.text
    bad = _get(url, "/login", _params(lab, redirect_uri=CALLBACK + "/"))
    assert bad.status_code == 400
    assert "redirect_mismatch" in bad.text


def test_wrong_password_stays_on_login_with_the_error(url: str, idp: Any) -> None:
    """A wrong password shows the sign-in form again with "Incorrect username or password." and no redirect."""
    lab = _lab(idp)
    action, _ = _form(_get(url, "/login", _params(lab)))
    page = _post(url, action, {"username": "janedoe", "password": "Wrong-Passw0rd!"})
    assert page.status_code == 200
    assert "Location" not in page.headers
    assert "Incorrect username or password." in page.text
    assert 'id="signInFormUsername"' in page.text
    assert "Wrong-Passw0rd!" not in page.text
    unknown = _post(url, action, {"username": "johndoe", "password": TEMP_PASSWORD})
    assert "Incorrect username or password." in unknown.text
    assert idp.admin_get_user(UserPoolId=lab.pool_id, Username="janedoe")["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_change_password_must_match_and_satisfy_the_policy(url: str, idp: Any) -> None:
    """The change-password form rejects a mismatch and a policy violation on the same form, user unchanged."""
    lab = _lab(idp)
    page = _sign_in_to_change_form(url, lab)
    action, hidden = _form(page)
    mismatch = _post(url, action, hidden | {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 200
    assert "Passwords do not match." in mismatch.text
    weak = _post(url, action, hidden | {"new_password": "ilovetemples", "confirm_password": "ilovetemples"})
    assert weak.status_code == 200
    assert "Password does not conform to policy" in weak.text
    assert 'id="new_password"' in weak.text
    assert "ilovetemples" not in weak.text
    assert idp.admin_get_user(UserPoolId=lab.pool_id, Username="janedoe")["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_first_sign_in_changes_password_confirms_and_returns_tokens(url: str, idp: Any) -> None:
    """authorize -> /login -> temp password -> new password -> 302 to the callback with verifiable tokens."""
    lab = _lab(idp)
    page = _sign_in_to_change_form(url, lab, state="st-9")
    action, hidden = _form(page)
    done = _post(url, action, hidden | {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302
    location = done.headers["Location"]
    assert location.startswith(CALLBACK + "#")
    fragment = {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}
    assert set(fragment) == {"id_token", "access_token", "expires_in", "token_type", "state"}
    assert (fragment["expires_in"], fragment["token_type"], fragment["state"]) == ("3600", "Bearer", "st-9")
    assert idp.admin_get_user(UserPoolId=lab.pool_id, Username="janedoe")["UserStatus"] == "CONFIRMED"
    id_claims = _verify(url, lab, fragment["id_token"], "id")
    access = _verify(url, lab, fragment["access_token"], "access")
    assert id_claims["cognito:username"] == "janedoe"
    assert access["username"] == "janedoe"
    assert set(access["scope"].split()) == {"openid", "email", "phone"}
    assert idp.get_user(AccessToken=fragment["access_token"])["Username"] == "janedoe"
    # The new password is now the password: a second sign-in goes straight to the callback.
    action, _ = _form(_get(url, "/login", _params(lab)))
    assert _post(url, action, {"username": "janedoe", "password": TEMP_PASSWORD}).status_code == 200
    again = _post(url, action, {"username": "janedoe", "password": NEW_PASSWORD})
    assert again.status_code == 302
    assert again.headers["Location"].startswith(CALLBACK + "#id_token=")


def test_code_grant_redirects_with_a_code(url: str, idp: Any) -> None:
    """For a code-grant client, a signed-in user is sent to redirect_uri?code=...&state=..."""
    lab = _lab(idp, AllowedOAuthFlows=["code"])
    idp.admin_set_user_password(UserPoolId=lab.pool_id, Username="janedoe", Password=NEW_PASSWORD, Permanent=True)
    action, _ = _form(_get(url, "/login", _params(lab, response_type="code", state="c1")))
    done = _post(url, action, {"username": "janedoe", "password": NEW_PASSWORD})
    assert done.status_code == 302
    query = parse_qs(urlsplit(done.headers["Location"]).query)
    assert done.headers["Location"].startswith(CALLBACK + "?code=")
    assert query["state"] == ["c1"]
    assert len(query["code"][0]) >= 32


# ---------------------------------------------------------------- /logout


def test_logout_redirects_to_registered_sign_out_url_only(url: str, idp: Any) -> None:
    """/logout goes to a registered logout_uri; any other goes to the real /login URL instead."""
    lab = _lab(idp)
    ok = _get(url, "/logout", {"client_id": lab.client_id, "logout_uri": SIGNED_OUT})
    assert ok.status_code == 302
    assert ok.headers["Location"] == SIGNED_OUT
    params = {"client_id": lab.client_id, "logout_uri": "https://evil.example.com"}
    bad = _get(url, "/logout", params)
    assert bad.status_code == 302
    assert bad.headers["Location"] == f"https://{HOST}/login?{urlencode(params)}"
    assert _follow(url, bad.headers["Location"]).status_code == 400


# ---------------------------------------------------------------- a real browser


@pytest.mark.browser
def test_browser_signs_in_changes_password_and_lands_on_the_callback(url: str, idp: Any) -> None:
    """Chromium, routed by public names through every hosted-UI redirect, fills both forms, ends on the callback."""
    from playwright.sync_api import sync_playwright

    lab = _lab(idp)
    authorize = f"https://{HOST}/oauth2/authorize?" + urlencode(_params(lab, state="b1"))
    blocked: list[str] = []

    hops: list[tuple[str, str, int]] = []

    def to_sandbox(route: Any) -> None:
        # A fulfilled 302 would send the browser to its Location past every route (Playwright
        # routes only a chain's first request), so a redirect is answered with a page that
        # navigates there: the next hop is routed again under its real name.
        response = route.fetch(url=sandbox_url(url, route.request.url), max_redirects=0)
        hops.append((route.request.method, urlsplit(route.request.url).path, response.status))
        location = response.headers.get("location")
        if 300 <= response.status < 400 and location and route.request.is_navigation_request():
            route.fulfill(status=200, content_type="text/html", body=redirect_document(location))
        else:
            route.fulfill(response=response)

    def callback(route: Any) -> None:
        route.fulfill(status=200, content_type="text/html", body="<!DOCTYPE html><title>app</title><h1>app</h1>")

    def block(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_browser().executable, args=list(LAUNCH_ARGS))
        try:
            context = browser.new_context()
            context.set_default_timeout(15_000)
            context.route("**/*", block)
            context.route(re.compile(r"^https://ec2-54-1-2-3\.compute-1\.amazonaws\.com/"), callback)
            context.route(re.compile(rf"^https://{re.escape(HOST)}/"), to_sandbox)
            page = context.new_page()
            page.goto(authorize)
            assert urlsplit(page.url).path == "/login"
            # The classic form is in the page twice (one copy hidden by screen width): the visible one.
            page.fill("input[name=username]:visible", "janedoe")
            page.fill("input[name=password]:visible", TEMP_PASSWORD)
            page.click("[name=signInSubmitButton]:visible")
            page.wait_for_selector("#new_password")
            page.fill("#new_password", NEW_PASSWORD)
            page.fill("#confirm_password", NEW_PASSWORD)
            page.click("[name=changePasswordSubmitButton]")
            page.wait_for_url(re.compile(r"^https://ec2-54-1-2-3\.compute-1\.amazonaws\.com/#"))
            fragment = parse_qs(urlsplit(page.url).fragment)
        finally:
            browser.close()
    assert blocked == []
    assert hops == [
        ("GET", "/oauth2/authorize", 302),
        ("GET", "/login", 200),
        ("POST", "/login", 200),
        ("POST", "/login", 302),
    ]
    assert fragment["state"] == ["b1"]
    assert fragment["token_type"] == ["Bearer"]
    _verify(url, lab, fragment["id_token"][0], "id")
    _verify(url, lab, fragment["access_token"][0], "access")
    assert idp.admin_get_user(UserPoolId=lab.pool_id, Username="janedoe")["UserStatus"] == "CONFIRMED"


# ---------------------------------------------------------------- both versions, and Cognito's trouble


def _managed(idp: Any, *, branding: bool = True) -> Lab:
    """The lab with its domain made as managed login (version 2), with or without a branding style."""
    lab = _lab(idp)
    idp.delete_user_pool_domain(Domain=PREFIX, UserPoolId=lab.pool_id)
    idp.create_user_pool_domain(Domain=PREFIX, UserPoolId=lab.pool_id, ManagedLoginVersion=2)
    if branding:
        idp.create_managed_login_branding(UserPoolId=lab.pool_id, ClientId=lab.client_id, UseCognitoProvidedValues=True)
    return lab


def test_the_domain_says_its_version_and_the_clients_style_is_readable(url: str, idp: Any) -> None:
    """DescribeUserPoolDomain carries ManagedLoginVersion (1 by default);
    a client without a style is ResourceNotFound."""
    lab = _lab(idp)
    assert idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]["ManagedLoginVersion"] == 1
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.describe_managed_login_branding_by_client(UserPoolId=lab.pool_id, ClientId=lab.client_id)
    _managed(idp)
    assert idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]["ManagedLoginVersion"] == 2
    pool_id = idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]["UserPoolId"]
    client_id = idp.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"][0]["ClientId"]
    style = idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    assert style["ManagedLoginBranding"]["UseCognitoProvidedValues"] is True


def test_classic_form_is_served_twice_with_an_xsrf_cookie_that_the_post_must_match(url: str, idp: Any) -> None:
    """Version 1: two copies of the form (narrow and wide screens), XSRF-TOKEN set, a POST without its _csrf refused."""
    lab = _lab(idp)
    page = _get(url, "/login", _params(lab))
    assert page.text.count('name="cognitoSignInForm"') == 2
    assert "visible-xs visible-sm" in page.text
    assert "visible-md visible-lg" in page.text
    token = page.cookies.get("XSRF-TOKEN")
    assert token
    assert page.text.count(f'name="_csrf" value="{token}"') == 2
    action, _ = _form(page)
    forged = requests.post(
        sandbox_url(url, action),
        data={"username": "janedoe", "password": TEMP_PASSWORD, "_csrf": "not-the-cookie"},
        cookies={"XSRF-TOKEN": token},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 403
    assert 'id="new_password"' not in forged.text
    wrong = _post(url, action, {"username": "janedoe", "password": "Wrong-Passw0rd!"})
    assert 'class="errorMessage-customizable"' in wrong.text
    assert "Incorrect username or password." in wrong.text


def test_managed_login_asks_the_user_name_then_the_password(url: str, idp: Any) -> None:
    """Version 2: a labelled field without name=username and a Next button, then the password page,
    then the callback."""
    lab = _managed(idp)
    idp.admin_set_user_password(UserPoolId=lab.pool_id, Username="janedoe", Password=NEW_PASSWORD, Permanent=True)
    first = _get(url, "/login", _params(lab))
    assert first.status_code == 200
    assert 'name="username"' not in first.text
    assert 'type="password"' not in first.text
    assert 'id="formField:' in first.text
    assert ">Username</label>" in first.text
    assert ">Next</button>" in first.text
    action, hidden = _form(first)
    second = _post(url, action, hidden | {"identifier": "janedoe"})
    assert 'type="password"' in second.text
    assert "janedoe" in second.text
    action, hidden = _form(second)
    wrong = _post(url, action, hidden | {"password": "Wrong-Passw0rd!"})
    assert 'role="alert"' in wrong.text
    assert "Incorrect username or password." in wrong.text
    done = _post(url, action, hidden | {"password": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"].startswith(CALLBACK + "#id_token=")


def test_managed_login_without_a_branding_style_shows_login_pages_unavailable(url: str, idp: Any) -> None:
    """Version 2 on a client without a style: /login answers 403 "Login pages unavailable" and no form."""
    lab = _managed(idp, branding=False)
    page = _get(url, "/login", _params(lab))
    assert page.status_code == 403
    assert "Login pages unavailable" in page.text
    assert "<form" not in page.text


@pytest.mark.parametrize(
    ("mode", "path", "status", "phrase"),
    [
        ("unavailable", "/oauth2/authorize", 503, "Service Unavailable"),
        ("unavailable", "/login", 503, "Service Unavailable"),
        ("unrecognised", "/login", 200, "improving your sign-in experience"),
    ],
)
def test_a_scenario_can_make_the_hosted_ui_unavailable_or_unrecognisable(
    url: str, idp: Any, mode: str, path: str, status: int, phrase: str
) -> None:
    """The sandbox's own switch makes every page answer 503, or the sign-in page show no form."""
    lab = _lab(idp)
    switched = requests.post(
        f"{url}{hosted_ui_path(HOST)}{CONTROL_PATH}",
        data={"mode": mode},
        headers={"x-sandbox-control": "1"},
        timeout=10,
    )
    assert switched.status_code == 200
    page = _get(url, path, _params(lab))
    assert page.status_code == status
    assert phrase in page.text
    assert "<form" not in page.text
    without_header = requests.post(f"{url}{hosted_ui_path(HOST)}{CONTROL_PATH}", data={"mode": "up"}, timeout=10)
    assert without_header.status_code != 200

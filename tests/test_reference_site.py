"""Tests for the reference course website fixture (fixtures/site): rebuild substitution and page behaviour."""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from grader.browser import find_browser
from grader.browser.discovery import LAUNCH_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = ROOT / "fixtures" / "site"
TEMPLATE_DIR = SITE_DIR / "template"
TIMEOUT_MS = 10_000

POOL_ID = "us-east-1_AbCdEf123"
CLIENT_ID = "1example23456789abcdefghij"  # 26 characters, like a real app client id
DOMAIN = "https://vehicleapp-quick.auth.us-east-1.amazoncognito.com"
EC2_HOST = "ec2-54-214-1-2.compute-1.amazonaws.com"
HOSTED_LINK = (
    f"{DOMAIN}/oauth2/authorize?client_id={CLIENT_ID}&response_type=token"
    f"&scope=email+openid+phone&redirect_uri=https%3A%2F%2F{EC2_HOST}%2F"
)
COGNITO_ENDPOINT = "https://cognito-idp.us-east-1.amazonaws.com/"
COGNITO_URL_RE = re.compile(r"^https://cognito-idp\.us-east-1\.amazonaws\.com/")
TOKEN_PREFIX = f"CognitoIdentityServiceProvider.{CLIENT_ID}"
# Headers the vendored SDK adds to its fetch calls: a CORS preflight must allow every one of them.
SDK_HEADERS = ("cache-control", "content-type", "x-amz-target", "x-amz-user-agent")
# Headers Chromium itself puts on the request (besides the sec-* client hints).
BROWSER_HEADERS = {"accept", "accept-language", "origin", "referer", "user-agent"}


def _load_rebuild() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_site_rebuild", SITE_DIR / "rebuild.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rebuild = _load_rebuild()


def _render(out_dir: Path, **overrides: str | None) -> Path:
    values: dict[str, str | None] = {
        "user_pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "cognito_domain": DOMAIN,
        "ec2_host": EC2_HOST,
    }
    values.update(overrides)
    return rebuild.render_site(TEMPLATE_DIR, out_dir, **values)


def _fake_jwt(**claims: object) -> str:
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'RS256', 'kid': 'test'})}.{b64(claims)}.c2lnbmF0dXJl"


# ---------------------------------------------------------------- rebuild substitution


def test_render_replaces_ids_and_hosted_link(tmp_path: Path) -> None:
    """render_site puts the pool id, client id and hosted-UI link into settings.js."""
    settings = rebuild.read_settings(_render(tmp_path / "site"))
    assert settings["UserPoolId"] == POOL_ID
    assert settings["ClientId"] == CLIENT_ID
    assert settings["HostedId"] == HOSTED_LINK
    assert settings["BaseURL"] == "REPLACE-WITH-INVOKE-URL"
    assert "REPLACE-WITH" not in (tmp_path / "site/scripts/settings.js").read_text().replace(
        "REPLACE-WITH-INVOKE-URL", ""
    )


def test_render_keeps_domain_as_typed_and_encoded_trailing_slash(tmp_path: Path) -> None:
    """The domain is used exactly as typed (no https:// added) and redirect_uri keeps its %2F."""
    settings = rebuild.read_settings(_render(tmp_path / "site", cognito_domain="vq.auth.us-east-1.amazoncognito.com"))
    assert settings["HostedId"].startswith("vq.auth.us-east-1.amazoncognito.com/oauth2/authorize?")
    assert settings["HostedId"].endswith(f"&redirect_uri=https%3A%2F%2F{EC2_HOST}%2F")


def test_render_with_none_keeps_placeholders(tmp_path: Path) -> None:
    """With every value None the rendered settings.js equals the template's."""
    out = rebuild.render_site(
        TEMPLATE_DIR, tmp_path / "site", user_pool_id=None, client_id=None, cognito_domain=None, ec2_host=None
    )
    assert (out / "scripts/settings.js").read_text() == (TEMPLATE_DIR / "scripts/settings.js").read_text()
    settings = rebuild.read_settings(out)
    assert settings["UserPoolId"] == "REPLACE-WITH-YOUR-USER-POOL-ID"
    assert settings["ClientId"] == "REPLACE-WITH-YOUR-CLIENT-ID"
    assert settings["HostedId"] == (
        "REPLACE-WITH-COGNITO-URL/oauth2/authorize?client_id=REPLACE-WITH-CLIENT-ID&response_type=token"
        "&scope=email+openid+phone&redirect_uri=REPLACE-WITH-EC2-URL%2F"
    )


def test_render_with_some_none_replaces_only_the_others(tmp_path: Path) -> None:
    """A None value keeps only its own placeholder; the others are still replaced."""
    settings = rebuild.read_settings(_render(tmp_path / "site", ec2_host=None, user_pool_id=None))
    assert settings["UserPoolId"] == "REPLACE-WITH-YOUR-USER-POOL-ID"
    assert settings["ClientId"] == CLIENT_ID
    assert settings["HostedId"] == (
        f"{DOMAIN}/oauth2/authorize?client_id={CLIENT_ID}&response_type=token"
        "&scope=email+openid+phone&redirect_uri=REPLACE-WITH-EC2-URL%2F"
    )


def test_render_copies_every_file_and_leaves_template_alone(tmp_path: Path) -> None:
    """Every template file is copied, only settings.js differs, and the template is unchanged."""
    before = (TEMPLATE_DIR / "scripts/settings.js").read_text()
    out = _render(tmp_path / "site")
    template_files = sorted(p.relative_to(TEMPLATE_DIR) for p in TEMPLATE_DIR.rglob("*") if p.is_file())
    out_files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert out_files == template_files
    for rel in template_files:
        if rel != Path("scripts/settings.js"):
            assert (out / rel).read_bytes() == (TEMPLATE_DIR / rel).read_bytes(), rel
    assert (TEMPLATE_DIR / "scripts/settings.js").read_text() == before


def test_template_pages_and_scripts_are_as_shipped() -> None:
    """Every page exists, uses module scripts, and references the AWS SDK and Google Fonts."""
    for page in ("index.html", "login.html", "private.html", "request-service.html"):
        html = (TEMPLATE_DIR / page).read_text()
        assert "https://sdk.amazonaws.com/js/aws-sdk-2.1611.0.min.js" in html, page
        assert "https://fonts.googleapis.com/" in html, page
        assert '<script type="module" src="scripts/utilities.js">' in html, page
    for script in ("settings.js", "login.js", "getMessage.js", "utilities.js"):
        assert (TEMPLATE_DIR / "scripts" / script).is_file(), script
    assert "export const settings" in (TEMPLATE_DIR / "scripts/settings.js").read_text()
    login = (TEMPLATE_DIR / "login.html").read_text()
    assert '<script src="scripts/amazon-cognito-identity.min.js"></script>' in login
    assert '<script type="module" src="scripts/login.js">' in login
    assert (TEMPLATE_DIR / "scripts/amazon-cognito-identity.LICENSE.txt").is_file()
    assert (TEMPLATE_DIR / "scripts/amazon-cognito-identity.NOTICE.txt").is_file()


def test_vendored_sdk_is_the_documented_apache_build() -> None:
    """The vendored SDK is the Apache-2.0 build whose version and sha256 VENDORED.md records."""
    vendored = (SITE_DIR / "VENDORED.md").read_text()
    sdk = (TEMPLATE_DIR / "scripts/amazon-cognito-identity.min.js").read_bytes()
    recorded = re.search(r"\| sha256 \| `([0-9a-f]{64})` \|", vendored)
    assert recorded
    assert recorded.group(1) == hashlib.sha256(sdk).hexdigest()
    assert re.search(r"\| version \| 6\.3\.\d+ ", vendored)
    assert b"SPDX-License-Identifier: Apache-2.0" in sdk[:200]
    license_text = (TEMPLATE_DIR / "scripts/amazon-cognito-identity.LICENSE.txt").read_text()
    assert license_text.startswith("Apache License\nVersion 2.0, January 2004")


# ---------------------------------------------------------------- browser fixtures


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        pass


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve /placeholder/ (site as shipped) and /configured/ (site after the rebuild) on 127.0.0.1."""
    root = tmp_path_factory.mktemp("www")
    rebuild.render_site(
        TEMPLATE_DIR, root / "placeholder", user_pool_id=None, client_id=None, cognito_domain=None, ec2_host=None
    )
    _render(root / "configured")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(_browser_available: str) -> Iterator[Browser]:
    """One headless Chromium for the whole module, found as the grader finds it."""
    from playwright.sync_api import sync_playwright

    choice = find_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=choice.executable, headless=True, args=list(LAUNCH_ARGS))
        yield browser
        browser.close()


class _Blocked:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.urls.append(url)
            route.abort()


@pytest.fixture
def blocked() -> _Blocked:
    """The requests the context aborted."""
    return _Blocked()


@pytest.fixture
def context(browser: Browser, blocked: _Blocked) -> Iterator[BrowserContext]:
    """A fresh browser context in which every request to a host other than 127.0.0.1 is aborted."""
    ctx = browser.new_context()
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    ctx.route("**/*", blocked)
    yield ctx
    ctx.close()


class FakeCognito:
    """Answers the SDK's calls to the Cognito endpoint with canned replies, recording each request."""

    def __init__(self, replies: list[tuple[int, Any]]) -> None:
        self.replies = list(replies)  # (status, body) per POST, in order
        self.requests: list[dict[str, Any]] = []
        self.preflights = 0

    def __call__(self, route: Route) -> None:
        request = route.request
        cors = {"Access-Control-Allow-Origin": "*"}
        if request.method == "OPTIONS":
            self.preflights += 1
            route.fulfill(
                status=200,
                headers={
                    **cors,
                    "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": ",".join(SDK_HEADERS),
                },
            )
            return
        self.requests.append(
            {
                "url": request.url,
                "method": request.method,
                "headers": request.all_headers(),
                "body": json.loads(request.post_data or "{}"),
            }
        )
        status, body = self.replies.pop(0) if self.replies else (500, {"__type": "InternalErrorException"})
        route.fulfill(
            status=status,
            headers={**cors, "Content-Type": "application/x-amz-json-1.1"},
            body=body if isinstance(body, str) else json.dumps(body),  # a str is sent as is (malformed replies)
        )


def _srp_challenge(username: str = "janedoe") -> dict[str, Any]:
    srp_b = "1" + secrets.token_hex(384)[1:]  # 3072-bit value below the SRP group prime
    return {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": secrets.token_hex(16),
            "SECRET_BLOCK": base64.b64encode(secrets.token_bytes(64)).decode(),
            "SRP_B": srp_b,
            "USERNAME": username,
            "USER_ID_FOR_SRP": username,
        },
    }


def _login(
    page: Page, base_url: str, site: str, username: str = "janedoe", password: str = "Ilove2SeeTheTemple!!"
) -> None:
    page.goto(f"{base_url}/{site}/login.html")
    page.fill("#username", username)
    page.fill("#passwd", password)
    page.click('input[type="submit"][value="Login"]')


# ---------------------------------------------------------------- page behaviour


@pytest.mark.browser
def test_login_page_has_form_fields(context: BrowserContext, blocked: _Blocked, base_url: str) -> None:
    """login.html has #username, #passwd, a Login submit input and #message."""
    page = context.new_page()
    page.goto(f"{base_url}/configured/login.html")
    assert page.locator("#username").count() == 1
    assert page.locator("#passwd").get_attribute("type") == "password"
    assert page.locator('input[type="submit"][value="Login"]').count() == 1
    assert page.locator("#message").count() == 1
    assert any("sdk.amazonaws.com" in url for url in blocked.urls)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("login.html?msg=0", "No such Username or Password"),
        ("private.html?msg=1", "Thank you for Logging In"),
        ("login.html?msg=3", "Need to reset password. Follow this link"),
        ("login.html", ""),
    ],
)
def test_message_text_for_msg_parameter(context: BrowserContext, base_url: str, path: str, text: str) -> None:
    """?msg= selects the text written into #message."""
    page = context.new_page()
    page.goto(f"{base_url}/configured/{path}")
    if text:
        page.wait_for_function("t => document.querySelector('#message').textContent === t", arg=text)
    assert page.text_content("#message") == text


@pytest.mark.browser
def test_msg3_link_is_the_hosted_ui_link(context: BrowserContext, base_url: str) -> None:
    """The msg=3 link's href is exactly the HostedId from settings.js."""
    page = context.new_page()
    page.goto(f"{base_url}/configured/login.html?msg=3")
    link = page.locator("#message a")
    link.wait_for(state="attached")
    assert link.get_attribute("href") == HOSTED_LINK
    assert link.text_content() == "Follow this link"


@pytest.mark.browser
def test_message_fades_after_five_seconds_but_stays(context: BrowserContext, base_url: str) -> None:
    """The message fades to opacity 0 after 5 s and its text stays in the DOM."""
    page = context.new_page()
    page.clock.install()
    page.goto(f"{base_url}/configured/login.html?msg=0")
    page.wait_for_function("() => document.querySelector('#message').textContent.length > 0")
    page.clock.run_for(4000)
    assert "faded" not in (page.get_attribute("#message", "class") or "")
    page.clock.run_for(1500)
    page.wait_for_function("() => getComputedStyle(document.querySelector('#message')).opacity === '0'")
    assert page.text_content("#message") == "No such Username or Password"


@pytest.mark.browser
def test_private_page_is_not_guarded(context: BrowserContext, base_url: str) -> None:
    """private.html opens without any token and stays put."""
    page = context.new_page()
    page.goto(f"{base_url}/configured/private.html")
    page.wait_for_timeout(200)
    assert page.url == f"{base_url}/configured/private.html"
    assert page.locator("#requests tbody tr").count() > 0


def _nav_state(page: Page) -> dict[str, bool]:
    return {name: page.locator(f"nav >> text={name}").is_visible() for name in ("Login", "Admin", "Logout")}


@pytest.mark.browser
def test_nav_follows_stored_id_token_exp_and_logout_clears_keys(context: BrowserContext, base_url: str) -> None:
    """Nav shows Login without a live idToken, Admin and Logout with one; Logout clears the keys."""
    page = context.new_page()
    page.goto(f"{base_url}/configured/index.html")
    page.wait_for_function("() => document.querySelector('.nav-logout').hidden === true")
    assert _nav_state(page) == {"Login": True, "Admin": False, "Logout": False}

    now = int(time.time())
    keys = {
        f"{TOKEN_PREFIX}.LastAuthUser": "janedoe",
        f"{TOKEN_PREFIX}.janedoe.idToken": _fake_jwt(exp=now - 60, iat=now - 3660),
    }
    page.evaluate("kv => Object.entries(kv).forEach(([k, v]) => localStorage.setItem(k, v))", keys)
    page.reload()
    page.wait_for_load_state("load")
    assert _nav_state(page) == {"Login": True, "Admin": False, "Logout": False}

    keys[f"{TOKEN_PREFIX}.janedoe.idToken"] = _fake_jwt(exp=now + 3600, iat=now)
    keys[f"{TOKEN_PREFIX}.janedoe.accessToken"] = _fake_jwt(exp=now + 3600, iat=now)
    page.evaluate("kv => Object.entries(kv).forEach(([k, v]) => localStorage.setItem(k, v))", keys)
    for target in ("index.html", "private.html", "request-service.html", "login.html"):
        page.goto(f"{base_url}/configured/{target}")
        page.wait_for_function("() => document.querySelector('.nav-logout').hidden === false")
        assert _nav_state(page) == {"Login": False, "Admin": True, "Logout": True}, target

    page.click("nav >> text=Logout")
    page.wait_for_url(f"{base_url}/configured/index.html")
    page.wait_for_function("() => document.querySelector('.nav-login').hidden === false")
    assert page.evaluate("() => Object.keys(localStorage)") == []
    assert _nav_state(page) == {"Login": True, "Admin": False, "Logout": False}


@pytest.mark.browser
def test_placeholder_site_login_throws_and_stays(context: BrowserContext, blocked: _Blocked, base_url: str) -> None:
    """With the placeholders left, submitting throws "Invalid UserPoolId format" and nothing happens."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{base_url}/placeholder/login.html")
    page.fill("#username", "janedoe")
    page.fill("#passwd", "Ilove2SeeTheTemple!!")
    with page.expect_event("pageerror", timeout=TIMEOUT_MS) as info:
        page.click('input[type="submit"][value="Login"]')
    assert "Invalid UserPoolId format" in str(info.value)
    page.wait_for_timeout(300)
    assert page.url == f"{base_url}/placeholder/login.html"
    assert any("Invalid UserPoolId format" in e for e in errors)
    assert not any("cognito-idp" in url for url in blocked.urls)


@pytest.mark.browser
def test_wrong_password_posts_initiate_auth_and_lands_on_msg0(context: BrowserContext, base_url: str) -> None:
    """The SDK POSTs USER_SRP_AUTH InitiateAuth to the regional endpoint; a Cognito error leads to msg=0."""
    fake = FakeCognito([(400, {"__type": "NotAuthorizedException", "message": "Incorrect username or password."})])
    context.route(COGNITO_URL_RE, fake)
    page = context.new_page()
    _login(page, base_url, "configured")
    page.wait_for_url(f"{base_url}/configured/login.html?msg=0")
    page.wait_for_function("() => document.querySelector('#message').textContent.length > 0")
    assert page.text_content("#message") == "No such Username or Password"

    assert len(fake.requests) == 1
    call = fake.requests[0]
    assert call["url"] == COGNITO_ENDPOINT
    assert call["method"] == "POST"
    assert call["headers"]["x-amz-target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert call["headers"]["content-type"] == "application/x-amz-json-1.1"
    assert "authorization" not in call["headers"]
    assert call["headers"]["x-amz-user-agent"].startswith("aws-amplify/")
    added = {h for h in call["headers"] if h not in BROWSER_HEADERS and not h.startswith("sec-")}
    assert added <= set(SDK_HEADERS), added
    assert call["body"]["AuthFlow"] == "USER_SRP_AUTH"
    assert call["body"]["ClientId"] == CLIENT_ID
    assert call["body"]["AuthParameters"]["USERNAME"] == "janedoe"
    assert re.fullmatch(r"[0-9a-f]+", call["body"]["AuthParameters"]["SRP_A"])
    assert "PASSWORD" not in call["body"]["AuthParameters"]


@pytest.mark.browser
def test_network_error_lands_on_msg0(context: BrowserContext, blocked: _Blocked, base_url: str) -> None:
    """When the Cognito endpoint cannot be reached, the page also lands on msg=0."""
    page = context.new_page()
    _login(page, base_url, "configured")
    page.wait_for_url(f"{base_url}/configured/login.html?msg=0")
    assert any(url.startswith(COGNITO_ENDPOINT) for url in blocked.urls)


@pytest.mark.browser
def test_srp_success_caches_tokens_and_lands_on_private(context: BrowserContext, base_url: str) -> None:
    """InitiateAuth then PASSWORD_VERIFIER;
    on success the SDK stores the tokens and the page goes to private.html?msg=1."""
    now = int(time.time())
    id_token = _fake_jwt(sub="abc", aud=CLIENT_ID, token_use="id", exp=now + 3600, iat=now)
    access_token = _fake_jwt(sub="abc", client_id=CLIENT_ID, token_use="access", exp=now + 3600, iat=now)
    challenge = _srp_challenge()
    result = {
        "AuthenticationResult": {
            "AccessToken": access_token,
            "ExpiresIn": 3600,
            "IdToken": id_token,
            "RefreshToken": "opaque-refresh-token",
            "TokenType": "Bearer",
        },
        "ChallengeParameters": {},
    }
    fake = FakeCognito([(200, challenge), (200, result)])
    context.route(COGNITO_URL_RE, fake)
    page = context.new_page()
    _login(page, base_url, "configured")
    page.wait_for_url(f"{base_url}/configured/private.html?msg=1")
    page.wait_for_function("() => document.querySelector('#message').textContent.length > 0")
    assert page.text_content("#message") == "Thank you for Logging In"
    page.wait_for_function("() => document.querySelector('.nav-logout').hidden === false")
    assert _nav_state(page) == {"Login": False, "Admin": True, "Logout": True}

    targets = [r["headers"]["x-amz-target"] for r in fake.requests]
    assert targets == [
        "AWSCognitoIdentityProviderService.InitiateAuth",
        "AWSCognitoIdentityProviderService.RespondToAuthChallenge",
    ]
    answer = fake.requests[1]["body"]
    assert answer["ChallengeName"] == "PASSWORD_VERIFIER"
    assert answer["ClientId"] == CLIENT_ID
    responses = answer["ChallengeResponses"]
    assert responses["USERNAME"] == "janedoe"
    assert responses["PASSWORD_CLAIM_SECRET_BLOCK"] == challenge["ChallengeParameters"]["SECRET_BLOCK"]
    assert len(base64.b64decode(responses["PASSWORD_CLAIM_SIGNATURE"])) == 32
    assert re.fullmatch(r"\w{3} \w{3} \d{1,2} \d\d:\d\d:\d\d UTC \d{4}", responses["TIMESTAMP"])

    storage = page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
    assert storage[f"{TOKEN_PREFIX}.LastAuthUser"] == "janedoe"
    assert storage[f"{TOKEN_PREFIX}.janedoe.idToken"] == id_token
    assert storage[f"{TOKEN_PREFIX}.janedoe.accessToken"] == access_token
    assert storage[f"{TOKEN_PREFIX}.janedoe.refreshToken"] == "opaque-refresh-token"
    assert re.fullmatch(r"-?\d+", storage[f"{TOKEN_PREFIX}.janedoe.clockDrift"])
    assert context.cookies() == []


@pytest.mark.browser
@pytest.mark.parametrize(
    "reply",
    [(500, ""), (400, ""), (200, "<html>not json</html>"), (200, {})],
    ids=["500-empty", "400-empty", "200-not-json", "200-no-challenge"],
)
def test_malformed_reply_lands_on_msg0(context: BrowserContext, base_url: str, reply: tuple[int, Any]) -> None:
    """A reply that is not a Cognito answer (empty, not JSON, no challenge) also leads to msg=0."""
    fake = FakeCognito([reply])
    context.route(COGNITO_URL_RE, fake)
    page = context.new_page()
    _login(page, base_url, "configured")
    page.wait_for_url(f"{base_url}/configured/login.html?msg=0")
    assert len(fake.requests) == 1
    assert page.evaluate("() => Object.keys(localStorage)") == []


@pytest.mark.browser
def test_user_id_for_srp_becomes_the_username(context: BrowserContext, base_url: str) -> None:
    """After InitiateAuth the SDK uses USER_ID_FOR_SRP as USERNAME and stores the tokens under it."""
    user_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    now = int(time.time())
    id_token = _fake_jwt(sub=user_id, aud=CLIENT_ID, token_use="id", exp=now + 3600, iat=now)
    result = {
        "AuthenticationResult": {
            "AccessToken": _fake_jwt(sub=user_id, token_use="access", exp=now + 3600, iat=now),
            "ExpiresIn": 3600,
            "IdToken": id_token,
            "RefreshToken": "opaque-refresh-token",
            "TokenType": "Bearer",
        },
        "ChallengeParameters": {},
    }
    fake = FakeCognito([(200, _srp_challenge(username=user_id)), (200, result)])
    context.route(COGNITO_URL_RE, fake)
    page = context.new_page()
    _login(page, base_url, "configured", username="JaneDoe")
    page.wait_for_url(f"{base_url}/configured/private.html?msg=1")
    assert fake.requests[0]["body"]["AuthParameters"]["USERNAME"] == "JaneDoe"
    assert fake.requests[1]["body"]["ChallengeResponses"]["USERNAME"] == user_id
    storage = page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
    assert storage[f"{TOKEN_PREFIX}.LastAuthUser"] == user_id
    assert storage[f"{TOKEN_PREFIX}.{user_id}.idToken"] == id_token
    assert not any(".JaneDoe." in key for key in storage)
    page.wait_for_function("() => document.querySelector('.nav-logout').hidden === false")


@pytest.mark.browser
def test_new_password_required_lands_on_msg3(context: BrowserContext, base_url: str) -> None:
    """A NEW_PASSWORD_REQUIRED challenge after PASSWORD_VERIFIER sends the page to login.html?msg=3."""
    new_password = {
        "ChallengeName": "NEW_PASSWORD_REQUIRED",
        "ChallengeParameters": {
            "USER_ID_FOR_SRP": "janedoe",
            "requiredAttributes": "[]",
            "userAttributes": "{}",
        },
        "Session": "session-token",
    }
    fake = FakeCognito([(200, _srp_challenge()), (200, new_password)])
    context.route(COGNITO_URL_RE, fake)
    page = context.new_page()
    _login(page, base_url, "configured", password="ILove2SeeTheTemple!")
    page.wait_for_url(f"{base_url}/configured/login.html?msg=3")
    page.locator("#message a").wait_for(state="attached")
    assert page.text_content("#message") == "Need to reset password. Follow this link"
    assert page.get_attribute("#message a", "href") == HOSTED_LINK
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.endsWith('.idToken'))") == []


@pytest.mark.browser
def test_new_password_required_without_attributes_lands_on_msg0(context: BrowserContext, base_url: str) -> None:
    """A NEW_PASSWORD_REQUIRED reply lacking userAttributes makes the SDK fail, so the page lands on msg=0."""
    broken = {"ChallengeName": "NEW_PASSWORD_REQUIRED", "ChallengeParameters": {}, "Session": "session-token"}
    fake = FakeCognito([(200, _srp_challenge()), (200, broken)])
    context.route(COGNITO_URL_RE, fake)
    page = context.new_page()
    _login(page, base_url, "configured", password="ILove2SeeTheTemple!")
    page.wait_for_url(f"{base_url}/configured/login.html?msg=0")
    assert len(fake.requests) == 2

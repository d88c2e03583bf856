"""Reading the website without a browser: where it is, and what settings.js says."""

from __future__ import annotations

from types import SimpleNamespace
from typing import NoReturn

import pytest

from grader.login_causes import explain_login, login_cause
from grader.observe.website import REFUSED, Fetcher, read_site, visible_text
from grader.site import Probe, candidates, parse_hosted_link, parse_settings, site_host
from grader.snapshot import AppClient, Instance

DNS = "ec2-54-1-2-3.compute-1.amazonaws.com"
RUNNING = (Instance("i-1", "running", DNS, "54.1.2.3", "web"),)


def client(*urls: str) -> AppClient:
    return AppClient("c1", "app", False, (), ("implicit",), True, ("openid",), ("COGNITO",), tuple(urls), ())


def test_settings_are_read_as_text_with_either_quote() -> None:
    """UserPoolId, ClientId and HostedId are found in settings.js with single or double quotes."""
    text = "export const settings = {\n UserPoolId: \"us-east-1_Abc\",\n ClientId : 'abc123',\n HostedId: `https://d/oauth2/authorize?x=1`,\n};"
    found = parse_settings(text)
    assert found is not None
    assert (found.user_pool_id, found.client_id, found.hosted_link) == (
        "us-east-1_Abc",
        "abc123",
        "https://d/oauth2/authorize?x=1",
    )
    assert found.placeholders == []


def test_placeholders_are_named() -> None:
    """The course's placeholders are reported by the setting that still holds one."""
    text = "UserPoolId: 'REPLACE-WITH-YOUR-USER-POOL-ID', ClientId: 'abc', HostedId: 'REPLACE-WITH-COGNITO-URL/oauth2'"
    assert parse_settings(text).placeholders == ["UserPoolId", "HostedId"]


def test_a_file_without_settings_is_none() -> None:
    """A settings.js that is not the course's gives None, not empty values."""
    assert parse_settings("console.log('hello')") is None


def test_hosted_link_parts_are_decoded() -> None:
    """The hosted-UI link's redirect_uri is decoded once, keeping its trailing slash."""
    link = parse_hosted_link(
        "https://p.auth.us-east-1.amazoncognito.com/oauth2/authorize?client_id=c1&response_type=token"
        "&scope=email+openid+phone&redirect_uri=https%3A%2F%2Fec2-1.example%2F"
    )
    assert (link.scheme, link.host, link.path) == ("https", "p.auth.us-east-1.amazoncognito.com", "/oauth2/authorize")
    assert link.params["redirect_uri"] == "https://ec2-1.example/"
    assert link.params["scope"] == "email openid phone"


@pytest.mark.parametrize(
    ("site_url", "urls", "instances", "expected"),
    [
        ("https://mine.example/", (f"https://{DNS}/",), RUNNING, ("https://mine.example/", "--site-url")),
        (None, ("http://localhost:3000", f"http://{DNS}"), RUNNING, (f"http://{DNS}", "the app client's callback URL")),
        (
            None,
            ("https://ec2-54-1-2-9.compute-1.amazonaws.com",),
            RUNNING,
            (DNS, "the running EC2 instance's public DNS name"),
        ),
        (None, ("https://old.example",), (), ("https://old.example", "the app client's callback URL")),
        (None, (), (), ("", "")),
    ],
)
def test_the_site_address_comes_from_option_callback_or_instance(site_url, urls, instances, expected) -> None:  # noqa: ANN001
    """--site-url wins; then a callback naming a running instance; then the instance; then any callback."""
    assert site_host(site_url, client(*urls), instances) == expected


def test_candidates_try_the_given_scheme_then_both() -> None:
    """A given URL is tried as is, then the host over https and http."""
    assert candidates("http://h.example/app/login.html") == [
        "http://h.example/app/",
        "https://h.example/",
        "http://h.example/",
    ]
    assert candidates("h.example") == ["https://h.example/", "http://h.example/"]


def test_the_sandbox_never_fetches_from_the_network() -> None:
    """In sandbox mode a host the sandbox does not serve is refused without any network request."""
    fetcher = Fetcher(lambda url: None, offline=True)

    def no_network(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the sandbox fetched from the network")

    fetcher.http.get = no_network  # type: ignore[method-assign]
    probe, text = fetcher.get("https://ec2-3-80-1-2.compute-1.amazonaws.com/login.html")
    assert (probe.status, probe.error, text) == (None, REFUSED, None)  # "connection refused", as the browser sees it


def call(outcome: str) -> SimpleNamespace:
    return SimpleNamespace(operation="InitiateAuth", status=400, outcome=outcome)


@pytest.mark.parametrize(
    ("calls", "console", "phrase"),
    [
        ([call("challenge NEW_PASSWORD_REQUIRED")], [], "FORCE_CHANGE_PASSWORD"),
        ([call("ResourceNotFoundException: User pool client abc does not exist.")], [], "ClientId is wrong"),
        (
            [call("NotAuthorizedException: Client abc is configured with secret but SECRET_HASH was not received")],
            [],
            "client secret",
        ),
        ([call("InvalidParameterException: USER_SRP_AUTH is not enabled for the client.")], [], "ALLOW_USER_SRP_AUTH"),
        ([call("NotAuthorizedException: Incorrect username or password.")], [], "refused the password"),
        ([call("NotAuthorizedException: User is disabled.")], [], "disabled"),
        ([], ["Error: Invalid UserPoolId format."], "placeholder"),
        ([], [], "never called Cognito"),
    ],
)
def test_a_failed_login_names_its_real_cause(calls, console, phrase) -> None:  # noqa: ANN001
    """The page only says 'No such Username or Password'; the grader names the cause from Cognito's answer."""
    assert phrase in explain_login(calls, console, "https://x/login.html?msg=0")


def answered(operation: str, status: int, outcome: str) -> SimpleNamespace:
    return SimpleNamespace(operation=operation, status=status, outcome=outcome)


@pytest.mark.parametrize(
    ("calls", "console", "seen", "phrase"),
    [
        (
            [answered("InitiateAuth", 400, "NotAuthorizedException: Incorrect username or password.")],
            [],
            True,
            "refused the password",
        ),
        ([answered("RespondToAuthChallenge", 200, "challenge NEW_PASSWORD_REQUIRED")], [], True, "FORCE_CHANGE"),
        (
            [answered("InitiateAuth", 400, "InvalidParameterException: Missing required parameter")],
            [],
            True,
            "Cognito's last answer was InitiateAuth: InvalidParameterException: Missing required parameter.",
        ),
        ([], ["TypeError: settings is undefined"], True, "console shows: TypeError"),
        ([answered("InitiateAuth", 500, "InternalErrorException: boom")], [], False, "its own trouble or throttling"),
        ([answered("InitiateAuth", 400, "TooManyRequestsException: Rate exceeded")], [], False, "HTTP 400"),
        ([answered("InitiateAuth", 400, "InternalErrorException: InternalErrorException")], [], False, "own trouble"),
        ([answered("InitiateAuth", 0, "no answer (net::ERR_NAME_NOT_RESOLVED)")], [], False, "got no answer"),
        ([answered("InitiateAuth", 502, "HTTP 502, not a JSON answer")], [], False, "its own trouble"),
        ([answered("InitiateAuth", 403, "HTTP 403, not a JSON answer")], [], False, "not Cognito's"),
        ([answered("RespondToAuthChallenge", 200, "tokens issued")], [], False, "last answer was"),
        ([], [], False, "never called Cognito."),
        ([], ["Failed to load resource: net::ERR_CONNECTION_RESET"], False, "never called Cognito"),
    ],
    ids=[
        "wrong-password",
        "new-password",
        "other-4xx",
        "script-threw",
        "cognito-5xx",
        "throttled",
        "trouble-in-400",
        "no-answer",
        "gateway",
        "not-cognito",
        "tokens-issued",
        "no-call",
        "resource-failed",
    ],
)
def test_a_login_cause_is_seen_only_when_it_names_the_students_mistake(calls, console, seen, phrase) -> None:  # noqa: ANN001
    """Cognito's refusal or the page's own error is seen; no answer, 5xx, throttling or a stranger's answer is not."""
    cause = login_cause(calls, console)
    assert (cause.seen, phrase in cause.sentence) == (seen, True), cause


def test_a_page_that_is_not_the_login_page_is_kept_as_its_visible_text() -> None:
    """login.html answering 200 without the form: the probe keeps the page's visible text, cut short, no script."""
    page = "<html><head><title>t</title><script>var secret=1</script></head><body><h1>Campus &amp; Wi-Fi</h1>"
    page += "<p>" + "accept " * 100 + "</p></body></html>"
    fetcher = SimpleNamespace(get=lambda url: (Probe(url, 200), page))
    site = read_site(fetcher, DNS, "test")  # type: ignore[arg-type]
    assert site.base_url is None
    text = site.probes[0].text
    assert text.startswith("Campus & Wi-Fi accept accept")
    assert text.endswith("\u2026")
    assert len(text) == 200
    assert "secret" not in text


def test_visible_text_of_a_hostile_page_is_quick() -> None:
    """Unclosed tags, endless comments or attributes cannot make reading a page's text slow."""
    import time

    for page in ["<a " * 300_000, "<script" * 300_000, "<!--" * 300_000, "<" * 300_000, "<p x='" * 300_000]:
        started = time.monotonic()
        visible_text(page)
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("status", "unseen"),
    [(404, False), (200, False), (500, False), (None, True), (429, True), (502, True), (503, True), (504, True)],
)
def test_settings_js_read_is_kept_with_whether_it_shows_anything(status, unseen) -> None:  # noqa: ANN001
    """The read of settings.js is kept on the Site, and a timeout, 429 or 502-504 is marked as showing nothing."""
    login = '<input id="username">'

    def get(url: str) -> tuple[Probe, str | None]:
        if url.endswith("login.html"):
            return Probe(url, 200), login
        return Probe(url, status, "" if status else "no complete answer within 15 s"), "var x = 1;" if status else None

    site = read_site(SimpleNamespace(get=get), DNS, "test")  # type: ignore[arg-type]
    assert site.settings is None
    assert site.settings_probe is not None
    assert (site.settings_probe.status, site.settings_probe.unseen) == (status, unseen)

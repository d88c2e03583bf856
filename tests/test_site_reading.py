"""Reading the website without a browser: where it is, and what settings.js says."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from grader.login_causes import explain_login
from grader.observe.website import REFUSED, Fetcher
from grader.site import candidates, parse_hosted_link, parse_settings, site_host
from grader.snapshot import AppClient, Instance

DNS = "ec2-54-1-2-3.compute-1.amazonaws.com"
RUNNING = (Instance("i-1", "running", DNS, "54.1.2.3", "web"),)


def client(*urls: str) -> AppClient:
    return AppClient("c1", "app", False, (), ("implicit",), True, ("openid",), ("COGNITO",), tuple(urls), ())


def test_settings_are_read_as_text_with_either_quote() -> None:
    """UserPoolId, ClientId and HostedId are found in settings.js with single or double quotes."""
    text = 'export const settings = {\n UserPoolId: "us-east-1_Abc",\n ClientId : \'abc123\',\n HostedId: `https://d/oauth2/authorize?x=1`,\n};'
    found = parse_settings(text)
    assert found is not None
    assert (found.user_pool_id, found.client_id, found.hosted_link) == ("us-east-1_Abc", "abc123", "https://d/oauth2/authorize?x=1")
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
        (None, ("https://ec2-54-1-2-9.compute-1.amazonaws.com",), RUNNING, (DNS, "the running EC2 instance's public DNS name")),
        (None, ("https://old.example",), (), ("https://old.example", "the app client's callback URL")),
        (None, (), (), ("", "")),
    ],
)
def test_the_site_address_comes_from_option_callback_or_instance(site_url, urls, instances, expected) -> None:  # noqa: ANN001
    """--site-url wins; then a callback naming a running instance; then the instance; then any callback."""
    assert site_host(site_url, client(*urls), instances) == expected


def test_candidates_try_the_given_scheme_then_both() -> None:
    """A given URL is tried as is, then the host over https and http."""
    assert candidates("http://h.example/app/login.html") == ["http://h.example/app/", "https://h.example/", "http://h.example/"]
    assert candidates("h.example") == ["https://h.example/", "http://h.example/"]


def test_the_sandbox_never_fetches_from_the_network() -> None:
    """In sandbox mode a host the sandbox does not serve is refused without any network request."""
    fetcher = Fetcher(lambda url: None, offline=True)

    def no_network(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the sandbox fetched from the network")

    fetcher.http.get = no_network  # type: ignore[method-assign]
    probe, text = fetcher.get("https://ec2-3-80-1-2.compute-1.amazonaws.com/login.html")
    assert (probe.status, probe.error, text) == (None, REFUSED, None)


def call(outcome: str) -> SimpleNamespace:
    return SimpleNamespace(operation="InitiateAuth", status=400, outcome=outcome)


@pytest.mark.parametrize(
    ("calls", "console", "phrase"),
    [
        ([call("challenge NEW_PASSWORD_REQUIRED")], [], "FORCE_CHANGE_PASSWORD"),
        ([call("ResourceNotFoundException: User pool client abc does not exist.")], [], "ClientId is wrong"),
        ([call("NotAuthorizedException: Client abc is configured with secret but SECRET_HASH was not received")], [], "client secret"),
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

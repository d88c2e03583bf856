"""A website the user names with --site-url is graded where it is, also in sandbox mode."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware

from grader.browser import local_url
from grader.errors import GraderError
from grader.observe.website import REFUSED, Fetcher
from grader.pipeline import grade
from grader.results import GradeResult
from grader.sandbox import Sandbox
from grader.sandbox.demo import grader_browser, set_up
from grader.sandbox.layout import SandboxRoutes
from grader.sandbox.provision import sandbox_client
from grader.sandbox.scenarios import load_scenario
from grader.site import origin_of
from grader.spec import load_spec
from grader.target import Target
from tests.sandbox.serving import serving

SITE_CHECKS = ("site.reachable", "site.configured", "site.hosted_ui_link", "site.login", "site.wrong_password_rejected")


def serving_folder(root: Path) -> AbstractContextManager[str]:
    """The folder `root` served by a plain web server on a loopback port; yields its URL."""
    return serving(SharedDataMiddleware(NotFound(), {"/": str(root)}))


def _statuses(result: GradeResult) -> dict[str, str]:
    return {c.id: c.status for c in result.checks if c.id in SITE_CHECKS}


@pytest.mark.browser
def test_a_site_served_on_a_loopback_port_is_graded_with_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    """With --endpoint-url and --site-url the named site is read and logged in to directly; the checks
    pass as for a sandbox-deployed site, and site.login fails once janedoe's password is another."""
    made = set_up(sandbox, load_scenario("finished"))
    deployed = sandbox.gateway.sites.sites[made.instance_dns.lower()]
    sandbox.gateway.sites.clear()  # the instance serves nothing now: only the named site can pass
    with serving_folder(deployed.root) as site_url:
        target = Target(endpoint_url=sandbox.url, site_url=site_url, student="named-site")
        result = grade(target, load_spec(), tmp_path, browser=grader_browser(sandbox))
        assert _statuses(result) == {**dict.fromkeys(SITE_CHECKS, "pass"), "site.hosted_ui_link": "warn"}
        login = next(c for c in result.checks if c.id == "site.login")
        assert login.evidence["login_url"] == f"{site_url}/login.html"
        assert not any("127.0.0.1" in url for url in login.evidence["blocked"])

        sandbox_client(sandbox.url, "cognito-idp").admin_set_user_password(
            UserPoolId=made.pool_id, Username="janedoe", Password="Another-Passw0rd!", Permanent=True
        )
        result = grade(target, load_spec(), tmp_path, browser=grader_browser(sandbox))
    statuses = _statuses(result)
    assert (statuses["site.reachable"], statuses["site.login"], statuses["site.wrong_password_rejected"]) == (
        "pass",
        "fail",
        "skip",
    )
    message = next(c.message for c in result.checks if c.id == "site.login")
    assert "Incorrect username or password" in message


def test_only_the_named_sites_origin_is_reached_directly() -> None:
    """The named site's exact origin passes; its other scheme or port, and any other host, stay blocked."""
    routes = SandboxRoutes("http://127.0.0.1:5000", {}, (origin_of("http://127.0.0.1:8000/app/"),))
    assert routes.decide("http://127.0.0.1:8000/login.html") == ("pass", "http://127.0.0.1:8000/login.html")
    assert routes.decide("https://127.0.0.1:8000/login.html")[0] == "block"
    assert routes.decide("http://127.0.0.1:8001/login.html")[0] == "block"
    assert routes.decide("http://169.254.169.254/latest/meta-data/")[0] == "block"
    assert local_url("http://127.0.0.1:8000/login.html", routes) == "http://127.0.0.1:8000/login.html"
    assert local_url("http://127.0.0.1:8001/login.html", routes) is None


def test_the_http_reader_refuses_what_the_routes_do_not_reach() -> None:
    """In sandbox mode the HTTP reader fetches nothing the routes leave unmapped."""
    routes = SandboxRoutes("http://127.0.0.1:9", {}, (origin_of("http://127.0.0.1:8000"),))
    fetcher = Fetcher(lambda url: local_url(url, routes), offline=True)
    probe, text = fetcher.get("http://127.0.0.1:8001/login.html")
    assert (probe.status, probe.error, text) == (None, REFUSED, None)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000/x/login.html", "http://127.0.0.1:8000"),
        ("HTTPS://EC2-1.Example/", "https://ec2-1.example:443"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("ec2-1.example", ""),
        ("ftp://ec2-1.example/", ""),
        ("http://host:notaport/", ""),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    """An origin is scheme, host and port (the default one written out); anything else has none."""
    assert origin_of(url) == origin


def test_a_site_url_that_is_not_a_web_address_is_refused_before_grading() -> None:
    """--site-url without http:// or https:// is a usage error with an example, not a failed grade."""
    with pytest.raises(GraderError, match="is not a web address") as raised:
        grade(Target(endpoint_url="http://127.0.0.1:9", site_url="ec2-1.example"), load_spec(), None)
    assert raised.value.kind == "usage"

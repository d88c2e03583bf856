"""Does a scenario's lab in a running sandbox, as a student would, and grades it (`grader demo`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from grader.browser import BrowserSession, discover_routes, find_browser, log_in
from grader.observe.observer import WRONG_PASSWORD_SUFFIX
from grader.observe.website import Fetcher, probe
from grader.pipeline import grade
from grader.results import GradeResult
from grader.sandbox.deploy import deploy_site, tamper_site
from grader.sandbox.latency import Profile
from grader.sandbox.layout import sandbox_url
from grader.sandbox.provision import ProvisionedLab, provision, sandbox_client
from grader.sandbox.scenarios import Scenario, load_scenario
from grader.sandbox.server import Sandbox
from grader.spec import load_spec
from grader.target import Target

CHANGE_PASSWORD_TIMEOUT_S = 15.0
# The hosted UI a new domain gets in each edition's console (lab.toml's `domain_version = 0`): the
# 2025 edition's console makes managed login domains; the original text's console, classic ones.
CONSOLE_DOMAIN_VERSION = {"itm300-m03-2025": 2}


def set_up(sandbox: Sandbox, scenario: Scenario) -> ProvisionedLab:
    """Empty the sandbox, do the scenario's lab in it, and arm its faults."""
    sandbox.reset()
    made = do_lab(sandbox, scenario)
    sandbox.inject(scenario.faults)
    return made


def do_lab(sandbox: Sandbox, scenario: Scenario) -> ProvisionedLab:
    """Do the scenario's lab in the sandbox as the student does (into the account of `in_account`, if any)."""

    def confirm(made: ProvisionedLab, username: str, temporary: str, new: str) -> bool:
        return confirm_on_hosted_ui(sandbox, made, username, temporary, new)

    made = provision(sandbox.url, with_domain_version(scenario.lab, scenario.spec), confirm_user=confirm)
    site = deploy_site(sandbox, scenario.lab.get("site"), made)
    if site is not None:
        log_in_on_the_website(sandbox, scenario, made)
        tamper_site(site, (scenario.lab.get("site") or {}).get("tamper", ""))
    return made


def with_domain_version(lab: dict[str, Any], spec: str) -> dict[str, Any]:
    """`lab` with its domain's version said: `domain_version = 0` becomes the one the edition's console makes."""
    pool = lab.get("pool")
    if not pool or int(pool.get("domain_version") or 0) in (1, 2):
        return lab
    return {**lab, "pool": {**pool, "domain_version": CONSOLE_DOMAIN_VERSION.get(spec, 1)}}


class StudentBrowser:
    """A browser that signs in as the student does: no grader mark in its user agent."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._session = BrowserSession(find_browser(), None, "us-east-1", user_agent_tag="", own_thread=True)

    def login(self, login_url: str, username: str, password: str) -> Any:
        return self._run(log_in, login_url, username, password)

    def change_password(self, authorize_url: str, callback: str, username: str, temporary: str, new: str) -> bool:
        return bool(self._run(_change_password, authorize_url, callback, username, temporary, new))

    def _run(self, work: Callable[..., Any], *args: Any) -> Any:
        # Each scenario deploys its own site: read the sandbox's routes afresh.
        self._session.routes = discover_routes(Target(endpoint_url=self._sandbox.url))
        return self._session.call(work, *args)

    def close(self) -> None:
        self._session.close()


def student_browser(sandbox: Sandbox) -> StudentBrowser:
    """The sandbox's student browser, started on first use and closed with the sandbox."""
    browser = getattr(sandbox, "_student_browser", None)
    if browser is None:
        browser = StudentBrowser(sandbox)
        sandbox._student_browser = browser  # type: ignore[attr-defined]  # the sandbox carries it until it stops
        sandbox.on_stop(browser.close)
    return browser


def confirm_on_hosted_ui(sandbox: Sandbox, made: ProvisionedLab, username: str, temporary: str, new: str) -> bool:
    """Change the user's temporary password on the hosted UI, as the lab has the student do.

    False when the lab as made has no usable hosted UI (no domain, no OAuth for the client, no
    grant or callback): the caller then confirms the user with the admin API instead.
    """
    if not made.domain or not made.client_id:
        return False
    client = sandbox_client(sandbox.url, "cognito-idp").describe_user_pool_client(
        UserPoolId=made.pool_id, ClientId=made.client_id
    )["UserPoolClient"]
    flows = client.get("AllowedOAuthFlows") or []
    callbacks = client.get("CallbackURLs") or []
    if not callbacks:
        return False
    query = urlencode(
        {
            "client_id": made.client_id,
            "response_type": "token" if "implicit" in flows else "code",
            "redirect_uri": callbacks[0],
        }
    )
    authorize = f"https://{made.domain}.auth.us-east-1.amazoncognito.com/oauth2/authorize?{query}"
    if not probe(Fetcher(lambda url: sandbox_url(sandbox.url, url)), authorize).ok:
        return False  # the student could not use the hosted UI either
    return student_browser(sandbox).change_password(authorize, callbacks[0], username, temporary, new)


def _change_password(session: Any, authorize_url: str, callback: str, username: str, temporary: str, new: str) -> bool:
    """In the student's browser: sign in with the temporary password, set the new one, reach the callback.

    Either hosted UI: the classic one (the visible copy of its form) or managed login (the user
    name, Next, then the password). False when the page shows no sign-in form (e.g. "Login pages
    unavailable"): the student could not have done it there.
    """
    from playwright.sync_api import Error as PlaywrightError

    from grader.browser import Recorder
    from grader.browser.hosted_signin import answer_callback, same_endpoint

    deadline = time.monotonic() + CHANGE_PASSWORD_TIMEOUT_S
    recorder = Recorder(session.routes, deadline)
    with session.open_page(recorder, CHANGE_PASSWORD_TIMEOUT_S) as page:
        page.context.route(lambda url: same_endpoint(url, callback), answer_callback)
        page.goto(authorize_url)
        name = page.locator("input[name=username]:visible, input[id^='formField:']:not([type=password]):visible")
        try:
            name.first.wait_for(timeout=3000)
        except PlaywrightError:
            return False
        name.first.fill(username)
        password = page.locator("input[type=password]:visible")
        if not password.count():
            page.get_by_role("button", name="Next").click()
        password.first.fill(temporary)
        password.first.press("Enter")
        page.fill("#new_password", new)
        page.fill("#confirm_password", new)
        page.click("[name=changePasswordSubmitButton]")
        while not any(same_endpoint(location, callback) for location in recorder.redirects):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"The hosted UI did not confirm {username}: the change-password form did not lead to the callback."
                )
            page.wait_for_timeout(50)
    return True


def close_student_browser(sandbox: Sandbox) -> None:
    """Close the student's browser now (it is otherwise closed with the sandbox)."""
    browser = getattr(sandbox, "_student_browser", None)
    if browser is not None:
        browser.close()
        del sandbox._student_browser  # type: ignore[attr-defined]  # set by student_browser()


def log_in_on_the_website(sandbox: Sandbox, scenario: Scenario, made: ProvisionedLab) -> None:
    """The sign-ins the scenario's student made on their website before grading (CloudTrail sees them)."""
    logins = (scenario.lab.get("cloudtrail") or {}).get("website_logins", [])
    site = scenario.lab.get("site") or {}
    if not logins or not site.get("deployed") or site.get("mode") != "up":
        return  # nobody can log in on a site that is missing, down or hanging
    password = load_spec(scenario.spec).expected.final_password
    username = scenario.lab["user"]["name"] if scenario.lab.get("user") else "janedoe"
    browser = student_browser(sandbox)
    login_url = f"https://{made.instance_dns}/login.html"
    for which in logins:
        browser.login(login_url, username, password if which == "right" else password + WRONG_PASSWORD_SUFFIX)


def grader_browser(sandbox: Sandbox) -> BrowserSession:
    """The grader's browser for this sandbox's grades: launched once, closed with the sandbox.

    It runs in a thread of its own, beside any other browser of the process.
    """
    browser = getattr(sandbox, "_grader_browser", None)
    if browser is None:
        browser = BrowserSession(find_browser(), None, "us-east-1", own_thread=True)
        sandbox._grader_browser = browser  # type: ignore[attr-defined]  # the sandbox carries it until it stops
        sandbox.on_stop(browser.close)
    return browser


def grade_scenario(
    sandbox: Sandbox, name: str, out: Path | None, *, latency: Profile | None = None
) -> tuple[Scenario, GradeResult]:
    """Do the lab as scenario `name` says, then grade it (with `latency`'s delays: the grading only)."""
    scenario = load_scenario(name)
    set_up(sandbox, scenario)
    sandbox.set_latency(latency)
    target = Target(endpoint_url=sandbox.url, student=f"demo-{name}")
    return scenario, grade(target, load_spec(scenario.spec), out, browser=grader_browser(sandbox))

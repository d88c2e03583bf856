"""Does a scenario's lab in a running sandbox, as a student would, and grades it (`grader demo`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grader.results import GradeResult
from grader.run import grade
from grader.sandbox.deploy import deploy_site
from grader.sandbox.provision import ProvisionedLab, provision
from grader.sandbox.scenarios import Scenario, load_scenario
from grader.sandbox.server import Sandbox
from grader.spec import load_spec
from grader.target import Target

WRONG_PASSWORD_SUFFIX = "?"


def set_up(sandbox: Sandbox, scenario: Scenario) -> ProvisionedLab:
    """Empty the sandbox, do the scenario's lab in it, and arm its faults."""
    sandbox.reset()
    made = provision(sandbox.url, scenario.lab)
    site = deploy_site(sandbox, scenario.lab.get("site"), made)
    if site is not None:
        log_in_on_the_website(sandbox, scenario, made)
    sandbox.inject(scenario.faults)
    return made


class StudentBrowser:
    """A browser that signs in as the student does: no grader mark in its user agent.

    It lives in a thread of its own, because Playwright's sync API allows one instance per
    thread and the grader's own browser runs in the caller's thread.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        from grader.browser import BrowserSession, discover_routes, find_browser

        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="student-browser")
        self._sandbox = sandbox
        self._discover = discover_routes
        self._session = BrowserSession(find_browser(), None, "us-east-1", user_agent_tag="")

    def login(self, login_url: str, username: str, password: str) -> Any:
        # Each scenario deploys its own site: read the sandbox's routes afresh.
        self._session.routes = self._discover(Target(endpoint_url=self._sandbox.url))
        return self._thread.submit(self._session.login, login_url, username, password).result()

    def close(self) -> None:
        self._thread.submit(self._session.close).result()
        self._thread.shutdown()


def student_browser(sandbox: Sandbox) -> StudentBrowser:
    """The sandbox's student browser, started on first use and closed with the sandbox."""
    browser = getattr(sandbox, "_student_browser", None)
    if browser is None:
        browser = StudentBrowser(sandbox)
        sandbox._student_browser = browser  # type: ignore[attr-defined]
        sandbox.on_stop(browser.close)
    return browser


def log_in_on_the_website(sandbox: Sandbox, scenario: Scenario, made: ProvisionedLab) -> None:
    """The sign-ins the scenario's student made on their website before grading (CloudTrail sees them)."""
    logins = (scenario.lab.get("cloudtrail") or {}).get("website_logins", [])
    if not logins:
        return
    password = load_spec(scenario.spec).expected.final_password
    username = scenario.lab["user"]["name"] if scenario.lab.get("user") else "janedoe"
    browser = student_browser(sandbox)
    login_url = f"https://{made.instance_dns}/login.html"
    for which in logins:
        browser.login(login_url, username, password if which == "right" else password + WRONG_PASSWORD_SUFFIX)


def grade_scenario(sandbox: Sandbox, name: str, out: Path | None) -> tuple[Scenario, GradeResult]:
    scenario = load_scenario(name)
    set_up(sandbox, scenario)
    target = Target(endpoint_url=sandbox.url, student=f"demo-{name}")
    return scenario, grade(target, load_spec(scenario.spec), out)

"""One grading run's context: target, spec, read-only AWS access, and what it read, once each.

The account snapshot, the website and the browser are made on first use and shared by every
check of the run; `close()` ends the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

from grader.aws import Identity, ReadOnlyAWS
from grader.collect import Snapshot, collect
from grader.errors import GraderError
from grader.hostedui import AuthorizeProbe, probe
from grader.site import Fetcher, Site, origin_of, read_site, site_host
from grader.spec import LabSpec
from grader.trail import AuthEvents, Trail, read_auth_events, read_trails
from grader.target import Target, slug, student_from_arn


# What the grader appends to the lab's password to try a wrong one on the website.
WRONG_PASSWORD_SUFFIX = "-not-the-password"


@dataclass
class Grading:
    target: Target
    spec: LabSpec
    aws: ReadOnlyAWS
    identity: Identity
    student: str
    out: Path | None = None
    lent_browser: Any = None
    """A BrowserSession the caller keeps open across grades (batch grading, the test suite)."""
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _browser: Any = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, read: Any) -> Any:
        """`read()` the first time `key` is asked for; its value, or the same GraderError, after."""
        if key not in self._cache:
            try:
                self._cache[key] = (read(), None)
            except GraderError as exc:
                self._cache[key] = (None, exc)
        value, error = self._cache[key]
        if error is not None:
            raise error
        return value

    def trails(self) -> tuple[list[Trail], list[str]]:
        """The trails named as the spec says that cover this region, and other trails' names."""
        return self.once("trails", lambda: read_trails(self.aws, self.spec.expected.trail_name))

    def auth_events(self) -> AuthEvents:
        """Cognito sign-in events, from event history or (if refused) the trail's log files."""
        days = int(min(self.spec.expected.events_days, 90))
        return self.once(
            "auth_events",
            lambda: read_auth_events(self.aws, self.trails()[0], days, self.identity.account_id),
        )

    @property
    def snapshot(self) -> Snapshot:
        """The account, read once on first use."""
        return self.once("snapshot", lambda: collect(self.aws, self.spec, self.identity))

    @property
    def routes(self) -> Any:
        """In sandbox mode, where the sandbox serves Cognito and the instances' websites (None on AWS)."""
        from grader.browser import discover_routes

        return self.once("routes", lambda: discover_routes(self.target))

    @property
    def fetcher(self) -> Fetcher:
        """HTTP reads of the website and the hosted UI (answered by the sandbox in sandbox mode)."""
        def make() -> Fetcher:
            from grader.browser import local_url

            routes = self.routes
            return Fetcher(lambda url: local_url(url, routes), offline=routes is not None)

        return self.once("fetcher", make)

    @property
    def site(self) -> Site:
        """The student's website, read once over HTTP."""
        def read() -> Site:
            snap = self.snapshot
            address, source = site_host(self.target.site_url, snap.client.value, snap.instances.value or ())
            return read_site(self.fetcher, address, source)

        return self.once("site", read)

    @property
    def browser(self) -> Any:
        """The run's browser session: the one lent by the caller, else one launched on first use."""
        if self.lent_browser is not None:
            self.lent_browser.routes = self.routes
            self.lent_browser.region = self.target.region
            return self.lent_browser
        if self._browser is None:
            from grader.browser import BrowserSession, find_browser

            self._browser = BrowserSession(
                find_browser(self.target.browser_path), self.routes, self.target.region, own_thread=True
            )
        return self._browser

    def start_browser(self) -> None:
        """Start launching the browser while the account is read (about a second saved per grade).

        Nothing happens when no browser is found: the browser checks say so when they run.
        """
        if self.lent_browser is not None or self._browser is not None:
            return
        try:
            self.browser.start()
        except GraderError:
            pass

    def site_logins(self) -> tuple[Any, Any]:
        """The lab's user signing in on the website: with the lab's password, and with a wrong one.

        Both are made once, together (see BrowserSession.logins): (right, wrong) LoginAttempts.
        """
        def log_in() -> tuple[Any, Any]:
            from grader.browser import BrowserSession

            login_url = self.site.login_url
            if login_url is None:
                raise GraderError("The website could not be reached, so the grader cannot log in to it.", kind="site")
            expected = self.spec.expected
            passwords = [expected.final_password, expected.final_password + WRONG_PASSWORD_SUFFIX]
            right, wrong = self.browser.call(BrowserSession.logins, login_url, expected.username, passwords)
            return right, wrong

        return self.once("site_logins", log_in)

    def jwks(self, pool_id: str) -> dict[str, Any]:
        """The pool's published token signing keys (fetched once per run)."""
        from grader.tokens import fetch_jwks

        return self.once(f"jwks:{pool_id}", lambda: fetch_jwks(pool_id, self.target.region, self.target.endpoint_url))

    def probe_hosted_ui(self, url: str) -> AuthorizeProbe:
        """What Cognito's hosted UI answers to `url`, without following it (once per URL).

        A hosted UI that does not answer at all is the grader's error (network), not the student's.
        """
        def ask() -> AuthorizeProbe:
            answer = probe(self.fetcher, url)
            if answer.error == "unreachable":
                raise GraderError(
                    f"The grader could not reach the hosted UI at {urlsplit(url).hostname} ({answer.detail}). "
                    "Check the network connection, then run the grader again.",
                    kind="unreachable",
                )
            return answer

        return self.once(f"probe:{url}", ask)

    def hosted_sign_in(self, authorize_url: str, redirect_uri: str) -> Any:
        """Sign in as the lab's user through the hosted UI with the final password (once per URL)."""
        from grader.hosted_signin import sign_in

        expected = self.spec.expected
        return self.once(
            f"hosted:{authorize_url}",
            lambda: self.browser.call(sign_in, authorize_url, redirect_uri, expected.username, expected.final_password),
        )

    def instance_starts(self) -> dict[str, datetime]:
        """When each EC2 instance was last started, from CloudTrail's StartInstances events (read once)."""
        from grader.trail import read_instance_starts

        return self.once("instance_starts", lambda: read_instance_starts(self.aws))

    def close(self) -> None:
        """Close the browser the run launched (a lent one stays open for its owner)."""
        if self._browser is not None:
            self._browser.close()
            self._browser = None


def prepare(target: Target, spec: LabSpec, out: Path | None = None, *, browser: Any = None) -> Grading:
    """Connect and find out whose account this is; a GraderError says why it cannot grade."""
    if target.site_url and not origin_of(target.site_url):
        raise GraderError(
            f"--site-url {target.site_url!r} is not a web address; give the website's http:// or https:// "
            "address, for example https://ec2-3-80-1-2.compute-1.amazonaws.com or http://127.0.0.1:8000.",
            kind="usage",
        )
    aws = ReadOnlyAWS.for_target(target)
    identity = aws.identity()
    student = slug(target.student) if target.student else student_from_arn(identity.arn, identity.account_id)
    if not student:
        raise GraderError("The student name is empty once unsafe characters are removed; give --student NAME.", kind="usage")
    grading = Grading(target=target, spec=spec, aws=aws, identity=identity, student=student, out=out, lent_browser=browser)
    grading.start_browser()
    return grading

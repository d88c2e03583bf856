"""Observes one account once: every part the selected checks need, concurrently, under one deadline.

Each part is observed in a thread of its own as soon as the parts it is observed from are there
(grader/observe/parts.py): the AWS reads overlap each other, the browser's launch and the
website's reading; the browser flows (two logins on the website, one sign-in on the hosted UI)
run overlapped in one browser (grader/observe/flows.py). A part whose observation fails holds the
grader's error; a part not finished by the deadline holds a deadline error, and the grade still
completes. Nothing here judges the student's lab: that is the checks' job.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.authorize import AuthorizeProbe, authorize_url, callback_scheme_problem
from grader.aws import ReadOnlyAWS
from grader.callbacks import names_former_address, sign_in_callback
from grader.errors import GraderError, explain
from grader.network import untrusted_certificate
from grader.observe import DEFAULT_DEADLINE_S
from grader.observe.account import collect
from grader.observe.cloudtrail import bucket_exists, read_auth_events, read_status, read_trails
from grader.observe.event_history import read_instance_starts
from grader.observe.evidence import Evidence, InstanceStarts, SignInCallback, SiteLogins, TrailsFound
from grader.observe.parts import BROWSER_PARTS, DEPENDS, PARTS, STARTED_AT_ONCE, closure
from grader.observe.timings import BROWSER, Stopwatch
from grader.observe.website import UNTRUSTED_CERTIFICATE, Fetcher, probe, read_site
from grader.site import Site, site_host
from grader.snapshot import Identity, Read, Snapshot
from grader.spec import LabSpec
from grader.target import Target

WRONG_PASSWORD_SUFFIX = "-not-the-password"
"""What the grader appends to the lab's password to try a wrong one on the website."""


@dataclass(frozen=True)
class Connection:
    """A target the grader has connected to: its read-only AWS access and whose account it is."""

    target: Target
    spec: LabSpec
    aws: ReadOnlyAWS
    identity: Identity
    student: str
    out: Path | None = None


def connect(target: Target, spec: LabSpec, out: Path | None = None) -> Connection:
    """Connect to `target` and find out whose account it is; a GraderError says why the grader cannot grade."""
    from grader.site import origin_of
    from grader.target import slug, student_from_arn

    if target.site_url and not origin_of(target.site_url):
        raise GraderError(
            f"--site-url {target.site_url!r} is not a web address; give the website's http:// or https:// "
            "address, for example https://ec2-3-80-1-2.compute-1.amazonaws.com or http://127.0.0.1:8000.",
            kind="usage",
        )
    try:
        aws = ReadOnlyAWS.for_target(target)
        identity = aws.identity()
    except GraderError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken profile or config file, said as a sentence
        raise explain(exc, "connect to AWS") from None
    student = slug(target.student) if target.student else student_from_arn(identity.arn, identity.account_id)
    if not student:
        raise GraderError(
            "The student name is empty once unsafe characters are removed; give --student NAME.", kind="usage"
        )
    return Connection(target=target, spec=spec, aws=aws, identity=identity, student=student, out=out)


class Observer:
    """Observes one connected account; `browser` is a BrowserSession lent by the caller, if any."""

    def __init__(self, connection: Connection, *, browser: Any = None, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.connection = connection
        self.deadline_s = deadline_s
        self._lent_browser = browser
        self._own_browser: Any = None
        self._lock = threading.Lock()
        self._routes: Read[Any] | None = None
        self._futures: dict[str, Future[Any]] = {}
        self._flows: Future[Any] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._wanted: frozenset[str] = frozenset()
        self._deadline = 0.0
        self._stopwatch = Stopwatch()

    # -- the whole observation

    def start_browser(self, needs: Iterable[str]) -> None:
        """Start launching the observer's own browser now, if a needed part uses it (about a second saved).

        A lent browser (or a class's lanes) is started by its owner."""
        if self._lent_browser is None and closure(needs) & BROWSER_PARTS:
            with contextlib.suppress(GraderError):  # said again by the browser parts, where it matters
                self._browser().start()

    def observe(self, needs: Iterable[str]) -> Evidence:
        """The evidence for `needs` (and what they are observed from), within the deadline."""
        wanted = closure(needs)
        observed_at = datetime.now(UTC)
        self.start_browser(wanted)
        self._deadline = time.monotonic() + self.deadline_s
        pool = ThreadPoolExecutor(max_workers=len(wanted) + 2, thread_name_prefix="observe")
        try:
            # In the order of PARTS, so a part's own parts are submitted before it asks for them.
            self._futures, self._pool, self._wanted, self._stopwatch = {}, pool, wanted, Stopwatch()
            for name in PARTS:
                if name in wanted:
                    self._futures[name] = pool.submit(self._observe, name)
            parts: dict[str, Any] = {name: self._outcome(name) for name in self._futures}
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        connection = self.connection
        return Evidence(
            region=connection.target.region,
            identity=connection.identity,
            observed_at=observed_at,
            finished_at=datetime.now(UTC),
            student=connection.student,
            target=connection.target.kind,
            timings=self._stopwatch.timings(),
            **parts,
        )

    def close(self) -> None:
        """Close the browser the observer launched (a lent one stays open for its owner)."""
        browser, self._own_browser = self._own_browser, None
        if browser is not None:
            browser.close()

    # -- plumbing

    def _observe(self, name: str) -> Read[Any]:
        """The part `name`, timed from when the parts it is observed from are there (STARTED_AT_ONCE: at once)."""
        if name not in STARTED_AT_ONCE:
            for part in DEPENDS[name]:
                self._outcome(part)
        with self._stopwatch.span(name):
            return self._guarded(f"the evidence part {name!r}", getattr(self, f"_read_{name}"))

    @staticmethod
    def _guarded(what: str, read: Callable[..., Any], *args: Any) -> Read[Any]:
        try:
            return Read(read(*args))
        except GraderError as exc:
            return Read(error=exc)
        except Exception as exc:  # noqa: BLE001 - a bug in the grader, reported as such
            return Read(error=explain(exc, f"observe {what}"))

    def _outcome(self, name: str) -> Read[Any]:
        try:
            return self._futures[name].result(timeout=max(0.0, self._deadline - time.monotonic()))
        except FutureTimeout:
            return Read(error=self._late(name))

    def _late(self, what: str) -> GraderError:
        if what == "the browser" or what in BROWSER_PARTS:
            return GraderError(
                f"The grader stopped the browser after {self.deadline_s:g} s (its deadline for one account): "
                "the website did not finish. Check that its pages load and that Login answers, then run the "
                "grader again, or give it more time with --deadline.",
                kind="deadline",
            )
        return GraderError(
            f"The grader stopped waiting for {what} after {self.deadline_s:g} s (its deadline for one account). "
            "The website or AWS answered too slowly: run the grader again, or give it more time with --deadline.",
            kind="deadline",
        )

    def _browser_busy(self) -> GraderError:
        return GraderError(
            f"The grader's browsers were busy with other students' websites until this account's deadline "
            f"({self.deadline_s:g} s), so it could not log in here. Grade this student again (grader batch "
            "--only failed), or give each student more time with --deadline.",
            kind="deadline",
        )

    def _value(self, name: str) -> Any:
        """The value of the part `name` (waiting for it); raises its GraderError."""
        found = self._outcome(name)
        return found.get()

    def routes(self) -> Any:
        """Where the browser's and the HTTP reader's requests go: the sandbox's routes, or RealRoutes on AWS."""
        with self._lock:
            if self._routes is None:
                from grader.browser.routing import discover_routes

                self._routes = self._guarded("the sandbox's routes", discover_routes, self.connection.target)
            return self._routes.get()

    def fetcher(self) -> Fetcher:
        from grader.browser.routing import local_url
        from grader.sandbox.layout import SandboxRoutes

        routes = self.routes()
        return Fetcher(
            lambda url: local_url(url, routes),
            offline=isinstance(routes, SandboxRoutes),
            allowed_origins=(self.connection.target.named_site_url,),
        )

    def _browser(self) -> Any:
        target = self.connection.target
        if self._lent_browser is not None:
            return self._lent_browser
        with self._lock:
            if self._own_browser is None:
                from grader.browser.discovery import find_browser
                from grader.browser.session import BrowserSession

                self._own_browser = BrowserSession(
                    find_browser(target.browser_path), None, target.region, own_thread=True
                )
            return self._own_browser

    def _probe(self, url: str) -> AuthorizeProbe:
        answer = probe(self.fetcher(), url)
        if answer.error == "unreachable":
            from urllib.parse import urlsplit

            if UNTRUSTED_CERTIFICATE in answer.detail:
                raise GraderError(untrusted_certificate(url, "ask the hosted UI what it answers"), kind="tls")
            raise GraderError(
                f"The grader could not reach the hosted UI at {urlsplit(url).hostname} ({answer.detail}). "
                "Check the network connection, then run the grader again.",
                kind="unreachable",
            )
        return answer

    # -- the parts: one method each, named _read_<part>

    def _read_snapshot(self) -> Snapshot:
        c = self.connection
        return collect(c.aws, c.spec, c.identity)

    def _read_trails(self) -> TrailsFound:
        lab, others = read_trails(self.connection.aws, self.connection.spec.expected.trail_name)
        return TrailsFound(tuple(lab), tuple(others))

    def _read_trail_status(self) -> Any:
        lab = self._value("trails").lab
        return read_status(self.connection.aws, lab[0]) if lab else None

    def _read_trail_bucket(self) -> bool | None:
        lab = self._value("trails").lab
        return bucket_exists(self.connection.aws, lab[0].bucket) if lab and lab[0].bucket else None

    def _read_auth_events(self) -> Any:
        c = self.connection
        days = int(min(c.spec.expected.events_days, 90))
        # Stopped a little before the deadline, so a read cut short says so itself (never taken as absence).
        deadline = self._deadline - min(5.0, 0.1 * self.deadline_s)
        return read_auth_events(
            c.aws, lambda: self._value("trails").lab, days, c.identity.account_id, deadline=deadline
        )

    def _read_instance_starts(self) -> InstanceStarts:
        """Read only when a callback names a former address of the instance (the message then says when)."""
        snapshot: Snapshot = self._value("snapshot")
        client, instances = snapshot.client.value, snapshot.instances.value
        region = self.connection.target.region
        if client is None or not instances or not names_former_address(client.callback_urls, instances, region):
            return InstanceStarts()
        try:
            return InstanceStarts(read_instance_starts(self.connection.aws))
        except GraderError as exc:
            return InstanceStarts(unknown=exc.message)

    def _read_site(self) -> Site:
        snapshot: Snapshot = self._value("snapshot")
        address, source = site_host(
            self.connection.target.site_url, snapshot.client.value, snapshot.instances.value or ()
        )
        return read_site(self.fetcher(), address, source)

    def _read_link_probe(self) -> AuthorizeProbe | None:
        """Cognito's answer to the website's hosted-UI link, when the link goes to the pool's domain."""
        from grader.site import parse_hosted_link

        site: Site = self._value("site")
        domain = self._value("snapshot").domain.value
        if site.settings is None or domain is None:
            return None
        link = parse_hosted_link(site.settings.hosted_link)
        if link.scheme != "https" or link.host != domain.host:
            return None  # never probe an address that is not the pool's own hosted UI
        return self._probe(site.settings.hosted_link)

    def _read_authorize_probes(self) -> dict[str, AuthorizeProbe]:
        snapshot: Snapshot = self._value("snapshot")
        domain, client = snapshot.domain.value, snapshot.client.value
        if domain is None or client is None:
            return {}
        scope = " ".join(self.connection.spec.expected.oauth_scopes) or "openid"
        return {
            callback: self._probe(authorize_url(domain.host, client.id, callback, scope=scope))
            for callback in client.callback_urls
            if not callback_scheme_problem(callback)
        }

    def _read_sign_in_callback(self) -> SignInCallback | None:
        snapshot: Snapshot = self._value("snapshot")
        client = snapshot.client.value
        url = sign_in_callback(client.callback_urls, snapshot.instances.value or ()) if client is not None else None
        if url is None:
            return None
        probes: dict[str, AuthorizeProbe] = self._value("authorize_probes")
        return SignInCallback(url, probes.get(url))

    def _read_signing_keys(self) -> dict[str, Any] | None:
        from grader.observe.account import fetch_jwks

        pool = self._value("snapshot").pool.value
        target = self.connection.target
        return fetch_jwks(pool.id, target.region, target.endpoint_url) if pool is not None else None

    def _read_site_logins(self) -> SiteLogins:
        from grader.observe.verify import verified_logins

        logins = self._flow_result("site_logins")
        return verified_logins(logins, self._value("snapshot"), self._outcome("signing_keys"), *self._lab())

    def _read_hosted_sign_in(self) -> Any:
        from grader.observe.verify import verified_sign_in

        result = self._flow_result("hosted_sign_in")
        return verified_sign_in(result, self._value("snapshot"), self._outcome("signing_keys"), *self._lab())

    def _lab(self) -> tuple[LabSpec, str]:
        return self.connection.spec, self.connection.target.region

    # -- the browser flows, run together

    def _flow_result(self, name: str) -> Any:
        """The part `name` of the browser flows, which run once for both browser parts."""
        with self._lock:
            if self._flows is None:
                assert self._pool is not None  # set by observe(), whose parts call this
                self._flows = self._pool.submit(self._timed_flows, self._wanted)
        try:
            flows: Read[dict[str, Read[Any]]] = self._flows.result(timeout=max(0.0, self._deadline - time.monotonic()))
        except FutureTimeout:
            raise self._late("the browser") from None
        return flows.get()[name].get()

    def _timed_flows(self, wanted: frozenset[str]) -> Read[dict[str, Read[Any]]]:
        with self._stopwatch.span(BROWSER):
            return self._guarded("the browser", self._run_flows, wanted)

    def _run_flows(self, wanted: frozenset[str]) -> dict[str, Read[Any]]:
        """What the browser parts need, then both flows in one browser call (overlapped).

        A part whose request could not be made (the website unreachable, ...) keeps that error; a
        hosted-UI sign-in with no usable callback URL is None.
        """
        from grader.browser.lanes import lane_of
        from grader.observe.flows import run_flows

        asked: dict[str, Read[Any]] = {}
        if "site_logins" in wanted:
            asked["site_logins"] = self._guarded("the website", self._login_request)
        if "hosted_sign_in" in wanted:
            asked["hosted_sign_in"] = self._guarded("the hosted UI", self._hosted_request)
        routes, region = self.routes(), self.connection.target.region

        def flows(session: Any, *args: Any) -> dict[str, Read[Any]]:
            # Set in the browser's own thread, just before this account's flows: a browser lent to
            # many observers (a class's batch) runs one account's work at a time.
            session.routes, session.region = routes, region
            return run_flows(session, *args)

        login, hosted = (asked.get(part, Read()).value for part in ("site_logins", "hosted_sign_in"))
        finished: dict[str, Read[Any]] = {}
        kept: dict[str, Read[Any]] = {}
        # Stopped a little before the deadline, so what the flows finished is there in time.
        deadline = self._deadline - min(1.5, 0.2 * self.deadline_s)
        try:
            # One lane (browser) for all of this account's flows, shared with no other account's.
            with lane_of(self._browser(), deadline) as session:
                results = session.call(
                    flows, login, hosted, finished, deadline=deadline, before_stop=lambda: kept.update(finished)
                )
        except GraderError as exc:
            if exc.kind not in ("deadline", "browser-busy"):
                raise
            # The browser was stopped at the deadline: a flow finished before then keeps its result.
            late = self._late("the browser") if exc.kind == "deadline" else self._browser_busy()
            results = {part: read if read.error is None else Read(error=late) for part, read in kept.items()}
            results.update({part: Read(error=late) for part in asked if part not in results})
        return {part: read if read.error is not None else results.get(part, Read(None)) for part, read in asked.items()}

    def _login_request(self) -> Any:
        from grader.observe.flows import LoginRequest

        site: Site = self._value("site")
        if site.login_url is None:
            raise GraderError("The website could not be reached, so the grader cannot log in to it.", kind="site")
        expected = self.connection.spec.expected
        password = expected.final_password
        return LoginRequest(site.login_url, expected.username, (password, password + WRONG_PASSWORD_SUFFIX))

    def _hosted_request(self) -> Any:
        """The sign-in to make on the hosted UI, or None when no callback URL can be used for one."""
        from grader.observe.flows import HostedRequest

        chosen: SignInCallback | None = self._value("sign_in_callback")
        if chosen is None or chosen.answer is None or not chosen.answer.ok:
            return None
        expected = self.connection.spec.expected
        return HostedRequest(chosen.answer.url, chosen.url, expected.username, expected.final_password)

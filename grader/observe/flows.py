"""The browser flows of one grade, overlapped in one browser (run in the browser's own thread).

The website's two logins are submitted first; while their pages run the sign-in (the SDK's SRP
arithmetic, the calls to Cognito, the next page), the grader signs in on the hosted UI; then it
reads how each login ended. Each flow keeps its own time budget and its own fresh context.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from grader.errors import GraderError
from grader.snapshot import Read


@dataclass(frozen=True)
class LoginRequest:
    """Log in on `login_url` as `username`: with the lab's password, then a wrong one."""

    login_url: str
    username: str
    passwords: tuple[str, str]


@dataclass(frozen=True)
class HostedRequest:
    """Sign in on the hosted UI at `authorize_url` and stop at the redirect to `callback`."""

    authorize_url: str
    callback: str
    username: str
    password: str


def run_flows(
    session: Any, login: LoginRequest | None, hosted: HostedRequest | None, out: dict[str, Read[Any]] | None = None
) -> dict[str, Read[Any]]:
    """Both flows in `session` (a BrowserSession, in its thread): {"site_logins": ..., "hosted_sign_in": ...}.

    All pages are opened and start loading first; then the two login forms are submitted (each
    page then runs its sign-in on its own), the hosted UI is signed in on, and the logins' end
    pages are read last. Each flow's result is put in `out` as soon as it is known, so a caller
    that stops the browser half-way keeps what was finished.
    """
    from grader.browser.hosted_signin import finish_sign_in, open_sign_in
    from grader.browser.site_login import finish_logins, open_logins, submit_opened
    from grader.observe.evidence import SiteLogins

    out = {} if out is None else out
    with contextlib.ExitStack() as stack:
        runs: Any = None
        flight: Any = None
        if login is not None:
            try:
                runs = open_logins(session, login.login_url, list(login.passwords), stack)
            except GraderError as exc:
                out["site_logins"] = Read(error=exc)
        if hosted is not None:
            try:
                flight = open_sign_in(session, hosted.authorize_url, hosted.callback, stack, password=hosted.password)
            except GraderError as exc:
                out["hosted_sign_in"] = Read(error=exc)
        if runs is not None and login is not None:
            try:
                submit_opened(runs, login.username, list(login.passwords))
            except GraderError as exc:
                out["site_logins"] = Read(error=exc)
                runs = None
        if flight is not None and hosted is not None:
            try:
                out["hosted_sign_in"] = Read(finish_sign_in(flight, hosted.username, hosted.password))
            except GraderError as exc:
                out["hosted_sign_in"] = Read(error=exc)
        if runs is not None and login is not None:
            try:
                right, wrong = finish_logins(session, runs, list(login.passwords))
                out["site_logins"] = Read(SiteLogins(right, wrong))
            except GraderError as exc:
                out["site_logins"] = Read(error=exc)
    return out

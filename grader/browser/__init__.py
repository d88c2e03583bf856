"""The grader's browser: Playwright driving a Chromium, as the student would.

- :mod:`grader.browser.discovery`: finding a Chromium (:func:`find_browser`) and the switches
  every launch of it gets.
- :mod:`grader.browser.session`: :class:`BrowserSession`, one browser per grading run that opens
  pages in fresh contexts, with its thread and its watchdog.
- :mod:`grader.browser.lanes`: several sessions for a class (:class:`BrowserLanes`), one
  student's flows at a time in each, and how many by default (:func:`choose_lanes`).
- :mod:`grader.browser.routing`: where requests go against real AWS when the address policy
  allows them (:class:`RealRoutes`); a sandbox supplies routes of its own
  (:mod:`grader.sandbox.layout`), found only when the target names an endpoint URL.
- :mod:`grader.browser.recorder`: what a page said to Cognito, and the router of its requests
  (:class:`Recorder`).
- :mod:`grader.browser.site_login`: logging in on the course website (:func:`log_in`,
  :func:`log_in_each`).
- :mod:`grader.browser.hosted_signin`: signing in through Cognito's hosted UI (:func:`sign_in`).

What the flows report (a :class:`~grader.observe.signins.LoginAttempt`, a
:class:`~grader.observe.signins.HostedSignIn`, each :class:`~grader.observe.signins.CognitoCall`)
lives with the evidence, in :mod:`grader.observe.signins`.

A flow runs in the session's thread: ``session.call(log_in_each, login_url, username, passwords)``.
"""

from grader.browser.discovery import BrowserChoice, find_browser
from grader.browser.hosted_signin import sign_in
from grader.browser.recorder import Recorder
from grader.browser.routing import RealRoutes, discover_routes, local_url
from grader.browser.session import BrowserSession
from grader.browser.site_login import log_in, log_in_each

__all__ = [
    "BrowserChoice",
    "BrowserSession",
    "RealRoutes",
    "Recorder",
    "discover_routes",
    "find_browser",
    "local_url",
    "log_in",
    "log_in_each",
    "sign_in",
]

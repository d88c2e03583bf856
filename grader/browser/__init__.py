"""The grader's browser: Playwright driving a Chromium, as the student would.

- :mod:`grader.browser.launch`: finding a Chromium (:func:`find_browser`) and
  :class:`BrowserSession`, one browser per grading run that opens pages in fresh contexts.
- :mod:`grader.browser.routing`: where requests go: as they are against real AWS when the address
  policy allows them (:class:`RealRoutes`), to the sandbox in sandbox mode (:class:`SandboxRoutes`,
  :func:`local_url`); also the sandbox's URL layout,
  shared with :mod:`grader.sandbox`.
- :mod:`grader.browser.recorder`: what a page said to Cognito (:class:`CognitoCall`), and the
  router of its requests (:class:`Recorder`).
- :mod:`grader.browser.site_login`: logging in on the course website (:func:`log_in`,
  :func:`log_in_each`), reported as a :class:`LoginAttempt`.
- :mod:`grader.browser.hosted_signin`: signing in through Cognito's hosted UI (:func:`sign_in`),
  reported as a :class:`HostedSignIn`.

A flow runs in the session's thread: ``session.call(log_in_each, login_url, username, passwords)``.
"""

from grader.browser.hosted_signin import HostedSignIn, sign_in
from grader.browser.launch import BrowserChoice, BrowserSession, find_browser
from grader.browser.recorder import CognitoCall, Recorder
from grader.browser.routing import RealRoutes, SandboxRoutes, discover_routes, local_url
from grader.browser.site_login import LoginAttempt, log_in, log_in_each

__all__ = [
    "BrowserChoice",
    "BrowserSession",
    "CognitoCall",
    "HostedSignIn",
    "LoginAttempt",
    "RealRoutes",
    "Recorder",
    "SandboxRoutes",
    "discover_routes",
    "find_browser",
    "local_url",
    "log_in",
    "log_in_each",
    "sign_in",
]

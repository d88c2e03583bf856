"""Cognito's hosted UI: its public names, and a probe of `/oauth2/authorize`.

The probe is a GET that does not follow redirects: Cognito answers a good request with a
redirect to its `/login` page, and a bad one with a redirect to its `/error` page or back to the
redirect_uri with `?error=...`. The same probe serves the authorize check and the website's own
link.

A hosted UI lives at `https://<prefix>.auth.<region>.amazoncognito.com`. The sandbox serves the
same paths under `<endpoint>/_sandbox/hostedui/<that host>` (:func:`sandbox_url`), and the
grader's browser and HTTP reads are routed there in sandbox mode.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from grader.site import Fetcher

HOSTEDUI_PATH = "/_sandbox/hostedui"
PREFIX_HOST = re.compile(r"^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.auth\.([a-z0-9-]+)\.amazoncognito\.com$")
LOCAL_CALLBACK_HOSTS = {"localhost", "127.0.0.1"}

HINTS = {
    "redirect_mismatch": "the redirect_uri is not exactly one of the app client's Allowed callback URLs",
    "unauthorized_client": "the app client does not allow this grant (the implicit grant for response_type=token), or OAuth is not enabled for it",
    "invalid_scope": "a requested scope is not one of the app client's OpenID Connect scopes",
    "invalid_request": "Cognito refused the request (unknown client id, or the Cognito user pool is not an identity provider of the client)",
    "unsupported_response_type": "the response_type is neither token nor code",
}


@dataclass(frozen=True)
class AuthorizeProbe:
    url: str
    status: int | None
    error: str
    """The OAuth error Cognito answered ('' when it sent the browser on to its sign-in page)."""
    detail: str

    @property
    def ok(self) -> bool:
        return not self.error

    def sentence(self) -> str:
        if self.ok:
            return "Cognito answers with its sign-in page"
        return f"Cognito answers {self.error}: {self.detail}"

    def evidence(self) -> dict[str, object]:
        return {"url": self.url, "status": self.status, "error": self.error}


def authorize_url(domain_host: str, client_id: str, redirect_uri: str, scope: str = "openid", response_type: str = "token") -> str:
    query = urlencode({"response_type": response_type, "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope})
    return f"https://{domain_host}/oauth2/authorize?{query}"


def probe(fetcher: Fetcher, url: str) -> AuthorizeProbe:
    """What Cognito answers to `url` (an authorize or login link), without following it."""
    found, _, location = fetcher.get_once(url)
    if found.status is None:
        return AuthorizeProbe(url, None, "unreachable", f"the hosted UI did not answer ({found.error})")
    host = (urlsplit(url).hostname or "").lower()
    if found.status in {301, 302, 303, 307, 308} and location:
        target = urlsplit(location)
        params = parse_qs(target.query)
        error = params.get("error", [""])[0]
        if error:
            detail = HINTS.get(error, params.get("error_description", [error])[0])
            return AuthorizeProbe(url, found.status, error, detail)
        if (target.hostname or "").lower() == host and target.path == "/login":
            return AuthorizeProbe(url, found.status, "", "")
        return AuthorizeProbe(url, found.status, "unexpected_redirect", f"it redirects to {target.scheme}://{target.hostname}{target.path}")
    if found.status == 200 and urlsplit(url).path == "/login":
        return AuthorizeProbe(url, found.status, "", "")
    if found.status == 404:
        return AuthorizeProbe(url, found.status, "no_domain", "there is no hosted UI at this domain")
    return AuthorizeProbe(url, found.status, f"http_{found.status}", "Cognito showed an error page")


def callback_scheme_problem(url: str) -> str:
    """Why Cognito would not accept `url` as a callback URL for its scheme ('' when it would).

    Cognito takes https callback URLs, and http only for localhost.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return ""
    if scheme == "http" and (parts.hostname or "").lower() in LOCAL_CALLBACK_HOSTS:
        return ""
    if scheme == "http":
        return f"{url} uses http; Cognito accepts http only for localhost, so write https://"
    return f"{url} is not an https URL"


def hosted_ui_path(host: str) -> str:
    """Where the sandbox serves the hosted UI of the domain `host` (no trailing slash)."""
    return f"{HOSTEDUI_PATH}/{host.strip().lower()}"


def is_hosted_ui_host(host: str) -> bool:
    """Whether `host` is a Cognito prefix domain, ``<prefix>.auth.<region>.amazoncognito.com``."""
    return bool(PREFIX_HOST.match((host or "").strip().lower()))


def sandbox_url(endpoint: str, public_url: str) -> str:
    """The sandbox URL that answers `public_url` (``https://<domain host>/<path>?<query>``)."""
    parts = urlsplit(public_url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{endpoint.rstrip('/')}{hosted_ui_path(parts.hostname or '')}{parts.path or '/'}{query}"


def redirect_document(location: str) -> str:
    """A page that sends the browser on to `location`, for a browser route to answer a 3xx with.

    Playwright routes only the first request of a redirect chain: when a route fulfills a 302, the
    browser requests the ``Location`` itself, past every route, on the real network (Playwright's
    own test "should not work with redirects"; measured with Playwright 1.65 and Debian's
    Chromium 156: a fulfilled 302 to ``https://<host>/login`` ends in ``ERR_NAME_NOT_RESOLVED``).
    A route that fulfills navigation requests with this page instead makes the next hop a new
    navigation, which the routes see again. ``location.replace`` keeps the history as a redirect
    would, and the fragment (the implicit grant's tokens) survives.
    """
    target = json.dumps(location).replace("<", "\\u003c").replace(">", "\\u003e")
    shown = html.escape(location, quote=True)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Redirecting</title>'
        f"<script>location.replace({target});</script>"
        f'<noscript><meta http-equiv="refresh" content="0;url={shown}"></noscript>'
        f'</head><body><a href="{shown}">Continue</a></body></html>'
    )

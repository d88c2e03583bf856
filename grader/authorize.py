"""Cognito's hosted UI as the grader judges it: a probe of `/oauth2/authorize`, and the callback-URL rules.

The probe (grader/observe/website.py) is a GET that does not follow redirects: Cognito answers a good request with a
redirect to its `/login` page, and a bad one with a redirect to its `/error` page or back to the
redirect_uri with `?error=...`. The same probe serves the authorize check and the website's own
link.

Real Cognito does not always name the error the way its documentation does (lab-facts.md,
"Hosted UI and CloudTrail as observed"): an invalid scope has come back as
``<redirect_uri>?error=invalid_request&error_description=invalid_scope`` and as
``https://<domain>/error?error=invalid_scope&client_id=...``, and a client with OAuth turned off
as ``https://<domain>/error?error=invalid_request``. So the probe reads ``error_description``
before naming the cause (:func:`cause_of`), and its hint for ``invalid_request`` names OAuth
being off among the causes.

The hosted UI's public names and where the sandbox serves them are in :mod:`grader.browser.routing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

# The hosts Cognito takes http:// callback URLs for: localhost, and since 2025-08-28 the loopback
# literals (urlsplit gives ``::1`` for ``http://[::1]:8080``, without the brackets).
LOCAL_CALLBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
LOCAL_CALLBACK_NAMES = "http://localhost, http://127.0.0.1 and http://[::1]"

HINTS = {
    "redirect_mismatch": "the redirect_uri is not exactly one of the app client's Allowed callback URLs",
    "unauthorized_client": (
        "the app client does not allow this grant (the implicit grant for response_type=token), "
        "or OAuth is not enabled for it"
    ),
    "invalid_scope": "a requested scope is not one of the app client's OpenID Connect scopes",
    "invalid_request": (
        "Cognito refused the request; the usual causes are OAuth / hosted UI not enabled for this app client "
        "(edit the app client's login pages and save them with the callback URL, the Implicit grant and the "
        "scopes), an unknown client id, or the Cognito user pool not being an identity provider of the client"
    ),
    "unsupported_response_type": "the response_type is neither token nor code",
    "login_pages_unavailable": (
        "Cognito shows \u201cLogin pages unavailable\u201d: the domain uses managed login and the app client has "
        "no branding style; create a style for the app client (Cognito's defaults are enough) or switch the "
        "domain's branding version to the classic hosted UI"
    ),
}
# The visible text of managed login's page for a client without a branding style (public reports,
# e.g. minorun365/html-share#3: "Login pages unavailable. Please contact an administrator.", 403).
UNAVAILABLE_TEXT = re.compile(r"login\s+pages?\s+(?:are\s+|is\s+)?unavailable", re.IGNORECASE)


@dataclass(frozen=True)
class AuthorizeProbe:
    url: str
    status: int | None
    error: str
    """The cause of Cognito's refusal ('' when it sent the browser on to its sign-in page): the OAuth
    error it answered, or the known error its error_description names (see :func:`cause_of`)."""
    detail: str
    answered: str = ""
    """The `error` parameter exactly as Cognito sent it (may differ from `error`)."""
    description: str = ""
    """The `error_description` parameter Cognito sent, if any."""

    @property
    def ok(self) -> bool:
        return not self.error

    def sentence(self) -> str:
        if self.ok:
            return "Cognito answers with its sign-in page"
        return f"Cognito answers {self.error}: {self.detail}"

    def evidence(self) -> dict[str, object]:
        return {
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "answered_error": self.answered,
            "error_description": self.description,
        }


def authorize_url(
    domain_host: str, client_id: str, redirect_uri: str, scope: str = "openid", response_type: str = "token"
) -> str:
    query = urlencode(
        {"response_type": response_type, "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope}
    )
    return f"https://{domain_host}/oauth2/authorize?{query}"


def cause_of(error: str, description: str) -> str:
    """The error that names the cause: `description` when it is a known error's name, else `error`.

    Cognito has answered an invalid scope as ``error=invalid_request&error_description=invalid_scope``:
    the description is the specific error, the `error` only its general class.
    """
    named = re.sub(r"[\s-]+", "_", description.strip().lower())
    return named if named in HINTS and named != error else error


def callback_scheme_problem(url: str) -> str:
    """Why Cognito would not accept `url` as a callback URL for its scheme ('' when it would).

    Cognito takes https callback URLs, and http only for localhost and the loopback literals
    127.0.0.1 and [::1] (:data:`LOCAL_CALLBACK_HOSTS`).
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unclosed "[" in the host
        return f"{url} is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme == "https":
        return ""
    if scheme == "http" and host in LOCAL_CALLBACK_HOSTS:
        return ""
    if scheme == "http":
        return f"{url} uses http; Cognito accepts http only for {LOCAL_CALLBACK_NAMES}, so write https://"
    return f"{url} is not an https URL"

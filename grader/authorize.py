"""Cognito's hosted UI as the grader judges it: a probe of `/oauth2/authorize`, and the callback-URL rules.

The probe (grader/observe/website.py) is a GET that does not follow redirects: Cognito answers a good request with a
redirect to its `/login` page, and a bad one with a redirect to its `/error` page or back to the
redirect_uri with `?error=...`. The same probe serves the authorize check and the website's own
link.

Real Cognito does not always name the error the way its documentation does (docs/aws-hosted-ui.md,
"The authorize endpoint's answers"): an invalid scope has come back as
``<redirect_uri>?error=invalid_request&error_description=invalid_scope`` and as
``https://<domain>/error?error=invalid_scope&client_id=...``, and a client with OAuth turned off
as ``https://<domain>/error?error=invalid_request``. So the probe reads ``error_description``
before naming the cause (:func:`cause_of`), and its hint for ``invalid_request`` names OAuth
being off among the causes.

Only an answer that names a cause is the student's mistake. An answer that names none (a 5xx or
429 status, a page without a known error, a redirect somewhere unexpected) shows the grader nothing
about the lab: :meth:`AuthorizeProbe.unseen` says so, and the checks report it as the grader's error.

The hosted UI's public names are in :mod:`grader.browser.routing`; where a sandbox serves them, in
:mod:`grader.sandbox.layout`.
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
# The visible text of managed login's page for a client without a branding style, as users have
# reported it (docs/aws-hosted-ui.md, "Managed login"): "Login pages unavailable", answered 403.
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

    def unseen(self) -> str:
        """What was seen, when this answer names no cause the student can fix ('' when it names one, or none is needed).

        A 5xx or 429 status (Cognito's trouble or throttling), a page with no known error on it, or
        a redirect somewhere the grader does not recognise: none of them is evidence about the lab.
        """
        if self.ok or self.error in HINTS or self.error == "no_domain":
            return ""
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        if self.status is not None and (self.status >= 500 or self.status == 429):
            what = "Cognito's own trouble or throttling, not a setting of the lab"
            todo = "Wait a few minutes and run the grader again."
        else:
            what = "an answer that names no cause the grader recognises"
            todo = "Open the URL in a browser to see the page; if it works there, show this message to your instructor."
        return (
            f"Cognito answered {self.url} with {status} ({self.detail}): {what}, so the grader could not judge it. "
            f"{todo}"
        )

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

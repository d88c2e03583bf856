"""Probes Cognito's hosted UI: does `/oauth2/authorize` accept this client and callback?

A GET that does not follow redirects: Cognito answers a good request with a redirect to its
`/login` page, and a bad one with a redirect to its `/error` page or back to the redirect_uri
with `?error=...`. The same probe serves the authorize check and the website's own link.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from grader.site import Fetcher

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

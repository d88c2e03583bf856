"""A stand-in for Amazon Cognito's hosted UI (managed login) on the sandbox's user pools.

moto has no hosted UI, yet the lab has the student sign in there as
janedoe, change the temporary password (which confirms the user) and land on the callback URL
with tokens in the fragment. :class:`HostedUI` is a WSGI application the sandbox mounts at
``<endpoint>/_sandbox/hostedui/<domain host>/<path>`` (:func:`hosted_ui_path`); it serves, for the
user pool whose domain is ``<domain host>``:

- ``GET /oauth2/authorize``: validates the request and redirects to ``/login`` with the same
  parameters, or answers with the error AWS documents, in the shape real Cognito was observed to
  answer it where that differs (see :meth:`HostedUI._validate`);
- ``GET /login``: the same validation, then a sign-in form; ``POST /login``: the sign-in against
  the password moto stores, the change-password form for ``FORCE_CHANGE_PASSWORD`` users, and
  the final redirect to the callback URL (implicit grant: tokens in the fragment; code grant:
  ``?code=``);
- ``GET /logout``: redirects to a registered sign-out URL, else to ``/login``;
- ``GET /error``: the error page the endpoints above redirect to.

Every URL it emits (``Location`` headers, form actions) uses the real public names
(``https://<prefix>.auth.<region>.amazoncognito.com/...`` and the redirect URI exactly as
registered); the browser-side routing maps them back to the sandbox (:func:`sandbox_url`).

Which hosted UI a domain serves follows its ``ManagedLoginVersion`` (grader.sandbox.managed_login;
docs/aws-hosted-ui.md has the public sources for both):

- version 1, the classic hosted UI: the sign-in form twice (a copy for narrow screens and one for
  wide ones, one always hidden), a relative ``action``, a hidden ``_csrf`` field that must match
  the ``XSRF-TOKEN`` cookie set with the page, and the error line in ``errorMessage-customizable``;
- version 2, managed login: the user name first (a field found by its label, no ``name=username``)
  and a **Next** button, then the password on a second page; "Login pages unavailable" (403) when
  the app client has no branding style.

A scenario can make a domain's hosted UI answer 503 on every page, or show a page with no form
(:func:`grader.sandbox.managed_login.set_hosted_ui_mode`, reached through ``POST /_sandbox/serve``
with the header ``x-sandbox-control``): Cognito's own trouble, which the grader must not book as
the student's.

Error answers carry an ``x-sandbox-reason`` header (a fixed, short English phrase) so the grader
can tell causes apart without parsing pages; AWS sends no such header. Passwords are never
logged, stored outside moto's user record, or echoed into a page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from moto.cognitoidp.exceptions import InvalidPasswordException
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
    CognitoIdpUserPoolDomain,
    UserStatus,
)

from grader.browser.routing import (  # the public names and paths live with the grader's routing
    HOSTEDUI_PATH,
    hosted_ui_path,
    is_hosted_ui_host,
    redirect_document,
    sandbox_url,
)
from grader.browser.routing import PREFIX_HOST as _PREFIX_HOST
from grader.sandbox.cloudtrail import CloudTrailRecorder, hosted_ui_call
from grader.sandbox.expiring import ExpiringStore
from grader.sandbox.managed_login import branding_of, hosted_ui_mode, managed_login_version, set_hosted_ui_mode
from grader.sandbox.moto_state import (
    auth_session_seconds,
    default_account_id,
    find_user_pool,
    missing_required_attributes,
    password_matches,
    reveals_missing_users,
    sign_in_refusal,
)
from grader.sandbox.wsgi import StartResponse, read_body

__all__ = [
    "HOSTEDUI_PATH",
    "HostedUI",
    "IssuedCode",
    "hosted_ui_path",
    "is_hosted_ui_host",
    "mint_tokens",
    "password_policy_problem",
    "redirect_document",
    "sandbox_url",
]

_INCORRECT = "Incorrect username or password."
_SESSION_EXPIRED = "Invalid session for the user, session is expired."
_ERROR_PAGE_TEXT = "An error was encountered with the requested page."
_ID_SCOPES = {"email", "phone", "profile"}
_EMAIL_CLAIMS = {"email", "email_verified"}
_PHONE_CLAIMS = {"phone_number", "phone_number_verified"}
# AWS's list of password "special characters" (a space counts when not leading or trailing).
_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
_AWS_DEFAULT_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


# ---------------------------------------------------------------------- internal types


@dataclass(frozen=True)
class _Site:
    """The user pool behind one domain."""

    host: str
    backend: CognitoIdpBackend
    pool: CognitoIdpUserPool
    domain: CognitoIdpUserPoolDomain | None = None

    @property
    def version(self) -> int:
        """1: the classic hosted UI; 2: managed login."""
        return managed_login_version(self.domain)


@dataclass(frozen=True)
class _Grant:
    """A request that passed validation."""

    client: CognitoIdpUserPoolClient
    response_type: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None


@dataclass(frozen=True)
class _PendingChange:
    """Between a FORCE_CHANGE_PASSWORD sign-in and the change-password form."""

    pool_id: str
    client_id: str
    login_name: str
    expires_at: float


@dataclass(frozen=True)
class IssuedCode:
    """An authorization code handed out by the code grant (no token endpoint consumes it yet)."""

    pool_id: str
    client_id: str
    username: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float


class _Reject(Exception):
    """A request the hosted UI refuses: an error page on the Cognito domain, or an error redirect."""

    def __init__(
        self,
        error: str,
        reason: str,
        *,
        client_id: str = "",
        redirect_uri: str | None = None,
        state: str | None = None,
        description: str = "",
    ) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.state = state
        self.description = description


@dataclass
class _Form:
    """What a page shows: which form, the error line, the values to keep."""

    kind: str  # "signin", "password" (managed login's second step) or "change"
    error: str = ""
    username: str = ""
    session: str = ""
    missing_attributes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- the application


class HostedUI:
    """WSGI app: the hosted UI of every user-pool domain in the sandbox's moto backends.

    ``account_id_for(environ)`` names the account searched first for the domain (then every other
    account); it defaults to :func:`grader.sandbox.moto_state.default_account_id`.
    """

    def __init__(
        self,
        account_id_for: Callable[[Mapping[str, Any]], str] | None = None,
        recorder: CloudTrailRecorder | None = None,
    ) -> None:
        self.account_id_for = account_id_for or default_account_id
        self.recorder = recorder
        """Where the hosted UI's requests are recorded as CloudTrail service events (Login_GET, ...), if anywhere."""
        self.codes: ExpiringStore[IssuedCode] = ExpiringStore()
        self._pending: ExpiringStore[_PendingChange] = ExpiringStore()

    def handles(self, path: str) -> bool:
        return path.startswith(HOSTEDUI_PATH + "/")

    # ------------------------------------------------------------------ WSGI plumbing

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self.handles(path):
            return _page(
                start_response,
                "404 Not Found",
                "Not found",
                "<p>Not a hosted UI path.</p>",
                reason="not a hosted UI path",
            )
        host, _, rest = path[len(HOSTEDUI_PATH) + 1 :].partition("/")
        host = host.lower()
        endpoint = "/" + rest
        method = environ.get("REQUEST_METHOD", "GET").upper()
        query = environ.get("QUERY_STRING", "")
        site = self._site(environ, host)
        if site is None:
            return _page(
                start_response,
                "404 Not Found",
                "Not found",
                f"<p>No user pool has the domain {_e(host)}.</p>",
                reason="unknown domain",
            )
        if (method, endpoint) == ("POST", "/_sandbox/serve") and environ.get("HTTP_X_SANDBOX_CONTROL"):
            return self._control(environ, start_response, site)
        mode = hosted_ui_mode(site.domain)
        if mode == "unavailable":
            return _page(
                start_response,
                "503 Service Unavailable",
                "Service Unavailable",
                "<h1>Service Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p>",
                reason="the scenario makes the hosted UI unavailable",
            )
        if mode == "unrecognised" and (method, endpoint) == ("GET", "/login"):
            return _page(
                start_response,
                "200 OK",
                "Signin",
                "<h1>We are improving your sign-in experience</h1><p>Please come back in a few minutes.</p>",
                reason="the scenario serves a page with no form",
            )
        routes: dict[tuple[str, str], Callable[..., Iterable[bytes]]] = {
            ("GET", "/oauth2/authorize"): self._authorize,
            ("GET", "/login"): self._login_get,
            ("POST", "/login"): self._login_post,
            ("GET", "/logout"): self._logout,
            ("GET", "/error"): self._error_page,
        }
        handler = routes.get((method, endpoint))
        if handler is None:
            if any(path_ == endpoint for _, path_ in routes):
                return _page(
                    start_response,
                    "405 Method Not Allowed",
                    "Method not allowed",
                    "<p>Method not allowed.</p>",
                    reason="method not allowed",
                )
            return _page(start_response, "404 Not Found", "Not found", "<p>Not found.</p>", reason="not found")

        def answer(respond: StartResponse) -> Iterable[bytes]:
            try:
                return handler(environ, respond, site, query)
            except _Reject as reject:
                return self._reject(respond, site, reject, as_page=endpoint == "/login")

        if self.recorder is None:
            return answer(start_response)
        return hosted_ui_call(
            environ, start_response, answer, host=host, endpoint=endpoint, pool_id=site.pool.id, recorder=self.recorder
        )

    # ------------------------------------------------------------------ endpoints

    def _control(self, environ: dict[str, Any], start_response: StartResponse, site: _Site) -> Iterable[bytes]:
        """The sandbox's own switch (not AWS's): how this domain's hosted UI behaves from now on."""
        mode = _params(read_body(environ).decode("utf-8", "replace")).get("mode", "")
        if site.domain is None:
            return _page(start_response, "404 Not Found", "Not found", "<p>No such domain.</p>", reason="no domain")
        try:
            set_hosted_ui_mode(site.domain, mode)
        except ValueError as exc:
            return _page(start_response, "400 Bad Request", "Bad request", f"<p>{_e(str(exc))}</p>", reason="bad mode")
        return _page(start_response, "200 OK", "OK", f"<p>{_e(mode)}</p>")

    def _authorize(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        # "The redirect and authorization endpoint": without identity_provider/idp_identifier it
        # redirects to the login endpoint with the same URL parameters.
        self._validate(site, _params(query))
        return _redirect(start_response, f"https://{site.host}/login?{query}")

    def _login_get(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        # "The login endpoint" supports all the request parameters of the authorize endpoint.
        grant = self._validate(site, _params(query))
        if site.version == 2 and branding_of(grant.client) is None:
            return _unavailable(start_response)
        return self._form(start_response, site, query, _Form("signin"))

    def _login_post(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        grant = self._validate(site, _params(query))
        form = _params(read_body(environ).decode("utf-8", "replace"))
        if site.version == 2 and branding_of(grant.client) is None:
            return _unavailable(start_response)
        if site.version == 1 and not _csrf_matches(environ, form.get("_csrf", "")):
            return _page(
                start_response,
                "403 Forbidden",
                "Forbidden",
                "<p>Invalid CSRF token.</p>",
                reason="_csrf does not match the XSRF-TOKEN cookie",
            )
        if form.get("session"):
            return self._change_password(start_response, site, query, grant, form)
        username = (form.get("username") or form.get("identifier") or "").strip()
        password = form.get("password", "")
        if site.version == 2 and form.get("step") == "username" and username:
            return self._form(start_response, site, query, _Form("password", username=username))
        if site.version == 2 and not password:
            return self._form(start_response, site, query, _Form("password", _INCORRECT, username))
        if not username or not password:
            return self._form(start_response, site, query, _Form("signin", _INCORRECT, username))
        user = site.pool._get_user(username)
        if user is None:
            message = "User does not exist." if reveals_missing_users(grant.client) else _INCORRECT
            return self._form(start_response, site, query, _Form("signin", message, username))
        if not password_matches(user, password):
            return self._form(start_response, site, query, _Form("signin", _INCORRECT, username))
        blocked = _blocked(site.pool, user)
        if blocked:
            return self._form(start_response, site, query, _Form("signin", blocked, username))
        if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
            session = self._start_change(site, grant.client, username)
            missing = missing_required_attributes(site.pool, user)
            return self._form(
                start_response,
                site,
                query,
                _Form("change", username=username, session=session, missing_attributes=missing),
            )
        return self._finish(start_response, site, grant, user, username)

    def _change_password(
        self, start_response: StartResponse, site: _Site, query: str, grant: _Grant, form: dict[str, str]
    ) -> Iterable[bytes]:
        token = form["session"]
        pending = self._pending.get(token)
        if pending is None or pending.pool_id != site.pool.id or pending.client_id != grant.client.id:
            self._pending.pop(token)
            return self._form(start_response, site, query, _Form("signin", _SESSION_EXPIRED))
        user = site.pool._get_user(pending.login_name)
        if user is None or user.status != UserStatus.FORCE_CHANGE_PASSWORD:
            self._pending.pop(token)
            return self._form(start_response, site, query, _Form("signin", _SESSION_EXPIRED))
        missing = missing_required_attributes(site.pool, user)
        again = _Form("change", username=pending.login_name, session=token, missing_attributes=missing)
        new_password = form.get("new_password", "")
        if new_password != form.get("confirm_password", ""):
            again.error = "Passwords do not match."
            return self._form(start_response, site, query, again)
        problem = password_policy_problem(site.pool, new_password)
        if problem:
            again.error = problem
            return self._form(start_response, site, query, again)
        given = {name: form.get(f"requiredAttributes[{name}]", "").strip() for name in missing}
        if any(not value for value in given.values()):
            again.error = "Please fill in all required attributes."
            return self._form(start_response, site, query, again)
        try:
            # moto's own call: sets the password and, permanent, CONFIRMS the user.
            site.backend.admin_set_user_password(site.pool.id, user.username, new_password, True)
        except InvalidPasswordException:
            again.error = "Password does not conform to policy."
            return self._form(start_response, site, query, again)
        if given:
            site.backend.admin_update_user_attributes(
                site.pool.id, user.username, [{"Name": k, "Value": v} for k, v in given.items()]
            )
        self._pending.pop(token)
        return self._finish(start_response, site, grant, user, pending.login_name)

    def _logout(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        # "The logout endpoint": it signs the user out and redirects either to an allowed sign-out
        # URL of the app client (logout_uri + client_id), or to the /login endpoint (with the
        # parameters, e.g. redirect_uri/response_type/scope, for the next sign-in).
        params = _params(query)
        client = site.pool.clients.get(params.get("client_id", ""))
        logout_uri = params.get("logout_uri")
        if client is not None and logout_uri and logout_uri in (client.extended_config.get("LogoutURLs") or []):
            return _redirect(start_response, logout_uri)
        reason = "logout_uri is not an allowed sign-out URL" if logout_uri else "no logout_uri"
        return _redirect(start_response, f"https://{site.host}/login?{query}", reason=reason)

    def _error_page(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        error = _params(query).get("error", "")
        body = f'<p id="errorMessage">{_e(_ERROR_PAGE_TEXT)}</p><p>Error: <code id="errorCode">{_e(error)}</code></p>'
        return _page(start_response, "400 Bad Request", "Error", body, reason=error or "error")

    # ------------------------------------------------------------------ validation

    def _validate(self, site: _Site, params: dict[str, str]) -> _Grant:
        """Check an authorize/login request in AWS's order; raise :class:`_Reject` on the first problem.

        1. client_id missing or not a client of this domain's pool: error page ``invalid_request``.
        2. redirect_uri missing, not absolute, with a fragment, or not exactly one of the client's
           CallbackURLs: error page ``redirect_mismatch``.
           (1 and 2: RFC 6749 4.1.2.1/4.2.2.1 forbid redirecting to an unverified URI; the AWS page
           "The redirect and authorization endpoint" redirects errors to redirect_uri only "if
           client_id and redirect_uri are valid"; AWS itself answers with a 302 to
           ``https://<domain>/error?error=redirect_mismatch&client_id=...``, resp.
           ``error=invalid_request``.)
        3. identity_provider/idp_identifier the client doesn't support, or a client without
           COGNITO among SupportedIdentityProviders: error page ``invalid_request`` (what AWS
           shows for an unsupported provider; the client_id parameter must name a client that
           "supports sign-in by Amazon Cognito local users or at least one third-party IdP").
        4. OAuth not enabled for the client (AllowedOAuthFlowsUserPoolClient false): error page
           ``invalid_request``. The documentation suggests ``unauthorized_client`` back at the
           redirect_uri, but a client not set up for OAuth was observed to get
           ``https://<domain>/error?error=invalid_request`` (docs/aws-hosted-ui.md, "The
           authorize endpoint's answers"): the stand-in answers as Cognito was seen to.
        From here on client_id and redirect_uri are valid, so, per "The redirect and authorization
        endpoint" (error responses), the error goes to ``<redirect_uri>?error=...`` (+ state):
        5. response_type missing, or code_challenge without code_challenge_method, or a method
           other than S256: ``invalid_request``.
        6. response_type other than code/token: ``unsupported_response_type`` (RFC 6749 4.1.2.1).
        7. the grant of that response type (code -> "code", token -> "implicit") not in
           AllowedOAuthFlows: ``unauthorized_client``.
        8. a requested scope not in the client's AllowedOAuthScopes, or email/phone/profile
           without openid (documented under the scope parameter): the documentation says
           ``error=invalid_scope``; real Cognito was observed (2020, 2023) to answer
           ``<redirect_uri>?error=invalid_request&error_description=invalid_scope``, and the
           stand-in answers in that shape. No scope at all means every scope of the client.
        """
        client_id = params.get("client_id", "")
        client = site.pool.clients.get(client_id) if client_id else None
        if client is None:
            raise _Reject(
                "invalid_request", "client_id is missing" if not client_id else "unknown client_id", client_id=client_id
            )
        redirect_uri = params.get("redirect_uri", "")
        callbacks = client.extended_config.get("CallbackURLs") or []
        if not redirect_uri:
            raise _Reject("redirect_mismatch", "redirect_uri is missing", client_id=client_id)
        parts = urlsplit(redirect_uri)
        web = parts.scheme in ("http", "https")
        if not parts.scheme or (web and not parts.netloc) or "#" in redirect_uri:
            raise _Reject(
                "redirect_mismatch", "redirect_uri is not an absolute URI without fragment", client_id=client_id
            )
        if redirect_uri not in callbacks:
            raise _Reject("redirect_mismatch", "redirect_uri is not a registered callback URL", client_id=client_id)
        providers = client.extended_config.get("SupportedIdentityProviders") or []
        provider = params.get("identity_provider")
        if params.get("idp_identifier") or (provider and provider != "COGNITO"):
            raise _Reject("invalid_request", "identity provider not supported by the client", client_id=client_id)
        if "COGNITO" not in providers:
            raise _Reject(
                "invalid_request", "COGNITO is not a supported identity provider of the client", client_id=client_id
            )
        if not client.extended_config.get("AllowedOAuthFlowsUserPoolClient"):
            raise _Reject("invalid_request", "OAuth is not enabled for the client", client_id=client_id)
        state = params.get("state")

        def back(error: str, reason: str, description: str = "") -> _Reject:
            return _Reject(
                error, reason, client_id=client_id, redirect_uri=redirect_uri, state=state, description=description
            )

        response_type = params.get("response_type", "")
        if not response_type:
            raise back("invalid_request", "response_type is missing")
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and not method:
            raise back("invalid_request", "code_challenge without code_challenge_method")
        if method and method != "S256":
            raise back("invalid_request", "code_challenge_method is not S256")
        if response_type not in ("code", "token"):
            raise back("unsupported_response_type", "response_type is not code or token")
        flow = "implicit" if response_type == "token" else "code"
        if flow not in (client.extended_config.get("AllowedOAuthFlows") or []):
            raise back("unauthorized_client", f"the client does not allow the {flow} grant")
        allowed = [str(s) for s in client.extended_config.get("AllowedOAuthScopes") or []]
        requested = [s for s in params.get("scope", "").split(" ") if s]
        if not requested:
            requested = allowed
        if any(s not in allowed for s in requested):
            raise back("invalid_request", "a requested scope is not allowed for the client", "invalid_scope")
        if _ID_SCOPES & set(requested) and "openid" not in requested:
            raise back("invalid_request", "email, phone and profile need the openid scope", "invalid_scope")
        return _Grant(client, response_type, redirect_uri, tuple(dict.fromkeys(requested)), state, params.get("nonce"))

    def _reject(self, start_response: StartResponse, site: _Site, reject: _Reject, *, as_page: bool) -> Iterable[bytes]:
        if reject.redirect_uri:
            extra = {"error": reject.error}
            if reject.description:
                extra["error_description"] = reject.description
            if reject.state is not None:
                extra["state"] = reject.state
            return _redirect(start_response, _append(reject.redirect_uri, "?", extra), reason=reject.reason)
        if as_page:
            # /login shows the error itself (AWS answers 400 on the login page).
            body = (
                f'<p id="errorMessage">{_e(_ERROR_PAGE_TEXT)}</p>'
                f'<p>Error: <code id="errorCode">{_e(reject.error)}</code></p>'
            )
            return _page(start_response, "400 Bad Request", "Error", body, reason=reject.reason)
        target = {"error": reject.error}
        if reject.client_id:
            target["client_id"] = reject.client_id
        return _redirect(start_response, f"https://{site.host}/error?{urlencode(target)}", reason=reject.reason)

    # ------------------------------------------------------------------ sign-in results

    def _start_change(self, site: _Site, client: CognitoIdpUserPoolClient, login_name: str) -> str:
        token = secrets.token_urlsafe(32)
        expires_at = time.monotonic() + auth_session_seconds(client)
        self._pending.put(token, _PendingChange(site.pool.id, client.id, login_name, expires_at))
        return token

    def _finish(
        self, start_response: StartResponse, site: _Site, grant: _Grant, user: CognitoIdpUser, login_name: str
    ) -> Iterable[bytes]:
        if grant.response_type == "code":
            code = str(uuid.uuid4())
            self.codes.put(
                code,
                IssuedCode(
                    site.pool.id,
                    grant.client.id,
                    user.username,
                    grant.redirect_uri,
                    grant.scopes,
                    time.monotonic() + 300,
                ),
            )
            values = {"code": code}
            if grant.state is not None:
                values["state"] = grant.state
            return _redirect(start_response, _append(grant.redirect_uri, "?", values))
        tokens = mint_tokens(site.pool, grant.client, login_name, grant.scopes, nonce=grant.nonce)
        values = {}
        if "id_token" in tokens:
            values["id_token"] = tokens["id_token"]
        values.update(access_token=tokens["access_token"], expires_in=str(tokens["expires_in"]), token_type="Bearer")
        if grant.state is not None:
            values["state"] = grant.state
        return _redirect(start_response, _append(grant.redirect_uri, "#", values))

    # ------------------------------------------------------------------ pages

    def _form(self, start_response: StartResponse, site: _Site, query: str, form: _Form) -> Iterable[bytes]:
        action = _e(f"/login?{query}")  # relative, as Cognito's own forms are
        csrf = secrets.token_urlsafe(24) if site.version == 1 else ""
        cookie = [("Set-Cookie", f"XSRF-TOKEN={csrf}; Path=/; HttpOnly; SameSite=Lax")] if csrf else []
        if form.kind == "change":
            body = _change_html(action, form, csrf)
            return _page(start_response, "200 OK", "Change password", body, reason=form.error, extra=cookie)
        if site.version == 2:
            body = _managed_html(action, form)
            return _page(start_response, "200 OK", "Sign in", body, reason=form.error, extra=cookie)
        copies = "".join(_classic_copy(action, form, csrf, wide) for wide in (False, True))
        return _page(start_response, "200 OK", "Signin", copies, reason=form.error, extra=cookie)

    # ------------------------------------------------------------------ moto lookups

    def _site(self, environ: Mapping[str, Any], host: str) -> _Site | None:
        """The pool whose domain is `host`: a prefix domain in the host's region, else a custom domain."""
        preferred = self.account_id_for(environ)
        match = _PREFIX_HOST.match(host)
        if match:
            found = find_user_pool(preferred, domain=match.group(1), region=match.group(2))
        else:
            found = find_user_pool(preferred, custom_domain=host)
        if found is None:
            return None
        domain = found.backend.user_pool_domains.get(match.group(1)) if match else None
        return _Site(host, found.backend, found.pool, domain)


# ---------------------------------------------------------------------- tokens


def mint_tokens(
    pool: CognitoIdpUserPool,
    client: CognitoIdpUserPoolClient,
    login_name: str,
    scopes: Iterable[str],
    *,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Tokens for a hosted-UI sign-in, made with moto's ``create_jwt`` and registered in the pool.

    Access token: moto's claims plus ``scope`` (the granted OAuth scopes) and ``origin_jti``; the
    pool records it as moto's ``create_access_token`` does, so GetUser accepts it. ID token (only
    with the openid scope, as AWS documents): the attributes the client can read, narrowed to the
    email/phone claims when only those OIDC scopes were asked for, ``at_hash`` and ``nonce``.
    Lifetimes follow the client's AccessTokenValidity/IdTokenValidity (default one hour).
    """
    scopes = tuple(scopes)
    user = pool._get_user(login_name)
    origin_jti = str(uuid.uuid4())
    access_s = _validity_seconds(client, "AccessToken")
    extra: dict[str, Any] = {"origin_jti": origin_jti, "scope": " ".join(scopes)}
    groups = sorted(group.group_name for group in user.groups)
    if groups:
        extra["cognito:groups"] = groups
    access_token, _ = pool.create_jwt(client.id, login_name, "access", expires_in=access_s, extra_data=extra)
    pool.access_tokens[access_token] = (client.id, user.username)
    result: dict[str, Any] = {"access_token": access_token, "expires_in": access_s, "token_type": "Bearer"}
    if "openid" in scopes:
        claims: dict[str, Any] = {"origin_jti": origin_jti, "at_hash": _at_hash(access_token)}
        claims.update(_id_claims(client, user, scopes))
        if groups:
            claims["cognito:groups"] = groups
        if nonce:
            claims["nonce"] = nonce
        id_token, _ = pool.create_jwt(
            client.id, login_name, "id", expires_in=_validity_seconds(client, "IdToken"), extra_data=claims
        )
        pool.id_tokens[id_token] = (client.id, user.username)
        result["id_token"] = id_token
    return result


def _id_claims(client: CognitoIdpUserPoolClient, user: CognitoIdpUser, scopes: tuple[str, ...]) -> dict[str, Any]:
    readable = client.extended_config.get("ReadAttributes") or None
    claims: dict[str, Any] = {}
    for attribute in user.attributes:
        name, value = attribute["Name"], attribute["Value"]
        if name == "sub" or (readable is not None and name not in readable):
            continue
        claims[name] = value == "true" if name in ("email_verified", "phone_number_verified") else value
    oidc = _ID_SCOPES & set(scopes)
    if oidc and "profile" not in oidc:  # only email and/or phone: narrow to their claims
        keep = (_EMAIL_CLAIMS if "email" in oidc else set()) | (_PHONE_CLAIMS if "phone" in oidc else set())
        claims = {k: v for k, v in claims.items() if k in keep}
    return claims


def _validity_seconds(client: CognitoIdpUserPoolClient, which: str) -> int:
    value = client.extended_config.get(f"{which}Validity")
    if not value:
        return 3600
    unit = (client.extended_config.get("TokenValidityUnits") or {}).get(which, "hours")
    return int(value) * _UNIT_SECONDS.get(str(unit), 3600)


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


# ---------------------------------------------------------------------- password and user checks


def password_policy_problem(pool: CognitoIdpUserPool, password: str) -> str:
    """AWS's message for a password the pool's policy rejects, or "" if it conforms."""
    policy = (pool.extended_config.get("Policies") or {}).get("PasswordPolicy")
    if policy is None:
        policy = _AWS_DEFAULT_POLICY
    if not password or password != password.strip():
        return "Password does not conform to policy: the password must not begin or end with a space"
    if len(password) < int(policy.get("MinimumLength", 8)):
        return "Password does not conform to policy: Password not long enough"
    checks = (
        ("RequireUppercase", lambda p: any(c.isupper() for c in p), "Password must have uppercase characters"),
        ("RequireLowercase", lambda p: any(c.islower() for c in p), "Password must have lowercase characters"),
        ("RequireNumbers", lambda p: any(c.isdigit() for c in p), "Password must have numeric characters"),
        ("RequireSymbols", lambda p: any(c in _SYMBOLS for c in p), "Password must have symbol characters"),
    )
    for key, ok, message in checks:
        if policy.get(key) and not ok(password):
            return f"Password does not conform to policy: {message}"
    return ""


def _blocked(pool: CognitoIdpUserPool, user: CognitoIdpUser) -> str:
    """Why a user with the right password still can't sign in here ("" if they can)."""
    refusal = sign_in_refusal(user)
    if refusal is not None:
        return refusal.message
    if pool.mfa_config == "ON" or user.software_token_mfa_enabled or user.sms_mfa_enabled:
        return "Multi-factor authentication is not available in the sandbox hosted UI."
    return ""


# ---------------------------------------------------------------------- HTTP helpers


def _params(query: str) -> dict[str, str]:
    """First value of each parameter (``+`` and %-escapes decoded)."""
    values: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(key, value)
    return values


def _append(uri: str, separator: str, values: Mapping[str, str]) -> str:
    encoded = urlencode(values)
    if separator == "?" and "?" in uri:
        return f"{uri}&{encoded}"
    return f"{uri}{separator}{encoded}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_STYLE = (
    "body{font-family:sans-serif;background:#f4f4f4;margin:0}"
    "main{max-width:22rem;margin:3rem auto;background:#fff;padding:1.5rem;border-radius:4px}"
    "label,input{display:block;width:100%;box-sizing:border-box;margin:.3rem 0}"
    "input[type=submit]{background:#007eb9;color:#fff;border:0;padding:.6rem;margin-top:1rem}"
    ".errorMessage,.errorMessage-customizable,[role=alert]{color:#c00}"
    ".modal-content-mobile{display:none}"
    "@media (max-width:991px){.modal-content-mobile{display:block}.modal-content-desktop{display:none}}"
)


def _unavailable(start_response: StartResponse) -> list[bytes]:
    """Managed login's page for an app client without a branding style."""
    body = "<h1>Login pages unavailable</h1><p>Please contact an administrator.</p>"
    return _page(start_response, "403 Forbidden", "Login pages unavailable", body, reason="no branding style")


def _csrf_matches(environ: Mapping[str, Any], given: str) -> bool:
    """Whether the posted `_csrf` is the XSRF-TOKEN cookie set with the form."""
    cookies = SimpleCookie()
    try:
        cookies.load(str(environ.get("HTTP_COOKIE", "")))
    except CookieError:
        return False
    morsel = cookies.get("XSRF-TOKEN")
    return bool(given) and morsel is not None and secrets.compare_digest(morsel.value, given)


def _classic_copy(action: str, form: _Form, csrf: str, wide: bool) -> str:
    """One copy of the classic sign-in form: for narrow screens, or for wide ones (the other is hidden)."""
    kind = "modal-content-desktop visible-md visible-lg" if wide else "modal-content-mobile visible-xs visible-sm"
    error = f'<p id="loginErrorMessage" class="errorMessage-customizable">{_e(form.error)}</p>' if form.error else ""
    return f"""<div class="{kind}">
<h1>Sign in with your username and password</h1>
{error}<form name="cognitoSignInForm" method="post" action="{action}">
<input type="hidden" name="_csrf" value="{_e(csrf)}">
<label for="signInFormUsername">Username</label>
<input id="signInFormUsername" name="username" type="text" autocapitalize="none" required value="{_e(form.username)}">
<label for="signInFormPassword">Password</label>
<input id="signInFormPassword" name="password" type="password" required>
<input type="submit" name="signInSubmitButton" value="Sign in">
</form></div>
"""


def _managed_html(action: str, form: _Form) -> str:
    """Managed login's sign-in: the user name and Next, or (second step) the password and Sign in."""
    error = f'<div class="error" role="alert">{_e(form.error)}</div>' if form.error else ""
    if form.kind == "signin" and not (form.error and form.username):
        return f"""<h1>Sign in</h1>
{error}<form method="post" action="{action}">
<input type="hidden" name="step" value="username">
<label for="formField:r1">Username</label>
<input id="formField:r1" name="identifier" type="text" autocapitalize="none" value="{_e(form.username)}">
<button type="submit">Next</button>
</form>"""
    return f"""<h1>Sign in</h1>
<p>{_e(form.username)}</p>
{error}<form method="post" action="{action}">
<input type="hidden" name="step" value="password">
<input type="hidden" name="identifier" value="{_e(form.username)}">
<label for="formField:r2">Password</label>
<input id="formField:r2" name="password" type="password">
<button type="submit">Sign in</button>
</form>"""


def _change_html(action: str, form: _Form, csrf: str = "") -> str:
    error = (
        f'<p id="changePasswordErrorMessage" class="errorMessage-customizable" role="alert">{_e(form.error)}</p>'
        if form.error
        else ""
    )
    csrf_field = f'<input type="hidden" name="_csrf" value="{_e(csrf)}">\n' if csrf else ""
    required = "".join(
        f'<label for="required_{_e(name)}">{_e(name)}</label>'
        f'<input id="required_{_e(name)}" name="requiredAttributes[{_e(name)}]" type="text" required>\n'
        for name in form.missing_attributes
    )
    return f"""<h1>Change Password</h1>
<p>Please enter a new password.</p>
{error}<form name="cognitoChangePasswordForm" method="post" action="{action}">
{csrf_field}<input type="hidden" name="session" value="{_e(form.session)}">
<input type="hidden" name="username" value="{_e(form.username)}">
{required}<label for="new_password">New Password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required>
<label for="confirm_password">Enter New Password Again</label>
<input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required>
<input type="submit" name="changePasswordSubmitButton" value="Send">
</form>"""


def _headers(kind: str, length: int, reason: str) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", kind),
        ("Content-Length", str(length)),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if reason:
        headers.append(("x-sandbox-reason", reason))
    return headers


def _page(
    start_response: StartResponse,
    status: str,
    title: str,
    body: str,
    *,
    reason: str = "",
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body><main>\n{body}\n</main></body></html>\n"
    ).encode()
    start_response(status, [*_headers("text/html; charset=utf-8", len(document), reason), *(extra or [])])
    return [document]


def _redirect(start_response: StartResponse, location: str, *, reason: str = "") -> list[bytes]:
    start_response("302 Found", [("Location", location), *_headers("text/plain", 0, reason)])
    return [b""]

"""A stand-in for Amazon Cognito's hosted UI (managed login) on the sandbox's user pools: the WSGI app.

moto has no hosted UI, yet the lab has the student sign in there as janedoe, change the temporary
password (which confirms the user) and land on the callback URL with tokens in the fragment.
:class:`HostedUI` is mounted at ``<endpoint>/_sandbox/hostedui/<domain host>/<path>``
(grader.sandbox.layout) and serves, for the user pool whose domain is ``<domain host>``:

- ``GET /oauth2/authorize``: validates the request (grader.sandbox.hosted_ui_flow.validate) and
  redirects to ``/login`` with the same parameters, or answers with the error;
- ``GET /login``: the same validation, then a sign-in form; ``POST /login``: the sign-in against
  the password moto stores, the change-password form for ``FORCE_CHANGE_PASSWORD`` users, and
  the final redirect to the callback URL (implicit grant: tokens in the fragment, made by
  grader.sandbox.hosted_ui_tokens; code grant: ``?code=``);
- ``GET /logout``: redirects to a registered sign-out URL, else to ``/login``;
- ``GET /error``: the error page the endpoints above redirect to.

Every URL it emits (``Location`` headers, form actions) uses the real public names; the
browser-side routing maps them back to the sandbox. A domain serves the classic hosted UI or
managed login as its ``ManagedLoginVersion`` says (grader.sandbox.managed_login; the pages are
grader.sandbox.hosted_ui_pages'). A scenario can make a domain's hosted UI answer 503 on every
page, or show a page with no form (``POST /_sandbox/serve`` with the header ``x-sandbox-control``):
Cognito's own trouble, which the grader must not book as the student's. Passwords are never
logged, stored outside moto's user record, or echoed into a page.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from grader.browser.routing import PREFIX_HOST
from grader.sandbox.cloudtrail import CloudTrailRecorder, hosted_ui_call
from grader.sandbox.expiring import ExpiringStore
from grader.sandbox.hosted_ui_flow import (
    Grant,
    IssuedCode,
    PendingChange,
    Rejection,
    password_policy_problem,
    sign_in_blocked,
    validate,
)
from grader.sandbox.hosted_ui_pages import (
    Form,
    append_params,
    csrf_matches,
    error_html,
    escape,
    first_params,
    form_page,
    page,
    redirect,
    unavailable_page,
)
from grader.sandbox.hosted_ui_tokens import mint_tokens
from grader.sandbox.layout import CONTROL_PATH, HOSTEDUI_PATH
from grader.sandbox.managed_login import branding_of, hosted_ui_mode, managed_login_version, set_hosted_ui_mode
from grader.sandbox.moto_state import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
    CognitoIdpUserPoolDomain,
    InvalidPasswordException,
    UserStatus,
    auth_session_seconds,
    default_account_id,
    find_user,
    find_user_pool,
    missing_required_attributes,
    password_matches,
    reveals_missing_users,
)
from grader.sandbox.wsgi import StartResponse, read_body

__all__ = ["HostedUI"]

_INCORRECT = "Incorrect username or password."
_SESSION_EXPIRED = "Invalid session for the user, session is expired."


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
        self._pending: ExpiringStore[PendingChange] = ExpiringStore()

    def handles(self, path: str) -> bool:
        return path.startswith(HOSTEDUI_PATH + "/")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self.handles(path):
            return page(
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
            return page(
                start_response,
                "404 Not Found",
                "Not found",
                f"<p>No user pool has the domain {escape(host)}.</p>",
                reason="unknown domain",
            )
        if (method, endpoint) == ("POST", CONTROL_PATH) and environ.get("HTTP_X_SANDBOX_CONTROL"):
            return self._control(environ, start_response, site)
        mode = hosted_ui_mode(site.domain)
        if mode == "unavailable":
            return page(
                start_response,
                "503 Service Unavailable",
                "Service Unavailable",
                "<h1>Service Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p>",
                reason="the scenario makes the hosted UI unavailable",
            )
        if mode == "unrecognised" and (method, endpoint) == ("GET", "/login"):
            return page(
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
                return page(
                    start_response,
                    "405 Method Not Allowed",
                    "Method not allowed",
                    "<p>Method not allowed.</p>",
                    reason="method not allowed",
                )
            return page(start_response, "404 Not Found", "Not found", "<p>Not found.</p>", reason="not found")

        def answer(respond: StartResponse) -> Iterable[bytes]:
            try:
                return handler(environ, respond, site, query)
            except Rejection as reject:
                return self._reject(respond, site, reject, as_page=endpoint == "/login")

        if self.recorder is None:
            return answer(start_response)
        return hosted_ui_call(
            environ, start_response, answer, host=host, endpoint=endpoint, pool_id=site.pool.id, recorder=self.recorder
        )

    def _control(self, environ: dict[str, Any], start_response: StartResponse, site: _Site) -> Iterable[bytes]:
        """The sandbox's own switch (not AWS's): how this domain's hosted UI behaves from now on."""
        mode = first_params(read_body(environ).decode("utf-8", "replace")).get("mode", "")
        if site.domain is None:
            return page(start_response, "404 Not Found", "Not found", "<p>No such domain.</p>", reason="no domain")
        try:
            set_hosted_ui_mode(site.domain, mode)
        except ValueError as exc:
            return page(
                start_response, "400 Bad Request", "Bad request", f"<p>{escape(str(exc))}</p>", reason="bad mode"
            )
        return page(start_response, "200 OK", "OK", f"<p>{escape(mode)}</p>")

    def _authorize(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        # "The redirect and authorization endpoint": without identity_provider/idp_identifier it
        # redirects to the login endpoint with the same URL parameters.
        validate(site.pool, first_params(query))
        return redirect(start_response, f"https://{site.host}/login?{query}")

    def _login_get(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        # "The login endpoint" supports all the request parameters of the authorize endpoint.
        grant = validate(site.pool, first_params(query))
        if site.version == 2 and branding_of(grant.client) is None:
            return unavailable_page(start_response)
        return form_page(start_response, site.version, query, Form("signin"))

    def _login_post(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        grant = validate(site.pool, first_params(query))
        form = first_params(read_body(environ).decode("utf-8", "replace"))
        if site.version == 2 and branding_of(grant.client) is None:
            return unavailable_page(start_response)
        if site.version == 1 and not csrf_matches(environ, form.get("_csrf", "")):
            return page(
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
            return form_page(start_response, site.version, query, Form("password", username=username))
        if site.version == 2 and not password:
            return form_page(start_response, site.version, query, Form("password", _INCORRECT, username))
        if not username or not password:
            return form_page(start_response, site.version, query, Form("signin", _INCORRECT, username))
        user = find_user(site.pool, username)
        if user is None:
            message = "User does not exist." if reveals_missing_users(grant.client) else _INCORRECT
            return form_page(start_response, site.version, query, Form("signin", message, username))
        if not password_matches(user, password):
            return form_page(start_response, site.version, query, Form("signin", _INCORRECT, username))
        blocked = sign_in_blocked(site.pool, user)
        if blocked:
            return form_page(start_response, site.version, query, Form("signin", blocked, username))
        if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
            session = self._start_change(site, grant.client, username)
            missing = missing_required_attributes(site.pool, user)
            return form_page(
                start_response,
                site.version,
                query,
                Form("change", username=username, session=session, missing_attributes=missing),
            )
        return self._finish(start_response, site, grant, user, username)

    def _change_password(
        self, start_response: StartResponse, site: _Site, query: str, grant: Grant, form: dict[str, str]
    ) -> Iterable[bytes]:
        token = form["session"]
        pending = self._pending.get(token)
        if pending is None or pending.pool_id != site.pool.id or pending.client_id != grant.client.id:
            self._pending.pop(token)
            return form_page(start_response, site.version, query, Form("signin", _SESSION_EXPIRED))
        user = find_user(site.pool, pending.login_name)
        if user is None or user.status != UserStatus.FORCE_CHANGE_PASSWORD:
            self._pending.pop(token)
            return form_page(start_response, site.version, query, Form("signin", _SESSION_EXPIRED))
        missing = missing_required_attributes(site.pool, user)
        again = Form("change", username=pending.login_name, session=token, missing_attributes=missing)
        new_password = form.get("new_password", "")
        if new_password != form.get("confirm_password", ""):
            again.error = "Passwords do not match."
            return form_page(start_response, site.version, query, again)
        problem = password_policy_problem(site.pool, new_password)
        if problem:
            again.error = problem
            return form_page(start_response, site.version, query, again)
        given = {name: form.get(f"requiredAttributes[{name}]", "").strip() for name in missing}
        if any(not value for value in given.values()):
            again.error = "Please fill in all required attributes."
            return form_page(start_response, site.version, query, again)
        try:
            # moto's own call: sets the password and, permanent, CONFIRMS the user.
            site.backend.admin_set_user_password(site.pool.id, user.username, new_password, True)
        except InvalidPasswordException:
            again.error = "Password does not conform to policy."
            return form_page(start_response, site.version, query, again)
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
        params = first_params(query)
        client = site.pool.clients.get(params.get("client_id", ""))
        logout_uri = params.get("logout_uri")
        if client is not None and logout_uri and logout_uri in (client.extended_config.get("LogoutURLs") or []):
            return redirect(start_response, logout_uri)
        reason = "logout_uri is not an allowed sign-out URL" if logout_uri else "no logout_uri"
        return redirect(start_response, f"https://{site.host}/login?{query}", reason=reason)

    def _error_page(
        self, environ: dict[str, Any], start_response: StartResponse, site: _Site, query: str
    ) -> Iterable[bytes]:
        error = first_params(query).get("error", "")
        body = error_html(error)
        return page(start_response, "400 Bad Request", "Error", body, reason=error or "error")

    def _reject(
        self, start_response: StartResponse, site: _Site, reject: Rejection, *, as_page: bool
    ) -> Iterable[bytes]:
        if reject.redirect_uri:
            extra = {"error": reject.error}
            if reject.description:
                extra["error_description"] = reject.description
            if reject.state is not None:
                extra["state"] = reject.state
            return redirect(start_response, append_params(reject.redirect_uri, "?", extra), reason=reject.reason)
        if as_page:
            # /login shows the error itself (AWS answers 400 on the login page).
            return page(start_response, "400 Bad Request", "Error", error_html(reject.error), reason=reject.reason)
        target = {"error": reject.error}
        if reject.client_id:
            target["client_id"] = reject.client_id
        return redirect(start_response, f"https://{site.host}/error?{urlencode(target)}", reason=reject.reason)

    def _start_change(self, site: _Site, client: CognitoIdpUserPoolClient, login_name: str) -> str:
        token = secrets.token_urlsafe(32)
        expires_at = time.monotonic() + auth_session_seconds(client)
        self._pending.put(token, PendingChange(site.pool.id, client.id, login_name, expires_at))
        return token

    def _finish(
        self, start_response: StartResponse, site: _Site, grant: Grant, user: CognitoIdpUser, login_name: str
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
            return redirect(start_response, append_params(grant.redirect_uri, "?", values))
        tokens = mint_tokens(site.pool, grant.client, login_name, grant.scopes, nonce=grant.nonce)
        values = {}
        if "id_token" in tokens:
            values["id_token"] = tokens["id_token"]
        values.update(access_token=tokens["access_token"], expires_in=str(tokens["expires_in"]), token_type="Bearer")
        if grant.state is not None:
            values["state"] = grant.state
        return redirect(start_response, append_params(grant.redirect_uri, "#", values))

    def _site(self, environ: Mapping[str, Any], host: str) -> _Site | None:
        """The pool whose domain is `host`: a prefix domain in the host's region, else a custom domain."""
        preferred = self.account_id_for(environ)
        match = PREFIX_HOST.match(host)
        if match:
            found = find_user_pool(preferred, domain=match.group(1), region=match.group(2))
        else:
            found = find_user_pool(preferred, custom_domain=host)
        if found is None:
            return None
        domain = found.backend.user_pool_domains.get(match.group(1)) if match else None
        return _Site(host, found.backend, found.pool, domain)

"""The hosted UI's pages: the sign-in forms of both hosted UIs, the change-password form, errors.

The classic hosted UI (version 1) shows its sign-in form twice (a copy for narrow screens and one
for wide ones, one always hidden), with a relative ``action``, a hidden ``_csrf`` field that must
match the ``XSRF-TOKEN`` cookie set with the page, and the error line in
``errorMessage-customizable``. Managed login (version 2) asks for the user name first (a field
found by its label, no ``name=username``) and a **Next** button, then the password on a second page.

Error answers carry an ``x-sandbox-reason`` header (a fixed, short English phrase) so the grader
can tell causes apart without parsing pages; AWS sends no such header.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from grader.sandbox.wsgi import StartResponse

ERROR_PAGE_TEXT = "An error was encountered with the requested page."


@dataclass
class Form:
    """What a page shows: which form, the error line, the values to keep."""

    kind: str  # "signin", "password" (managed login's second step) or "change"
    error: str = ""
    username: str = ""
    session: str = ""
    missing_attributes: list[str] = field(default_factory=list)


def form_page(start_response: StartResponse, version: int, query: str, form: Form) -> list[bytes]:
    """The page that shows `form` (the classic hosted UI for `version` 1, managed login for 2).

    It posts back to ``/login?<query>``.
    """
    action = escape(f"/login?{query}")  # relative, as Cognito's own forms are
    csrf = secrets.token_urlsafe(24) if version == 1 else ""
    cookie = [("Set-Cookie", f"XSRF-TOKEN={csrf}; Path=/; HttpOnly; SameSite=Lax")] if csrf else []
    if form.kind == "change":
        body = _change_html(action, form, csrf)
        return page(start_response, "200 OK", "Change password", body, reason=form.error, extra=cookie)
    if version == 2:
        body = _managed_html(action, form)
        return page(start_response, "200 OK", "Sign in", body, reason=form.error, extra=cookie)
    copies = "".join(_classic_copy(action, form, csrf, wide) for wide in (False, True))
    return page(start_response, "200 OK", "Signin", copies, reason=form.error, extra=cookie)


def error_html(error: str) -> str:
    """The body of Cognito's error page for the error code `error`."""
    return (
        f'<p id="errorMessage">{escape(ERROR_PAGE_TEXT)}</p><p>Error: <code id="errorCode">{escape(error)}</code></p>'
    )


def first_params(query: str) -> dict[str, str]:
    """First value of each parameter (``+`` and %-escapes decoded)."""
    values: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(key, value)
    return values


def append_params(uri: str, separator: str, values: Mapping[str, str]) -> str:
    """`uri` with `values` added to its query (`separator` "?") or as its fragment ("#")."""
    encoded = urlencode(values)
    if separator == "?" and "?" in uri:
        return f"{uri}&{encoded}"
    return f"{uri}{separator}{encoded}"


def escape(text: str) -> str:
    """`text` safe in HTML text and attribute values."""
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


def unavailable_page(start_response: StartResponse) -> list[bytes]:
    """Managed login's page for an app client without a branding style."""
    body = "<h1>Login pages unavailable</h1><p>Please contact an administrator.</p>"
    return page(start_response, "403 Forbidden", "Login pages unavailable", body, reason="no branding style")


def csrf_matches(environ: Mapping[str, Any], given: str) -> bool:
    """Whether the posted `_csrf` is the XSRF-TOKEN cookie set with the form."""
    cookies = SimpleCookie()
    try:
        cookies.load(str(environ.get("HTTP_COOKIE", "")))
    except CookieError:
        return False
    morsel = cookies.get("XSRF-TOKEN")
    return bool(given) and morsel is not None and secrets.compare_digest(morsel.value, given)


def _classic_copy(action: str, form: Form, csrf: str, wide: bool) -> str:
    """One copy of the classic sign-in form: for narrow screens, or for wide ones (the other is hidden)."""
    kind = "modal-content-desktop visible-md visible-lg" if wide else "modal-content-mobile visible-xs visible-sm"
    error = (
        f'<p id="loginErrorMessage" class="errorMessage-customizable">{escape(form.error)}</p>' if form.error else ""
    )
    return f"""<div class="{kind}">
<h1>Sign in with your username and password</h1>
{error}<form name="cognitoSignInForm" method="post" action="{action}">
<input type="hidden" name="_csrf" value="{escape(csrf)}">
<label for="signInFormUsername">Username</label>
<input id="signInFormUsername" name="username" type="text" autocapitalize="none" required \
value="{escape(form.username)}">
<label for="signInFormPassword">Password</label>
<input id="signInFormPassword" name="password" type="password" required>
<input type="submit" name="signInSubmitButton" value="Sign in">
</form></div>
"""


def _managed_html(action: str, form: Form) -> str:
    """Managed login's sign-in: the user name and Next, or (second step) the password and Sign in."""
    error = f'<div class="error" role="alert">{escape(form.error)}</div>' if form.error else ""
    if form.kind == "signin" and not (form.error and form.username):
        return f"""<h1>Sign in</h1>
{error}<form method="post" action="{action}">
<input type="hidden" name="step" value="username">
<label for="formField:r1">Username</label>
<input id="formField:r1" name="identifier" type="text" autocapitalize="none" value="{escape(form.username)}">
<button type="submit">Next</button>
</form>"""
    return f"""<h1>Sign in</h1>
<p>{escape(form.username)}</p>
{error}<form method="post" action="{action}">
<input type="hidden" name="step" value="password">
<input type="hidden" name="identifier" value="{escape(form.username)}">
<label for="formField:r2">Password</label>
<input id="formField:r2" name="password" type="password">
<button type="submit">Sign in</button>
</form>"""


def _change_html(action: str, form: Form, csrf: str = "") -> str:
    error = (
        f'<p id="changePasswordErrorMessage" class="errorMessage-customizable" role="alert">{escape(form.error)}</p>'
        if form.error
        else ""
    )
    csrf_field = f'<input type="hidden" name="_csrf" value="{escape(csrf)}">\n' if csrf else ""
    required = "".join(
        f'<label for="required_{escape(name)}">{escape(name)}</label>'
        f'<input id="required_{escape(name)}" name="requiredAttributes[{escape(name)}]" type="text" required>\n'
        for name in form.missing_attributes
    )
    return f"""<h1>Change Password</h1>
<p>Please enter a new password.</p>
{error}<form name="cognitoChangePasswordForm" method="post" action="{action}">
{csrf_field}<input type="hidden" name="session" value="{escape(form.session)}">
<input type="hidden" name="username" value="{escape(form.username)}">
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


def page(
    start_response: StartResponse,
    status: str,
    title: str,
    body: str,
    *,
    reason: str = "",
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    """Answer with an HTML page (`reason`: the x-sandbox-reason header; `extra`: more headers)."""
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body><main>\n{body}\n</main></body></html>\n"
    ).encode()
    start_response(status, [*_headers("text/html; charset=utf-8", len(document), reason), *(extra or [])])
    return [document]


def redirect(start_response: StartResponse, location: str, *, reason: str = "") -> list[bytes]:
    """Answer with a 302 to `location`."""
    start_response("302 Found", [("Location", location), *_headers("text/plain", 0, reason)])
    return [b""]

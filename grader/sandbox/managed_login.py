"""The managed-login settings moto 5.2 does not keep, answered for the sandbox.

moto ignores ``ManagedLoginVersion`` on ``CreateUserPoolDomain``, leaves it out of
``DescribeUserPoolDomain`` and has no branding-style API. AWS (docs/aws-hosted-ui.md, "Which hosted
UI a domain serves"): a domain serves the classic hosted UI (version 1, the API's default) or
managed login (version 2); ``DescribeManagedLoginBrandingByClient`` returns a client's style, or
``ResourceNotFoundException`` when it has none. These settings live on moto's own domain and client
objects (attributes of this module's naming), so a moto reset forgets them with everything else.

Also here: how the sandbox's hosted UI of a domain behaves (``up``, ``unavailable``: every page
answers 503, ``unrecognised``: the sign-in page shows no form), set by scenarios through
:func:`set_hosted_ui_mode`. AWS has no such setting; it stands for Cognito's trouble.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from grader.sandbox.moto_state import CognitoIdpUserPoolClient, CognitoIdpUserPoolDomain, find_user_pool
from grader.sandbox.wsgi import WSGIApp

_PREFIX = "AWSCognitoIdentityProviderService."
OPERATIONS = frozenset(
    _PREFIX + name
    for name in (
        "CreateUserPoolDomain",
        "DescribeUserPoolDomain",
        "CreateManagedLoginBranding",
        "DescribeManagedLoginBrandingByClient",
    )
)
HOSTED_UI_MODES = ("up", "unavailable", "unrecognised")
_VERSION = "_sandbox_managed_login_version"
_MODE = "_sandbox_hosted_ui_mode"
_BRANDING = "_sandbox_managed_login_branding"

Send = Callable[[int, Any], list[bytes]]
"""Sends a JSON answer: (HTTP status, the body as a JSON value, or bytes sent as they are)."""


def managed_login_version(domain: CognitoIdpUserPoolDomain | None) -> int:
    """The domain's ManagedLoginVersion: 1 (classic hosted UI) unless it was made with 2."""
    return int(getattr(domain, _VERSION, 1) or 1)


def hosted_ui_mode(domain: CognitoIdpUserPoolDomain | None) -> str:
    """How the sandbox's hosted UI of `domain` behaves: one of HOSTED_UI_MODES."""
    return str(getattr(domain, _MODE, "up"))


def set_hosted_ui_mode(domain: CognitoIdpUserPoolDomain, mode: str) -> None:
    """Make the hosted UI of `domain` behave as `mode` (ValueError for an unknown one)."""
    if mode not in HOSTED_UI_MODES:
        raise ValueError(f"unknown hosted UI mode {mode!r}; known: {', '.join(HOSTED_UI_MODES)}")
    setattr(domain, _MODE, mode)


def branding_of(client: CognitoIdpUserPoolClient | None) -> dict[str, Any] | None:
    """The client's managed login branding style, or None when it has none."""
    found = getattr(client, _BRANDING, None)
    return found if isinstance(found, dict) else None


def answer(
    environ: Mapping[str, Any],
    target: str,
    params: dict[str, Any],
    account_id: str,
    app: WSGIApp,
    send: Send,
) -> Iterable[bytes]:
    """Answer one of OPERATIONS, moto answering the domain calls underneath."""
    operation = target.removeprefix(_PREFIX)
    if operation == "CreateUserPoolDomain":
        return _create_domain(environ, params, account_id, app, send)
    if operation == "DescribeUserPoolDomain":
        return _describe_domain(environ, params, account_id, app, send)
    found = find_user_pool(account_id, pool_id=str(params.get("UserPoolId") or ""))
    client = found.pool.clients.get(str(params.get("ClientId") or "")) if found else None
    if found is None or client is None:
        return send(400, _error("ResourceNotFoundException", "User pool client does not exist."))
    if operation == "CreateManagedLoginBranding":
        made: dict[str, Any] = {
            "ManagedLoginBrandingId": str(uuid.uuid4()),
            "UserPoolId": found.pool.id,
            "UseCognitoProvidedValues": bool(params.get("UseCognitoProvidedValues", False)),
            "Settings": params.get("Settings") or {},
            "Assets": [],
            "CreationDate": time.time(),
            "LastModifiedDate": time.time(),
        }
        setattr(client, _BRANDING, made)
        return send(200, {"ManagedLoginBranding": made})
    style = branding_of(client)
    if style is None:
        return send(400, _error("ResourceNotFoundException", "Managed login branding does not exist for this client."))
    return send(200, {"ManagedLoginBranding": style})


def _create_domain(
    environ: Mapping[str, Any], params: dict[str, Any], account_id: str, app: WSGIApp, send: Send
) -> Iterable[bytes]:
    version = params.get("ManagedLoginVersion")
    status, body = _call(app, environ)
    if status != 200 or not isinstance(body, dict):
        return send(status, body)
    domain = _domain(account_id, str(params.get("UserPoolId") or ""), str(params.get("Domain") or ""))
    if domain is not None and version in (1, 2):
        setattr(domain, _VERSION, version)
    body["ManagedLoginVersion"] = managed_login_version(domain)
    return send(200, body)


def _describe_domain(
    environ: Mapping[str, Any], params: dict[str, Any], account_id: str, app: WSGIApp, send: Send
) -> Iterable[bytes]:
    status, body = _call(app, environ)
    if status != 200 or not isinstance(body, dict):
        return send(status, body)
    description = body.get("DomainDescription")
    if isinstance(description, dict) and description:
        domain = _domain(account_id, str(description.get("UserPoolId") or ""), str(params.get("Domain") or ""))
        description["ManagedLoginVersion"] = managed_login_version(domain)
    return send(200, body)


def _domain(account_id: str, pool_id: str, name: str) -> CognitoIdpUserPoolDomain | None:
    found = find_user_pool(account_id, pool_id=pool_id) if pool_id else None
    return found.backend.user_pool_domains.get(name) if found else None


def _call(app: WSGIApp, environ: Mapping[str, Any]) -> tuple[int, Any]:
    """moto's answer as (status, parsed JSON), or (status, the raw bytes) when it is not JSON."""
    captured: list[str] = []

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        captured.append(status)
        return lambda _data: None

    chunks: Iterable[bytes] = app(dict(environ), start)
    raw = b"".join(chunks)
    status = int(captured[0].split()[0]) if captured else 500
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, raw


def _error(code: str, message: str) -> dict[str, Any]:
    return {"__type": code, "message": message}

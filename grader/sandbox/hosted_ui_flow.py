"""The rules of the hosted UI's sign-in flow: which OAuth requests it takes, and which passwords and users.

:func:`validate` checks an ``/oauth2/authorize`` or ``/login`` request in AWS's order, answering
in the shape real Cognito was observed to answer where that differs from its documentation;
:func:`password_policy_problem` and :func:`sign_in_blocked` say why a new password or a user is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from grader.sandbox.hosted_ui_tokens import ID_SCOPES
from grader.sandbox.moto_state import CognitoIdpUser, CognitoIdpUserPool, CognitoIdpUserPoolClient, sign_in_refusal

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


@dataclass(frozen=True)
class Grant:
    """A request that passed validation."""

    client: CognitoIdpUserPoolClient
    response_type: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None


@dataclass(frozen=True)
class PendingChange:
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


class Rejection(Exception):
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


def validate(pool: CognitoIdpUserPool, params: dict[str, str]) -> Grant:
    """Check an authorize/login request to `pool`'s domain in AWS's order.

    Raises :class:`Rejection` on the first problem:

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
    client = pool.clients.get(client_id) if client_id else None
    if client is None:
        raise Rejection(
            "invalid_request", "client_id is missing" if not client_id else "unknown client_id", client_id=client_id
        )
    redirect_uri = params.get("redirect_uri", "")
    callbacks = client.extended_config.get("CallbackURLs") or []
    if not redirect_uri:
        raise Rejection("redirect_mismatch", "redirect_uri is missing", client_id=client_id)
    parts = urlsplit(redirect_uri)
    web = parts.scheme in ("http", "https")
    if not parts.scheme or (web and not parts.netloc) or "#" in redirect_uri:
        raise Rejection(
            "redirect_mismatch", "redirect_uri is not an absolute URI without fragment", client_id=client_id
        )
    if redirect_uri not in callbacks:
        raise Rejection("redirect_mismatch", "redirect_uri is not a registered callback URL", client_id=client_id)
    providers = client.extended_config.get("SupportedIdentityProviders") or []
    provider = params.get("identity_provider")
    if params.get("idp_identifier") or (provider and provider != "COGNITO"):
        raise Rejection("invalid_request", "identity provider not supported by the client", client_id=client_id)
    if "COGNITO" not in providers:
        raise Rejection(
            "invalid_request", "COGNITO is not a supported identity provider of the client", client_id=client_id
        )
    if not client.extended_config.get("AllowedOAuthFlowsUserPoolClient"):
        raise Rejection("invalid_request", "OAuth is not enabled for the client", client_id=client_id)
    state = params.get("state")

    def back(error: str, reason: str, description: str = "") -> Rejection:
        return Rejection(
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
    if ID_SCOPES & set(requested) and "openid" not in requested:
        raise back("invalid_request", "email, phone and profile need the openid scope", "invalid_scope")
    return Grant(client, response_type, redirect_uri, tuple(dict.fromkeys(requested)), state, params.get("nonce"))


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


def sign_in_blocked(pool: CognitoIdpUserPool, user: CognitoIdpUser) -> str:
    """Why a user with the right password still can't sign in here ("" if they can)."""
    refusal = sign_in_refusal(user)
    if refusal is not None:
        return refusal.message
    if pool.mfa_config == "ON" or user.software_token_mfa_enabled or user.sms_mfa_enabled:
        return "Multi-factor authentication is not available in the sandbox hosted UI."
    return ""

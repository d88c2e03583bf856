"""Errors the grader hits while looking (not the student's mistakes), each with what to do.

`GraderError.message` is one or two sentences fit to show a student or an instructor: it never
carries a secret, a traceback, or a raw exception dump.
"""

from __future__ import annotations

from typing import Literal, get_args

ErrorKind = Literal[
    "error",  # no cause more precise said
    "bug",  # the grader's own bug
    "usage",  # a command-line argument, file or folder the grader was given is wrong
    "write-refused",  # the grader tried an AWS call that is not a read
    "access-denied",
    "expired",
    "bad-credentials",
    "no-credentials",
    "throttled",
    "aws",  # AWS answered another error
    "aws-client",  # the AWS SDK failed before an answer
    "tls",  # a certificate the grader does not trust
    "unreachable",  # no connection (AWS, a proxy, the website or the hosted UI)
    "deadline",  # the grade's time ran out
    "no-browser",
    "browser",  # the browser failed while signing in
    "browser-busy",
    "site",  # the website could not be reached, so what needs it cannot be done
    "could-not-see",  # a check could not see what it judges (checks/test_site.py)
    "hosted-ui",  # Cognito's hosted UI did not answer as a check needs (checks/test_hostedui.py)
    "incomplete",  # the sign-in events could not all be read (checks/test_cloudtrail.py)
    "not-observed",  # saved evidence does not hold a part a check needs (grader/pipeline.py)
]
"""What caused a GraderError: what it says to do may depend on it (grader/gradescope, grader/batch)."""
ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)


def error_kind(name: str) -> ErrorKind:
    """The ErrorKind spelled `name` (as read back from a file); a ValueError for any other string."""
    for kind in ERROR_KINDS:
        if kind == name:
            return kind
    raise ValueError(f"{name!r} is not a kind of grader error; the kinds are {', '.join(ERROR_KINDS)}")


ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
BAD_KEYS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


class GraderError(Exception):
    """The grader could not look. `kind` groups causes; `message` says what to do."""

    def __init__(self, message: str, kind: ErrorKind = "error") -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind

    def __str__(self) -> str:
        return self.message


class WriteRefused(GraderError):
    """The grader tried an AWS call that is not a read; it never sends one."""

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"The grader refused to call {service}:{operation} because it only reads a student's "
            "account. This is a bug in the grader: please report it.",
            kind="write-refused",
        )


def explain(exc: Exception, action: str) -> GraderError:
    """Turn an exception raised while doing `action` (e.g. "list the user pools") into a GraderError."""
    # Imported here: the command line reads this module, and should not wait for botocore to start.
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProxyConnectionError,
        ReadTimeoutError,
        SSLError,
    )

    if isinstance(exc, GraderError):
        return exc
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        operation = getattr(exc, "operation_name", "")
        if code in ACCESS_DENIED:
            return GraderError(
                f"AWS denied the grader permission to {action} ({code} on {operation}). "
                "Give the credentials the read permissions listed in the README, or grade with the "
                "lab's own credentials.",
                kind="access-denied",
            )
        if code in EXPIRED:
            return GraderError(
                "The AWS credentials have expired. Start the lab session again and copy fresh "
                "credentials (AWS Details > Show), then run the grader again.",
                kind="expired",
            )
        if code in BAD_KEYS:
            return GraderError(
                "AWS did not accept the credentials (the access key or secret is wrong or was "
                "deleted). Copy the credentials again and run the grader again.",
                kind="bad-credentials",
            )
        if code in THROTTLED:
            return GraderError(
                f"AWS throttled the grader while it tried to {action}, even after retrying. "
                "Wait a minute and run the grader again.",
                kind="throttled",
            )
        return GraderError(
            f"AWS answered {code or 'an error'} when the grader tried to {action}. "
            "Run the grader again; if it keeps happening, show this message to your instructor.",
            kind="aws",
        )
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return GraderError(
            "No AWS credentials were found. Use --profile NAME, --credentials-file FILE (the block "
            "from the lab's AWS Details), or set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
            "AWS_SESSION_TOKEN.",
            kind="no-credentials",
        )
    if isinstance(exc, SSLError):
        from grader.network import untrusted_certificate

        return GraderError(
            untrusted_certificate(str(getattr(exc, "kwargs", {}).get("endpoint_url", "AWS")), action), kind="tls"
        )
    if isinstance(exc, ProxyConnectionError):
        from grader.network import shown

        proxy = shown(str(getattr(exc, "kwargs", {}).get("proxy_url", "")))
        return GraderError(
            f"The grader could not {action} through the proxy {proxy}: it refused or failed the connection. "
            "Check HTTPS_PROXY (or --proxy) and NO_PROXY, then run the grader again.",
            kind="unreachable",
        )
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "AWS")
        return GraderError(
            f"The grader could not reach {endpoint} to {action}. Check the network connection "
            "(and --endpoint-url, if you gave one), then run the grader again.",
            kind="unreachable",
        )
    if isinstance(exc, BotoCoreError):
        return GraderError(
            f"The AWS client failed to {action}: {type(exc).__name__}. Check the region and the "
            "credentials, then run the grader again.",
            kind="aws-client",
        )
    return GraderError(
        f"The grader hit an unexpected problem while it tried to {action} ({type(exc).__name__}). "
        "This is a bug in the grader: please report it with this message.",
        kind="bug",
    )

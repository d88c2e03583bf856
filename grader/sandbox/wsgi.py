"""WSGI plumbing the sandbox's layers share."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request; the scope may be cut short.
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(?:\d{8}/([^/,\s]+)/([^/,\s]+)/)?")


@dataclass(frozen=True)
class SigV4Credential:
    """The ``Credential`` of a SigV4 ``Authorization`` header; region and service when it names its scope."""

    access_key: str
    region: str | None = None
    service: str | None = None


def sigv4_credential(environ: Mapping[str, Any]) -> SigV4Credential | None:
    """The request's SigV4 credential, or None when its ``Authorization`` header carries none."""
    match = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if match is None:
        return None
    return SigV4Credential(match.group(1), match.group(2), match.group(3))


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so the next layer can read it too."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def read_json_object(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The request body as a JSON object (put back for the next layer); None if it is not one.

    An empty body counts as the empty object, as the AWS JSON protocols treat it.
    """
    try:
        params = json.loads(read_body(environ) or b"{}")
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def call_app(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run the inner app to completion: its status, headers and whole body."""
    captured: dict[str, Any] = {}
    written: list[bytes] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, list(headers)
        return written.append

    result = app(environ, capture)
    try:
        chunks = [bytes(chunk) for chunk in result]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured.get("status", "500 Internal Server Error"), captured.get("headers", []), b"".join(written + chunks)


def status_code(status: str) -> int:
    """The number of a WSGI status line (500 when it has none)."""
    try:
        return int(status.split(" ", 1)[0])
    except ValueError:
        return 500


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of the header `name` (lower case), or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None

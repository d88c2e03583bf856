"""CORS for the sandbox's AWS endpoint, answered by the sandbox itself.

The course website calls Cognito's API from the browser (the SDK's `fetch` with `X-Amz-Target`),
so the browser first sends a CORS preflight (`OPTIONS /`). AWS answers it for every origin. The
sandbox answers it here, before any of moto's handlers sees it: which of moto's services claims
`OPTIONS /` changes between moto releases, and a preflight is no AWS call to route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

PREFLIGHT_MAX_AGE_S = 86400
ALLOWED_METHODS = "GET, POST, PUT, DELETE, HEAD, OPTIONS"


def is_preflight(environ: Mapping[str, Any]) -> bool:
    """Whether the request is a browser's CORS preflight (OPTIONS naming the method it will send)."""
    return environ.get("REQUEST_METHOD") == "OPTIONS" and bool(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))


def allow_origin(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The header that lets the requesting origin read an answer: its own origin, or any."""
    origin = environ.get("HTTP_ORIGIN")
    if origin:
        return [("Access-Control-Allow-Origin", str(origin)), ("Vary", "Origin")]
    return [("Access-Control-Allow-Origin", "*")]


def answer_preflight(environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """200 with the CORS headers that allow the method and headers the preflight asks for."""
    asked_headers = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
    headers = [
        *allow_origin(environ),
        ("Access-Control-Allow-Methods", ALLOWED_METHODS),
        ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_S)),
        ("Content-Length", "0"),
    ]
    if asked_headers:
        headers.append(("Access-Control-Allow-Headers", asked_headers))
    start_response("200 OK", headers)
    return [b""]

"""WSGI plumbing the sandbox's layers share."""

from __future__ import annotations

import io
import json
from typing import Any


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

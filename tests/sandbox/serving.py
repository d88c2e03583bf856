"""What the sandbox-layer tests share: serving one WSGI stack, resetting it, and talking to it."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import requests
from werkzeug.serving import make_server

REGION = "us-east-1"
ORIGIN = "https://ec2-44-195-176-112.compute-1.amazonaws.com"


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the WSGI `app` on a free local port for the duration; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def reset(url: str) -> None:
    """Empty moto's backends behind `url`."""
    requests.post(url + "/moto-api/reset", timeout=10).raise_for_status()


def client(url: str, service: str = "cognito-idp", region: str = REGION, account: str | None = None) -> Any:
    """A boto3 client for `url`; `account` makes moto act for that account (x-moto-account-id)."""
    made = boto3.client(
        service, endpoint_url=url, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    if account:

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        made.meta.events.register(f"before-sign.{made.meta.service_model.endpoint_prefix}.*", add_header)
    return made


def browser_post(url: str, op: str, body: dict[str, Any], **headers: str) -> requests.Response:
    """An unsigned JSON POST to Cognito, as amazon-cognito-identity-js sends it from the browser."""
    return requests.post(
        url + "/",
        data=json.dumps(body),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{op}",
            "X-Amz-User-Agent": "aws-amplify/0.1.x js",
            "Origin": ORIGIN,
            **headers,
        },
        timeout=10,
    )

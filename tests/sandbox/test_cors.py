"""The sandbox answers the browser's CORS preflights itself, whichever moto handler would claim them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from werkzeug.test import Client

from grader.sandbox.server import Gateway
from tests.sandbox.serving import ORIGIN


def _never_called(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    raise AssertionError(f"the preflight reached moto: {environ['REQUEST_METHOD']} {environ['PATH_INFO']}")


@pytest.fixture
def gateway() -> Client:
    return Client(Gateway(_never_called))  # type: ignore[arg-type]  # any WSGI app stands in for moto


@pytest.mark.parametrize("path", ["/", "/some-bucket", "/oauth-like/path"])
def test_preflight_is_answered_before_moto(gateway: Client, path: str) -> None:
    """An OPTIONS preflight from the site's origin gets 200 with CORS headers and never reaches moto."""
    resp = gateway.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type,x-amz-target,x-amz-user-agent"


def test_preflight_without_origin_allows_any(gateway: Client) -> None:
    """A preflight that names no origin is allowed for any origin, as AWS answers."""
    resp = gateway.options("/", headers={"Access-Control-Request-Method": "POST"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_plain_options_is_not_a_preflight() -> None:
    """An OPTIONS without Access-Control-Request-Method is an ordinary request: it goes on to moto."""
    seen: list[str] = []

    def inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ["REQUEST_METHOD"])
        start_response("204 No Content", [])
        return [b""]

    resp = Client(Gateway(inner)).options("/")  # type: ignore[arg-type]
    assert (resp.status_code, seen) == (204, ["OPTIONS"])

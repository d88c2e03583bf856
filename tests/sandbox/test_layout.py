"""Tests for the sandbox's URL layout (grader.sandbox.layout), which the grader imports without moto."""

from __future__ import annotations

import subprocess
import sys

from grader.browser.routing import discover_routes, local_url
from grader.sandbox.layout import HOSTEDUI_PATH, SITES_PATH, SandboxRoutes, hosted_ui_path, sandbox_url
from grader.target import Target

HOST = "vehicleapp-quick-2841.auth.us-east-1.amazoncognito.com"
SITE = "ec2-1-2-3-4.compute-1.amazonaws.com"


def test_importing_the_layout_loads_neither_moto_nor_the_browser() -> None:
    """A grader that talks to a sandbox run elsewhere imports the layout alone: no moto, no browser."""
    code = (
        "import sys, grader.sandbox.layout; "
        "print(sorted(m for m in ('moto', 'grader.browser', 'grader.sandbox.server') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_the_layout_puts_sites_and_hosted_uis_under_the_sandbox_paths() -> None:
    """Sites under /_sandbox/sites/<host>, hosted UIs under /_sandbox/hostedui/<domain host>."""
    assert SITES_PATH == "/_sandbox/sites"
    assert HOSTEDUI_PATH == "/_sandbox/hostedui"
    assert hosted_ui_path(f" {HOST.upper()} ") == f"/_sandbox/hostedui/{HOST}"
    assert sandbox_url("http://127.0.0.1:9/", f"https://{HOST}/login?a=1") == (
        f"http://127.0.0.1:9/_sandbox/hostedui/{HOST}/login?a=1"
    )


def test_sandbox_routes_forward_cognito_hosted_ui_and_sites_and_block_the_rest() -> None:
    """The sandbox's routes decide as before the move: forward, pass, refuse or block."""
    routes = SandboxRoutes(
        "http://127.0.0.1:5000",
        {SITE: {"path": f"{SITES_PATH}/{SITE}", "mode": "up", "schemes": ["https"]}},
        ("http://127.0.0.1:8000",),
    )
    assert routes.decide("https://cognito-idp.us-east-1.amazonaws.com/") == ("forward", "http://127.0.0.1:5000/")
    assert routes.decide(f"https://{HOST}/login") == ("forward", f"http://127.0.0.1:5000{HOSTEDUI_PATH}/{HOST}/login")
    assert routes.decide(f"https://{SITE}/a.js") == ("forward", f"http://127.0.0.1:5000{SITES_PATH}/{SITE}/a.js")
    assert routes.decide(f"http://{SITE}/a.js") == ("refuse", "")
    assert routes.decide("http://127.0.0.1:8000/x") == ("pass", "http://127.0.0.1:8000/x")
    assert routes.decide("https://example.com/") == ("block", "")
    assert local_url(f"https://{SITE}/a.js", routes) == f"http://127.0.0.1:5000{SITES_PATH}/{SITE}/a.js"
    assert local_url("https://cognito-idp.us-east-1.amazonaws.com/", routes) is None


def test_discover_routes_asks_the_sandbox_only_with_an_endpoint() -> None:
    """Without an endpoint URL the product's routing decides alone, and the sandbox layout stays unloaded."""
    code = (
        "import sys; from grader.browser.routing import discover_routes; from grader.target import Target; "
        "print(type(discover_routes(Target(region='us-east-1'))).__name__, 'grader.sandbox.layout' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "RealRoutes False"
    assert type(discover_routes(Target(region="us-east-1"))).__name__ == "RealRoutes"

"""Puts the course website on the sandbox's instance, as the student's rebuildapp.sh does."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.sandbox.provision import ProvisionedLab
from grader.sandbox.scenarios import FIXTURES
from grader.sandbox.server import Sandbox
from grader.sandbox.sites import DeployedSite

SITE_FIXTURE = FIXTURES / "site"
DEFAULT_PAGE = "<html><body><h1>It works!</h1><p>The web server is running.</p></body></html>"


def _rebuild_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_site_rebuild", SITE_FIXTURE / "rebuild.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deploy_site(
    sandbox: Sandbox, site: dict[str, Any] | None, made: ProvisionedLab, region: str = "us-east-1"
) -> Path | None:
    """Render and serve the website for a running instance; returns its folder."""
    if not site or not made.instance_dns or not made.instance_running:
        return None
    values = {
        "pool_id": made.pool_id,
        "client_id": made.client_id,
        "domain_host": f"{made.domain}.auth.{region}.amazoncognito.com" if made.domain else "",
        "instance_dns": made.instance_dns,
    }
    root = Path(tempfile.mkdtemp(prefix="site-", dir=sandbox.workdir))
    if site["deployed"]:

        def filled(key: str) -> str | None:
            text = site[key].format(**values)
            return None if not text or text in {"https://", "http://"} else text

        _rebuild_module().render_site(
            SITE_FIXTURE / "template",
            root,
            user_pool_id=filled("user_pool_id"),
            client_id=filled("client_id"),
            cognito_domain=filled("cognito_domain"),
            ec2_host=filled("ec2_host"),
        )
        if site.get("tamper") == "failure-goes-to-private":
            login_js = root / "scripts" / "login.js"
            login_js.write_text(
                login_js.read_text(encoding="utf-8").replace("goTo('login.html?msg=0')", "goTo('private.html?msg=1')"),
                encoding="utf-8",
            )
    else:
        (root / "index.html").write_text(DEFAULT_PAGE, encoding="utf-8")
    sandbox.deploy_site(DeployedSite(host=made.instance_dns, root=root, mode=site["mode"]))
    return root

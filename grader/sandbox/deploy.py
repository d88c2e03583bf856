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
    else:
        (root / "index.html").write_text(DEFAULT_PAGE, encoding="utf-8")
    sandbox.deploy_site(DeployedSite(host=made.instance_dns, root=root, mode=site["mode"]))
    return root


# How a scenario's student edited login.js after their own sign-ins: each is one replacement.
METADATA_URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
_LOGIN_HANDLER = "function login(event) {\n  event.preventDefault();\n"
TAMPERS = {
    # Any failure shows private.html: any password seems to work.
    "failure-goes-to-private": ("goTo('login.html?msg=0')", "goTo('private.html?msg=1')"),
    # Login never answers: the page runs a loop for good.
    "spins-on-login": (_LOGIN_HANDLER, _LOGIN_HANDLER + "  for (;;) { /* never ends */ }\n"),
    # Login sends the browser to the instance metadata service, where an instance's keys are.
    "login-goes-to-metadata": (_LOGIN_HANDLER, _LOGIN_HANDLER + f"  goTo('{METADATA_URL}');\n  return;\n"),
}


def tamper_site(root: Path | None, tamper: str) -> None:
    """Edit the deployed site's login.js as the scenario says (TAMPERS); '' leaves it alone."""
    if root is None or not tamper:
        return
    if tamper not in TAMPERS:
        raise ValueError(f"unknown site tamper {tamper!r}; known: {', '.join(TAMPERS)}")
    before, after = TAMPERS[tamper]
    login_js = root / "scripts" / "login.js"
    text = login_js.read_text(encoding="utf-8")
    if before not in text:
        raise ValueError(f"site tamper {tamper!r}: login.js has no {before!r}")
    login_js.write_text(text.replace(before, after), encoding="utf-8")

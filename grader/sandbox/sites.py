"""Websites on the sandbox's EC2 instances: the course site, served under the instance's name.

The sandbox serves each deployed site at `<endpoint>/_sandbox/sites/<public DNS>/...` and lists
them at `<endpoint>/_sandbox/sites`, so the grader (in the same process or another) can route
the instance's public name there. A site can be `up`, `down` (nothing listens) or `hang` (it
accepts and never answers).
"""

from __future__ import annotations

import json
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

SITES_PATH = "/_sandbox/sites"
HANG_SECONDS = 120.0
MODES = ("up", "down", "hang")


@dataclass(frozen=True)
class DeployedSite:
    host: str
    root: Path
    mode: str = "up"
    schemes: tuple[str, ...] = ("https", "http")

    def listing(self) -> dict[str, Any]:
        return {"path": f"{SITES_PATH}/{self.host}", "mode": self.mode, "schemes": list(self.schemes)}


class SiteHost:
    """The sites deployed in the sandbox, and the WSGI handler that serves them."""

    def __init__(self) -> None:
        self.sites: dict[str, DeployedSite] = {}
        self._stop = threading.Event()

    def deploy(self, site: DeployedSite) -> None:
        if site.mode not in MODES:
            raise ValueError(f"site mode must be one of {MODES}, not {site.mode!r}")
        self.sites[site.host.lower()] = site

    def clear(self) -> None:
        self.sites.clear()

    def release(self) -> None:
        """Let hanging requests go (on shutdown)."""
        self._stop.set()

    def handles(self, path: str) -> bool:
        return path == SITES_PATH or path.startswith(SITES_PATH + "/")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == SITES_PATH:
            body = json.dumps({host: site.listing() for host, site in self.sites.items()}).encode()
            return _answer(start_response, "200 OK", body, "application/json")
        host, _, rest = path[len(SITES_PATH) + 1 :].partition("/")
        site = self.sites.get(host.lower())
        if site is None or site.mode == "down":
            return _answer(start_response, "502 Bad Gateway", b"no site is served under this name", "text/plain")
        if site.mode == "hang":
            self._stop.wait(HANG_SECONDS)
            return _answer(start_response, "504 Gateway Timeout", b"", "text/plain")
        return _serve_file(site.root, rest, start_response)


def _serve_file(root: Path, rest: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
    relative = rest or "index.html"
    if relative.endswith("/"):
        relative += "index.html"
    candidate = (root / relative).resolve()
    if root.resolve() not in candidate.parents or not candidate.is_file():
        return _answer(start_response, "404 Not Found", b"<h1>Not Found</h1>", "text/html")
    kind = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    if candidate.suffix == ".js":
        kind = "text/javascript"
    return _answer(start_response, "200 OK", candidate.read_bytes(), kind)


def _answer(start_response: Callable[..., Any], status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
    return [body]

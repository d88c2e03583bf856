"""Websites on the sandbox's EC2 instances: the course site, served under the instance's name.

The sandbox serves each deployed site at `<endpoint>/_sandbox/sites/<public DNS>/...` and lists
them at `<endpoint>/_sandbox/sites`, so the grader (in the same process or another) can route
the instance's public name there. A site can be `up`, `down` (nothing listens), `hang` (it
accepts and never answers) or `stream` (every page is an endless stream of bytes). Files are read
from the site's folder at each request, as a web server does.

A user's own folder (`grader sandbox --site DIR`) is served as the website of the running
instance; when none runs yet, of the first one that starts.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.sandbox.layout import SITES_PATH

HANG_SECONDS = 120.0
MODES = ("up", "down", "hang", "stream")
STREAM_CHUNK = b"<p>" + b"x" * 65_536 + b"</p>\n"


@dataclass(frozen=True)
class DeployedSite:
    host: str
    root: Path
    mode: str = "up"
    schemes: tuple[str, ...] = ("https", "http")

    def listing(self) -> dict[str, Any]:
        return {"path": f"{SITES_PATH}/{self.host}", "mode": self.mode, "schemes": list(self.schemes)}


def site_folder_problem(folder: Path) -> str:
    """Why `folder` cannot be served as the course website ('' when it can)."""
    if not folder.is_dir():
        return f"{folder} is not a folder."
    if not (folder / "login.html").is_file():
        return (
            f"{folder} has no login.html: give the folder of the course website "
            "(the one that holds login.html and scripts/settings.js)."
        )
    return ""


class SiteHost:
    """The sites deployed in the sandbox, and the WSGI handler that serves them.

    `running_hosts()` names the public DNS names of the running instances, the first started
    first: a folder given to :meth:`serve_folder` is served under the first of them.
    """

    def __init__(self, running_hosts: Callable[[], list[str]] | None = None) -> None:
        self.sites: dict[str, DeployedSite] = {}
        self.folder: Path | None = None
        self._running_hosts = running_hosts or list
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def deploy(self, site: DeployedSite) -> None:
        if site.mode not in MODES:
            raise ValueError(f"site mode must be one of {MODES}, not {site.mode!r}")
        self.sites[site.host.lower()] = site

    def serve_folder(self, folder: Path) -> str | None:
        """Serve `folder` as the running instance's website: the host it is served under, or None
        while no instance runs (it is then served for the first one that starts)."""
        problem = site_folder_problem(folder)
        if problem:
            raise ValueError(problem)
        with self._lock:
            self.folder = folder.resolve()
        return self._adopt_folder()

    def _adopt_folder(self) -> str | None:
        """Put the folder on the first running instance, once one runs."""
        with self._lock:
            if self.folder is None:
                return None
            for host, site in self.sites.items():
                if site.root == self.folder:
                    return host
            running = self._running_hosts()
            if not running:
                return None
            host = running[0].lower()
            self.sites[host] = DeployedSite(host=host, root=self.folder)
            return host

    def clear(self) -> None:
        self.sites.clear()
        self.folder = None

    def release(self) -> None:
        """Let hanging requests go (on shutdown)."""
        self._stop.set()

    def _endless(self) -> Iterable[bytes]:
        """A body that never ends (until the reader goes away or the sandbox stops)."""
        while not self._stop.is_set():
            yield STREAM_CHUNK

    def site_for(self, host: str) -> DeployedSite | None:
        """The site deployed under the public name `host` (any case, no port), if any."""
        self._adopt_folder()
        return self.sites.get(host.strip().lower().rstrip("."))

    def serves(self, host: str) -> bool:
        """Whether a site (in any mode) is deployed under the public name `host`."""
        return self.site_for(host) is not None

    def handles(self, path: str) -> bool:
        return path == SITES_PATH or path.startswith(SITES_PATH + "/")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        self._adopt_folder()
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
        if site.mode == "stream":
            start_response("200 OK", [("Content-Type", "text/html"), ("Cache-Control", "no-store")])
            return self._endless()
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

"""Playwright: finds a Chromium to drive, and launches it the same way on every machine.

Order: `--browser-path`; Playwright's own downloaded Chromium (after `playwright install
chromium`); a system Chromium or Chrome. None found is a GraderError saying how to install one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError

SYSTEM_BROWSERS = (
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_HINT = (
    "No Chromium was found for the browser checks. Install one with `playwright install chromium` "
    "(or on Debian/Ubuntu `sudo apt-get install chromium`), or give its path with --browser-path."
)


@dataclass(frozen=True)
class BrowserChoice:
    """Which browser to launch: `executable` None means Playwright's own download."""

    executable: str | None
    source: str


def _playwright_download() -> str | None:
    """The Chromium `playwright install chromium` put in its cache, if any."""
    roots = [os.environ.get("PLAYWRIGHT_BROWSERS_PATH", ""), str(Path.home() / ".cache" / "ms-playwright")]
    for root in filter(None, roots):
        base = Path(root)
        if not base.is_dir():
            continue
        for pattern in ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-*/headless_shell",
                        "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium", "chromium-*/chrome-win*/chrome.exe"):
            found = sorted(base.glob(pattern))
            if found:
                return str(found[-1])
    return None


def find_browser(explicit: str | None = None) -> BrowserChoice:
    if explicit:
        path = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not path:
            raise GraderError(f"--browser-path {explicit} is not a browser executable.", kind="usage")
        return BrowserChoice(path, "--browser-path")
    if _playwright_download():
        return BrowserChoice(None, "Playwright's Chromium")
    for candidate in SYSTEM_BROWSERS:
        path = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return BrowserChoice(path, f"system browser {path}")
    raise GraderError(INSTALL_HINT, kind="no-browser")

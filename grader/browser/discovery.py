"""Finding the grader's Chromium, and the switches every launch of it gets.

Finding (:func:`find_browser`): `--browser-path`; else a headless shell (Chromium built without a
browser's windows: the same pages for less than half the browser process's CPU, see
SYSTEM_HEADLESS_SHELLS), Playwright's download (after `playwright install chromium`) before the
system's; else a full browser, Playwright's before a system Chromium, Chrome or Edge. None found is
a GraderError saying how to install one.

Launching the same way everywhere (:func:`session_launch_args`): LAUNCH_ARGS, Chromium's own
sandbox unless the grader runs as root or NO_SANDBOX_ENV asks (:func:`chromium_sandbox`), and one
--disable-features switch. The browser itself is run by :class:`~grader.browser.session.BrowserSession`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError

# Debian's chromium-headless-shell, taken before any full browser: a full Chromium, even headless,
# builds a browser window with its tab strip and address bar for every context. Measured on a
# 2-core machine grading 24 sandbox accounts: the browser process spent 0.90 CPU-s per account
# with Debian's chromium and 0.39 with its headless shell (the whole grading tree 3.1 against 2.3).
SYSTEM_HEADLESS_SHELLS = (
    "/usr/lib/chromium/chromium-headless-shell",
    "chromium-headless-shell",
)
SYSTEM_BROWSERS = (
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    # An installed Google Chrome or Microsoft Edge on macOS and Windows (both are Chromium).
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    "%PROGRAMFILES%/Google/Chrome/Application/chrome.exe",
    "%PROGRAMFILES(X86)%/Google/Chrome/Application/chrome.exe",
    "%LOCALAPPDATA%/Google/Chrome/Application/chrome.exe",
    "%PROGRAMFILES(X86)%/Microsoft/Edge/Application/msedge.exe",
    "%PROGRAMFILES%/Microsoft/Edge/Application/msedge.exe",
)
# Where `playwright install chromium` puts its browsers, within its cache folder: its headless shell
# (which Playwright itself launches for a headless browser), then its full Chromium.
PLAYWRIGHT_HEADLESS_SHELL_PATTERNS = (
    "chromium_headless_shell-*/chrome-headless-shell-*/chrome-headless-shell",
    "chromium_headless_shell-*/chrome-headless-shell-*/chrome-headless-shell.exe",
    "chromium_headless_shell-*/chrome-*/headless_shell",
)
PLAYWRIGHT_BROWSER_PATTERNS = (
    *PLAYWRIGHT_HEADLESS_SHELL_PATTERNS,
    "chromium-*/chrome-linux*/chrome",
    "chromium-*/chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
    "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
    "chromium-*/chrome-win*/chrome.exe",
)
# Without a GPU, Chromium's GPU process only composites in software; run as a thread of the
# browser process it saves a process per browser: measured (benchmarks/bench_grade.py, 2 cores),
# about 8 % less CPU per login and 30-45 MiB less resident memory per browser.
LAUNCH_ARGS = (
    "--disable-gpu",
    "--in-process-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
NO_SANDBOX_ENV = "GRADER_CHROMIUM_NO_SANDBOX"
"""Set to 1 to run Chromium without its own sandbox, where it cannot start (a container without user namespaces)."""
# Chromium features the grader's browser turns off on top of Playwright's own list. A headless
# Chromium (156) still builds each window's address-bar popup as a WebUI page with a renderer of
# its own, and every context is a new window: measured, about 0.9 s of CPU per login on a
# 2-core machine, for a popup nobody opens. Switching it off changes nothing a page can see.
EXTRA_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup")
# Playwright 1.65's own --disable-features list, used when the installed driver's cannot be read.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
INSTALL_HINT = (
    "No Chromium was found for the browser checks. Install one with `playwright install chromium` "
    "(or on Debian `sudo apt-get install chromium-headless-shell`), or give its path with --browser-path."
)


@functools.lru_cache(maxsize=1)
def playwright_disabled_features() -> tuple[str, ...]:
    """The features the installed Playwright driver turns off with its own --disable-features.

    Read from the driver's JavaScript (its `disabledFeatures` list); empty if it cannot be found.
    """
    try:
        import playwright
    except ImportError:
        return ()
    package = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    for source in (package / "server" / "chromium" / "chromiumSwitches.js", package / "coreBundle.js"):
        try:
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = re.search(r"disabledFeatures\s*=\s*\[(.*?)\]", text, re.S)
        if found:
            body = re.sub(r"//[^\n]*", "", found.group(1))
            return tuple(re.findall(r"[\"']([A-Za-z][A-Za-z0-9_]*)[\"']", body))
    return ()


def chromium_sandbox() -> bool:
    """Whether Chromium runs in its own sandbox: yes, unless the grader runs as root or NO_SANDBOX_ENV asks.

    A student's website is hostile until proven otherwise, and Chromium's sandbox is what keeps a
    page that breaks the renderer out of the grader's machine. Chromium refuses its sandbox to
    root, so as root (`os.geteuid() == 0`) it runs without one: the README says to grade as an
    unprivileged user.
    """
    if os.environ.get(NO_SANDBOX_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return False
    geteuid = getattr(os, "geteuid", None)  # Windows has none: its Chromium keeps the sandbox
    return geteuid is None or geteuid() != 0


def session_launch_args() -> list[str]:
    """LAUNCH_ARGS, `--no-sandbox` without Chromium's sandbox, and one --disable-features switch.

    Chromium keeps only the last --disable-features switch (measured: passing just the grader's
    features turned Playwright's HttpsUpgrades back on, and http pages were upgraded to https),
    so the switch repeats Playwright's list (read from the driver, else Playwright 1.65's), then
    the grader's.
    """
    features = dict.fromkeys(playwright_disabled_features() + PLAYWRIGHT_DISABLED_FEATURES + EXTRA_DISABLED_FEATURES)
    sandbox = [] if chromium_sandbox() else ["--no-sandbox"]
    return [*LAUNCH_ARGS, *sandbox, "--disable-features=" + ",".join(features)]


@dataclass(frozen=True)
class BrowserChoice:
    """Which browser to launch: `executable` None means Playwright's own download."""

    executable: str | None
    source: str


def playwright_cache_roots() -> list[Path]:
    """The folders `playwright install` may have put its browsers in, on this operating system."""
    named = os.environ.get("PLAYWRIGHT_BROWSERS_PATH", "")
    roots = [Path(named)] if named and named != "0" else []
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        roots += [Path(local) / "ms-playwright"] if local else []
    elif sys.platform == "darwin":
        roots.append(Path.home() / "Library" / "Caches" / "ms-playwright")
    else:
        roots.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ms-playwright")
    return [root for root in roots if root.is_absolute()]


def _playwright_download() -> str | None:
    """The Chromium `playwright install chromium` put in its cache, if any: its headless shell first, its newest."""
    for pattern in PLAYWRIGHT_BROWSER_PATTERNS:
        for base in playwright_cache_roots():
            found = sorted(base.glob(pattern), key=lambda path: _revision(path, base)) if base.is_dir() else []
            if found:
                return str(found[-1])
    return None


def _revision(path: Path, base: Path) -> tuple[int, ...]:
    """The revision of a download's folder (`chromium-1200` -> (1200,)), compared as numbers."""
    return tuple(int(number) for number in re.findall(r"\d+", path.relative_to(base).parts[0]))


def _is_headless_shell(path: str) -> bool:
    return any(Path(path).match(pattern) for pattern in PLAYWRIGHT_HEADLESS_SHELL_PATTERNS)


def _system_browser(candidate: str) -> str | None:
    """`candidate` (a path, with %VARIABLES% on Windows, or a command name) when it is an executable here."""
    if "%" in candidate:
        candidate = re.sub(r"%([^%]+)%", lambda name: os.environ.get(name.group(1), name.group(0)), candidate)
        if "%" in candidate:  # a variable this machine does not have
            return None
    path = candidate if Path(candidate).is_file() else shutil.which(candidate)
    return path if path and os.access(path, os.X_OK) else None


def find_browser(explicit: str | None = None) -> BrowserChoice:
    if explicit:
        path = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not path:
            raise GraderError(f"--browser-path {explicit} is not a browser executable.", kind="usage")
        return BrowserChoice(path, "--browser-path")
    # A download is named by its path: Playwright would look only for its own revision, in its own
    # folder, and for its headless shell (missing after `playwright install chromium --no-shell`).
    download = _playwright_download()
    if download and _is_headless_shell(download):
        return BrowserChoice(download, "Playwright's Chromium")
    shell = _first_installed(SYSTEM_HEADLESS_SHELLS)
    if shell is not None:
        return shell
    if download:
        return BrowserChoice(download, "Playwright's Chromium")
    browser = _first_installed(SYSTEM_BROWSERS)
    if browser is None:
        raise GraderError(INSTALL_HINT, kind="no-browser")
    return browser


def _first_installed(candidates: tuple[str, ...]) -> BrowserChoice | None:
    """The first of `candidates` (see :func:`_system_browser`) installed here, or None."""
    for candidate in candidates:
        path = _system_browser(candidate)
        if path:
            return BrowserChoice(path, f"system browser {path}")
    return None

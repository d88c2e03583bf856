"""The grader finds a browser on every operating system: Playwright's download in that system's cache folder, or an
installed Chrome or Edge (issue 13). The file layouts are made here; the operating system is pretended."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from grader.browser import discovery
from grader.errors import GraderError

# As shipped, before a test pretends a machine without them.
INSTALLED_SYSTEM_BROWSERS = discovery.SYSTEM_BROWSERS
INSTALLED_SYSTEM_HEADLESS_SHELLS = discovery.SYSTEM_HEADLESS_SHELLS


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A machine with no browser anywhere; its home is `tmp_path / 'home'`."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    for name in ("PLAYWRIGHT_BROWSERS_PATH", "XDG_CACHE_HOME", "LOCALAPPDATA", "PROGRAMFILES", "PROGRAMFILES(X86)"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(discovery, "SYSTEM_BROWSERS", tuple(c for c in discovery.SYSTEM_BROWSERS if "%" in c))
    monkeypatch.setattr(discovery, "SYSTEM_HEADLESS_SHELLS", ())
    return home


def test_windows_finds_playwrights_chromium_under_local_app_data(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(discovery.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    chrome = _executable(tmp_path / "Local" / "ms-playwright" / "chromium-1200" / "chrome-win64" / "chrome.exe")
    assert discovery._playwright_download() == str(chrome)
    assert discovery.find_browser().source == "Playwright's Chromium"


def test_macos_finds_playwrights_chrome_for_testing_under_library_caches(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery.sys, "platform", "darwin")
    app = "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"
    chrome = _executable(nowhere / "Library" / "Caches" / "ms-playwright" / "chromium-1200" / "chrome-mac-arm64" / app)
    assert discovery._playwright_download() == str(chrome)


@pytest.fixture
def linux_cache(nowhere: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A Linux machine whose XDG_CACHE_HOME is `tmp_path / 'cache'`: Playwright's cache folder in it."""
    monkeypatch.setattr(discovery.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "ms-playwright"


HEADLESS_SHELL = Path("chromium_headless_shell-1200") / "chrome-headless-shell-linux64" / "chrome-headless-shell"
FULL_CHROMIUM = Path("chromium-1200") / "chrome-linux64" / "chrome"


def test_linux_honours_xdg_cache_home(linux_cache: Path) -> None:
    shell = _executable(linux_cache / HEADLESS_SHELL)
    assert discovery._playwright_download() == str(shell)


def test_an_installed_edge_is_used_when_nothing_else_is_there(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(discovery.sys, "platform", "win32")
    monkeypatch.setenv("PROGRAMFILES(X86)", str(tmp_path / "Program Files (x86)"))
    edge = _executable(tmp_path / "Program Files (x86)" / "Microsoft" / "Edge" / "Application" / "msedge.exe")
    choice = discovery.find_browser()
    assert Path(choice.executable or "") == edge
    assert choice.source.startswith("system browser")


def test_no_browser_anywhere_says_how_to_get_one(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery.sys, "platform", "win32")
    with pytest.raises(GraderError) as raised:
        discovery.find_browser()
    assert raised.value.kind == "no-browser"
    assert "playwright install chromium" in raised.value.message


def test_linux_takes_playwrights_headless_shell_before_its_full_chromium(linux_cache: Path) -> None:
    """With both downloaded, Playwright launches its own headless shell (no path given)."""
    _executable(linux_cache / FULL_CHROMIUM)
    shell = _executable(linux_cache / HEADLESS_SHELL)
    assert discovery._playwright_download() == str(shell)
    assert discovery.find_browser().executable == str(shell)


def test_the_newest_download_is_taken_by_its_revision_as_a_number(linux_cache: Path) -> None:
    _executable(linux_cache / "chromium_headless_shell-999" / HEADLESS_SHELL.relative_to(HEADLESS_SHELL.parts[0]))
    newest = _executable(linux_cache / HEADLESS_SHELL)  # revision 1200
    assert discovery.find_browser().executable == str(newest)


def test_playwrights_full_chromium_alone_is_named_by_its_path(linux_cache: Path) -> None:
    """Without its headless shell (`install --no-shell`), Playwright would look for the shell:
    the grader names the one there."""
    chrome = _executable(linux_cache / FULL_CHROMIUM)
    choice = discovery.find_browser()
    assert choice.executable == str(chrome)
    assert choice.source == "Playwright's Chromium"


@pytest.fixture
def debian(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """A Debian machine whose installed system browsers are the paths put in the set returned."""
    installed: set[str] = set()
    monkeypatch.setattr(discovery, "SYSTEM_BROWSERS", INSTALLED_SYSTEM_BROWSERS)
    monkeypatch.setattr(discovery, "SYSTEM_HEADLESS_SHELLS", INSTALLED_SYSTEM_HEADLESS_SHELLS)
    monkeypatch.setattr(discovery, "_system_browser", lambda candidate: candidate if candidate in installed else None)
    return installed


def test_debians_headless_shell_is_taken_before_its_full_chromium(debian: set[str]) -> None:
    debian.update({"/usr/lib/chromium/chromium", "/usr/lib/chromium/chromium-headless-shell"})
    assert discovery.find_browser().executable == "/usr/lib/chromium/chromium-headless-shell"
    debian.discard("/usr/lib/chromium/chromium-headless-shell")
    assert discovery.find_browser().executable == "/usr/lib/chromium/chromium"


def test_debians_headless_shell_is_taken_before_playwrights_full_chromium(debian: set[str], linux_cache: Path) -> None:
    """A headless shell wins wherever it is; a download wins only among its own kind."""
    chrome = _executable(linux_cache / FULL_CHROMIUM)
    debian.add("/usr/lib/chromium/chromium-headless-shell")
    assert discovery.find_browser().executable == "/usr/lib/chromium/chromium-headless-shell"
    debian.clear()
    debian.add("/usr/lib/chromium/chromium")
    assert discovery.find_browser().executable == str(chrome)

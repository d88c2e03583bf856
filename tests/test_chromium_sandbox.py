"""Chromium keeps its own sandbox unless the grader runs as root (or GRADER_CHROMIUM_NO_SANDBOX asks)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from grader.browser import discovery
from grader.browser.discovery import NO_SANDBOX_ENV, BrowserChoice, chromium_sandbox, session_launch_args
from grader.browser.session import BrowserSession
from grader.errors import GraderError


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NO_SANDBOX_ENV, raising=False)


def _euid(monkeypatch: pytest.MonkeyPatch, uid: int) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: uid, raising=False)


def test_root_runs_chromium_without_its_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root (euid 0) Chromium cannot use its sandbox: the launch args carry --no-sandbox."""
    _euid(monkeypatch, 0)
    assert not chromium_sandbox()
    assert "--no-sandbox" in session_launch_args()


def test_an_unprivileged_grader_keeps_chromiums_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any other euid: no --no-sandbox in the launch args."""
    _euid(monkeypatch, 1000)
    assert chromium_sandbox()
    assert "--no-sandbox" not in session_launch_args()
    assert sum(a.startswith("--disable-features=") for a in session_launch_args()) == 1


@pytest.mark.parametrize(("value", "sandboxed"), [("1", False), ("true", False), ("0", True), ("", True)])
def test_the_environment_variable_turns_the_sandbox_off(
    monkeypatch: pytest.MonkeyPatch, value: str, sandboxed: bool
) -> None:
    """GRADER_CHROMIUM_NO_SANDBOX=1 (a container without user namespaces) asks for --no-sandbox; 0 or empty does not."""
    _euid(monkeypatch, 1000)
    monkeypatch.setenv(NO_SANDBOX_ENV, value)
    assert chromium_sandbox() is sandboxed
    assert ("--no-sandbox" not in session_launch_args()) is sandboxed


class _FakeChromium:
    """Records Playwright's launch options; `fails` makes the launch fail with that text."""

    def __init__(self, fails: str = "") -> None:
        self.options: dict[str, Any] = {}
        self.fails = fails

    def launch(self, **options: Any) -> Any:
        self.options = options
        if self.fails:
            raise RuntimeError(self.fails)
        cdp = SimpleNamespace(send=lambda *_: {"userAgent": "UA"}, detach=lambda: None)
        return SimpleNamespace(is_connected=lambda: True, new_browser_cdp_session=lambda: cdp, close=lambda: None)


def _launch_with(monkeypatch: pytest.MonkeyPatch, chromium: _FakeChromium) -> BrowserSession:
    import playwright.sync_api

    running = SimpleNamespace(chromium=chromium, stop=lambda: None)
    monkeypatch.setattr(playwright.sync_api, "sync_playwright", lambda: SimpleNamespace(start=lambda: running))
    session = BrowserSession(BrowserChoice("/usr/bin/chromium", "system browser /usr/bin/chromium"), None, "us-east-1")
    session._launch()
    return session


@pytest.mark.parametrize(("uid", "sandboxed"), [(0, False), (1000, True)])
def test_playwright_is_told_the_same(monkeypatch: pytest.MonkeyPatch, uid: int, sandboxed: bool) -> None:
    """Playwright adds --no-sandbox unless chromium_sandbox=True: the launch passes it as the args say."""
    _euid(monkeypatch, uid)
    chromium = _FakeChromium()
    _launch_with(monkeypatch, chromium)
    assert chromium.options["chromium_sandbox"] is sandboxed
    assert ("--no-sandbox" not in chromium.options["args"]) is sandboxed


def test_a_sandbox_that_cannot_start_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chromium's sandbox failing to start is a sentence naming the environment variable, not a bare error."""
    _euid(monkeypatch, 1000)
    chromium = _FakeChromium(fails="BrowserType.launch: Chromium sandboxing failed!\n No usable sandbox!")
    with pytest.raises(GraderError) as failed:
        _launch_with(monkeypatch, chromium)
    assert f"{NO_SANDBOX_ENV}=1" in failed.value.message
    assert failed.value.message.endswith(".")
    assert discovery.NO_SANDBOX_ENV == "GRADER_CHROMIUM_NO_SANDBOX"

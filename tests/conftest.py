"""Shared fixtures: one sandbox for the whole test session, and the browser policy.

Tests marked `browser` need a Chromium. Without one they are skipped, except where
GRADER_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure: CI must not go green by
skipping the browser checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from grader.browser import find_browser
from grader.errors import GraderError
from grader.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture(scope="session")
def _browser_available() -> str:
    try:
        return find_browser().source
    except GraderError as exc:
        if os.environ.get("GRADER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GRADER_REQUIRE_BROWSER=1 but {exc.message}")
        pytest.skip(exc.message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("browser") and hasattr(item, "fixturenames"):
            item.fixturenames.insert(0, "_browser_available")


@pytest.fixture
def wide_plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The grader's consoles, wide and without colour, so the output is compared as the text it is."""
    from rich.console import Console

    import grader.cli
    import grader.terminal

    for name, stderr in (("console", False), ("errors", True)):
        plain = Console(stderr=stderr, highlight=False, emoji=False, width=400, color_system=None, force_terminal=False)
        monkeypatch.setattr(grader.terminal, name, plain)
        if hasattr(grader.cli, name):  # the command line prints through the same consoles
            monkeypatch.setattr(grader.cli, name, plain)

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

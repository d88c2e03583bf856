"""Shared fixtures: one sandbox for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grader.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running

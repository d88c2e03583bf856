"""Wires the grader's pytest plugin for `pytest checks/` (and keeps it inert for `pytest tests/`)."""

pytest_plugins = ["grader.plugin"]

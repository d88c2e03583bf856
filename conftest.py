"""The repository's root: `pytest` runs tests/ (pyproject.toml).

The grader's pytest plugin is not loaded here: checks/conftest.py brings its options and evidence
fixtures to checks/ alone, so no test under tests/ can reach an account through them.
"""

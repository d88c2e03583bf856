"""Observing one account: build its frozen Evidence once, before any check runs.

- `parts.py`: the evidence's parts and what each is observed from (checks name these);
- `evidence.py`: the Evidence and its value types;
- `observer.py`: `connect()` and the Observer: every needed part, concurrently, under one deadline;
- `flows.py`: the browser flows, overlapped in one browser.

Kept free of imports, so that the command line starts fast.
"""

DEFAULT_DEADLINE_S = 120.0
"""How long observing one account may take, by default (a normal grade takes a few seconds)."""

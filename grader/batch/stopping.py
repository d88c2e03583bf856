"""Ctrl-C and SIGTERM during a batch: a request to stop, honoured between students, never inside one.

While a batch runs, SIGINT (Ctrl-C) and SIGTERM (a scheduler or `kill`) both mean "stop soon, keep
what is finished". The signal raises KeyboardInterrupt in the main thread, which the batch catches
to write what it has. Two stretches are shielded, so a stop never leaves half a result behind:

- judging and writing one student (`shielded`): the signal is held until that student's files
  are written, then raised. pytest, which judges, would otherwise catch the interrupt itself and
  report it as a failed run of the checks;
- writing the class files at the end (`ignoring`): a second Ctrl-C there is ignored.

Signals can be handled only in the main thread: elsewhere (a batch started from another thread)
these are no-ops and Python's own KeyboardInterrupt applies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

STOP_SIGNALS = tuple(
    sig for sig in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if sig is not None
)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class StopRequests:
    """SIGINT and SIGTERM turned into KeyboardInterrupt for the batch's lifetime (use as a context manager)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._shield_depth = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequests:
        if _in_main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]  # what signal.signal returned before
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested.set()
        if self._shield_depth == 0:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def ignoring(self) -> Iterator[None]:
        """Let the block finish whatever signal comes (the stop is already under way)."""
        self._shield_depth += 1
        try:
            yield
        finally:
            self._shield_depth -= 1

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """Hold a stop request until the block is done, then raise it (KeyboardInterrupt)."""
        with self.ignoring():
            yield
        if self._shield_depth == 0 and self.requested.is_set() and self._previous:
            raise KeyboardInterrupt


def exit_soon(code: int, *, grace_s: float = 2.0) -> NoReturn:
    """Exit with `code` once the work that was stopped has had `grace_s` to end.

    A stopped batch leaves the observations in hand running in their threads (a website that never
    answers holds one until its deadline). Their students are already written down as not graded
    yet, so nothing is lost by not waiting for them: after the grace, the process ends at once.
    """
    ends = time.monotonic() + grace_s
    for thread in _other_workers():
        thread.join(max(0.0, ends - time.monotonic()))
    if _other_workers():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def _other_workers() -> list[threading.Thread]:
    """The threads besides this one that Python would wait for at exit."""
    me = threading.current_thread()
    return [thread for thread in threading.enumerate() if thread is not me and not thread.daemon and thread.is_alive()]

"""Browser lanes: several browsers for a class, one student's flows at a time in each.

A lane is a :class:`~grader.browser.session.BrowserSession` with a thread of its own. A student's
browser flows all run in one lane and never share it with another student's: their contexts,
cookies and routes stay apart, and the lane's watchdog, which stops its browser at the student's
deadline, stops no other student's work. A hostile website holds up only its own lane; the other
lanes go on grading.

How many lanes by default: one per core, fewer when the free memory would not hold them (each
lane is one Chromium; its measured size is :data:`LANE_MEMORY_MIB`, docs/speed.md).
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GraderError

LANE_MEMORY_MIB = 750
"""Memory to set aside per lane: one Chromium grading one student's three pages at once peaked at
680-700 MiB of resident memory in benchmarks/bench_batch.py (the sum of its processes' RSS, which
counts shared pages once per process: an upper bound), with a little room (docs/speed.md)."""
KEPT_FREE_MIB = 1024
"""Memory left for everything else (the grader, the judging, the rest of the machine)."""
MAX_LANES = 16


@dataclass(frozen=True)
class LaneCount:
    """How many lanes, and the reason said in the progress line."""

    count: int
    why: str

    def said(self) -> str:
        lanes = "1 browser lane" if self.count == 1 else f"{self.count} browser lanes"
        return f"{lanes} ({self.why})"


def available_memory_mib() -> int | None:
    """The memory the system can still give, in MiB (Linux's MemAvailable); None where unknown."""
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def choose_lanes(asked: int | None, *, cores: int | None = None, free_mib: int | None = -1) -> LaneCount:
    """The lanes to use: `asked` when given, else one per core and no more than the free memory holds."""
    if asked is not None:
        return LaneCount(max(1, min(MAX_LANES, asked)), "as asked with --lanes")
    cores = cores if cores is not None else (os.cpu_count() or 1)
    free_mib = available_memory_mib() if free_mib == -1 else free_mib
    per_core = max(1, min(MAX_LANES, cores))
    if free_mib is None:
        return LaneCount(per_core, "one per core")
    fits = max(1, (free_mib - KEPT_FREE_MIB) // LANE_MEMORY_MIB)
    if fits < per_core:
        return LaneCount(
            fits,
            f"fewer than one per core: {free_mib / 1024:.1f} GiB of memory free, about {LANE_MEMORY_MIB} MiB a lane",
        )
    return LaneCount(per_core, "one per core")


def lane_of(browser: Any, deadline: float) -> contextlib.AbstractContextManager[Any]:
    """The session to run one student's flows in: a free lane of `browser` (BrowserLanes), or `browser` itself."""
    if isinstance(browser, BrowserLanes):
        return browser.lane(deadline)
    return contextlib.nullcontext(browser)


class BrowserLanes:
    """`count` browsers (each launched at first use, in its own thread), lent one student at a time.

    `make()` builds one lane's BrowserSession (with `own_thread=True`).
    """

    def __init__(self, count: int, make: Callable[[], Any]) -> None:
        self.sessions = [make() for _ in range(max(1, count))]
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for session in self.sessions:
            self._free.put(session)

    @property
    def count(self) -> int:
        return len(self.sessions)

    def start(self) -> None:
        """Start launching every lane's browser now, each in its own thread, without waiting."""
        for session in self.sessions:
            session.start()

    @contextlib.contextmanager
    def lane(self, deadline: float) -> Iterator[Any]:
        """A free lane's session, for one student's flows, given back after; waits for one until `deadline`.

        A GraderError of kind "browser-busy" when no lane came free before the deadline.
        """
        try:
            session = self._free.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise GraderError(
                "The grader's browsers were all busy with other students' websites until the deadline: "
                "this work never started.",
                kind="browser-busy",
            ) from None
        try:
            yield session
        finally:
            self._free.put(session)

    def kill(self) -> None:
        """Stop every lane's browser at once (a stopped batch), from any thread."""
        for session in self.sessions:
            session.kill()

    def close(self, patience_s: float | None = None) -> None:
        """Close every lane's browser, all at once (each waits as BrowserSession.close says)."""
        if len(self.sessions) == 1:
            self.sessions[0].close(patience_s=patience_s)
            return
        with ThreadPoolExecutor(max_workers=len(self.sessions), thread_name_prefix="close-lane") as closing:
            for session in self.sessions:
                closing.submit(session.close, patience_s)

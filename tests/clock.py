"""A stand-in for time.monotonic and time.sleep: sleeping moves the clock, nothing waits."""

from __future__ import annotations


class FakeClock:
    """Call it for the time; `sleep(seconds)` moves it on and keeps what was slept."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

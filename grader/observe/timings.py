"""Where an observation's time went: each part's span, and the spans that explain a slow account.

`results.json` keeps them as `timings` (seconds): one key per part observed (its own work, once
the parts it is observed from were there), `cloudtrail` (from the first CloudTrail read's start to
the last one's end) and `browser` (the browser flows, from asking for a browser to the end of the
last flow).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from grader.observe.parts import PARTS

CLOUDTRAIL_PARTS = ("trails", "trail_status", "auth_events", "instance_starts")
"""The parts read from CloudTrail's API (the trail's bucket is S3's)."""
BROWSER = "browser"
CLOUDTRAIL = "cloudtrail"


class Stopwatch:
    """Spans of named work, from any thread (time.monotonic's clock)."""

    def __init__(self) -> None:
        self._spans: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Time the work in the block as `name` (kept even when it raises)."""
        start = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._spans[name] = (start, time.monotonic())

    def timings(self) -> dict[str, float]:
        """Seconds per part (in the order of PARTS), then `cloudtrail` and `browser` when there were any."""
        with self._lock:
            spans = dict(self._spans)
        found = {name: round(spans[name][1] - spans[name][0], 3) for name in PARTS if name in spans}
        cloudtrail = [spans[name] for name in CLOUDTRAIL_PARTS if name in spans]
        if cloudtrail:
            found[CLOUDTRAIL] = round(max(end for _, end in cloudtrail) - min(start for start, _ in cloudtrail), 3)
        if BROWSER in spans:
            found[BROWSER] = round(spans[BROWSER][1] - spans[BROWSER][0], 3)
        return found

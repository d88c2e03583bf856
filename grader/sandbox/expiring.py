"""Short-lived server state (sign-in sessions, authorization codes) kept until it expires."""

from __future__ import annotations

import threading
import time
from typing import Generic, Protocol, TypeVar

__all__ = ["ExpiringStore"]


class _Expiring(Protocol):
    @property
    def expires_at(self) -> float:
        """When the value lapses, on the ``time.monotonic()`` clock."""
        ...


V = TypeVar("V", bound=_Expiring)


class ExpiringStore(Generic[V]):
    """Values under keys, each live until its ``expires_at`` passes; safe to share between threads."""

    def __init__(self) -> None:
        self._values: dict[str, V] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` under ``key``, dropping whatever has expired meanwhile."""
        with self._lock:
            now = time.monotonic()
            for stale in [k for k, v in self._values.items() if v.expires_at < now]:
                del self._values[stale]
            self._values[key] = value

    def get(self, key: str) -> V | None:
        """The live value under ``key``, or None."""
        with self._lock:
            return _live(self._values.get(key))

    def pop(self, key: str) -> V | None:
        """Remove ``key``; its value if it was still live, else None."""
        with self._lock:
            return _live(self._values.pop(key, None))


def _live(value: V | None) -> V | None:
    return value if value is not None and value.expires_at >= time.monotonic() else None

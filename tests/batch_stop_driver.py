"""`grader batch` with a stop signal sent to itself at one point of its work (for test_batch_stopping.py).

    python -m tests.batch_stop_driver POINT SIGNAL [grader batch arguments...]

POINT is where the signal is sent: `preflight` (while the accounts are being connected to),
`observing` (while the second student is observed), `judging` (while pytest judges the second
student) or `writing` (while the second student's files are written). The signal is a real one,
sent to this process with os.kill, so Python's and the grader's own handling of it are what is tested.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SECOND_CALL = 2


def signal_soon(signum: int, after_s: float = 0.05) -> None:
    """Send `signum` to this process from another thread in `after_s`: it lands while the caller works."""
    threading.Timer(after_s, os.kill, (os.getpid(), signum)).start()


def on_call(number: int, signum: int, work: Callable[..., Any], *, wait_s: float = 0.0) -> Callable[..., Any]:
    """`work`, sending `signum` as its `number`-th call starts (then waiting `wait_s` before going on)."""
    calls = 0
    lock = threading.Lock()

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        with lock:
            calls += 1
            now = calls == number
        if now:
            signal_soon(signum)
            time.sleep(wait_s)
        return work(*args, **kwargs)

    return wrapped


def main() -> None:
    point, signal_name, *arguments = sys.argv[1:]
    signum = getattr(signal, signal_name)

    from grader.batch import runner
    from grader.observe.observer import Observer

    if point == "preflight":
        runner.connect = on_call(1, signum, runner.connect, wait_s=0.5)  # type: ignore[assignment]
    elif point == "observing":
        Observer.observe = on_call(SECOND_CALL, signum, Observer.observe)  # type: ignore[method-assign]
    elif point == "judging":
        runner.judge = on_call(SECOND_CALL, signum, runner.judge)  # type: ignore[assignment]
    elif point == "writing":
        runner.write_student = on_call(SECOND_CALL, signum, runner.write_student)  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown point {point}")

    from grader.cli import main as grader_main

    sys.argv = ["grader", "batch", *arguments]
    grader_main()


if __name__ == "__main__":
    main()

"""Real AWS's latency, played by the sandbox: per-service delays and LookupEvents' rate limit.

Off by default (the sandbox answers in microseconds, so tests stay fast). `realistic` delays each
answer as AWS and a student's website answer a grader elsewhere on the internet, with figures
and sources in docs/speed.md, and answers a LookupEvents call above AWS's 2 calls a second per
account with `ThrottlingException`, as AWS does. Delays are drawn from a seeded generator: the
n-th call of a kind for one caller always waits the same, whatever the threads' order, so a
benchmark is repeatable.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

KINDS = ("sts", "cognito", "hosted-ui", "ec2", "s3", "cloudtrail", "lookup-events", "website", "other")
"""What the sandbox answers, as the latency model tells it apart (see :func:`kind_of`)."""

LOOKUP_RATE_PER_S = 2.0
"""LookupEvents calls AWS allows per second, per account and Region (docs/aws-cloudtrail.md)."""

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Delay:
    """A log-normal delay: its median, its spread (sigma of the log) and the longest it can be."""

    median_s: float
    spread: float = 0.3
    longest_s: float = 10.0

    def at(self, u: float) -> float:
        """The delay at quantile `u` (0 < u < 1)."""
        u = min(max(u, 1e-9), 1 - 1e-9)
        return min(self.longest_s, self.median_s * math.exp(self.spread * _NORMAL.inv_cdf(u)))


@dataclass(frozen=True)
class Profile:
    """A latency profile: one Delay per kind of answer, and whether LookupEvents is rate-limited."""

    name: str
    delays: dict[str, Delay] = field(default_factory=dict)
    throttle_lookups: bool = False


REALISTIC = Profile(
    "realistic",
    {
        # Figures and their public sources: docs/speed.md.
        "sts": Delay(0.1),
        "cognito": Delay(0.12),
        "hosted-ui": Delay(0.15),
        "ec2": Delay(0.1),
        "s3": Delay(0.1),
        "cloudtrail": Delay(0.1),
        "lookup-events": Delay(1.0, spread=0.9, longest_s=35.0),
        "website": Delay(0.085),
        "other": Delay(0.1),
    },
    throttle_lookups=True,
)
PROFILES = {"zero": None, "realistic": REALISTIC}
"""The profiles by name: `zero` is the sandbox without delays (the default)."""


def profile_named(name: str) -> Profile | None:
    """The profile called `name` (None for `zero`); ValueError naming the known ones otherwise."""
    if name not in PROFILES:
        raise ValueError(f"unknown latency profile {name!r}: choose {' or '.join(PROFILES)}")
    return PROFILES[name]


def kind_of(service: str, operation: str) -> str:
    """The kind of an AWS API call, from its signing service (or JSON target) and operation."""
    if service == "cloudtrail":
        return "lookup-events" if operation == "LookupEvents" else "cloudtrail"
    if service in ("cognito-idp", "sts", "ec2", "s3"):
        return "cognito" if service == "cognito-idp" else service
    return "other"


class Latency:
    """Waits before each answer as the profile says; keeps LookupEvents under its rate per caller.

    `clock` and `sleep` are time.monotonic and time.sleep unless a test gives others.
    """

    def __init__(
        self,
        profile: Profile,
        seed: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.profile, self.seed, self.clock, self.sleep = profile, seed, clock, sleep
        self._counts: dict[tuple[str, str], int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when counted)
        self._lock = threading.Lock()

    def delay(self, kind: str, caller: str) -> float:
        """The seconds the next answer of `kind` to `caller` waits: the n-th draw for that pair."""
        chosen = self.profile.delays.get(kind)
        if chosen is None:
            return 0.0
        with self._lock:
            n = self._counts.get((kind, caller), 0)
            self._counts[(kind, caller)] = n + 1
        return chosen.at(random.Random(f"{self.seed}|{kind}|{caller}|{n}").random())

    def throttled(self, kind: str, caller: str) -> bool:
        """Whether AWS would refuse this call for its rate (a token bucket of 2 a second per caller)."""
        if kind != "lookup-events" or not self.profile.throttle_lookups:
            return False
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(caller, (LOOKUP_RATE_PER_S, now))
            tokens = min(LOOKUP_RATE_PER_S, tokens + (now - then) * LOOKUP_RATE_PER_S)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                return True
            self._buckets[caller] = (tokens - 1.0, now)
            return False

    def wait(self, kind: str, caller: str) -> bool:
        """Wait as the profile says before answering; True when the call is to be throttled instead."""
        if self.throttled(kind, caller):
            self.sleep(self.delay("cloudtrail", caller))  # a refusal is answered as fast as a quick call
            return True
        seconds = self.delay(kind, caller)
        if seconds > 0:
            self.sleep(seconds)
        return False

"""Time a full grade and one browser login against the sandbox's finished lab, and the memory they take.

    python benchmarks/bench_grade.py [N] [--grades G] [--latency zero|realistic|both]
                                     (N logins, default 10; G grades, default 5)

Does the finished-lab scenario once in an embedded sandbox (as `grader demo` does), then:
- grades it G times (every check, the browser ones included, as `grader check` would) and
  prints the median, min and max wall time of one full grade;
- with --latency realistic, the sandbox answers with real AWS's delays (docs/speed.md), seeded
  by the round, and each grade is also set against its own CloudTrail reads (`timings.cloudtrail`
  in results.json): the grade's wall time as a multiple of them, whose median says how close the
  grade comes to its slowest necessary observation; with --latency both, every round grades once
  at zero latency and once at realistic latency, in turn, and both are shown;
- launches one browser, logs in N times as janedoe on the website and prints the median, min
  and max wall time of one login and the CPU time per login;
- before each grade, times a fixed piece of pure-Python work (the baseline) and prints the
  grade's median as a multiple of it, a figure that compares across machines and loads better
  than seconds do;
- samples the peak memory of the whole process tree (this Python process, the Playwright
  drivers and every Chromium process) from /proc.
Linux only. Not a test: nothing is asserted except that every grade scored full marks and every
login reached private.html with tokens.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.browser import BrowserSession, discover_routes, find_browser, log_in  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from grader.sandbox import Sandbox  # noqa: E402
from grader.sandbox.demo import close_student_browser, set_up  # noqa: E402
from grader.sandbox.latency import profile_named  # noqa: E402
from grader.sandbox.scenarios import load_scenario  # noqa: E402
from grader.spec import load_spec  # noqa: E402
from grader.target import Target  # noqa: E402

REGION = "us-east-1"
BASELINE_BYTES = 64 * 1024 * 1024
TARGET_RATIO = 1.3
"""At realistic latency, a grade should take at most this multiple of its own CloudTrail reads."""
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ /proc sampling


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes that share them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User+system time of the processes, including their reaped children."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all processes, all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


class PeakSampler(threading.Thread):
    """Samples the process tree's memory until stopped; keeps the peaks."""

    def __init__(self, root: int, interval_s: float = 0.05) -> None:
        super().__init__(daemon=True, name="peak-sampler")
        self.root = root
        self.interval_s = interval_s
        self.peak_rss_kib = 0
        self.peak_pss_kib = 0
        self.peak_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self._stop_event.is_set():
            pids = process_tree(self.root)
            self.peak_processes = max(self.peak_processes, len(pids))
            self.peak_rss_kib = max(self.peak_rss_kib, sum(rss_kib(p) for p in pids))
            if tick % 5 == 0:  # smaps_rollup costs more: every fifth sample
                self.peak_pss_kib = max(self.peak_pss_kib, sum(pss_kib(p) for p in pids))
            tick += 1
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


# ------------------------------------------------------------------ timing


def baseline_seconds() -> float:
    """Wall time of a fixed pure-Python workload: SHA-256 over 64 MiB in 64 KiB pieces."""
    piece = b"\x5a" * 65536
    digest = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(BASELINE_BYTES // len(piece)):
        digest.update(piece)
    return time.perf_counter() - started


def spread(times: list[float]) -> str:
    return (
        f"median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )


@dataclass
class Grades:
    """The grades at one latency: wall times, CloudTrail's and the browser's share, and how many fell short."""

    latency: str
    walls: list[float] = field(default_factory=list)
    cloudtrail: list[float] = field(default_factory=list)
    browser: list[float] = field(default_factory=list)
    short: int = 0

    def ratios(self) -> list[float]:
        """Each grade's wall time as a multiple of its own CloudTrail reads."""
        return [wall / trail for wall, trail in zip(self.walls, self.cloudtrail, strict=True) if trail > 0]


def time_grade(sandbox: Sandbox, grades: Grades, index: int) -> None:
    """One full grade of the sandbox's lab at `grades.latency` (seeded by `index`), added to `grades`."""
    sandbox.set_latency(profile_named(grades.latency), seed=index)
    try:
        started = time.monotonic()
        result = grade(Target(endpoint_url=sandbox.url, student=f"bench-{grades.latency}-{index}"), load_spec(), None)
        grades.walls.append(time.monotonic() - started)
    finally:
        sandbox.set_latency(None)
    grades.cloudtrail.append(result.timings.get("cloudtrail", 0.0))
    grades.browser.append(result.timings.get("browser", 0.0))
    if result.score != result.max_score:
        grades.short += 1
        print(
            "grade fell short:",
            [(c.id, c.status, c.message) for c in result.checks if c.status != "pass"],
            file=sys.stderr,
        )


def time_grades(sandbox: Sandbox, count: int, latencies: list[str]) -> tuple[list[Grades], list[float]]:
    """`count` rounds of full grades, one per latency in each round (their order turned by one each round)."""
    found = [Grades(latency) for latency in latencies]
    baselines: list[float] = []
    for index in range(count):
        baselines.append(baseline_seconds())
        shift = index % len(found)
        for grades in found[shift:] + found[:shift]:
            time_grade(sandbox, grades, index)
    return found, baselines


def print_grades(found: list[Grades], baselines: list[float]) -> None:
    for grades in found:
        print(f"full grade x{len(grades.walls)} at {grades.latency} latency (all checks): {spread(grades.walls)}")
        if grades.latency != "zero":
            ratios = grades.ratios()
            print(
                f"  its CloudTrail reads (timings.cloudtrail): {spread(grades.cloudtrail)}; browser flows: "
                f"{spread(grades.browser)}; grade / CloudTrail reads: median {statistics.median(ratios):.2f}, "
                f"min {min(ratios):.2f}, max {max(ratios):.2f} (target: at most {TARGET_RATIO})"
            )
        print(
            f"  = {statistics.median(grades.walls) / statistics.median(baselines):.1f} baselines "
            f"(SHA-256 of 64 MiB x{len(baselines)}: {spread(baselines)})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10, help="number of logins (default 10)")
    parser.add_argument("--grades", type=int, default=5, help="number of full grades (default 5)")
    parser.add_argument("--timeout", type=float, default=15.0, help="timeout_s of the login session")
    parser.add_argument(
        "--latency", choices=("zero", "realistic", "both"), default="zero", help="the sandbox's latency (default zero)"
    )
    args = parser.parse_args(argv)
    latencies = ["zero", "realistic"] if args.latency == "both" else [args.latency]

    sampler = PeakSampler(os.getpid())
    sampler.start()
    with Sandbox() as sandbox:
        made = set_up(sandbox, load_scenario("finished"))
        close_student_browser(sandbox)  # the student's browser is not part of a grade
        found, baselines = time_grades(sandbox, args.grades, latencies)
        routes = discover_routes(Target(region=REGION, endpoint_url=sandbox.url))
        login_url = f"https://{made.instance_dns}/login.html"
        password = load_spec().expected.final_password
        with BrowserSession(find_browser(), routes, REGION, timeout_s=args.timeout) as session:
            started = time.monotonic()
            user_agent = session.user_agent  # launches the browser
            launch_s = time.monotonic() - started
            cpu_before = cpu_seconds(process_tree(os.getpid()))
            busy_before = machine_busy_seconds()
            wall_before = time.monotonic()
            times: list[float] = []
            failures = 0
            for _ in range(args.n):
                started = time.monotonic()
                attempt = log_in(session, login_url, "janedoe", password)
                times.append(time.monotonic() - started)
                if attempt.landed != "private" or not attempt.tokens:
                    failures += 1
                    print("login did not succeed:", attempt.evidence(screenshot=False), file=sys.stderr)
            cpu_used = cpu_seconds(process_tree(os.getpid())) - cpu_before
            others = max(0.0, machine_busy_seconds() - busy_before - cpu_used) / (time.monotonic() - wall_before)
    sampler.stop()

    print(f"browser: {find_browser().source}; user agent: {user_agent}")
    print_grades(found, baselines)
    print(f"browser launch: {launch_s * 1000:.0f} ms (once per grading run)")
    print(f"login x{args.n}: {spread(times)}")
    print(f"CPU per login (all processes): {cpu_used / args.n * 1000:.0f} ms on {os.cpu_count()} cores")
    print(f"other work on the machine meanwhile: {others:.2f} cores busy on average")
    print(
        f"peak memory of the process tree ({sampler.peak_processes} processes at most): "
        f"RSS sum {sampler.peak_rss_kib / 1024:.0f} MiB, PSS sum {sampler.peak_pss_kib / 1024:.0f} MiB"
    )
    status = 0
    short = sum(grades.short for grades in found)
    if short:
        print(f"{short} of {args.grades * len(found)} grades did not score full marks", file=sys.stderr)
        status = 1
    if failures:
        print(f"{failures} of {args.n} logins did not reach private.html with tokens", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())

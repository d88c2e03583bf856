"""Grade a class with `grader batch` and with a loop of `grader check`, in one run: speed, CPU and memory.

    python benchmarks/bench_batch.py [--students N] [--workers 2,4] [--loop/--no-loop] [--quick]
                                     [--latency zero|realistic|both] [--lanes 1,default]
                                     [--rounds R] [--deadline S] [--keep DIR]

Starts the sandbox in this process (it serves HTTP on a local port) and does N students' labs in it
(default 24; --quick: 6), each in a sandbox account of its own with its website: mostly the
finished lab, every fourth student from the second on one of a few mistakes. Then, in this run:
- the loop: one `grader check --credentials-file FILE` process per student, one after another,
  as an instructor grades a class without `grader batch` (each student's credentials file holds
  keys the sandbox's STS minted for that student's account);
- the batch: one `grader batch ROSTER` process per worker count (--workers 2,4), with the roster
  set_up_class writes (the same credentials files).
Both sides run as processes of their own, so both pay the interpreter's start and the imports.
- --latency: the sandbox answers at once (`zero`, the default), as real AWS and a website far away
  would (`realistic`: grader/sandbox/latency.py, LookupEvents about 1 s and throttled above 2 a
  second), or `both`: every batch configuration is graded at each, so the table compares them. The
  latency is set after the class is provisioned, before each phase (seeded by the round: repeatable).
  The loop is graded at zero latency only, and labelled so: it is the baseline of the batch's code.
- --lanes: the batch's browser lanes, comma-separated; `default` is no --lanes option (the grader's
  own choice: one per core, fewer when memory is short; the header says what it picks).
Each (latency, lanes, workers) of the batch is a phase. With --rounds R each phase grades the class
R times, the order of the phases turned by one each round; medians are shown (peaks: the highest).

For each it prints the accounts graded per minute, CPU-seconds per account and the peak memory,
then the batch's speed as a multiple of the loop's (the loop is the baseline measured in the same
run; with --rounds, also round by round and the median of those), default lanes' speed as a
multiple of one lane's and realistic latency's as a multiple of zero's (same workers), the targets
beside the figures ("met"/"not met", never a failure), and a JSON line with every figure.
- Timings: the median per student of results.json's `timings.cloudtrail` (CloudTrail reads, wall
  time) and `timings.browser` (browser flows, waiting for a free lane included).
- Chromium per lane: the Chromium processes' RSS at the phase's peak divided by its lanes.
- CPU: the process tree's, from getrusage(RUSAGE_CHILDREN) before and after each process (this
  process makes itself the subreaper of its descendants, so a browser process orphaned by its
  parent is still reaped here and counted). The sandbox serves from this process: its CPU is
  getrusage(RUSAGE_SELF) over the same span, less the memory sampler's own thread time, and is
  shown apart. The split by process (the grader, the Playwright driver, each kind of Chromium
  process) is sampled from /proc, each process's CPU time as last seen: a lower bound.
- Memory: the process tree of each grading process (this process excluded) sampled from /proc
  every 0.2 s: the sum of RSS (an over-estimate: Chromium's processes share many pages), split
  by process at the peak and given per third of the run (growth with the class shows there),
  and the sum of PSS from smaps_rollup (shared pages split between their sharers; every fifth
  sample); the sandbox's own RSS (this process) apart. Other work on the machine is given as
  the cores it kept busy meanwhile (/proc/stat).
- A fixed pure-Python workload (SHA-256 over 64 MiB, the baseline of bench_grade.py) is timed
  three times before each grading run; the seconds per account are also given in multiples of it.
- Where the time goes: from each student's results.json and the batch's batch.json, the
  grade's duration in process (the loop), the observation and the judging (the batch), and the
  browser flows' own seconds recorded in the evidence; their sum over the class (the longest of
  each student's overlapped flows) as a share of the wall time says how busy the browser was.

Every grade is checked before its time is trusted: each student graded, each check's status
the one the student's scenario expects (the finished lab: full marks), and the loop's and the
batch's statuses equal. Exit code 0 when all agree, 1 otherwise. Linux only; not a test: no speed
is asserted.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_grade import baseline_seconds, rss_kib  # noqa: E402  (one baseline and one /proc reader)

from grader.browser.lanes import choose_lanes  # noqa: E402
from grader.sandbox import Sandbox  # noqa: E402
from grader.sandbox.classroom import ClassStudent, set_up_class  # noqa: E402
from grader.sandbox.demo import close_student_browser  # noqa: E402
from grader.sandbox.latency import profile_named  # noqa: E402
from grader.sandbox.scenarios import Scenario, load_scenario  # noqa: E402
from grader.spec import LabSpec, load_spec  # noqa: E402

MISTAKES = (
    "callback-http",
    "janedoe-not-confirmed",
    "no-trail",
    "login-always-succeeds",
    "mfa-optional",
    "no-website-login",
)
"""The mistakes of the class: each keeps its website up, and none arms a fault (faults hold for the whole sandbox)."""

TARGET_PER_MINUTE = 30.0
"""Accounts/min at realistic latency (at zero latency: TARGET_ZERO_PER_MINUTE)."""
TARGET_ZERO_PER_MINUTE = 40.0
TARGET_CPU_PER_ACCOUNT = 2.8
TARGET_PEAK_GIB = 2.0
TARGET_LANES_SPEEDUP = 1.5
"""Default lanes' accounts/min as a multiple of one lane's, at realistic latency and the same workers."""
LATENCIES = ("zero", "realistic")
DEFAULT_LANES = "default"
"""In --lanes: no --lanes option, the grader's own choice."""
SAMPLE_INTERVAL_S = 0.2
PSS_EVERY = 5
BASELINE_REPEATS = 3
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36


# ------------------------------------------------------------------ the class


def class_of(count: int) -> tuple[ClassStudent, ...]:
    """`count` students: the finished lab, and every fourth one from the second a mistake of MISTAKES in turn."""
    students = []
    for index in range(count):
        scenario = MISTAKES[(index // 4) % len(MISTAKES)] if index % 4 == 1 else "finished"
        # A credentials file each: the batch's roster names it, and the loop's `grader check` takes it.
        students.append(ClassStudent(f"s{index + 1:02d}", f"Student {index + 1}", scenario, "credentials-file"))
    return tuple(students)


# ------------------------------------------------------------------ /proc and rusage


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    started: int
    """Start time in clock ticks since boot: with the pid, names one process even when pids are reused."""
    cpu_ticks: int
    """The process's own user + system time (not its reaped children's)."""


def scan() -> dict[int, Proc]:
    """Every process of the machine, from one pass over /proc/*/stat."""
    found: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):  # noqa: PTH208 - names only, many times a second
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(entry)] = Proc(int(entry), int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]))
    return found


def descendants(root: int, procs: dict[int, Proc], leave_out: frozenset[int] = frozenset()) -> list[int]:
    """Every descendant of `root` (not `root` itself), without the subtrees of `leave_out`."""
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    out: list[int] = []
    todo = [pid for pid in children.get(root, []) if pid not in leave_out]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def direct_children(root: int) -> set[int]:
    return {proc.pid for proc in scan().values() if proc.ppid == root}


def kind_of(pid: int) -> str:
    """What a process of the grading tree is: the grader, the Playwright driver, or which Chromium process."""
    try:
        # Chromium rewrites its children's command lines as one string: split on spaces too.
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
    program = Path(argv[0].decode(errors="replace")).name if argv else comm
    if "python" in program or program == "grader":
        return "grader (python)"
    if program == "node" or any(a.endswith(b"playwright/driver/package/cli.js") for a in argv):
        return "playwright driver (node)"
    if "chrom" in program or "chrom" in comm or program == "exe":
        kind = next((a.split(b"=", 1)[1].decode() for a in argv if a.startswith(b"--type=")), "browser")
        sub = next((a.split(b"=", 1)[1].decode() for a in argv if a.startswith(b"--utility-sub-type=")), "")
        return f"chromium {kind}" + (f" ({sub.split('.')[0]})" if sub else "")
    return program


def pss_kib(pid: int) -> int | None:
    """Proportional set size (None when smaps_rollup cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all processes, all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def rusage_cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def become_subreaper() -> bool:
    """Make orphaned descendants (a browser whose driver exited first) children of this process, to reap and count."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class TreeSampler(threading.Thread):
    """Samples this process's descendants (bar `leave_out`) and this process: peaks of memory, CPU by kind.

    RSS every sample; PSS (smaps_rollup costs more) every PSS_EVERY-th. CPU by kind is each
    process's own CPU time as last seen, so what a process spends in its last interval is missed:
    a share, not a total (the totals come from getrusage).
    """

    def __init__(self, leave_out: frozenset[int]) -> None:
        super().__init__(daemon=True, name="tree-sampler")
        self.leave_out = leave_out
        self.peak_rss_kib = 0
        self.rss_by_kind_at_peak: dict[str, int] = {}
        self.series: list[tuple[float, int]] = []
        self.peak_pss_kib = 0
        self.pss_readable = False
        self.peak_processes = 0
        self.peak_self_rss_kib = 0
        self.cpu_s = 0.0
        self._last_ticks: dict[tuple[int, int], int] = {}
        self._kinds: dict[tuple[int, int], str] = {}
        self._stop_event = threading.Event()

    def cpu_by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for key, ticks in self._last_ticks.items():
            kind = self._kinds.get(key, "?")
            totals[kind] = totals.get(kind, 0.0) + ticks / CLOCK_TICKS
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def run(self) -> None:
        started = time.thread_time()
        me = os.getpid()
        tick = 0
        while not self._stop_event.is_set():
            procs = scan()
            pids = descendants(me, procs, self.leave_out)
            for pid in pids:
                proc = procs[pid]
                key = (pid, proc.started)
                if key not in self._kinds:
                    self._kinds[key] = kind_of(pid)
                self._last_ticks[key] = proc.cpu_ticks
            self.peak_processes = max(self.peak_processes, len(pids))
            by_kind: dict[str, int] = {}
            for pid in pids:
                kind = self._kinds[(pid, procs[pid].started)]
                by_kind[kind] = by_kind.get(kind, 0) + rss_kib(pid)
            total = sum(by_kind.values())
            self.series.append((time.monotonic(), total))
            if total > self.peak_rss_kib:
                self.peak_rss_kib, self.rss_by_kind_at_peak = total, by_kind
            if tick % PSS_EVERY == 0:
                pss = [pss_kib(p) for p in pids]
                self.pss_readable = self.pss_readable or any(v is not None for v in pss)
                self.peak_pss_kib = max(self.peak_pss_kib, sum(v or 0 for v in pss))
            self.peak_self_rss_kib = max(self.peak_self_rss_kib, rss_kib(me))
            tick += 1
            self.cpu_s = time.thread_time() - started
            self._stop_event.wait(SAMPLE_INTERVAL_S)
        self.cpu_s = time.thread_time() - started

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def peaks_by_third(self) -> list[int]:
        """The peak RSS sum in each third of the sampled time (a batch whose memory grows with the class shows it)."""
        if not self.series:
            return []
        first, last = self.series[0][0], self.series[-1][0]
        span = max(last - first, 1e-9)
        peaks = [0, 0, 0]
        for at, total in self.series:
            third = min(2, int((at - first) / span * 3))
            peaks[third] = max(peaks[third], total)
        return peaks


def reap_orphans(known: frozenset[int], grace_s: float = 3.0) -> list[str]:
    """Reap the descendants a grading process left behind as this process's children; those still running after
    `grace_s` are killed (they descend from a process this benchmark started) and named in the answer."""
    me = os.getpid()
    deadline = time.monotonic() + grace_s
    while True:
        orphans = direct_children(me) - known
        for pid in list(orphans):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                orphans.discard(pid)
        if not orphans or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    left: list[str] = []
    for pid in orphans:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            name = "?"
        left.append(f"{pid} ({name})")
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    return left


# ------------------------------------------------------------------ timing


@dataclass
class Phase:
    """One way of grading the class, measured."""

    name: str
    accounts: int
    latency: str = "zero"
    lanes: str = "-"
    """As asked: a count, DEFAULT_LANES, or "-" (the loop: `grader check`, one browser)."""
    lane_count: int = 1
    """The lanes the grader used (a default one's as its log says)."""
    workers: int | None = None
    wall_s: float = 0.0
    tree_cpu_s: float = 0.0
    sandbox_cpu_s: float = 0.0
    sampler_cpu_s: float = 0.0
    others_cores: float = 0.0
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    pss_readable: bool = True
    peak_processes: int = 0
    sandbox_peak_rss_kib: int = 0
    baseline_s: float = 0.0
    exit_codes: list[int] = field(default_factory=list)
    run_walls: list[float] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    cpu_by_kind: dict[str, float] = field(default_factory=dict)
    rss_by_kind_at_peak: dict[str, int] = field(default_factory=dict)
    rss_peaks_by_third: list[int] = field(default_factory=list)
    cloudtrail_s: list[float] = field(default_factory=list)
    """Each student's results.json `timings.cloudtrail` (every round's)."""
    browser_s: list[float] = field(default_factory=list)
    """Each student's results.json `timings.browser` (every round's)."""

    @property
    def per_minute(self) -> float:
        return self.accounts / self.wall_s * 60 if self.wall_s else 0.0

    @property
    def cpu_per_account(self) -> float:
        return self.tree_cpu_s / self.accounts

    @property
    def sandbox_cpu_per_account(self) -> float:
        return self.sandbox_cpu_s / self.accounts

    @property
    def median_cloudtrail_s(self) -> float | None:
        return round(statistics.median(self.cloudtrail_s), 2) if self.cloudtrail_s else None

    @property
    def median_browser_s(self) -> float | None:
        return round(statistics.median(self.browser_s), 2) if self.browser_s else None

    @property
    def chromium_per_lane_kib(self) -> float:
        """The Chromium processes' RSS at the peak, per lane."""
        chromium = sum(kib for kind, kib in self.rss_by_kind_at_peak.items() if kind.startswith("chromium"))
        return chromium / max(1, self.lane_count)

    def figures(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "lanes": self.lanes,
            "lane_count": self.lane_count,
            "workers": self.workers,
            "accounts": self.accounts,
            "wall_s": round(self.wall_s, 2),
            "accounts_per_min": round(self.per_minute, 1),
            "s_per_account": round(self.wall_s / self.accounts, 2),
            "s_per_account_in_baselines": round(self.wall_s / self.accounts / self.baseline_s, 1),
            "cpu_s_per_account": round(self.cpu_per_account, 2),
            "sandbox_cpu_s_per_account": round(self.sandbox_cpu_per_account, 3),
            "peak_rss_mib": round(self.peak_rss_kib / 1024),
            "peak_pss_mib": round(self.peak_pss_kib / 1024) if self.pss_readable else None,
            "peak_rss_gib": round(self.peak_rss_kib / 1024 / 1024, 2),
            "peak_pss_gib": round(self.peak_pss_kib / 1024 / 1024, 2) if self.pss_readable else None,
            "chromium_per_lane_peak_rss_mib": round(self.chromium_per_lane_kib / 1024),
            "timings_cloudtrail_median_s": self.median_cloudtrail_s,
            "timings_browser_median_s": self.median_browser_s,
            "peak_processes": self.peak_processes,
            "sandbox_peak_rss_mib": round(self.sandbox_peak_rss_kib / 1024),
            "baseline_s": round(self.baseline_s, 3),
            "others_cores": round(self.others_cores, 2),
            "sampler_cpu_s": round(self.sampler_cpu_s, 2),
            "exit_codes": sorted(set(self.exit_codes)),
            "left_behind": self.left_behind,
            "rss_mib_by_kind_at_peak": {kind: round(kib / 1024) for kind, kib in self.rss_by_kind_at_peak.items()},
            "peak_rss_mib_by_third": [round(kib / 1024) for kib in self.rss_peaks_by_third],
            "cpu_s_per_account_by_kind_sampled": {
                kind: round(seconds / self.accounts, 2) for kind, seconds in self.cpu_by_kind.items()
            },
        }


@dataclass(frozen=True)
class Way:
    """One way of grading the class: the loop (no workers), or the batch at a latency, lanes and workers."""

    latency: str
    workers: int | None = None
    lanes: str = "-"

    @property
    def is_loop(self) -> bool:
        return self.workers is None

    @property
    def name(self) -> str:
        if self.is_loop:
            return f"loop (check, {self.latency})"
        return f"batch {self.latency} lanes={self.lanes} w{self.workers}"

    @property
    def folder(self) -> str:
        return re.sub(r"[^A-Za-z0-9.]+", "-", self.name).strip("-")

    def lanes_option(self) -> list[str]:
        return [] if self.is_loop or self.lanes == DEFAULT_LANES else ["--lanes", self.lanes]


def run_phase(way: Way, commands: list[list[str]], logs: Path, accounts: int) -> Phase:
    """Run `commands` one after another, each to its end, measuring them together as one phase."""
    logs.mkdir(parents=True, exist_ok=True)
    phase = Phase(name=way.name, accounts=accounts, latency=way.latency, lanes=way.lanes, workers=way.workers)
    phase.baseline_s = statistics.median(baseline_seconds() for _ in range(BASELINE_REPEATS))
    known = frozenset(direct_children(os.getpid()))
    sampler = TreeSampler(leave_out=known)
    children_before = rusage_cpu(resource.RUSAGE_CHILDREN)
    self_before = rusage_cpu(resource.RUSAGE_SELF)
    busy_before = machine_busy_seconds()
    sampler.start()
    started = time.monotonic()
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    for index, command in enumerate(commands):
        run_started = time.monotonic()
        with (logs / f"{index:03d}.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            phase.exit_codes.append(process.wait())
        phase.left_behind += reap_orphans(known)
        phase.run_walls.append(time.monotonic() - run_started)
    phase.wall_s = time.monotonic() - started
    sampler.stop()
    phase.tree_cpu_s = rusage_cpu(resource.RUSAGE_CHILDREN) - children_before
    self_cpu = rusage_cpu(resource.RUSAGE_SELF) - self_before
    phase.sampler_cpu_s = sampler.cpu_s
    phase.sandbox_cpu_s = max(0.0, self_cpu - sampler.cpu_s)
    busy = machine_busy_seconds() - busy_before
    phase.others_cores = max(0.0, busy - phase.tree_cpu_s - self_cpu) / phase.wall_s
    phase.peak_rss_kib = sampler.peak_rss_kib
    phase.peak_pss_kib = sampler.peak_pss_kib
    phase.pss_readable = sampler.pss_readable
    phase.peak_processes = sampler.peak_processes
    phase.cpu_by_kind = sampler.cpu_by_kind()
    phase.rss_by_kind_at_peak = dict(sorted(sampler.rss_by_kind_at_peak.items(), key=lambda item: -item[1]))
    phase.rss_peaks_by_third = sampler.peaks_by_third()
    phase.sandbox_peak_rss_kib = sampler.peak_self_rss_kib
    return phase


# ------------------------------------------------------------------ what was graded


def expected_checks(scenario: Scenario, spec: LabSpec) -> dict[str, tuple[str, float]]:
    """Check id -> (status, points) the scenario's lab should get."""
    out: dict[str, tuple[str, float]] = {}
    for cid, meta in spec.checks.items():
        status = scenario.expected_status(cid)
        out[cid] = (status, meta.points if status == "pass" and not meta.advisory else 0.0)
    return out


def read_result(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def result_problems(sid: str, result: dict[str, Any] | None, expected: dict[str, tuple[str, float]]) -> list[str]:
    """What differs between a student's results.json and what their scenario expects."""
    if result is None:
        return [f"{sid}: no results.json"]
    problems = []
    statuses = {c["id"]: (c["status"], float(c["points"])) for c in result["checks"]}
    for cid, (status, points) in expected.items():
        got = statuses.get(cid)
        if got is None:
            problems.append(f"{sid}: {cid} not graded")
        elif got[0] != status or abs(got[1] - points) > 1e-9:
            message = next((c["message"] for c in result["checks"] if c["id"] == cid), "")
            problems.append(f"{sid}: {cid} {got[0]} ({got[1]:g} points), expected {status} ({points:g}): {message}")
    return problems


def check_batch(out: Path, students: tuple[ClassStudent, ...], spec: LabSpec) -> list[str]:
    """What is wrong with the batch's class.csv and results (an empty list: every student graded as expected)."""
    try:
        with (out / "class.csv").open(encoding="utf-8", newline="") as handle:
            rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    except OSError as exc:
        return [f"no class.csv ({exc})"]
    problems: list[str] = []
    for student in students:
        sid = student.student_id
        row = rows.get(sid)
        if row is None:
            problems.append(f"{sid}: not in class.csv")
            continue
        if row["status"] != "graded":
            problems.append(f"{sid}: {row['status']}: {row['reason']}")
            continue
        expected = expected_checks(load_scenario(student.scenario or "finished"), spec)
        want = sum(points for _, points in expected.values())
        if abs(float(row["score"]) - want) > 1e-9:
            problems.append(f"{sid} ({student.scenario}): class.csv score {row['score']}, expected {want:g}")
        for cid, (_, points) in expected.items():
            if row.get(cid, "") == "" or abs(float(row[cid]) - points) > 1e-9:
                problems.append(f"{sid}: class.csv {cid} = {row.get(cid)!r}, expected {points:g}")
        problems += result_problems(sid, read_result(out / sid), expected)
    return problems


def check_loop(out: Path, students: tuple[ClassStudent, ...], spec: LabSpec) -> list[str]:
    problems: list[str] = []
    for student in students:
        expected = expected_checks(load_scenario(student.scenario or "finished"), spec)
        problems += result_problems(student.student_id, read_result(out / student.student_id), expected)
    return problems


def statuses_of(folder: Path) -> dict[str, str] | None:
    result = read_result(folder)
    return {c["id"]: c["status"] for c in result["checks"]} if result else None


def flow_seconds(result: dict[str, Any]) -> dict[str, float]:
    """The browser flows' own durations recorded in the evidence: `check.path` -> seconds."""
    found: dict[str, float] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "seconds" and isinstance(item, int | float):
                    found[path] = float(item)
                else:
                    walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    for check in result.get("checks", []):
        walk(check.get("evidence", {}), check["id"])
    return found


def timings_of(folder: Path, students: tuple[ClassStudent, ...]) -> tuple[list[float], list[float]]:
    """Each student's results.json `timings.cloudtrail` and `timings.browser` (those recorded)."""
    cloudtrail: list[float] = []
    browser: list[float] = []
    for student in students:
        timings = (read_result(folder / student.student_id) or {}).get("timings") or {}
        if isinstance(timings.get("cloudtrail"), int | float):
            cloudtrail.append(float(timings["cloudtrail"]))
        if isinstance(timings.get("browser"), int | float):
            browser.append(float(timings["browser"]))
    return cloudtrail, browser


def lanes_used(logs: Path, way: Way) -> int:
    """The lanes the batch said it used ("N browser lanes" in its log); else as asked, or the default's choice."""
    try:
        said = re.search(r"(\d+) browser lanes?\b", (logs / "000.log").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        said = None
    if said:
        return int(said.group(1))
    if way.is_loop:
        return 1
    return int(way.lanes) if way.lanes.isdigit() else choose_lanes(None).count


def where_time_goes(folder: Path, students: tuple[ClassStudent, ...], batch: bool) -> dict[str, Any]:
    """Medians per student: the loop's in-process grade, or the batch's observation and judging; the flows'."""
    in_process: list[float] = []
    whole: list[float] = []
    flows: dict[str, list[float]] = {}
    longest: list[float] = []
    manifest: dict[str, Any] = {}
    if batch:
        try:
            data = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
            manifest = {entry["student_id"]: entry for entry in data.get("students", [])}
        except (OSError, ValueError):
            manifest = {}
    observed: list[float] = []
    for student in students:
        result = read_result(folder / student.student_id)
        if result is None:
            continue
        in_process.append(float(result["duration_seconds"]))
        entry = manifest.get(student.student_id)
        if entry and entry.get("duration_seconds"):
            whole.append(float(entry["duration_seconds"]))
        seconds = observation_seconds(folder / student.student_id)
        if seconds is not None:
            observed.append(seconds)
        found = flow_seconds(result)
        for name, seconds in found.items():
            flows.setdefault(name, []).append(seconds)
        longest.append(max(found.values(), default=0.0))

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 2) if values else None

    said: dict[str, Any] = {"flows_median_s": {name: med(v) for name, v in sorted(flows.items())}}
    # A student's flows run overlapped: the longest is about how long the browser's thread is theirs.
    said["longest_flow_sum_s"] = round(sum(longest), 1)
    # results.json's duration runs from the start of the observation to the end of the judging;
    # evidence.json dates the observation itself, so the judging is the rest.
    said["observe_median_s"] = med(observed)
    if batch:
        said["observe_and_judge_median_s"] = med(whole)
        judged = [total - seen for total, seen in zip(in_process, observed, strict=False)]
        said["judge_median_s"] = med(judged)
        said["judge_sum_s"] = round(sum(judged), 1)
    else:
        said["grade_in_process_median_s"] = med(in_process)
    return said


def observation_seconds(folder: Path) -> float | None:
    """How long the observation saved in `folder`'s evidence.json took; None when it cannot be read."""
    from grader.errors import GraderError
    from grader.observe.evidence_file import read_evidence

    try:
        evidence, _ = read_evidence(folder)
    except GraderError:
        return None
    if evidence.finished_at is None:
        return None
    return (evidence.finished_at - evidence.observed_at).total_seconds()


# ------------------------------------------------------------------ main


def grader_command() -> list[str]:
    script = Path(sys.executable).parent / "grader"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "grader"]


def lanes_shown(phase: Phase) -> str:
    if phase.lanes == DEFAULT_LANES:
        return f"default={phase.lane_count}"
    return phase.lanes if phase.lanes != "-" else f"-({phase.lane_count})"


def seconds_shown(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def table(phases: list[Phase], loop: Phase | None) -> str:
    header = (
        f"{'latency':<10}{'lanes':<11}{'workers':>7}{'accounts':>9}{'wall s':>8}{'acc/min':>9}{'x loop':>8}"
        f"{'CPU-s/acc':>10}{'+sandbox':>9}{'RSS GiB':>8}{'PSS GiB':>8}{'procs':>6}{'others':>7}"
        f"{'CT s':>7}{'browser s':>10}"
    )
    lines = [header, "-" * len(header)]
    for phase in phases:
        ratio = f"{phase.per_minute / loop.per_minute:.2f}" if loop and loop.per_minute else "-"
        pss = f"{phase.peak_pss_kib / 1024 / 1024:.2f}" if phase.pss_readable else "n/a"
        workers = str(phase.workers) if phase.workers is not None else "loop"
        lines.append(
            f"{phase.latency:<10}{lanes_shown(phase):<11}{workers:>7}{phase.accounts:>9}{phase.wall_s:>8.1f}"
            f"{phase.per_minute:>9.1f}{ratio:>8}{phase.cpu_per_account:>10.2f}{phase.sandbox_cpu_per_account:>9.2f}"
            f"{phase.peak_rss_kib / 1024 / 1024:>8.2f}{pss:>8}{phase.peak_processes:>6}{phase.others_cores:>7.2f}"
            f"{seconds_shown(phase.median_cloudtrail_s):>7}{seconds_shown(phase.median_browser_s):>10}"
        )
    return "\n".join(lines)


def round_ratios(runs: dict[str, list[Phase]]) -> dict[str, list[float]]:
    """Each batch's speed as a multiple of the loop's in the same round (rounds alternate, so a slow spell of
    the machine weighs on both sides of one ratio)."""
    loops = next((phase_runs for name, phase_runs in runs.items() if name.startswith("loop")), None)
    if not loops:
        return {}
    return {
        name: [round(run.per_minute / loop.per_minute, 2) for run, loop in zip(phase_runs, loops, strict=True)]
        for name, phase_runs in runs.items()
        if not name.startswith("loop")
    }


def pairs_by(phases: list[Phase], varied: str, first: str, second: str) -> dict[str, tuple[Phase, Phase]]:
    """The batch's phases that differ only in `varied` ("lanes" or "latency"): (its `first` value's phase,
    its `second` value's), keyed by what they share ("<latency> w<workers>" or "lanes=<lanes> w<workers>")."""
    kept = "latency" if varied == "lanes" else "lanes"
    batch = [p for p in phases if p.workers is not None]
    found: dict[str, tuple[Phase, Phase]] = {}
    for one in (p for p in batch if getattr(p, varied) == first):
        other = next(
            (
                p
                for p in batch
                if getattr(p, varied) == second and (getattr(p, kept), p.workers) == (getattr(one, kept), one.workers)
            ),
            None,
        )
        if other:
            shared = getattr(one, kept)
            found[f"{shared if kept == 'latency' else 'lanes=' + shared} w{one.workers}"] = (one, other)
    return found


def speed_ratios(pairs: dict[str, tuple[Phase, Phase]], runs: dict[str, list[Phase]]) -> dict[str, dict[str, Any]]:
    """Each pair's speed ratio: of the medians, and round by round (the same round: the same spell of the machine)."""
    out: dict[str, dict[str, Any]] = {}
    for label, (top, bottom) in pairs.items():
        per_round = [
            round(a.per_minute / b.per_minute, 2) if b.per_minute else 0.0
            for a, b in zip(runs[top.name], runs[bottom.name], strict=True)
        ]
        out[label] = {
            "of_medians": round(top.per_minute / bottom.per_minute, 2) if bottom.per_minute else 0.0,
            "per_round": per_round,
            "median_of_rounds": round(statistics.median(per_round), 2),
        }
    return out


def met(ok: bool) -> str:
    return "met" if ok else "not met"


def target_results(phases: list[Phase], lane_speedups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every target beside its figure: each batch phase's speed (by its latency), CPU and peak; default lanes'
    speed-up at realistic latency (the median of the rounds' ratios)."""
    found: list[dict[str, Any]] = []

    def add(what: str, figure: float, limit: float, at_least: bool) -> None:
        ok = figure >= limit if at_least else figure <= limit
        found.append({"what": what, "figure": round(figure, 2), "target": limit, "at_least": at_least, "met": ok})

    for phase in (p for p in phases if p.workers is not None):
        speed = TARGET_PER_MINUTE if phase.latency == "realistic" else TARGET_ZERO_PER_MINUTE
        add(f"{phase.name}: accounts/min", phase.per_minute, speed, at_least=True)
        add(f"{phase.name}: CPU-s per account", phase.cpu_per_account, TARGET_CPU_PER_ACCOUNT, at_least=False)
        add(f"{phase.name}: peak GiB (RSS sum)", phase.peak_rss_kib / 1024 / 1024, TARGET_PEAK_GIB, at_least=False)
    for label, ratios in lane_speedups.items():
        if label.startswith("realistic"):
            add(f"default lanes x one lane, {label}", ratios["median_of_rounds"], TARGET_LANES_SPEEDUP, at_least=True)
    return found


def median_phase(runs: list[Phase]) -> Phase:
    """One phase of the medians of `runs` (the same way of grading, repeated); peaks are the maximum."""
    first = runs[0]
    if len(runs) == 1:
        return first
    merged = Phase(
        name=first.name, accounts=first.accounts, latency=first.latency, lanes=first.lanes, workers=first.workers
    )
    for name in ("wall_s", "tree_cpu_s", "sandbox_cpu_s", "sampler_cpu_s", "others_cores", "baseline_s"):
        setattr(merged, name, statistics.median(getattr(run, name) for run in runs))
    for name in ("peak_rss_kib", "peak_pss_kib", "peak_processes", "sandbox_peak_rss_kib"):
        setattr(merged, name, max(getattr(run, name) for run in runs))
    merged.pss_readable = all(run.pss_readable for run in runs)
    highest = max(runs, key=lambda run: run.peak_rss_kib)
    merged.rss_by_kind_at_peak, merged.rss_peaks_by_third = highest.rss_by_kind_at_peak, highest.rss_peaks_by_third
    merged.lane_count = highest.lane_count
    kinds = {kind for run in runs for kind in run.cpu_by_kind}
    medians = {kind: statistics.median(run.cpu_by_kind.get(kind, 0.0) for run in runs) for kind in kinds}
    merged.cpu_by_kind = dict(sorted(medians.items(), key=lambda item: -item[1]))
    for run in runs:
        merged.exit_codes += run.exit_codes
        merged.run_walls += run.run_walls
        merged.left_behind += run.left_behind
        merged.cloudtrail_s += run.cloudtrail_s
        merged.browser_s += run.browser_s
    return merged


def loop_commands(
    grader: list[str], url: str, credentials: dict[str, Path], students: tuple[ClassStudent, ...], out: Path
) -> list[list[str]]:
    """One `grader check` per student, with the credentials file set_up_class wrote for them."""
    return [
        [
            *grader,
            "check",
            "--endpoint-url",
            url,
            "--credentials-file",
            str(credentials[s.student_id]),
            "--student",
            s.student_id,
            "--out",
            str(out / "reports"),
        ]
        for s in students
    ]


def batch_command(grader: list[str], url: str, roster: Path, way: Way, out: Path) -> list[str]:
    return [
        *grader,
        "batch",
        str(roster),
        "--endpoint-url",
        url,
        "--out",
        str(out / "reports"),
        "--workers",
        str(way.workers),
        *way.lanes_option(),
    ]


def lanes_asked(text: str) -> list[str]:
    """--lanes' counts, each a positive number or DEFAULT_LANES (ValueError otherwise)."""
    lanes: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if item == DEFAULT_LANES:
            lanes.append(item)
        elif item:
            if not item.isdigit() or int(item) < 1:
                raise ValueError(f"--lanes: {item!r} is neither a count of at least 1 nor {DEFAULT_LANES!r}")
            lanes.append(str(int(item)))
    if not lanes:
        raise ValueError("--lanes: no lane count")
    return list(dict.fromkeys(lanes))


def ways_of(loop: bool, latencies: tuple[str, ...], lanes: list[str], workers: list[int]) -> list[Way]:
    """The loop (zero latency), then each batch configuration, the latencies of one configuration side by side."""
    ways = [Way("zero")] if loop else []
    ways += [Way(latency, w, lane) for w in workers for lane in lanes for latency in latencies]
    return ways


def check_phase(way: Way, phase: Phase, out: Path, students: tuple[ClassStudent, ...], spec: LabSpec) -> list[str]:
    """What is wrong with one phase's grades, exit codes and leftovers (empty: all as expected)."""
    if way.is_loop:
        found = check_loop(out / "reports", students, spec)
        bad_exits = [c for c in phase.exit_codes if c not in (0, 1)]
    else:
        found = check_batch(out / "reports", students, spec)
        bad_exits = [c for c in phase.exit_codes if c != 0]
    if bad_exits:
        found.append(f"exit codes {bad_exits} (see {out / 'logs'})")
    if phase.left_behind:
        found.append(f"processes still running after the grader exited: {phase.left_behind}")
    return found


def disagreements(first_round: Path, students: tuple[ClassStudent, ...]) -> list[str]:
    """The students graded differently by the ways of the first round (check by check)."""
    folders = [p / "reports" for p in sorted(first_round.iterdir()) if (p / "reports").is_dir()]
    problems: list[str] = []
    for student in students:
        seen = {str(f.parent.name): statuses_of(f / student.student_id) for f in folders}
        distinct = {json.dumps(s, sort_keys=True) for s in seen.values() if s is not None}
        if len(distinct) > 1:
            problems.append(f"{student.student_id}: graded differently by {', '.join(seen)}")
    return problems


def print_ratios(title: str, ratios: dict[str, dict[str, Any]]) -> None:
    for label, said in ratios.items():
        print(
            f"{title}, {label}: {said['of_medians']:.2f}x (of the medians); "
            f"per round {said['per_round']}, median {said['median_of_rounds']:.2f}x"
        )


def print_targets(found: list[dict[str, Any]]) -> None:
    for target in found:
        sign = ">=" if target["at_least"] else "<="
        print(f"target: {target['what']}: {target['figure']:g} ({sign} {target['target']:g}) {met(target['met'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=None, help="students in the class (default 24)")
    parser.add_argument("--workers", default="2,4", help="worker counts of the batch, comma-separated (default 2,4)")
    parser.add_argument(
        "--lanes", default=DEFAULT_LANES, help="lane counts of the batch, comma-separated; 'default': no --lanes"
    )
    parser.add_argument(
        "--latency",
        choices=(*LATENCIES, "both"),
        default="zero",
        help="the sandbox's latency for the batch (the loop: zero); both: each configuration at each",
    )
    parser.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True, help="grade with the loop too")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 6 students (unless --students)")
    parser.add_argument("--rounds", type=int, default=1, help="grade the class R times each way, in turn (medians)")
    parser.add_argument("--deadline", type=float, default=None, help="--deadline of every grading (default: theirs)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the reports and logs in this folder")
    args = parser.parse_args(argv)
    count = args.students or (6 if args.quick else 24)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if count < 1 or not workers or min(workers) < 1 or args.rounds < 1:
        parser.error("--students, --workers and --rounds must be at least 1")
    try:
        lanes = lanes_asked(args.lanes)
    except ValueError as exc:
        parser.error(str(exc))
    latencies = LATENCIES if args.latency == "both" else (args.latency,)

    subreaper = become_subreaper()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    if args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    spec = load_spec()
    students = class_of(count)
    grader = grader_command()
    deadline = ["--deadline", f"{args.deadline:g}"] if args.deadline else []
    problems: list[str] = []
    runs: dict[str, list[Phase]] = {}
    where: dict[str, Any] = {}
    default_lanes = choose_lanes(None)
    try:
        with Sandbox() as sandbox:
            started = time.monotonic()
            roster = set_up_class(sandbox, students, work / "handed-in")
            close_student_browser(sandbox)  # the student's browser is not part of grading
            provision_s = time.monotonic() - started
            credentials = {s.student_id: work / "handed-in" / f"{s.student_id}-credentials.txt" for s in students}
            mix: dict[str, int] = {}
            for student in students:
                mix[student.scenario or "-"] = mix.get(student.scenario or "-", 0) + 1
            print(
                f"class: {count} students in {count} sandbox accounts, provisioned in {provision_s:.0f} s: "
                + ", ".join(f"{n} {name}" for name, n in mix.items())
            )
            print(
                f"sandbox at {sandbox.url} (this process); grading with {' '.join(grader)}; "
                f"subreaper: {'yes' if subreaper else 'no'}; {os.cpu_count()} cores"
            )
            print(
                f"latency: {' and '.join(latencies)} (the loop: zero); lanes: {', '.join(lanes)}; "
                f"default lanes here: {default_lanes.said()}"
            )

            ways = ways_of(args.loop, latencies, lanes, workers)
            for round_index in range(args.rounds):
                shift = round_index % len(ways)
                for way in ways[shift:] + ways[:shift]:
                    name = way.name
                    out = work / f"round{round_index + 1}" / way.folder
                    if way.is_loop:
                        commands = [
                            [*c, *deadline] for c in loop_commands(grader, sandbox.url, credentials, students, out)
                        ]
                    else:
                        commands = [[*batch_command(grader, sandbox.url, roster, way, out), *deadline]]
                    # After provisioning, before each phase: seeded by the round, so a run is repeatable.
                    sandbox.set_latency(profile_named(way.latency), seed=round_index)
                    print(f"round {round_index + 1}: {name} ...", flush=True)
                    phase = run_phase(way, commands, out / "logs", count)
                    phase.lane_count = lanes_used(out / "logs", way)
                    phase.cloudtrail_s, phase.browser_s = timings_of(out / "reports", students)
                    runs.setdefault(name, []).append(phase)
                    found = check_phase(way, phase, out, students, spec)
                    problems += [f"{name}, round {round_index + 1}: {p}" for p in found]
                    if name not in where:
                        where[name] = where_time_goes(out / "reports", students, batch=not way.is_loop)
                        where[name]["longest_flow_share_of_wall"] = round(
                            where[name]["longest_flow_sum_s"] / phase.wall_s, 2
                        )
                    if way.is_loop:
                        where[name]["process_wall_median_s"] = round(statistics.median(phase.run_walls), 2)
            sandbox.set_latency(None)
            # The loop's and the batch's grades of each student agree, check by check, at every latency.
            problems += disagreements(work / "round1", students)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    phases = [median_phase(runs[name]) for name in runs]
    loop = next((p for p in phases if p.name.startswith("loop")), None)
    print()
    print(table(phases, loop))
    print(
        f"(lanes: default={default_lanes.count} is no --lanes option: {default_lanes.said()}; "
        f"CPU-s/acc: the grading processes and all their descendants, browser included; +sandbox: the in-process "
        f"sandbox's CPU per account, apart; RSS/PSS GiB: peak sums over the grading process tree, sandbox excluded; "
        f"others: cores busy with other work on the machine meanwhile; CT s / browser s: median per student of "
        f"results.json timings.cloudtrail / timings.browser; the loop at zero latency only; "
        f"{args.rounds} round(s), medians)"
    )
    for phase in phases:
        print(
            f"{phase.name}: sandbox process peak RSS {phase.sandbox_peak_rss_kib / 1024:.0f} MiB; "
            f"baseline (SHA-256 of 64 MiB) {phase.baseline_s * 1000:.0f} ms; "
            f"{phase.wall_s / phase.accounts:.2f} s per account = "
            f"{phase.wall_s / phase.accounts / phase.baseline_s:.1f} baselines"
        )
    for phase in phases:
        shares = ", ".join(f"{kind} {seconds / phase.accounts:.2f}" for kind, seconds in phase.cpu_by_kind.items())
        print(f"{phase.name}: CPU-s per account by process (sampled, a lower bound): {shares}")
        at_peak = ", ".join(f"{kind} {kib / 1024:.0f}" for kind, kib in phase.rss_by_kind_at_peak.items())
        thirds = " / ".join(f"{kib / 1024:.0f}" for kib in phase.rss_peaks_by_third)
        print(f"{phase.name}: RSS MiB by process at the peak: {at_peak}; peak RSS per third of the run: {thirds} MiB")
    for phase in phases:
        print(
            f"{phase.name}: Chromium per lane (peak RSS / lanes): {phase.chromium_per_lane_kib / 1024:.0f} MiB "
            f"({phase.lane_count} lane{'s' if phase.lane_count != 1 else ''})"
        )
    for name, said in where.items():
        print(f"{name}: where the time goes (medians per student): {json.dumps(said)}")
    per_round = {name: [round(run.per_minute, 1) for run in phase_runs] for name, phase_runs in runs.items()}
    ratios = round_ratios(runs)
    if args.rounds > 1:
        print("accounts/min per round: " + "; ".join(f"{name} {rates}" for name, rates in per_round.items()))
        for name, values in ratios.items():
            print(f"{name}: x loop per round {values}, median {statistics.median(values):.2f}")
    lane_speedups = speed_ratios(pairs_by(phases, "lanes", DEFAULT_LANES, "1"), runs)
    latency_slowdowns = speed_ratios(pairs_by(phases, "latency", "realistic", "zero"), runs)
    print_ratios("speed, default lanes x one lane", lane_speedups)
    print_ratios("speed, realistic latency x zero", latency_slowdowns)
    targets = target_results(phases, lane_speedups)
    print_targets(targets)
    figures = {
        "bench": "batch",
        "students": count,
        "mix": {name: sum(1 for s in students if s.scenario == name) for name in {s.scenario for s in students}},
        "cores": os.cpu_count(),
        "rounds": args.rounds,
        "latencies": list(latencies),
        "lanes": lanes,
        "default_lanes": {"count": default_lanes.count, "said": default_lanes.said()},
        "phases": {p.name: p.figures() for p in phases},
        "ratio_to_loop": {p.name: round(p.per_minute / loop.per_minute, 2) for p in phases if loop and p is not loop},
        "accounts_per_min_per_round": per_round,
        "ratio_to_loop_per_round": ratios,
        "default_lanes_x_one_lane": lane_speedups,
        "realistic_x_zero": latency_slowdowns,
        "where": where,
        "targets": {
            "accounts_per_min": TARGET_PER_MINUTE,
            "accounts_per_min_zero_latency": TARGET_ZERO_PER_MINUTE,
            "cpu_s_per_account": TARGET_CPU_PER_ACCOUNT,
            "peak_gib": TARGET_PEAK_GIB,
            "default_lanes_x_one_lane": TARGET_LANES_SPEEDUP,
        },
        "target_results": targets,
        "problems": len(problems),
    }
    print(json.dumps(figures, sort_keys=True))
    if problems:
        print(f"{len(problems)} problem(s): these timings are not of a correct grading run:", file=sys.stderr)
        for problem in problems[:40]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

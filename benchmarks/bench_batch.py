"""Grade a class with `grader batch` and with a loop of `grader check`, in one run: speed, CPU and memory.

    python benchmarks/bench_batch.py [--students N] [--workers 2,4] [--loop/--no-loop] [--quick]
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
With --rounds R each way grades the class R times, the order of the ways turned by one each
round; medians are shown (peaks: the highest).

For each it prints the accounts graded per minute, CPU-seconds per account and the peak memory,
then the batch's speed as a multiple of the loop's (the loop is the baseline measured in the same
run; with --rounds, also round by round and the median of those), and a JSON line with every figure.
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

from grader.sandbox import Sandbox  # noqa: E402
from grader.sandbox.classroom import ClassStudent, set_up_class  # noqa: E402
from grader.sandbox.demo import close_student_browser  # noqa: E402
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
TARGET_CPU_PER_ACCOUNT = 2.8
TARGET_PEAK_GIB = 2.0
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

    @property
    def per_minute(self) -> float:
        return self.accounts / self.wall_s * 60 if self.wall_s else 0.0

    @property
    def cpu_per_account(self) -> float:
        return self.tree_cpu_s / self.accounts

    @property
    def sandbox_cpu_per_account(self) -> float:
        return self.sandbox_cpu_s / self.accounts

    def figures(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "wall_s": round(self.wall_s, 2),
            "accounts_per_min": round(self.per_minute, 1),
            "s_per_account": round(self.wall_s / self.accounts, 2),
            "s_per_account_in_baselines": round(self.wall_s / self.accounts / self.baseline_s, 1),
            "cpu_s_per_account": round(self.cpu_per_account, 2),
            "sandbox_cpu_s_per_account": round(self.sandbox_cpu_per_account, 3),
            "peak_rss_mib": round(self.peak_rss_kib / 1024),
            "peak_pss_mib": round(self.peak_pss_kib / 1024) if self.pss_readable else None,
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


def run_phase(name: str, commands: list[list[str]], logs: Path, accounts: int) -> Phase:
    """Run `commands` one after another, each to its end, measuring them together as one phase."""
    logs.mkdir(parents=True, exist_ok=True)
    phase = Phase(name=name, accounts=accounts)
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
    for student in students:
        result = read_result(folder / student.student_id)
        if result is None:
            continue
        in_process.append(float(result["duration_seconds"]))
        entry = manifest.get(student.student_id)
        if entry and entry.get("duration_seconds"):
            whole.append(float(entry["duration_seconds"]))
        found = flow_seconds(result)
        for name, seconds in found.items():
            flows.setdefault(name, []).append(seconds)
        longest.append(max(found.values(), default=0.0))

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 2) if values else None

    said: dict[str, Any] = {"flows_median_s": {name: med(v) for name, v in sorted(flows.items())}}
    # A student's flows run overlapped: the longest is about how long the browser's thread is theirs.
    said["longest_flow_sum_s"] = round(sum(longest), 1)
    if batch:
        # results.json's duration is the judging (pytest over the evidence); batch.json's is observe + judge.
        said["judge_median_s"] = med(in_process)
        said["judge_sum_s"] = round(sum(in_process), 1)
        said["observe_and_judge_median_s"] = med(whole)
        said["observe_median_s"] = med([w - j for w, j in zip(whole, in_process, strict=False)]) if whole else None
    else:
        said["grade_in_process_median_s"] = med(in_process)
    return said


# ------------------------------------------------------------------ main


def grader_command() -> list[str]:
    script = Path(sys.executable).parent / "grader"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "grader"]


def table(phases: list[Phase], loop: Phase | None) -> str:
    header = (
        f"{'grading':<16}{'accounts':>9}{'wall s':>8}{'acc/min':>9}{'x loop':>8}{'CPU-s/acc':>10}"
        f"{'+sandbox':>9}{'peak RSS':>10}{'peak PSS':>10}{'procs':>6}{'others':>8}"
    )
    lines = [header, "-" * len(header)]
    for phase in phases:
        ratio = f"{phase.per_minute / loop.per_minute:.2f}" if loop and loop.per_minute else "-"
        pss = f"{phase.peak_pss_kib / 1024:.0f} MiB" if phase.pss_readable else "n/a"
        lines.append(
            f"{phase.name:<16}{phase.accounts:>9}{phase.wall_s:>8.1f}{phase.per_minute:>9.1f}{ratio:>8}"
            f"{phase.cpu_per_account:>10.2f}{phase.sandbox_cpu_per_account:>9.2f}"
            f"{phase.peak_rss_kib / 1024:>6.0f} MiB{pss:>10}{phase.peak_processes:>6}{phase.others_cores:>8.2f}"
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


def median_phase(runs: list[Phase]) -> Phase:
    """One phase of the medians of `runs` (the same way of grading, repeated); peaks are the maximum."""
    first = runs[0]
    if len(runs) == 1:
        return first
    merged = Phase(name=first.name, accounts=first.accounts)
    for name in ("wall_s", "tree_cpu_s", "sandbox_cpu_s", "sampler_cpu_s", "others_cores", "baseline_s"):
        setattr(merged, name, statistics.median(getattr(run, name) for run in runs))
    for name in ("peak_rss_kib", "peak_pss_kib", "peak_processes", "sandbox_peak_rss_kib"):
        setattr(merged, name, max(getattr(run, name) for run in runs))
    merged.pss_readable = all(run.pss_readable for run in runs)
    highest = max(runs, key=lambda run: run.peak_rss_kib)
    merged.rss_by_kind_at_peak, merged.rss_peaks_by_third = highest.rss_by_kind_at_peak, highest.rss_peaks_by_third
    kinds = {kind for run in runs for kind in run.cpu_by_kind}
    medians = {kind: statistics.median(run.cpu_by_kind.get(kind, 0.0) for run in runs) for kind in kinds}
    merged.cpu_by_kind = dict(sorted(medians.items(), key=lambda item: -item[1]))
    for run in runs:
        merged.exit_codes += run.exit_codes
        merged.run_walls += run.run_walls
        merged.left_behind += run.left_behind
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=None, help="students in the class (default 24)")
    parser.add_argument("--workers", default="2,4", help="worker counts of the batch, comma-separated (default 2,4)")
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

            ways: list[tuple[str, Any]] = []
            if args.loop:
                ways.append(("loop (check)", None))
            ways += [(f"batch w{w}", w) for w in workers]
            for round_index in range(args.rounds):
                shift = round_index % len(ways)
                for name, w in ways[shift:] + ways[:shift]:
                    out = work / f"round{round_index + 1}" / name.replace(" ", "-").replace("(", "").replace(")", "")
                    if w is None:
                        commands = [
                            [
                                *grader,
                                "check",
                                "--endpoint-url",
                                sandbox.url,
                                "--credentials-file",
                                str(credentials[s.student_id]),
                                "--student",
                                s.student_id,
                                "--out",
                                str(out / "reports"),
                                *deadline,
                            ]
                            for s in students
                        ]
                    else:
                        commands = [
                            [
                                *grader,
                                "batch",
                                str(roster),
                                "--endpoint-url",
                                sandbox.url,
                                "--out",
                                str(out / "reports"),
                                "--workers",
                                str(w),
                                *deadline,
                            ]
                        ]
                    print(f"round {round_index + 1}: {name} ...", flush=True)
                    phase = run_phase(name, commands, out / "logs", count)
                    runs.setdefault(name, []).append(phase)
                    if w is None:
                        found = check_loop(out / "reports", students, spec)
                        bad_exits = [c for c in phase.exit_codes if c not in (0, 1)]
                    else:
                        found = check_batch(out / "reports", students, spec)
                        bad_exits = [c for c in phase.exit_codes if c != 0]
                    if bad_exits:
                        found.append(f"exit codes {bad_exits} (see {out / 'logs'})")
                    if phase.left_behind:
                        found.append(f"processes still running after the grader exited: {phase.left_behind}")
                    problems += [f"{name}, round {round_index + 1}: {p}" for p in found]
                    if name not in where:
                        where[name] = where_time_goes(out / "reports", students, batch=w is not None)
                        where[name]["longest_flow_share_of_wall"] = round(
                            where[name]["longest_flow_sum_s"] / phase.wall_s, 2
                        )
                    if w is None:
                        walls = phase.run_walls
                        where[name]["process_wall_median_s"] = round(statistics.median(walls), 2)
            # The loop's and the batch's grades of each student agree, check by check.
            first = work / "round1"
            folders = [p / "reports" for p in sorted(first.iterdir()) if (p / "reports").is_dir()]
            for student in students:
                seen = {str(f.parent.name): statuses_of(f / student.student_id) for f in folders}
                distinct = {json.dumps(s, sort_keys=True) for s in seen.values() if s is not None}
                if len(distinct) > 1:
                    problems.append(f"{student.student_id}: graded differently by {', '.join(seen)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    phases = [median_phase(runs[name]) for name in runs]
    loop = next((p for p in phases if p.name.startswith("loop")), None)
    print()
    print(table(phases, loop))
    print(
        f"(CPU-s/acc: the grading processes and all their descendants, browser included; +sandbox: the in-process "
        f"sandbox's CPU per account, apart; peak RSS/PSS: sums over the grading process tree, sandbox excluded; "
        f"others: cores busy with other work meanwhile; {args.rounds} round(s), medians)"
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
    for name, said in where.items():
        print(f"{name}: where the time goes (medians per student): {json.dumps(said)}")
    per_round = {name: [round(run.per_minute, 1) for run in phase_runs] for name, phase_runs in runs.items()}
    ratios = round_ratios(runs)
    if args.rounds > 1:
        print("accounts/min per round: " + "; ".join(f"{name} {rates}" for name, rates in per_round.items()))
        for name, values in ratios.items():
            print(f"{name}: x loop per round {values}, median {statistics.median(values):.2f}")
    best = max((p for p in phases if not p.name.startswith("loop")), key=lambda p: p.per_minute, default=None)
    if best is not None:
        peak_gib = best.peak_rss_kib / 1024 / 1024
        print(
            f"targets ({best.name}): {best.per_minute:.1f} accounts/min (>= {TARGET_PER_MINUTE:g}), "
            f"{best.cpu_per_account:.2f} CPU-s per account (<= {TARGET_CPU_PER_ACCOUNT:g}), "
            f"peak {peak_gib:.2f} GiB RSS sum (<= {TARGET_PEAK_GIB:g})"
        )
    figures = {
        "bench": "batch",
        "students": count,
        "mix": {name: sum(1 for s in students if s.scenario == name) for name in {s.scenario for s in students}},
        "cores": os.cpu_count(),
        "rounds": args.rounds,
        "phases": {p.name: p.figures() for p in phases},
        "ratio_to_loop": {p.name: round(p.per_minute / loop.per_minute, 2) for p in phases if loop and p is not loop},
        "accounts_per_min_per_round": per_round,
        "ratio_to_loop_per_round": ratios,
        "where": where,
        "targets": {
            "accounts_per_min": TARGET_PER_MINUTE,
            "cpu_s_per_account": TARGET_CPU_PER_ACCOUNT,
            "peak_gib": TARGET_PEAK_GIB,
        },
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

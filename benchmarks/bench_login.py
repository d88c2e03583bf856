"""Time the grader's browser login against the sandbox lab, and the memory it takes.

    python benchmarks/bench_login.py [N]        (N logins, default 10)

Sets up the finished lab once in an embedded sandbox (pool, app client, janedoe, the reference
website deployed under an EC2 name), launches one browser, logs in N times as janedoe and
prints the median, min and max wall time of one login, the CPU time per login, and the peak
memory of the whole process tree (this Python process, the Playwright driver and every
Chromium process), sampled from /proc. Linux only. Not a test: nothing is asserted except that
every login reached private.html with tokens.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from grader.browser import BrowserSession, discover_routes, find_browser  # noqa: E402
from grader.sandbox import Sandbox  # noqa: E402
from grader.sandbox.sites import DeployedSite  # noqa: E402
from grader.target import Target  # noqa: E402

REGION = "us-east-1"
HOST = "ec2-54-214-1-2.compute-1.amazonaws.com"
TEMP_PASSWORD = "ILove2SeeTheTemple!"
PASSWORD = "Ilove2SeeTheTemple!!"
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ /proc sampling


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
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


# ------------------------------------------------------------------ the lab


def _rebuild() -> Any:
    spec = importlib.util.spec_from_file_location("site_rebuild", ROOT / "fixtures" / "site" / "rebuild.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_up_lab(sandbox: Sandbox, site_dir: Path) -> None:
    """The finished lab: pool, public SRP client, janedoe CONFIRMED, the site deployed."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=sandbox.url, region_name=REGION,
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
    )
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="VehicleApp",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="janedoe", TemporaryPassword=TEMP_PASSWORD)
    idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
    rebuild = _rebuild()
    root = rebuild.render_site(
        rebuild.TEMPLATE_DIR, site_dir, user_pool_id=pool_id, client_id=client_id,
        cognito_domain=f"vehicleapp.auth.{REGION}.amazoncognito.com", ec2_host=HOST,
    )
    sandbox.deploy_site(DeployedSite(host=HOST, root=root))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10, help="number of logins (default 10)")
    parser.add_argument("--timeout", type=float, default=15.0, help="timeout_s of the session")
    args = parser.parse_args(argv)

    sampler = PeakSampler(os.getpid())
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        set_up_lab(sandbox, Path(tmp) / "site")
        routes = discover_routes(Target(region=REGION, endpoint_url=sandbox.url))
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
                attempt = session.login(f"https://{HOST}/login.html", "janedoe", PASSWORD)
                times.append(time.monotonic() - started)
                if attempt.landed != "private" or not attempt.tokens:
                    failures += 1
                    print("login did not succeed:", attempt.evidence(screenshot=False), file=sys.stderr)
            cpu_used = cpu_seconds(process_tree(os.getpid())) - cpu_before
            others = max(0.0, machine_busy_seconds() - busy_before - cpu_used) / (time.monotonic() - wall_before)
    sampler.stop()

    print(f"browser: {find_browser().source}; user agent: {user_agent}")
    print(f"browser launch: {launch_s * 1000:.0f} ms (once per grading run)")
    print(
        f"login x{args.n}: median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )
    print(f"CPU per login (all processes): {cpu_used / args.n * 1000:.0f} ms on {os.cpu_count()} cores")
    print(f"other work on the machine meanwhile: {others:.2f} cores busy on average")
    print(
        f"peak memory of the process tree ({sampler.peak_processes} processes at most): "
        f"RSS sum {sampler.peak_rss_kib / 1024:.0f} MiB, PSS sum {sampler.peak_pss_kib / 1024:.0f} MiB"
    )
    if failures:
        print(f"{failures} of {args.n} logins did not reach private.html with tokens", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

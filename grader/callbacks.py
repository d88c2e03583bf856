"""Judging a callback URL against the account's EC2 instances (http, typos, restarts, stopped instances).

An instance's public DNS name holds its public IPv4 address, which changes whenever the instance
is stopped and started again; in AWS Academy that happens with every new lab session. A callback
that names a well-formed EC2 public DNS name of the lab's region, other than the running
instance's, is therefore a former address of the instance, not a typo, unless it is one
keystroke away from the current name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from grader.authorize import LOCAL_CALLBACK_HOSTS
from grader.snapshot import Instance, host_of, running_hosts

# ec2-<a>-<b>-<c>-<d>.compute-1.amazonaws.com in us-east-1, and
# ec2-<a>-<b>-<c>-<d>.<region>.compute.amazonaws.com[.cn] in every other region.
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
EC2_PUBLIC_NAME = re.compile(
    rf"^ec2-{_OCTET}-{_OCTET}-{_OCTET}-{_OCTET}\."
    r"(?:compute-1\.amazonaws\.com|(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.compute\.amazonaws\.com(?:\.cn)?)$"
)

# When an instance was last started, if known (None when unknown or unreadable).
StartedAt = Callable[[str], datetime | None]


@dataclass(frozen=True)
class CallbackVerdict:
    url: str
    ok: bool
    problem: str = ""


def ec2_name_region(host: str) -> str | None:
    """The region of a well-formed EC2 public DNS name (`us-east-1` for compute-1), else None."""
    match = EC2_PUBLIC_NAME.match(host.lower())
    if match is None or match.group("region") == "us-east-1":  # us-east-1 names end in compute-1.amazonaws.com
        return None
    return match.group("region") or "us-east-1"


def one_keystroke_apart(a: str, b: str) -> bool:
    """True when `b` is `a` with one character dropped, added, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    middle_a, middle_b = a[start:end_a], b[start:end_b]
    if len(middle_a) <= 1 and len(middle_b) <= 1:
        return True
    return len(middle_a) == len(middle_b) == 2 and middle_a == middle_b[::-1]


def judge_callbacks(
    urls: tuple[str, ...],
    instances: tuple[Instance, ...],
    *,
    region: str | None = None,
    started_at: StartedAt | None = None,
) -> tuple[CallbackVerdict | None, list[str]]:
    """The callback URL that names a running instance over https, or the problems found.

    Returns (verdict for the matching URL, []) or (None, problems for every URL that names an
    instance-like host but is wrong). `region` is the lab's region (None: any region's EC2
    names count); `started_at(instance_id)` says when an instance was last started, for the
    problem of a callback on a former address (asked only then).
    """
    running = running_hosts(instances)
    usable = sign_in_callback(urls, instances)
    if usable is not None:
        return CallbackVerdict(usable, True), []
    problems: list[str] = []
    for url in urls:
        host = host_of(url)
        scheme = _scheme(url)
        if host in running:
            problems.append(
                f"{url} names the running instance {running[host].id} but uses {scheme or 'no scheme'}; "
                "Cognito needs https (write https://, not http://)"
            )
            continue
        if host in LOCAL_CALLBACK_HOSTS:
            continue
        if _former_address(host, running, region):
            problems.append(_moved(url, list(running.values()), started_at))
            continue
        typo = [name for name in running if one_keystroke_apart(host, name)]
        close = typo or difflib.get_close_matches(host, list(running), n=1, cutoff=0.85)
        if close:
            problems.append(f"{url} looks like a typo of the instance's name {close[0]}")
            continue
        if host.startswith("ec2-") or host.endswith(".amazonaws.com"):
            problems.append(f"{url} names no running instance in this account and region")
    return None, problems


def sign_in_callback(urls: tuple[str, ...], instances: tuple[Instance, ...]) -> str | None:
    """The first callback URL that names a running instance over https: the one a sign-in returns to."""
    running = running_hosts(instances)
    return next((url for url in urls if host_of(url) in running and _scheme(url) == "https"), None)


def names_former_address(urls: tuple[str, ...], instances: tuple[Instance, ...], region: str | None) -> bool:
    """Whether judging `urls` needs to know when the instance last started: no callback is usable and one
    is a former public address of the instance (see judge_callbacks)."""
    if sign_in_callback(urls, instances) is not None:
        return False
    running = running_hosts(instances)
    return any(_former_address(host_of(url), running, region) for url in urls if host_of(url) not in running)


def _former_address(host: str, running: dict[str, Instance], region: str | None) -> bool:
    """`host` is an EC2 public DNS name of the lab's region, not a running instance's, nor one keystroke from one."""
    if not running or host in LOCAL_CALLBACK_HOSTS:
        return False
    named_region = ec2_name_region(host)
    if named_region is None or (region is not None and named_region != region):
        return False
    return not any(one_keystroke_apart(host, name) for name in running)


def _moved(url: str, running: list[Instance], started_at: StartedAt | None) -> str:
    """The problem of a callback on a former public address of the instance."""
    if len(running) == 1:
        instance = running[0]
        started = started_at(instance.id) if started_at is not None else None
        when = f"; CloudTrail shows it started again {_when(started)}" if started is not None else ""
        return (
            f"{url} is an EC2 public DNS name, but not the running instance's: the public address of "
            f"{instance.id} has changed since the callback URL was saved (a restarted lab session, or a stop and "
            f"start{when}) and is now {instance.public_dns}. Update the callback URL to "
            f"{_on_host(url, instance.public_dns)}, and run rebuildapp.sh again so the website uses the new "
            "address too"
        )
    now = ", ".join(f"{i.id} is {i.public_dns}" for i in running)
    return (
        f"{url} is an EC2 public DNS name, but no running instance's ({now}): an instance's public address "
        "changes when a lab session restarts or the instance is stopped and started. Update the callback URL "
        "to the website's instance's current name, and run rebuildapp.sh again so the website uses the new "
        "address too"
    )


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower() if "://" in url else ""


def _on_host(url: str, host: str) -> str:
    """`url` over https on `host`, keeping its path."""
    parts = urlsplit(url)
    return urlunsplit(("https", host, parts.path, parts.query, parts.fragment))


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

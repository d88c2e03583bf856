"""Judging a callback URL against the account's EC2 instances (http, typos, stopped instances)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from urllib.parse import urlsplit

from grader.collect import Instance, host_of


@dataclass(frozen=True)
class CallbackVerdict:
    url: str
    ok: bool
    problem: str = ""


def judge_callbacks(urls: tuple[str, ...], instances: tuple[Instance, ...]) -> tuple[CallbackVerdict | None, list[str]]:
    """The callback URL that names a running instance over https, or the problems found.

    Returns (verdict for the matching URL or None, problems for every URL that names an
    instance-like host but is wrong).
    """
    running = {i.public_dns.lower(): i for i in instances if i.state == "running" and i.public_dns}
    problems: list[str] = []
    for url in urls:
        host = host_of(url)
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        if host in running:
            if scheme == "https":
                return CallbackVerdict(url, True), problems
            problems.append(
                f"{url} names the running instance {running[host].id} but uses {scheme or 'no scheme'}; "
                "Cognito needs https (write https://, not http://)"
            )
            continue
        if host in {"localhost", "127.0.0.1"}:
            continue
        close = difflib.get_close_matches(host, list(running), n=1, cutoff=0.85)
        if close:
            problems.append(f"{url} looks like a typo of the instance's name {close[0]}")
            continue
        if host.startswith("ec2-") or host.endswith(".amazonaws.com"):
            problems.append(f"{url} names no running instance in this account and region")
    return None, problems

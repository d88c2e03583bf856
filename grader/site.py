"""The student's website as the grader reads it: where it is, and what `scripts/settings.js` says.

settings.js is read as text, never executed. Reading the website over HTTP lives in
grader/observe/website.py; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from grader.authorize import LOCAL_CALLBACK_HOSTS
from grader.snapshot import AppClient, Instance, host_of, running_hosts

PLACEHOLDERS = {
    "UserPoolId": "REPLACE-WITH-YOUR-USER-POOL-ID",
    "ClientId": "REPLACE-WITH-YOUR-CLIENT-ID",
}
SETTING = re.compile(r"""\b(UserPoolId|ClientId|HostedId|BaseURL)\s*:\s*(['"`])(.*?)\2""", re.S)


UNSEEN_STATUSES = frozenset({408, 425, 429, 502, 503, 504})
"""HTTP statuses from a student's website that show nothing about the lab: "try later" (408, 425, 429,
503) or a gateway's trouble (502, 504), which a proxy between the grader and the site can answer as
well. Any other status is the web server's own answer (a 404 or a 500 is the site's)."""
CONNECTION_REFUSED = "connection refused"
"""A probe's error when the host itself answered that nothing listens on the port (a TCP reset)."""
HOST_NOT_FOUND = "host not found"
"""A probe's error when the host's name did not resolve (the grader's DNS, or a name that does not exist)."""
TOO_LARGE = "the answer was larger than"
"""How a probe's error starts when the server sent more than the reader takes: the server's own answer,
and not the course's page (its pages are a few KiB)."""
PAGE_TEXT_CHARS = 200
"""How much of a page's visible text the evidence keeps (page text is hostile: cut short)."""


def page_excerpt(text: str, limit: int = PAGE_TEXT_CHARS) -> str:
    """Visible text of a page on one line, printable, cut to `limit` characters (with an ellipsis when cut)."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"


def unseen_status(status: int | None) -> bool:
    """Whether the website's answer shows the grader nothing: no answer at all, or an UNSEEN_STATUSES status."""
    return status is None or status in UNSEEN_STATUSES


@dataclass(frozen=True)
class Probe:
    """One address tried, and what came back (`text`: the page's visible text, cut short, when the grader
    did not recognise the page)."""

    url: str
    status: int | None
    error: str = ""
    text: str = ""

    @property
    def unseen(self) -> bool:
        """Whether this answer shows the grader nothing about the site (no answer, or "try later").

        An answer too large to read is the server's own: it is seen, though its status was not kept."""
        return unseen_status(self.status) and not self.error.startswith(TOO_LARGE)

    def said(self) -> str:
        """What came back, for a sentence: the error, or the HTTP status (and the page's text when kept)."""
        if self.error or self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}" + (f" showing \u201c{self.text}\u201d" if self.text else "")

    def evidence(self) -> dict[str, object]:
        found: dict[str, object] = {"url": self.url, "status": self.status, "error": self.error}
        if self.text:
            found["text"] = self.text
        return found


@dataclass(frozen=True)
class Settings:
    """The values in settings.js, as written."""

    user_pool_id: str
    client_id: str
    hosted_link: str

    @property
    def placeholders(self) -> list[str]:
        return [
            name
            for name, value in (("UserPoolId", self.user_pool_id), ("ClientId", self.client_id))
            if value == PLACEHOLDERS[name]
        ] + (["HostedId"] if "REPLACE-WITH" in self.hosted_link else [])


@dataclass(frozen=True)
class Site:
    """The website as the grader found it."""

    host: str
    source: str
    base_url: str | None
    probes: tuple[Probe, ...]
    settings: Settings | None
    settings_problem: str = ""
    settings_probe: Probe | None = None
    """The read of scripts/settings.js (None when login.html was never found)."""

    @property
    def login_url(self) -> str | None:
        return f"{self.base_url}login.html" if self.base_url else None


@dataclass(frozen=True)
class HostedLink:
    """The hosted-UI link in settings.js, taken apart."""

    raw: str
    scheme: str
    host: str
    path: str
    params: dict[str, str]


def parse_settings(text: str) -> Settings | None:
    found = {name: value for name, _, value in SETTING.findall(text)}
    if "UserPoolId" not in found and "ClientId" not in found:
        return None
    return Settings(
        user_pool_id=found.get("UserPoolId", "").strip(),
        client_id=found.get("ClientId", "").strip(),
        hosted_link=found.get("HostedId", "").strip(),
    )


def parse_hosted_link(link: str) -> HostedLink:
    parts = urlsplit(link)
    params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return HostedLink(raw=link, scheme=parts.scheme, host=(parts.hostname or ""), path=parts.path, params=params)


def site_host(site_url: str | None, client: AppClient | None, instances: tuple[Instance, ...]) -> tuple[str, str]:
    """(host or URL of the website, where it came from).

    --site-url if given; else the callback URL that names a running instance; else that
    instance's public DNS name (the site lives there even when the callback is wrong); else the
    callback URL as written.
    """
    if site_url:
        return site_url, "--site-url"
    running = running_hosts(instances)
    callbacks = [u for u in (client.callback_urls if client else ()) if host_of(u) not in LOCAL_CALLBACK_HOSTS | {""}]
    for url in callbacks:
        if host_of(url) in running:
            return url, "the app client's callback URL"
    if running:
        return next(iter(running)), "the running EC2 instance's public DNS name"
    if callbacks:
        return callbacks[0], "the app client's callback URL"
    return "", ""


def origin_of(url: str) -> str:
    """`scheme://host:port` of an http(s) URL, with the default port written out ('' for others)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return ""
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return ""
    host = parts.hostname.lower()
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def candidates(host_or_url: str) -> list[str]:
    """Base URLs to try: the one given, then the same host over https and http."""
    if "://" in host_or_url:
        parts = urlsplit(host_or_url)
        given = f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"
        host = parts.netloc
        others = [f"https://{host}/", f"http://{host}/"]
        return [given] + [o for o in others if o != given]
    return [f"https://{host_or_url}/", f"http://{host_or_url}/"]

"""Reads the student's website over HTTP: where it is, whether login.html is there, and what
`scripts/settings.js` says (read as text, never executed).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from grader.collect import AppClient, Instance, host_of

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
PLACEHOLDERS = {
    "UserPoolId": "REPLACE-WITH-YOUR-USER-POOL-ID",
    "ClientId": "REPLACE-WITH-YOUR-CLIENT-ID",
}
REFUSED = "connection refused or host not found"
HANGING = f"connected, but no answer within {READ_TIMEOUT:g} s"
SETTING = re.compile(r"""\b(UserPoolId|ClientId|HostedId|BaseURL)\s*:\s*(['"`])(.*?)\2""", re.S)


@dataclass(frozen=True)
class Probe:
    """One address tried, and what came back."""

    url: str
    status: int | None
    error: str = ""

    def evidence(self) -> dict[str, object]:
        return {"url": self.url, "status": self.status, "error": self.error}


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
    from grader.hostedui import LOCAL_CALLBACK_HOSTS  # (hostedui reads pages with this module's Fetcher)

    if site_url:
        return site_url, "--site-url"
    running = [i.public_dns.lower() for i in instances if i.state == "running" and i.public_dns]
    callbacks = [u for u in (client.callback_urls if client else ()) if host_of(u) not in LOCAL_CALLBACK_HOSTS | {""}]
    for url in callbacks:
        if host_of(url) in running:
            return url, "the app client's callback URL"
    if running:
        return running[0], "the running EC2 instance's public DNS name"
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


class Fetcher:
    """GETs pages; a sandbox-deployed host is fetched from the sandbox instead of the network.

    `local_url(url)` names the URL to fetch instead (None: the URL itself). `offline` (sandbox
    mode): a URL that `local_url` does not map is as dead as an unknown host.
    """

    def __init__(self, local_url=None, *, offline: bool = False) -> None:  # noqa: ANN001 - callable(url) -> url | None
        self.local_url = local_url or (lambda url: None)
        self.offline = offline
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "vehicle-lab-grader"

    def get(self, url: str) -> tuple[Probe, str | None]:
        """The probe for `url` and the page's text (None when nothing came back)."""
        probe, text, _ = self._get(url, follow=True)
        return probe, text

    def get_once(self, url: str) -> tuple[Probe, str | None, str]:
        """Like get(), without following a redirect: also returns the Location it names."""
        return self._get(url, follow=False)

    def _get(self, url: str, follow: bool) -> tuple[Probe, str | None, str]:
        mapped = self.local_url(url)
        if self.offline and mapped is None:
            return Probe(url, None, REFUSED), None, ""
        target = mapped or url
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InsecureRequestWarning)
                # The course's https certificate is self-signed: it is the site's, not a bank's.
                answer = self.http.get(
                    target, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), verify=False, allow_redirects=follow
                )
        except requests.exceptions.ConnectTimeout:
            return Probe(url, None, f"no connection within {CONNECT_TIMEOUT:g} s"), None, ""
        except requests.exceptions.ReadTimeout:
            return Probe(url, None, HANGING), None, ""
        except requests.exceptions.ConnectionError:
            return Probe(url, None, REFUSED), None, ""
        except requests.exceptions.RequestException as exc:
            return Probe(url, None, type(exc).__name__), None, ""
        if target != url and answer.status_code == 502:  # the sandbox's "nothing listens there"
            return Probe(url, None, REFUSED), None, ""
        return Probe(url, answer.status_code), answer.text, answer.headers.get("Location", "")


def read_site(fetcher: Fetcher, host_or_url: str, source: str) -> Site:
    """Find the base URL that serves login.html, then read settings.js there."""
    probes: list[Probe] = []
    if not host_or_url:
        return Site("", "", None, (), None)
    host = host_of(host_or_url) if "://" in host_or_url else host_or_url
    for base in candidates(host_or_url):
        probe, text = fetcher.get(base + "login.html")
        probes.append(probe)
        if probe.status == 200 and text and 'id="username"' in text.replace("'", '"'):
            return _with_settings(fetcher, Site(host, source, base, tuple(probes), None))
        if probe.error == HANGING:
            break  # a hanging server: don't wait for it twice
    return Site(host, source, None, tuple(probes), None)


def _with_settings(fetcher: Fetcher, site: Site) -> Site:
    probe, text = fetcher.get(f"{site.base_url}scripts/settings.js")
    if probe.status != 200 or text is None:
        why = f"HTTP {probe.status}" if probe.status else probe.error
        return Site(site.host, site.source, site.base_url, site.probes + (probe,), None, f"scripts/settings.js could not be read ({why})")
    settings = parse_settings(text)
    problem = "" if settings else "scripts/settings.js has no UserPoolId or ClientId setting"
    return Site(site.host, site.source, site.base_url, site.probes, settings, problem)

"""Reads the student's website and Cognito's hosted UI over HTTP (no browser).

`Fetcher` GETs pages; in sandbox mode a sandbox-deployed host is fetched from the sandbox. The
website is found where login.html answers, then settings.js is read as text. `probe` asks
Cognito's /oauth2/authorize what it answers to a URL, without following the answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from grader.authorize import HINTS, UNAVAILABLE_TEXT, AuthorizeProbe, cause_of
from grader.site import Probe, Site, candidates, parse_settings
from grader.snapshot import host_of

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
REFUSED = "connection refused or host not found"
HANGING = f"connected, but no answer within {READ_TIMEOUT:g} s"


class Fetcher:
    """GETs pages; a sandbox-deployed host is fetched from the sandbox instead of the network.

    `local_url(url)` names the URL to fetch instead (None: the URL itself). `offline` (sandbox
    mode): a URL that `local_url` does not map is as dead as an unknown host.
    """

    def __init__(self, local_url: Callable[[str], str | None] | None = None, *, offline: bool = False) -> None:
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
        return Site(
            site.host,
            site.source,
            site.base_url,
            (*site.probes, probe),
            None,
            f"scripts/settings.js could not be read ({why})",
        )
    settings = parse_settings(text)
    problem = "" if settings else "scripts/settings.js has no UserPoolId or ClientId setting"
    return Site(site.host, site.source, site.base_url, site.probes, settings, problem)


def probe(fetcher: Fetcher, url: str) -> AuthorizeProbe:
    """What Cognito answers to `url` (an authorize or login link), without following it."""
    found, text, location = fetcher.get_once(url)
    if found.status is None:
        return AuthorizeProbe(url, None, "unreachable", f"the hosted UI did not answer ({found.error})")
    host = (urlsplit(url).hostname or "").lower()
    if found.status in {301, 302, 303, 307, 308} and location:
        target = urlsplit(location)
        params = parse_qs(target.query)
        answered = params.get("error", [""])[0]
        description = params.get("error_description", [""])[0]
        if answered:
            error = cause_of(answered, description)
            detail = HINTS.get(error, description or error)
            if description and error == answered and error in HINTS and description != error:
                detail = f"{detail} (Cognito's description: \u201c{description}\u201d)"
            return AuthorizeProbe(url, found.status, error, detail, answered, description)
        if (target.hostname or "").lower() == host and target.path == "/login":
            return AuthorizeProbe(url, found.status, "", "")
        return AuthorizeProbe(
            url,
            found.status,
            "unexpected_redirect",
            f"it redirects to {target.scheme}://{target.hostname}{target.path}",
        )
    if found.status == 200 and urlsplit(url).path == "/login":
        return AuthorizeProbe(url, found.status, "", "")
    if found.status == 404:
        return AuthorizeProbe(url, found.status, "no_domain", "there is no hosted UI at this domain")
    if text and UNAVAILABLE_TEXT.search(text):
        return AuthorizeProbe(url, found.status, "login_pages_unavailable", HINTS["login_pages_unavailable"])
    return AuthorizeProbe(url, found.status, f"http_{found.status}", "Cognito showed an error page")

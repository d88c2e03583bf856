"""AWS's own pages and API, fetched for the browser by the grader, their certificates verified.

The browser accepts every certificate, because the course website's is self-signed; AWS's hosts
(Cognito's hosted UI and API) must prove who they are. So against real AWS, the router hands a
request for an AWS host to :func:`fetch_for_browser`, which sends it with `requests` through the
grader's network settings (grader/network.py: proxy, CA bundle) and verifies the certificate,
then answers the browser with what came back (cookies included: Chromium stores them as usual).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from grader.network import current as current_network

if TYPE_CHECKING:
    from playwright.sync_api import Request, Route

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest answer taken from an AWS host (a hosted-UI page and its scripts are well under)."""
CONNECT_TIMEOUT_S = 5.0
_SENDERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="aws-fetch")
"""Where requests to AWS's hosts are sent from, for every browser of the process."""
_NOT_SENT = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding"})
_NOT_RETURNED = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})


class UntrustedCertificate(Exception):
    """The AWS host's TLS certificate is not signed by a CA the grader trusts."""


@dataclass(frozen=True)
class Answer:
    """What an AWS host answered: status, headers (lower-case names; Set-Cookie lines joined by newlines), body."""

    status: int
    headers: dict[str, str]
    content: bytes

    def body(self) -> bytes:
        return self.content

    def fulfill(self, route: Route) -> None:
        route.fulfill(status=self.status, headers=self.headers, body=self.content)


def fetch_for_browser(
    request: Request, url: str, method: str, deadline: float, idle: Callable[[], None] | None = None
) -> Answer:
    """Send the browser's `request` to `url` (with `method`), without following a redirect.

    The request is sent from a thread of its own; meanwhile `idle()` is called again and again. The
    router passes a short wait of Playwright's, so the browser's thread serves the lane's other
    requests while this one is in flight (a blocking send would hold all of them up, one round trip
    to AWS each). Raises UntrustedCertificate for a certificate no trusted CA signed, TimeoutError
    when `deadline` (a time.monotonic() value) passes, and ConnectionError for any other failure.
    """
    if deadline - time.monotonic() <= 0:
        raise TimeoutError(url)
    # Read here, in the browser's thread: Playwright's objects are not for other threads.
    headers = {k: v for k, v in request.all_headers().items() if k.lower() not in _NOT_SENT and not k.startswith(":")}
    body = request.post_data_buffer if method not in ("GET", "HEAD") else None
    sending = _SENDERS.submit(_send, method, url, headers, body, deadline)
    while idle is not None and not sending.done():
        idle()
    return sending.result()


def _send(method: str, url: str, headers: dict[str, str], body: bytes | None, deadline: float) -> Answer:
    """One request to an AWS host through the grader's network settings; its answer, read before `deadline`."""
    network = current_network()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError(url)
    try:
        answer = requests.request(
            method,
            url,
            headers=headers,
            data=body,
            allow_redirects=False,
            stream=True,
            verify=network.verify(url),
            proxies=network.proxies(url),
            timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining),
        )
    except requests.exceptions.SSLError:
        raise UntrustedCertificate(url) from None
    except requests.exceptions.Timeout:
        raise TimeoutError(url) from None
    except requests.RequestException as exc:
        raise ConnectionError(type(exc).__name__) from None
    with answer:
        content = _bounded_body(answer, deadline)
        returned = {k.lower(): v for k, v in answer.headers.items() if k.lower() not in _NOT_RETURNED}
        cookies = answer.raw.headers.getlist("Set-Cookie") if hasattr(answer.raw.headers, "getlist") else []
        if cookies:
            returned["set-cookie"] = "\n".join(cookies)
        return Answer(answer.status_code, returned, content)


def _bounded_body(answer: requests.Response, deadline: float) -> bytes:
    """The decoded body, at most MAX_BODY_BYTES, read before `deadline`."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in answer.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ConnectionError(f"an answer larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
            if time.monotonic() > deadline:
                raise TimeoutError(answer.url)
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise ConnectionError(type(exc).__name__) from None
    return b"".join(chunks)

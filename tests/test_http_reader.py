"""The HTTP reader against hostile servers: deadlines, byte caps, and addresses it must not visit.

Every server here is a WSGI app on a loopback port (tests/sandbox/serving.py); every loop in them
is bounded, so a test that fails still ends. The "metadata service" is a loopback server that
counts its hits: they must stay at zero.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from grader.netpolicy import AddressPolicy, is_public
from grader.observe.website import NOT_VISITED, Fetcher, probe
from tests.sandbox.serving import serving

LOGIN = b'<html><input id="username"></html>'


class Counter:
    """A WSGI app that counts its requests and answers 200 (the metadata service's stand-in)."""

    def __init__(self) -> None:
        self.hits = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            self.hits += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"AccessKeyId: AKIA-FAKE\n"]


@pytest.fixture
def metadata() -> Iterator[tuple[str, Counter]]:
    counter = Counter()
    with serving(counter) as url:
        yield url, counter


def drip(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """One byte every 0.5 s, at most 40 of them (20 s)."""
    start_response("200 OK", [("Content-Type", "text/html")])
    for _ in range(40):
        yield b"x"
        time.sleep(0.5)


class Endless:
    """64 KiB chunks, at most 64 MiB of them; counts what it yielded."""

    CHUNK = b"x" * 65536

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        for _ in range(1024):
            self.sent += len(self.CHUNK)
            yield self.CHUNK


def redirecting(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """/go?to=<url> redirects there; /loop redirects to itself; /login.html is the course's page."""
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/go":
        start_response("302 Found", [("Location", parse_qs(query)["to"][0])])
        return [b""]
    if path == "/loop":
        start_response("302 Found", [("Location", "/loop")])
        return [b""]
    if path == "/relative":
        start_response("301 Moved", [("Location", "/login.html")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/html")])
    return [LOGIN]


def test_a_dripping_server_is_cut_at_the_deadline() -> None:
    """One byte every 0.5 s never trips the read timeout; the total deadline cuts it anyway."""
    with serving(drip) as url:
        fetcher = Fetcher(allowed_origins=[url], deadline_s=1.5)
        started = time.monotonic()
        found, text = fetcher.get(url + "/login.html")
        took = time.monotonic() - started
    assert (found.status, text) == (None, None)
    assert found.error == "the server kept sending for 1.5 s"
    assert took < 3.0


def test_an_endless_stream_is_cut_at_the_byte_cap_with_bounded_memory() -> None:
    """A body that never ends is read up to the cap, in bounded memory, and reported as too large."""
    endless = Endless()
    with serving(endless) as url:
        fetcher = Fetcher(allowed_origins=[url], max_bytes=1024 * 1024, deadline_s=10)
        tracemalloc.start()
        try:
            found, text = fetcher.get(url + "/login.html")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (found.status, text) == (None, None)
    assert found.error == "the answer was larger than 1 MiB"
    assert peak < 16 * 1024 * 1024
    assert endless.sent < 32 * 1024 * 1024  # the reader stopped long before the server's 64 MiB


def test_a_declared_length_over_the_cap_is_not_read() -> None:
    """A Content-Length over the cap is refused before the body is read."""

    def big(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", str(10 * 1024 * 1024))])
        return [b""]

    with serving(big) as url:
        found, _ = Fetcher(allowed_origins=[url]).get(url + "/")
    assert found.error == "the answer was larger than 2 MiB"


@pytest.mark.parametrize(
    ("to", "named"),
    [
        ("{metadata}/latest/meta-data/iam/security-credentials/", "127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://[::1]:9/", "::1"),
        ("file:///etc/passwd", "file:///etc/passwd"),
    ],
)
def test_a_redirect_to_a_local_address_is_refused(metadata: tuple[str, Counter], to: str, named: str) -> None:
    """The named site may redirect, but not into the grader's network: the target is never fetched."""
    meta_url, counter = metadata
    with serving(redirecting) as url:
        fetcher = Fetcher(allowed_origins=[url])
        found, text = fetcher.get(f"{url}/go?to={to.format(metadata=meta_url)}")
    assert (found.status, text) == (None, None)
    assert found.error == f"the website redirected to {named}, {NOT_VISITED}"
    assert counter.hits == 0


def test_a_site_on_loopback_is_refused_unless_named(metadata: tuple[str, Counter]) -> None:
    """A local address is refused as the first URL too; the origin the user named (--site-url) is read."""
    meta_url, counter = metadata
    found, text = Fetcher().get(meta_url + "/latest/meta-data/")
    assert (found.status, found.error, text) == (None, f"127.0.0.1 is {NOT_VISITED}", None)
    assert counter.hits == 0
    found, text = Fetcher(allowed_origins=[meta_url + "/app/"]).get(meta_url + "/latest/meta-data/")
    assert (found.status, counter.hits) == (200, 1)


def test_redirects_are_followed_by_hand_and_counted() -> None:
    """A relative redirect on the named site is followed; a redirect loop stops after 5 hops."""
    with serving(redirecting) as url:
        found, text = Fetcher(allowed_origins=[url]).get(url + "/relative")
        assert (found.url, found.status, text) == (url + "/relative", 200, LOGIN.decode())
        found, text = Fetcher(allowed_origins=[url]).get(url + "/loop")
    assert (found.status, found.error, text) == (None, "the website redirected more than 5 times", None)


def test_a_name_resolving_to_any_local_address_is_refused_before_fetching() -> None:
    """The decision is on the resolved addresses: one private address among public ones is enough."""

    def resolver(host: str, port: int, timeout: float) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"] if host == "evil.example" else ["93.184.216.34"]

    fetcher = Fetcher(resolver=resolver)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the reader fetched a refused address")

    fetcher.http.get = no_network  # type: ignore[method-assign,assignment]
    found, text = fetcher.get("http://evil.example/login.html")
    assert (found.status, found.error, text) == (None, f"evil.example (10.1.2.3) is {NOT_VISITED}", None)


def test_the_hosted_ui_probe_refuses_local_addresses_too() -> None:
    """`probe` reads Cognito's answer without following it, and only at an allowed address."""

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the probe fetched a refused address")

    fetcher = Fetcher()
    fetcher.http.get = no_network  # type: ignore[method-assign,assignment]
    answer = probe(fetcher, "http://169.254.169.254/oauth2/authorize?client_id=x")
    assert answer.error == "unreachable"
    assert f"169.254.169.254 is {NOT_VISITED}" in answer.detail


def test_the_probe_reads_location_without_following(metadata: tuple[str, Counter]) -> None:
    """A redirect answered to the probe is read, not followed, even to a refused address."""
    meta_url, counter = metadata
    with serving(redirecting) as url:
        found, _, location = Fetcher(allowed_origins=[url]).get_once(f"{url}/go?to={meta_url}/x")
    assert (found.status, location, counter.hits) == (302, f"{meta_url}/x", 0)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("100.64.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("not an address", False),
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
    ],
)
def test_only_public_addresses_are_visited(address: str, public: bool) -> None:
    """Loopback, private, link-local, unique-local, unspecified, multicast and reserved are refused."""
    assert is_public(address) is public


def test_the_policy_names_schemes_and_allows_named_origins() -> None:
    """Any scheme but http(s) is refused; a named origin passes by scheme, host and port only."""
    policy = AddressPolicy(["http://127.0.0.1:8000/app/"])
    assert policy.refusal("http://127.0.0.1:8000/login.html", 1.0) == ""
    assert policy.refusal("http://127.0.0.1:8001/login.html", 1.0) == "127.0.0.1"
    assert policy.refusal("https://127.0.0.1:8000/login.html", 1.0) == "127.0.0.1"
    assert policy.refusal("gopher://127.0.0.1:8000/", 1.0) == "gopher://127.0.0.1:8000/"


def test_in_sandbox_mode_mapped_hops_are_fetched_and_unmapped_local_ones_named(metadata: tuple[str, Counter]) -> None:
    """Sandbox mode: each hop is mapped from its public URL; a hop to a local address is refused, unfetched."""
    meta_url, counter = metadata
    with serving(redirecting) as url:

        def local_url(public: str) -> str | None:
            prefix = "https://ec2-1.example"
            return url + public[len(prefix) :] if public.startswith(prefix + "/") else None

        fetcher = Fetcher(local_url, offline=True)
        found, text = fetcher.get("https://ec2-1.example/relative")
        assert (found.status, text) == (200, LOGIN.decode())
        found, text = fetcher.get(f"https://ec2-1.example/go?to={meta_url}/latest/meta-data/")
    assert (found.status, found.error, text) == (None, f"the website redirected to 127.0.0.1, {NOT_VISITED}", None)
    assert counter.hits == 0


def _echo_host(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("HTTP_HOST", "").encode()]


def test_the_reader_connects_to_the_address_it_checked_not_to_a_second_lookup(
    metadata: tuple[str, Counter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves to a public address for the policy, then to loopback for a second lookup.
    The reader connects to the address it checked (here unreachable), so the loopback server gets no hit."""
    import socket

    url, counter = metadata
    port = int(url.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "rebind.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    fetcher = Fetcher(resolver=lambda host, port, timeout: ["198.51.100.7"], deadline_s=2)
    monkeypatch.setattr("grader.netpolicy.is_public", lambda address: address == "198.51.100.7")
    found, text = fetcher.get(f"http://rebind.example:{port}/latest/meta-data/")
    assert counter.hits == 0
    assert text is None
    assert found.status is None


def test_a_pinned_connection_keeps_the_host_name_in_the_host_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checked address is connected to, and the server still sees the name it was asked for."""
    import socket

    def no_second_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "site.example":
            raise socket.gaierror("the reader looked the name up again")
        return real(host, *args, **kwargs)

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", no_second_lookup)
    monkeypatch.setattr("grader.netpolicy.is_public", lambda address: address == "127.0.0.1")
    with serving(_echo_host) as url:
        port = int(url.rsplit(":", 1)[1])
        found, text = Fetcher(resolver=lambda host, port, timeout: ["127.0.0.1"]).get(f"http://site.example:{port}/")
    assert (found.status, text) == (200, f"site.example:{port}")

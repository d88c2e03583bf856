"""The browser's network policy in every mode: against real AWS a website cannot send the grader's browser
to the grader's own network (the instance metadata service, loopback, private ranges), and a screenshot
is kept only of the website's own pages. Sandbox mode decides as before."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from grader.browser import BrowserSession, RealRoutes, Recorder, discover_routes, find_browser, local_url, log_in
from grader.browser.site_login import on_origin
from grader.target import Target
from tests.test_browser_login import DOWN_HOST, HOST, ROUTES

REGION = "us-east-1"


class _Resolver:
    """A stub resolver: host -> addresses; counts its look-ups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, timeout: float) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError("not found")
        return self.table[host]


def _routes(site: str | None = "http://127.0.0.1:8001", **table: list[str]) -> tuple[RealRoutes, _Resolver]:
    resolver = _Resolver({k.replace("_", "."): v for k, v in table.items()})
    return RealRoutes(site, resolver=resolver), resolver


def test_the_named_site_is_allowed_even_on_loopback() -> None:
    routes, _ = _routes()
    assert routes.decide("http://127.0.0.1:8001/login.html?x=1") == ("forward", "http://127.0.0.1:8001/login.html?x=1")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8002/latest/meta-data/",  # another port on loopback
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # the instance metadata service
        "http://10.1.2.3/admin",
        "http://192.168.0.1/",
        "http://[::1]:8001/",
        "http://[fd00::1]/",
        "file:///etc/passwd",
        "ftp://example.com/x",
    ],
)
def test_local_addresses_and_other_schemes_are_blocked(url: str) -> None:
    routes, _ = _routes()
    assert routes.decide(url) == ("block", "")


def test_a_host_is_decided_on_its_resolved_addresses_once() -> None:
    """A name resolving only to public addresses is reached; one resolving to a private address is blocked;
    each host is resolved once per session."""
    routes, resolver = _routes(cdn_example=["93.184.216.34"], evil_example=["93.184.216.34", "10.0.0.1"])
    assert routes.decide("https://cdn.example/sdk.js") == ("forward", "https://cdn.example/sdk.js")
    assert routes.decide("https://cdn.example/other.js")[0] == "forward"
    assert routes.decide("http://evil.example/x")[0] == "block"
    assert routes.decide("http://evil.example/y")[0] == "block"
    assert resolver.calls == ["cdn.example", "evil.example"]
    assert routes.refusal("http://evil.example/") == "evil.example (10.0.0.1)"


def test_a_host_that_does_not_resolve_in_time_is_blocked() -> None:
    def slow(host: str, port: int, timeout: float) -> list[str]:
        raise TimeoutError(host)

    routes = RealRoutes(None, resolver=slow)
    assert routes.decide("https://slow.example/")[0] == "block"


def test_cognito_and_hosted_ui_hosts_are_allowed_without_resolving() -> None:
    routes, resolver = _routes()
    api = "https://cognito-idp.us-east-1.amazonaws.com/"
    assert routes.decide(api) == ("forward", api)
    hosted = "https://vehicleapp.auth.us-east-1.amazoncognito.com/login?client_id=x"
    assert routes.decide(hosted) == ("forward", hosted)
    assert resolver.calls == []


def test_real_aws_routes_keep_the_http_reader_as_it_was() -> None:
    """local_url leaves every URL as it is against real AWS (the HTTP reader applies its own policy)."""
    routes = discover_routes(Target(region=REGION, site_url="http://127.0.0.1:8001/"))
    assert isinstance(routes, RealRoutes)
    assert local_url("http://169.254.169.254/", routes) == "http://169.254.169.254/"
    assert local_url("https://cdn.example/", None) == "https://cdn.example/"


@dataclass
class _Request:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)

    def is_navigation_request(self) -> bool:
        return True


@dataclass
class _Route:
    request: _Request
    done: str = ""

    def abort(self, reason: str) -> None:
        self.done = f"abort {reason}"

    def continue_(self) -> None:
        self.done = "continue"

    def fulfill(self, status: int = 200, **_: object) -> None:
        self.done = f"fulfill {status}"


def test_the_recorder_routes_by_the_policy_when_no_routes_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routes None (real AWS, nothing named): loopback is aborted as blocked and listed; Cognito's API is
    fetched by the grader itself (its certificate verified), and its answer handed to the page."""
    import time

    from grader.browser import recorder as recorder_module
    from grader.browser.aws_fetch import Answer

    fetched: list[tuple[str, str]] = []

    def fetch(request: object, url: str, method: str, deadline: float, idle: object = None) -> Answer:
        fetched.append((url, method))
        return Answer(200, {"content-type": "application/x-amz-json-1.1"}, b"{}")

    monkeypatch.setattr(recorder_module, "fetch_for_browser", fetch)
    recorder = Recorder(None, time.monotonic() + 30)
    route = _Route(_Request("http://127.0.0.1:9/latest/meta-data/?x=1"))
    recorder.route(route)  # type: ignore[arg-type]
    assert route.done == "abort blockedbyclient"
    assert list(recorder.blocked) == ["http://127.0.0.1:9/latest/meta-data/"]
    cognito = _Route(_Request("https://cognito-idp.us-east-1.amazonaws.com/", "POST"))
    recorder.route(cognito)  # type: ignore[arg-type]
    assert fetched == [("https://cognito-idp.us-east-1.amazonaws.com/", "POST")]
    assert cognito.done == "fulfill 200"


def test_an_untrusted_aws_certificate_is_refused_to_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """An AWS page whose certificate no trusted CA signed never reaches the page: the request fails and is listed."""
    import time

    from grader.browser import recorder as recorder_module
    from grader.browser.aws_fetch import UntrustedCertificate

    def fetch(request: object, url: str, method: str, deadline: float, idle: object = None) -> None:
        raise UntrustedCertificate(url)

    monkeypatch.setattr(recorder_module, "fetch_for_browser", fetch)
    recorder = Recorder(None, time.monotonic() + 30)
    hosted = _Route(_Request("https://vehicleapp.auth.us-east-1.amazoncognito.com/login?client_id=x"))
    recorder.route(hosted)  # type: ignore[arg-type]
    assert hosted.done == "abort connectionfailed"
    assert list(recorder.untrusted_certificates) == ["https://vehicleapp.auth.us-east-1.amazoncognito.com/login"]


@pytest.mark.parametrize(
    ("url", "done"),
    [
        (f"https://{DOWN_HOST}/login.html", "abort connectionrefused"),
        ("https://fonts.googleapis.com/css2?family=Roboto", "abort blockedbyclient"),
        ("http://127.0.0.1:5000/moto-api/", "continue"),
    ],
)
def test_sandbox_decisions_are_unchanged_through_the_recorder(url: str, done: str) -> None:
    """The same Recorder path in sandbox mode: SandboxRoutes' decisions (tests/test_browser_login.py) as before."""
    import time

    recorder = Recorder(ROUTES, time.monotonic() + 30)
    route = _Route(_Request(url))
    recorder.route(route)  # type: ignore[arg-type]
    assert route.done == done
    assert ROUTES.decide(f"https://{HOST}/login.html")[0] == "forward"


def test_a_screenshot_belongs_to_the_websites_own_origin() -> None:
    assert on_origin("http://127.0.0.1:8001/private.html?msg=1", "http://127.0.0.1:8001/login.html")
    assert on_origin("https://site.example/private.html", "http://site.example/login.html")
    assert not on_origin("http://127.0.0.1:8002/latest/meta-data/", "http://127.0.0.1:8001/login.html")
    assert not on_origin("chrome-error://chromewebdata/", "http://127.0.0.1:8001/login.html")


# -- a hostile site against "real AWS"


class _Counting(ThreadingHTTPServer):
    hits: list[str]


class _Metadata(BaseHTTPRequestHandler):
    """A stand-in for the instance metadata service: counts its hits."""

    server: _Counting

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        body = b'{"AccessKeyId": "AKIAFAKEFAKEFAKE", "SecretAccessKey": "fake"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _hostile_handler(metadata: str) -> type[BaseHTTPRequestHandler]:
    class Hostile(BaseHTTPRequestHandler):
        """A website whose Login button (or /go, by a 302) sends the browser to the metadata service; /hop first
        redirects to /go, on the site's own origin, so only the second hop leaves it."""

        def do_GET(self) -> None:
            if self.path.startswith("/hop"):
                self.send_response(302)
                self.send_header("Location", "/go?second-hop")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.startswith("/go"):
                self.send_response(302)
                self.send_header("Location", metadata)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = (
                "<!DOCTYPE html><html><body><input id=username><input id=passwd type=password>"
                f"<input type=button value=Login onclick='location = {metadata!r}'>"
                f"<img src='/go?img'><img src='/hop?img'></body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Hostile


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def metadata() -> Iterator[tuple[str, _Counting]]:
    server = _Counting(("127.0.0.1", 0), _Metadata)
    server.hits = []
    for url in _serve(server):
        yield url + "/latest/meta-data/iam/security-credentials/grader-role", server


@pytest.fixture
def hostile_site(metadata: tuple[str, _Counting]) -> Iterator[str]:
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _hostile_handler(metadata[0])))


@pytest.mark.browser
def test_a_named_site_cannot_send_the_browser_to_the_metadata_service(
    hostile_site: str, metadata: tuple[str, _Counting]
) -> None:
    """Against real AWS, a site named with --site-url on a loopback port whose Login sets `location` to another
    loopback port (and whose page and /go redirect there with a 302, an image after a first redirect on the site
    itself): the metadata service gets no hit, its URL is listed as blocked, and no screenshot of it is kept."""
    metadata_url, server = metadata
    routes = discover_routes(Target(region=REGION, site_url=hostile_site))
    with BrowserSession(find_browser(), routes, REGION, timeout_s=4) as session:
        attempt = log_in(session, f"{hostile_site}/login.html", "janedoe", "Passw0rd!")
        redirected = log_in(session, f"{hostile_site}/go", "janedoe", "Passw0rd!")
    assert server.hits == []
    assert metadata_url in attempt.blocked
    assert metadata_url in redirected.blocked
    for one in (attempt, redirected):
        evidence = one.evidence()
        if not on_origin(one.final_url, hostile_site):
            assert one.screenshot_png is None
            assert "screenshot" not in evidence
            assert "not the website" in evidence["screenshot_skipped"]
        assert "AKIA" not in repr(evidence)


@pytest.mark.browser
def test_the_browser_fetches_an_http_host_from_the_address_the_routes_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against real AWS an http host is fetched from the address the policy resolved and checked, with its name in
    the Host header: a second lookup (which could name another address, DNS rebinding) is never made. Here the
    name resolves nowhere but in the routes' own resolver, so the page loads only if the browser used that address."""
    from tests.sandbox.serving import serving

    def echo_host(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [f"<p id=message>host={environ.get('HTTP_HOST', '')}</p>".encode()]

    monkeypatch.setattr("grader.netpolicy.is_public", lambda address: address == "127.0.0.1")
    routes, resolver = _routes(None, pinned_example=["127.0.0.1"])
    with serving(echo_host) as url:
        port = int(url.rsplit(":", 1)[1])
        with BrowserSession(find_browser(), routes, REGION, timeout_s=4) as session:
            attempt = log_in(session, f"http://pinned.example:{port}/login.html", "janedoe", "Passw0rd!")
    assert resolver.calls == ["pinned.example"]
    assert attempt.message == f"host=pinned.example:{port}", (attempt.error, attempt.message)


def test_a_request_sent_to_aws_leaves_the_browsers_thread_free_until_it_is_answered() -> None:
    """The router's fetch of an AWS host runs beside the browser's thread: `idle` (Playwright serving the
    lane's other requests) runs while the request is in flight. Here the server answers only once `idle`
    has run, so a fetch that held the thread would get no answer before its deadline."""
    from grader.browser.aws_fetch import fetch_for_browser
    from tests.sandbox.serving import serving

    released = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        released.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"answered" if released.is_set() else b"never released"]

    idled: list[int] = []

    def idle() -> None:
        idled.append(1)
        released.set()
        time.sleep(0.001)

    request = SimpleNamespace(all_headers=lambda: {"accept": "*/*"}, post_data_buffer=None)
    with serving(app) as url:
        answer = fetch_for_browser(request, url + "/", "GET", time.monotonic() + 20, idle=idle)  # type: ignore[arg-type]
    assert answer.status == 200
    assert answer.content == b"answered"
    assert idled

"""An HTTPS forward proxy that lets the sandbox wear AWS's real host names.

With ``HTTPS_PROXY``/``HTTP_PROXY`` set to :attr:`AwsProxy.url` and ``AWS_CA_BUNDLE`` to
:attr:`AwsProxy.ca_file`, a program written for real AWS (boto3 with its default endpoints,
``requests``, a browser) talks to the sandbox unchanged:

- ``CONNECT host:443`` for a host the sandbox answers (:meth:`Sandbox.answers_host`): the proxy
  says ``200 Connection established``, ends TLS there with a certificate for that host signed by
  the proxy's own CA (:mod:`grader.sandbox.tls`), and relays the decrypted bytes to the sandbox's
  plain HTTP port. The requests keep their ``Host`` header, by which the sandbox knows which name
  was asked.
- ``CONNECT host:80`` (what Node's proxy agent sends for http URLs): relayed as it is, no TLS.
- ``GET http://host/path HTTP/1.1`` (absolute form, what most clients send for http URLs): sent on
  in origin form with its ``Host``, one request per connection.
- Any other host, or port: ``403 Forbidden``. The proxy connects nowhere but the sandbox.
- A deployed site that is down, or asked for by a scheme it does not serve: ``502 Bad Gateway``,
  "connection refused", as a proxy answers when the origin refuses. A site that hangs is relayed
  as usual: the sandbox's site itself hangs.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import ssl
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from grader.sandbox.tls import HostCertificates
from grader.target import SANDBOX_KEY

if TYPE_CHECKING:
    from grader.sandbox.server import Sandbox

HEAD_TIMEOUT_S = 15.0
"""How long a client has to send its request line and headers, and to finish the TLS handshake."""
IDLE_TIMEOUT_S = 180.0
"""How long a relayed connection may stay silent both ways (longer than a hanging site holds on)."""
MAX_HEAD_BYTES = 65_536
CHUNK = 65_536
HOP_BY_HOP = {"proxy-connection", "proxy-authorization", "connection", "keep-alive"}
REGION = "us-east-1"
NO_PROXY = "localhost,127.0.0.1"
REACHED_KEPT = 1000

log = logging.getLogger(__name__)


class ProxyRefusal(Exception):
    """A request the proxy answers itself: a status line's code and reason, and a short text."""

    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.reason = reason
        self.text = text


class AwsProxy:
    """The sandbox's forward proxy for AWS's public names. Use as a context manager, or start()/stop().

    `untrusted`: host patterns (globs) that present a certificate from a CA nobody trusts from the
    start; :meth:`present_untrusted` adds more later. Started, it stops with the sandbox.
    """

    def __init__(
        self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *, untrusted: tuple[str, ...] = ()
    ) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port
        folder = Path(tempfile.mkdtemp(prefix="aws-proxy-", dir=sandbox.workdir))
        self.certificates = HostCertificates(folder, untrusted)
        self.reached: deque[str] = deque(maxlen=REACHED_KEPT)
        """The latest `scheme://host` the proxy relayed to the sandbox, oldest first."""
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def ca_file(self) -> Path:
        """The CA certificate (PEM) clients must trust: ``AWS_CA_BUNDLE``."""
        return self.certificates.ca_file

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def present_untrusted(self, host_pattern: str) -> None:
        """Hosts matching `host_pattern` (e.g. ``*.auth.us-east-1.amazoncognito.com``) present, from
        the next connection on, a certificate the proxy's CA did not sign."""
        self.certificates.present_untrusted(host_pattern)

    def present_trusted(self) -> None:
        """Every host presents a certificate from the proxy's CA again."""
        self.certificates.present_trusted()

    def start(self) -> str:
        """Listen and serve in daemon threads; returns :attr:`url`."""
        if self._server is not None:
            return self.url
        self._server = _ProxyServer((self.host, self.port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-proxy", daemon=True)
        self._thread.start()
        self.sandbox.on_stop(self.stop)
        return self.url

    def stop(self) -> None:
        """Stop listening and close every connection still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()

    def __enter__(self) -> AwsProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def upstream_address(self) -> tuple[str, int]:
        """The sandbox's own plain HTTP address, the only place the proxy connects to."""
        parts = urlsplit(self.sandbox.url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def check(self, host: str, scheme: str) -> None:
        """Raise :class:`ProxyRefusal` unless a request for `scheme://host` is relayed to the sandbox."""
        if not self.sandbox.answers_host(host):
            raise ProxyRefusal(403, "Forbidden", f"The sandbox's proxy does not reach {host}.")
        state = self.sandbox.site_state(host)
        if state is not None:
            mode, schemes = state
            if mode == "down" or scheme not in schemes:
                raise ProxyRefusal(502, "Bad Gateway", f"Connection refused by {host} ({scheme}).")
        self.reached.append(f"{scheme}://{host}")


def environment_lines(proxy: AwsProxy) -> list[str]:
    """The ``NAME=value`` lines (unquoted) that point a shell's AWS tools at the sandbox through `proxy`."""
    return [
        f"HTTPS_PROXY={proxy.url}",
        f"HTTP_PROXY={proxy.url}",
        f"NO_PROXY={NO_PROXY}",
        f"AWS_CA_BUNDLE={proxy.ca_file}",
        f"AWS_ACCESS_KEY_ID={SANDBOX_KEY}",
        f"AWS_SECRET_ACCESS_KEY={SANDBOX_KEY}",
        f"AWS_DEFAULT_REGION={REGION}",
    ]


class _ProxyServer(socketserver.ThreadingTCPServer):
    """One daemon thread per client connection; remembers the open sockets so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], proxy: AwsProxy) -> None:
        self.proxy = proxy
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _ProxyHandler)

    def track(self, sock: socket.socket) -> None:
        with self.sockets_lock:
            self.open_sockets.add(sock)

    def forget(self, sock: socket.socket) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(sock)

    def close_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
            self.open_sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that goes away mid-request is no error worth a traceback."""
        log.debug("aws proxy: connection from %s ended with an error", client_address)


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _ProxyServer
    request: socket.socket

    def handle(self) -> None:
        client = self.request
        self.server.track(client)
        upstream: socket.socket | None = None
        try:
            client.settimeout(HEAD_TIMEOUT_S)
            head, rest = _read_head(client)
            if head is None:
                return
            method, target, lines = _parse_head(head)
            if method == "CONNECT":
                upstream = self._connect(client, target)
            else:
                upstream = self._forward(client, method, target, lines, rest)
        except ProxyRefusal as refusal:
            _answer(client, refusal)
        except (OSError, ValueError, UnicodeDecodeError):
            log.debug("aws proxy: connection ended", exc_info=True)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    self.server.forget(sock)
                    with contextlib.suppress(OSError):
                        sock.close()

    def _connect(self, client: socket.socket, target: str) -> socket.socket | None:
        """A tunnel: TLS ended here for port 443, bytes as they are for port 80."""
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]").lower().rstrip(".")
        if not port_text.isdigit() or int(port_text) not in (443, 80):
            raise ProxyRefusal(403, "Forbidden", f"The sandbox's proxy does not reach {target}.")
        scheme = "https" if int(port_text) == 443 else "http"
        self.server.proxy.check(host, scheme)
        context = self.server.proxy.certificates.context_for(host) if scheme == "https" else None
        upstream = self._open_upstream()
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        inner: socket.socket = client
        if context is not None:
            try:
                inner = context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):
                log.debug("aws proxy: TLS handshake for %s failed", host, exc_info=True)
                return upstream
            self.server.track(inner)
        try:
            _relay(inner, upstream)
        finally:
            if inner is not client:
                self.server.forget(inner)
                with contextlib.suppress(OSError):
                    inner.close()
        return upstream

    def _forward(
        self, client: socket.socket, method: str, target: str, lines: list[str], rest: bytes
    ) -> socket.socket | None:
        """One plain request in absolute form, sent on in origin form with `Connection: close`."""
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise ProxyRefusal(400, "Bad Request", "The sandbox's proxy takes http://host/path requests and CONNECT.")
        host = parts.hostname.lower().rstrip(".")
        if (parts.port or 80) != 80:
            raise ProxyRefusal(403, "Forbidden", f"The sandbox's proxy does not reach {parts.netloc}.")
        self.server.proxy.check(host, "http")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [line for line in lines if line.split(":", 1)[0].strip().lower() not in HOP_BY_HOP | {"host"}]
        head = "\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", *kept, "Connection: close"])
        upstream = self._open_upstream()
        upstream.sendall(head.encode("latin-1") + b"\r\n\r\n" + rest)
        _relay(client, upstream)
        return upstream

    def _open_upstream(self) -> socket.socket:
        upstream = socket.create_connection(self.server.proxy.upstream_address(), timeout=HEAD_TIMEOUT_S)
        self.server.track(upstream)
        return upstream


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    """The request line and headers (None when the client closed first), and what came after them."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            raise ProxyRefusal(431, "Request Header Fields Too Large", "The request's headers are too large.")
        chunk = sock.recv(CHUNK)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str, str, list[str]]:
    """(method, request target, header lines) of a request head."""
    request_line, *lines = head.decode("latin-1").split("\r\n")
    words = request_line.split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise ProxyRefusal(400, "Bad Request", "Not an HTTP request.")
    return words[0].upper(), words[1], lines


def _answer(client: socket.socket, refusal: ProxyRefusal) -> None:
    """The proxy's own short answer, then the connection closes."""
    body = (refusal.text + "\n").encode("utf-8")
    head = (
        f"HTTP/1.1 {refusal.status} {refusal.reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        client.sendall(head.encode("latin-1") + body)


def _relay(first: socket.socket, second: socket.socket) -> None:
    """Copy bytes both ways until either side closes, or neither says anything for IDLE_TIMEOUT_S."""
    for sock in (first, second):
        sock.settimeout(IDLE_TIMEOUT_S)
    partner = {first: second, second: first}
    with selectors.DefaultSelector() as selector:
        for sock in (first, second):
            selector.register(sock, selectors.EVENT_READ)
        while True:
            ready = [sock for sock in (first, second) if isinstance(sock, ssl.SSLSocket) and sock.pending()]
            if not ready:
                ready = [key.fileobj for key, _ in selector.select(IDLE_TIMEOUT_S)]  # type: ignore[misc]
                if not ready:
                    return
            for sock in ready:
                try:
                    data = sock.recv(CHUNK)
                except ssl.SSLWantReadError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                partner[sock].sendall(data)

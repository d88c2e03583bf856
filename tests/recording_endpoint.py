"""A local stand-in for an AWS endpoint that records every request and refuses it (403 AccessDenied).

Used to prove what reaches an endpoint: which operations (none, when the grader refuses one before
sending) and with which keys (the Authorization header and any session token).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>recorded</Message></Error>"
    b"<RequestId>1</RequestId></ErrorResponse>"
)


@dataclass
class Recorded:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def recording_endpoint() -> Iterator[Recorded]:
    """An http://127.0.0.1:<port> endpoint; `requests` lists each request's headers (lower-case keys)."""
    recorded = Recorded(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            recorded.requests.append({k.lower(): v for k, v in self.headers.items()} | {":path": self.path})
            self.send_response(403)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(DENIED)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(DENIED)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()

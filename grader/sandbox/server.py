"""Runs moto's AWS server in-process on a free local port, behind the sandbox's own layers.

The layers, outside in: a gateway that logs every call, injects AWS errors for a scenario
(denied, expired, throttled) and serves the instances' websites and the hosted UI (under the
sandbox's own paths, or by the request's Host when it names a site or a hosted-UI domain, as it does
through grader.sandbox.aws_proxy); CloudTrail recording (events,
LookupEvents, log files in trail buckets); the Cognito fixes (real SRP, the answers the browser
SDK needs, enforced auth flows); then moto itself.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from grader.browser.routing import is_hosted_ui_host
from grader.sandbox.cloudtrail import CloudTrailRecorder
from grader.sandbox.cognito_fidelity import CognitoFidelity
from grader.sandbox.cors import answer_preflight, is_preflight
from grader.sandbox.hosted_ui import HostedUI
from grader.sandbox.latency import Latency, Profile, kind_of
from grader.sandbox.layout import SITES_PATH, hosted_ui_path
from grader.sandbox.moto_state import reset_moto, running_instance_hosts
from grader.sandbox.sites import DeployedSite, SiteHost
from grader.sandbox.wsgi import read_body, sigv4_credential

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

JSON_TARGET_SERVICES = {
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "CloudTrail_20131101": "cloudtrail",
}
FAULT_MESSAGES = {
    "AccessDeniedException": "User is not authorized to perform this action.",
    "AccessDenied": "User is not authorized to perform this action.",
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
    "ExpiredToken": "The security token included in the request is expired",
    "ExpiredTokenException": "The security token included in the request is expired",
    "ThrottlingException": "Rate exceeded",
    "Throttling": "Rate exceeded",
    "ServiceUnavailable": "Service is unavailable. Please try again later.",
    "InternalErrorException": "Internal server error.",
}
FAULT_STATUS = {
    "ServiceUnavailable": "503 Service Unavailable",
    "InternalErrorException": "500 Internal Server Error",
    "TooManyRequestsException": "429 Too Many Requests",
}
"""Errors AWS answers with a status of their own (the rest: 400 for throttling and expiry, else 403)."""


@dataclass(frozen=True)
class Call:
    """One request the sandbox served."""

    service: str
    operation: str
    protocol: str
    method: str
    signed: bool = True
    """Signed with AWS keys (an SDK or CLI call), not an anonymous browser request."""


def identify(environ: dict[str, Any], body: bytes) -> Call:
    """Which service and operation a request is, from its headers and body."""
    method = environ.get("REQUEST_METHOD", "GET")
    credential = sigv4_credential(environ)
    scope_service = (credential.service or "") if credential else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = scope_service or next(
            (name for key, name in JSON_TARGET_SERVICES.items() if prefix.endswith(key)), prefix
        )
        return Call(service, operation, "json", method, bool(scope_service))
    content_type = environ.get("CONTENT_TYPE", "")
    if method == "POST" and "x-www-form-urlencoded" in content_type:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action:
            return Call(scope_service or "unknown", action, "query", method, bool(scope_service))
    path = environ.get("PATH_INFO", "/")
    return Call(scope_service or "rest", f"{method} {path}", "rest", method, bool(scope_service))


def fault_response(call: Call, code: str, start_response: Callable[..., Any]) -> list[bytes]:
    """An AWS-shaped error answer for `call`."""
    message = FAULT_MESSAGES.get(code, code)
    request_id = str(uuid.uuid4())
    client_error = "400 Bad Request" if "Throttl" in code or "Expired" in code else "403 Forbidden"
    status = FAULT_STATUS.get(code, client_error)
    if call.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif call.service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
            f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    headers += [("x-amzn-RequestId", request_id), ("Access-Control-Allow-Origin", "*")]
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
AWS_HOSTS = tuple(
    re.compile(pattern)
    for pattern in (
        r"sts\.amazonaws\.com",
        rf"(?:sts|cognito-idp|ec2|cloudtrail)\.{_REGION}\.amazonaws\.com",
        rf"(?:[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]\.)?s3(?:\.{_REGION})?\.amazonaws\.com",
    )
)
"""AWS's public API host names the sandbox answers (besides the hosted UI's and the sites' names):
STS (global and regional), Cognito user pools, EC2, CloudTrail, and S3 with or without a bucket
name in front (virtual-hosted style)."""


class Gateway:
    """Logs every call and answers the ones a scenario marks as failing."""

    def __init__(self, app: CloudTrailRecorder) -> None:
        self.app = app
        self.recorder = app
        self.sites = SiteHost(running_instance_hosts)
        self.hosted_ui = HostedUI(recorder=app)
        self.calls: list[Call] = []
        self.faults: dict[str, str] = {}
        self.expired_keys: set[str] = set()
        self.latency: Latency | None = None
        """Real AWS's delays and LookupEvents' rate limit (grader/sandbox/latency.py), or None: none."""
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        public = self._public_app(environ)
        if public is not None:
            self._wait("hosted-ui" if public is self.hosted_ui else "website", request_host(environ))
            return public(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        if self.sites.handles(path):
            self._wait("website", path[len(SITES_PATH) :].lstrip("/").partition("/")[0])
            return self.sites(environ, start_response)
        if self.hosted_ui.handles(path):
            self._wait("hosted-ui", "browser")
            return self.hosted_ui(environ, start_response)
        if is_preflight(environ):
            self._wait("cognito", "browser")  # only the browser's calls to Cognito's API are preflighted
            return answer_preflight(environ, start_response)
        body = read_body(environ)
        call = identify(environ, body)
        signed = sigv4_credential(environ)
        with self._lock:
            self.calls.append(call)
            code = self.faults.get(f"{call.service}:{call.operation}")
            if signed is not None and signed.access_key in self.expired_keys:
                code = "ExpiredToken"
        if not code and self._wait(kind_of(call.service, call.operation), signed.access_key if signed else "browser"):
            code = "ThrottlingException"
        if code:
            return fault_response(call, code, start_response)
        return self.app(environ, start_response)

    def _wait(self, kind: str, caller: str) -> bool:
        """Wait as real AWS would before answering; True when AWS would throttle the call instead."""
        latency = self.latency
        return latency.wait(kind, caller) if latency is not None else False

    def _public_app(self, environ: dict[str, Any]) -> WSGIApp | None:
        """The hosted UI or the site a request for a public name is for (its path then put under that
        app's own path), or None: every other request is routed by its path and signature."""
        host = request_host(environ)
        path = environ.get("PATH_INFO", "") or "/"
        if self.sites.handles(path) or self.hosted_ui.handles(path):
            return None  # already a sandbox path (a replayed request may keep the public Host)
        if is_hosted_ui_host(host):
            environ["PATH_INFO"] = hosted_ui_path(host) + path
            return self.hosted_ui
        if host and host != "localhost" and not _is_address(host) and self.sites.serves(host):
            environ["PATH_INFO"] = f"{SITES_PATH}/{host}{path}"
            return self.sites
        return None

    def answers_host(self, host: str) -> bool:
        """Whether a request for the public name `host` is answered here (see :data:`AWS_HOSTS`)."""
        host = host.strip().lower().rstrip(".")
        return is_hosted_ui_host(host) or self.sites.serves(host) or any(p.fullmatch(host) for p in AWS_HOSTS)


def request_host(environ: dict[str, Any]) -> str:
    """The request's Host, lower case, without its port."""
    host = str(environ.get("HTTP_HOST", "")).strip().lower()
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and not name.endswith("]"):
        host = name
    return host.rstrip(".")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _inner_app() -> CloudTrailRecorder:
    """CloudTrail recording sits outside the Cognito fixes, so it records their real answers."""
    return CloudTrailRecorder(CognitoFidelity(DomainDispatcherApplication(create_backend_app)))


class QuietHandler(WSGIRequestHandler):
    """No access log on the terminal: the gateway keeps its own record of calls."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Sandbox:
    """A local AWS endpoint. Use as a context manager, or start()/stop().

    Each sandbox starts empty. moto keeps one store per process, so a sandbox started while
    another runs in the same process empties that one's too: run one at a time.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.gateway = Gateway(_inner_app())
        self._workdir = tempfile.TemporaryDirectory(prefix="grader-sandbox-")
        self.workdir = Path(self._workdir.name)
        self._server: BaseWSGIServer | None = None
        self._on_stop: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> str:
        reset_moto()  # what an earlier sandbox of this process left behind
        self._server = make_server(self.host, self.port, self.gateway, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self.url

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the sandbox stops (e.g. close a browser it lent)."""
        self._on_stop.append(callback)

    def stop(self) -> None:
        while self._on_stop:
            self._on_stop.pop()()
        self.gateway.sites.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._workdir.cleanup()

    def reset(self) -> None:
        """Forget every resource, fault and logged call."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self.gateway.faults.clear()
        self.gateway.expired_keys.clear()
        self.gateway.calls.clear()
        self.gateway.sites.clear()
        self.gateway.recorder.clear()
        self.gateway.latency = None

    def inject(self, faults: dict[str, str]) -> None:
        """Answer `service:Operation` with an AWS error code from now on, e.g. AccessDeniedException."""
        self.gateway.faults.update(faults)

    def expire_key(self, access_key_id: str) -> None:
        """Answer every request signed with `access_key_id` as AWS answers an expired session: ExpiredToken."""
        self.gateway.expired_keys.add(access_key_id)

    def set_latency(self, profile: Profile | None, seed: int = 0) -> None:
        """Answer from now on with `profile`'s delays (None: at once); see grader/sandbox/latency.py."""
        self.gateway.latency = Latency(profile, seed) if profile is not None else None

    def deploy_site(self, site: DeployedSite) -> None:
        """Serve a website under an instance's public DNS name."""
        self.gateway.sites.deploy(site)

    def serve_folder(self, folder: Path) -> str | None:
        """Serve `folder` as the running instance's website (the first to start, if none runs yet).

        Returns the host it is served under, or None until an instance runs. ValueError when the
        folder is not a course website (no login.html).
        """
        return self.gateway.sites.serve_folder(folder)

    def answers_host(self, host: str) -> bool:
        """Whether the sandbox answers for the public name `host`: an AWS API host it stands in for,
        a hosted-UI domain, or a deployed site's name."""
        return self.gateway.answers_host(host)

    def site_state(self, host: str) -> tuple[str, tuple[str, ...]] | None:
        """(mode, schemes served) of the site deployed under `host`, or None when none is."""
        site = self.gateway.sites.site_for(host)
        return None if site is None else (site.mode, site.schemes)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

"""`grader doctor`: whether this machine can grade, one finding at a time, before a student's first grade.

Each finding is one line: `ok` (ready), `warn` (worth knowing; grading still starts) or `fail` (to fix
before grading). AWS is asked only through the grader's read-only access (grader/aws.py), with reads its
guard allows; AWS's hosts are otherwise only sent an unsigned `GET /`, to see that they answer through the proxy
and CA bundle in force (grader/network.py). No key, secret, token or proxy password is ever part of a finding:
credentials are described by where they come from, never by what they are.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from grader import __version__
from grader.errors import GraderError, explain
from grader.network import (
    CA_BUNDLE_ENV,
    Network,
    ca_bundle_problem,
    proxy_problem,
    tunnel_answer,
    without_credentials,
)
from grader.network import current as current_network
from grader.spec import SpecError, load_spec
from grader.target import Target

if TYPE_CHECKING:
    import boto3

    from grader.aws import ReadOnlyAWS
    from grader.browser.session import BrowserSession

Status = Literal["ok", "warn", "fail"]

SERVICE_READS: tuple[tuple[str, str, str, dict[str, Any], str], ...] = (
    ("Cognito", "cognito-idp", "list_user_pools", {"MaxResults": 1}, "its user pools can be listed"),
    ("EC2", "ec2", "describe_instances", {"MaxResults": 5}, "the instances can be listed"),
    ("CloudTrail", "cloudtrail", "describe_trails", {}, "the trails can be listed"),
)
"""The lab's services, each asked one cheap read that grader/aws.py allows: name, service, operation,
parameters, and what an answer shows."""
CREDENTIAL_SOURCES = {
    "env": "from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    "shared-credentials-file": "from the profile [{profile}] of the credentials file {credentials_file}",
    "config-file": "from the profile [{profile}] of the AWS config file {config_file}",
    "assume-role": "from a role that the profile {profile} assumes",
    "assume-role-with-web-identity": "from a web identity role (AWS_ROLE_ARN)",
    "sso": "from an IAM Identity Center (SSO) sign-in of the profile {profile}",
    "custom-process": "from the credential_process of the profile {profile}",
    "container-role": "from this container's role",
    "iam-role": "from this machine's instance role",
}
"""Where botocore found the credentials (by its `method` names), said in words."""
NOT_CHECKED = "Not checked: the credentials come first."
AWS_SERVICES_REACHED = ("sts", "cognito-idp", "ec2", "cloudtrail", "s3")
"""The AWS services whose regional hosts a grade reaches (STS for the identity, S3 for CloudTrail's logs)."""
HOST_TIMEOUT = (5, 10)
"""Seconds to connect to an AWS host (or its proxy), then to wait for its answer."""
MAX_BODY_BYTES = 1024
"""At most this much of a host's answer is read: its status is all the doctor needs."""
NAME_NOT_RESOLVED = ("NameResolutionError", "Name or service not known", "nodename nor servname", "getaddrinfo failed")
"""What a failed DNS look-up says, on Linux, macOS and Windows."""
_OS_ERROR = re.compile(r"\[(?:Errno|WinError) -?\d+\] ([^'\"()\]\\]+)")

Fetch = Callable[[str, Network], int]
"""What asks a URL through the network settings and gives back its HTTP status."""


@dataclass(frozen=True)
class Finding:
    """One thing the doctor looked at: its status, what it is, and what was found or what to do."""

    status: Status
    topic: str
    text: str


def diagnose(target: Target, spec: str) -> list[Finding]:
    """Every finding for `target`, in the order a student fixes them."""
    return [
        python_finding(),
        grader_finding(),
        spec_finding(spec),
        browser_finding(target),
        *network_findings(target),
        *aws_findings(target),
    ]


def first_to_fix(findings: Sequence[Finding]) -> Finding | None:
    """The first finding that stops grading, or None when grading can start."""
    return next((finding for finding in findings if finding.status == "fail"), None)


def python_finding() -> Finding:
    """The Python the grader runs on."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Finding("ok", "Python", f"{version} ({sys.executable})")


def grader_finding() -> Finding:
    """The grader's version and where it is installed; its report templates must be there."""
    package = resources.files("grader")
    where = f"{__version__}, installed in {package}"
    if not package.joinpath("report", "templates", "report.html.j2").is_file():
        return Finding(
            "fail",
            "grader",
            f"{where}, is incomplete: its report templates are missing. Install the grader again "
            "(pipx install --force, or pip install --force-reinstall).",
        )
    return Finding("ok", "grader", where)


def spec_finding(spec: str) -> Finding:
    """The lab spec the grade would use."""
    try:
        lab = load_spec(spec)
    except SpecError as exc:
        return Finding("fail", "lab spec", str(exc))
    return Finding("ok", "lab spec", f"{lab.id}: {lab.title}" if lab.title else lab.id)


def python_command(*args: str) -> str:
    """A command line that runs this Python (the grader's own) with `args`.

    On Windows it is written for PowerShell, where a quoted program path needs `&` before it.
    """
    line = " ".join(quoted(part) for part in (sys.executable, *args))
    return f"& {line}" if sys.platform == "win32" and line.startswith('"') else line


def quoted(text: str) -> str:
    """`text` in double quotes when it has a space, as Windows and POSIX shells both read it."""
    return f'"{text}"' if any(char.isspace() for char in text) else text


def how_to_get_a_browser() -> str:
    """What to run, or which option to give, so the grader has a browser."""
    get = f"Get Playwright's Chromium with `{python_command('-m', 'playwright', 'install', 'chromium')}`"
    return (
        f"{get}, or install Google Chrome or Microsoft Edge (found where their installers put them), "
        "or give another Chromium-based browser with --browser-path."
    )


def browser_finding(target: Target) -> Finding:
    """The browser a grade would drive (found as `grader check` finds it), and whether it starts."""
    from grader.browser import BrowserSession, find_browser

    try:
        choice = find_browser(target.browser_path)
    except GraderError as exc:
        if exc.kind == "no-browser":
            return Finding("fail", "browser", f"None found for the website checks. {how_to_get_a_browser()}")
        return Finding("fail", "browser", exc.message)
    session = BrowserSession(choice, None, target.region, own_thread=True)
    try:
        agent = session.call(_user_agent)
    except GraderError as exc:
        advice = exc.message
        if sys.platform.startswith("linux") and "dependencies" in advice:
            install_deps = python_command("-m", "playwright", "install-deps", "chromium")
            advice += f" Playwright installs the libraries its Chromium needs with `sudo {install_deps}`."
        return Finding("fail", "browser", advice)
    finally:
        session.close()
    version = re.search(r"(?:Chrome|Chromium)/([0-9.]+)", agent)
    started = f", starts (version {version.group(1)})" if version else ", starts"
    return Finding("ok", "browser", choice.source + started)


def _user_agent(session: BrowserSession) -> str:
    """The browser's user agent, launching it, in the session's own thread."""
    return session.user_agent


def network_findings(target: Target) -> list[Finding]:
    """The proxy and CA bundle in force, then whether each AWS host of the target's region answers through them."""
    settings = current_network()
    found = network_finding(settings)
    if target.endpoint_url:
        local = f"not checked against a local endpoint: the grade reaches only {target.endpoint_url}"
        return [found, Finding("ok", "AWS hosts", local)]
    return [found, *aws_host_findings(aws_hosts(target.region), settings)]


def network_finding(settings: Network) -> Finding:
    """The network settings as `Network.describe` says them (a proxy's user name and password left out)."""
    problem = network_problem(settings)
    if problem:
        return Finding("fail", "network", problem)
    return Finding("ok", "network", settings.describe())


def network_problem(settings: Network) -> str:
    """'' when the proxy and CA bundle can be used, else what is wrong, naming the variable (never a password)."""
    for named, proxy in (("HTTPS_PROXY", settings.https_proxy), ("HTTP_PROXY", settings.http_proxy)):
        problem = proxy_problem(without_credentials(proxy)) if proxy else ""
        if problem:
            return f"{named}: {problem}. Give a proxy the grader can use with --proxy URL."
    problem = ca_bundle_problem(Path(settings.ca_bundle)) if settings.ca_bundle else ""
    if problem:
        return f"{CA_BUNDLE_ENV} {settings.ca_bundle}: {problem}. Give a PEM file of CAs with --ca-bundle FILE."
    return ""


def aws_hosts(region: str) -> tuple[str, ...]:
    """The AWS hosts a grade reaches in `region`."""
    return tuple(f"{service}.{region}.amazonaws.com" for service in AWS_SERVICES_REACHED)


def aws_host_findings(hosts: Sequence[str], settings: Network, fetch: Fetch | None = None) -> list[Finding]:
    """Whether each of `hosts` answers HTTPS through `settings`, all asked at once, in the order given."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=len(hosts), thread_name_prefix="doctor-host") as pool:
        return list(pool.map(lambda host: host_finding(host, settings, fetch or fetch_status), hosts))


def fetch_status(url: str, settings: Network) -> int:
    """The HTTP status `url` answers a GET with, through the proxy and CA bundle of `settings`."""
    import requests

    with requests.get(
        url,
        proxies=settings.proxies(url),
        verify=settings.verify(url),
        timeout=HOST_TIMEOUT,
        allow_redirects=False,
        stream=True,
    ) as response:
        next(response.iter_content(MAX_BODY_BYTES), b"")
        return response.status_code


def host_finding(host: str, settings: Network, fetch: Fetch) -> Finding:
    """Whether `host` answers `https://host/`: any HTTP answer will do; else why not, as a sentence."""
    from requests import exceptions

    url = f"https://{host}/"
    proxy = without_credentials(settings.proxy_for(url))
    route = f"through the proxy {proxy}" if proxy else "directly"
    try:
        fetch(url, settings)
    except exceptions.SSLError:
        return Finding("fail", host, untrusted_certificate(settings))
    except exceptions.ProxyError as exc:
        return Finding("fail", host, proxy_refusal(proxy, exc))
    except (exceptions.ConnectionError, exceptions.Timeout) as exc:
        return Finding("fail", host, f"could not reach it {route}: {connection_reason(exc)}. {network_advice(proxy)}")
    except Exception as exc:  # noqa: BLE001 - a malformed proxy URL or a broken answer: said as a sentence
        return Finding("fail", host, f"could not be asked {route}: {type(exc).__name__}. {network_advice(proxy)}")
    return Finding("ok", host, f"answers {route}")


def untrusted_certificate(settings: Network) -> str:
    """Why a host's certificate was refused, and how to give the CA that signs it."""
    trusted = f"the CA bundle {settings.ca_bundle} does not sign it" if settings.ca_bundle else "the default CAs do not"
    return (
        f"its certificate is not signed by a CA the grader trusts: {trusted} (as when a proxy re-signs TLS with its "
        f"own CA). Give the proxy's CA with --ca-bundle FILE or {CA_BUNDLE_ENV}."
    )


def proxy_refusal(proxy: str, exc: Exception) -> str:
    """What the proxy answered instead of a tunnel to the host, or why it could not be reached."""
    status = tunnel_answer(exc)
    if not status:
        return f"the proxy {proxy} could not be reached: {connection_reason(exc)}. Check --proxy or HTTPS_PROXY."
    if status.startswith("407"):
        advice = "Give its user name and password in the proxy's URL (http://USER:PASSWORD@HOST:PORT)."
    else:
        advice = "Ask the network's administrators to let it reach *.amazonaws.com, or use another network."
    return f"the proxy {proxy} answered {status} instead of a connection to it. {advice}"


def connection_reason(exc: Exception) -> str:
    """Why a connection failed, in a few words taken from the error (never its URLs)."""
    from requests import exceptions

    text = str(exc)
    if isinstance(exc, exceptions.ConnectTimeout) or "connect timeout" in text:
        return f"no connection within {HOST_TIMEOUT[0]} seconds"
    if isinstance(exc, exceptions.ReadTimeout):
        return f"no answer within {HOST_TIMEOUT[1]} seconds"
    if any(sign in text for sign in NAME_NOT_RESOLVED):
        return "its name does not resolve (DNS)"
    found = _OS_ERROR.search(text)
    return found.group(1).strip().lower() if found else "the connection failed"


def network_advice(proxy: str) -> str:
    """What to check when a host cannot be reached."""
    if proxy:
        return f"Check this machine's network and the proxy {proxy}."
    return "Check this machine's network; behind a proxy, give it with --proxy URL or HTTPS_PROXY."


def aws_findings(target: Target) -> list[Finding]:
    """Credentials (where from), identity (whose, and not expired), the region, and each of the lab's services."""
    from grader.aws import ReadOnlyAWS
    from grader.target import student_from_arn

    region = region_finding(target)
    later = [Finding("warn", name, NOT_CHECKED) for name, *_ in SERVICE_READS]
    try:
        session = target.session()
        source = credentials_source(target, session)
    except Exception as exc:  # noqa: BLE001 - no credentials, a broken profile or config file: said as a sentence
        problem = explain(exc, "find the AWS credentials").message
        return [Finding("fail", "credentials", problem), Finding("warn", "identity", NOT_CHECKED), region, *later]
    found = [Finding("ok", "credentials", source)]
    aws = ReadOnlyAWS(target=target, session=session)
    try:
        identity = aws.identity()
    except GraderError as exc:  # expired, wrong or refused keys, or AWS out of reach
        return [*found, Finding("fail", "identity", exc.message), region, *later]
    student = target.student or student_from_arn(identity.arn, identity.account_id)
    found += [
        Finding("ok", "identity", f"{identity.arn} (account {identity.account_id}; graded as {student})"),
        region,
    ]
    return found + [service_finding(aws, *read) for read in SERVICE_READS]


def service_finding(
    aws: ReadOnlyAWS, name: str, service: str, operation: str, params: dict[str, Any], shows: str
) -> Finding:
    """Whether one of the lab's services answers a cheap read."""
    try:
        aws.call(service, operation, f"read {name}", **params)
    except GraderError as exc:
        return Finding("fail", name, exc.message)
    return Finding("ok", name, f"answers: {shows}")


def credentials_source(target: Target, session: boto3.Session) -> str:
    """Where the credentials of `session` come from, in words (never the keys); GraderError when there are none."""
    if target.credentials_file is not None:
        return f"from the file {target.credentials_file} (--credentials-file)"
    if target.endpoint_url and not target.profile:
        return f"the grader's own keys for {target.endpoint_url} (a local endpoint is never sent a student's keys)"
    credentials = session.get_credentials()
    if credentials is None:
        from botocore.exceptions import NoCredentialsError

        raise explain(NoCredentialsError(), "find the AWS credentials")
    method = str(getattr(credentials, "method", "") or "")
    template = CREDENTIAL_SOURCES.get(method, f"from botocore's {method or 'unnamed'} provider")
    return template.format(profile=session.profile_name, **aws_files())


def aws_files() -> dict[str, str]:
    """The credentials file and config file botocore reads (from AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE)."""
    import botocore.session

    settings = botocore.session.Session()
    return {
        name: str(Path(str(settings.get_config_variable(name))).expanduser())
        for name in ("credentials_file", "config_file")
    }


def region_finding(target: Target) -> Finding:
    """The region the grade looks in; one where botocore knows no Cognito is worth a second look."""
    if target.endpoint_url:
        return Finding("ok", "region", f"{target.region} (at {target.endpoint_url})")
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    # botocore's own endpoint data: read without the AWS config files, which may be broken.
    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    known = {
        region
        for partition in resolver.get_available_partitions()
        for region in resolver.get_available_endpoints("cognito-idp", partition)
    }
    if known and target.region not in known:
        return Finding(
            "warn",
            "region",
            f"{target.region} is not a region where this grader knows Cognito. Check it for a typo: the lab's "
            "region is in AWS Details (usually us-east-1); give it with --region.",
        )
    return Finding("ok", "region", target.region)

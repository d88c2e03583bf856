"""The real-AWS path, rehearsed: the grader as it runs against AWS, with the sandbox wearing AWS's names.

The grader gets no --endpoint-url: boto3 uses its default endpoints, the browser the real-AWS
routes, the HTTP reader the address policy, TLS is verified for every AWS host. Only the
environment differs from a real grade: HTTPS_PROXY names the sandbox's proxy (`grader sandbox
--as-aws`), AWS_CA_BUNDLE its CA, and the keys are the sandbox's. Each scenario is graded both
ways, on the same lab, and must get the same statuses and messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.network import current
from grader.pipeline import grade
from grader.results import GradeResult
from grader.sandbox import Sandbox
from grader.sandbox.aws_proxy import AwsProxy, environment_lines
from grader.sandbox.demo import grader_browser, set_up
from grader.sandbox.scenarios import load_scenario
from grader.spec import load_spec
from grader.target import Target
from tests.messages import timeless

pytestmark = pytest.mark.browser

REHEARSED = (
    "finished",  # the classic hosted UI, its CSRF cookie carried from the sign-in page to its form's POST
    "managed-login",
    "janedoe-not-confirmed",
    "callback-http",
    "site-down",
    "login-always-succeeds",
    "no-trail",
    "lookup-events-denied",  # the trail's log files, read from S3 by its virtual-hosted name
)
PROXY_DIFFERENCES = {
    ("site-down", "site.reachable"): "error",
}
"""What only a proxy changes. Behind a proxy the grader never sees a website refuse its connection (the
proxy does, and says only 502), so "nothing listens there" is not the student's proven mistake: the
grader's error, which names what the proxy answered."""


@pytest.fixture(scope="module")
def as_aws(sandbox: Sandbox) -> Iterator[AwsProxy]:
    with AwsProxy(sandbox) as proxy:
        yield proxy


@pytest.fixture
def aws_environment(as_aws: AwsProxy, monkeypatch: pytest.MonkeyPatch) -> AwsProxy:
    """The environment lines `grader sandbox --as-aws` prints, set as a user pastes them; nothing else."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    for line in environment_lines(as_aws):
        name, _, value = line.partition("=")
        monkeypatch.setenv(name, value)
        monkeypatch.setenv(name.lower(), value)
    return as_aws


def _grade_both_ways(
    sandbox: Sandbox, name: str, out: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[GradeResult, GradeResult]:
    scenario = load_scenario(name)
    spec = load_spec(scenario.spec)
    with monkeypatch.context() as direct:
        for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "AWS_CA_BUNDLE"):
            direct.delenv(variable, raising=False)
        set_up(sandbox, scenario)
        in_sandbox = grade(
            Target(endpoint_url=sandbox.url, student=name), spec, out / "sandbox", browser=grader_browser(sandbox)
        )
    as_on_aws = grade(Target(student=name), spec, out / "aws", browser=grader_browser(sandbox))
    return in_sandbox, as_on_aws


@pytest.mark.parametrize("name", REHEARSED)
def test_the_real_path_grades_as_the_sandbox_path(
    sandbox: Sandbox, aws_environment: AwsProxy, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each check gets the same status and message through AWS's names as through the sandbox's endpoint."""
    in_sandbox, as_on_aws = _grade_both_ways(sandbox, name, tmp_path, monkeypatch)
    assert current().proxied
    assert as_on_aws.target == "aws"
    assert in_sandbox.target == "sandbox"
    expected = load_scenario(name)
    assert {c.id: c.status for c in in_sandbox.checks} == {
        cid: expected.expected_status(cid) for cid in load_spec(expected.spec).checks
    }
    for ours, theirs in zip(in_sandbox.checks, as_on_aws.checks, strict=True):
        assert ours.id == theirs.id
        if (name, ours.id) in PROXY_DIFFERENCES:
            assert theirs.status == PROXY_DIFFERENCES[name, ours.id], (ours.id, theirs.message)
            assert "proxy" in theirs.message, theirs.message
            continue
        assert (theirs.status, timeless(theirs.message)) == (ours.status, timeless(ours.message)), ours.id
    reached = {where.split("://", 1)[1] for where in aws_environment.reached}
    assert any(host.startswith("cognito-idp.") for host in reached), reached
    assert any(host.startswith("sts.") for host in reached), reached
    if name == "finished":
        assert as_on_aws.score == as_on_aws.max_score
        assert any(".auth.us-east-1.amazoncognito.com" in host for host in reached), reached
        assert any(host.startswith("ec2-") for host in reached), reached
        login = next(c for c in as_on_aws.checks if c.id == "site.login")
        assert str(login.evidence.get("screenshot", "")).startswith("data:image/png;base64,"), login.evidence.keys()


def test_a_hosted_ui_certificate_the_trusted_ca_did_not_sign_is_the_graders_error(
    sandbox: Sandbox, aws_environment: AwsProxy, tmp_path: Path
) -> None:
    """The hosted UI presents a certificate from a CA nobody trusts: every check that reads the hosted UI is the
    grader's error, naming the certificate and the way to trust a proxy's CA; none of them passes."""
    scenario = load_scenario("finished")
    set_up(sandbox, scenario)
    aws_environment.present_untrusted("*.auth.us-east-1.amazoncognito.com")
    try:
        result = grade(Target(student="untrusted"), load_spec(scenario.spec), tmp_path, browser=grader_browser(sandbox))
    finally:
        aws_environment.present_trusted()
    for check in result.checks:
        if check.id.startswith("hostedui.") or check.id == "site.hosted_ui_link":
            assert check.status == "error", (check.id, check.message)
            assert "could not verify the TLS certificate" in check.message, check.message
            assert "--ca-bundle" in check.message, check.message
        else:  # the website's own sign-in talks to Cognito's API, whose certificate is still trusted
            assert check.status in ("pass", "warn"), (check.id, check.message)


def test_grader_sandbox_as_aws_prints_the_lines_a_real_grade_needs(tmp_path: Path) -> None:
    """`grader sandbox --as-aws` prints the environment lines; `grader check` with them, and no --endpoint-url,
    gives the finished lab full marks (and `grader doctor` finds every AWS host through the proxy)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "grader", "sandbox", "--scenario", "finished", "--as-aws"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(line.startswith("Press Ctrl-C") for line in lines):
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        pasted = dict(line.split("=", 1) for line in lines if line.split("=", 1)[0].isupper() and "=" in line)
        assert set(pasted) >= {"HTTPS_PROXY", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, lines
        assert all(" " not in value and '"' not in value for value in pasted.values()), pasted
        clean = {k: v for k, v in os.environ.items() if not k.upper().startswith(("AWS_", "HTTP_PROXY", "HTTPS_PROXY"))}
        env = {**clean, **pasted, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
        graded = subprocess.run(
            [sys.executable, "-m", "grader", "check", "--student", "rehearsed", "--out", str(tmp_path)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-2000:]
        assert "Score 35/35" in " ".join(graded.stdout.split()), graded.stdout[-1500:]
        doctor = subprocess.run(
            [sys.executable, "-m", "grader", "doctor"], cwd=root, env=env, capture_output=True, text=True, timeout=120
        )
        said = " ".join(doctor.stdout.split())
        assert doctor.returncode == 0, said[-2000:]
        for service in ("sts", "cognito-idp", "ec2", "cloudtrail", "s3"):
            assert f"{service}.us-east-1.amazonaws.com: answers through the proxy {pasted['HTTPS_PROXY']}" in said, said
        assert f"CA bundle {pasted['AWS_CA_BUNDLE']}" in said, said
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)

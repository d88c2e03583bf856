"""`grader doctor`: one marked line per finding, exit 0 only when grading can start, the first thing to fix
named, and no key, secret or token in what it prints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

import grader.cli as cli
import grader.doctor
from grader.browser import discovery
from grader.cli import app
from grader.doctor import Finding
from grader.sandbox import Sandbox
from tests.test_cli import no_aws_env

runner = CliRunner()
KEY_ID, SECRET, TOKEN = "ASIAZZZDOCTORKEYID77", "DoctorSecretValue321", "DoctorSessionToken654"
MARKS = {"✓": "ok", "!": "warn", "✗": "fail"}


@pytest.fixture(autouse=True)
def wide_plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The grader's console, wide and without colour, so each finding is one line of plain text."""
    plain = Console(highlight=False, emoji=False, width=400, color_system=None, force_terminal=False)
    monkeypatch.setattr(cli, "console", plain)


@pytest.fixture(autouse=True)
def aws_hosts_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every AWS host answers (as AWS does a GET without a signature, 403): these tests are about the rest."""
    monkeypatch.setattr(grader.doctor, "fetch_status", lambda _url, _settings: 403)


@pytest.fixture
def empty_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The session's sandbox, empty and without faults, and left so."""
    sandbox.reset()
    yield sandbox
    sandbox.reset()


@pytest.fixture
def any_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser finding passes without a browser: for the tests about everything else."""
    monkeypatch.setattr(grader.doctor, "browser_finding", lambda _target: Finding("ok", "browser", "stand-in"))


def doctor(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """`grader doctor ARGS` in this process; never a traceback."""
    result = runner.invoke(app, ["doctor", *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def findings(output: str) -> dict[str, tuple[str, str]]:
    """Each finding line of the output: topic -> (status, text)."""
    found: dict[str, tuple[str, str]] = {}
    for line in output.splitlines():
        mark, _, rest = line.partition(" ")
        topic, separator, text = rest.partition(": ")
        if mark in MARKS and separator:
            found[topic] = (MARKS[mark], text)
    return found


def test_a_machine_without_a_browser_is_told_how_to_get_one(
    empty_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No Playwright Chromium, no system browser, no Chrome or Edge: the browser is the thing to fix, with how."""
    monkeypatch.setattr(discovery, "SYSTEM_BROWSERS", ())
    monkeypatch.setattr(discovery, "SYSTEM_HEADLESS_SHELLS", ())
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-playwright-browsers"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = doctor("--endpoint-url", empty_sandbox.url, "--out", str(tmp_path / "reports"))
    assert result.exit_code == 2, result.output
    found = findings(result.output)
    status, text = found["browser"]
    assert status == "fail"
    assert "-m playwright install chromium" in text
    assert "--browser-path" in text
    assert "Google Chrome or Microsoft Edge" in text
    assert {status for topic, (status, _) in found.items() if topic != "browser"} == {"ok"}, result.output
    assert result.output.splitlines()[-1].startswith("Not ready to grade. Fix first (browser): None found")


def test_expired_credentials_are_named_with_what_to_do(
    empty_sandbox: Sandbox, any_browser: None, tmp_path: Path
) -> None:
    """An expired session token fails the identity with the lab's remedy; the services are not asked."""
    empty_sandbox.inject({"sts:GetCallerIdentity": "ExpiredToken"})
    result = doctor("--endpoint-url", empty_sandbox.url, "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    found = findings(result.output)
    assert found["credentials"][0] == "ok"
    status, text = found["identity"]
    assert status == "fail"
    assert "credentials have expired" in text
    assert "AWS Details" in text
    for service in ("Cognito", "EC2", "CloudTrail"):
        assert found[service] == ("warn", "Not checked: the credentials come first.")
    assert ("cognito-idp", "ListUserPools") not in {(c.service, c.operation) for c in empty_sandbox.gateway.calls}
    assert "Fix first (identity): The AWS credentials have expired." in result.output


def test_no_credentials_at_all_say_how_to_give_them(any_browser: None, tmp_path: Path) -> None:
    """No keys anywhere: the credentials are the first thing to fix, with the three ways to give them."""
    result = doctor("--out", str(tmp_path), env=no_aws_env(tmp_path))
    assert result.exit_code == 2, result.output
    found = findings(result.output)
    status, text = found["credentials"]
    assert status == "fail"
    assert "No AWS credentials were found" in text
    assert "--credentials-file" in text
    assert "--profile" in text
    assert "AWS_ACCESS_KEY_ID" in text
    assert found["identity"][0] == "warn"
    assert found["region"] == ("ok", "us-east-1")
    assert "Fix first (credentials): No AWS credentials were found." in result.output


def test_a_service_that_refuses_is_named(empty_sandbox: Sandbox, any_browser: None, tmp_path: Path) -> None:
    """Credentials that may not read EC2: the EC2 line fails with the permission to add; the others pass."""
    empty_sandbox.inject({"ec2:DescribeInstances": "UnauthorizedOperation"})
    result = doctor("--endpoint-url", empty_sandbox.url, "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    found = findings(result.output)
    assert found["EC2"][0] == "fail"
    assert "AWS denied the grader permission" in found["EC2"][1]
    assert found["Cognito"][0] == found["CloudTrail"][0] == found["identity"][0] == "ok"
    assert "Fix first (EC2)" in result.output


@pytest.mark.parametrize("source", ["credentials-file", "environment", "profile"])
def test_credentials_are_said_by_where_they_come_from_never_by_value(
    empty_sandbox: Sandbox, any_browser: None, tmp_path: Path, source: str
) -> None:
    """From --credentials-file, the environment or a profile of the credentials file: the source is named, and
    neither the key id, the secret nor the session token appears in the output."""
    block = f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
    env = no_aws_env(tmp_path)
    args = ["--out", str(tmp_path / "reports")]
    creds = tmp_path / "lab credentials"
    if source == "credentials-file":
        creds.write_text(f"[default]\n{block}", encoding="utf-8")
        args += ["--credentials-file", str(creds), "--endpoint-url", empty_sandbox.url]
        expected = f"from the file {creds} (--credentials-file)"
    else:
        # Not --endpoint-url (that would use the grader's own keys): AWS_ENDPOINT_URL sends the calls to the sandbox.
        env["AWS_ENDPOINT_URL"] = empty_sandbox.url
        if source == "environment":
            env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
            expected = "from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        else:
            creds.write_text(f"[lab]\n{block}", encoding="utf-8")
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(creds)
            args += ["--profile", "lab"]
            expected = f"from the profile [lab] of the credentials file {creds}"
    result = doctor(*args, env=env)
    assert result.exit_code == 0, result.output
    assert findings(result.output)["credentials"] == ("ok", expected)
    assert "123456789012" in findings(result.output)["identity"][1]  # the sandbox's account: the keys worked
    for secret in (KEY_ID, SECRET, TOKEN):
        assert secret not in result.output


@pytest.mark.browser
def test_a_ready_machine_passes_every_finding_and_says_what_to_run(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    """Against the sandbox with a working browser: every line passes, exit 0, and the grade's command is shown."""
    out = tmp_path / "my reports"
    result = doctor("--endpoint-url", empty_sandbox.url, "--out", str(out))
    assert result.exit_code == 0, result.output
    found = findings(result.output)
    expected = {"Python", "grader", "lab spec", "browser", "credentials", "identity", "region", "Cognito", "EC2"}
    assert set(found) == expected | {"CloudTrail", "network", "AWS hosts", "reports"}
    assert {status for status, _ in found.values()} == {"ok"}, result.output
    assert ", starts (version " in found["browser"][1]
    assert "arn:aws:" in found["identity"][1]
    assert found["Cognito"] == ("ok", "answers: its user pools can be listed")
    last = result.output.splitlines()[-1]
    assert last == f'Ready to grade: grader check --endpoint-url {empty_sandbox.url} --out "{out}"'
    assert not out.exists(), "the doctor makes no reports folder"


@pytest.mark.parametrize(
    ("platform", "executable", "expected"),
    [
        ("linux", "/home/jane/pipx/bin/python", "/home/jane/pipx/bin/python -m playwright"),
        ("darwin", "/Users/Jane Doe/g/bin/python", '"/Users/Jane Doe/g/bin/python" -m playwright'),
        ("win32", r"C:\Users\Jane Doe\pipx\python.exe", r'& "C:\Users\Jane Doe\pipx\python.exe" -m playwright'),
        ("win32", r"C:\Users\jane\pipx\python.exe", r"C:\Users\jane\pipx\python.exe -m playwright"),
    ],
)
def test_the_command_to_get_a_browser_runs_as_typed(
    monkeypatch: pytest.MonkeyPatch, platform: str, executable: str, expected: str
) -> None:
    """The grader's own Python, quoted when its path has a space, with PowerShell's `&` before a quoted program."""
    monkeypatch.setattr(grader.doctor.sys, "platform", platform)
    monkeypatch.setattr(grader.doctor.sys, "executable", executable)
    assert grader.doctor.python_command("-m", "playwright") == expected

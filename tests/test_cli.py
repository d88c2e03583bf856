"""The command line: exit codes, clear sentences instead of tracebacks, and no secret in output."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner, Result

from grader import __version__
from grader.cli import app
from grader.results import CheckResult, GradeResult
from grader.sandbox import Sandbox
from grader.sandbox.demo import set_up
from grader.sandbox.scenarios import load_scenario, scenario_names
from grader.spec import load_spec
from tests.grades import graded

runner = CliRunner()
ROOT = Path(__file__).parents[1]


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.browser
def test_demo_grades_the_finished_lab_to_full_marks(tmp_path: Path) -> None:
    """`grader demo` needs no account, scores full marks, exits 0 and writes the report."""
    result = run("demo", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    full = sum(c.points for c in load_spec().checks.values() if not c.advisory)
    assert f"Score {full}/{full}" in result.output
    assert "WARN" in result.output
    assert "1 warned" in result.output
    data = json.loads((tmp_path / "demo-finished" / "results.json").read_text())
    assert data["score"] == data["max_score"] == full
    assert data["target"] == "sandbox"
    assert (tmp_path / "demo-finished" / "report.html").is_file()


@pytest.mark.browser
def test_demo_of_a_mistake_shows_the_failure_and_its_hint(tmp_path: Path) -> None:
    """A mistake scenario exits 1 and prints what was found and what to click."""
    result = run("demo", "--scenario", "mfa-optional", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "MFA is OPTIONAL" in result.output
    assert "choose No MFA" in " ".join(result.output.split())


def test_demo_lists_every_scenario() -> None:
    """`grader demo --list` names each scenario with its summary."""
    result = run("demo", "--list")
    assert result.exit_code == 0
    for name in scenario_names():
        assert name in result.output
    assert load_scenario("callback-http").summary[:30] in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("demo", "--scenario", "nope"), "There is no scenario 'nope'"),
        (("check", "--spec", "itm300-m99"), "There is no built-in lab spec 'itm300-m99'"),
        (("check", "--profile", "no-such-profile"), "There is no AWS profile named 'no-such-profile'"),
        (("check", "--endpoint-url", "http://127.0.0.1:{closed}"), "could not reach http://127.0.0.1:"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args: tuple[str, ...], phrase: str, tmp_path: Path) -> None:
    """Unknown scenario, spec or profile and an unreachable endpoint exit 2 with a sentence."""
    filled = [a.replace("{closed}", str(_closed_port())) for a in args]
    result = run(*filled, "--out", str(tmp_path), env=no_aws_env(tmp_path))
    assert result.exit_code == 2
    assert phrase in " ".join(result.output.split())


def test_a_spec_file_with_an_unknown_key_is_named(tmp_path: Path) -> None:
    """An instructor's spec with a typo'd key exits 2 naming the file and the key."""
    spec = tmp_path / "course.toml"
    spec.write_text(
        (ROOT / "grader/labs/itm300-m03.toml").read_text().replace("[expected]", "[expected]\npool_nmae = 'x'")
    )
    result = run("check", "--spec", str(spec), "--endpoint-url", "http://127.0.0.1:1")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "unknown key expected.pool_nmae" in output
    assert "course.toml" in output


def test_no_credentials_is_explained(tmp_path: Path) -> None:
    """With no credentials anywhere, the grader says how to give them and exits 2."""
    result = run("check", "--out", str(tmp_path), env=no_aws_env(tmp_path))
    assert result.exit_code == 2
    assert "No AWS credentials were found" in " ".join(result.output.split())


def test_expired_credentials_are_explained(sandbox: Sandbox, tmp_path: Path) -> None:
    """An expired session token is the grader's error with what to do, not the student's failure."""
    set_up(sandbox, load_scenario("finished"))
    sandbox.inject({"sts:GetCallerIdentity": "ExpiredToken"})
    result = run("check", "--endpoint-url", sandbox.url, "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "credentials have expired" in " ".join(result.output.split())
    assert not any(tmp_path.iterdir()), "no report for a grade that did not happen"


@pytest.mark.browser
def test_an_access_denied_check_is_an_error_and_the_rest_are_graded(sandbox: Sandbox, tmp_path: Path) -> None:
    """AccessDenied on one API marks its check as error (exit 2) and still grades the others."""
    set_up(sandbox, load_scenario("users-access-denied"))
    result = run("check", "--endpoint-url", sandbox.url, "--student", "s1", "--out", str(tmp_path))
    assert result.exit_code == 2
    data = json.loads((tmp_path / "s1" / "results.json").read_text())
    statuses = {c["id"]: c["status"] for c in data["checks"]}
    assert statuses.pop("user.janedoe_confirmed") == "error"
    assert statuses.pop("site.hosted_ui_link") == "warn"  # the course site's link, as in the finished lab
    assert set(statuses.values()) == {"pass"}


@pytest.mark.browser
def test_secrets_never_reach_output_results_or_report(sandbox: Sandbox, tmp_path: Path) -> None:
    """Keys from a credentials file appear in no output, results.json or report."""
    set_up(sandbox, load_scenario("client-secret"))
    creds = tmp_path / "creds"
    creds.write_text(
        "[default]\naws_access_key_id=ASIAZZZSECRETKEYID99\naws_secret_access_key=TopSecretValue123\naws_session_token=SessionTokenValue456\n"
    )
    out = tmp_path / "out"
    result = run("check", "--endpoint-url", sandbox.url, "--credentials-file", str(creds), "--out", str(out))
    assert result.exit_code == 1
    written = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    for secret in ("ASIAZZZSECRETKEYID99", "TopSecretValue123", "SessionTokenValue456"):
        assert secret not in result.output
        assert secret not in written
    assert "client secret" in written  # the check still reports that a secret exists ...
    data = json.loads(next(out.rglob("results.json")).read_text())
    assert all("ClientSecret" not in json.dumps(c["evidence"]) for c in data["checks"])  # ... not its value


@pytest.mark.browser
def test_pytest_runs_the_checks_directly_with_junit(sandbox: Sandbox, tmp_path: Path) -> None:
    """`pytest checks/ --endpoint-url URL --junitxml F` grades too, writing results and JUnit XML."""
    set_up(sandbox, load_scenario("no-domain"))
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks",
            "-p",
            "no:cacheprovider",
            "--endpoint-url",
            sandbox.url,
            "--student",
            "direct",
            "--out",
            str(tmp_path),
            "--junitxml",
            str(junit),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "FAIL  pool.domain" in proc.stdout
    assert "WARN  site.hosted_ui_link" in proc.stdout
    xml = junit.read_text()
    assert xml.count("<testcase") == len(load_spec().checks)
    # The advisory check's warning is a passed test case, not a failure.
    assert xml.count("<failure") == len(load_scenario("no-domain").fails)
    assert re.search(r'<testcase classname="checks.test_site" name="test_hosted_ui_link" time="[0-9.]+" />', xml)
    data = json.loads((tmp_path / "direct" / "results.json").read_text())
    scenario = load_scenario("no-domain")
    assert {c["id"]: c["status"] for c in data["checks"] if c["status"] != "pass"} == (
        dict.fromkeys(scenario.fails, "fail")
        | dict.fromkeys(scenario.skips, "skip")
        | dict.fromkeys(scenario.warns, "warn")
    )


def test_check_grades_a_lab_provisioned_by_hand_in_grader_sandbox(tmp_path: Path) -> None:
    """`grader sandbox` serves a lab made with plain boto3 calls, and `grader check --endpoint-url` grades it."""
    port = _closed_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "grader", "sandbox", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(port)
        _do_the_lab_by_hand(url)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader",
                "check",
                "--endpoint-url",
                url,
                "--student",
                "by-hand",
                "--out",
                str(tmp_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
        data = json.loads((tmp_path / "by-hand" / "results.json").read_text())
        statuses = {c["id"]: c["status"] for c in data["checks"]}
        # Every configuration check passes; no website and no trail were made by hand, and
        # the grade says so.
        assert {s for cid, s in statuses.items() if cid.split(".")[0] in {"pool", "client", "user"}} == {"pass"}
        assert statuses["cloudtrail.trail"] == "fail"
        assert statuses["cloudtrail.auth_events"] == "fail"
        assert statuses["site.reachable"] == "fail"
        assert {s for cid, s in statuses.items() if cid.startswith("site.") and cid != "site.reachable"} == {"skip"}
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.browser
def test_grader_sandbox_serves_a_course_site_folder_for_the_instance(tmp_path: Path) -> None:
    """`grader sandbox --site DIR` serves DIR for the first instance that starts; settings.js filled in
    after provisioning (as rebuildapp.sh does) is what the grader reads, with no --site-url."""
    rebuild = _rebuild_module()
    site = rebuild.render_site(
        rebuild.TEMPLATE_DIR, tmp_path / "site", user_pool_id=None, client_id=None, cognito_domain=None, ec2_host=None
    )
    port = _closed_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "grader", "sandbox", "--port", str(port), "--site", str(site)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(port)
        made = _do_the_lab_by_hand(url)
        settings = site / "scripts" / "settings.js"
        settings.write_text(
            rebuild.render_settings(
                settings.read_text(encoding="utf-8"),
                user_pool_id=made["pool"],
                client_id=made["client"],
                cognito_domain=f"https://{made['domain']}",
                ec2_host=made["dns"],
            ),
            encoding="utf-8",
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader",
                "check",
                "--endpoint-url",
                url,
                "--student",
                "own-site",
                "--out",
                str(tmp_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        data = json.loads((tmp_path / "own-site" / "results.json").read_text())
        statuses = {c["id"]: c["status"] for c in data["checks"] if c["id"].startswith("site.")}
        assert statuses == {
            "site.reachable": "pass",
            "site.configured": "pass",
            "site.hosted_ui_link": "warn",
            "site.login": "pass",
            "site.wrong_password_rejected": "pass",
        }, proc.stdout[-3000:]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "for the first EC2 instance that starts" in " ".join(output.split())


@pytest.mark.parametrize(("make", "phrase"), [("missing", "is not a folder"), ("empty", "has no login.html")])
def test_grader_sandbox_refuses_a_site_folder_that_is_not_a_course_site(tmp_path: Path, make: str, phrase: str) -> None:
    """`--site` naming no folder, or one without login.html, is one sentence and exit 2."""
    folder = tmp_path / make
    if make == "empty":
        folder.mkdir()
    result = run("sandbox", "--port", "0", "--site", str(folder))
    assert result.exit_code == 2
    assert phrase in " ".join(result.output.split())


def _rebuild_module():  # noqa: ANN202 - the reference site's rebuild script, loaded as a module
    spec = importlib.util.spec_from_file_location("rebuild", ROOT / "fixtures" / "site" / "rebuild.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _do_the_lab_by_hand(url: str) -> dict[str, str]:
    kw = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "k", "aws_secret_access_key": "s"}
    ec2, idp = boto3.client("ec2", **kw), boto3.client("cognito-idp", **kw)
    dns = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["PublicDnsName"]
    pool = idp.create_user_pool(
        PoolName="VehicleAppUserPool",
        MfaConfiguration="OFF",
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    idp.create_user_pool_domain(Domain="by-hand-lab", UserPoolId=pool)
    idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="Vehicle App",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AllowedOAuthFlows=["implicit"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["email", "openid", "phone"],
        SupportedIdentityProviders=["COGNITO"],
        CallbackURLs=[f"https://{dns}"],
    )
    idp.admin_create_user(
        UserPoolId=pool, Username="janedoe", TemporaryPassword="ILove2SeeTheTemple!", MessageAction="SUPPRESS"
    )
    idp.admin_set_user_password(UserPoolId=pool, Username="janedoe", Password="Ilove2SeeTheTemple!!", Permanent=True)
    client = idp.list_user_pool_clients(UserPoolId=pool, MaxResults=10)["UserPoolClients"][0]["ClientId"]
    return {"pool": pool, "client": client, "dns": dns, "domain": "by-hand-lab.auth.us-east-1.amazoncognito.com"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"the sandbox did not listen on {port} within {seconds} s")


def no_aws_env(tmp_path: Path) -> dict[str, str | None]:
    """An environment with no AWS settings at all: no keys, no profile, no config or credentials file."""
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


# --- Hostile strings, bad input before any work, --version (issue 11, rows 3 and 8) -------------------------

HOSTILE = "[/] [bold]x[/bold] \x1b[31mred\x1b[0m \x1b]0;owned\x07[link=file:///etc/passwd]y[/link] end\\"


def _hostile_result() -> GradeResult:
    def made(status: str, message: str, hint: str) -> CheckResult:
        return CheckResult(
            id=f"pool.{status}",
            title="t",
            section="User [bold]pool[/]",
            status=status,  # type: ignore[arg-type]
            points=0,
            max_points=1,
            message=message,
            hint=hint,
        )

    return graded(
        made("fail", f"The app client {HOSTILE} has callback https://x/[/]\nsecond line", f"Rename {HOSTILE}"),
        made("error", "\x1b[2J\x1b[Hcleared?\r\x07 [dim]not dim[/dim]", "[/]\x9b31m"),
        student="s1",
        caller_arn="arn:aws:sts::123456789012:assumed-role/x/s1",
        target="aws",
    )


@pytest.mark.parametrize("form", [[], ["--verbose"], ["--table"]], ids=["summary", "verbose", "table"])
def test_student_strings_print_as_text_not_markup_or_terminal_codes(
    monkeypatch: pytest.MonkeyPatch, wide_plain_output: None, tmp_path: Path, form: list[str]
) -> None:
    """A check message and hint holding Rich markup ([/], [bold]x[/bold]) and escape sequences print literally
    (in the summary, the --verbose list and the --table): no MarkupError, no ESC or other control byte reaches the
    terminal, and the layout's newlines stay."""
    import grader.pipeline

    monkeypatch.setattr(grader.pipeline, "grade", lambda *_, **__: _hostile_result())
    result = run("check", "--endpoint-url", "http://127.0.0.1:1", "--out", str(tmp_path), *form)
    assert result.exit_code == 2, result.output
    out = result.output
    assert "[/] [bold]x[/bold] red [link=file:///etc/passwd]y[/link] end\\" in out
    assert "[dim]not dim[/dim]" in out
    if form:  # the section scores: a heading in the --verbose list, a line under the table
        assert ("User [bold]pool[/]: 0/2" if form == ["--table"] else "User [bold]pool[/]  0/2") in out
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", out), repr(out)
    assert "second line" in out.split("callback https://x/[/]")[1].splitlines()[1], "the message's newline is kept"


@pytest.mark.parametrize("content", ["aws_access_key_id=x\n", None])
def test_a_credentials_file_path_with_markup_and_a_malformed_file_are_said_as_they_are(
    tmp_path: Path, content: str | None, wide_plain_output: None
) -> None:
    """`--credentials-file` with `[/]` (and an escape sequence) in its path, missing or malformed, is one sentence
    and exit 2 that shows the path as it is and keeps the text `[default]`."""
    folder = tmp_path / "[/]lab[bold]"  # the folders "[" and "]lab[bold]"
    folder.mkdir(parents=True)
    creds = folder / "creds\x1b[2Jfile"
    if content is not None:
        creds.write_text(content)
    result = run("check", "--credentials-file", str(creds), "--out", str(tmp_path / "out"), env=no_aws_env(tmp_path))
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"{folder}/credsfile" in said
    assert "\x1b" not in result.output
    if content is None:
        assert "does not exist" in said
    else:
        assert "is not in the [default] key = value form" in said


def _refuse_to_grade(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.pipeline
    import grader.sandbox

    def started(*_: object, **__: object) -> None:
        raise AssertionError("grading started despite a bad --out")

    monkeypatch.setattr(grader.pipeline, "grade", started)
    monkeypatch.setattr(grader.sandbox, "Sandbox", started)


def _unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").write_text("")
    except OSError:
        return folder / "reports"
    # root writes anywhere but on a read-only file system such as /sys
    for candidate in (Path("/sys"), Path("/proc/sys")):
        try:
            (candidate / "grader-probe").write_text("")
        except OSError:
            return candidate / "grader-reports"
    pytest.skip("no folder here refuses a write")


@pytest.mark.parametrize("command", [("check", "--endpoint-url", "http://127.0.0.1:1"), ("demo",)])
@pytest.mark.parametrize("kind", ["file", "under-a-file", "unwritable"])
def test_an_unusable_out_is_refused_before_grading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: tuple[str, ...], kind: str
) -> None:
    """`--out` naming a file, a folder under a file, or a folder that cannot be written is a sentence and exit 2
    before any grading starts (for `check` and `demo`)."""
    _refuse_to_grade(monkeypatch)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    out = {"file": a_file, "under-a-file": a_file / "reports", "unwritable": None}[kind] or _unwritable_folder(tmp_path)
    result = run(*command, "--out", str(out))
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"--out {out}" in said
    assert {
        "file": "is a file, not a folder",
        "under-a-file": f"{a_file} is a file",
        "unwritable": "cannot be written",
    }[kind] in said


def test_a_missing_out_folder_is_fine_and_not_made_before_grading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A --out that does not exist yet passes the check (the grade makes it) and the check itself makes nothing."""
    _refuse_to_grade(monkeypatch)
    out = tmp_path / "new" / "reports"
    result = runner.invoke(app, ["check", "--endpoint-url", "http://127.0.0.1:1", "--out", str(out)])
    assert isinstance(result.exception, AssertionError)
    assert "grading started" in str(result.exception)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("spec_bytes", "phrase"),
    [
        (lambda base: base.replace('title = "', 'title = "Café ', 1).encode("latin-1"), "not UTF-8"),
        (
            lambda base: base.replace("points = 2", "points = nan", 1).encode(),
            "checks.pool.exists.points must be a finite number",
        ),
    ],
)
def test_a_bad_spec_file_is_a_sentence_before_grading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spec_bytes: object, phrase: str
) -> None:
    """A spec that is not UTF-8, or holds nan, exits 2 naming the file (and key) before any grading."""
    _refuse_to_grade(monkeypatch)
    spec = tmp_path / "course.toml"
    spec.write_bytes(spec_bytes((ROOT / "grader/labs/itm300-m03.toml").read_text(encoding="utf-8")))  # type: ignore[operator]
    result = run("check", "--spec", str(spec), "--endpoint-url", "http://127.0.0.1:1", "--out", str(tmp_path))
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert str(spec) in said
    assert phrase in said


def test_version_prints_the_version() -> None:
    """`grader --version` prints the version and exits 0; `grader` alone still shows the usage."""
    result = run("--version")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"grader {__version__}"
    assert "Usage" in run().output


@pytest.mark.parametrize(
    ("command", "flag", "words"),
    [
        (["batch"], "--resume", "Grade only the rows"),
        (["batch"], "--skip-bad-rows", "Grade the good rows"),
        (["merge"], "--partial", "Merge the shards given"),
        (["export", "canvas"], "--new-column", "Add the assignment"),
    ],
)
def test_help_at_80_columns_keeps_room_for_the_descriptions(command: list[str], flag: str, words: str) -> None:
    """At 80 columns a flag's description starts on its own line by mid-screen, with no <bool> label beside it."""
    shown = subprocess.run(
        [sys.executable, "-m", "grader", *command, "--help"],
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    [line] = [line for line in shown.splitlines() if f" {flag} " in line]
    assert "<bool>" not in line
    assert line.index(words[:10]) < 50, line

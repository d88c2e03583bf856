"""The terminal's summary of a grade: the score first, then what to fix first, then one line for each other check
that did not pass, laid out to the console's width (60, 80, 120 columns) without ever cutting a URL or a check id.

The grades are the scenarios' (tests/test_root_causes.py: the statuses and explanations the sandbox proves) with
the messages and hints the grader writes for them in `grader demo`, so the layout is judged on real sentences.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

import grader.terminal
from grader.cli import app
from grader.outputs import report_dir
from grader.results import CheckResult, GradeResult
from tests.grades import graded
from tests.test_root_causes import SCENARIOS

WIDTHS = (60, 80, 120)
LABELS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}

MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    # the message and hint `grader demo` prints for each check that did not pass, and for passed ones with a URL
    "janedoe-not-confirmed": {
        "pool.domain": (
            "The hosted UI is at https://vehicleapp-quick-2841.auth.us-east-1.amazoncognito.com (ACTIVE).",
            "",
        ),
        "client.callback_ec2": (
            (
                "The callback URL https://ec2-54-214-212-119.compute-1.amazonaws.com is the running "
                "instance's https address."
            ),
            "",
        ),
        "user.janedoe_confirmed": (
            (
                "The user janedoe still has the temporary password (status FORCE_CHANGE_PASSWORD): "
                "nobody has signed in through the hosted UI and changed it yet."
            ),
            (
                "Create the user janedoe (Users > Create user), then open the Hosted UI, sign in as "
                "janedoe and change the password to the lab's new one: that confirms the user."
            ),
        ),
        "hostedui.authorize": (
            (
                "https://vehicleapp-quick-2841.auth.us-east-1.amazoncognito.com/oauth2/authorize "
                "answers https://ec2-54-214-212-119.compute-1.amazonaws.com with its sign-in page."
            ),
            "",
        ),
        "hostedui.implicit_callback": (
            (
                "The hosted UI refused janedoe's sign-in with the lab's new password: “Incorrect "
                "username or password.”. janedoe is still FORCE_CHANGE_PASSWORD: the temporary "
                "password was never changed to the lab's new one on the hosted UI."
            ),
            (
                "Open View Hosted UI from the app client, sign in as janedoe with the lab's new "
                "password, and check that the browser lands on https://<your instance>/ with "
                "#id_token=...&access_token=... in the address bar."
            ),
        ),
        "site.reachable": (
            "The website answers at https://ec2-54-214-212-119.compute-1.amazonaws.com/login.html.",
            "",
        ),
        "site.hosted_ui_link": (
            (
                "The hosted-UI link in scripts/settings.js would not work: its redirect_uri is "
                "https://ec2-54-214-212-119.compute-1.amazonaws.com/ but the registered callback URL "
                "is https://ec2-54-214-212-119.compute-1.amazonaws.com, and Cognito compares them "
                "exactly: add https://ec2-54-214-212-119.compute-1.amazonaws.com/ to the app client's"
                " callback URLs, or change the end of HostedId in scripts/settings.js to match "
                "https://ec2-54-214-212-119.compute-1.amazonaws.com."
            ),
            (
                "In scripts/settings.js, HostedId must start with https://<your Cognito domain>, "
                "carry your client id and response_type=token, and its redirect_uri must equal one of"
                " the app client's callback URLs exactly (mind the trailing slash): register the "
                "link's redirect_uri as a callback URL too (for example https://<EC2 public DNS>/ "
                "besides https://<EC2 public DNS>), or change the end of HostedId to match the "
                "registered one."
            ),
        ),
        "site.login": (
            (
                "janedoe could not log in: the page went to "
                "https://ec2-54-214-212-119.compute-1.amazonaws.com/login.html?msg=0. Cognito refused"
                " the password (Incorrect username or password.): the user does not exist in the pool"
                " settings.js names, or its password is not the lab's final one."
            ),
            (
                "Open login.html on your site, sign in as janedoe with the new password, and open the"
                " browser's console (F12) if you land back on the login page: the Cognito answer "
                "there names the cause."
            ),
        ),
        "site.wrong_password_rejected": (
            "The right password does not log in either (see site.login), so a refusal would prove nothing.",
            (
                "The login page must send the password to Cognito and go back to login.html?msg=0 "
                "when Cognito refuses it; deploy the course's login.js unchanged."
            ),
        ),
        "cloudtrail.auth_events": (
            (
                "CloudTrail recorded only failed sign-ins from the website (2, "
                "NotAuthorizedException), no successful one (source: event history (LookupEvents))."
            ),
            (
                "Log in on your website's login.html as janedoe (once with a wrong password too), "
                "wait a few minutes, and look in CloudTrail > Event history with Event source "
                "cognito-idp.amazonaws.com."
            ),
        ),
    },
    "callback-http": {
        "pool.domain": (
            "The hosted UI is at https://vehicleapp-quick-2841.auth.us-east-1.amazoncognito.com (ACTIVE).",
            "",
        ),
        "client.callback_ec2": (
            (
                "No callback URL is the running instance's https address: "
                "http://ec2-54-214-167-251.compute-1.amazonaws.com names the running instance "
                "i-4a44bd45fd5807643 but uses http; Cognito needs https (write https://, not "
                "http://)."
            ),
            (
                "Copy the Public IPv4 DNS from your running EC2 instance's details page and add "
                "https://<that name> to the app client's Allowed callback URLs (Edit Hosted UI)."
            ),
        ),
        "hostedui.authorize": (
            (
                "The hosted UI would not complete the implicit grant: "
                "http://ec2-54-214-167-251.compute-1.amazonaws.com uses http; Cognito accepts http "
                "only for http://localhost, http://127.0.0.1 and http://[::1], so write https://."
            ),
            (
                "Cognito names the setting in its error: redirect_mismatch means the redirect_uri is "
                "not exactly an Allowed callback URL; unauthorized_client means Implicit grant is not"
                " among the OAuth 2.0 grant types; invalid_request usually means OAuth / the Hosted "
                "UI is not enabled for the app client (save its login pages with the callback URL, "
                "the grant and the scopes); invalid_scope means openid is not among the OpenID "
                "Connect scopes (app client > Edit Hosted UI). With no domain, create one under App "
                "integration > Domain. Callback URLs must start with https:// (http only for "
                "localhost, 127.0.0.1 and [::1])."
            ),
        ),
        "hostedui.implicit_callback": (
            "No callback URL is the running instance's https address (see client.callback_ec2).",
            (
                "Open View Hosted UI from the app client, sign in as janedoe with the lab's new "
                "password, and check that the browser lands on https://<your instance>/ with "
                "#id_token=...&access_token=... in the address bar."
            ),
        ),
        "site.reachable": (
            "The website answers at http://ec2-54-214-167-251.compute-1.amazonaws.com/login.html.",
            "",
        ),
        "site.hosted_ui_link": (
            (
                "The hosted-UI link in scripts/settings.js would not work: its redirect_uri "
                "https://ec2-54-214-167-251.compute-1.amazonaws.com/ is not one of the callback URLs "
                "(http://ec2-54-214-167-251.compute-1.amazonaws.com)."
            ),
            (
                "In scripts/settings.js, HostedId must start with https://<your Cognito domain>, "
                "carry your client id and response_type=token, and its redirect_uri must equal one of"
                " the app client's callback URLs exactly (mind the trailing slash): register the "
                "link's redirect_uri as a callback URL too (for example https://<EC2 public DNS>/ "
                "besides https://<EC2 public DNS>), or change the end of HostedId to match the "
                "registered one."
            ),
        ),
        "site.login": (
            (
                "janedoe logged in at http://ec2-54-214-167-251.compute-1.amazonaws.com/login.html "
                "and reached private.html; the tokens are signed by the pool "
                "us-east-1_edf24be91fd84805b287da59cbc63fa2 for the client "
                "e9eee3aabe3142dabb6a54b1e7."
            ),
            "",
        ),
    },
}

LONG_URL = "https://ec2-54-214-212-119.compute-1.amazonaws.com/" + "deep/" * 20 + "login.html?msg=0"
LONG_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_" + "A" * 90 + "Z"
LONG_ID = "site." + "very_long_check_name_" * 4 + "end"
HOSTILE = "[/] [bold]x[/bold] \x1b[31mred\x1b[0m \x1b]0;owned\x07[link=file:///etc/passwd]y[/link] end\\"


def realistic(name: str) -> GradeResult:
    """The scenario's grade with the messages and hints `grader demo` prints for it, and its points."""
    said = MESSAGES.get(name, {})
    checks = tuple(
        replace(
            c,
            message=said.get(c.id, (f"{c.title}.", ""))[0],
            hint=said.get(c.id, ("", "Read the lab's step again." if c.status != "pass" else ""))[1],
            points=c.max_points if c.status == "pass" else 0,
        )
        for c in SCENARIOS[name].checks
    )
    return replace(SCENARIOS[name], student=f"demo-{name}", checks=checks, duration_seconds=2.0)


def _check(cid: str, status: str, message: str, hint: str = "", **more: object) -> CheckResult:
    return CheckResult(
        id=cid,
        title="A title",
        section="User pool",
        status=status,
        points=0,  # type: ignore[arg-type]
        max_points=1,
        message=message,
        hint=hint,
        step="Create a User Pool",
        **more,
    )  # type: ignore[arg-type]


def long_values() -> GradeResult:
    """Values longer than a line: a URL (never cut), an ARN, a check id and a student's name (shortened)."""
    return graded(
        _check(
            "pool.exists",
            "fail",
            f"The website went to {LONG_URL} and the pool is {LONG_ARN} instead.",
            f"Open {LONG_URL} again.",
        ),
        _check(LONG_ID, "skip", "Not looked at.", explained_by=("pool.exists",)),
        _check("pool.mfa_off", "pass", f"Read from {LONG_URL}."),
        student="student-" + "x" * 120 + "-end",
        caller_arn="",
    )


def wide_characters() -> GradeResult:
    """A name and a message in characters two columns wide."""
    return replace(
        long_values(),
        student="学生" * 40,
        checks=(_check("pool.exists", "fail", "用户池 " * 30 + "名前" * 40, "ユーザープールを作成してください。"),),
    )


def hostile() -> GradeResult:
    """Rich markup and terminal escape sequences in everything a student controls."""
    return graded(
        _check(
            "pool.exists",
            "fail",
            f"The app client {HOSTILE} has callback https://x/[/]\nsecond line",
            f"Rename {HOSTILE}",
        ),
        _check("pool.mfa_off", "error", "\x1b[2J\x1b[Hcleared?\r\x07 [dim]not dim[/dim]", "[/]\x9b31m"),
        _check("pool.domain", "warn", f"Odd {HOSTILE}", advisory=True),
        _check("pool.email_cognito", "pass", f"Fine {HOSTILE}"),
        student=f"s1 {HOSTILE}",
        caller_arn="",
    )


GRADES: dict[str, Callable[[], GradeResult]] = {
    "janedoe-not-confirmed": lambda: realistic("janedoe-not-confirmed"),
    "callback-http": lambda: realistic("callback-http"),
    "nothing-done": lambda: realistic("nothing-done"),
    "site-hanging": lambda: realistic("site-hanging"),
    "unconfirmed-and-no-trail": lambda: realistic("unconfirmed-and-no-trail"),
    "long-values": long_values,
    "wide-characters": wide_characters,
    "hostile": hostile,
}

Render = Callable[..., list[str]]


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> Render:
    """Show a grade on a console `width` columns wide (as tests/conftest.py's consoles): its lines, as plain text."""

    def rendered(
        result: GradeResult,
        width: int,
        *,
        verbose: bool = False,
        table: bool = False,
        out: Path | None = Path("reports"),
    ) -> list[str]:
        console = Console(width=width, record=True, color_system=None, file=io.StringIO(), highlight=False, emoji=False)
        monkeypatch.setattr(grader.terminal, "console", console)
        grader.terminal.show(result, out, named=True, verbose=verbose, table=table)
        return console.export_text().splitlines()

    return rendered


def _stands_alone(line: str) -> bool:
    """A URL or path longer than the line, on a line of its own from the first column."""
    return line == line.strip() and " " not in line and "/" in line


def _addresses(text: str) -> list[str]:
    """The URLs and absolute paths in `text`, each as the word it is (so with any punctuation after it)."""
    return [w for w in text.split() if "://" in w or w.startswith("/")]


def _whole(word: str, lines: list[str]) -> bool:
    return any(re.search(rf"(?<!\S){re.escape(word)}(?!\S)", line) for line in lines)


def _shortened(word: str, lines: list[str], width: int) -> bool:
    """`word` is shown as its start, "…", its end, within the line."""
    for line in lines:
        for shown in line.split():
            head, mark, tail = shown.rstrip(",").partition("…")
            if mark and len(head) >= 2 and len(tail) >= 2 and word.startswith(head) and word.endswith(tail):
                assert cell_len(line) <= width
                return True
    return False


@pytest.mark.parametrize("verbose", [False, True], ids=["summary", "verbose"])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(GRADES))
def test_no_line_is_longer_than_the_console(render: Render, name: str, width: int, verbose: bool) -> None:
    """Every line fits the console but a URL or path longer than a line, which stands alone rather than being cut."""
    lines = render(GRADES[name](), width, verbose=verbose)
    too_long = [line for line in lines if cell_len(line) > width and not _stands_alone(line)]
    assert too_long == [], "\n".join(lines)
    assert lines[0].startswith("Score "), "the score comes first"
    assert not any(line != line.rstrip() for line in lines), "no trailing spaces"


@pytest.mark.parametrize("verbose", [False, True], ids=["summary", "verbose"])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(GRADES))
def test_no_url_path_or_check_id_is_split_across_lines(render: Render, name: str, width: int, verbose: bool) -> None:
    """Each URL and path shown is whole on one line; each check id is whole, or (longer than a line) shortened in
    the middle with "…"; so are other values too long for a line."""
    result = GRADES[name]()
    lines = render(result, width, verbose=verbose)
    shown = [c for c in result.checks if verbose or c in result.fix_first or c.status == "error"]
    for check in shown:
        for url in _addresses(grader.terminal.plain(check.message)) + _addresses(grader.terminal.plain(check.hint)):
            assert _whole(url, lines), (url, "\n".join(lines))
    listed = [c for c in result.checks if verbose or c.status != "pass"]
    for check in listed:
        if len(check.id) <= width - 8:
            assert _whole(check.id, lines) or _whole(check.id + ",", lines), (check.id, "\n".join(lines))
        else:
            assert _shortened(check.id, lines, width), (check.id, "\n".join(lines))
    assert _whole(str(report_dir(result, Path("reports"), named=True) / "report.html"), lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_long_values_are_shortened_in_the_middle_and_long_urls_stand_alone(render: Render, width: int) -> None:
    lines = render(long_values(), width)
    assert _shortened(LONG_ARN.rstrip("."), lines, width)
    # the id column holds it whole at 120 columns only
    assert _whole(LONG_ID, lines) if width == 120 else _shortened(LONG_ID, lines, width)
    assert _shortened(f"student-{'x' * 120}-end", lines, width)
    assert lines.count(LONG_URL) == 2, "a URL longer than the line stands alone, whole (in the message and the hint)"
    assert lines[lines.index(LONG_URL, lines.index("      → Open") + 1) + 1] == "        again."


def test_the_root_cause_of_janedoe_not_confirmed_is_within_the_first_20_lines_at_80_columns(render: Render) -> None:
    result = realistic("janedoe-not-confirmed")
    lines = render(result, 80)
    assert [c.id for c in result.fix_first] == ["user.janedoe_confirmed"]
    first = lines[:20]
    assert any(line.startswith("FAIL  user.janedoe_confirmed  0/2") for line in first), "\n".join(lines)
    hint = " ".join(" ".join(first).split())
    assert "→ Create the user janedoe (Users > Create user)" in hint
    assert "that confirms the user." in hint
    assert "Create a User / Update Password for User" in hint, "the lab step"
    assert "Also explains 4 checks: hostedui.implicit_callback, site.login, site.wrong_password_rejected," in hint
    # the others, one line each, say what explains them; the passed checks are counted, not listed
    assert "FAIL  site.login                    follows from user.janedoe_confirmed" in lines
    assert "SKIP  site.wrong_password_rejected  follows from user.janedoe_confirmed" in lines
    assert "19 checks passed (--verbose lists every check)." in lines
    assert not any(line.startswith("PASS") for line in lines)
    assert lines[-1] == "Report: reports/demo-janedoe-not-confirmed/report.html"


@pytest.mark.parametrize("name", ["unconfirmed-and-no-trail", "nothing-done"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_root_cause_is_within_the_first_20_lines(render: Render, name: str, width: int) -> None:
    result = realistic(name)
    assert len(result.fix_first) == 2
    first = render(result, width)[:20]
    for root in result.fix_first:
        assert any(line.startswith(f"FAIL  {root.id}  ") for line in first), (root.id, "\n".join(first))


def test_callback_http_is_short_and_leads_with_its_failures(render: Render) -> None:
    result = realistic("callback-http")
    lines = render(result, 80)
    statuses = [line.split()[0] for line in lines if line.split() and line.split()[0] in LABELS.values()]
    assert statuses[:2] == ["FAIL", "FAIL"], "\n".join(lines)
    roots = [line.split()[1] for line in lines if line.startswith("FAIL")]
    assert roots == ["client.callback_ec2", "hostedui.authorize"]
    assert len(lines) < 40, "\n".join(lines)
    assert sum(len(line) > 0 for line in lines) < len(render(result, 80, table=True)) / 3


@pytest.mark.parametrize("verbose", [False, True], ids=["summary", "verbose"])
def test_markup_and_escape_sequences_from_a_student_are_shown_as_text(render: Render, verbose: bool) -> None:
    lines = render(hostile(), 80, verbose=verbose)
    text = "\n".join(lines)
    flat = " ".join(text.split())
    assert "[/] [bold]x[/bold] red [link=file:///etc/passwd]y[/link] end\\ has callback https://x/[/]" in flat
    assert "second line" in text.split("https://x/[/]")[1].splitlines()[1], "the message's newline is kept"
    assert "→ Rename [/] [bold]x[/bold] red [link=file:///etc/passwd]y[/link] end\\" in flat
    assert "end\\\\" not in text, "a trailing backslash is shown once"
    assert "[dim]not dim[/dim]" in flat
    assert "Score 0/4 for s1 [/] [bold]x[/bold] red [link=file:///etc/passwd]y[/link] end\\ (1 passed," in flat
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), repr(text)


@pytest.mark.parametrize("width", WIDTHS)
def test_verbose_lists_every_check_by_section(render: Render, width: int) -> None:
    result = realistic("janedoe-not-confirmed")
    lines = render(result, width, verbose=True)
    for check in result.checks:
        assert any(line.startswith(f"{LABELS[check.status]:5} {check.id}  ") for line in lines), check.id
    for section in result.sections:
        assert f"{section.name}  {section.score:g}/{section.max_score:g}" in lines
    assert any(line.startswith("PASS  pool.mfa_off  1/1  MFA is off.") for line in lines)


def test_the_table_is_still_there(render: Render) -> None:
    result = realistic("callback-http")
    text = "\n".join(render(result, 120, table=True))
    assert "what the grader found" in text
    assert "App client: 7/9" in text
    assert all(c.id in text for c in result.checks)


def test_check_takes_verbose_and_table(
    monkeypatch: pytest.MonkeyPatch, wide_plain_output: None, tmp_path: Path
) -> None:
    """`grader check` shows the summary, --verbose every check, --table the table (and `demo` has both options)."""
    import grader.pipeline

    monkeypatch.setattr(grader.pipeline, "grade", lambda *_, **__: realistic("janedoe-not-confirmed"))
    runner = CliRunner()
    shown = {}
    for form in ([], ["--verbose"], ["-v"], ["--table"]):
        result = runner.invoke(app, ["check", "--endpoint-url", "http://127.0.0.1:1", "--out", str(tmp_path), *form])
        assert result.exit_code == 1, result.output
        shown[" ".join(form)] = result.output
    assert "FAIL  user.janedoe_confirmed" in shown[""]
    assert "PASS  pool.exists" not in shown[""]
    assert "PASS  pool.exists  2/2" in shown["--verbose"]
    assert shown["--verbose"] == shown["-v"]
    assert "what the grader found" in shown["--table"]
    helped = " ".join(runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "--verbose" in helped
    assert "--table" in helped

"""Tests for the HTML grade report (grader.report)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from grader.report import render_html, write_report
from grader.report.render import TEMPLATE, get_environment
from grader.results import CheckResult, GradeResult

SCRIPT = "<script>alert(1)</script>"
ATTR_BREAKOUT = '"><img src=x onerror=alert(1)>'
HOSTILE = (SCRIPT, ATTR_BREAKOUT)
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
TEMPLATES = Path(__file__).resolve().parents[1] / "grader" / "report" / "templates"


class TagCollector(HTMLParser):
    """Collects the real tags of a document (escaped text never shows up as a tag)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = TagCollector()
    parser.feed(html)
    parser.close()
    return parser.tags


def make_check(
    status: str = "pass",
    *,
    id: str = "pool.exists",  # noqa: A002 - CheckResult's field, which the tests pass by this name
    title: str = "User pool exists",
    section: str = "User pool",
    points: float | None = None,
    max_points: float = 2,
    message: str = "Found user pool 'lab-pool'.",
    hint: str = "Create a user pool named lab-pool.",
    evidence: dict[str, Any] | None = None,
) -> CheckResult:
    if points is None:
        points = max_points if status == "pass" else 0
    return CheckResult(
        id=id,
        title=title,
        section=section,
        status=status,  # type: ignore[arg-type]
        points=points,
        max_points=max_points,
        message=message,
        hint=hint,
        evidence=evidence if evidence is not None else {},
    )


def make_result(checks: tuple[CheckResult, ...], **overrides: Any) -> GradeResult:
    fields: dict[str, Any] = {
        "student": "Ada Lovelace",
        "account_id": "123456789012",
        "caller_arn": "arn:aws:iam::123456789012:user/grader",
        "region": "eu-west-1",
        "spec_id": "cognito-03",
        "spec_title": "Module 03: Amazon Cognito",
        "grader_version": "0.1.0",
        "started": "2024-05-01T10:00:00Z",
        "finished": "2024-05-01T10:01:12Z",
        "duration_seconds": 72.4,
        "checks": checks,
        "target": "sandbox",
    }
    fields.update(overrides)
    return GradeResult(**fields)


def images(html: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in tags_of(html) if tag == "img"]


def test_autoescape_is_on_for_the_report_template() -> None:
    """The Jinja2 environment autoescapes the .html.j2 report template."""
    env = get_environment()
    assert callable(env.autoescape)
    assert env.autoescape(TEMPLATE) is True


def test_templates_never_mark_data_safe() -> None:
    """No template uses |safe or switches autoescaping off."""
    for template in TEMPLATES.iterdir():
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", text), template.name
        assert not re.search(r"autoescape\s+false", text, re.IGNORECASE), template.name


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_are_escaped_everywhere(hostile: str) -> None:
    """Student-controlled strings in every field are HTML-escaped, never emitted raw."""
    check = make_check(
        "fail",
        id=f"pool.{hostile}",
        title=f"Pool {hostile}",
        section=f"Section {hostile}",
        message=f"Found pool {hostile}, expected lab-pool.",
        hint=f"Rename {hostile}.",
        evidence={
            "pool_name": hostile,
            hostile: f"value {hostile}",
            "nested": {"name": hostile, "list": [hostile, {"k": hostile}]},
            "flat": {hostile: hostile},
            "tags": [hostile, "ok"],
            "events": [{"userAgent": hostile, hostile: "x"}, {"eventName": hostile}],
            "screenshot": hostile,
        },
    )
    result = make_result(
        (check, make_check("error", id="site.login", hint=hostile, message=hostile)),
        student=f"Student {hostile}",
        account_id=hostile,
        caller_arn=hostile,
        region=hostile,
        spec_title=hostile,
        spec_id=hostile,
        started=hostile,
        finished=hostile,
        grader_version=hostile,
    )
    html = render_html(result)

    assert hostile not in html
    assert str(escape(hostile)) in html
    assert f"Student {escape(hostile)}" in html
    assert f"Found pool {escape(hostile)}, expected lab-pool." in html
    assert f"Rename {escape(hostile)}." in html
    assert f"<dt>{escape(hostile)}</dt>" in html  # evidence key
    found = tags_of(html)
    assert not [t for t, _ in found if t in {"script", "img", "iframe", "object", "embed"}]
    assert not [a for _, attrs in found for a in attrs if a.startswith("on")]


def test_report_loads_nothing_from_outside() -> None:
    """The report has no scripts, stylesheets links, imports or remote src/href attributes."""
    check = make_check(
        "fail",
        evidence={"site_url": "https://evil.example/x.js", "screenshot": PNG, "page": "//cdn.example/a"},
    )
    html = render_html(make_result((check,)))
    found = tags_of(html)

    assert not [t for t, _ in found if t in {"script", "link", "iframe", "object", "embed", "base"}]
    for tag, attrs in found:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if name not in attrs:
                continue
            value = (attrs[name] or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
            if name == "href":
                assert value.startswith("#"), (tag, value)
            if name == "src":
                assert value.startswith("data:image/png;base64,"), (tag, value)
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "@import" not in style
    assert "url(" not in style
    assert '<meta name="viewport"' in html
    assert "@media print" in style


def test_header_shows_identity_and_run_details() -> None:
    """Title, student, account, caller ARN, region, target, version, times and duration are shown."""
    html = render_html(make_result((make_check("pass"),)))
    for text in (
        "<title>Module 03: Amazon Cognito",
        "<h1>Module 03: Amazon Cognito</h1>",
        "Ada Lovelace",
        "123456789012",
        "arn:aws:iam::123456789012:user/grader",
        "eu-west-1",
        "sandbox",
        "0.1.0",
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:01:12Z",
        "1 min 12 s",
    ):
        assert text in html, text


def test_total_score_percentage_and_section_subtotals() -> None:
    """The total score, its percentage and each section's subtotal appear in the report."""
    checks = (
        make_check("pass", id="pool.exists", section="User pool", max_points=2),
        make_check("fail", id="pool.mfa_off", section="User pool", max_points=1),
        make_check("pass", id="client.exists", section="App client", max_points=1.5),
        make_check("fail", id="site.login", section="Website", max_points=3, points=1),
    )
    result = make_result(checks)
    html = render_html(result)

    assert '4.5 <span class="of">/ 7.5 points</span>' in html
    assert "60%" in html
    assert [s.name for s in result.sections] == ["User pool", "App client", "Website"]
    for name, subtotal in (("User pool", "2 / 3"), ("App client", "1.5 / 1.5"), ("Website", "1 / 3")):
        row = re.search(rf">{name}</a></td>\s*<td class=\"num\">([^<]*)</td>", html)
        assert row is not None, name
        assert row.group(1) == subtotal, name
        assert '<h2 id="section-' in html
        assert f">{name}</h2>" in html
    # checks are grouped under their own section heading, in order (below "Fix this first", which leads)
    listed = html.split("<h2>Sections</h2>", 1)[1]
    assert listed.index(">User pool</h2>") < listed.index("pool.mfa_off") < listed.index(">App client</h2>")


def test_counts_and_status_labels() -> None:
    """Each status has its badge label, 'error' reads as the grader's problem, and counts are shown."""
    checks = (
        make_check("pass", id="a.pass"),
        make_check("fail", id="a.fail"),
        make_check("fail", id="a.fail2"),
        make_check("error", id="a.error"),
        make_check("skip", id="a.skip"),
    )
    html = render_html(make_result(checks))

    for status, label in (("pass", "Passed"), ("fail", "Failed"), ("error", "Could not check"), ("skip", "Skipped")):
        badge = re.compile(rf'<span class="badge badge-{status}">.*?</span> {label}</span>')
        assert badge.search(html), status
        count = re.search(rf'badge-{status}">.*?</span> {label}</span> <span><strong>(\d+)</strong>', html)
        assert count is not None
        assert int(count.group(1)) == {"pass": 1, "fail": 2, "error": 1, "skip": 1}[status]
    assert "not a mistake in your lab" in html


def test_hint_shown_only_when_not_passing() -> None:
    """Hints appear for fail, error and skip checks but not for passing ones."""
    checks = tuple(
        make_check(status, id=f"x.{status}", hint=f"HINT-{status}") for status in ("pass", "fail", "error", "skip")
    )
    html = render_html(make_result(checks))
    assert "HINT-pass" not in html
    for status in ("fail", "error", "skip"):
        assert f"HINT-{status}" in html


def test_check_shows_title_id_points_message() -> None:
    """A check card shows its title, id, points out of max points and its message."""
    check = make_check(
        "fail", id="pool.mfa_off", title="MFA is off", max_points=1, message="MFA is ON; the lab expects OFF."
    )
    html = render_html(make_result((check,)))
    assert "<h3>MFA is off</h3>" in html
    assert "<code>pool.mfa_off</code>" in html
    assert "0 / 1 pts" in html
    assert "MFA is ON; the lab expects OFF." in html


def test_valid_png_screenshot_rendered_as_image() -> None:
    """A screenshot that is a base64 PNG data URI becomes an <img> with exactly that src."""
    html = render_html(make_result((make_check("fail", evidence={"screenshot": PNG}),)))
    assert [img.get("src") for img in images(html)] == [PNG]


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        'data:image/png;base64,AAAA" onerror="x',
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/png;base64,",
        "data:image/png;base64,AAAA\n",
        " data:image/png;base64,AAAA",
        "https://evil.example/shot.png",
    ],
)
def test_hostile_screenshot_is_text_not_image(value: str) -> None:
    """A 'screenshot' that is not strictly a base64 PNG data URI is shown as escaped text, not an <img>."""
    html = render_html(make_result((make_check("fail", evidence={"screenshot": value}),)))
    assert images(html) == []
    assert str(escape(value.strip())) in html


def test_screenshot_under_another_key_is_text() -> None:
    """Only the 'screenshot' evidence key is ever turned into an image."""
    html = render_html(make_result((make_check("fail", evidence={"picture": PNG}),)))
    assert images(html) == []
    assert PNG in html


def test_events_rendered_as_table_with_union_of_columns() -> None:
    """Evidence 'events' (a list of dicts) becomes a table whose columns are the union of keys."""
    events = [
        {"eventName": "InitiateAuth", "eventTime": "2024-05-01T10:00:00Z"},
        {"eventName": "SignUp", "userAgent": "Mozilla/5.0", "extra": {"a": 1}},
    ]
    html = render_html(make_result((make_check("pass", evidence={"events": events}),)))
    assert (
        '<thead><tr><th scope="col">eventName</th><th scope="col">eventTime</th>'
        '<th scope="col">userAgent</th><th scope="col">extra</th></tr></thead>'
    ) in html
    assert "<tr><td>InitiateAuth</td><td>2024-05-01T10:00:00Z</td><td></td><td></td></tr>" in html
    assert "<tr><td>SignUp</td><td></td><td>Mozilla/5.0</td><td>{&#34;a&#34;: 1}</td></tr>" in html


def test_evidence_scalars_inline_and_nested_values_as_json() -> None:
    """Scalar evidence is shown inline; nested values are shown as indented JSON in a <pre>."""
    evidence = {"mfa": "ON", "count": 3, "enabled": False, "missing": None, "nested": {"a": [1, {"b": 2}]}}
    html = render_html(make_result((make_check("fail", evidence=evidence),)))
    for text in ("<code>ON</code>", "<code>3</code>", "<code>false</code>", "<code>null</code>"):
        assert text in html
    assert "<pre>{\n  &#34;a&#34;: [\n    1,\n    {\n      &#34;b&#34;: 2\n    }\n  ]\n}</pre>" in html


def test_empty_result_renders() -> None:
    """A result with no checks still renders, without dividing by zero."""
    html = render_html(make_result(()))
    assert '0 <span class="of">/ 0 points</span>' in html
    assert "No checks were run." in html


def test_write_report_writes_a_file(tmp_path: Path) -> None:
    """write_report writes the rendered HTML as UTF-8, creating missing folders."""
    result = make_result((make_check("pass", title="Pool ✓ exists"),))
    path = tmp_path / "reports" / "ada" / "report.html"
    write_report(result, path)
    assert path.read_text(encoding="utf-8") == render_html(result)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_report_replaces_the_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A renderer that fails leaves the old report as it was; a write leaves no temporary file behind."""
    import grader.report

    path = tmp_path / "report.html"
    old = make_result((make_check("pass"),))
    write_report(old, path)
    before = path.read_bytes()

    def broken(result: GradeResult) -> str:
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(grader.report, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_report(make_result((make_check("fail"),)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_advisory_warning_has_its_badge_counter_no_points_and_one_line() -> None:
    """A warned advisory check has its own badge and counter, reads 'advisory, no points', and is one line in its
    section (title and message), not a card and never a thing to fix first."""
    checks = (
        make_check("pass", id="a.pass"),
        make_check("fail", id="a.fail", title="Pool fails", max_points=1),
        CheckResult(
            id="site.hosted_ui_link",
            title="Link works",
            section="Website",
            status="warn",
            points=0,
            max_points=0,
            message="The link would not work.",
            hint="HINT-warn",
            advisory=True,
        ),
    )
    html = render_html(make_result(checks))
    count = re.search(r'badge-warn">.*?</span> Warning</span> <span><strong>(\d+)</strong>', html)
    assert count is not None
    assert count.group(1) == "1"
    line = re.search(r'<p class="advisory-line" id="check-3">(.*?)</p>', html)
    assert line is not None
    assert "advisory, no points" in line.group(1).lower()
    assert '<strong class="advisory-title">Link works</strong>' in line.group(1)
    assert "The link would not work." in line.group(1)
    assert 'id="check-3"' not in html.replace(line.group(0), "")  # no card of its own besides the line
    assert "HINT-warn" not in html
    fix_first = html.split('id="fix-first-title"', 1)[1].split("</section>", 1)[0]
    assert "Pool fails" in fix_first
    assert "Link works" not in fix_first
    assert '2 <span class="of">/ 3 points</span>' in html  # the advisory check adds nothing to the total

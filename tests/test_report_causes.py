"""The HTML report leads with "Fix this first": one card per root cause, with the checks it explains under it.

The grades are the root-cause scenarios' (tests/test_root_causes.py: each scenario's expected statuses, explained
as the pipeline explains them), with a message per check and the spec's hints. The pages are read with
html.parser into a small tree, so the tests look at elements and their text, never at whitespace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

import pytest

from grader.causes import explains
from grader.report import render_html
from grader.results import CheckResult, GradeResult
from grader.spec import load_spec
from tests.test_root_causes import SCENARIOS

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</details><details open>")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """The element's text, with runs of white space made one space."""
        return " ".join("".join(c if isinstance(c, str) else c.text for c in self.children).split())

    def walk(self) -> Iterator[Element]:
        """This element and everything under it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def find_all(self, match: Callable[[Element], bool]) -> list[Element]:
        return [e for e in self.walk() if match(e)]

    def within(self, match: Callable[[Element], bool]) -> bool:
        """Some element holding this one matches."""
        node = self.parent
        while node is not None:
            if match(node):
                return True
            node = node.parent
        return False


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, {k: v or "" for k, v in attrs}, parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Element:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def has_class(name: str) -> Callable[[Element], bool]:
    return lambda e: name in e.classes


def by_id(page: Element) -> dict[str, Element]:
    return {e.attrs["id"]: e for e in page.walk() if "id" in e.attrs}


def check_id_of(element: Element) -> str:
    """The check id an element names in its "Check <code>id</code>" line."""
    (line,) = element.find_all(has_class("check-id"))
    return line.text.removeprefix("Check ")


def root_cards(page: Element) -> list[Element]:
    return page.find_all(has_class("root-cause"))


def with_text(result: GradeResult) -> GradeResult:
    """`result` with a message on each check (naming it) and the spec's hint, as a real grade has."""
    hints = {cid: meta.hint for cid, meta in load_spec().checks.items()}
    return replace(
        result,
        checks=tuple(
            replace(c, message=f"MESSAGE of {c.id}.", hint=hints.get(c.id, "") if c.status != "pass" else "")
            for c in result.checks
        ),
    )


def graded(name: str) -> GradeResult:
    return with_text(SCENARIOS[name])


def check(result: GradeResult, check_id: str) -> CheckResult:
    return next(c for c in result.checks if c.id == check_id)


def test_janedoe_not_confirmed_leads_with_one_root_card_after_the_score() -> None:
    result = graded("janedoe-not-confirmed")
    root = check(result, "user.janedoe_confirmed")
    assert root.step
    assert root.hint
    page = parse(render_html(result))

    cards = page.find_all(has_class("card"))
    assert "report-header" in cards[0].classes
    assert cards[0].find_all(has_class("score"))
    assert "root-cause" in cards[1].classes, "the first card after the score is a root cause"
    assert cards[1].within(has_class("fix-first"))
    headings = page.find_all(lambda e: e.tag == "h2")
    assert headings[0].text == "Fix this first"
    assert headings[0].within(has_class("fix-first"))

    (card,) = root_cards(page)
    assert check_id_of(card) == "user.janedoe_confirmed"
    assert card.find_all(lambda e: e.tag == "h3")[0].text == root.title
    (message,) = card.find_all(has_class("message"))
    assert message.text == "MESSAGE of user.janedoe_confirmed."
    (step,) = card.find_all(has_class("step"))
    assert step.text == f"Lab step to redo: {root.step}"
    (hint,) = card.find_all(has_class("hint-text"))
    assert hint.text == " ".join(root.hint.split())

    (folded,) = card.find_all(lambda e: e.tag == "details")
    summary = folded.find_all(lambda e: e.tag == "summary")[0]
    assert summary.text == "This also explains: 4 other checks"
    listed = [e.text for e in folded.find_all(lambda e: e.tag == "code")]
    assert listed == [c.id for c in explains(result, root.id)]
    assert set(listed) == {
        "hostedui.implicit_callback",
        "site.login",
        "site.wrong_password_rejected",
        "cloudtrail.auth_events",
    }
    # Each one links to its full card in the list below.
    ids = by_id(page)
    for link in folded.find_all(lambda e: e.tag == "a"):
        target = ids[link.attrs["href"].removeprefix("#")]
        assert target.tag == "article"
        assert not target.within(has_class("fix-first"))
        assert check_id_of(target) in listed


def test_the_full_list_marks_what_follows_from_a_root_and_links_to_its_card() -> None:
    result = graded("janedoe-not-confirmed")
    page = parse(render_html(result))
    ids = by_id(page)
    (root_card,) = root_cards(page)
    title = check(result, "user.janedoe_confirmed").title

    listed = {
        check_id_of(e): e for e in page.find_all(lambda e: e.tag == "article" and not e.within(has_class("fix-first")))
    }
    assert set(listed) == {c.id for c in result.checks if not (c.advisory and c.status == "warn")}
    explained = {c.id for c in explains(result, "user.janedoe_confirmed")}
    for cid, card in listed.items():
        follows = card.find_all(has_class("follows-from"))
        if cid not in explained:
            assert follows == [], cid
            continue
        (line,) = follows
        assert line.text.startswith(f"Follows from {title}")
        (link,) = line.find_all(lambda e: e.tag == "a")
        assert link.text == title
        assert ids[link.attrs["href"].removeprefix("#")] is root_card
    # The root's own card in the list points back up to its card under "Fix this first".
    (back,) = listed["user.janedoe_confirmed"].find_all(has_class("root-note"))
    assert ids[back.find_all(lambda e: e.tag == "a")[0].attrs["href"].removeprefix("#")] is root_card


def test_two_mistakes_apart_are_two_root_cards_in_the_lab_order() -> None:
    result = graded("unconfirmed-and-no-trail")
    page = parse(render_html(result))
    cards = root_cards(page)
    assert [check_id_of(c) for c in cards] == ["user.janedoe_confirmed", "cloudtrail.trail"]
    trail = cards[1]
    assert [e.text for e in trail.find_all(lambda e: e.tag == "details")[0].find_all(lambda e: e.tag == "code")] == [
        "cloudtrail.logging"
    ]
    (step,) = trail.find_all(has_class("step"))
    assert step.text == f"Lab step to redo: {check(result, 'cloudtrail.trail').step}"
    # cloudtrail.auth_events follows from the unconfirmed user (through site.login), not from the trail.
    auth = next(
        e
        for e in page.find_all(lambda e: e.tag == "article" and "root-cause" not in e.classes)
        if check_id_of(e) == "cloudtrail.auth_events"
    )
    (link,) = auth.find_all(has_class("follows-from"))[0].find_all(lambda e: e.tag == "a")
    assert link.attrs["href"] == f"#{cards[0].attrs['id']}"


def test_the_finished_lab_has_nothing_to_fix_first() -> None:
    result = graded("finished")
    assert result.fix_first == ()
    page = parse(render_html(result))
    assert root_cards(page) == []
    assert page.find_all(has_class("fix-first")) == []
    assert page.find_all(has_class("fix-none")) == []
    assert "Fix this first" not in [e.text for e in page.find_all(lambda e: e.tag == "h2")]
    assert page.find_all(has_class("follows-from")) == []


def test_failures_that_follow_from_the_graders_own_error_are_no_root_and_point_to_it() -> None:
    """site-hanging: the website could not be checked; what builds on it links to that check's card."""
    result = graded("site-hanging")
    page = parse(render_html(result))
    assert root_cards(page) == []
    (line,) = page.find_all(has_class("fix-none"))
    assert line.text.startswith("Nothing to fix first")
    ids = by_id(page)
    auth = next(e for e in page.find_all(lambda e: e.tag == "article") if check_id_of(e) == "cloudtrail.auth_events")
    (link,) = auth.find_all(has_class("follows-from"))[0].find_all(lambda e: e.tag == "a")
    assert link.text == check(result, "site.reachable").title
    assert check_id_of(ids[link.attrs["href"].removeprefix("#")]) == "site.reachable"


@pytest.mark.parametrize("name", ["finished", "janedoe-not-confirmed"])
def test_an_advisory_warning_is_one_line_in_its_section_and_never_a_root(name: str) -> None:
    result = graded(name)
    warned = [c for c in result.checks if c.advisory and c.status == "warn"]
    assert [c.id for c in warned] == ["site.hosted_ui_link"]
    advisory = warned[0]
    page = parse(render_html(result))

    (line,) = page.find_all(has_class("advisory-line"))
    assert line.tag == "p"
    assert not line.within(lambda e: e.tag == "article" or "card" in e.classes)
    assert line.text == f"Advisory, no points {advisory.title}: MESSAGE of site.hosted_ui_link."
    assert line.within(lambda e: e.tag == "section" and "fix-first" not in e.classes)
    assert advisory.hint not in line.text
    assert all(advisory.id not in card.text and advisory.title not in card.text for card in root_cards(page))
    assert [e for e in page.find_all(lambda e: e.tag == "article") if check_id_of(e) == advisory.id] == []


def test_every_link_in_the_report_stays_on_the_page() -> None:
    for name in ("janedoe-not-confirmed", "unconfirmed-and-no-trail", "site-hanging", "nothing-done"):
        page = parse(render_html(graded(name)))
        ids = by_id(page)
        assert page.find_all(lambda e: e.tag in {"script", "link", "iframe", "object", "embed"}) == []
        for link in page.find_all(lambda e: "href" in e.attrs):
            assert link.attrs["href"].removeprefix("#") in ids, (name, link.attrs["href"])


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_escaped_in_the_fix_first_card(hostile: str) -> None:
    root = CheckResult(
        id=f"user.{hostile}",
        title=f"User {hostile}",
        section="User",
        status="fail",
        points=0,
        max_points=2,
        message=f"Found {hostile} instead.",
        hint=f"Rename {hostile}.",
        step=f"Step {hostile}",
    )
    follower = CheckResult(
        id=f"site.{hostile}",
        title=f"Login {hostile}",
        section="Website",
        status="skip",
        points=0,
        max_points=1,
        message=f"Skipped {hostile}.",
        explained_by=(root.id,),
    )
    result = replace(SCENARIOS["finished"], checks=(root, follower))
    html = render_html(result)
    assert hostile not in html
    page = parse(html)

    (card,) = root_cards(page)
    assert check_id_of(card) == root.id
    assert card.find_all(has_class("message"))[0].text == f"Found {hostile} instead."
    assert card.find_all(has_class("step"))[0].text == f"Lab step to redo: Step {hostile}"
    assert card.find_all(has_class("hint-text"))[0].text == f"Rename {hostile}."
    (folded,) = card.find_all(lambda e: e.tag == "details")
    assert [e.text for e in folded.find_all(lambda e: e.tag == "a")] == [f"Login {hostile}"]
    (line,) = page.find_all(has_class("follows-from"))
    assert line.find_all(lambda e: e.tag == "a")[0].text == f"User {hostile}"
    found = list(page.walk())
    assert [e.tag for e in found if e.tag in {"script", "img"}] == []
    assert len([e for e in found if e.tag == "details"]) == 1
    assert [name for e in found for name in e.attrs if name.startswith("on")] == []

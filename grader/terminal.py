"""What the command line prints: a grade as the terminal shows it, and the grader's own sentences.

Every string the grader did not write itself goes through `safe` (for Rich markup) or, in a grade's summary,
`plain` into a `Text` that is never read as markup: Rich markup in it is shown as text, and control
characters and terminal escape sequences are removed.

A grade's summary (`show`) is laid out here, word by word, to the console's width: prose wraps between
words; a URL or path is never cut (one longer than a line stands on a line of its own); any other word too
long for a line (an id, a name) is shortened in the middle, with "…".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from grader.causes import explains, roots_of
from grader.results import CheckResult, GradeResult, Status
from grader.text import plain

console = Console(highlight=False, emoji=False)
errors = Console(stderr=True, highlight=False, emoji=False)

STATUS_STYLE = {
    "pass": ("PASS", "green"),
    "warn": ("WARN", "dark_orange"),
    "fail": ("FAIL", "red"),
    "error": ("ERROR", "yellow"),
    "skip": ("SKIP", "dim"),
}
LABEL = 6
"""The columns of a status label and the space after it ("FAIL  ", "ERROR ")."""
HINT = "→ "
LISTED = 6
"""A root cause names the checks it explains up to this many; past that, it counts them."""
ALIGNED = 30
"""The other checks' lines set what they say in a column if it is this wide at least."""
NARROWEST = 20
"""The width laid out when the console says it is narrower (a line may then be longer than the console)."""


def safe(text: object, *, newlines: bool = True) -> str:
    """`text` fit to put in Rich markup: printed as it reads, never as markup or terminal control."""
    return escape(plain(text, newlines=newlines))


def exit_code(result: GradeResult) -> int:
    if result.count("error"):
        return 2
    if result.incomplete:
        return 1
    return 0


def stop(message: str) -> typer.Exit:
    errors.print(f"[bold red]grader:[/] {safe(message)}")
    return typer.Exit(2)


def show(result: GradeResult, out: Path | None, *, named: bool, verbose: bool = False, table: bool = False) -> None:
    """The grade: the score, what to fix first, the other checks that did not pass, and where the report is.

    `named`: the student's name was given (--student, a scenario), so it alone names the report's folder.
    `verbose`: list every check, the passed ones too, by section. `table`: the grade as a table of every check
    with the section scores (the former form).
    """
    report = None
    if out is not None:
        from grader.outputs import report_dir

        report = report_dir(result, out, named=named) / "report.html"
    if table:
        _show_table(result, report)
        return
    width = max(console.width, NARROWEST)
    for line in summary(result, report, width=width, verbose=verbose):
        console.print(line, soft_wrap=True)


# --- Laying out words --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """A word to lay out: never broken; `whole` (a URL, a path) is never shortened either; `gap` spaces before it."""

    text: str
    style: str = ""
    whole: bool = False
    gap: int = 1


_ADDRESS = re.compile(r"[^\w/~.\\]*(?:[A-Za-z][\w+.-]*://|/|~/|\.\.?/|[A-Za-z]:[\\/]|\\\\)")
"""The start of a URL or a path (after an opening bracket or quote)."""
_HOST = re.compile(r"\W*(?:[\w.+-]+@)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+){2,}\W*")
"""A host name (or an email address) with at least three labels, as in a sentence."""


def is_address(word: str) -> bool:
    """`word` is a URL, a path or a host name: it is copied, so it is never shortened."""
    return "://" in word or bool(_ADDRESS.match(word) or _HOST.fullmatch(word))


def words(text: object, style: str = "") -> list[Word]:
    """The words of one line of student or grader prose (made plain: no escape sequence, no control character)."""
    return [Word(w, style, is_address(w)) for w in plain(text, newlines=False).split()]


def shorten(word: str, room: int) -> str:
    """`word` in at most `room` cells: its start and end around "…" when it is longer."""
    if cell_len(word) <= room:
        return word
    if room <= 1:
        return "…" if room == 1 else ""
    tail_room = (room - 1) // 2
    head = _fitting(word, room - 1 - tail_room)
    tail = _fitting(word[::-1], tail_room)[::-1]
    return f"{head}…{tail}"


def _fitting(text: str, room: int) -> str:
    """The longest start of `text` in at most `room` cells."""
    used = 0
    for i, char in enumerate(text):
        used += cell_len(char)
        if used > room:
            return text[:i]
    return text


Line = tuple[int, list[Word]]
"""A laid-out line: the column it starts at, and its words."""


def flow(items: Sequence[Word], width: int, *, first: int, indent: int) -> list[Line]:
    """`items` in lines of at most `width` cells: the first line starts at column `first` (after some prefix),
    the others at `indent`; a URL or path longer than that stands alone from column 0 (longer than `width` if it
    must); any other word too long is shortened in the middle. The first line is always there (maybe empty)."""
    lines: list[Line] = []
    column, line = first, list[Word]()

    def size(of: list[Word]) -> int:
        return sum(cell_len(w.text) + (w.gap if i else 0) for i, w in enumerate(of))

    def end_line() -> None:
        nonlocal column, line
        lines.append((column, line))
        column, line = indent, []

    for word in items:
        length = cell_len(word.text)
        if column + size([*line, word]) <= width:
            line.append(word)
            continue
        if line or (not lines and first > indent):  # try the next line
            end_line()
            if column + length <= width:
                line.append(word)
                continue
        if word.whole:  # a URL or a path: never cut, on a line of its own
            if line or not lines:
                end_line()
            lines.append((0, [Word(word.text, word.style, True, 0)]))
            continue
        line.append(Word(shorten(word.text, max(width - column, 1)), word.style, False, word.gap))
    if line or not lines:
        end_line()
    return lines


def paragraph(
    prefix: Sequence[Word], body: Iterable[Word] | str, width: int, *, indent: int = LABEL, style: str = ""
) -> list[Text]:
    """`prefix` (kept on the first line as it is), then `body` laid out after it (its first word `gap` spaces
    after the prefix), each line as a Text. A string `body` is prose: its own lines (newlines) stay lines, each
    wrapped between words."""
    start = Text()
    for word in prefix:
        start.append(" " * word.gap + word.text if start.plain else word.text, word.style)
    chunks = [words(part, style) for part in plain(body).split("\n")] if isinstance(body, str) else [list(body)]
    texts: list[Text] = []
    for n, chunk in enumerate(chunks):
        first = cell_len(start.plain) + (chunk[0].gap if chunk and start.plain else 0) if n == 0 else indent
        for i, (column, line) in enumerate(flow(chunk, width, first=first, indent=indent)):
            text = start.copy() if n == 0 and i == 0 else Text()
            for j, word in enumerate(line):
                text.append(" " * (column - cell_len(text.plain) if j == 0 else word.gap))
                text.append(word.text, word.style)
            text.rstrip()
            texts.append(text)
    return texts


# --- The summary -------------------------------------------------------------------------------------------------


def summary(result: GradeResult, report: Path | None, *, width: int, verbose: bool = False) -> list[Text]:
    """The grade's lines, `width` cells wide at most (but for a URL or path longer than that, alone on its line)."""
    lines = score_line(result, width)
    roots = result.fix_first
    if roots:
        lines.append(Text())
        lines += paragraph([], words("Fix first (the failures nothing else explains):", "bold"), width, indent=0)
        for check in roots:
            lines += root_cause(result, check, width)
    if verbose:
        lines += every_check(result, width)
    else:
        others = [c for c in result.checks if c.status in ("fail", "error", "warn", "skip") and c not in roots]
        if others:
            lines.append(Text())
            heading = "Also not passing:" if roots else "Not passing:"
            lines += paragraph([], words(heading, "bold"), width, indent=0)
            lines += other_checks(result, others, width)
        passed = result.count("pass")
        if passed:
            lines += paragraph(
                [], words(f"{_counted(passed, 'check')} passed (--verbose lists every check)."), width, indent=0
            )
    if report is not None:
        lines += paragraph([Word("Report:")], [Word(str(plain(report, newlines=False)), whole=True)], width, indent=0)
    return lines


def _counted(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def score_line(result: GradeResult, width: int) -> list[Text]:
    counts = [f"{result.count('pass')} passed"]
    said: tuple[tuple[Status, str], ...] = (
        ("warn", "warned"),
        ("fail", "failed"),
        ("error", "could not be checked"),
        ("skip", "skipped"),
    )
    counts += [f"{result.count(status)} {what}" for status, what in said if result.count(status)]
    return paragraph(
        [Word("Score", "bold"), Word(f"{result.score:g}/{result.max_score:g}", "bold")],
        [
            Word("for"),
            *words(result.student),
            *(
                Word(f"{'(' if n == 0 else ''}{said}{',' if n < len(counts) - 1 else ')'}")
                for n, said in enumerate(counts)
            ),
            Word("in"),
            Word(f"{result.duration_seconds:.1f} s"),
        ],
        width,
        indent=0,
    )


def _at(column: int) -> list[Word]:
    """A prefix of spaces for a paragraph whose text starts at `column`."""
    return [Word(" " * (column - 1))]


def _label(check: CheckResult) -> Word:
    label, style = STATUS_STYLE[check.status]
    return Word(f"{label:{LABEL - 1}}", style)


def _id(check_id: str, width: int = 0, style: str = "bold") -> Word:
    """A check id, shortened in the middle if it must fit `width` cells."""
    text = plain(check_id, newlines=False)
    return Word(shorten(text, width) if width else text, style)


def _points(check: CheckResult) -> str:
    return "advisory" if check.advisory else f"{check.points:g}/{check.max_points:g}"


def _hint(check: CheckResult, width: int) -> list[Text]:
    if not check.hint or check.status == "pass":
        return []
    lines: list[Text] = []
    for n, part in enumerate(plain(check.hint).split("\n")):
        prefix = [*_at(LABEL), Word(HINT.strip(), "cyan")] if n == 0 else _at(LABEL + len(HINT))
        lines += paragraph(prefix, words(part), width, indent=LABEL + len(HINT))
    return lines


def root_cause(result: GradeResult, check: CheckResult, width: int) -> list[Text]:
    """A failure nothing explains: its status, id, points and lab step; what was found; the hint; what it explains."""
    head = [_id(check.id, width - LABEL), Word(_points(check), gap=2)]
    step = [Word("·"), Word("lab step:", "dim"), *words(check.step)] if check.step else []
    lines = paragraph([_label(check)], [*head, *step], width)
    if step and len(lines) > 1:  # the step on a line of its own rather than broken after the id
        lines = paragraph([_label(check)], head, width)
        lines += paragraph(_at(LABEL), [Word("Lab step:", "dim"), *words(check.step)], width)
    if plain(check.message).strip():
        lines += paragraph(_at(LABEL), check.message, width)
    lines += _hint(check, width)
    followers = [c.id for c in explains(result, check.id)]
    if len(followers) > LISTED:  # each says "follows from" it below
        lines += paragraph(
            _at(LABEL),
            f"Also explains {len(followers)} checks, each marked below as following from it.",
            width,
        )
    elif followers:
        lines += paragraph(
            [*_at(LABEL), *words(f"Also explains {_counted(len(followers), 'check')}:")],
            _listed(followers, width),
            width,
        )
    return lines


def _listed(ids: Sequence[str], width: int) -> list[Word]:
    """Check ids as words, "a, b, c", each shortened in the middle if it is longer than a line."""
    return [Word(_id(i, width - LABEL - 1, "").text + ("," if n < len(ids) - 1 else "")) for n, i in enumerate(ids)]


def _spaced(items: list[Word], gap: int = 2) -> list[Word]:
    """`items`, the first `gap` spaces after what comes before it (a column's two spaces)."""
    return [replace(items[0], gap=gap), *items[1:]] if items else items


def _after(result: GradeResult, check: CheckResult, width: int) -> list[Word]:
    """What a check that did not pass says in one line: what explains it, that it could not be checked, or what it
    is about (its title)."""
    if check.explained_by:
        return [Word("follows from", "dim"), *_listed(roots_of(result, check.id), width)]
    if check.status == "error":
        return [Word("could not be checked", "dim")]
    return [Word("not met:", "dim"), *words(check.title), *([Word("(advisory)", "dim")] if check.advisory else [])]


def other_checks(result: GradeResult, checks: Sequence[CheckResult], width: int) -> list[Text]:
    """One line each (longer only if it must wrap): status, id, and what explains it or what it is about; a check
    that could not be checked (the grader's trouble, that nothing else explains) adds what happened and the hint."""
    id_width = min(max(cell_len(plain(c.id, newlines=False)) for c in checks), max(width - LABEL - 2 - 16, 8))
    aligned = width - (LABEL + id_width + 2) >= ALIGNED  # else too narrow to set what it says in a column
    lines: list[Text] = []
    for check in checks:
        name = _id(check.id, id_width)
        if aligned:
            name = Word(name.text + " " * (id_width - cell_len(name.text)), name.style)
        indent = LABEL + id_width + 2 if aligned else LABEL
        lines += paragraph([_label(check), name], _spaced(_after(result, check, width)), width, indent=indent)
        if check.status == "error":
            if plain(check.message).strip():
                lines += paragraph(_at(LABEL), check.message, width)
            lines += _hint(check, width)
    return lines


def every_check(result: GradeResult, width: int) -> list[Text]:
    """Every check by section (--verbose): status, id, points, what was found and, if it did not pass, the hint."""
    roots = {c.id for c in result.fix_first}
    lines: list[Text] = []
    for section in result.sections:
        lines.append(Text())
        lines += paragraph(
            [],
            [*words(section.name, "bold"), Word(f"{section.score:g}/{section.max_score:g}", "bold", gap=2)],
            width,
            indent=0,
        )
        for check in (c for c in result.checks if c.section == section.name):
            head = [_id(check.id, width - LABEL), Word(_points(check), gap=2)]
            if check.id in roots:
                lines += paragraph([_label(check)], [*head, Word("fix first (above)", "dim", gap=2)], width)
                continue
            found, *more = plain(check.message).split("\n")
            lines += paragraph([_label(check)], [*head, *_spaced(words(found))], width)
            if more:
                lines += paragraph(_at(LABEL), "\n".join(more), width)
            if check.explained_by:
                lines += paragraph(_at(LABEL), _after(result, check, width), width)
            lines += _hint(check, width)
    return lines


# --- The table (--table) -----------------------------------------------------------------------------------------


def _show_table(result: GradeResult, report: Path | None) -> None:
    """The grade as a table of every check, the section scores, the total, and where the report is."""
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
    table.add_column("", width=5, no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("what the grader found", ratio=1, overflow="fold")
    for check in result.checks:
        label, style = STATUS_STYLE[check.status]
        text = safe(check.message)
        if check.hint and check.status != "pass":
            text += f"\n[dim]→ {safe(check.hint)}[/]"
        table.add_row(f"[{style}]{label}[/]", safe(check.id, newlines=False), _points(check), text)
    console.print(table, markup=True)
    for section in result.sections:
        console.print(f"  {safe(section.name, newlines=False)}: {section.score:g}/{section.max_score:g}")
    console.print(
        f"[bold]Score {result.score:g}/{result.max_score:g}[/] for {safe(result.student, newlines=False)} "
        f"({result.count('pass')} passed, {result.count('warn')} warned, {result.count('fail')} failed, "
        f"{result.count('error')} could not be checked, {result.count('skip')} skipped) "
        f"in {result.duration_seconds:.1f} s"
    )
    if report is not None:
        console.print(f"Report: {safe(report, newlines=False)}")

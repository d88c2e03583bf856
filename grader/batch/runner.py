"""Grading a class: preflight every row's credentials, then grade the ready students concurrently.

Preflight connects to every row's account at once (sts:GetCallerIdentity, through the read-only
access of grader/aws.py) and sorts the rows: ready, or ungradable with the reason and what the
student must do (expired, invalid or missing credentials, a role that cannot be assumed, or the
same AWS account as another row). An ungradable student is never a zero.

Grading observes `workers` accounts at a time, each in a thread of its own under its own deadline
(grader/observe/); `lanes` browsers serve them (grader/browser/lanes.py), each one account's
flows at a time in its own thread, so a hostile website holds up only its own lane. Each
account's evidence is judged by the checks as soon as it is there, in the calling thread (pytest
runs one session at a time), and its report written at once, so whatever stops the batch
(Ctrl-C) leaves every finished student's files in place.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.batch.model import RosterRow, StudentOutcome
from grader.batch.outputs import file_sha256
from grader.batch.stopping import StopRequests
from grader.errors import GraderError
from grader.observe import DEFAULT_DEADLINE_S
from grader.observe.evidence import Evidence
from grader.observe.observer import Connection, connect
from grader.pipeline import finished, judge, observe
from grader.registry import needs_of
from grader.spec import LabSpec
from grader.target import Target

# What stops the grader at a student's credentials, said with what the student must do.
STUDENT_REMEDY = {
    "expired": (
        "The credentials have expired: the student must start the lab, copy fresh AWS Details and send them again."
    ),
    "bad-credentials": (
        "AWS does not know these credentials: the student must copy the whole [default] block of the lab's "
        "AWS Details again and send it."
    ),
}
SEND_AGAIN = "The student must send the [default] block of the lab's AWS Details again, as a text file."
SHARED_ACCOUNT = (
    "The same AWS account as {others}: two students cannot be graded in one account. "
    "Each student must send the AWS Details of their own lab."
)


STOPPING_PATIENCE_S = 0.5
"""How long a stopped batch waits for its browser to close before leaving it to end on its own."""


@dataclass(frozen=True)
class BatchOptions:
    """How a class is graded: where, with which spec, how many at a time, and each one's deadline."""

    out: Path
    spec: LabSpec
    region: str = "us-east-1"
    endpoint_url: str | None = None
    browser_path: str | None = None
    workers: int = 4
    lanes: int | None = None
    """Browsers (lanes) for the students' flows; None: one per core, fewer where memory is short."""
    deadline_s: float = DEFAULT_DEADLINE_S
    allow_local_sites: bool = False
    """Whether the roster's site_url may name the grading machine's own network (the instructor's choice)."""


@dataclass(frozen=True)
class Preflight:
    """The rows whose accounts the grader reached (their connections), and the rest as outcomes."""

    ready: dict[str, Connection]
    ungradable: dict[str, StudentOutcome]


def target_of(row: RosterRow, options: BatchOptions) -> Target:
    """The Target of one roster row: its way in, its site and region, its id as the student's name."""
    return Target(
        region=row.region or options.region,
        profile=row.profile,
        credentials_file=row.credentials_file,
        endpoint_url=options.endpoint_url,
        site_url=row.site_url,
        site_url_trusted=options.allow_local_sites,
        student=row.student_id,
        browser_path=options.browser_path,
        role_arn=row.role_arn,
        external_id=row.external_id,
    )


def ungradable(row: RosterRow, error: GraderError) -> StudentOutcome:
    """The outcome of a row whose account the grader could not reach: why, and what to do."""
    said = STUDENT_REMEDY.get(error.kind) or error.message
    if error.kind == "no-credentials" and row.credentials_file is not None:
        said = f"{error.message} {SEND_AGAIN}"
    way_in = row.way_in
    if row.credentials_file is not None:
        # The reason goes into files students may see: it names their file, not the instructor's folders.
        path, name = str(row.credentials_file), row.credentials_file.name
        if path in said:
            return StudentOutcome(row=row, status="ungradable", reason=said.replace(path, name))
        way_in = f"credentials file {name}"
    return StudentOutcome(row=row, status="ungradable", reason=f"{way_in}: {said}")


def preflight(
    rows: Sequence[RosterRow], options: BatchOptions, *, on_row: Callable[[RosterRow, str], None] | None = None
) -> Preflight:
    """Connect to every row's account at once; `on_row(row, "ready" | reason)` as each is known."""
    ready: dict[str, Connection] = {}
    left_out: dict[str, StudentOutcome] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(rows))), thread_name_prefix="preflight")
    try:
        futures = {pool.submit(connect, target_of(row, options), options.spec, None): row for row in rows}
        for future in futures:
            row = futures[future]
            try:
                ready[row.student_id] = future.result()
            except GraderError as exc:
                left_out[row.student_id] = ungradable(row, exc)
    finally:  # a stop (Ctrl-C) waits for no other account's answer
        pool.shutdown(wait=False, cancel_futures=True)
    _set_aside_shared_accounts(rows, ready, left_out)
    if on_row is not None:  # once the shared accounts are known: a row said ready stays ready
        for row in rows:
            on_row(row, "ready" if row.student_id in ready else left_out[row.student_id].reason)
    return Preflight(ready=ready, ungradable=left_out)


def _set_aside_shared_accounts(
    rows: Sequence[RosterRow], ready: dict[str, Connection], left_out: dict[str, StudentOutcome]
) -> None:
    """Move every ready row whose AWS account another ready row shares from `ready` to `left_out`."""
    by_account: dict[str, list[str]] = {}
    for student_id, connection in ready.items():
        by_account.setdefault(connection.identity.account_id, []).append(student_id)
    rows_by_id = {row.student_id: row for row in rows}
    for account, students in by_account.items():
        if len(students) < 2:
            continue
        for student_id in students:
            others = ", ".join(s for s in students if s != student_id)
            reason = SHARED_ACCOUNT.format(others=others) + f" (account {account})"
            left_out[student_id] = StudentOutcome(row=rows_by_id[student_id], status="ungradable", reason=reason)
            del ready[student_id]


def write_student(outcome: StudentOutcome, out: Path, evidence: Evidence | None = None) -> StudentOutcome:
    """Write a graded student's files under out/<student_id>/ (grader/outputs.py); the outcome with its checksum."""
    from grader.pipeline import write_outputs

    if outcome.result is None:
        return outcome
    folder = write_outputs(outcome.result, out, named=True, evidence=evidence, keep_other_accounts=False)
    return replace(outcome, results_sha256=file_sha256(folder / "results.json"))


def roster_fields(row: RosterRow) -> dict[str, str]:
    """The roster's fields kept in a student's results.json."""
    return {"student_id": row.student_id, "name": row.name, "email": row.email, "section": row.section}


def grade_class(
    ready: dict[str, Connection],
    rows: Sequence[RosterRow],
    options: BatchOptions,
    *,
    on_done: Callable[[StudentOutcome], None] | None = None,
    browser: Any = None,
    stops: StopRequests | None = None,
) -> list[StudentOutcome]:
    """Grade every ready student, `options.workers` at a time; each outcome written and passed to `on_done`.

    The connections are taken out of `ready` as they are graded.

    `browser`: a BrowserSession or BrowserLanes to lend every observer (else `options.lanes`
    lanes are launched and closed here).
    A KeyboardInterrupt stops the batch: what finished is written and passed on, the rest is not
    started, and the interrupt goes on to the caller. With `stops`, a stop that comes while a
    student is judged and written waits until their files are written.
    """
    from grader.browser.discovery import find_browser
    from grader.browser.lanes import BrowserLanes, choose_lanes
    from grader.browser.session import BrowserSession

    needs = needs_of(options.spec.checks)
    rows_by_id = {row.student_id: row for row in rows}
    own_browser = None
    if browser is None:
        with contextlib.suppress(GraderError):  # no browser: said by the browser checks of each student
            choice = find_browser(options.browser_path)
            own_browser = browser = BrowserLanes(
                min(choose_lanes(options.lanes).count, max(1, len(ready))),
                lambda: BrowserSession(choice, None, options.region, own_thread=True),
            )
            own_browser.start()
    done: list[StudentOutcome] = []
    stopping = False

    def observed(connection: Connection) -> Evidence:
        return observe(connection, needs, browser=browser, deadline_s=options.deadline_s)

    pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="student")
    try:
        pending: dict[Future[Evidence], Connection] = {}
        for student_id in list(ready):  # taken out: each connection (its AWS clients) is freed once written
            connection = ready.pop(student_id)
            pending[pool.submit(observed, connection)] = connection
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                connection = pending.pop(future)
                row = rows_by_id[connection.target.student or ""]
                with stops.shielded() if stops is not None else contextlib.nullcontext():
                    outcome = _outcome(row, connection, future, options.out)
                    done.append(outcome)
                    if on_done is not None:
                        on_done(outcome)
    except BaseException:
        stopping = True
        if own_browser is not None:  # stopped: the flows in the browser end now, not at their deadline
            # Playwright's calls cut short by the kill are never awaited: that is the point, not news.
            warnings.filterwarnings("ignore", r"coroutine '.*' was never awaited", RuntimeWarning)
            own_browser.kill()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if own_browser is not None:
            own_browser.close(patience_s=STOPPING_PATIENCE_S if stopping else None)
    return done


def _outcome(row: RosterRow, connection: Connection, observed: Future[Evidence], out: Path) -> StudentOutcome:
    """Judge one observed student and write their files; a failure of the grader is their ungradable outcome."""
    try:
        evidence = observed.result()
        result = finished(judge(connection.spec, evidence), evidence)
        result = replace(result, roster=roster_fields(row))
        outcome = StudentOutcome(row=row, status="graded", result=result, duration_seconds=result.duration_seconds)
        return write_student(outcome, out, evidence)
    except GraderError as exc:
        reason = f"The grader could not grade this account: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - one student's bug must not stop the class
        reason = (
            f"The grader failed on this account ({type(exc).__name__}). This is a bug in the grader, not a "
            "finding about the lab: grade this student alone with `grader check` to see it, and please report it."
        )
    return StudentOutcome(row=row, status="ungradable", reason=reason)

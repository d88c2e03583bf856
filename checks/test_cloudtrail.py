"""CloudTrail: the lab's trail, logging to its bucket, and the website's sign-ins recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from grader.checking import Check, listing
from grader.errors import GraderError
from grader.observe.evidence import TrailsFound
from grader.registry import lab_check
from grader.snapshot import AppClient, Snapshot
from grader.spec import LabSpec
from grader.trail import AuthEvents, Trail, TrailStatus, successful_sign_ins, with_clients

MAX_ROWS = 25


@lab_check("cloudtrail.trail", needs=("trails", "trail_bucket"))
def test_trail(trails: TrailsFound, trail_bucket: bool | None, spec: LabSpec, lab_region: str, check: Check) -> None:
    """Passes when a trail with the spec's name covers this region and its S3 bucket exists."""
    name = spec.expected.trail_name
    check.record(trail_name=name, other_trails=list(trails.others))
    if not trails.lab:
        named = f" (the account has {listing(trails.others)})" if trails.others else ""
        check.fail(f"There is no trail named {name} for {lab_region}{named}.", cause="no-trail")
    trail = trails.lab[0]
    check.record(bucket=trail.bucket, home_region=trail.home_region, multi_region=trail.multi_region)
    if not trail.bucket:
        check.fail(f"The trail {name} has no S3 bucket.", cause="no-bucket")
    if not trail_bucket:
        check.fail(
            f"The trail {name} logs to the bucket {trail.bucket}, which does not exist any more.", cause="no-bucket"
        )
    check.passes(f"The trail {name} logs to the bucket {trail.bucket}.")


@lab_check("cloudtrail.logging", needs=("trails", "trail_status"), after=("cloudtrail.trail",))
def test_logging(
    lab_trail: Trail, trail_status: TrailStatus | None, spec: LabSpec, observed_at: datetime, check: Check
) -> None:
    """Passes when the trail is logging and, once the delivery delay has passed, has delivered a log file."""
    status = trail_status
    if status is None:  # there is a lab trail (lab_trail), so its status was read
        raise AssertionError("the lab trail's status was not read")
    delay = timedelta(minutes=spec.expected.delivery_delay_minutes)
    check.record(
        is_logging=status.is_logging,
        started_logging=_when(status.start_logging),
        latest_delivery=_when(status.latest_delivery),
        delivery_error=status.delivery_error,
    )
    if not status.is_logging:
        check.fail(
            f"The trail {lab_trail.name} exists but is not logging (logging was stopped or never started).",
            cause="not-logging",
        )
    if status.delivery_error:
        check.fail(
            f"The trail {lab_trail.name} is logging, but CloudTrail cannot deliver to its bucket: "
            f"{status.delivery_error}.",
            cause="delivery-error",
        )
    if status.latest_delivery:
        check.passes(
            f"The trail {lab_trail.name} is logging; its latest log file was delivered {_when(status.latest_delivery)}."
        )
        return
    started = status.start_logging
    if started is not None and observed_at - started < delay:
        check.passes(
            f"The trail {lab_trail.name} is logging; it started {_when(started)}, less than "
            f"{int(delay.total_seconds() // 60)} minutes ago, so no log file is due yet."
        )
        return
    check.fail(
        f"The trail {lab_trail.name} says it is logging, but no log file has been delivered "
        f"{'since ' + _when(started) if started else 'yet'}.",
        cause="no-delivery",
    )


@lab_check("cloudtrail.auth_events", needs=("auth_events", "snapshot"), after=("site.login",))
def test_auth_events(auth_events: AuthEvents, snapshot: Snapshot, spec: LabSpec, check: Check) -> None:
    """Passes when CloudTrail shows a successful SRP sign-in (InitiateAuth then RespondToAuthChallenge)
    to the lab's app client, not made by the grader."""
    found = auth_events
    lab = _lab_clients(snapshot)
    mine = [e for e in found.events if not e.by_grader]
    own = len(found.events) - len(mine)
    # An answer names its app client only through the InitiateAuth it answers (docs/aws-cloudtrail.md);
    # one that answers no question read names none, and counts neither for nor against the lab's client.
    attributed = with_clients(mine)
    ours = attributed if lab is None else [e for e in attributed if e.client_id in lab]
    elsewhere = [] if lab is None else [e for e in attributed if e.client_id and e.client_id not in lab]
    failed = [e for e in ours if e.error_code]
    signed_in = successful_sign_ins(mine)
    check.record(
        source=found.source,
        grader_events_ignored=own,
        lab_app_clients=None if lab is None else [{"id": c.id, "name": c.name} for c in lab.values()],
        other_client_events=len(elsewhere),
        events=[e.row() for e in sorted(attributed, key=lambda e: e.time, reverse=True)[:MAX_ROWS]],
    )
    if len(mine) > MAX_ROWS:
        check.record(events_not_listed=len(mine) - MAX_ROWS)
    skipped = _skipped(found)
    if found.events_left_out:
        check.record(events_left_out=found.events_left_out)
    if found.skipped_files:
        check.record(skipped_log_files=found.skipped_files)
    if found.skipped_events:
        check.record(skipped_history_entries=found.skipped_events)
    if found.skipped_why:
        check.record(skipped_why=found.skipped_why)
    if found.pages_read:
        check.record(history_pages_read=found.pages_read)
    if found.incomplete:
        check.record(read_incomplete=found.incomplete)
    succeeded = signed_in if lab is None else [e for e in signed_in if e.client_id in lab]
    if succeeded:
        latest = max(succeeded, key=lambda e: e.time)
        extra = f"; {len(failed)} failed attempt{'s' if len(failed) != 1 else ''} too" if failed else ""
        anyone = "; the lab's user pool was not found, so a sign-in to any app client counts" if lab is None else ""
        check.passes(
            f"CloudTrail recorded {len(succeeded)} successful sign-in{'s' if len(succeeded) != 1 else ''} from the "
            f"website, the latest {_when(latest.time)}{extra}{anyone} (source: {found.source}).{skipped}"
        )
        return
    others = [] if lab is None else [e for e in signed_in if e.client_id and e.client_id not in lab]
    tried = sorted({e.client_id for e in elsewhere})
    if lab is not None and not lab:
        seen = f"; it shows sign-ins only to other app clients ({listing(tried)})" if elsewhere else ""
        pool = snapshot.pool.get()
        assert pool is not None  # lab is not None: _lab_clients found the pool
        check.fail(
            f"The user pool {pool.name} has no app client, so CloudTrail cannot show a sign-in "
            f"to the lab's app client{seen} (source: {found.source}).{skipped}",
            cause="no-client",
        )
    lab_named = listing(f"{c.name} (id {c.id})" for c in (lab or {}).values())
    if found.cut_short():
        _not_all_read(found, len(mine), len(failed), skipped)
    if others:
        clients = sorted({e.client_id for e in others})
        more = f"; {len(failed)} failed attempt{'s' if len(failed) != 1 else ''} to the lab's client" if failed else ""
        check.fail(
            f"CloudTrail recorded {len(others)} successful sign-in{'s' if len(others) != 1 else ''} only to other "
            f"app clients ({listing(clients)}), none to the lab's app client {lab_named}{more} "
            f"(source: {found.source}).{skipped}",
            cause="other-client",
        )
    if failed:
        codes = sorted({e.error_code for e in failed})
        check.fail(
            f"CloudTrail recorded only failed sign-ins from the website ({len(failed)}, {listing(codes)}), "
            f"no successful one (source: {found.source}).{skipped}",
            cause="failed-only",
        )
    if elsewhere:
        check.fail(
            f"CloudTrail recorded sign-in attempts only to other app clients ({listing(tried)}), none to the lab's "
            f"app client {lab_named} (source: {found.source}).{skipped}",
            cause="other-client",
        )
    if own:
        check.fail(
            f"CloudTrail recorded no sign-in from the website, only {own} event{'s' if own != 1 else ''} of the "
            f"grader's own sign-ins (source: {found.source}).{skipped}"
        )
    check.fail(
        f"CloudTrail recorded no Cognito sign-in in the last {int(spec.expected.events_days)} days "
        f"(source: {found.source}).{skipped}"
    )


def _lab_clients(snapshot: Snapshot) -> dict[str, AppClient] | None:
    """The lab pool's app clients (as the spec names them) by id; None when the lab's pool was not found."""
    if snapshot.pool.get() is None:
        return None
    return {c.id: c for c in snapshot.clients.get()}


def _not_all_read(found: AuthEvents, seen: int, failed: int, skipped: str) -> None:
    """No successful sign-in in what was read, but not everything was read: the grader's error, never absence."""
    failures = f", {failed} of them failed sign-ins to the lab's app client" if failed else ""
    raise GraderError(
        f"CloudTrail shows no successful sign-in from the website in the part the grader read "
        f"({seen} sign-in event{'s' if seen != 1 else ''} not made by the grader{failures}; source: {found.source}), "
        f"but the grader could not read all of it.{skipped} An older sign-in may be there. "
        "Run the grader again (with more time: --deadline), or look for InitiateAuth and RespondToAuthChallenge "
        "in the CloudTrail console's event history.",
        kind="incomplete",
    )


def _skipped(found: AuthEvents) -> str:
    """What reading the events left out or skipped, as sentences after a space; '' for nothing."""
    said = [found.incomplete] if found.incomplete else []
    if found.events_left_out:
        said.append(
            f"Only the newest {len(found.events):,} sign-in events were kept; "
            f"{found.events_left_out:,} older ones were left out."
        )
    if found.skipped_why:
        said.append(found.skipped_why)
    return "".join(f" {sentence}" for sentence in said)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""

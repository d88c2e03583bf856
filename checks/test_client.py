"""App client: exists, public (no secret), SRP allowed, implicit grant, OAuth scopes, callback."""

from __future__ import annotations

from datetime import datetime

from grader.callbacks import judge_callbacks
from grader.checking import Check, listing
from grader.observe.evidence import InstanceStarts
from grader.registry import lab_check
from grader.snapshot import AppClient, Instance, Pool, Snapshot, running_hosts
from grader.spec import LabSpec


@lab_check("client.exists", needs=("snapshot",), after=("pool.exists",))
def test_exists(pool: Pool, snapshot: Snapshot, spec: LabSpec, check: Check) -> None:
    """Passes when the pool has an app client (named as the spec says, if it names one)."""
    clients = snapshot.clients.get()
    check.record(clients=[{"id": c.id, "name": c.name} for c in clients])
    named = f" named {spec.expected.client_name}" if spec.expected.client_name else ""
    if not clients:
        check.fail(f"The pool {pool.name} has no app client{named}.")
    check.passes(
        f"The pool has {len(clients)} app client{'s' if len(clients) > 1 else ''}{named}: "
        f"{listing(c.name for c in clients)}."
    )


@lab_check("client.no_secret", needs=("snapshot",), after=("client.exists",))
def test_no_secret(app_client: AppClient, check: Check) -> None:
    """Passes when the app client has no client secret (a public client the browser can use)."""
    check.record(client=app_client.name, has_secret=app_client.has_secret)
    if app_client.has_secret:
        check.fail(
            f"The app client {app_client.name} has a client secret; the website's browser code "
            "cannot send one, so its logins fail."
        )
    check.passes(f"The app client {app_client.name} has no secret.")


@lab_check("client.srp_auth", needs=("snapshot",), after=("client.exists",))
def test_srp_auth(app_client: AppClient, spec: LabSpec, check: Check) -> None:
    """Passes when the app client allows the auth flows the spec requires (ALLOW_USER_SRP_AUTH)."""
    flows = app_client.explicit_auth_flows
    check.record(client=app_client.name, explicit_auth_flows=list(flows))
    missing = [f for f in spec.expected.auth_flows if f not in flows]
    if missing:
        check.fail(
            f"The app client {app_client.name} allows {listing(flows)}; it must also allow "
            f"{listing(missing)}, which the website's login uses."
        )
    check.passes(f"The app client allows {listing(spec.expected.auth_flows)}.")


@lab_check("client.implicit_only", needs=("snapshot",), after=("client.exists",))
def test_implicit_only(app_client: AppClient, spec: LabSpec, check: Check) -> None:
    """Passes when the OAuth grant types are exactly the spec's (implicit, without code grant)."""
    flows = sorted(app_client.oauth_flows)
    wanted = sorted(spec.expected.oauth_flows)
    check.record(client=app_client.name, allowed_oauth_flows=flows)
    if flows != wanted:
        extra = [f for f in flows if f not in wanted]
        missing = [f for f in wanted if f not in flows]
        parts = []
        if missing:
            parts.append(f"{listing(missing)} is not allowed")
        if extra:
            parts.append(f"{listing(extra)} is still allowed")
        check.fail(
            f"The app client's OAuth grant types are {listing(flows)}: {' and '.join(parts)}; "
            f"the lab asks for {listing(wanted)} only."
        )
    check.passes(f"The app client's OAuth grant type is {listing(flows)}.")


@lab_check("client.oauth_scopes", needs=("snapshot",), after=("client.exists",))
def test_oauth_scopes(app_client: AppClient, spec: LabSpec, check: Check) -> None:
    """Passes when OAuth is on for the client, with the spec's scopes and identity providers."""
    check.record(
        client=app_client.name,
        oauth_enabled=app_client.oauth_enabled,
        allowed_oauth_scopes=list(app_client.oauth_scopes),
        identity_providers=list(app_client.identity_providers),
    )
    problems: list[tuple[str, str]] = []  # (cause, what is wrong)
    if not app_client.oauth_enabled:
        cause = "oauth-off"
        problems.append((cause, "OAuth is not enabled for the app client (no hosted UI settings)"))
    missing_scopes = [s for s in spec.expected.oauth_scopes if s not in app_client.oauth_scopes]
    if missing_scopes:
        cause = "missing-scope"
        problems.append(
            (cause, f"the scopes lack {listing(missing_scopes)} (it has {listing(app_client.oauth_scopes)})")
        )
    missing_idps = [p for p in spec.expected.identity_providers if p not in app_client.identity_providers]
    if missing_idps:
        cause = "missing-provider"
        has = listing(app_client.identity_providers)
        problems.append((cause, f"the identity providers lack {listing(missing_idps)} (it has {has})"))
    if problems:
        # The hint is the first problem's: OAuth off, then the scopes, then the providers (saving the
        # hosted UI settings, which turns OAuth on, sets the scopes and providers on the same page).
        check.fail(f"In the app client {app_client.name}, {'; '.join(p for _, p in problems)}.", cause=problems[0][0])
    check.passes(
        f"OAuth is on with scopes {listing(app_client.oauth_scopes)} and provider "
        f"{listing(app_client.identity_providers)}."
    )


@lab_check("client.callback_ec2", needs=("snapshot", "instance_starts"), after=("client.exists",))
def test_callback_ec2(
    app_client: AppClient,
    instances: tuple[Instance, ...],
    instance_starts: InstanceStarts,
    lab_region: str,
    check: Check,
) -> None:
    """Passes when a callback URL is https://<public DNS of a running EC2 instance in the account>."""
    check.record(
        client=app_client.name,
        callback_urls=list(app_client.callback_urls),
        instances=[{"id": i.id, "state": i.state, "public_dns": i.public_dns} for i in instances],
    )

    def started_at(instance_id: str) -> datetime | None:
        """When CloudTrail saw the instance started again; None when it did not, or could not be read."""
        if instance_starts.unknown:
            check.record(instance_started_unknown=instance_starts.unknown)
            return None
        started = instance_starts.started.get(instance_id)
        check.record(instance_started=started.isoformat() if started else None)
        return started

    verdict, problems = judge_callbacks(app_client.callback_urls, instances, region=lab_region, started_at=started_at)
    if verdict is not None:
        check.passes(f"The callback URL {verdict.url} is the running instance's https address.")
        return
    running = list(running_hosts(instances).values())
    if not app_client.callback_urls:
        check.fail(f"The app client {app_client.name} has no callback URL.", cause="no-callback")
    if not running:
        stopped = [i for i in instances if i.state in {"stopped", "stopping"}]
        if stopped:
            check.fail(
                f"No EC2 instance is running ({listing(i.id for i in stopped)} is stopped), so "
                f"the callback URL {listing(app_client.callback_urls)} names no running instance. "
                "A stopped instance gets a new public DNS name when it starts again.",
                cause="no-running-instance",
            )
        check.fail(
            f"There is no running EC2 instance with a public DNS name, so the callback URL "
            f"{listing(app_client.callback_urls)} cannot be the website's address.",
            cause="no-running-instance",
        )
    if problems:
        # One problem for each callback URL that names an instance-like host: the hint is the first one's.
        check.fail(
            f"No callback URL is the running instance's https address: {'; '.join(problems)}.",
            cause=_callback_cause(problems[0]),
        )
    # No callback URL even looks like an EC2 address: the spec's general hint (copy the instance's name) fits.
    check.fail(
        f"No callback URL ({listing(app_client.callback_urls)}) names the running instance "
        f"{listing(i.public_dns for i in running)}."
    )


def _callback_cause(problem: str) -> str:
    """The cause of one of grader.callbacks.judge_callbacks' problems, by the words it says it with
    ('' for a callback naming no running instance: the spec's general hint fits it)."""
    cause = ""
    if "Cognito needs https" in problem:
        cause = "http-callback"
    elif "looks like a typo" in problem:
        cause = "typo"
    elif "is an EC2 public DNS name, but" in problem:
        cause = "former-address"
    return cause

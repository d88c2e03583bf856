"""The Evidence: what the grader observed of one account and website, frozen before any check runs.

Each part is a `Read`: the value, or the GraderError that kept the grader from observing it (a
check that needs a part the grader could not observe ends `error`, never `fail`). A part that
was not observed, because no selected check declared it, is `NOT_OBSERVED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError
from grader.observe.parts import PARTS
from grader.snapshot import Identity, Read, Snapshot
from grader.trail import AuthEvents, Trail, TrailStatus

if TYPE_CHECKING:
    from grader.authorize import AuthorizeProbe
    from grader.observe.signins import HostedSignIn, LoginAttempt
    from grader.site import Site

__all__ = ["NOT_OBSERVED", "Evidence", "InstanceStarts", "Read", "SignInCallback", "SiteLogins", "TrailsFound"]

NOT_OBSERVED: Read[Any] = Read(error=GraderError("The grader did not observe this part.", kind="bug"))


@dataclass(frozen=True)
class TrailsFound:
    """The trails named as the spec says that cover the lab's region, and the other trails' names."""

    lab: tuple[Trail, ...]
    others: tuple[str, ...]


@dataclass(frozen=True)
class InstanceStarts:
    """When each EC2 instance was last started, as CloudTrail shows it.

    `unknown` says why it could not be read ('' when it was): the check then leaves the time out.
    """

    started: dict[str, datetime] = field(default_factory=dict)
    unknown: str = ""


@dataclass(frozen=True)
class SiteLogins:
    """janedoe signing in on the website: with the lab's password, and with a wrong one."""

    right: LoginAttempt
    wrong: LoginAttempt


@dataclass(frozen=True)
class SignInCallback:
    """The callback URL a hosted-UI sign-in returns to (the first naming a running instance over https),
    and Cognito's answer to /oauth2/authorize for it (None when it was not asked)."""

    url: str
    answer: AuthorizeProbe | None


@dataclass(frozen=True)
class Evidence:
    """One account, observed once. Checks read its parts through fixtures of the same names."""

    region: str
    identity: Identity
    observed_at: datetime
    """When the observation started (checks judge ages, e.g. a trail's delivery delay, against it)."""
    finished_at: datetime | None = None
    """When the observation ended."""
    student: str = ""
    """Whose account it is: the name the grade's folder and report go by."""
    target: str = "aws"
    """What was graded: "aws" (an account) or "sandbox"."""
    snapshot: Read[Snapshot] = NOT_OBSERVED
    trails: Read[TrailsFound] = NOT_OBSERVED
    trail_status: Read[TrailStatus | None] = NOT_OBSERVED
    """None when there is no lab trail."""
    trail_bucket: Read[bool | None] = NOT_OBSERVED
    """Whether the lab trail's bucket exists; None when there is no lab trail or it names no bucket."""
    auth_events: Read[AuthEvents] = NOT_OBSERVED
    instance_starts: Read[InstanceStarts] = NOT_OBSERVED
    site: Read[Site] = NOT_OBSERVED
    link_probe: Read[AuthorizeProbe | None] = NOT_OBSERVED
    """Cognito's answer to the website's hosted-UI link; None unless the link goes to the pool's domain."""
    authorize_probes: Read[dict[str, AuthorizeProbe]] = NOT_OBSERVED
    """Callback URL -> Cognito's answer to /oauth2/authorize for it (callbacks Cognito could accept)."""
    signing_keys: Read[dict[str, Any] | None] = NOT_OBSERVED
    """The pool's JWKS; None when there is no pool."""
    sign_in_callback: Read[SignInCallback | None] = NOT_OBSERVED
    """None when no callback URL names a running instance over https."""
    site_logins: Read[SiteLogins] = NOT_OBSERVED
    hosted_sign_in: Read[HostedSignIn | None] = NOT_OBSERVED
    """None when no callback URL could be used for a sign-in (no domain, no running instance's callback)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Where the observation's time went, in seconds: each part's own work (after the parts it is
    observed from), `cloudtrail` (every CloudTrail read together, wall time) and `browser` (the
    browser flows together, waiting for a free browser included); see grader/observe/timings.py."""

    def part(self, name: str) -> Read[Any]:
        """The part `name`; a part that was not observed reads as the grader's error, naming it."""
        if name not in PARTS:
            raise KeyError(name)
        found: Read[Any] = getattr(self, name)
        if found is NOT_OBSERVED:
            return Read(
                error=GraderError(
                    f"The grader did not observe the evidence part {name!r}: a check used it without declaring it "
                    "in its @check(needs=...). This is a bug in the grader: please report it.",
                    kind="bug",
                )
            )
        return found

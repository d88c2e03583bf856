"""The parts of the evidence, and which parts each one is observed from.

A check names the parts it reads (`@check(..., needs=(...))`); observing a part observes what it
depends on first. Kept free of heavy imports: the check registry reads it.
"""

from __future__ import annotations

from collections.abc import Iterable

DEPENDS: dict[str, tuple[str, ...]] = {
    "snapshot": (),  # the account's Cognito and EC2 configuration (grader/snapshot.py, read by observe/account.py)
    "trails": (),  # the trails named as the spec says, and the names of the others
    "trail_status": ("trails",),  # the lab trail's GetTrailStatus
    "trail_bucket": ("trails",),  # whether the lab trail's bucket exists
    "auth_events": ("trails",),  # Cognito sign-in events: event history, else the trail's log files
    "instance_starts": ("snapshot",),  # when instances started again (read only for a former callback address)
    "site": ("snapshot",),  # the website over HTTP: where it answers, what settings.js says
    "link_probe": ("snapshot", "site"),  # Cognito's answer to the website's own hosted-UI link
    "authorize_probes": ("snapshot",),  # Cognito's answer to /oauth2/authorize for each callback URL
    "signing_keys": ("snapshot",),  # the pool's published token signing keys (JWKS)
    "sign_in_callback": ("snapshot", "authorize_probes"),  # the callback a hosted-UI sign-in returns to
    # janedoe signing in on login.html (the lab's password, then a wrong one), the stored tokens verified
    "site_logins": ("site", "snapshot", "signing_keys"),
    # janedoe signing in on the hosted UI, the redirect's tokens verified
    "hosted_sign_in": ("snapshot", "sign_in_callback", "signing_keys"),
}
PARTS: tuple[str, ...] = tuple(DEPENDS)
STARTED_AT_ONCE = frozenset({"auth_events"})
"""Parts observed without waiting for what they are observed from, which they read only if they need it:
event history (the slowest read) is looked up at once; the trails matter only when it is refused."""
BROWSER_PARTS = frozenset({"site_logins", "hosted_sign_in"})


def closure(needs: Iterable[str]) -> frozenset[str]:
    """`needs` and every part they are observed from."""
    found: set[str] = set()
    todo = list(needs)
    while todo:
        part = todo.pop()
        if part not in found:
            found.add(part)
            todo.extend(DEPENDS[part])
    return frozenset(found)

"""Reading which hosted UI a domain serves, and whether the lab's client has a branding style."""

from __future__ import annotations

import pytest

from grader.aws import ReadOnlyAWS
from grader.observe.account import collect
from grader.sandbox import Sandbox
from grader.sandbox.provision import provision
from grader.sandbox.scenarios import load_scenario
from grader.snapshot import Snapshot
from grader.spec import load_spec
from grader.target import Target


def _snapshot(sandbox: Sandbox, version: int, branding: bool, faults: dict[str, str] | None = None) -> Snapshot:
    """The snapshot of the finished lab provisioned with the domain `version` and a style or none."""
    sandbox.reset()
    lab = load_scenario("finished").lab
    lab["pool"]["domain_version"] = version
    lab["client"]["branding_style"] = branding
    lab["user"], lab["cloudtrail"] = False, {}
    provision(sandbox.url, lab)
    sandbox.inject(faults or {})
    aws = ReadOnlyAWS.for_target(Target(endpoint_url=sandbox.url))
    return collect(aws, load_spec(), aws.identity())


@pytest.mark.parametrize(
    ("version", "branding", "expected"),
    [(1, True, None), (1, False, None), (2, True, True), (2, False, False)],
)
def test_the_branding_style_is_read_only_for_managed_login(
    sandbox: Sandbox, version: int, branding: bool, expected: bool | None
) -> None:
    """The domain's ManagedLoginVersion is read; the client's style only for version 2 (None for the classic UI)."""
    snapshot = _snapshot(sandbox, version, branding)
    assert snapshot.domain.value is not None
    assert snapshot.domain.value.managed_login_version == version
    assert snapshot.branding.error is None
    assert snapshot.branding.value is expected


def test_a_refused_branding_read_is_the_graders_error_never_an_answer(sandbox: Sandbox) -> None:
    """AccessDenied on DescribeManagedLoginBrandingByClient leaves the style unknown: an error naming the permission."""
    snapshot = _snapshot(
        sandbox, 2, True, {"cognito-idp:DescribeManagedLoginBrandingByClient": "AccessDeniedException"}
    )
    branding = snapshot.branding
    assert branding.value is None
    assert branding.error is not None
    assert "managed login branding style" in branding.error.message
    assert "permission" in branding.error.message

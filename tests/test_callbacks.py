"""Callback URLs judged against the instances: typos, and a former address after a restart (grader.callbacks)."""

from __future__ import annotations

from datetime import UTC, datetime

import grader.authorize as authorize
import grader.callbacks as callbacks
from checks.test_client import test_callback_ec2 as callback_check
from grader.callbacks import ec2_name_region, judge_callbacks, one_keystroke_apart
from grader.checking import Check, CheckFailed
from grader.errors import GraderError
from grader.observe.evidence import InstanceStarts
from grader.snapshot import AppClient, Instance

NOW = "ec2-54-214-60-85.compute-1.amazonaws.com"
BEFORE = "ec2-54-214-169-47.compute-1.amazonaws.com"
INSTANCE = Instance(
    id="i-0abc1234def567890", state="running", public_dns=NOW, public_ip="54.214.60.85", name="VehicleApp"
)
RESTARTED = datetime(2026, 11, 28, 8, 33, 15, tzinfo=UTC)


def _problems(
    *urls: str, instances: tuple[Instance, ...] = (INSTANCE,), region: str | None = "us-east-1", **kw: object
) -> list[str]:
    verdict, problems = judge_callbacks(urls, instances, region=region, **kw)  # type: ignore[arg-type]
    assert verdict is None
    return problems


def test_former_address_says_the_address_changed() -> None:
    """A well-formed us-east-1 EC2 name that is not the instance's: the address changed, update callback and website."""
    (problem,) = _problems(f"https://{BEFORE}")
    assert "looks like a typo" not in problem
    assert f"the public address of {INSTANCE.id} has changed since the callback URL was saved" in problem
    assert "(a restarted lab session, or a stop and start)" in problem
    assert f"is now {NOW}" in problem
    assert f"Update the callback URL to https://{NOW}, and run rebuildapp.sh again" in problem


def test_former_address_keeps_the_callbacks_path() -> None:
    """The new callback URL offered keeps the old one's path (a trailing slash stays)."""
    (problem,) = _problems(f"http://{BEFORE}/")
    assert f"Update the callback URL to https://{NOW}/," in problem


def test_restart_time_from_cloudtrail_is_named() -> None:
    """When CloudTrail knows when the instance started again, the message names that time."""
    asked: list[str] = []

    def started_at(instance_id: str) -> datetime | None:
        asked.append(instance_id)
        return RESTARTED

    (problem,) = _problems(f"https://{BEFORE}", started_at=started_at)
    assert (
        "(a restarted lab session, or a stop and start; CloudTrail shows it started again 2026-11-28 08:33 UTC)"
        in problem
    )
    assert asked == [INSTANCE.id]


def test_restart_time_is_asked_only_for_a_former_address() -> None:
    """CloudTrail is not asked when a callback is right (even after a former one), a typo, or not an EC2 name."""

    def started_at(instance_id: str) -> datetime | None:
        raise AssertionError("asked")

    urls = (f"https://{BEFORE}", f"https://{NOW}")
    verdict, problems = judge_callbacks(urls, (INSTANCE,), region="us-east-1", started_at=started_at)
    assert verdict is not None
    assert verdict.ok
    assert verdict.url == f"https://{NOW}"
    assert problems == []
    _problems("https://ec2-54-214-60-5.compute-1.amazonaws.com", "https://example.com", started_at=started_at)


def test_other_region_format() -> None:
    """In another region the EC2 name is ec2-a-b-c-d.<region>.compute.amazonaws.com;
    a former one there is a changed address."""
    west = Instance("i-0west", "running", "ec2-35-160-1-2.us-west-2.compute.amazonaws.com", "35.160.1.2", "")
    (problem,) = _problems(
        "https://ec2-44-230-9-77.us-west-2.compute.amazonaws.com", instances=(west,), region="us-west-2"
    )
    assert "has changed since the callback URL was saved" in problem
    (elsewhere,) = _problems(
        "https://ec2-44-230-9-77.eu-west-1.compute.amazonaws.com", instances=(west,), region="us-west-2"
    )
    assert "has changed" not in elsewhere


def test_ec2_name_region() -> None:
    """Only well-formed EC2 public DNS names have a region: four valid octets and AWS's suffix."""
    assert ec2_name_region(NOW) == "us-east-1"
    assert ec2_name_region("EC2-3-80-1-2.Compute-1.AmazonAWS.com") == "us-east-1"
    assert ec2_name_region("ec2-44-230-9-77.us-west-2.compute.amazonaws.com") == "us-west-2"
    assert ec2_name_region("ec2-52-80-1-2.cn-north-1.compute.amazonaws.com.cn") == "cn-north-1"
    for bad in (
        "ec2-54-214-60-85.compute-1.amazonaws.co",
        "ec2-54-214-60.compute-1.amazonaws.com",
        "ec2-54-214-60-256.compute-1.amazonaws.com",
        "ec2-54-214-060-85.compute-1.amazonaws.com",
        "ec2-54-214-60-85.compute.amazonaws.com",
        "ec2-54-214-60-85.us-east-1.compute-1.amazonaws.com",
        "ec2-54-214-60-85.us-east-1.compute.amazonaws.com",
        "ip-10-0-0-1.ec2.internal",
    ):
        assert ec2_name_region(bad) is None, bad


def test_malformed_or_one_keystroke_names_are_typos() -> None:
    """Names that are not well-formed EC2 names, or one keystroke from the instance's, still look like typos."""
    for host in (
        "ec2-54-214-60-85.compute-1.amazonaws.co",  # not well-formed: a letter dropped
        "ec2-54-214-60-85.compute1.amazonaws.com",  # not well-formed
        "ec2-54-214-60-5.compute-1.amazonaws.com",  # well-formed, one digit dropped
        "ec2-54-214-60-58.compute-1.amazonaws.com",  # well-formed, two digits swapped
        "ec2-54-214-60-86.compute-1.amazonaws.com",  # well-formed, one digit changed
    ):
        (problem,) = _problems(f"https://{host}")
        assert problem == f"https://{host} looks like a typo of the instance's name {NOW}", problem


def test_one_keystroke_apart() -> None:
    """One character dropped, added, changed, or two neighbours swapped; nothing more."""
    assert one_keystroke_apart("ec2-1-23", "ec2-1-3")
    assert one_keystroke_apart("ec2-1-3", "ec2-1-23")
    assert one_keystroke_apart("ec2-1-23", "ec2-1-24")
    assert one_keystroke_apart("ec2-1-23", "ec2-1-32")
    assert not one_keystroke_apart("ec2-1-23", "ec2-1-23")
    assert not one_keystroke_apart("ec2-1-23", "ec2-1-45")
    assert not one_keystroke_apart("ec2-1-234", "ec2-1-2")


def test_several_running_instances() -> None:
    """With several running instances, a former address names them all with their current names."""
    other = Instance("i-0other", "running", "ec2-3-80-1-2.compute-1.amazonaws.com", "3.80.1.2", "")
    (problem,) = _problems(f"https://{BEFORE}", instances=(INSTANCE, other))
    assert f"{INSTANCE.id} is {NOW}" in problem
    assert "i-0other is ec2-3-80-1-2.compute-1.amazonaws.com" in problem
    assert "rebuildapp.sh" in problem


def test_local_callback_hosts_are_the_hosted_ui_modules() -> None:
    """Callbacks skip exactly the local hosts Cognito allows over http, as grader.authorize lists them."""
    assert callbacks.LOCAL_CALLBACK_HOSTS is authorize.LOCAL_CALLBACK_HOSTS
    for host in authorize.LOCAL_CALLBACK_HOSTS:
        url = f"http://[{host}]:3000" if ":" in host else f"http://{host}:3000"
        assert _problems(url) == []


# ---------------------------------------------------------------------- the check


def _client(*urls: str) -> AppClient:
    return AppClient(
        id="1example23456789abcdefghij",
        name="Vehicle App - Quick",
        has_secret=False,
        explicit_auth_flows=("ALLOW_USER_SRP_AUTH",),
        oauth_flows=("implicit",),
        oauth_enabled=True,
        oauth_scopes=("openid",),
        identity_providers=("COGNITO",),
        callback_urls=urls,
        logout_urls=(),
    )


def _grade(starts: object) -> Check:
    """Run client.callback_ec2 for a callback on the former address; `starts` is what CloudTrail gave, or its error."""
    observed = InstanceStarts(unknown=starts.message) if isinstance(starts, GraderError) else InstanceStarts(starts)  # type: ignore[arg-type]
    check = Check("client.callback_ec2")
    try:
        callback_check(_client(f"https://{BEFORE}"), (INSTANCE,), observed, "us-east-1", check)
    except CheckFailed:
        return check
    raise AssertionError(f"the check passed: {check.message}")


def test_check_names_the_restart_time() -> None:
    """client.callback_ec2 fails on a former address and names when CloudTrail saw the instance started again."""
    check = _grade({INSTANCE.id: RESTARTED})
    assert "has changed since the callback URL was saved" in check.message
    assert "CloudTrail shows it started again 2026-11-28 08:33 UTC" in check.message
    assert check.evidence["instance_started"] == "2026-11-28T08:33:15+00:00"


def test_check_without_cloudtrail_leaves_the_time_out() -> None:
    """When CloudTrail cannot be read, the check still fails (not an error), without the time."""
    check = _grade(GraderError("AWS denied the grader permission to read CloudTrail.", kind="access-denied"))
    assert "(a restarted lab session, or a stop and start)" in check.message
    assert "CloudTrail shows" not in check.message
    assert check.evidence["instance_started_unknown"].startswith("AWS denied")


def test_check_without_a_start_event_leaves_the_time_out() -> None:
    """No StartInstances event for the instance: the message leaves the time out."""
    check = _grade({"i-0someother": RESTARTED})
    assert "(a restarted lab session, or a stop and start)" in check.message

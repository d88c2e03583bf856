"""Provisioning a scenario: a restarted instance's new public name is never a typo of its former one."""

from __future__ import annotations

from typing import Any

from grader.sandbox.provision import _restart


class FakeEC2:
    """An instance whose successive starts draw the public names in `names`."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.starts = 0

    def stop_instances(self, **_: Any) -> None:
        pass

    def start_instances(self, **_: Any) -> None:
        self.starts += 1

    def describe_instances(self, **_: Any) -> dict[str, Any]:
        name = self.names[min(self.starts, len(self.names) - 1)]
        return {"Reservations": [{"Instances": [{"InstanceId": "i-0abc", "PublicDnsName": name}]}]}


def test_a_new_address_one_keystroke_from_the_former_one_is_drawn_again() -> None:
    former = "ec2-54-214-109-179.compute-1.amazonaws.com"
    swapped = "ec2-54-214-190-179.compute-1.amazonaws.com"  # two digits swapped: reads as a typo
    apart = "ec2-3-80-12-7.compute-1.amazonaws.com"
    ec2 = FakeEC2([former, swapped, apart])
    assert _restart(ec2, former) == apart
    assert ec2.starts == 2


def test_a_new_address_clearly_apart_is_kept_at_once() -> None:
    ec2 = FakeEC2(["ec2-54-214-109-179.compute-1.amazonaws.com", "ec2-3-80-12-7.compute-1.amazonaws.com"])
    assert _restart(ec2, "ec2-54-214-109-179.compute-1.amazonaws.com") == "ec2-3-80-12-7.compute-1.amazonaws.com"
    assert ec2.starts == 1

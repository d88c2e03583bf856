"""A class in the sandbox: each student's lab in an AWS account of their own, their credentials, and the roster.

Each student's account is a sandbox account reached through a role (`role_arn` in the roster), as
a course with its own AWS accounts does it; some students instead send a credentials file, which
may be malformed or expired, as AWS Academy students' sometimes are. `grader demo --class` and the
batch tests grade such a class.
"""

from __future__ import annotations

import copy
import csv
import io
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from grader.sandbox.demo import do_lab
from grader.sandbox.provision import in_account, role_arn
from grader.sandbox.scenarios import Scenario, load_scenario
from grader.sandbox.server import Sandbox

WayIn = Literal["role", "credentials-file", "malformed-file", "expired-file"]


@dataclass(frozen=True)
class ClassStudent:
    """One student of a sandbox class: the lab they did (a scenario, or none) and how they hand in access."""

    student_id: str
    name: str
    scenario: str | None
    way_in: WayIn = "role"


DEMO_CLASS = (
    ClassStudent("s01", "Ada Lovelace", "finished"),
    ClassStudent("s02", "Alan Turing", "callback-http"),
    ClassStudent("s03", "Grace Hopper", "janedoe-not-confirmed", way_in="credentials-file"),
    ClassStudent("s04", "Edsger Dijkstra", "no-trail"),
    ClassStudent("s05", "Barbara Liskov", None, way_in="malformed-file"),
    ClassStudent("s06", "Ken Thompson", "site-hanging"),
    ClassStudent("s07", "Margaret Hamilton", "finished", way_in="expired-file"),
)
"""The class `grader demo --class` grades: the finished lab, some mistakes, a malformed credentials
file, a website that hangs, and credentials that have expired."""


def account_of(index: int) -> str:
    """The sandbox account of the class's `index`-th student (0-based)."""
    return f"{210000000001 + index:012d}"


def _own_names(scenario: Scenario, student_id: str) -> Scenario:
    """The scenario with a trail bucket and a hosted-UI domain prefix of the student's own.

    Both are unique across AWS (a domain prefix within its region): two students cannot share one,
    and the hosted UI, reached without credentials, is found by its prefix alone.
    """
    lab = copy.deepcopy(scenario.lab)
    suffix = student_id.lower()
    if lab.get("cloudtrail") and lab["cloudtrail"].get("bucket"):
        lab["cloudtrail"]["bucket"] = f"{lab['cloudtrail']['bucket']}-{suffix}"
    if lab.get("pool") and lab["pool"].get("domain"):
        lab["pool"]["domain"] = f"{lab['pool']['domain']}-{suffix}"
    return replace(scenario, lab=lab)


def set_up_class(sandbox: Sandbox, students: tuple[ClassStudent, ...], folder: Path) -> Path:
    """Empty the sandbox, do each student's lab in their own account, write the roster into `folder`: its path.

    A student handing in a credentials file gets keys the sandbox answers for their account; an
    expired file's keys are answered as expired (ExpiredToken), a malformed file is not an AWS
    Details block at all.
    """
    sandbox.reset()
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for index, student in enumerate(students):
        account = account_of(index)
        if student.scenario is not None:
            with in_account(sandbox.url, account):
                do_lab(sandbox, _own_names(load_scenario(student.scenario), student.student_id))
        row = {"student_id": student.student_id, "name": student.name, "email": f"{student.student_id}@example.edu"}
        row["section"] = "A" if index % 2 == 0 else "B"
        if student.way_in == "role":
            row["role_arn"] = role_arn(account)
        else:
            path = folder / f"{student.student_id}-credentials.txt"
            path.write_text(_credentials_text(sandbox, account, student.way_in), encoding="utf-8")
            row["credentials_file"] = path.name
        rows.append(row)
    roster = folder / "roster.csv"
    columns = ["student_id", "name", "email", "section", "role_arn", "credentials_file"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    roster.write_text(text.getvalue(), encoding="utf-8")
    return roster


def _credentials_text(sandbox: Sandbox, account: str, way_in: WayIn) -> str:
    """The text of a student's credentials file: an AWS Details block for `account`, expired, or not one at all."""
    if way_in == "malformed-file":
        return "Here are my keys: see the screenshot I sent by email.\n"
    from grader.sandbox.provision import sandbox_client

    keys = sandbox_client(sandbox.url, "sts").assume_role(
        RoleArn=role_arn(account), RoleSessionName=f"student-{secrets.token_hex(4)}"
    )["Credentials"]
    if way_in == "expired-file":
        sandbox.expire_key(keys["AccessKeyId"])
    return (
        "[default]\n"
        f"aws_access_key_id={keys['AccessKeyId']}\n"
        f"aws_secret_access_key={keys['SecretAccessKey']}\n"
        f"aws_session_token={keys['SessionToken']}\n"
    )

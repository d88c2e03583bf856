"""CloudTrail sign-ins as the grader reads and judges them (grader.trail, cloudtrail.auth_events)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from grader.aws import ReadOnlyAWS
from grader.checking import Check
from grader.errors import GraderError
from grader.observe.cloudtrail import read_auth_events
from grader.observe.event_history import read_instance_starts
from grader.sandbox import Sandbox, srp
from grader.snapshot import AppClient, Pool
from grader.target import Target
from grader.trail import AuthEvent, AuthEvents, Trail, successful_sign_ins
from tests.cloudtrail_records import BROWSER, LAB_CLIENT, SECOND, grade_auth_events, lab_client, lab_pool
from tests.cloudtrail_records import sign_in_record as _record
from tests.sandbox.serving import browser_post

# One whole second, an hour ago (event history keeps 90 days).
OTHER_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
OTHER_CLIENT = "7otherlab0123456789abcdefg"
PASSWORD = "Ilove2SeeTheTemple!!"


def _event(
    name: str,
    when: datetime = SECOND,
    *,
    error: str = "",
    agent: str = BROWSER,
    client: str = LAB_CLIENT,
) -> AuthEvent:
    return AuthEvent(
        time=when,
        name=name,
        error_code=error,
        error_message="Incorrect username or password." if error else "",
        user_agent=agent,
        source_ip="198.51.100.7",
        auth_flow="USER_SRP_AUTH" if name == "InitiateAuth" else "",
        challenge="PASSWORD_VERIFIER" if name == "RespondToAuthChallenge" else "",
        client_id=client,
    )


# ---------------------------------------------------------------------- pairing


def test_one_sign_in_within_one_second_newest_first_counts() -> None:
    """A sign-in whose two calls share a second, listed answer first (newest first), is one successful sign-in."""
    newest_first = [_event("RespondToAuthChallenge"), _event("InitiateAuth")]
    assert [e.name for e in successful_sign_ins(newest_first)] == ["RespondToAuthChallenge"]


def test_wrong_then_right_within_one_second() -> None:
    """A wrong and a right password in the same second, newest first: one success, the failure not counted."""
    newest_first = [
        _event("RespondToAuthChallenge"),
        _event("InitiateAuth"),
        _event("RespondToAuthChallenge", error="NotAuthorizedException"),
        _event("InitiateAuth"),
    ]
    assert len(successful_sign_ins(newest_first)) == 1


def test_only_a_wrong_password_within_one_second_counts_nothing() -> None:
    """A single wrong-password sign-in, answer first in the same second, is no successful sign-in."""
    newest_first = [_event("RespondToAuthChallenge", error="NotAuthorizedException"), _event("InitiateAuth")]
    assert successful_sign_ins(newest_first) == []


def test_answer_from_another_browser_or_client_is_not_paired() -> None:
    """An answer pairs only with a question from the same user agent to the same app client."""
    other_browser = [_event("InitiateAuth"), _event("RespondToAuthChallenge", agent=OTHER_BROWSER)]
    other_client = [_event("InitiateAuth"), _event("RespondToAuthChallenge", client=OTHER_CLIENT)]
    assert successful_sign_ins(other_browser) == []
    assert successful_sign_ins(other_client) == []


def test_answer_before_its_question_in_time_is_not_paired() -> None:
    """Across seconds time still decides: an answer a second before any question is no sign-in."""
    events = [_event("InitiateAuth", SECOND + timedelta(seconds=1)), _event("RespondToAuthChallenge")]
    assert successful_sign_ins(events) == []


# ---------------------------------------------------------------------- reading


@dataclass
class FakeAWS:
    """The read-only AWS layer's surface that grader.trail uses, answering from memory."""

    history: list[dict[str, Any]] | None = None  # records, newest first; None: LookupEvents is refused
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key -> Records
    target: Any = field(default_factory=lambda: SimpleNamespace(region="us-east-1"))

    def call(self, service: str, operation: str, action: str, **params: Any) -> dict[str, Any]:
        if operation == "lookup_events":
            if self.history is None:
                raise GraderError(f"AWS denied the grader permission to {action}.", kind="access-denied")
            return {"Events": [{"EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)} for r in self.history]}
        if operation == "list_objects_v2":
            return {"Contents": self.paginate(service, operation, "Contents", action, **params), "IsTruncated": False}
        if operation == "get_object":
            body = gzip.compress(json.dumps({"Records": self.files[params["Key"]]}).encode())
            return {"Body": io.BytesIO(body)}
        raise AssertionError(operation)

    def paginate(self, service: str, operation: str, key: str, action: str, **params: Any) -> list[Any]:
        return [{"Key": k, "LastModified": datetime.now(UTC)} for k in sorted(self.files)]


TRAIL = Trail(
    "VehicleApp-Trail",
    "arn:aws:cloudtrail:us-east-1:123456789012:trail/VehicleApp-Trail",
    "us-east-1",
    True,
    "logs",
    "",
)


def test_event_history_keeps_the_client_id_and_pairs_the_second() -> None:
    """Event history's newest-first records give AuthEvents with their clientId, paired into one sign-in."""
    aws = FakeAWS(history=[_record("RespondToAuthChallenge"), _record("InitiateAuth")])
    found = read_auth_events(aws, [TRAIL], 90, "123456789012")  # type: ignore[arg-type]
    assert found.source == "event history (LookupEvents)"
    assert {e.client_id for e in found.events} == {LAB_CLIENT}
    assert len(successful_sign_ins(found.events)) == 1


def test_log_files_answer_first_in_one_second() -> None:
    """From the trail's log files (event history refused), an answer-first pair of one second is one sign-in."""
    prefix = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/"
    aws = FakeAWS(
        history=None,
        files={
            prefix + "123456789012_CloudTrail_us-east-1_20261128T0833Z_AAAAAAAAAAAAAAAA.json.gz": [
                _record("RespondToAuthChallenge")
            ],
            prefix + "123456789012_CloudTrail_us-east-1_20261128T0833Z_BBBBBBBBBBBBBBBB.json.gz": [
                _record("InitiateAuth")
            ],
        },
    )
    found = read_auth_events(aws, [TRAIL], 90, "123456789012")  # type: ignore[arg-type]
    assert found.source.startswith("the trail's log files")
    assert [e.name for e in successful_sign_ins(found.events)] == ["RespondToAuthChallenge"]
    assert {e.client_id for e in found.events} == {LAB_CLIENT}


# ---------------------------------------------------------------------- the check


def _client(client_id: str = LAB_CLIENT, name: str = "Vehicle App - Quick") -> AppClient:
    return lab_client(client_id, name)


POOL = lab_pool()


def _grade(events: list[AuthEvent], pool: Pool | None = POOL, clients: tuple[AppClient, ...] = (_client(),)) -> Check:
    """Run cloudtrail.auth_events on `events` (newest first) for a lab with `pool` and `clients`."""
    return grade_auth_events(AuthEvents("event history (LookupEvents)", tuple(events)), pool, clients)


def test_check_passes_for_one_sign_in_in_one_second() -> None:
    """cloudtrail.auth_events passes for a single right-password sign-in listed answer first."""
    check = _grade([_event("RespondToAuthChallenge"), _event("InitiateAuth")])
    assert "failed" not in check.evidence
    assert check.message.startswith("CloudTrail recorded 1 successful sign-in from the website")


def test_check_fails_for_one_wrong_password() -> None:
    """cloudtrail.auth_events fails for a single wrong-password sign-in and says only failed sign-ins were seen."""
    check = _grade([_event("RespondToAuthChallenge", error="NotAuthorizedException"), _event("InitiateAuth")])
    assert check.evidence["failed"]
    assert "only failed sign-ins" in check.message
    assert "NotAuthorizedException" in check.message


def test_sign_in_to_another_client_does_not_count() -> None:
    """A successful sign-in to another app client (another lab's pool) fails the check, naming that client."""
    check = _grade(
        [
            _event("RespondToAuthChallenge", client=OTHER_CLIENT),
            _event("InitiateAuth", client=OTHER_CLIENT),
        ]
    )
    assert check.evidence["failed"]
    assert check.message.startswith(
        f"CloudTrail recorded 1 successful sign-in only to other app clients ({OTHER_CLIENT})"
    )
    assert f"none to the lab's app client Vehicle App - Quick (id {LAB_CLIENT})" in check.message
    assert check.evidence["other_client_events"] == 2


def test_sign_in_to_the_lab_client_counts_beside_others() -> None:
    """Sign-ins to other clients beside one to the lab's client: the check passes, counting the lab's only."""
    check = _grade(
        [
            _event("RespondToAuthChallenge", client=OTHER_CLIENT),
            _event("InitiateAuth", client=OTHER_CLIENT),
            _event("RespondToAuthChallenge"),
            _event("InitiateAuth"),
        ]
    )
    assert "failed" not in check.evidence
    assert check.message.startswith("CloudTrail recorded 1 successful sign-in from")


def test_failed_attempts_only_to_another_client_are_named() -> None:
    """Only failed attempts, all to another client: the message names that client, not the lab's failures."""
    check = _grade(
        [
            _event("InitiateAuth", client=OTHER_CLIENT, error="ResourceNotFoundException"),
        ]
    )
    assert check.evidence["failed"]
    assert f"sign-in attempts only to other app clients ({OTHER_CLIENT})" in check.message


def test_pool_without_app_client_fails_naming_the_other_clients() -> None:
    """A lab pool with no app client fails: no sign-in can be to the lab's client; others' are named."""
    check = _grade(
        [_event("RespondToAuthChallenge", client=OTHER_CLIENT), _event("InitiateAuth", client=OTHER_CLIENT)],
        clients=(),
    )
    assert check.evidence["failed"]
    assert "has no app client" in check.message
    assert OTHER_CLIENT in check.message


def test_without_the_lab_pool_any_client_counts_and_says_so() -> None:
    """When the lab's pool was not found (see pool.exists), a sign-in to any client counts, and the message says so."""
    check = _grade(
        [_event("RespondToAuthChallenge", client=OTHER_CLIENT), _event("InitiateAuth", client=OTHER_CLIENT)], pool=None
    )
    assert "failed" not in check.evidence
    assert "the lab's user pool was not found, so a sign-in to any app client counts" in check.message


# ---------------------------------------------------------------------- against the sandbox


@pytest.fixture
def pinned(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox, emptied, with its CloudTrail clock pinned to one second."""
    sandbox.reset()
    recorder = sandbox.gateway.recorder
    real = recorder.clock
    recorder.clock = lambda: SECOND.replace(microsecond=400_000)
    try:
        yield sandbox
    finally:
        recorder.clock = real
        sandbox.reset()


def _lab(url: str) -> tuple[str, str]:
    idp = boto3.client(
        "cognito-idp", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="VehicleApp",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool_id, Username="janedoe", TemporaryPassword="ILove2SeeTheTemple!", MessageAction="SUPPRESS"
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
    return pool_id, client_id


def _browser_sign_in(url: str, pool_id: str, client_id: str) -> None:
    """The website's SRP sign-in, as the browser SDK sends it."""
    client = srp.SrpClient(pool_id)
    first = browser_post(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": "janedoe", "SRP_A": client.srp_a_hex},
        },
        **{"User-Agent": BROWSER},
    )
    answers = client.challenge_responses(first.json()["ChallengeParameters"], PASSWORD)
    second = browser_post(
        url,
        "RespondToAuthChallenge",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ClientId": client_id,
            "ChallengeResponses": answers,
        },
        **{"User-Agent": BROWSER},
    )
    assert second.status_code == 200, second.text


def test_sandbox_sign_in_in_one_second_is_found(pinned: Sandbox) -> None:
    """One website sign-in recorded by the sandbox within one second
    is read back as one successful sign-in to its client."""
    pool_id, client_id = _lab(pinned.url)
    _browser_sign_in(pinned.url, pool_id, client_id)
    aws = ReadOnlyAWS.for_target(Target(endpoint_url=pinned.url))
    found = read_auth_events(aws, [], 90, "123456789012")
    assert [e.name for e in found.events] == ["RespondToAuthChallenge", "InitiateAuth"]  # as event history lists them
    assert {e.time for e in found.events} == {SECOND}
    (done,) = successful_sign_ins(found.events)
    assert done.client_id == client_id


def test_sandbox_instance_restart_time(pinned: Sandbox) -> None:
    """read_instance_starts gives the time of the instance's latest StartInstances;
    refused event history is a GraderError."""
    ec2 = boto3.client(
        "ec2", endpoint_url=pinned.url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance])
    ec2.start_instances(InstanceIds=[instance])
    aws = ReadOnlyAWS.for_target(Target(endpoint_url=pinned.url))
    assert read_instance_starts(aws) == {instance: SECOND}
    pinned.inject({"cloudtrail:LookupEvents": "AccessDeniedException"})
    with pytest.raises(GraderError) as err:
        read_instance_starts(aws)
    assert err.value.kind == "access-denied"


# ---------------------------------------------------------------------- pairing as AWS records it


def _as_recorded(
    name: str,
    when: datetime = SECOND,
    *,
    client: str = "",
    ip: str = "198.51.100.7",
    sub: str = "",
    error: str = "",
) -> AuthEvent:
    """An AuthEvent as AWS records it: the answer often without client id, the user's sub where known."""
    return replace(_event(name, when, error=error, client=client), source_ip=ip, sub=sub)


LATER = SECOND + timedelta(seconds=61)


@pytest.mark.parametrize(
    ("events", "clients"),
    [
        ([_as_recorded("RespondToAuthChallenge"), _as_recorded("InitiateAuth", client=LAB_CLIENT)], [LAB_CLIENT]),
        (
            [
                _as_recorded("RespondToAuthChallenge", SECOND + timedelta(seconds=2)),
                _as_recorded("InitiateAuth", client=LAB_CLIENT),
            ],
            [LAB_CLIENT],
        ),
        (
            [_as_recorded("RespondToAuthChallenge", ip="203.0.113.5"), _as_recorded("InitiateAuth", client=LAB_CLIENT)],
            [],
        ),
        ([_as_recorded("RespondToAuthChallenge", LATER), _as_recorded("InitiateAuth", client=LAB_CLIENT)], []),
        (
            [
                _as_recorded("RespondToAuthChallenge", sub="sub-other"),
                _as_recorded("InitiateAuth", client=OTHER_CLIENT, sub="sub-other"),
                _as_recorded("InitiateAuth", client=LAB_CLIENT, sub="sub-jane"),
            ],
            [OTHER_CLIENT],
        ),
        (
            [
                _as_recorded("RespondToAuthChallenge", client=OTHER_CLIENT),
                _as_recorded("InitiateAuth", client=OTHER_CLIENT),
                _as_recorded("InitiateAuth", client=LAB_CLIENT),
            ],
            [OTHER_CLIENT],
        ),
    ],
    ids=[
        "answer-without-client-id",
        "answer-seconds-later",
        "other-source-ip",
        "over-a-minute-later",
        "sub-picks-the-question",
        "client-id-where-both-have-one",
    ],
)
def test_answers_pair_by_browser_ip_time_sub_and_client_where_present(
    events: list[AuthEvent], clients: list[str]
) -> None:
    """An answer pairs with a question of the same browser and source IP within a minute, by sub and client id
    only where both records carry them, and takes the question's app client."""
    assert [e.client_id for e in successful_sign_ins(events)] == clients


def test_check_counts_a_sign_in_whose_answer_has_no_client_id() -> None:
    """The measured failure: an answer without clientId no longer reads as a sign-in to another client '(none)'."""
    check = _grade([_as_recorded("RespondToAuthChallenge"), _as_recorded("InitiateAuth", client=LAB_CLIENT)])
    assert "failed" not in check.evidence, check.message
    assert check.message.startswith("CloudTrail recorded 1 successful sign-in from the website")


def test_an_answer_that_answers_no_question_read_names_no_client() -> None:
    """A lone answer without client id (its question not read) is no sign-in and no attempt to another client."""
    check = _grade([_as_recorded("RespondToAuthChallenge")])
    assert check.evidence["failed"]
    assert check.evidence["other_client_events"] == 0
    assert "(none)" not in check.message

"""Tests for the sandbox's CloudTrail recorder (grader.sandbox.cloudtrail)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.server import DomainDispatcherApplication, create_backend_app

from grader.sandbox import srp
from grader.sandbox.cloudtrail import CloudTrailRecorder
from grader.sandbox.cloudtrail_delivery import log_file_key
from grader.sandbox.cloudtrail_records import HIDDEN
from grader.sandbox.cognito_fidelity import CognitoFidelity
from tests.sandbox.serving import browser_post, client, reset, serving

REGION = "us-east-1"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111122223333"
TEMP_PASSWORD = "ILove2SeeTheTemple!"
PASSWORD = "Ilove2SeeTheTemple!!"
BROWSER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
SRP_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
COGNITO = "cognito-idp.amazonaws.com"
KEY_LAYOUT = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)


class FakeClock:
    """Real time unless a test pins it."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or datetime.now(UTC)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def recorder(clock: FakeClock) -> CloudTrailRecorder:
    return CloudTrailRecorder(CognitoFidelity(DomainDispatcherApplication(create_backend_app)), clock=clock)


@pytest.fixture(scope="module")
def url(recorder: CloudTrailRecorder) -> Iterator[str]:
    with serving(recorder) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(url: str, recorder: CloudTrailRecorder, clock: FakeClock) -> None:
    reset(url)
    recorder.clear()
    clock.pinned = None


_client = client


@pytest.fixture
def idp(url: str) -> Any:
    return _client(url, "cognito-idp")


@pytest.fixture
def ct(url: str) -> Any:
    return _client(url, "cloudtrail")


@pytest.fixture
def s3(url: str) -> Any:
    return _client(url, "s3")


def _setup(idp: Any, *, confirmed: bool = True) -> tuple[str, str]:
    """VehicleAppUserPool, a public SRP client and janedoe; returns (pool id, client id)."""
    pool_id = idp.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="VehicleApp", ExplicitAuthFlows=SRP_FLOWS)[
        "UserPoolClient"
    ]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool_id, Username="janedoe", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS"
    )
    if confirmed:
        idp.admin_set_user_password(UserPoolId=pool_id, Username="janedoe", Password=PASSWORD, Permanent=True)
    return pool_id, client_id


def _raw(url: str, op: str, body: dict[str, Any], **headers: str) -> requests.Response:
    """An unsigned JSON POST from a browser with a browser's user agent."""
    return browser_post(url, op, body, **({"User-Agent": BROWSER_UA} | headers))


def _browser_login(url: str, pool_id: str, client_id: str, password: str, **headers: str) -> dict[str, Any]:
    """A USER_SRP_AUTH login over unsigned POSTs; returns every value sent and received."""
    client = srp.SrpClient(pool_id)
    first = _raw(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": "janedoe", "SRP_A": client.srp_a_hex},
            "ClientMetadata": {},
        },
        **headers,
    )
    assert first.status_code == 200, first.text
    challenge = first.json()["ChallengeParameters"]
    answers = client.challenge_responses(challenge, password)
    second = _raw(
        url,
        "RespondToAuthChallenge",
        {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ClientId": client_id,
            "ChallengeResponses": answers,
        },
        **headers,
    )
    return {"srp_a": client.srp_a_hex, "challenge": challenge, "answers": answers, "second": second}


def _cognito(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["eventName"] in ("InitiateAuth", "RespondToAuthChallenge")]


def _lookup_all(ct: Any, **kwargs: Any) -> list[dict[str, Any]]:
    pages = ct.get_paginator("lookup_events").paginate(**kwargs)
    return [event for page in pages for event in page["Events"]]


def _log_objects(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    """Every log file in `bucket`: key -> its Records."""
    out = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        out[item["Key"]] = json.loads(gzip.decompress(body))["Records"]
    return out


def _trail(s3: Any, ct: Any, bucket: str = "vehicleapp-trail-logs", *, start: bool = True, **kwargs: Any) -> str:
    s3.create_bucket(Bucket=bucket)
    arn = ct.create_trail(Name="VehicleApp-Trail", S3BucketName=bucket, **kwargs)["TrailARN"]
    if start:
        ct.start_logging(Name="VehicleApp-Trail")
    return arn


# ---------------------------------------------------------------------- the records


def test_successful_srp_login_records_both_calls(url: str, idp: Any, recorder: CloudTrailRecorder) -> None:
    """A right-password SRP login records InitiateAuth then RespondToAuthChallenge, tokens hidden."""
    pool_id, client_id = _setup(idp)
    login = _browser_login(url, pool_id, client_id, PASSWORD)
    assert login["second"].status_code == 200
    first, second = _cognito(recorder.events())
    assert [first["eventName"], second["eventName"]] == ["InitiateAuth", "RespondToAuthChallenge"]
    for event in (first, second):
        assert "errorCode" not in event
        assert "errorMessage" not in event
        assert event["eventSource"] == COGNITO
        assert event["eventType"] == "AwsApiCall"
        assert event["eventCategory"] == "Management"
        assert event["managementEvent"] is True
        assert event["readOnly"] is False
        assert event["recipientAccountId"] == ACCOUNT
        assert event["awsRegion"] == REGION
        assert event["userIdentity"] == {"type": "Unknown", "principalId": "Anonymous"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["eventTime"])
        assert re.fullmatch(r"[0-9a-f-]{36}", event["eventID"])
        assert event["requestID"]
    assert first["requestParameters"] == {
        "authFlow": "USER_SRP_AUTH",
        "clientId": client_id,
        "authParameters": HIDDEN,
        "clientMetadata": {},
    }
    assert first["responseElements"] == {"challengeName": "PASSWORD_VERIFIER", "challengeParameters": HIDDEN}
    assert second["requestParameters"] == {  # no clientId: no public sample shows it on the answer
        "challengeName": "PASSWORD_VERIFIER",
        "challengeResponses": HIDDEN,
    }
    assert second["responseElements"] == {
        "challengeParameters": HIDDEN,
        "authenticationResult": {
            "accessToken": HIDDEN,
            "expiresIn": 3600,
            "tokenType": "Bearer",
            "refreshToken": HIDDEN,
            "idToken": HIDDEN,
        },
    }


def test_one_sign_in_shares_a_whole_second_and_history_lists_the_answer_first(
    url: str, idp: Any, ct: Any, s3: Any, clock: FakeClock
) -> None:
    """eventTime has whole seconds; a sign-in's two calls in one second come newest (the answer) first, clientId in
    clear on InitiateAuth only."""
    _trail(s3, ct)
    pool_id, client_id = _setup(idp)
    clock.pinned = datetime(2026, 11, 28, 8, 33, 15, 900_000, tzinfo=UTC)
    _browser_login(url, pool_id, client_id, PASSWORD)
    history = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": COGNITO}])
    sign_in = [e for e in history if e["EventName"] in ("InitiateAuth", "RespondToAuthChallenge")]
    assert [e["EventName"] for e in sign_in] == ["RespondToAuthChallenge", "InitiateAuth"]
    assert {e["EventTime"] for e in sign_in} == {datetime(2026, 11, 28, 8, 33, 15, tzinfo=UTC)}
    records = [json.loads(e["CloudTrailEvent"]) for e in sign_in]
    assert {r["eventTime"] for r in records} == {"2026-11-28T08:33:15Z"}
    assert {r["requestParameters"].get("clientId") for r in records} == {client_id, None}
    delivered = [
        r
        for rs in _log_objects(s3, "vehicleapp-trail-logs").values()
        for r in rs
        if r["eventName"] in ("InitiateAuth", "RespondToAuthChallenge")
    ]
    assert {(r["eventTime"], r["requestParameters"].get("clientId")) for r in delivered} == {
        ("2026-11-28T08:33:15Z", client_id),
        ("2026-11-28T08:33:15Z", None),
    }


def test_wrong_password_records_not_authorized(url: str, idp: Any, recorder: CloudTrailRecorder) -> None:
    """A wrong password records RespondToAuthChallenge with NotAuthorizedException and no response."""
    pool_id, client_id = _setup(idp)
    login = _browser_login(url, pool_id, client_id, "Wrong-Password-1!")
    assert login["second"].status_code == 400
    first, second = _cognito(recorder.events())
    assert "errorCode" not in first
    assert second["eventName"] == "RespondToAuthChallenge"
    assert second["errorCode"] == "NotAuthorizedException"
    assert second["errorMessage"] == "Incorrect username or password."
    assert second["responseElements"] is None
    keys = list(second)
    assert keys.index("userAgent") < keys.index("errorCode") < keys.index("requestParameters")


def test_no_secret_is_ever_recorded(url: str, idp: Any, ct: Any, s3: Any, recorder: CloudTrailRecorder) -> None:
    """Passwords, SRP values, claim, secret block, session and tokens appear nowhere: records, history, files."""
    _trail(s3, ct)
    pool_id, client_id = _setup(idp, confirmed=False)
    login = _browser_login(url, pool_id, client_id, TEMP_PASSWORD)
    needs_new = login["second"].json()
    assert needs_new["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = _raw(
        url,
        "RespondToAuthChallenge",
        {
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "ClientId": client_id,
            "Session": needs_new["Session"],
            "ChallengeResponses": {"USERNAME": "janedoe", "NEW_PASSWORD": PASSWORD},
        },
    )
    assert done.status_code == 200, done.text
    tokens = done.json()["AuthenticationResult"]
    refreshed = idp.initiate_auth(
        ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
    )["AuthenticationResult"]
    idp.get_user(AccessToken=refreshed["AccessToken"])
    secrets_seen = [
        TEMP_PASSWORD,
        PASSWORD,
        login["srp_a"],
        login["challenge"]["SRP_B"],
        login["challenge"]["SALT"],
        login["challenge"]["SECRET_BLOCK"],
        login["answers"]["PASSWORD_CLAIM_SIGNATURE"],
        needs_new["Session"],
        tokens["IdToken"],
        tokens["AccessToken"],
        tokens["RefreshToken"],
        refreshed["IdToken"],
        refreshed["AccessToken"],
    ]
    recorded = json.dumps(recorder.events())
    history = json.dumps(_lookup_all(ct), default=str)
    files = json.dumps(_log_objects(s3, "vehicleapp-trail-logs"))
    assert '"RespondToAuthChallenge"' in files
    names = [e["eventName"] for e in recorder.events()]
    assert names.count("RespondToAuthChallenge") == 2
    assert "GetUser" in names
    assert "AdminCreateUser" in names
    for secret in secrets_seen:
        assert secret not in recorded
        assert secret not in history
        assert secret not in files
    new_password = [e for e in recorder.events() if e["eventName"] == "RespondToAuthChallenge"][1]
    assert new_password["requestParameters"]["session"] == HIDDEN


def test_user_agent_and_source_ip_are_the_requests(url: str, idp: Any, recorder: CloudTrailRecorder) -> None:
    """userAgent is the request's User-Agent; sourceIPAddress is the peer, or X-Forwarded-For when set."""
    pool_id, client_id = _setup(idp)
    _browser_login(url, pool_id, client_id, PASSWORD)
    _browser_login(url, pool_id, client_id, PASSWORD, **{"X-Forwarded-For": "198.51.100.7, 10.0.0.1"})
    events = _cognito(recorder.events())
    assert {e["userAgent"] for e in events} == {BROWSER_UA}
    assert [e["sourceIPAddress"] for e in events] == ["127.0.0.1"] * 2 + ["198.51.100.7"] * 2


def test_signed_calls_show_the_iam_identity_and_signed_region(url: str, recorder: CloudTrailRecorder) -> None:
    """SDK calls carry an IAMUser identity with accountId and access key; awsRegion is the credential scope's."""
    west = _client(url, "cognito-idp", region="eu-west-1")
    pool_id = west.create_user_pool(PoolName="VehicleAppUserPool")["UserPool"]["Id"]
    west.describe_user_pool(UserPoolId=pool_id)
    create, describe = recorder.events()
    assert create["eventName"] == "CreateUserPool"
    assert create["readOnly"] is False
    assert create["awsRegion"] == "eu-west-1"
    identity = create["userIdentity"]
    assert identity["type"] == "IAMUser"
    assert identity["accountId"] == ACCOUNT
    assert identity["accessKeyId"] == "testing"
    assert identity["arn"].startswith(f"arn:aws:iam::{ACCOUNT}:")
    assert create["requestParameters"] == {"poolName": "VehicleAppUserPool"}
    assert create["responseElements"]["userPool"]["id"] == pool_id
    assert describe["readOnly"] is True
    assert describe["responseElements"] is None


def test_known_iam_user_key_and_other_account(url: str, recorder: CloudTrailRecorder) -> None:
    """A key of a moto IAM user shows that user; x-moto-account-id puts the event in that account."""
    iam = _client(url, "iam", account=OTHER_ACCOUNT)
    iam.create_user(UserName="student")
    key = iam.create_access_key(UserName="student")["AccessKey"]
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    idp.list_user_pools(MaxResults=10)
    (event,) = recorder.events()
    assert event["recipientAccountId"] == OTHER_ACCOUNT
    assert event["userIdentity"]["type"] == "IAMUser"
    assert event["userIdentity"]["userName"] == "student"
    assert event["userIdentity"]["arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:user/student"
    assert recorder.events(account_id=ACCOUNT) == []


def test_assumed_role_session_identity(url: str, ct: Any, recorder: CloudTrailRecorder) -> None:
    """Learner-lab style temporary credentials show an AssumedRole identity; history's Username is the session."""
    creds = _client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/voclabs", RoleSessionName="user3456789=student"
    )["Credentials"]
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    idp.list_user_pools(MaxResults=1)
    idp.list_user_pools(MaxResults=2)
    first, second = recorder.events()
    identity = first["userIdentity"]
    assert identity == second["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["accessKeyId"] == creds["AccessKeyId"]
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/voclabs/user3456789=student"
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/voclabs"
    found = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "user3456789=student"}])
    assert len(found) == 2
    assert {e["AccessKeyId"] for e in found} == {creds["AccessKeyId"]}


def test_unsigned_call_is_placed_in_the_pools_account_and_region(url: str, recorder: CloudTrailRecorder) -> None:
    """A browser login against a pool in another account and region is that account's and region's event."""
    idp = _client(url, "cognito-idp", region="eu-west-1", account=OTHER_ACCOUNT)
    pool_id, client_id = _setup(idp)
    recorder.clear()
    _browser_login(url, pool_id, client_id, PASSWORD)
    events = recorder.events(account_id=OTHER_ACCOUNT, region="eu-west-1")
    assert [e["eventName"] for e in events] == ["InitiateAuth", "RespondToAuthChallenge"]
    assert recorder.events(account_id=ACCOUNT) == []
    west_ct = _client(url, "cloudtrail", region="eu-west-1", account=OTHER_ACCOUNT)
    assert len(_lookup_all(west_ct)) == 2
    assert _lookup_all(_client(url, "cloudtrail", account=OTHER_ACCOUNT)) == []


def test_unknown_client_is_recorded_with_its_error(url: str, recorder: CloudTrailRecorder) -> None:
    """An InitiateAuth naming no existing client is recorded with moto's ResourceNotFoundException."""
    resp = _raw(
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": "nosuchclient",
            "AuthParameters": {"USERNAME": "x", "SRP_A": "ab"},
        },
    )
    assert resp.status_code == 400
    (event,) = recorder.events()
    assert event["errorCode"] == "ResourceNotFoundException"
    assert event["awsRegion"] == REGION


def test_non_cognito_calls_are_not_recorded(url: str, s3: Any, ct: Any, recorder: CloudTrailRecorder) -> None:
    """S3, CloudTrail and IAM calls are not recorded (only Cognito user-pool calls and EC2 starts and stops are)."""
    s3.create_bucket(Bucket="some-bucket")
    ct.describe_trails()
    _client(url, "iam").list_users()
    _lookup_all(ct)
    assert recorder.events() == []


def test_ec2_start_and_stop_are_recorded(url: str, ct: Any, s3: Any, recorder: CloudTrailRecorder) -> None:
    """StopInstances and StartInstances are ec2.amazonaws.com events naming the instance;
    other EC2 calls are not recorded."""
    _trail(s3, ct)
    ec2 = _client(url, "ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance])
    ec2.start_instances(InstanceIds=[instance])
    ec2.describe_instances()
    stop, start = recorder.events()
    assert [stop["eventName"], start["eventName"]] == ["StopInstances", "StartInstances"]
    for event in (stop, start):
        assert event["eventSource"] == "ec2.amazonaws.com"
        assert event["awsRegion"] == REGION
        assert event["readOnly"] is False
        assert event["managementEvent"] is True
        assert "errorCode" not in event
        assert event["requestParameters"]["instancesSet"] == {"items": [{"instanceId": instance}]}
        assert event["userIdentity"]["type"] == "IAMUser"
        assert event["recipientAccountId"] == ACCOUNT
    (started,) = start["responseElements"]["instancesSet"]["items"]
    assert started == {
        "instanceId": instance,
        "currentState": {"code": 0, "name": "pending"},
        "previousState": {"code": 80, "name": "stopped"},
    }
    assert stop["responseElements"]["instancesSet"]["items"][0]["currentState"] == {"code": 64, "name": "stopping"}
    by_instance = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": instance}])
    assert [e["EventName"] for e in by_instance] == ["StartInstances", "StopInstances"]
    assert by_instance[0]["Resources"] == [{"ResourceType": "AWS::EC2::Instance", "ResourceName": instance}]
    (only,) = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StartInstances"}])
    assert json.loads(only["CloudTrailEvent"]) == start
    delivered = [r["eventName"] for rs in _log_objects(s3, "vehicleapp-trail-logs").values() for r in rs]
    assert sorted(delivered) == ["StartInstances", "StopInstances"]


def test_failed_ec2_start_is_recorded_with_its_error(url: str, recorder: CloudTrailRecorder) -> None:
    """A StartInstances of an unknown instance is recorded with EC2's error code and no response."""
    with pytest.raises(ClientError):
        _client(url, "ec2").start_instances(InstanceIds=["i-0123456789abcdef0"])
    (event,) = recorder.events()
    assert event["eventName"] == "StartInstances"
    assert event["errorCode"] == "InvalidInstanceID.NotFound"
    assert event["responseElements"] is None


def test_moto_reset_clears_the_history(url: str, idp: Any, recorder: CloudTrailRecorder) -> None:
    """POST /moto-api/reset forgets the recorded events too."""
    idp.list_user_pools(MaxResults=10)
    assert recorder.events()
    requests.post(url + "/moto-api/reset", timeout=10).raise_for_status()
    assert recorder.events() == []


# ---------------------------------------------------------------------- LookupEvents


def test_lookup_filters_by_event_source_and_name(url: str, idp: Any, ct: Any, recorder: CloudTrailRecorder) -> None:
    """LookupEvents filters on EventSource and EventName and carries the record as CloudTrailEvent."""
    pool_id, client_id = _setup(idp)
    _browser_login(url, pool_id, client_id, "Wrong-Password-1!")
    by_source = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": COGNITO}])
    assert len(by_source) == len(recorder.events()) == 6
    assert (
        _lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "s3.amazonaws.com"}]) == []
    )
    (failed,) = _lookup_all(
        ct, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RespondToAuthChallenge"}]
    )
    record = json.loads(failed["CloudTrailEvent"])
    assert record["errorCode"] == "NotAuthorizedException"
    assert failed["EventId"] == record["eventID"]
    assert failed["EventSource"] == COGNITO
    assert failed["ReadOnly"] == "false"
    assert failed["Resources"] == []
    assert "Username" not in failed
    assert "AccessKeyId" not in failed
    assert isinstance(failed["EventTime"], datetime)
    (same,) = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": failed["EventId"]}])
    assert same == failed
    signed = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": "testing"}])
    assert {e["EventName"] for e in signed} == {
        "CreateUserPool",
        "CreateUserPoolClient",
        "AdminCreateUser",
        "AdminSetUserPassword",
    }
    assert {e["Username"] for e in signed} == {"moto"}
    read = _lookup_all(ct, LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "true"}])
    assert read == []


def test_lookup_pages_newest_first(idp: Any, ct: Any, clock: FakeClock) -> None:
    """MaxResults/NextToken page through the events, newest first; the default page is 50."""
    base = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    for minute in range(7):
        clock.pinned = base + timedelta(minutes=minute)
        idp.list_user_pools(MaxResults=minute + 1)
    clock.pinned = base + timedelta(hours=1)
    first = ct.lookup_events(MaxResults=3)
    times = [e["EventTime"] for e in first["Events"]]
    assert times == sorted(times, reverse=True)
    assert len(times) == 3
    assert times[0] == base + timedelta(minutes=6)
    second = ct.lookup_events(MaxResults=3, NextToken=first["NextToken"])
    third = ct.lookup_events(MaxResults=3, NextToken=second["NextToken"])
    assert "NextToken" not in third
    assert len(third["Events"]) == 1
    seen = [
        json.loads(e["CloudTrailEvent"])["requestParameters"]["maxResults"]
        for page in (first, second, third)
        for e in page["Events"]
    ]
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert len(ct.lookup_events()["Events"]) == 7
    with pytest.raises(ClientError) as err:
        ct.lookup_events(
            MaxResults=3,
            NextToken=first["NextToken"],
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListUserPools"}],
        )
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_lookup_default_page_is_fifty(idp: Any, ct: Any) -> None:
    """Without MaxResults a page holds 50 events; more than 50 is refused."""
    for _ in range(51):
        idp.list_user_pools(MaxResults=1)
    page = ct.lookup_events()
    assert len(page["Events"]) == 50
    assert "NextToken" in page
    assert len(ct.lookup_events(NextToken=page["NextToken"])["Events"]) == 1
    with pytest.raises(ClientError) as err:
        ct.lookup_events(MaxResults=51)
    assert err.value.response["Error"]["Code"] == "InvalidMaxResultsException"


def test_lookup_honours_time_range_and_retention(idp: Any, ct: Any, clock: FakeClock) -> None:
    """StartTime/EndTime bound the events (inclusive); events older than 90 days are gone."""
    base = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    for minute in (0, 10, 20):
        clock.pinned = base + timedelta(minutes=minute)
        idp.list_user_pools(MaxResults=minute + 1)
    clock.pinned = base + timedelta(hours=1)
    window = _lookup_all(ct, StartTime=base + timedelta(minutes=10), EndTime=base + timedelta(minutes=20))
    assert [e["EventTime"] for e in window] == [base + timedelta(minutes=20), base + timedelta(minutes=10)]
    assert len(_lookup_all(ct, StartTime=base + timedelta(minutes=11))) == 1
    assert len(_lookup_all(ct, EndTime=base + timedelta(minutes=5))) == 1
    with pytest.raises(ClientError) as err:
        ct.lookup_events(StartTime=base + timedelta(minutes=20), EndTime=base)
    assert err.value.response["Error"]["Code"] == "InvalidTimeRangeException"
    clock.pinned = base + timedelta(days=90, minutes=15)
    assert len(_lookup_all(ct)) == 1


def test_lookup_refuses_two_attributes(ct: Any) -> None:
    """Only one lookup attribute is allowed, as in AWS."""
    with pytest.raises(ClientError) as err:
        ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": COGNITO},
                {"AttributeKey": "EventName", "AttributeValue": "InitiateAuth"},
            ]
        )
    assert err.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


# ---------------------------------------------------------------------- log files


def test_logging_trail_gets_log_files(url: str, idp: Any, ct: Any, s3: Any, recorder: CloudTrailRecorder) -> None:
    """A logging trail gets gzip {"Records": [...]} files under the documented key layout, same records."""
    arn = _trail(s3, ct)
    pool_id, client_id = _setup(idp)
    _browser_login(url, pool_id, client_id, "Wrong-Password-1!")
    files = _log_objects(s3, "vehicleapp-trail-logs")
    assert files
    today = datetime.now(UTC)
    for key in files:
        match = KEY_LAYOUT.match(key)
        assert match, key
        assert match["prefix"] is None
        assert match["account"] == ACCOUNT
        assert match["region"] == REGION
        assert (int(match["y"]), int(match["m"]), int(match["d"])) == (today.year, today.month, today.day)
    delivered = [record for records in files.values() for record in records]
    assert sorted(delivered, key=lambda r: r["eventID"]) == sorted(recorder.events(), key=lambda r: r["eventID"])
    status = ct.get_trail_status(Name=arn)
    assert status["IsLogging"] is True
    assert "LatestDeliveryError" not in status
    assert abs(status["LatestDeliveryTime"] - datetime.now(UTC)) < timedelta(minutes=1)


def test_key_prefix_and_multi_region_trail(url: str, ct: Any, s3: Any, recorder: CloudTrailRecorder) -> None:
    """S3KeyPrefix is honoured; a multi-region trail gets other regions' events under their region."""
    _trail(s3, ct, S3KeyPrefix="audit/", IsMultiRegionTrail=True)
    _client(url, "cognito-idp", region="ap-southeast-2").list_user_pools(MaxResults=5)
    (key,) = _log_objects(s3, "vehicleapp-trail-logs")
    match = KEY_LAYOUT.match(key)
    assert match
    assert match["prefix"] == "audit"
    assert match["region"] == "ap-southeast-2"


def test_single_region_trail_ignores_other_regions(url: str, ct: Any, s3: Any) -> None:
    """A single-region trail gets no files for another region's events."""
    _trail(s3, ct)
    _client(url, "cognito-idp", region="eu-west-1").list_user_pools(MaxResults=5)
    assert _log_objects(s3, "vehicleapp-trail-logs") == {}


def test_trail_not_logging_gets_no_files(url: str, idp: Any, ct: Any, s3: Any, recorder: CloudTrailRecorder) -> None:
    """A trail never started, or stopped, gets no files, while event history still records."""
    _trail(s3, ct, start=False)
    idp.list_user_pools(MaxResults=5)
    assert _log_objects(s3, "vehicleapp-trail-logs") == {}
    ct.start_logging(Name="VehicleApp-Trail")
    ct.stop_logging(Name="VehicleApp-Trail")
    idp.list_user_pools(MaxResults=6)
    assert _log_objects(s3, "vehicleapp-trail-logs") == {}
    assert len(recorder.events()) == 2
    assert len(_lookup_all(ct)) == 2


def test_deleted_bucket_gets_nothing_and_status_says_so(
    url: str, idp: Any, ct: Any, s3: Any, recorder: CloudTrailRecorder
) -> None:
    """With its bucket deleted, a logging trail delivers nothing and GetTrailStatus reports NoSuchBucket."""
    _trail(s3, ct)
    assert "LatestDeliveryTime" not in ct.get_trail_status(Name="VehicleApp-Trail")
    s3.delete_bucket(Bucket="vehicleapp-trail-logs")
    assert ct.get_trail_status(Name="VehicleApp-Trail")["LatestDeliveryError"] == "NoSuchBucket"
    pool_id, client_id = _setup(idp)
    login = _browser_login(url, pool_id, client_id, PASSWORD)
    assert login["second"].status_code == 200
    assert recorder.flush() == []
    status = ct.get_trail_status(Name="VehicleApp-Trail")
    assert status["LatestDeliveryError"] == "NoSuchBucket"
    assert "LatestDeliveryTime" not in status
    assert status["LatestDeliveryAttemptTime"]
    s3.create_bucket(Bucket="vehicleapp-trail-logs")
    assert _log_objects(s3, "vehicleapp-trail-logs") == {}
    assert len(_lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": COGNITO}])) == 6


def test_log_file_key_format() -> None:
    """The key follows AccountID_CloudTrail_Region_YYYYMMDDTHHmmZ_Unique16.json.gz under AWSLogs/."""
    moment = datetime(2015, 8, 1, 2, 10, 59, tzinfo=UTC)
    key = log_file_key("111122223333", "us-east-2", moment, "logs/")
    assert key.startswith(
        "logs/AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_"
    )
    assert KEY_LAYOUT.match(key)


# ---------------------------------------------------------------------- the grader reading hostile log files


class _HistoryRefused:
    """The grader's read-only AWS layer with CloudTrail event history refused, as the lab's policy may do."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self.target = aws.target

    def call(self, service: str, operation: str, action: str, **params: Any) -> Any:
        if operation == "lookup_events":
            from grader.errors import GraderError

            raise GraderError(f"AWS denied the grader permission to {action}.", kind="access-denied")
        return self.aws.call(service, operation, action, **params)

    def paginate(self, service: str, operation: str, key: str, action: str, **params: Any) -> Any:
        return self.aws.paginate(service, operation, key, action, **params)


def test_the_graders_log_reader_skips_junk_beside_the_real_log_files(
    url: str, idp: Any, ct: Any, s3: Any, recorder: CloudTrailRecorder
) -> None:
    """Through the real S3 API (a listing from the first day wanted, bodies streamed a chunk at a time), junk put
    beside the trail's real log files (a JSON list, plain text, a gzip bomb of 300 MiB) is skipped and counted, and
    the browser's sign-in in the real files is found."""
    import zlib

    from grader.aws import ReadOnlyAWS
    from grader.observe.cloudtrail import read_auth_events
    from grader.target import Target
    from grader.trail import Trail, successful_sign_ins

    _trail(s3, ct)
    pool_id, client_id = _setup(idp)
    _browser_login(url, pool_id, client_id, PASSWORD)
    real = sorted(_log_objects(s3, "vehicleapp-trail-logs"))
    folder = real[-1].rsplit("/", 1)[0]
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(packer.compress(b"\0" * 1024 * 1024) for _ in range(300)) + packer.flush()
    junk = {"JUNKLIST": gzip.compress(b'["not", "a", "dict"]'), "JUNKTEXT": b"plain text", "JUNKBOMB": bomb}
    for name, body in junk.items():
        key = f"{folder}/{ACCOUNT}_CloudTrail_{REGION}_20991231T2359Z_{name:Z<16}.json.gz"
        s3.put_object(Bucket="vehicleapp-trail-logs", Key=key, Body=body)
    trail = Trail("VehicleApp-Trail", "arn", REGION, False, "vehicleapp-trail-logs", "")
    aws = _HistoryRefused(ReadOnlyAWS.for_target(Target(endpoint_url=url)))
    found = read_auth_events(aws, [trail], 90, ACCOUNT)  # type: ignore[arg-type]
    assert found.source.startswith("the trail's log files")
    (signed_in,) = successful_sign_ins(found.events)
    assert signed_in.client_id == client_id
    assert found.skipped_files == 3
    assert found.skipped_why == "3 files were not CloudTrail logs, so the grader skipped them."


def _hosted_ui_request(method: str, path: str, query: str, body: bytes = b"") -> dict[str, Any]:
    import io

    return {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": "198.51.100.7",
        "HTTP_USER_AGENT": BROWSER_UA, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
    }  # fmt: skip


def test_hosted_ui_requests_are_recorded_as_aws_service_events(
    url: str, idp: Any, ct: Any, recorder: CloudTrailRecorder
) -> None:
    """Hosted-UI requests answered through hosted_ui_call are Login_GET / Login_POST service events shaped as
    AWS writes them (secrets hidden), never InitiateAuth, so the grader counts no website sign-in from them."""
    from grader.observe.cloudtrail import read_auth_events
    from grader.observe.event_history import LookupPacer
    from grader.sandbox.cloudtrail import hosted_ui_call
    from grader.trail import successful_sign_ins

    pool_id, client_id = _setup(idp)
    host = "vehicleapp.auth.us-east-1.amazoncognito.com"
    query = f"client_id={client_id}&response_type=token&redirect_uri=https%3A%2F%2Fexample.com"
    form = b"_csrf=abc&username=janedoe&password=Ilove2SeeTheTemple%21%21&cognitoAsfData=x"

    def page(start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html></html>"]

    for method, body in (("GET", b""), ("POST", form)):
        answered = hosted_ui_call(
            _hosted_ui_request(method, "/login", query, body), lambda *a: None, page,
            host=host, endpoint="/login", pool_id=pool_id, recorder=recorder,
        )  # fmt: skip
        assert list(answered) == [b"<html></html>"]
    get, post = [e for e in recorder.events() if e["eventName"] in ("Login_GET", "Login_POST")]
    assert (get["eventName"], post["eventName"]) == ("Login_GET", "Login_POST")
    for event in (get, post):
        assert event["eventType"] == "AwsServiceEvent"
        assert event["requestParameters"] is None
        assert event["userIdentity"] == {"accountId": ACCOUNT}
        assert event["additionalEventData"]["userPoolId"] == pool_id
        assert event["additionalEventData"]["requestParameters"]["client_id"] == [client_id]
    assert get["errorCode"] == ""
    assert "errorCode" not in post
    hidden = post["additionalEventData"]["requestParameters"]
    assert hidden["password"] == [HIDDEN]
    assert hidden["username"] == [HIDDEN]
    assert hidden["_csrf"] == [HIDDEN]
    assert "Ilove2SeeTheTemple" not in json.dumps(recorder.events())
    from grader.aws import ReadOnlyAWS
    from grader.target import Target

    found = read_auth_events(ReadOnlyAWS.for_target(Target(endpoint_url=url)), [], 90, ACCOUNT, pacer=LookupPacer(0))
    assert successful_sign_ins(found.events) == []
    assert found.incomplete == ""


@pytest.mark.parametrize("denied", [False, True], ids=["key-allowed", "decrypt-denied"])
def test_sse_kms_log_files_refused_for_want_of_kms_decrypt_name_the_key(
    url: str, idp: Any, ct: Any, s3: Any, recorder: CloudTrailRecorder, denied: bool
) -> None:
    """A trail encrypting with a KMS key delivers SSE-KMS files; once the sandbox denies kms:Decrypt on that key, S3
    refuses them and the grader's error (event history refused too) names the key; allowed, the sign-in is found."""
    from grader.aws import ReadOnlyAWS
    from grader.errors import GraderError
    from grader.observe.cloudtrail import read_auth_events, read_trails
    from grader.target import Target
    from grader.trail import successful_sign_ins

    key_arn = _client(url, "kms").create_key(Description="CloudTrail logs")["KeyMetadata"]["Arn"]
    _trail(s3, ct, KmsKeyId=key_arn)
    pool_id, client_id = _setup(idp)
    _browser_login(url, pool_id, client_id, PASSWORD)
    stored = s3.list_objects_v2(Bucket="vehicleapp-trail-logs")["Contents"][0]
    head = s3.head_object(Bucket="vehicleapp-trail-logs", Key=stored["Key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    aws = _HistoryRefused(ReadOnlyAWS.for_target(Target(endpoint_url=url)))
    (trail,), _ = read_trails(aws, "VehicleApp-Trail")  # type: ignore[arg-type]
    assert trail.kms_key == key_arn
    if not denied:
        found = read_auth_events(aws, [trail], 90, ACCOUNT)  # type: ignore[arg-type]
        assert [e.client_id for e in successful_sign_ins(found.events)] == [client_id]
        return
    recorder.deny_decrypt(key_arn)
    with pytest.raises(ClientError) as direct:
        s3.get_object(Bucket="vehicleapp-trail-logs", Key=stored["Key"])
    assert direct.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(GraderError) as refused:
        read_auth_events(aws, [trail], 90, ACCOUNT)  # type: ignore[arg-type]
    assert refused.value.kind == "access-denied"
    assert key_arn in refused.value.message
    assert "kms:Decrypt" in refused.value.message

"""The grader only reads: a full grade sends no write, and a write is refused before it is sent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from grader.aws import READS, SERVICES, ReadOnlyAWS, is_read
from grader.errors import GraderError, WriteRefused
from grader.pipeline import grade
from grader.sandbox import Sandbox
from grader.sandbox.demo import grade_scenario, set_up
from grader.sandbox.provision import sandbox_client
from grader.sandbox.scenarios import load_scenario
from grader.spec import load_spec
from grader.target import Target
from tests.recording_endpoint import recording_endpoint

ROOT = Path(__file__).parents[1]


@pytest.mark.browser
def test_a_full_grade_sends_only_reads(sandbox: Sandbox) -> None:
    """Every signed AWS call the sandbox received while grading was a read; the browser only signed in."""
    grade_scenario(sandbox, "finished", None)  # provisions (writes), then grades
    provisioned = len(sandbox.gateway.calls)
    sandbox.gateway.calls.clear()
    calls = _grade_only(sandbox)
    signed = [c for c in calls if c.signed]
    assert provisioned > 0
    assert signed, "the grade made no AWS call at all"
    # S3 is a REST API: its reads are GET and HEAD requests.
    writes = [
        c
        for c in signed
        if not (c.method in {"GET", "HEAD"} if c.protocol == "rest" else is_read(c.service, c.operation))
    ]
    assert writes == []
    browser = {c.operation for c in calls if not c.signed and c.protocol == "json"}
    assert browser == {"InitiateAuth", "RespondToAuthChallenge"}, "the website's own login, as a student makes it"


@pytest.mark.browser
def test_the_grader_never_changes_a_temporary_password(sandbox: Sandbox) -> None:
    """Grading an unconfirmed janedoe through the hosted UI fails the check and leaves her FORCE_CHANGE_PASSWORD."""
    made = set_up(sandbox, load_scenario("janedoe-not-confirmed"))
    idp = sandbox_client(sandbox.url, "cognito-idp")
    assert idp.admin_get_user(UserPoolId=made.pool_id, Username="janedoe")["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    result = grade(Target(endpoint_url=sandbox.url, student="readonly"), load_spec(), None)
    hosted = next(c for c in result.checks if c.id == "hostedui.implicit_callback")
    assert hosted.status == "fail"
    assert "temporary password" in hosted.message
    assert idp.admin_get_user(UserPoolId=made.pool_id, Username="janedoe")["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def _grade_only(sandbox: Sandbox) -> list:
    grade(Target(endpoint_url=sandbox.url, student="readonly"), load_spec(), None)
    return list(sandbox.gateway.calls)


def test_a_write_is_refused_before_it_is_sent(sandbox: Sandbox) -> None:
    """Calling a mutating API through the grader's AWS layer raises and reaches no server."""
    aws = ReadOnlyAWS.for_target(Target(endpoint_url=sandbox.url))
    sandbox.gateway.calls.clear()
    with pytest.raises(WriteRefused, match="only reads"):
        aws.client("cognito-idp").create_user_pool(PoolName="written-by-grader")
    with pytest.raises(WriteRefused):
        aws.call("ec2", "terminate_instances", "stop an instance", InstanceIds=["i-1"])
    assert sandbox.gateway.calls == []
    assert ("cognito-idp", "CreateUserPool") in aws.calls


@pytest.mark.parametrize(
    ("service", "operation", "allowed"),
    [
        ("cognito-idp", "DescribeUserPool", True),
        ("cognito-idp", "ListUsers", True),
        ("cloudtrail", "LookupEvents", True),
        ("s3", "HeadBucket", True),
        ("s3", "ListObjectsV2", True),
        ("sts", "GetCallerIdentity", True),
        ("cognito-idp", "DescribeManagedLoginBrandingByClient", True),
        ("cognito-idp", "CreateManagedLoginBranding", False),
        ("cognito-idp", "UpdateManagedLoginBranding", False),
        ("cognito-idp", "AdminSetUserPassword", False),
        ("cognito-idp", "UpdateUserPoolClient", False),
        ("cognito-idp", "InitiateAuth", False),
        ("cognito-idp", "GetUserAttributeVerificationCode", False),
        ("cognito-idp", "ListUserPoolClientSecrets", False),
        ("cognito-idp", "GetTokensFromRefreshToken", False),
        ("cognito-idp", "AdminGetUser", False),
        ("ec2", "GetPasswordData", False),
        ("ec2", "GetConsoleOutput", False),
        ("ec2", "GetConsoleScreenshot", False),
        ("sts", "GetWebIdentityToken", False),
        ("sts", "GetDelegatedAccessToken", False),
        ("sts", "GetSessionToken", False),
        ("s3", "ListBuckets", False),
        ("iam", "ListUsers", False),
        ("s3control", "GetBucket", False),
        ("s3", "PutObject", False),
    ],
)
def test_read_rule(service: str, operation: str, allowed: bool) -> None:
    """Only the listed reads pass: a name like a read (Get..., List...) is not enough."""
    assert is_read(service, operation) is allowed


def _readme_policy_actions() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Permissions it needs") :]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block, "the README's permission policy is a ```json block under 'Permissions it needs'"
    policy = json.loads(block.group(1))
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_the_allowlist_is_the_readmes_permission_policy() -> None:
    """Every allowed operation is authorised by an action of the README's policy, and every action there is used."""
    assert set(READS.values()) == _readme_policy_actions()
    session = botocore.session.get_session()
    for service, operation in READS:
        assert operation in session.get_service_model(service).operation_names, (service, operation)


_CALL = re.compile(r'(?:aws|self)\.(?:call|paginate)\(\s*"([a-z0-9-]+)",\s*"([a-z0-9_]+)"')
_DIRECT = re.compile(r'(?:aws|self)\.client\("([a-z0-9-]+)"\)\.([a-z0-9_]+)\(')


def test_the_allowlist_is_exactly_what_the_grader_calls() -> None:
    """Every AWS call in grader/ (outside the sandbox) is in the allowlist, and the allowlist holds nothing else."""
    used: set[tuple[str, str]] = set()
    for path in (ROOT / "grader").rglob("*.py"):
        if "sandbox" in path.relative_to(ROOT / "grader").parts:
            continue
        text = path.read_text(encoding="utf-8")
        used |= {(m.group(1), m.group(2)) for m in _CALL.finditer(text)}
        used |= {(m.group(1), m.group(2)) for m in _DIRECT.finditer(text)}
    keys = {"region_name": "us-east-1", "aws_access_key_id": "k", "aws_secret_access_key": "s"}
    mapping = {s: boto3.client(s, **keys).meta.method_to_api_mapping for s in SERVICES}
    assert {(service, mapping[service][method]) for service, method in used} == set(READS)


def _operations() -> list[tuple[str, str]]:
    session = botocore.session.get_session()
    return [(s, op) for s in sorted(SERVICES) for op in session.get_service_model(s).operation_names]


def test_every_other_operation_of_the_graded_services_is_refused_before_sending() -> None:
    """botocore's models list every operation of the five services: on the grader's own clients each one not
    allowed raises WriteRefused at the first event of an API call (provide-client-params) and at the last one
    before sending (before-call), each allowed read passes both, and nothing reaches the endpoint."""
    operations = _operations()
    assert len(operations) > 1000, "botocore's service models were not read"
    refused: dict[str, set[tuple[str, str]]] = {"provide-client-params": set(), "before-call": set()}
    stumbled: set[tuple[str, str]] = set()
    misworded: list[str] = []
    with recording_endpoint() as endpoint:
        aws = ReadOnlyAWS.for_target(Target(endpoint_url=endpoint.url))
        for service, operation in operations:
            client = aws.client(service)
            model = client.meta.service_model.operation_model(operation)
            for stage, seen in refused.items():
                event = f"{stage}.{client.meta.service_model.service_id.hyphenize()}.{operation}"
                try:
                    client.meta.events.emit(event, model=model, params={}, request_signer=None, context={})
                except WriteRefused as exc:
                    seen.add((service, operation))
                    if not exc.message.startswith(
                        f"The grader refused to call {service}:{operation} because it only reads"
                    ):
                        misworded.append(exc.message)
                except Exception:  # noqa: BLE001 - a botocore handler of this very operation wanted real params
                    stumbled.add((service, operation))
        assert endpoint.requests == []
    assert misworded == []
    every = set(operations)
    assert refused["provide-client-params"] == every - set(READS)
    assert stumbled.isdisjoint(refused["before-call"])
    assert len(stumbled - set(READS)) < 10
    assert refused["before-call"] == every - set(READS) - stumbled


@pytest.mark.parametrize(
    ("service", "method", "params"),
    [
        ("sts", "get_web_identity_token", {"Audience": ["a"], "SigningAlgorithm": "RS256"}),
        ("sts", "get_delegated_access_token", {"TradeInToken": "t"}),
        ("ec2", "get_console_output", {"InstanceId": "i-1"}),
        ("ec2", "get_console_screenshot", {"InstanceId": "i-1"}),
        ("cognito-idp", "admin_get_user", {"UserPoolId": "us-east-1_x", "Username": "janedoe"}),
        ("s3", "get_bucket_policy", {"Bucket": "b"}),
    ],
)
def test_reads_that_mint_or_reveal_are_refused_before_sending(service: str, method: str, params: Any) -> None:
    """Operations named like reads that mint credentials or show an instance's console never leave the grader;
    an allowed read against the same endpoint does (so the endpoint would have seen them)."""
    with recording_endpoint() as endpoint:
        aws = ReadOnlyAWS.for_target(Target(endpoint_url=endpoint.url))
        with pytest.raises(WriteRefused, match="only reads"):
            aws.call(service, method, "try a refused call", **params)
        assert endpoint.requests == []
        with pytest.raises(GraderError, match="denied the grader permission"):
            aws.identity()
        assert len(endpoint.requests) == 1

"""The grader only reads: a full grade sends no write, and a write is refused before it is sent."""

from __future__ import annotations

import pytest

from grader.aws import ReadOnlyAWS, is_read
from grader.errors import WriteRefused
from grader.run import grade
from grader.sandbox import Sandbox
from grader.sandbox.demo import grade_scenario, set_up
from grader.sandbox.provision import sandbox_client
from grader.sandbox.scenarios import load_scenario
from grader.spec import load_spec
from grader.target import Target


@pytest.mark.browser
def test_a_full_grade_sends_only_reads(sandbox: Sandbox) -> None:
    """Every signed AWS call the sandbox received while grading was a read; the browser only signed in."""
    grade_scenario(sandbox, "finished", None)  # provisions (writes), then grades
    provisioned = len(sandbox.gateway.calls)
    sandbox.gateway.calls.clear()
    calls = _grade_only(sandbox)
    signed = [c for c in calls if c.signed]
    assert provisioned > 0 and signed, "the grade made no AWS call at all"
    # S3 is a REST API: its reads are GET and HEAD requests.
    writes = [
        c for c in signed
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
    assert hosted.status == "fail" and "temporary password" in hosted.message
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
        ("sts", "GetCallerIdentity", True),
        ("cognito-idp", "AdminSetUserPassword", False),
        ("cognito-idp", "UpdateUserPoolClient", False),
        ("cognito-idp", "InitiateAuth", False),
        ("cognito-idp", "GetUserAttributeVerificationCode", False),
        ("cognito-idp", "ListUserPoolClientSecrets", False),
        ("cognito-idp", "GetTokensFromRefreshToken", False),
        ("ec2", "GetPasswordData", False),
        ("iam", "ListUsers", False),
        ("s3", "PutObject", False),
    ],
)
def test_read_rule(service: str, operation: str, allowed: bool) -> None:
    """Only reads (Describe/Get/List/Lookup/Head) on graded services pass, minus token minting and secrets."""
    assert is_read(service, operation) is allowed

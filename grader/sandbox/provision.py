"""Does the lab in the sandbox: the API calls the console makes, from scenario data.

This is the sandbox's own writer and is never pointed at a student's account: it only accepts
a local endpoint URL.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3

from grader.target import SANDBOX_KEY

# One of the images moto knows; any AMI id of the region works the same for the lab.
SANDBOX_AMI = "ami-12c6146b"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ProvisionedLab:
    """What the provisioning made: the ids a student would paste into the website."""

    instance_dns: str = ""
    instance_running: bool = False
    pool_id: str = ""
    client_id: str = ""
    domain: str = ""


# The keys provisioning signs with while `in_account` is in effect (None: the sandbox's default account).
_ACCOUNT_KEYS: ContextVar[dict[str, str] | None] = ContextVar("sandbox_account_keys", default=None)
CLASS_ROLE = "vehicle-lab-grader-read"
"""The role a class's roster names in each sandbox account (the sandbox lets any role be assumed)."""


def sandbox_client(endpoint_url: str, service: str, region: str = "us-east-1") -> Any:
    host = urlsplit(endpoint_url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise ValueError(f"provisioning only writes to a local sandbox, not {endpoint_url}")
    keys = _ACCOUNT_KEYS.get() or {"aws_access_key_id": SANDBOX_KEY, "aws_secret_access_key": SANDBOX_KEY}
    return boto3.client(  # type: ignore[call-overload]  # boto3-stubs types only literal service names
        service, endpoint_url=endpoint_url, region_name=region, **keys
    )


def role_arn(account_id: str) -> str:
    """The ARN of the class's role in a sandbox account."""
    return f"arn:aws:iam::{account_id}:role/{CLASS_ROLE}"


@contextlib.contextmanager
def in_account(endpoint_url: str, account_id: str) -> Iterator[None]:
    """Provision into the sandbox account `account_id` (a store of its own), as the class's role assumed there."""
    assumed = sandbox_client(endpoint_url, "sts").assume_role(
        RoleArn=role_arn(account_id), RoleSessionName="provision"
    )["Credentials"]
    token = _ACCOUNT_KEYS.set(
        {
            "aws_access_key_id": assumed["AccessKeyId"],
            "aws_secret_access_key": assumed["SecretAccessKey"],
            "aws_session_token": assumed["SessionToken"],
        }
    )
    try:
        yield
    finally:
        _ACCOUNT_KEYS.reset(token)


def typo_of(dns: str) -> str:
    """The same name with one digit dropped, as a hurried copy would have it."""
    return re.sub(
        r"(ec2-\d+-\d+-\d+-)(\d)(\d*)",
        lambda m: m.group(1) + m.group(3) if m.group(3) else m.group(1) + "9" + m.group(2),
        dns,
        count=1,
    )


# Confirms a new user as the student does, by changing the temporary password (on the hosted UI):
# called with what was made so far, the user's name, temporary and new password; False when it
# could not be done that way (provisioning then sets the password with the admin API).
ConfirmUser = Callable[[ProvisionedLab, str, str, str], bool]


RESTARTS = 5
"""Restarts at most, to draw a new public address clearly apart from the former one (see _restart)."""


def provision(
    endpoint_url: str, lab: dict[str, Any], region: str = "us-east-1", *, confirm_user: ConfirmUser | None = None
) -> ProvisionedLab:
    """Create the lab's resources in the sandbox as the lab text would."""
    ec2 = sandbox_client(endpoint_url, "ec2", region)
    idp = sandbox_client(endpoint_url, "cognito-idp", region)

    instance_dns = _instance(ec2, lab["instance"])
    former_dns = ""
    if lab["instance"]["state"] == "restarted":  # a new lab session: stopped, started, a new public name
        former_dns, instance_dns = instance_dns, _restart(ec2, instance_dns)
    running = lab["instance"]["state"] in {"running", "restarted"}
    if lab.get("cloudtrail"):
        _trail(endpoint_url, region, lab["cloudtrail"])
    pool_spec = lab.get("pool")
    if not pool_spec:
        return ProvisionedLab(instance_dns=instance_dns, instance_running=running)
    values = {
        "instance_dns": instance_dns,
        "instance_dns_typo": typo_of(instance_dns),
        "former_instance_dns": former_dns,
    }

    pool_id = _pool(idp, pool_spec)
    for _ in range(int(pool_spec.get("copies", 1)) - 1):
        idp.create_user_pool(PoolName=pool_spec["name"])  # a bare first attempt left behind
    if pool_spec.get("domain"):
        _domain(idp, pool_spec, pool_id)
    client_id = ""
    if lab.get("client"):
        client_id = _client(idp, pool_id, lab["client"], values)
        if lab["client"].get("branding_style", True):
            idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True)
    made = ProvisionedLab(instance_dns, running, pool_id, client_id, pool_spec.get("domain", ""))
    if lab.get("user"):
        _users(idp, made, lab["user"], confirm_user)
    if pool_spec.get("domain") and pool_spec.get("hosted_ui", "up") != "up":
        set_hosted_ui(endpoint_url, f"{pool_spec['domain']}.auth.{region}.amazoncognito.com", pool_spec["hosted_ui"])
    return made


def _domain(idp: Any, spec: dict[str, Any], pool_id: str) -> None:
    """The prefix domain, with the branding version the lab says (AWS's default, the classic hosted UI, if none)."""
    version = int(spec.get("domain_version") or 0)
    extra = {"ManagedLoginVersion": version} if version in (1, 2) else {}
    idp.create_user_pool_domain(Domain=spec["domain"], UserPoolId=pool_id, **extra)


def set_hosted_ui(endpoint_url: str, domain_host: str, mode: str) -> None:
    """Make the sandbox's hosted UI of `domain_host` behave as `mode` (grader.sandbox.managed_login.HOSTED_UI_MODES)."""
    import requests

    from grader.sandbox.layout import CONTROL_PATH, hosted_ui_path

    if (urlsplit(endpoint_url).hostname or "") not in LOCAL_HOSTS:
        raise ValueError(f"provisioning only writes to a local sandbox, not {endpoint_url}")
    answer = requests.post(
        f"{endpoint_url}{hosted_ui_path(domain_host)}{CONTROL_PATH}",
        data={"mode": mode},
        headers={"x-sandbox-control": "1"},
        timeout=10,
    )
    answer.raise_for_status()


def _instance(ec2: Any, spec: dict[str, Any]) -> str:
    if spec["state"] == "none":
        return ""
    made = ec2.run_instances(
        ImageId=SANDBOX_AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t2.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": spec["name"]}]}],
    )["Instances"][0]
    if spec["state"] == "stopped":
        ec2.stop_instances(InstanceIds=[made["InstanceId"]])
    return made.get("PublicDnsName", "")


def _restart(ec2: Any, former: str) -> str:
    """Stop the lab's instance and start it again, as a new lab session does; its new public DNS name.

    The sandbox draws the new address at random: one that happens to be a keystroke away from the
    `former` one (two digits swapped) would read as a typo of it, which is not what the scenario
    shows, so the instance is restarted again until the two are clearly apart.
    """
    from grader.callbacks import one_keystroke_apart

    ids = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    name = former
    for _ in range(RESTARTS):
        ec2.stop_instances(InstanceIds=ids)
        ec2.start_instances(InstanceIds=ids)
        name = ec2.describe_instances(InstanceIds=ids)["Reservations"][0]["Instances"][0].get("PublicDnsName", "")
        if name != former and not one_keystroke_apart(name, former):
            break
    return name


def _pool(idp: Any, spec: dict[str, Any]) -> str:
    params: dict[str, Any] = {
        "PoolName": spec["name"],
        "Policies": {"PasswordPolicy": spec["password_policy"]},
        "MfaConfiguration": spec["mfa"],
        "AccountRecoverySetting": {
            "RecoveryMechanisms": [{"Name": name, "Priority": i + 1} for i, name in enumerate(spec["recovery"])]
        },
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": spec["admin_create_user_only"]},
        "EmailConfiguration": {"EmailSendingAccount": spec["email_sending_account"]},
    }
    if spec["email_sending_account"] == "DEVELOPER":
        params["EmailConfiguration"]["SourceArn"] = "arn:aws:ses:us-east-1:123456789012:identity/lab@example.com"
    if spec["username_attributes"]:
        params["UsernameAttributes"] = spec["username_attributes"]
    if spec["alias_attributes"]:
        params["AliasAttributes"] = spec["alias_attributes"]
    return idp.create_user_pool(**params)["UserPool"]["Id"]


def _client(idp: Any, pool_id: str, spec: dict[str, Any], values: dict[str, str]) -> str:
    return idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=spec["name"],
        GenerateSecret=spec["generate_secret"],
        ExplicitAuthFlows=spec["explicit_auth_flows"],
        AllowedOAuthFlows=spec["oauth_flows"],
        AllowedOAuthFlowsUserPoolClient=spec["oauth_enabled"],
        AllowedOAuthScopes=spec["scopes"],
        SupportedIdentityProviders=spec["identity_providers"],
        CallbackURLs=[url.format(**values) for url in spec["callback_urls"]],
    )["UserPoolClient"]["ClientId"]


def _users(idp: Any, made: ProvisionedLab, spec: dict[str, Any], confirm_user: ConfirmUser | None) -> None:
    pool_id = made.pool_id
    attributes = [{"Name": "email", "Value": spec["email"]}] if spec.get("email") else []
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=spec["name"],
        TemporaryPassword=spec["temporary_password"],
        MessageAction="SUPPRESS",
        UserAttributes=attributes,
    )
    confirmed = (
        bool(spec["password"])
        and confirm_user is not None
        and confirm_user(made, spec["name"], spec["temporary_password"], spec["password"])
    )
    if spec["password"] and not confirmed:
        # Stands for the student's first hosted-UI sign-in, where the password is changed.
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=spec["name"], Password=spec["password"], Permanent=True
        )
    if not spec["enabled"]:
        idp.admin_disable_user(UserPoolId=pool_id, Username=spec["name"])
    for extra in spec.get("extra", []):
        idp.admin_create_user(
            UserPoolId=pool_id, Username=extra, TemporaryPassword=spec["temporary_password"], MessageAction="SUPPRESS"
        )


def _trail(endpoint_url: str, region: str, spec: dict[str, Any]) -> None:
    """Create trail with a new S3 bucket, as the console does, and start logging."""
    if not spec["trail"]:
        return
    s3 = sandbox_client(endpoint_url, "s3", region)
    trails = sandbox_client(endpoint_url, "cloudtrail", region)
    s3.create_bucket(Bucket=spec["bucket"])
    trails.create_trail(Name=spec["trail"], S3BucketName=spec["bucket"], IsMultiRegionTrail=spec["multi_region"])
    if spec["logging"]:
        trails.start_logging(Name=spec["trail"])
    for junk in spec.get("junk_log_files", []):
        _put_junk_log_file(endpoint_url, region, spec["bucket"], junk)
    if spec["bucket_deleted"]:
        s3.delete_bucket(Bucket=spec["bucket"])


JUNK_LOG_FILES = ("not-a-log", "too-large")


def _put_junk_log_file(endpoint_url: str, region: str, bucket: str, junk: str) -> None:
    """A file among the trail's log files that is none: gzip JSON of another shape, or one too large to read."""
    import gzip
    from datetime import UTC, datetime

    from grader.observe.cloudtrail import MAX_LOG_BYTES
    from grader.sandbox.cloudtrail_delivery import log_file_key

    if junk == "not-a-log":
        body = gzip.compress(b'["not", "a", "dict"]')
    elif junk == "too-large":
        body = bytes(MAX_LOG_BYTES + 1)
    else:
        raise ValueError(f"unknown junk log file {junk!r}; known: {', '.join(JUNK_LOG_FILES)}")
    account = sandbox_client(endpoint_url, "sts", region).get_caller_identity()["Account"]
    key = log_file_key(account, region, datetime.now(UTC))
    sandbox_client(endpoint_url, "s3", region).put_object(Bucket=bucket, Key=key, Body=body)

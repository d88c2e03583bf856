"""Read-only AWS access: the one place that makes boto3 clients for grading.

Every client it makes carries a hook that refuses, before anything is sent, any operation that
is not one of the reads listed in READS. The grader never writes to a student's account.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

import grader
from grader.errors import GraderError, WriteRefused, explain
from grader.network import current as current_network
from grader.snapshot import Identity
from grader.target import Target, make_client

READS: dict[tuple[str, str], str] = {
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
    ("cognito-idp", "ListUserPools"): "cognito-idp:ListUserPools",
    ("cognito-idp", "DescribeUserPool"): "cognito-idp:DescribeUserPool",
    ("cognito-idp", "ListUserPoolClients"): "cognito-idp:ListUserPoolClients",
    ("cognito-idp", "DescribeUserPoolClient"): "cognito-idp:DescribeUserPoolClient",
    ("cognito-idp", "DescribeUserPoolDomain"): "cognito-idp:DescribeUserPoolDomain",
    ("cognito-idp", "DescribeManagedLoginBrandingByClient"): "cognito-idp:DescribeManagedLoginBrandingByClient",
    ("cognito-idp", "ListUsers"): "cognito-idp:ListUsers",
    ("ec2", "DescribeInstances"): "ec2:DescribeInstances",
    ("cloudtrail", "DescribeTrails"): "cloudtrail:DescribeTrails",
    ("cloudtrail", "GetTrailStatus"): "cloudtrail:GetTrailStatus",
    ("cloudtrail", "LookupEvents"): "cloudtrail:LookupEvents",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "GetObject"): "s3:GetObject",
}
"""Every AWS operation the grader may send, as (service, botocore operation name), with the IAM
action that authorises it: exactly the reads of the README's permission policy. Anything else,
even an operation named like a read (sts:GetWebIdentityToken mints credentials,
ec2:GetConsoleOutput shows an instance's console), is refused before it is sent."""
SERVICES = frozenset(service for service, _ in READS)


def is_read(service: str, operation: str) -> bool:
    """True for an operation the grader may send: one of the reads in READS."""
    return (service, operation) in READS


@dataclass
class ReadOnlyAWS:
    """Makes read-only boto3 clients for one target and remembers every operation attempted."""

    target: Target
    session: boto3.Session
    calls: list[tuple[str, str]] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_target(cls, target: Target) -> ReadOnlyAWS:
        return cls(target=target, session=target.session())

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                config = Config(
                    region_name=self.target.region,
                    retries={"mode": "standard", "max_attempts": 5},
                    connect_timeout=5,
                    read_timeout=30,
                    user_agent_extra=f"{grader.GRADER_MARK}/{grader.__version__}",  # the mark read now
                )
                try:
                    # Any service name: this one is checked at each call (is_read).
                    made = make_client(
                        self.session,
                        service,
                        endpoint_url=self.target.endpoint_url,
                        config=config,
                        verify=current_network().botocore_verify(),
                    )
                except Exception as exc:  # noqa: BLE001 - unknown region, broken profile, ...: said as a GraderError
                    raise explain(exc, f"set up the {service} client") from None
                # Refused at the first event of every API call (before its parameters are even
                # built) and again at the last one before the request is sent.
                made.meta.events.register_first("provide-client-params", self._refuse_writes)
                made.meta.events.register_first("before-call", self._refuse_writes)
                self._clients[service] = made
            return self._clients[service]

    def _refuse_writes(self, model: Any, event_name: str = "", **_: Any) -> None:
        # The client's own service name (not the signing name: s3control signs as "s3").
        service = model.service_model.service_name
        if event_name.startswith("provide-client-params"):
            self.calls.append((service, model.name))
        if not is_read(service, model.name):
            raise WriteRefused(service, model.name)

    def call(self, service: str, operation: str, action: str, **params: Any) -> dict[str, Any]:
        """One API call; any failure becomes a GraderError whose message mentions `action`."""
        try:
            return getattr(self.client(service), operation)(**params)
        except GraderError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure, said as a GraderError
            raise explain(exc, action) from None

    def paginate(self, service: str, operation: str, key: str, action: str, **params: Any) -> list[Any]:
        """All items under `key` across pages."""
        try:
            paginator = self.client(service).get_paginator(operation)
            items: list[Any] = []
            for page in paginator.paginate(**params):
                items.extend(page.get(key, []))
            return items
        except GraderError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure, said as a GraderError
            raise explain(exc, action) from None

    def identity(self) -> Identity:
        """Who the credentials belong to; the first call of every grade."""
        found = self.call("sts", "get_caller_identity", "find out whose account this is")
        return Identity(account_id=found["Account"], arn=found["Arn"])

"""The account's configuration as the grader read it: typed, frozen values the checks judge.

Each part of a `Snapshot` is a `Read`: the value, or the `GraderError` that kept the grader from
reading it. A check that needs a part it could not read becomes `error`, and the rest are still
graded. Reading lives in grader/observe/account.py; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from grader.errors import GraderError

T = TypeVar("T")


@dataclass(frozen=True)
class Identity:
    account_id: str
    arn: str


@dataclass(frozen=True)
class Read(Generic[T]):
    """A value read from the account, or why it could not be read."""

    value: T | None = None
    error: GraderError | None = None

    def get(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # read without error: a T (None only where T allows it)


@dataclass(frozen=True)
class Pool:
    id: str
    name: str
    created: str
    username_attributes: tuple[str, ...]
    alias_attributes: tuple[str, ...]
    password_policy: dict[str, Any]
    mfa: str
    recovery_mechanisms: tuple[str, ...]
    admin_create_user_only: bool | None
    email_sending_account: str | None
    domain: str | None
    custom_domain: str | None


@dataclass(frozen=True)
class Domain:
    prefix: str
    status: str
    host: str
    managed_login_version: int | None = None
    """DescribeUserPoolDomain's ManagedLoginVersion: 1 the classic hosted UI, 2 managed login (None: not said)."""


@dataclass(frozen=True)
class AppClient:
    id: str
    name: str
    has_secret: bool
    explicit_auth_flows: tuple[str, ...]
    oauth_flows: tuple[str, ...]
    oauth_enabled: bool
    oauth_scopes: tuple[str, ...]
    identity_providers: tuple[str, ...]
    callback_urls: tuple[str, ...]
    logout_urls: tuple[str, ...]


@dataclass(frozen=True)
class User:
    username: str
    enabled: bool
    status: str


@dataclass(frozen=True)
class Instance:
    id: str
    state: str
    public_dns: str
    public_ip: str
    name: str


@dataclass(frozen=True)
class PoolSummary:
    id: str
    name: str


@dataclass(frozen=True)
class Snapshot:
    """Everything the configuration checks need, read once."""

    identity: Identity
    region: str
    candidate_pools: Read[tuple[PoolSummary, ...]]
    pool: Read[Pool | None]
    domain: Read[Domain | None]
    clients: Read[tuple[AppClient, ...]]
    client: Read[AppClient | None]
    """The lab's app client: with several, the one whose callback names a running instance."""
    user: Read[User | None]
    instances: Read[tuple[Instance, ...]]
    branding: Read[bool | None] = field(default_factory=Read)
    """Whether the lab's app client has a managed login branding style: read only for a version-2
    domain (None otherwise, or with no client); an error when the grader may not read it."""


def host_of(url: str) -> str:
    """The lower-case host name of a URL ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def running_hosts(instances: tuple[Instance, ...]) -> dict[str, Instance]:
    """The instances that can serve the website: running, with a public DNS name (lower case) -> instance."""
    return {i.public_dns.lower(): i for i in instances if i.state == "running" and i.public_dns}


def choose_client(clients: tuple[AppClient, ...], instances: tuple[Instance, ...]) -> AppClient | None:
    """Prefer a client whose callback names a running instance, then one with the implicit grant."""
    if not clients:
        return None
    running = running_hosts(instances)

    def fit(client: AppClient) -> tuple[bool, bool]:
        hosts = {host_of(url) for url in client.callback_urls}
        return (bool(hosts & running.keys()), "implicit" in client.oauth_flows)

    return max(clients, key=fit)

"""Fixtures the checks share: the parts of the snapshot a check needs, or a skip saying why not."""

from __future__ import annotations

import pytest

from grader.collect import AppClient, Domain, Instance, Pool, Snapshot, User
from grader.spec import LabSpec


def describe_pool(spec: LabSpec) -> str:
    expected = spec.expected
    if expected.pool_name:
        return f"user pool named {expected.pool_name}"
    return f"user pool with an app client named {expected.client_name}"


@pytest.fixture
def pool(snapshot: Snapshot, spec: LabSpec) -> Pool:
    found = snapshot.pool.get()
    if found is None:
        pytest.skip(f"There is no {describe_pool(spec)}, so this cannot be checked yet.")
    return found


@pytest.fixture
def app_client(pool: Pool, snapshot: Snapshot, spec: LabSpec) -> AppClient:
    """The lab's app client; with several, the one whose callback names a running instance."""
    clients = snapshot.clients.get()
    if not clients:
        named = f" named {spec.expected.client_name}" if spec.expected.client_name else ""
        pytest.skip(f"The pool {pool.name} has no app client{named}, so this cannot be checked yet.")
    running = {i.public_dns for i in snapshot.instances.value or () if i.state == "running" and i.public_dns}

    def fit(client: AppClient) -> tuple[bool, bool]:
        hosts = {url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] for url in client.callback_urls}
        return (bool(hosts & running), "implicit" in client.oauth_flows)

    return max(clients, key=fit)


@pytest.fixture
def domain(pool: Pool, snapshot: Snapshot) -> Domain | None:
    return snapshot.domain.get()


@pytest.fixture
def lab_user(pool: Pool, snapshot: Snapshot) -> User | None:
    return snapshot.user.get()


@pytest.fixture
def instances(snapshot: Snapshot) -> tuple[Instance, ...]:
    return snapshot.instances.get()

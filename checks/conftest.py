"""Fixtures the checks share: the evidence's parts as a check uses them, or a skip saying why not.

Each evidence part is a fixture of the same name (grader/plugin.py, brought in here, so that they
exist under checks/ only); the fixtures here narrow
them: `pool` skips when there is no pool, `reachable_site` when the website did not answer, ...
Each declares the part it narrows (`@narrows`): a check taking it names that part in its `needs`.
"""

from __future__ import annotations

import pytest

from grader.observe.evidence import TrailsFound
from grader.plugin import *  # noqa: F403 - the grader's options and evidence fixtures, for the checks only
from grader.registry import narrows
from grader.site import Site
from grader.snapshot import AppClient, Domain, Instance, Pool, Snapshot, User
from grader.spec import LabSpec
from grader.trail import Trail


def describe_pool(spec: LabSpec) -> str:
    expected = spec.expected
    if expected.pool_name:
        return f"user pool named {expected.pool_name}"
    return f"user pool with an app client named {expected.client_name}"


@pytest.fixture
@narrows("snapshot")
def pool(snapshot: Snapshot, spec: LabSpec) -> Pool:
    found = snapshot.pool.get()
    if found is None:
        pytest.skip(f"There is no {describe_pool(spec)}, so this cannot be checked yet.")
    return found


@pytest.fixture
@narrows("snapshot")
def app_client(pool: Pool, snapshot: Snapshot, spec: LabSpec) -> AppClient:
    """The lab's app client; with several, the one whose callback names a running instance."""
    client = snapshot.client.get()
    if client is None:
        named = f" named {spec.expected.client_name}" if spec.expected.client_name else ""
        pytest.skip(f"The pool {pool.name} has no app client{named}, so this cannot be checked yet.")
    return client


@pytest.fixture
@narrows("snapshot")
def domain(pool: Pool, snapshot: Snapshot) -> Domain | None:
    return snapshot.domain.get()


@pytest.fixture
@narrows("snapshot")
def lab_user(pool: Pool, snapshot: Snapshot) -> User | None:
    return snapshot.user.get()


@pytest.fixture
@narrows("snapshot")
def instances(snapshot: Snapshot) -> tuple[Instance, ...]:
    return snapshot.instances.get()


@pytest.fixture
@narrows("site")
def reachable_site(site: Site) -> Site:
    if site.base_url is None:
        pytest.skip("The website could not be reached (see site.reachable).")
    return site


@pytest.fixture
@narrows("trails")
def lab_trail(trails: TrailsFound, spec: LabSpec) -> Trail:
    if not trails.lab:
        pytest.skip(f"There is no trail named {spec.expected.trail_name} (see cloudtrail.trail).")
    return trails.lab[0]

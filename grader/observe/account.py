"""Reads a student's account (Cognito and EC2) into a Snapshot, and the pool's signing keys.

Every call goes through the read-only AWS layer (grader/aws.py). Calls that do not need each
other's answers are made at the same time (EC2 beside Cognito, the pool beside its clients, the
domain beside the user): against real AWS each one is a round trip across the internet.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import requests

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError, explain
from grader.network import current as current_network
from grader.network import untrusted_certificate
from grader.snapshot import (
    AppClient,
    Domain,
    Identity,
    Instance,
    Pool,
    PoolSummary,
    Read,
    Snapshot,
    User,
    choose_client,
)
from grader.spec import LabSpec
from grader.tokens import jwks_url

SIDE_CALLS = 4
"""AWS calls of one snapshot made at the same time, at most."""


def _read(fn: Any, *args: Any) -> Read[Any]:
    try:
        return Read(value=fn(*args))
    except GraderError as exc:
        return Read(error=exc)


def _after(parent: Read[Any], fn: Any) -> Read[Any]:
    """Read something that needs `parent`; an unreadable parent passes its error on."""
    if parent.error is not None:
        return Read(error=parent.error)
    return _read(fn, parent.value)


def collect(aws: ReadOnlyAWS, spec: LabSpec, identity: Identity) -> Snapshot:
    """Read the account: the lab's pool, its domain, app clients and user, and EC2 instances."""
    expected = spec.expected
    with ThreadPoolExecutor(max_workers=SIDE_CALLS, thread_name_prefix="snapshot") as side:
        instances_read = side.submit(_read, read_instances, aws)
        summaries = _read(read_pool_summaries, aws)
        # Pools by name are found from the list; for a spec that names only the client, every
        # pool's clients are read to find it.
        candidates = _after(
            summaries, lambda pools: find_candidates(aws, pools, expected.pool_name, expected.client_name, side)
        )
        chosen = _after(candidates, lambda found: choose_pool(aws, found))
        pool = _after(chosen, lambda choice: choice[0] if choice else None)
        clients = _after(chosen, lambda choice: choice[1] if choice else ())
        domain_read = side.submit(_after, pool, lambda p: read_domain(aws, p) if p and p.domain else None)
        user = _after(pool, lambda p: read_user(aws, p.id, expected.username) if p else None)
        domain, instances = domain_read.result(), instances_read.result()
    lab_clients = _after(
        clients, lambda cs: tuple(c for c in cs if not expected.client_name or c.name == expected.client_name)
    )
    client = _after(lab_clients, lambda cs: choose_client(cs, instances.value or ()))
    return Snapshot(
        identity=identity,
        region=aws.target.region,
        candidate_pools=_after(candidates, lambda found: tuple(PoolSummary(p.id, p.name) for p, _ in found)),
        pool=pool,
        domain=domain,
        clients=lab_clients,
        client=client,
        user=user,
        instances=instances,
        branding=_branding(aws, pool, domain, client),
    )


def _branding(aws: ReadOnlyAWS, pool: Read[Any], domain: Read[Any], client: Read[Any]) -> Read[bool | None]:
    """Whether the lab's client has a branding style: read only where the domain serves managed login (version 2)."""
    if domain.error is not None or domain.value is None or domain.value.managed_login_version != 2:
        return Read(value=None)
    return _after(client, lambda c: read_branding(aws, pool.value.id, c.id) if c and pool.value else None)


def read_branding(aws: ReadOnlyAWS, pool_id: str, client_id: str) -> bool:
    """Whether the app client has a managed login branding style (DescribeManagedLoginBrandingByClient).

    Cognito answers ResourceNotFoundException for a client without one; any other failure (denied,
    an operation this AWS does not know) is the grader's error, never an answer.
    """
    from botocore.exceptions import ClientError

    action = "read the app client's managed login branding style"
    try:
        aws.client("cognito-idp").describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise explain(exc, action) from None
    except GraderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure, said as a GraderError
        raise explain(exc, action) from None
    return True


def read_pool_summaries(aws: ReadOnlyAWS) -> list[PoolSummary]:
    found = aws.paginate("cognito-idp", "list_user_pools", "UserPools", "list the Cognito user pools", MaxResults=60)
    return [PoolSummary(p["Id"], p["Name"]) for p in found]


def find_candidates(
    aws: ReadOnlyAWS, pools: list[PoolSummary], pool_name: str, client_name: str, side: Executor | None = None
) -> list[tuple[Pool, tuple[AppClient, ...]]]:
    """The pools that could be the student's lab pool, with their app clients (`side`: runs calls alongside)."""
    if pool_name:
        named = [p for p in pools if p.name == pool_name]
        return [read_pool_and_clients(aws, p.id, side) for p in named]
    found = []
    for summary in pools:
        clients = read_clients(aws, summary.id, side)
        if any(c.name == client_name for c in clients):
            found.append((read_pool(aws, summary.id), clients))
    return found


def read_pool_and_clients(
    aws: ReadOnlyAWS, pool_id: str, side: Executor | None = None
) -> tuple[Pool, tuple[AppClient, ...]]:
    """The pool's settings and its app clients (`side`: the settings read while the clients are)."""
    if side is None:
        return read_pool(aws, pool_id), read_clients(aws, pool_id)
    pool = side.submit(read_pool, aws, pool_id)
    clients = read_clients(aws, pool_id, side)
    return pool.result(), clients


def choose_pool(
    aws: ReadOnlyAWS, candidates: list[tuple[Pool, tuple[AppClient, ...]]]
) -> tuple[Pool, tuple[AppClient, ...]] | None:
    """With several candidates, grade the most complete one (most clients, a domain, newest)."""
    if not candidates:
        return None
    return max(candidates, key=lambda pc: (len(pc[1]), pc[0].domain is not None, pc[0].created))


def read_pool(aws: ReadOnlyAWS, pool_id: str) -> Pool:
    raw = aws.call("cognito-idp", "describe_user_pool", "read the user pool's settings", UserPoolId=pool_id)["UserPool"]
    email = raw.get("EmailConfiguration") or {}
    return Pool(
        id=raw["Id"],
        name=raw.get("Name", ""),
        created=str(raw.get("CreationDate", "")),
        username_attributes=tuple(raw.get("UsernameAttributes") or ()),
        alias_attributes=tuple(raw.get("AliasAttributes") or ()),
        password_policy=dict((raw.get("Policies") or {}).get("PasswordPolicy") or {}),
        mfa=raw.get("MfaConfiguration", "OFF"),
        recovery_mechanisms=tuple(
            m["Name"]
            for m in sorted(
                (raw.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms") or [],
                key=lambda m: m.get("Priority", 0),
            )
        ),
        admin_create_user_only=(raw.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"),
        email_sending_account=email.get("EmailSendingAccount"),
        domain=raw.get("Domain"),
        custom_domain=raw.get("CustomDomain"),
    )


def read_clients(aws: ReadOnlyAWS, pool_id: str, side: Executor | None = None) -> tuple[AppClient, ...]:
    """The pool's app clients, each described (`side`: the descriptions all at once)."""
    listed = aws.paginate(
        "cognito-idp",
        "list_user_pool_clients",
        "UserPoolClients",
        "list the user pool's app clients",
        UserPoolId=pool_id,
        MaxResults=60,
    )

    def described(item: dict[str, Any]) -> AppClient:
        raw = aws.call(
            "cognito-idp",
            "describe_user_pool_client",
            "read the app client's settings",
            UserPoolId=pool_id,
            ClientId=item["ClientId"],
        )["UserPoolClient"]
        return AppClient(
            id=raw["ClientId"],
            name=raw.get("ClientName", ""),
            # Only whether a secret exists is kept, never the secret itself.
            has_secret=bool(raw.get("ClientSecret")),
            explicit_auth_flows=tuple(raw.get("ExplicitAuthFlows") or ()),
            oauth_flows=tuple(raw.get("AllowedOAuthFlows") or ()),
            oauth_enabled=bool(raw.get("AllowedOAuthFlowsUserPoolClient")),
            oauth_scopes=tuple(raw.get("AllowedOAuthScopes") or ()),
            identity_providers=tuple(raw.get("SupportedIdentityProviders") or ()),
            callback_urls=tuple(raw.get("CallbackURLs") or ()),
            logout_urls=tuple(raw.get("LogoutURLs") or ()),
        )

    return tuple(side.map(described, listed) if side is not None else map(described, listed))


def read_domain(aws: ReadOnlyAWS, pool: Pool) -> Domain | None:
    assert pool.domain is not None
    raw = (
        aws.call(
            "cognito-idp",
            "describe_user_pool_domain",
            "read the user pool's hosted UI domain",
            Domain=pool.domain,
        ).get("DomainDescription")
        or {}
    )
    if not raw:
        return None
    version = raw.get("ManagedLoginVersion")
    return Domain(
        prefix=pool.domain,
        status=raw.get("Status", ""),
        host=f"{pool.domain}.auth.{aws.target.region}.amazoncognito.com",
        managed_login_version=version if isinstance(version, int) else None,
    )


def read_user(aws: ReadOnlyAWS, pool_id: str, username: str) -> User | None:
    found = aws.paginate(
        "cognito-idp",
        "list_users",
        "Users",
        f"list the user pool's users to find {username}",
        UserPoolId=pool_id,
    )
    for raw in found:
        if raw.get("Username") == username:
            return User(username=username, enabled=bool(raw.get("Enabled", True)), status=raw.get("UserStatus", ""))
    return None


def read_instances(aws: ReadOnlyAWS) -> tuple[Instance, ...]:
    reservations = aws.paginate("ec2", "describe_instances", "Reservations", "list the EC2 instances")
    instances = []
    for reservation in reservations:
        for raw in reservation.get("Instances", []):
            tags = {t.get("Key"): t.get("Value", "") for t in raw.get("Tags", [])}
            instances.append(
                Instance(
                    id=raw["InstanceId"],
                    state=(raw.get("State") or {}).get("Name", ""),
                    public_dns=raw.get("PublicDnsName", "") or "",
                    public_ip=raw.get("PublicIpAddress", "") or "",
                    name=tags.get("Name", ""),
                )
            )
    return tuple(instances)


_JWKS_TIMEOUT_S = 10.0


def fetch_jwks(pool_id: str, region: str, endpoint_url: str | None) -> dict[str, Any]:
    """The pool's JSON Web Key Set, as published; any failure is a GraderError."""
    url = jwks_url(pool_id, region, endpoint_url)
    try:
        network = current_network()
        answer = requests.get(url, timeout=_JWKS_TIMEOUT_S, verify=network.verify(url), proxies=network.proxies(url))
    except requests.exceptions.SSLError:
        raise GraderError(
            untrusted_certificate(url, "fetch the signing keys of user pool " + pool_id), kind="tls"
        ) from None
    except requests.RequestException as exc:
        raise GraderError(
            f"The grader could not fetch the signing keys of user pool {pool_id} from {url} "
            f"({type(exc).__name__}). Check the network connection, then run the grader again.",
            kind="unreachable",
        ) from None
    if answer.status_code != 200:
        raise GraderError(
            f"Fetching the signing keys of user pool {pool_id} answered HTTP {answer.status_code}. "
            "Check that the pool exists in the region being graded, then run the grader again.",
            kind="aws",
        )
    try:
        keys = answer.json()
    except ValueError:
        keys = None
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise GraderError(
            f"The signing keys of user pool {pool_id} at {url} are not a JSON Web Key Set. "
            "Run the grader again; if it keeps happening, show this message to your instructor.",
            kind="aws",
        )
    return keys

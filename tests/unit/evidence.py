"""Hand-built evidence of a finished lab, and helpers to call a check on it with one mistake at a time.

Every value here is what the observer (grader/observe/) would hand the checks for a student who
did the lab as its text says: the pool VehicleAppUserPool with its Cognito domain, the public app
client with the implicit grant and the running instance's https callback, janedoe CONFIRMED, the
course website answering with settings.js filled in, a real login whose tokens are RS256 JWTs
signed by the pool's key (a key pair made here, published as the pool's JWKS), the hosted UI's
redirect with tokens, the trail VehicleApp-Trail logging, and an SRP sign-in in CloudTrail.

A test changes one value (`dataclasses.replace`, or the builders' keyword arguments) and calls the
check with :func:`passes`, :func:`fails` or :func:`skips`, which hand it every other fixture value
of the finished lab (:func:`finished`).
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from grader import USER_AGENT
from grader.authorize import HINTS, AuthorizeProbe, authorize_url
from grader.callbacks import sign_in_callback
from grader.checking import Check, CheckFailed
from grader.errors import GraderError
from grader.observe.evidence import Evidence, InstanceStarts, SignInCallback, SiteLogins, TrailsFound
from grader.observe.signins import CognitoCall, HostedSignIn, LoginAttempt
from grader.observe.verify import verified_logins, verified_sign_in
from grader.registry import info_of
from grader.site import Probe, Settings, Site
from grader.snapshot import AppClient, Domain, Identity, Instance, Pool, PoolSummary, Read, Snapshot, User
from grader.spec import LabSpec, load_spec
from grader.tokens import STORAGE_PREFIX, expected_issuer
from grader.trail import AuthEvent, AuthEvents, Trail, TrailStatus

replace = dataclasses.replace

SPEC: LabSpec = load_spec()
"""The default spec (the lab text): pool VehicleAppUserPool, any client name."""
SPEC_2025: LabSpec = load_spec("itm300-m03-2025")
"""The 2025 edition: the pool is the one with an app client named VechicleApp."""

REGION = "us-east-1"
ACCOUNT = "123456789012"
IDENTITY = Identity(ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/voclabs/user3456789=Jane_Student")
OBSERVED_AT = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)
USERNAME = SPEC.expected.username

# -- the account's configuration ----------------------------------------------------------------

INSTANCE = Instance(
    id="i-0abc1234def567890",
    state="running",
    public_dns="ec2-54-214-60-85.compute-1.amazonaws.com",
    public_ip="54.214.60.85",
    name="VehicleApp",
)
FORMER_DNS = "ec2-54-214-169-47.compute-1.amazonaws.com"
"""The instance's public DNS name before the lab session restarted it (a well-formed EC2 name)."""
CALLBACK = f"https://{INSTANCE.public_dns}"

DOMAIN = Domain(
    prefix="vehicleapp-quick-2841", status="ACTIVE", host=f"vehicleapp-quick-2841.auth.{REGION}.amazoncognito.com"
)
DEFAULT_PASSWORD_POLICY: dict[str, Any] = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
POOL = Pool(
    id=f"{REGION}_Ab12Cd34E",
    name="VehicleAppUserPool",
    created="2026-03-02T14:05:00+00:00",
    username_attributes=(),
    alias_attributes=(),
    password_policy=dict(DEFAULT_PASSWORD_POLICY),
    mfa="OFF",
    recovery_mechanisms=("admin_only",),
    admin_create_user_only=True,
    email_sending_account="COGNITO_DEFAULT",
    domain=DOMAIN.prefix,
    custom_domain=None,
)
CLIENT = AppClient(
    id="4kq7example0client0id0abcd",
    name="Vehicle App - Quick",
    has_secret=False,
    explicit_auth_flows=("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH"),
    oauth_flows=("implicit",),
    oauth_enabled=True,
    oauth_scopes=("email", "openid", "phone"),
    identity_providers=("COGNITO",),
    callback_urls=(CALLBACK,),
    logout_urls=(),
)
OTHER_CLIENT_ID = "7otherlab0123456789abcdefg"
USER = User(USERNAME, enabled=True, status="CONFIRMED")

_UNSET: Any = object()


def snapshot(
    *,
    pool: Pool | None = POOL,
    domain: Domain | None = DOMAIN,
    clients: tuple[AppClient, ...] = (CLIENT,),
    client: AppClient | None = _UNSET,
    user: User | None = USER,
    instances: tuple[Instance, ...] = (INSTANCE,),
    candidate_pools: tuple[PoolSummary, ...] = _UNSET,
) -> Snapshot:
    """The finished lab's snapshot, every part read; `client` defaults to the first of `clients`,
    `candidate_pools` to `pool`'s summary (none without a pool)."""
    if client is _UNSET:
        client = clients[0] if clients else None
    if candidate_pools is _UNSET:
        candidate_pools = (PoolSummary(pool.id, pool.name),) if pool else ()
    return Snapshot(
        identity=IDENTITY,
        region=REGION,
        candidate_pools=Read(candidate_pools),
        pool=Read(pool),
        domain=Read(domain),
        clients=Read(clients),
        client=Read(client),
        user=Read(user),
        instances=Read(instances),
    )


def empty_snapshot() -> Snapshot:
    """An account with no user pool and no EC2 instance."""
    return snapshot(pool=None, domain=None, clients=(), user=None, instances=())


# -- the pool's signing key and its tokens ------------------------------------------------------

POOL_KID = "pool-signing-key-1"
POOL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
"""The key the pool signs its tokens with; its public half is :data:`JWKS`."""
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
"""Someone else's key: a token signed with it under the pool's kid has a bad signature."""
JWKS: dict[str, Any] = {
    "keys": [
        {**RSAAlgorithm.to_jwk(POOL_KEY.public_key(), as_dict=True), "kid": POOL_KID, "alg": "RS256", "use": "sig"}
    ]
}


NOW = int(time.time())
"""When these tokens are issued: the grader's logins below ran around this moment (epoch seconds)."""
LOGIN_STARTED = NOW - 2.0
LOGIN_ENDED = NOW + 1.0
DROP: Any = object()
"""Give a claim this value in :func:`token` (or the builders that call it) to leave it out of the token."""


def token(
    kind: str,
    *,
    pool_id: str = POOL.id,
    client_id: str = CLIENT.id,
    username: str = USERNAME,
    scope: str = "openid email phone",
    key: Any = POOL_KEY,
    kid: str = POOL_KID,
    algorithm: str = "RS256",
    **claims: Any,
) -> str:
    """A Cognito `kind` ('id' or 'access') token as the pool issues it, at :data:`NOW`; `claims` add or
    replace claims (`iat`, `auth_time`, `exp` ...), and a claim given as :data:`DROP` is left out."""
    now = NOW
    payload: dict[str, Any] = {
        "sub": "5f1c2a7e-0d4b-4c1e-9a3f-2b6d8e0c1a11",
        "iss": expected_issuer(pool_id, REGION),
        "token_use": kind,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
    }
    if kind == "id":
        payload |= {"aud": client_id, "cognito:username": username}
    else:
        payload |= {"client_id": client_id, "username": username, "scope": scope}
    payload |= claims
    payload = {name: value for name, value in payload.items() if value is not DROP}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def stored_tokens(*, client_id: str = CLIENT.id, username: str = USERNAME, **token_changes: Any) -> dict[str, str]:
    """The localStorage entries the website's SDK leaves after janedoe's login (id and access tokens)."""
    prefix = f"{STORAGE_PREFIX}{client_id}."
    return {
        f"{prefix}LastAuthUser": username,
        f"{prefix}{username}.idToken": token("id", client_id=client_id, username=username, **token_changes),
        f"{prefix}{username}.accessToken": token("access", client_id=client_id, username=username, **token_changes),
        f"{prefix}{username}.refreshToken": "opaque-refresh-token",
        f"{prefix}{username}.clockDrift": "0",
    }


def callback_fragment(*, token_type: str = "Bearer", **token_changes: Any) -> dict[str, str]:
    """The fragment of the hosted UI's implicit-grant redirect: id and access tokens."""
    return {
        "id_token": token("id", **token_changes),
        "access_token": token("access", **token_changes),
        "token_type": token_type,
        "expires_in": "3600",
    }


# -- the website and the browser flows -----------------------------------------------------------


def hosted_link(
    *,
    origin: str = f"https://{DOMAIN.host}",
    path: str = "/oauth2/authorize",
    client_id: str = CLIENT.id,
    response_type: str = "token",
    redirect_uri: str = CALLBACK,
) -> str:
    """The hosted-UI link as rebuildapp.sh writes it into settings.js (here with the registered callback)."""
    query = f"client_id={client_id}&response_type={response_type}&scope=email+openid+phone"
    return f"{origin}{path}?{query}&redirect_uri={quote(redirect_uri, safe='')}"


SETTINGS = Settings(user_pool_id=POOL.id, client_id=CLIENT.id, hosted_link=hosted_link())
SITE = Site(
    host=INSTANCE.public_dns,
    source="the app client's callback URL",
    base_url=f"{CALLBACK}/",
    probes=(Probe(f"{CALLBACK}/login.html", 200),),
    settings=SETTINGS,
)
UNREACHABLE_SITE = Site(host="", source="", base_url=None, probes=(), settings=None)
"""The site of an account with no callback URL, no instance and no --site-url."""

RIGHT_LOGIN = LoginAttempt(
    login_url=f"{CALLBACK}/login.html",
    final_url=f"{CALLBACK}/private.html?msg=1",
    message="Thank you for Logging In",
    tokens=stored_tokens(),
    cognito_calls=[
        CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER", REGION),
        CognitoCall("RespondToAuthChallenge", 200, "tokens issued", REGION),
    ],
    seconds=1.4,
    started_at=LOGIN_STARTED,
    ended_at=LOGIN_ENDED,
)
WRONG_LOGIN = LoginAttempt(
    login_url=f"{CALLBACK}/login.html",
    final_url=f"{CALLBACK}/login.html?msg=0",
    message="No such Username or Password",
    cognito_calls=[
        CognitoCall("InitiateAuth", 200, "challenge PASSWORD_VERIFIER", REGION),
        CognitoCall("RespondToAuthChallenge", 400, "NotAuthorizedException: Incorrect username or password.", REGION),
    ],
    seconds=1.1,
)
SITE_LOGINS = SiteLogins(right=RIGHT_LOGIN, wrong=WRONG_LOGIN)


def logins(**right_changes: Any) -> SiteLogins:
    """The website's two logins with the right one changed (the wrong one as in a finished lab)."""
    return SiteLogins(right=replace(RIGHT_LOGIN, **right_changes), wrong=WRONG_LOGIN)


def wrong_login(**changes: Any) -> SiteLogins:
    """The website's two logins with the wrong-password one changed."""
    return SiteLogins(right=RIGHT_LOGIN, wrong=replace(WRONG_LOGIN, **changes))


SIGN_IN_PAGE = AuthorizeProbe(url=authorize_url(DOMAIN.host, CLIENT.id, CALLBACK), status=302, error="", detail="")
"""Cognito's answer to a good /oauth2/authorize request: a redirect to its sign-in page."""


def refusal(error: str, *, url: str = "") -> AuthorizeProbe:
    """Cognito refusing an authorize request with `error` (the hint the probe gives for it)."""
    return AuthorizeProbe(
        url=url or SIGN_IN_PAGE.url, status=302, error=error, detail=HINTS.get(error, error), answered=error
    )


def probes(client: AppClient = CLIENT, answer: AuthorizeProbe = SIGN_IN_PAGE) -> dict[str, AuthorizeProbe]:
    """What the observer holds: Cognito's answer for every callback URL it could accept."""
    return {cb: replace(answer, url=authorize_url(DOMAIN.host, client.id, cb)) for cb in client.callback_urls}


LINK_PROBE = replace(SIGN_IN_PAGE, url=SETTINGS.hosted_link)

SIGNED_IN = HostedSignIn(
    authorize_url=SIGN_IN_PAGE.url,
    redirect_uri=CALLBACK,
    callback=CALLBACK,
    fragment=callback_fragment(),
    pages=[f"https://{DOMAIN.host}/login"],
    seconds=2.3,
    started_at=LOGIN_STARTED,
    ended_at=LOGIN_ENDED,
)

# -- CloudTrail -----------------------------------------------------------------------------------

TRAIL = Trail(
    name=SPEC.expected.trail_name,
    arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/VehicleApp-Trail",
    home_region=REGION,
    multi_region=True,
    bucket="aws-cloudtrail-logs-vehicleapp-2841",
    prefix="",
)
TRAILS = TrailsFound(lab=(TRAIL,), others=())
TRAIL_STATUS = TrailStatus(
    is_logging=True,
    start_logging=OBSERVED_AT - timedelta(hours=2),
    latest_delivery=OBSERVED_AT - timedelta(minutes=4),
    delivery_error="",
)
HISTORY = "event history (LookupEvents)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
GRADER_BROWSER = f"{BROWSER} {USER_AGENT}"
SIGNED_IN_AT = OBSERVED_AT - timedelta(hours=1)


def sign_in_events(
    *,
    when: datetime = SIGNED_IN_AT,
    client: str = CLIENT.id,
    agent: str = BROWSER,
    error: str = "",
) -> tuple[AuthEvent, AuthEvent]:
    """One SRP sign-in as CloudTrail records it: InitiateAuth, then RespondToAuthChallenge (failed with `error`)."""
    initiate = AuthEvent(
        time=when,
        name="InitiateAuth",
        error_code="",
        error_message="",
        user_agent=agent,
        source_ip="198.51.100.7",
        auth_flow="USER_SRP_AUTH",
        challenge="",
        client_id=client,
    )
    answer = replace(
        initiate,
        name="RespondToAuthChallenge",
        error_code=error,
        error_message="Incorrect username or password." if error else "",
        auth_flow="",
        challenge="PASSWORD_VERIFIER",
    )
    return initiate, answer


AUTH_EVENTS = AuthEvents(HISTORY, sign_in_events())

# -- whole evidence, and calling a check ----------------------------------------------------------


def finished() -> dict[str, Any]:
    """Every fixture value a check can take (grader/plugin.py and checks/conftest.py), for a finished lab."""
    return {
        "snapshot": snapshot(),
        "spec": SPEC,
        "lab_region": REGION,
        "observed_at": OBSERVED_AT,
        "pool": POOL,
        "domain": DOMAIN,
        "app_client": CLIENT,
        "lab_user": USER,
        "instances": (INSTANCE,),
        "instance_starts": InstanceStarts(),
        "authorize_probes": probes(),
        "hosted_sign_in": SIGNED_IN,
        "signing_keys": JWKS,
        "site": SITE,
        "reachable_site": SITE,
        "link_probe": LINK_PROBE,
        "site_logins": SITE_LOGINS,
        "trails": TRAILS,
        "lab_trail": TRAIL,
        "trail_status": TRAIL_STATUS,
        "trail_bucket": True,
        "auth_events": AUTH_EVENTS,
    }


def finished_evidence(**parts: Any) -> Evidence:
    """The finished lab's Evidence, every part observed; `parts` replace parts by value (a Read for an error)."""
    values = finished()
    names = (
        "snapshot",
        "trails",
        "trail_status",
        "trail_bucket",
        "auth_events",
        "instance_starts",
        "site",
        "link_probe",
        "authorize_probes",
        "signing_keys",
        "site_logins",
        "hosted_sign_in",
    )
    observed = {name: Read(values[name]) for name in names}
    observed |= {name: value if isinstance(value, Read) else Read(value) for name, value in parts.items()}
    if "sign_in_callback" not in parts:
        observed["sign_in_callback"] = Read(_sign_in_callback(observed["snapshot"], observed["authorize_probes"]))
    # Tokens are verified while observing: the browser parts as observation leaves them.
    return verified_evidence(Evidence(region=REGION, identity=IDENTITY, observed_at=OBSERVED_AT, **observed), SPEC)


def verified_evidence(evidence: Evidence, spec: LabSpec) -> Evidence:
    """`evidence` with the tokens of its browser parts verified and blanked, as observation leaves them."""
    snapshot, keys = evidence.snapshot.value, evidence.signing_keys
    if snapshot is None:
        return evidence
    logins, hosted = evidence.site_logins, evidence.hosted_sign_in
    if logins.value is not None:
        logins = Read(verified_logins(logins.value, snapshot, keys, spec, evidence.region))
    if hosted.value is not None:
        hosted = Read(verified_sign_in(hosted.value, snapshot, keys, spec, evidence.region))
    return replace(evidence, site_logins=logins, hosted_sign_in=hosted)


def _sign_in_callback(snapshot: Read[Snapshot], probes: Read[dict[str, AuthorizeProbe]]) -> SignInCallback | None:
    """The callback the observer would choose on `snapshot` (grader/callbacks.py's rule), with its probe."""
    found, answers = snapshot.value, probes.value
    client = found.client.value if found is not None else None
    url = sign_in_callback(client.callback_urls, found.instances.value or ()) if found and client else None
    return SignInCallback(url, (answers or {}).get(url)) if url is not None else None


def empty_evidence() -> Evidence:
    """An account where nothing of the lab was done: no pool, no instance, no website, no trail, no sign-in."""
    return finished_evidence(
        snapshot=empty_snapshot(),
        trails=TrailsFound(lab=(), others=()),
        trail_status=None,
        trail_bucket=None,
        auth_events=AuthEvents(HISTORY, ()),
        site=UNREACHABLE_SITE,
        link_probe=None,
        authorize_probes={},
        signing_keys=None,
        site_logins=Read(
            error=GraderError("The website could not be reached, so the grader cannot log in to it.", kind="site")
        ),
        hosted_sign_in=None,
    )


OBSERVATION_INPUTS = frozenset({"signing_keys", "authorize_probes", "instances"})
"""What observation makes a check's parts from (the tokens' keys, the callback's choice): given to any check."""


def arguments(function: Callable[..., Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The fixture values `function` takes: the finished lab's, with `overrides` (each must be one it takes)."""
    names = [name for name in inspect.signature(function).parameters if name != "check"]
    unknown = sorted(set(overrides) - set(names) - OBSERVATION_INPUTS)
    if unknown:
        raise TypeError(f"{function.__name__} takes no fixture {', '.join(unknown)}; it takes {', '.join(names)}")
    values = finished()
    chosen = {name: overrides[name] if name in overrides else values.get(name) for name in names}
    # The browser parts reach a check as observation leaves them: tokens verified, with the pool's signing keys
    # (or `signing_keys=` given for that), and blanked.
    keys = Read(overrides["signing_keys"]) if "signing_keys" in overrides else Read(JWKS)
    pool, client = chosen.get("pool", POOL), chosen.get("app_client", CLIENT)
    observed = replace(snapshot(), pool=Read(pool), client=Read(client))
    if isinstance(chosen.get("site_logins"), SiteLogins):
        chosen["site_logins"] = verified_logins(chosen["site_logins"], observed, keys, SPEC, REGION)
    if isinstance(chosen.get("hosted_sign_in"), HostedSignIn):
        chosen["hosted_sign_in"] = verified_sign_in(chosen["hosted_sign_in"], observed, keys, SPEC, REGION)
    if "sign_in_callback" in names and "sign_in_callback" not in overrides:
        instances = overrides.get("instances", (INSTANCE,))
        url = sign_in_callback(client.callback_urls, instances) if client else None
        answers = overrides.get("authorize_probes", probes())
        chosen["sign_in_callback"] = SignInCallback(url, answers.get(url)) if url else None
    return chosen


def new_check(function: Callable[..., Any]) -> Check:
    """A fresh Check for the registered check `function`, with its id."""
    info = info_of(function)
    assert info is not None, f"{function.__name__} is not a registered check"
    return Check(info.id)


def passes(function: Callable[..., Any], **overrides: Any) -> Check:
    """Run the check on the finished lab (with `overrides`); it must pass."""
    check = new_check(function)
    function(**arguments(function, overrides), check=check)
    assert check.verdict == "pass", check
    return check


def fails(function: Callable[..., Any], **overrides: Any) -> Check:
    """Run the check on the finished lab with `overrides`; it must fail (a CheckFailed, the student's)."""
    check = new_check(function)
    with pytest.raises(CheckFailed) as failed:
        function(**arguments(function, overrides), check=check)
    assert check.verdict == "fail"
    assert failed.value.message == check.message
    return check


def skips(function: Callable[..., Any], **overrides: Any) -> str:
    """Run the check with `overrides`; it must skip in its own body. Returns the reason."""
    check = new_check(function)
    with pytest.raises(pytest.skip.Exception) as skipped:
        function(**arguments(function, overrides), check=check)
    assert check.verdict == "", check
    return str(skipped.value.msg)


def cannot_see(function: Callable[..., Any], **overrides: Any) -> tuple[GraderError, Check]:
    """Run the check with `overrides`; it must stop on a GraderError (the grader's `error`, never the student's
    fail). Returns the error and the check (its evidence so far)."""
    check = new_check(function)
    with pytest.raises(GraderError) as stopped:
        function(**arguments(function, overrides), check=check)
    assert check.verdict == "", f"the check said {check.verdict!r} before the grader's error: {check.message}"
    return stopped.value, check


def grader_bug(function: Callable[..., Any], **overrides: Any) -> AssertionError:
    """Run the check with `overrides`; it must stop on a plain AssertionError (the grader's error, not a fail)."""
    check = new_check(function)
    with pytest.raises(AssertionError) as stopped:
        function(**arguments(function, overrides), check=check)
    assert not isinstance(stopped.value, CheckFailed), f"a fail, not the grader's error: {stopped.value}"
    assert check.verdict == ""
    return stopped.value


def ids_of(*functions: Callable[..., Any]) -> frozenset[str]:
    """The check ids of registered check functions."""
    found = {info_of(f) for f in functions}
    assert None not in found
    return frozenset(info.id for info in found if info is not None)


def check_id(function: Callable[..., Any]) -> str:
    """The id of one registered check function (for parametrize ids)."""
    info = info_of(function)
    return info.id if info else getattr(function, "__name__", str(function))

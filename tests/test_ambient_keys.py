"""Keys stay home (issue 11, row 10): with --endpoint-url and no credentials named, the ambient credentials
(environment, default or AWS_PROFILE profile) never sign a request to that endpoint; named ones are used as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.aws import ReadOnlyAWS
from grader.errors import GraderError
from grader.target import SANDBOX_KEY, Target
from tests.recording_endpoint import recording_endpoint

AMBIENT = {
    "AWS_ACCESS_KEY_ID": "ASIAAMBIENTENVKEY001",
    "AWS_SECRET_ACCESS_KEY": "ambient-env-secret",
    "AWS_SESSION_TOKEN": "ambient-env-session-token",
}
PROFILES = """[default]
aws_access_key_id = ASIAAMBIENTDEFAULT01
aws_secret_access_key = ambient-default-secret
aws_session_token = ambient-default-token

[ambient]
aws_access_key_id = ASIAAMBIENTPROFILE01
aws_secret_access_key = ambient-profile-secret

[lab]
aws_access_key_id = ASIANAMEDPROFILEKEY1
aws_secret_access_key = named-profile-secret
aws_session_token = named-profile-token
"""
AMBIENT_VALUES = (*AMBIENT.values(), "ASIAAMBIENTDEFAULT01", "ambient-default-token", "ASIAAMBIENTPROFILE01")


@pytest.fixture
def ambient(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Real-looking keys everywhere boto3 looks by itself: the environment, the default profile, AWS_PROFILE."""
    credentials = tmp_path / "credentials"
    credentials.write_text(PROFILES)
    (tmp_path / "config").write_text("[default]\nregion = us-east-1\n")
    for name, value in AMBIENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return credentials


@pytest.mark.parametrize("profile_env", [None, "ambient"])
def test_an_endpoint_without_named_credentials_signs_with_throwaway_keys(
    ambient: Path, monkeypatch: pytest.MonkeyPatch, profile_env: str | None
) -> None:
    """The session resolves the throw-away keys with no session token, and the request the endpoint receives
    carries neither the environment's nor a profile's key id, secret or token."""
    if profile_env:
        monkeypatch.setenv("AWS_PROFILE", profile_env)
    with recording_endpoint() as endpoint:
        target = Target(endpoint_url=endpoint.url)
        frozen = target.session().get_credentials().get_frozen_credentials()
        assert (frozen.access_key, frozen.secret_key, frozen.token) == (SANDBOX_KEY, SANDBOX_KEY, None)
        with pytest.raises(GraderError, match="denied the grader permission"):
            ReadOnlyAWS.for_target(target).identity()
        [request] = endpoint.requests
    assert f"Credential={SANDBOX_KEY}/" in request["authorization"]
    assert "x-amz-security-token" not in request
    sent = " ".join(request.values())
    assert not [value for value in AMBIENT_VALUES if value in sent]


@pytest.mark.parametrize(
    ("named", "key_id", "token"),
    [("profile", "ASIANAMEDPROFILEKEY1", "named-profile-token"), ("file", "ASIANAMEDFILEKEY0001", "named-file-token")],
)
def test_credentials_named_explicitly_are_used_as_given_with_an_endpoint(
    ambient: Path, tmp_path: Path, named: str, key_id: str, token: str
) -> None:
    """--profile and --credentials-file choose the keys for an endpoint too (a LocalStack or sandbox account)."""
    creds = tmp_path / "lab-credentials"
    creds.write_text(f"[default]\naws_access_key_id={key_id}\naws_secret_access_key=s\naws_session_token={token}\n")
    with recording_endpoint() as endpoint:
        chosen = {"profile": {"profile": "lab"}, "file": {"credentials_file": creds}}[named]
        target = Target(endpoint_url=endpoint.url, **chosen)  # type: ignore[arg-type]
        with pytest.raises(GraderError, match="denied the grader permission"):
            ReadOnlyAWS.for_target(target).identity()
        [request] = endpoint.requests
    assert f"Credential={key_id}/" in request["authorization"]
    assert request["x-amz-security-token"] == token

"""The sandbox's websites: a user's folder served for the running instance, read at each request."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import requests

from grader.sandbox import Sandbox
from grader.sandbox.layout import SITES_PATH
from grader.sandbox.sites import SiteHost, site_folder_problem
from tests.sandbox.serving import serving


def _site(tmp_path: Path, settings: str = "UserPoolId: 'first'") -> Path:
    root = tmp_path / "site"
    (root / "scripts").mkdir(parents=True)
    (root / "login.html").write_text('<input id="username">', encoding="utf-8")
    (root / "scripts" / "settings.js").write_text(settings, encoding="utf-8")
    return root


def test_a_folder_waits_for_the_first_running_instance_and_is_read_at_each_request(tmp_path: Path) -> None:
    """No instance yet: nothing is listed; once one runs the folder is its site, and edits show at once."""
    running: list[str] = []
    host = SiteHost(lambda: list(running))
    root = _site(tmp_path)
    assert host.serve_folder(root) is None
    with serving(host) as url:
        assert requests.get(url + SITES_PATH, timeout=5).json() == {}
        running.extend(["EC2-1-2-3-4.compute-1.amazonaws.com", "ec2-5-6-7-8.compute-1.amazonaws.com"])
        listing = requests.get(url + SITES_PATH, timeout=5).json()
        assert list(listing) == ["ec2-1-2-3-4.compute-1.amazonaws.com"]
        page = f"{url}{SITES_PATH}/ec2-1-2-3-4.compute-1.amazonaws.com/scripts/settings.js"
        assert requests.get(page, timeout=5).text == "UserPoolId: 'first'"
        (root / "scripts" / "settings.js").write_text("UserPoolId: 'filled in later'", encoding="utf-8")
        assert requests.get(page, timeout=5).text == "UserPoolId: 'filled in later'"
        running.reverse()  # another instance first now: the folder stays where it was put
        assert list(requests.get(url + SITES_PATH, timeout=5).json()) == ["ec2-1-2-3-4.compute-1.amazonaws.com"]


def test_a_folder_without_login_html_is_refused_with_a_sentence(tmp_path: Path) -> None:
    """A folder that is not the course website, or no folder at all, is named with what is missing."""
    (tmp_path / "empty").mkdir()
    assert "has no login.html" in site_folder_problem(tmp_path / "empty")
    assert "is not a folder" in site_folder_problem(tmp_path / "missing")
    assert site_folder_problem(_site(tmp_path)) == ""
    with pytest.raises(ValueError, match=r"has no login\.html"):
        SiteHost().serve_folder(tmp_path / "empty")


def test_the_folder_is_served_under_the_sandboxs_running_instance(tmp_path: Path) -> None:
    """In a real sandbox the folder goes to the instance started after it was given."""
    with Sandbox() as sandbox:
        assert sandbox.serve_folder(_site(tmp_path)) is None
        ec2 = boto3.client(
            "ec2", endpoint_url=sandbox.url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        dns = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["PublicDnsName"]
        listing = requests.get(sandbox.url + SITES_PATH, timeout=5).json()
        assert list(listing) == [dns.lower()]


def test_each_sandbox_starts_empty() -> None:
    """A second sandbox of the same process does not see the first one's user pools."""
    for _ in range(2):
        with Sandbox() as sandbox:
            idp = boto3.client(
                "cognito-idp",
                endpoint_url=sandbox.url,
                region_name="us-east-1",
                aws_access_key_id="k",
                aws_secret_access_key="s",
            )
            assert idp.list_user_pools(MaxResults=10)["UserPools"] == []
            idp.create_user_pool(PoolName="VehicleAppUserPool")

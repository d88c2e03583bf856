"""One student's account: where to look (region, endpoint, site) and with which credentials."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.credentials_file import read_credentials_file
from grader.errors import GraderError

if TYPE_CHECKING:
    import boto3

SANDBOX_KEY = "sandbox"
AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+){1,2}-\d{1,2}", re.ASCII)
"""What an AWS region's name looks like (us-east-1, us-gov-west-1)."""
OPTION_HELP = {
    "profile": "AWS profile to grade with.",
    # The backslash keeps the command line's help (Rich markup) from taking `[default]` for a style.
    "credentials_file": "File holding the \\[default] block from the lab's AWS Details.",
    "region": "AWS region of the lab (default us-east-1).",
    "endpoint_url": "AWS endpoint, e.g. a `grader sandbox` URL.",
    "site_url": "The website's address, if not the callback URL.",
    "student": "Name for the report (default: from the caller identity).",
    "browser_path": "Chromium or Chrome for the website checks.",
}
"""The options that say where to look, as `grader check` and `pytest checks/` both take them."""


@dataclass(frozen=True)
class Target:
    """Where the grader looks. Real AWS and the sandbox differ only in `endpoint_url` and keys."""

    region: str = "us-east-1"
    profile: str | None = None
    credentials_file: Path | None = None
    endpoint_url: str | None = None
    site_url: str | None = None
    student: str | None = None
    browser_path: str | None = None
    role_arn: str | None = None
    """A read-only role in the student's account, assumed with the credentials above (a course's own accounts)."""
    external_id: str | None = None
    site_url_trusted: bool = True
    """Whether `site_url` was named by the person running the grader, who may name a local website.

    A URL from a roster (which students may fill in) is not: it passes the same address policy as
    every host a student controls (public addresses only), unless the instructor allows local sites.
    """

    @property
    def named_site_url(self) -> str | None:
        """The website reached as it is, local or not: `site_url` when the person running the grader named it."""
        return self.site_url if self.site_url_trusted else None

    @property
    def kind(self) -> str:
        return "sandbox" if self.endpoint_url else "aws"

    def session(self) -> boto3.Session:
        """A boto3 session: profile, credentials file, environment chain, or sandbox keys; then the role, if any."""
        base = self._base_session()
        return base if self.role_arn is None else self._assumed(base)

    def _assumed(self, base: boto3.Session) -> boto3.Session:
        """The session of `role_arn`, assumed with `base` (STS answers in the grader's account, not the student's)."""

        sts = make_client(base, "sts", region_name=self.region, endpoint_url=self.endpoint_url)
        asked: dict[str, Any] = {"RoleArn": self.role_arn, "RoleSessionName": "vehicle-lab-grader"}
        if self.external_id:
            asked["ExternalId"] = self.external_id
        keys = sts.assume_role(**asked)["Credentials"]
        return new_session(
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
            region_name=self.region,
        )

    def _base_session(self) -> boto3.Session:
        from botocore.exceptions import ProfileNotFound

        if self.credentials_file is not None:
            keys = read_credentials_file(self.credentials_file)
            return new_session(
                aws_access_key_id=keys["aws_access_key_id"],
                aws_secret_access_key=keys["aws_secret_access_key"],
                aws_session_token=keys.get("aws_session_token"),
                region_name=self.region,
            )
        if self.profile:
            try:
                return new_session(profile_name=self.profile, region_name=self.region)
            except ProfileNotFound:
                raise GraderError(
                    f"There is no AWS profile named {self.profile!r}. List yours with "
                    "`aws configure list-profiles`, or use --credentials-file.",
                    kind="no-credentials",
                ) from None
        if self.endpoint_url:
            # A local endpoint never needs a student's real keys; don't send them there.
            return new_session(
                region_name=self.region,
                aws_access_key_id=SANDBOX_KEY,
                aws_secret_access_key=SANDBOX_KEY,
            )
        return new_session(region_name=self.region)


CLIENT_CREATION = threading.Lock()
"""One boto3 client is made at a time in the process. Sessions are not thread-safe, and the grader's
sessions share one loader of service models (new_session): making two clients at once, even of two
students' sessions, was seen to fail with a KeyError inside botocore while a class was graded.
Making a client is CPU work under the interpreter's lock, so little is lost by taking turns."""


def make_client(session: boto3.Session, service: str, **options: Any) -> Any:
    """`session.client(service, **options)`, one client at a time in the process (CLIENT_CREATION)."""
    with CLIENT_CREATION:
        return session.client(service, **options)  # type: ignore[call-overload]


@functools.lru_cache(maxsize=1)
def _shared_loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


def new_session(**options: Any) -> boto3.Session:
    """A boto3 session whose service models come from the one loader of the process.

    Each session would otherwise parse the models again (measured: about 40 MiB and 0.2 CPU-s per
    session and its clients), which a class's batch pays for every student.
    """
    import boto3
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader())
    profile = options.get("profile_name")
    if profile is not None and profile not in core.available_profiles:
        raise ProfileNotFound(profile=profile)  # as boto3.Session does without a botocore session of its own
    return boto3.Session(botocore_session=core, **options)


def target_from_options(options: Mapping[str, Any]) -> Target:
    """The Target the options in OPTION_HELP name (absent or None: the default)."""
    credentials = options.get("credentials_file")
    return Target(
        region=options.get("region") or "us-east-1",
        profile=options.get("profile"),
        credentials_file=Path(credentials) if credentials else None,
        endpoint_url=options.get("endpoint_url"),
        site_url=options.get("site_url"),
        student=options.get("student"),
        browser_path=options.get("browser_path"),
    )


def student_from_arn(arn: str, account_id: str) -> str:
    """A readable student name from the caller ARN (Academy sessions end in `user123=Jane_Doe`)."""
    name = arn.rsplit("/", 1)[-1] if "/" in arn else ""
    if "=" in name:
        name = name.split("=", 1)[1]
    return slug(name) or account_id or "student"


# Names Windows keeps for devices, whatever the extension: not usable as a folder's name there.
_WINDOWS_DEVICES = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)


def slug(text: str) -> str:
    """A safe folder name on every system: letters, digits, dot, dash, underscore and @ only, no device name."""
    name = re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._")[:80]
    return f"_{name}" if _WINDOWS_DEVICES.fullmatch(name) else name

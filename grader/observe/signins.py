"""What the browser flows report: a login on the course website, and a sign-in through the hosted UI.

The values are pure data: :class:`LoginAttempt` (the website's `login.html`, made by
:mod:`grader.browser.site_login`), :class:`HostedSignIn` (Cognito's hosted UI, made by
:mod:`grader.browser.hosted_signin`) and what they hold (:class:`CognitoCall`), each with its
`evidence()`: the non-secret parts, JSON-compatible. They live with the evidence
(:mod:`grader.observe.evidence`) so that the checks read them without importing the browser: this
module imports neither Playwright nor boto3, nor anything of grader.browser or grader.aws.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from grader.tokens import TokenCheck

SECRET_VALUES = {"secret_values": True}
"""Field metadata: the values are secrets (tokens). Observation verifies them and then blanks them, and
evidence.json writes only the keys."""


def left_out_sentence(counts: list[tuple[int, str, str]]) -> str:
    """`49,950 more console errors and 1 more redirect were left out.` from (number, singular, plural)
    triples; '' when nothing was left out."""
    present = [(n, one, many) for n, one, many in counts if n]
    if not present:
        return ""
    parts = [f"{n:,} more {one if n == 1 else many}" for n, one, many in present]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    verb = "was" if len(present) == 1 and present[0][0] == 1 else "were"
    return f"{joined} {verb} left out."


@dataclass(frozen=True)
class CognitoCall:
    """One call the page made to Cognito, without anything secret: no token, password or SRP value."""

    operation: str
    status: int
    outcome: str
    region: str = ""


def iso_time(epoch: float) -> str:
    """An epoch time as ISO 8601 in UTC for the evidence ('' when it was not recorded)."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds") if epoch > 0 else ""


@dataclass
class LoginAttempt:
    """What happened when the grader logged in on a site's login page.

    `tokens` holds the page's `CognitoIdentityServiceProvider.*` localStorage entries for
    verification only: never report them (it is left out of `repr` and of :meth:`evidence`).
    `error` is a sentence when the login page could not be used at all (connection refused,
    no answer in time, an HTTP error, no login form); `note` says what was seen when the page
    did not reach an end page (`private.html` or `login.html?msg=`) in time.

    The lists are capped as the :class:`~grader.browser.recorder.Recorder` keeps them (the first
    entries and the latest); the `*_left_out` counts say how many more there were.
    """

    login_url: str
    final_url: str = ""
    message: str = ""
    tokens: dict[str, str] = field(default_factory=dict, repr=False, metadata=SECRET_VALUES)
    token_check: TokenCheck | None = None
    """The verdict on the stored tokens, made while observing (see grader/observe/verify.py)."""
    cognito_calls: list[CognitoCall] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshot_png: bytes | None = field(default=None, repr=False)
    screenshot_skipped: str = ""
    """Why no screenshot was kept: the page was not on the website's own origin ('' otherwise)."""
    timed_out: bool = False
    error: str = ""
    note: str = ""
    status: int | None = None
    """The HTTP status the login page answered with (None when it gave no answer)."""
    stopped: str = ""
    """Why the page did not reach an end page after Login was clicked: `timeout`, `stalled` (the page's own
    script threw, then did nothing), `blocked` (it sent the browser to an address the grader does not
    visit) or `load_failed` (the next page did not load); '' when it reached one, or was never clicked."""
    page_text: str = ""
    """The visible text of the page where the login ended (or of a login page the grader could not use), cut short."""
    seconds: float = 0.0
    console_errors_left_out: int = 0
    blocked_left_out: int = 0
    cognito_calls_left_out: int = 0
    started_at: float = 0.0
    """When the grader opened the login page (epoch seconds; 0 if it never did): tokens of this login are newer."""
    ended_at: float = 0.0
    """When the grader finished reading the end page (epoch seconds)."""

    @property
    def landed(self) -> str:
        """Where the login ended: `private` (msg=1 page), `failed` (msg=0), `new_password` (msg=3), or ''."""
        parts = urlsplit(self.final_url)
        if parts.path.endswith("/private.html"):
            return "private"
        if parts.path.endswith("/login.html"):
            msg = dict(p.partition("=")[::2] for p in parts.query.split("&") if p).get("msg")
            return {"0": "failed", "3": "new_password"}.get(msg or "", "")
        return ""

    def evidence(self, *, screenshot: bool = True) -> dict[str, Any]:
        """The non-secret parts, JSON-compatible, for a check's evidence (no token, no password)."""
        out: dict[str, Any] = {
            "login_url": self.login_url,
            "final_url": self.final_url,
            "message": self.message,
            "cognito_calls": [
                {"operation": c.operation, "status": c.status, "outcome": c.outcome}
                | ({"region": c.region} if c.region else {})
                for c in self.cognito_calls
            ],
            "stored_token_keys": sorted(self.tokens),
            "console_errors": list(self.console_errors),
            "blocked": list(self.blocked),
            "timed_out": self.timed_out,
            "error": self.error,
            "note": self.note,
            "status": self.status,
            "stopped": self.stopped,
            "page_text": self.page_text,
            "seconds": round(self.seconds, 2),
            "started_at": iso_time(self.started_at),
            "ended_at": iso_time(self.ended_at),
        }
        left_out = left_out_sentence(
            [
                (self.console_errors_left_out, "console error", "console errors"),
                (self.blocked_left_out, "blocked request", "blocked requests"),
                (self.cognito_calls_left_out, "Cognito call", "Cognito calls"),
            ]
        )
        if left_out:
            counts = {
                "console_errors_left_out": self.console_errors_left_out,
                "blocked_left_out": self.blocked_left_out,
                "cognito_calls_left_out": self.cognito_calls_left_out,
            }
            out.update({key: n for key, n in counts.items() if n})
            out["left_out"] = left_out
        if screenshot and self.screenshot_png:
            out["screenshot"] = "data:image/png;base64," + base64.b64encode(self.screenshot_png).decode("ascii")
        if self.screenshot_skipped:
            out["screenshot_skipped"] = self.screenshot_skipped
        return out


@dataclass
class HostedSignIn:
    """What happened when the grader signed in through the hosted UI.

    `fragment` holds the callback's fragment values (the implicit grant's tokens) for
    verification only: it is never reported (left out of `repr` and :meth:`evidence`).
    """

    authorize_url: str
    redirect_uri: str
    callback: str = ""
    """The redirect to the callback URL, without its fragment and query values ('' if none came)."""
    fragment: dict[str, str] = field(default_factory=dict, repr=False, metadata=SECRET_VALUES)
    token_check: TokenCheck | None = None
    """The verdict on the redirect's tokens, made while observing (see grader/observe/verify.py)."""
    callback_error: str = ""
    """The `error` the redirect carried in its query (`?error=...`), if any."""
    change_password_required: bool = False
    login_pages_unavailable: bool = False
    """Managed login showed "Login pages unavailable" (the app client has no branding style)."""
    sign_in_methods: list[str] = field(default_factory=list)
    """The options of a "choose a sign-in method" step, as shown (empty when there was none)."""
    sign_in_method_chosen: str = ""
    """'password' when the grader chose the password option on such a step."""
    method_choice_without_password: bool = False
    """Such a step offered no password option, so the grader stopped there."""
    sign_in_message: str = ""
    """What the sign-in form said after the grader submitted it (e.g. "Incorrect username or password.")."""
    unrecognised_page: bool = False
    """The hosted UI showed a page with nothing the grader recognises, so it stopped there (`error` says what)."""
    page_status: int = 0
    """The HTTP status of the last hosted-UI page read (0: not known)."""
    page_text: str = ""
    """The last page's visible text, on one line and cut short (never the password)."""
    pages: list[str] = field(default_factory=list)
    """The paths the hosted UI went through: the first and the latest (:data:`grader.browser.hosted_signin.PAGES_HEAD`,
    :data:`~grader.browser.hosted_signin.PAGES_TAIL`)."""
    blocked: list[str] = field(default_factory=list)
    pages_left_out: int = 0
    blocked_left_out: int = 0
    screenshot_png: bytes | None = field(default=None, repr=False)
    screenshot_skipped: str = ""
    """Why no screenshot was kept: the page was neither the hosted UI nor the callback ('' otherwise)."""
    error: str = ""
    timed_out: bool = False
    seconds: float = 0.0
    started_at: float = 0.0
    """When the grader opened the authorize page (epoch seconds; 0 if it never did): its tokens are newer."""
    ended_at: float = 0.0
    """When the sign-in ended (epoch seconds)."""

    @property
    def reached_callback(self) -> bool:
        return bool(self.callback)

    def evidence(self) -> dict[str, Any]:
        """The non-secret parts, JSON-compatible: no token, no password."""
        out: dict[str, Any] = {
            "authorize_url": self.authorize_url,
            "redirect_uri": self.redirect_uri,
            "hosted_ui_pages": list(self.pages),
            "callback_reached": self.callback,
            "fragment_keys": sorted(self.fragment),
            "callback_error": self.callback_error,
            "change_password_form": self.change_password_required,
            "login_pages_unavailable": self.login_pages_unavailable,
            "sign_in_methods_offered": list(self.sign_in_methods),
            "sign_in_method_chosen": self.sign_in_method_chosen,
            "sign_in_message": self.sign_in_message,
            "unrecognised_page": self.unrecognised_page,
            "last_page_status": self.page_status,
            "last_page_text": self.page_text,
            "blocked": list(self.blocked),
            "error": self.error,
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 2),
            "started_at": iso_time(self.started_at),
            "ended_at": iso_time(self.ended_at),
        }
        left_out = left_out_sentence(
            [
                (self.pages_left_out, "hosted-UI page", "hosted-UI pages"),
                (self.blocked_left_out, "blocked request", "blocked requests"),
            ]
        )
        if left_out:
            counts = {"hosted_ui_pages_left_out": self.pages_left_out, "blocked_left_out": self.blocked_left_out}
            out.update({key: n for key, n in counts.items() if n})
            out["left_out"] = left_out
        if self.screenshot_png:
            out["screenshot"] = "data:image/png;base64," + base64.b64encode(self.screenshot_png).decode("ascii")
        if self.screenshot_skipped:
            out["screenshot_skipped"] = self.screenshot_skipped
        return out

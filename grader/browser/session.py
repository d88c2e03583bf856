"""The grader's browser session: one Chromium per grading run, opening pages in fresh contexts.

:class:`BrowserSession` launches the browser found by :func:`~grader.browser.discovery.find_browser`
on first use, optionally in a thread of its own (:meth:`BrowserSession.call`, whose watchdog stops
the browser at a deadline). :meth:`BrowserSession.open_page` gives a page in a fresh context,
observed and routed by a :class:`~grader.browser.recorder.Recorder`. What is done with a page lives
beside it: the website's login in :mod:`grader.browser.site_login`, the hosted-UI sign-in in
:mod:`grader.browser.hosted_signin`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, TypeVar

import grader
from grader.browser.discovery import NO_SANDBOX_ENV, BrowserChoice, session_launch_args
from grader.errors import GraderError
from grader.network import current as current_network

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize

    from grader.browser.recorder import Recorder
    from grader.browser.routing import Routes

T = TypeVar("T")

_VIEWPORT: ViewportSize = {"width": 1000, "height": 720}


def first_line(exc: Exception) -> str:
    """The first line of an exception's text (Playwright appends call logs below it)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


_DRIVER_START = threading.Lock()


@contextlib.contextmanager
def driver_in_own_session() -> Iterator[None]:
    """Start Playwright's driver (a Node.js process) in a session of its own, on POSIX systems.

    A terminal's Ctrl-C, or a SIGTERM sent to the grader's process group, would otherwise reach
    the driver too; it would die under the work in hand while the grader still talks to it. In a
    session of its own only the grader ends it, by closing it or by exiting (the driver stops when
    its input closes). Playwright starts the driver with asyncio's `create_subprocess_exec`, looked
    up when called: it is wrapped for as long as the driver starts, under a lock.
    """
    if os.name != "posix":
        yield
        return
    import asyncio

    with _DRIVER_START:
        original = asyncio.create_subprocess_exec
        asyncio.create_subprocess_exec = functools.partial(original, start_new_session=True)
        try:
            yield
        finally:
            asyncio.create_subprocess_exec = original


def remaining_ms(deadline: float, floor_ms: float = 1.0) -> float:
    return max(floor_ms, (deadline - time.monotonic()) * 1000.0)


def evaluate_within(page: Page, function: str, arg: Any = None, *, timeout_ms: float) -> Any:
    """`page.evaluate(function, arg)`, given up after `timeout_ms` when the page is busy.

    Playwright's `page.evaluate` waits for as long as the page's own script runs: a page spinning
    in a loop would hold the grader for good. The same call made through a locator is bounded
    by its timeout while the page cannot answer (a TimeoutError). A page that starts spinning in
    the very moment of the call is stopped by the session's watchdog (BrowserSession.call).
    """
    wrapped = f"(_root, arg) => ({function})(arg)"
    return page.locator(":root").evaluate(wrapped, arg, timeout=timeout_ms)


class BrowserSession:
    """One browser per grading run (launched on first use), a fresh context for every page it opens.

    Every request is routed by the page's Recorder. Against real AWS (`routes` a
    :class:`~grader.browser.routing.RealRoutes`, or None: nothing named) the named website,
    Cognito and public addresses are reached as they are and anything else (loopback, private,
    link-local, other schemes) is aborted and listed in `LoginAttempt.blocked`. In sandbox mode
    Cognito's endpoint and the deployed sites are answered by the sandbox and every other request
    is aborted and listed.
    """

    def __init__(
        self,
        choice: BrowserChoice,
        routes: Routes | None,
        region: str,
        *,
        timeout_s: float = 15.0,
        user_agent_tag: str | None = None,
        own_thread: bool = False,
    ) -> None:
        self.choice = choice
        self.routes = routes
        self.region = region
        self.timeout_s = timeout_s
        self.user_agent_tag = user_agent_tag
        """What the browser's user agent ends with: None for :data:`grader.GRADER_MARK` (read at each launch)."""
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._browser_agent = ""  # Chromium's own user agent, asked at launch
        self._browser_pid: int | None = None
        # Playwright's sync API runs one instance per thread. A session kept open beside others
        # (a sandbox's browsers in the test suite) gets a thread of its own; see call().
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser") if own_thread else None

    def start(self) -> None:
        """Launch the browser now, in the session's own thread, without waiting for it.

        For a session with its own thread only (else nothing happens): the caller goes on reading
        the account while Chromium starts. A launch that fails here is tried again, and its
        error raised, at first use.
        """
        if self._worker is not None:
            self._worker.submit(self._launch_quietly)

    def _launch_quietly(self) -> None:
        with contextlib.suppress(GraderError):
            self._launch()

    def call(
        self,
        work: Callable[..., T],
        *args: Any,
        deadline: float | None = None,
        before_stop: Callable[[], None] | None = None,
    ) -> T:
        """`work(self, *args)` in the session's thread: its own thread if it has one, else the caller's.

        With a `deadline` (a time.monotonic() value) a watchdog outside the page enforces it: then
        `before_stop()` is called (to keep what the work has finished); if the work is running,
        the browser is stopped (:meth:`kill`), which ends every call the work is waiting on; if it
        still waits for its turn behind another call's work, it is taken off the queue and that
        work goes on. A GraderError is raised: of kind "deadline", or "browser-busy" when the work
        never started. The session launches a new browser at its next use.
        """
        stopped = GraderError(
            "The grader stopped the browser at its deadline: the website did not finish.", kind="deadline"
        )
        busy = GraderError(
            "The grader's browser was busy with other work until the deadline: this work never started.",
            kind="browser-busy",
        )
        fired = threading.Event()
        lock = threading.Lock()
        running = False

        def guarded(session: BrowserSession, *more: Any) -> T:
            nonlocal running
            with lock:
                if fired.is_set():  # its deadline passed while it waited for its turn
                    raise busy
                running = True
            try:
                return work(session, *more)
            finally:
                with lock:
                    running = False

        def stop() -> None:
            with lock:
                fired.set()
                was_running = running
            if before_stop is not None:
                before_stop()
            if was_running:  # work of another call that shares the browser is never stopped
                self.kill()

        watchdog: threading.Timer | None = None
        if deadline is not None:
            watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), stop)
            watchdog.daemon = True
            watchdog.start()
        try:
            if self._worker is None:
                result = guarded(self, *args)
            else:
                pending = self._worker.submit(guarded, self, *args)
                while True:  # woken at the deadline even while the work waits behind another's
                    try:
                        result = pending.result(timeout=0.25 if watchdog is not None else None)
                        break
                    except FutureTimeout:
                        if fired.is_set() and pending.cancel():
                            raise busy from None
        except GraderError as exc:
            if exc is busy or not fired.is_set():
                raise
            raise stopped from None
        except Exception:
            if fired.is_set():
                raise stopped from None
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if fired.is_set():
            raise stopped
        return result

    def kill(self) -> None:
        """Stop the browser's process at once, from any thread; what waited on it fails, and the next use relaunches.

        Playwright's calls can be made only from the session's thread, and that thread may be
        stuck waiting on a page that never answers: ending the process is the one way out.
        """
        pid, self._browser_pid = self._browser_pid, None
        if pid is None:
            return
        with contextlib.suppress(OSError):  # already gone
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    # -- lifecycle

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self, patience_s: float | None = None) -> None:
        """Close the browser and stop Playwright (safe to call twice).

        A session whose thread is still busy (a page that never answers) gets `patience_s`
        (default `timeout_s`) to finish; then its browser is stopped from outside, and the close
        waits no more than that again. A close cut short leaves the thread to end on its own.
        """
        patience = self.timeout_s if patience_s is None else patience_s
        worker, self._worker = self._worker, None
        if worker is None:
            self._close()
            return
        closing = worker.submit(self._close)
        try:
            closing.result(timeout=patience)
        except FutureTimeout:
            self.kill()
            with contextlib.suppress(FutureTimeout):
                closing.result(timeout=patience)
        worker.shutdown(wait=False)

    def _close(self) -> None:
        self._browser_pid = None
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):  # already gone
                browser.close()
        self._stop_playwright()

    def _stop_playwright(self) -> None:
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Exception):  # already stopped
                playwright.stop()

    @property
    def user_agent(self) -> str:
        """The user agent of the grader's logins: Chromium's own, then the grader's tag (:data:`grader.GRADER_MARK`)."""
        self._launch()
        return self._tagged_agent()

    def _tagged_agent(self) -> str:
        """Chromium's own user agent, then the tag as it is now."""
        tag = grader.GRADER_MARK if self.user_agent_tag is None else self.user_agent_tag
        return f"{self._browser_agent} {tag}".strip()

    def _launch(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._close()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise GraderError(
                "Playwright is not installed, so the browser checks cannot run. Install the grader "
                "with its dependencies, then a Chromium (`playwright install chromium`, or on "
                "Debian/Ubuntu `sudo apt-get install chromium`).",
                kind="no-browser",
            ) from None
        args = session_launch_args()
        try:
            with driver_in_own_session():
                self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.choice.executable,
                headless=True,
                args=args,
                # Playwright adds --no-sandbox itself unless told otherwise: the two agree.
                chromium_sandbox="--no-sandbox" not in args,
                # Ctrl-C reaches the whole process group: the grader decides what stops, and how.
                # Left to Playwright, the signal would close the browser under the work in hand.
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
                timeout=30_000,
            )
        except Exception as exc:  # noqa: BLE001 - any launch failure is the same advice
            self._close()
            reason = first_line(exc).removeprefix("BrowserType.launch: ").rstrip(".")
            if "asyncio loop" in reason:
                raise GraderError(
                    "The browser could not be started because Playwright is already running in this "
                    "thread (another BrowserSession, or an asyncio loop). Use one BrowserSession per "
                    "grading run. This is a bug in the grader: please report it.",
                    kind="bug",
                ) from None
            if "--no-sandbox" not in args and "sandbox" in str(exc).lower():
                raise GraderError(
                    f"The grader could not start the browser ({self.choice.source}) in Chromium's own "
                    f"sandbox: {reason}. Allow unprivileged user namespaces on this machine, or, where the "
                    f"grader runs in a container of its own, set {NO_SANDBOX_ENV}=1 to run Chromium without it.",
                    kind="no-browser",
                ) from None
            raise GraderError(
                f"The grader could not start the browser ({self.choice.source}): {reason}. "
                "Install a working Chromium with `playwright install chromium` (or on Debian/Ubuntu "
                "`sudo apt-get install chromium`), or give its path with --browser-path.",
                kind="no-browser",
            ) from None
        agent, self._browser_pid = self._ask_browser(self._browser)
        self._browser_agent = agent
        return self._browser

    @staticmethod
    def _ask_browser(browser: Browser) -> tuple[str, int | None]:
        """The browser's own user agent, and its process id (for the watchdog), over CDP."""
        try:
            cdp = browser.new_browser_cdp_session()
            try:
                agent = str(cdp.send("Browser.getVersion")["userAgent"])
                pid: int | None = None
                with contextlib.suppress(Exception):  # a browser that does not say: no watchdog
                    processes = cdp.send("SystemInfo.getProcessInfo").get("processInfo", [])
                    pid = next((int(p["id"]) for p in processes if p.get("type") == "browser"), None)
                return agent, pid
            finally:
                cdp.detach()
        except Exception:  # noqa: BLE001 - not Chromium over CDP: ask a page
            context = browser.new_context()
            try:
                return str(context.new_page().evaluate("navigator.userAgent")), None
            finally:
                context.close()

    @contextlib.contextmanager
    def open_page(self, recorder: Recorder, budget: float) -> Iterator[Page]:
        """A page in a fresh context, routed and observed by `recorder` (in every mode).

        Every wait defaults to `budget` seconds; the context is closed on the way out.
        """
        context = self._new_context()
        try:
            context.set_default_timeout(budget * 1000)
            context.set_default_navigation_timeout(budget * 1000)
            context.route("**/*", recorder.route)
            context.on("request", recorder.on_request)
            context.on("response", recorder.on_response)
            context.on("requestfailed", recorder.on_request_failed)
            page = context.new_page()
            page.on("console", recorder.on_console)
            page.on("pageerror", recorder.on_page_error)
            yield page
        finally:
            # Closed straight away: removing the routes first would wait on a page that never answers.
            with contextlib.suppress(Exception):  # the browser went away
                context.close()

    def _new_context(self) -> BrowserContext:
        """A fresh context; if the browser has gone away, launch it once more."""
        for retry in (False, True):
            browser = self._launch()
            try:
                return browser.new_context(
                    # The course sites use a self-signed certificate; AWS's own are checked (aws_fetch.py).
                    ignore_https_errors=True,
                    proxy=current_network().browser_proxy(),  # type: ignore[arg-type]
                    user_agent=self._tagged_agent(),
                    viewport=_VIEWPORT,
                    service_workers="block",
                )
            except Exception:  # noqa: BLE001 - the browser crashed or was closed
                self._close()
                if retry:
                    raise GraderError(
                        "The browser stopped working and could not be started again. Run the grader "
                        "again; if it keeps happening, show this message to your instructor.",
                        kind="browser",
                    ) from None
        raise AssertionError("unreachable")

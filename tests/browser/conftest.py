"""Serve the built site on loopback and drive Debian's chromium through Playwright.

Nothing here downloads a browser (never `playwright install`): the tests use the
system's /usr/bin/chromium. On a machine without it they skip and say why; in CI
(CI=true) a missing browser is a failure, so the browser tests can never be skipped
silently where they matter.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from built_site import SITE

CHROMIUM = os.environ.get("WORKSHOP_CHROMIUM", "/usr/bin/chromium")
# Headless and offline: no sandbox (CI runs as root), no GPU, and none of the
# background traffic (updates, sync, field trials) that would show up as failed
# requests or slow the start.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where every test must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the test report is the log: one line per request would drown it


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    """The built site, served from a random port on 127.0.0.1 for this test run."""
    if not (SITE / "index.html").exists():
        missing(f"no built site in {SITE}: run `python3 noxw -s docs` first")
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(f"no chromium at {CHROMIUM}: `apt-get install chromium` "
                "(or set WORKSHOP_CHROMIUM to a Chromium binary)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed: `pip install -r requirements.txt`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageProblems:
    """What went wrong while a page was open, gathered from the browser's events."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"console error: {m}" for m in self.console_errors]
        lines += [f"failed request: {m}" for m in self.failed_requests]
        return "\n".join(lines)


@dataclass
class OpenPage:
    page: object  # playwright.sync_api.Page
    problems: PageProblems


def page_opener(browser, site_url: str):
    """A fresh browser context and a function that opens one page in it, recording
    every console error and failed request while the page is open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Fail fast rather than wait 30 s when something hangs: the site is local.
    context.set_default_timeout(15_000)

    def opener(relative: str) -> OpenPage:
        page = context.new_page()
        problems = PageProblems()
        page.on("console", lambda msg: problems.console_errors.append(msg.text)
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.console_errors.append(f"uncaught: {exc}"))
        page.on("requestfailed", lambda req: problems.failed_requests.append(
            f"{req.url} ({req.failure})"))
        page.on("response", lambda resp: problems.failed_requests.append(
            f"{resp.url} (HTTP {resp.status})") if resp.status >= 400 else None)
        page.goto(site_url + relative, wait_until="load")
        # Let scripts that run after `load` (search, theme, copy buttons) settle.
        page.wait_for_load_state("networkidle")
        return OpenPage(page, problems)

    return context, opener


@pytest.fixture
def open_page(browser, site_url) -> Iterator:
    """open_page("labs/x.html") -> OpenPage, the page loaded and its problems recorded."""
    context, opener = page_opener(browser, site_url)
    try:
        yield opener
    finally:
        context.close()


@pytest.fixture(scope="module")
def open_page_once(browser, site_url) -> Iterator:
    """Like open_page, but each page is opened once per test module and kept open, for
    several tests that only read the same page (each page is a second or so)."""
    context, opener = page_opener(browser, site_url)
    opened: dict[str, OpenPage] = {}

    def once(relative: str) -> OpenPage:
        if relative not in opened:
            opened[relative] = opener(relative)
        return opened[relative]

    try:
        yield once
    finally:
        context.close()

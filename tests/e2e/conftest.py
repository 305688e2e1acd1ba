"""Browser-test fixtures: one real server per session, Debian's Chromium driven by Playwright, and a
page factory that fails the test on any browser console error or uncaught exception."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect, sync_playwright

from huiliu.runtime import Runtime
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, Server, running_server
from tests.factories import PASSWORD, Member

T = TypeVar("T")
VIEWPORT = {"width": 1366, "height": 768}
# Generous bounds for page loads on a busy CI machine; assertions wait at most this long.
EXPECT_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("e2e")) as server:
        yield server


class Seeder:
    """Runs the services in the test process against the server's database file. Its event loop lives
    on its own thread: pytest-asyncio may already run a loop on the main thread, and the runtime's
    connection pool must stay on one loop."""

    def __init__(self, server: Server) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-seeder", daemon=True)
        self.thread.start()
        self.runtime = Runtime.build(server.settings)
        self.run(self.runtime.start())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=60)

    def close(self) -> None:
        try:
            self.run(self.runtime.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture(scope="session")
def seeder(e2e_server: Server) -> Iterator[Seeder]:
    seeding = Seeder(e2e_server)
    try:
        yield seeding
    finally:
        seeding.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserErrors:
    messages: list[str] = field(default_factory=list)
    # Requests a test makes fail on purpose (a 404 for an out-of-scope ticket): Chromium logs each
    # failed load as a console error, which is expected there and nowhere else.
    expected_failures: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        if message.text.startswith("Failed to load resource") and any(
            part in url for part in self.expected_failures
        ):
            return
        self.messages.append(f"console: {message.text} @ {url}")

    def page_error(self, error: Error) -> None:
        self.messages.append(f"uncaught: {error}")


class PageFactory:
    """``open_page()`` gives a page in a fresh browser context (own cookies and storage) at 1366×768."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.errors = BrowserErrors()
        self.contexts: list[BrowserContext] = []

    def __call__(self) -> Page:
        context = self.browser.new_context(viewport=VIEWPORT, base_url=self.server.url, locale="zh-CN")
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self.errors.console)
        page.on("pageerror", self.errors.page_error)
        return page

    def expect_failed_load(self, url_part: str) -> None:
        self.errors.expected_failures.append(url_part)


@pytest.fixture
def open_page(browser: Browser, e2e_server: Server) -> Iterator[PageFactory]:
    pages = PageFactory(browser, e2e_server)
    yield pages
    try:
        assert pages.errors.messages == [], "the browser reported errors:\n" + "\n".join(
            pages.errors.messages
        )
    finally:
        for context in pages.contexts:
            context.close()


def log_in(page: Page, member: Member) -> None:
    page.goto("/login")
    page.get_by_test_id("login-email").fill(member.user.email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/queues/[a-z-0-9]+$"))


def api_client(server: Server, member: Member) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=member.headers, timeout=10.0)

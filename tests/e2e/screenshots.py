"""`make screenshots`: seed a small demo on a fresh server and photograph the console's main screens
into docs/screenshots/ (1366×768, zh-CN). Run as ``python -m tests.e2e.screenshots``."""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from huiliu.demo.seed import seed_demo
from huiliu.runtime import Runtime
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, running_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO_LOGIN = ("admin@demo.local", "huiliu-demo")
DEMO_TICKETS = 120
DEMO_CUSTOMERS = 40
TIMEOUT_MS = 15_000


async def _seed(runtime: Runtime) -> None:
    try:
        await seed_demo(runtime.db, tickets_count=DEMO_TICKETS, customers_count=DEMO_CUSTOMERS)
    finally:
        await runtime.db.dispose()


def _settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # let transitions finish so the picture is not caught mid-animation


def _shoot(page: Page, name: str) -> None:
    _settle(page)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"  {path.relative_to(OUT.parents[1])}")


def take(base_url: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        viewport = {"width": 1366, "height": 768}
        context = browser.new_context(viewport=viewport, base_url=base_url, locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto("/login")
        page.get_by_test_id("login-email").fill(DEMO_LOGIN[0])
        page.get_by_test_id("login-password").fill(DEMO_LOGIN[1])
        _shoot(page, "login")
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(re.compile(r"/queues/"))

        page.locator('li[data-view="open"]').click()
        expect(page.locator(".queue-table .el-table__row").first).to_be_visible()
        _shoot(page, "queue")

        page.locator(".queue-table .el-table__row").nth(2).locator("a").click()
        expect(page.get_by_test_id("ticket-title")).to_be_visible()
        _shoot(page, "ticket")

        page.goto("/customers")
        expect(page.locator('[data-testid="customer-table"] .el-table__row').first).to_be_visible()
        _shoot(page, "customers")

        page.goto("/settings/users")
        expect(page.locator('[data-testid="users-table"] .el-table__row').first).to_be_visible()
        _shoot(page, "settings-users")

        page.goto("/settings/profile")
        expect(page.get_by_test_id("notification-preferences")).to_be_visible()
        _shoot(page, "settings-profile")
        browser.close()


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="huiliu-screenshots-") as workdir,
        running_server(Path(workdir)) as server,
    ):
        print(f"seeding a demo of {DEMO_TICKETS} tickets …")
        asyncio.run(_seed(Runtime.build(server.settings)))
        print(f"photographing {server.url} into {OUT}")
        take(server.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

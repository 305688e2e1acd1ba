"""Screenshots of the WeChat / WeCom console page for docs/channels/wechat.md and wecom.md:
``python -m tests.channels.tencent.screenshots <built web dist dir>``. Serves a fresh small demo with
the given build, connects an Official Account and a 微信客服 account against the local fake API,
presses "test connection" and photographs the page and the connect dialog (1366×768, zh-CN); then a
WeCom app with console login on (its panel), the login page's WeCom button and the chat sidebar of a
contact (390×760, as in the WeCom client)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect, sync_playwright

from huiliu.db.migrate import upgrade
from huiliu.demo.seed import seed_demo
from huiliu.runtime import Runtime
from tests.channels.tencent import fake_api as fake
from tests.channels.tencent import vectors as v
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, SECRET, free_port, make_settings

OUT = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
LOGIN = ("admin@demo.local", "huiliu-demo")


def _api(page: Page, method: str, path: str, body: dict[str, Any]) -> Any:
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "huiliu_csrf")
    response = page.request.fetch(path, method=method, data=body, headers={"X-CSRF-Token": csrf})
    assert response.ok, response.text()
    return response.json()


def _shoot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"  docs/screenshots/{name}.png")


def take(base_url: str, fake_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1366, "height": 768}, base_url=base_url, locale="zh-CN"
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/login")
        page.get_by_test_id("login-email").fill(LOGIN[0])
        page.get_by_test_id("login-password").fill(LOGIN[1])
        page.get_by_test_id("login-submit").click()
        page.wait_for_url("**/queues/**")
        official = _api(
            page,
            "POST",
            "/api/v1/entry-points",
            {
                "kind": "wechat_mp",
                "name": "品牌服务号",
                "config": {"app_id": fake.APP_ID, "app_secret": fake.APP_SECRET, "api_base_url": fake_url},
            },
        )
        config = {"corp_id": v.WECOM_CORP_ID, "secret": "wecom-kf-secret-for-tests", "api_base_url": fake_url}
        _api(
            page,
            "POST",
            "/api/v1/entry-points",
            {"kind": "wecom_kf", "name": "官网微信客服", "config": config},
        )
        page.goto(f"/intake/wechat?id={official['id']}")
        expect(page.get_by_test_id("tencent-callback_url")).to_be_visible()
        page.get_by_test_id("tencent-test").click()
        expect(page.get_by_test_id("tencent-test-result")).to_be_visible()
        _shoot(page, "tencent-channels")
        page.get_by_test_id("tencent-create").click()
        page.locator('[data-kind="wecom_app"]').click()
        page.get_by_test_id("tencent-name").fill("售后服务台")
        page.get_by_test_id("tencent-field-corp_id").fill("ww1436e0e65a779aee")
        page.get_by_test_id("tencent-field-agent_id").fill("1000002")
        _shoot(page, "tencent-connect")
        page.keyboard.press("Escape")
        wecom = _api(
            page,
            "POST",
            "/api/v1/entry-points",
            {
                "kind": "wecom_app",
                "name": "售后服务台",
                "config": {
                    "corp_id": fake.CORP_ID,
                    "agent_id": "1000002",
                    "secret": "wecom-app-secret-for-tests",
                    "api_base_url": fake_url,
                    "console_login": True,
                },
            },
        )
        page.goto(f"/intake/wechat?id={wecom['id']}")
        expect(page.get_by_test_id("tencent-wecom-panel")).to_be_visible()
        page.get_by_test_id("tencent-wecom-panel").scroll_into_view_if_needed()
        _shoot(page, "tencent-wecom-login")
        _api(
            page,
            "POST",
            f"/api/v1/wecom/{wecom['id']}/sidebar/tickets",
            {
                "external_userid": "wmDemoContact01",
                "title": "企业微信咨询 · 退货",
                "description": "杯子有裂纹",
            },
        )
        sidebar = browser.new_context(
            viewport={"width": 390, "height": 760}, base_url=base_url, locale="zh-CN"
        )
        sidebar.add_cookies(page.context.cookies())
        narrow = sidebar.new_page()
        narrow.goto(f"/wecom-sidebar/{wecom['id']}?external_userid=wmDemoContact01")
        expect(narrow.get_by_test_id("wecom-sidebar-customer")).to_be_visible()
        narrow.get_by_test_id("wecom-sidebar-new").click()
        _shoot(narrow, "wecom-sidebar")
        visitor = browser.new_context(
            viewport={"width": 1366, "height": 768}, base_url=base_url, locale="zh-CN"
        )
        login = visitor.new_page()
        login.goto("/login")
        expect(login.get_by_test_id("wecom-login")).to_be_visible()
        _shoot(login, "wecom-login-page")
        browser.close()


def main(dist: str) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    state = fake.FakeState()
    fake_server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (fake._Handler,), {"state": state}))
    threading.Thread(target=fake_server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="huiliu-tencent-shots-") as workdir:
        settings = make_settings(Path(workdir))
        upgrade(settings.database_url)
        asyncio.run(_seed(Runtime.build(settings)))
        port = free_port()
        env = {
            **os.environ,
            "HUILIU_DATABASE_URL": settings.database_url,
            "HUILIU_SECRET_KEY": SECRET,
            "HUILIU_FILES_DIR": str(settings.files_dir),
            "HUILIU_HUEY_SQLITE_PATH": str(settings.huey_sqlite_path),
            "HUILIU_WEB_DIST_DIR": dist,
            "HUILIU_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "uvicorn", "huiliu.app:create_app", "--factory", "--port", str(port)]
        process = subprocess.Popen(command, env=env, cwd=workdir)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/api/v1/health", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            take(url, f"http://127.0.0.1:{fake_server.server_address[1]}")
        finally:
            process.terminate()
            process.wait(10)
            fake_server.shutdown()
    return 0


async def _seed(runtime: Runtime) -> None:
    try:
        await seed_demo(runtime.db, tickets_count=12, customers_count=6)
    finally:
        await runtime.db.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

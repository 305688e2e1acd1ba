"""`make screenshots`: seed a small demo on a fresh server and photograph the console's main screens
into docs/screenshots/ (1366×768, zh-CN; the H5 pages at 375×667). Run as
``python -m tests.e2e.screenshots``; name shots (``… h5-form entry-points``) to rewrite only those."""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect, sync_playwright

from huiliu.analytics import rollups
from huiliu.demo.seed import seed_demo
from huiliu.runtime import Runtime
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, running_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO_LOGIN = ("admin@demo.local", "huiliu-demo")
DEMO_TICKETS = 120
DEMO_CUSTOMERS = 40
TIMEOUT_MS = 15_000
PHONE = {"width": 375, "height": 667}
# Every shot unless names were given on the command line.
ONLY: set[str] = set()


async def _seed(runtime: Runtime) -> None:
    try:
        report = await seed_demo(runtime.db, tickets_count=DEMO_TICKETS, customers_count=DEMO_CUSTOMERS)
        # The demo's history is back-dated: the dashboards' facts are rebuilt, as `huiliu demo` does.
        await rollups.rebuild(runtime.db, report.tenant_id)
    finally:
        await runtime.db.dispose()


def _settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # let transitions finish so the picture is not caught mid-animation


def _shoot(page: Page, name: str) -> None:
    if ONLY and name not in ONLY:
        return
    _settle(page)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"  {path.relative_to(OUT.parents[1])}")


def _api(page: Page, method: str, path: str, body: dict[str, Any]) -> Any:
    """A console API call with the page's session (cookie plus the CSRF double-submit header)."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "huiliu_csrf")
    response = page.request.fetch(path, method=method, data=body, headers={"X-CSRF-Token": csrf})
    assert response.ok, response.text()
    return response.json()


def _intake(page: Page, browser: Browser, base_url: str) -> None:
    """Entry points (a QR form with store and receipt sources, a webhook, an API client), a few
    customers who scanned the codes, the entry points page, and the H5 form on a phone."""
    sources = [
        {"code": "store-xh", "name": "徐汇店", "kind": "store"},
        {"code": "store-pd", "name": "浦东店", "kind": "store"},
        {"code": "receipt", "name": "购物小票", "kind": "receipt"},
        {"code": "live-0611", "name": "6·11 直播间", "kind": "live_room"},
    ]
    intro = "请描述遇到的问题，可以拍照上传。提交后客服会尽快联系您，并可随时查看处理进度。"
    config = {
        "source_labels": sources,
        "default_tags": ["扫码报修"],
        "contact_required": "phone",
        "form_intro": intro,
    }
    form = _api(
        page, "POST", "/api/v1/entry-points", {"kind": "h5_form", "name": "门店扫码报修", "config": config}
    )
    douyin = {"kind": "webhook", "name": "抖音私信", "config": {"preset": "douyin_im"}}
    _api(page, "POST", "/api/v1/entry-points", douyin)
    erp = _api(page, "POST", "/api/v1/entry-points", {"kind": "api", "name": "ERP 售后单", "config": {}})
    for index, text in enumerate(
        ["退货单 RT20261111 仓库未签收", "订单 E2026111100087 申请换货", "延保卡激活失败"]
    ):
        message = {
            "entry_point_id": erp["id"],
            "external_id": f"erp-demo-{index}",
            "sender": {"identities": [{"kind": "phone", "value": f"1372222{index:04d}"}]},
            "text": text,
        }
        _api(page, "POST", "/api/v1/intake/messages", message)
    submissions = [
        ("store-xh", "洗衣机脱水时声音很大，像有东西卡住"),
        ("store-xh", "空调外机漏水"),
        ("store-pd", "冰箱冷藏室不制冷"),
        ("receipt", "小票上的延保没有生效"),
        ("live-0611", "直播间下单的吸尘器少了配件"),
        ("store-xh", "热水器显示 E3"),
    ]
    for index, (source, text) in enumerate(submissions):
        body = {"description": text, "source": source, "contact": {"phone": f"1391234{index:04d}"}}
        response = page.request.post(f"/api/v1/public/forms/{form['public_key']}/submissions", data=body)
        assert response.ok, response.text()

    page.goto("/intake/entry-points")
    expect(page.locator('[data-testid="entry-points-table"] .el-table__row').first).to_be_visible()
    expect(page.locator(".stats canvas")).to_be_visible()
    _shoot(page, "entry-points")

    phone = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="zh-CN", is_mobile=True, has_touch=True
    )
    phone.set_default_timeout(TIMEOUT_MS)
    customer = phone.new_page()
    customer.goto(f"/h5/f/{form['public_key']}?src=store-xh")
    expect(customer.get_by_test_id("form-heading")).to_be_visible()
    customer.locator('[data-testid="form-description"] textarea').fill(
        "洗衣机脱水时声音很大，像有东西卡住，已经用了两年"
    )
    customer.locator('[data-testid="form-name"] input').fill("王女士")
    customer.locator('[data-testid="form-phone"] input').fill("139 1234 5678")
    _shoot(customer, "h5-form")
    phone.close()


def _analytics(page: Page) -> None:
    """The dashboard home (whole page), the tickets behind its busiest heatmap cell, and the staffing
    page (docs/analytics.md)."""
    page.goto("/dashboard")
    expect(page.get_by_test_id("card-volume").locator(".value")).not_to_have_text("0")
    for section in ("trend", "funnel", "aging", "channels", "entry-points"):
        expect(page.get_by_test_id(section).locator("canvas").first).to_be_visible()
    # The whole dashboard: the console scrolls inside its main area, so the window grows to fit it.
    viewport = page.viewport_size
    height = page.get_by_test_id("dashboard").evaluate("el => el.scrollHeight")
    page.set_viewport_size({"width": 1366, "height": int(height) + 120})
    _shoot(page, "dashboard")
    if viewport is not None:
        page.set_viewport_size(viewport)

    counts = (
        page.get_by_test_id("heatmap")
        .locator("button.cell")
        .evaluate_all(
            "cells => cells.map(cell =>"
            " [cell.dataset.testid, Number(cell.title.match(/(\\d+) 张/)?.[1] ?? 0)])"
        )
    )
    busiest = max(counts, key=lambda pair: pair[1])[0]
    page.get_by_test_id(busiest).click()
    expect(page.get_by_test_id("drill-dialog").locator(".el-table__row").first).to_be_visible()
    _shoot(page, "dashboard-drill")
    page.keyboard.press("Escape")

    page.goto("/staffing")
    expect(page.get_by_test_id("staffing-summary")).to_be_visible()
    expect(page.get_by_test_id("staffing-page").locator("canvas").first).to_be_visible()
    _shoot(page, "staffing")


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

        _analytics(page)
        _intake(page, browser, base_url)
        browser.close()


def main() -> int:
    ONLY.update(sys.argv[1:])
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

"""The customer side of intake in a real browser: scan an entry point's QR code on a phone, submit the
H5 form with a photo, watch the ticket arrive live in an agent's queue, get the agent's reply on the
progress page, and answer it from there."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant, unique

pytestmark = pytest.mark.e2e
PHONE = {"width": 375, "height": 667}
LIVE_BOUND_MS = 2_000
POLL_MS = 10_000  # the progress page's refresh interval


def phone_page(pages: PageFactory) -> Page:
    """A page like ``open_page()`` gives (same error checks, closed with the others), but on a phone."""
    context = pages.browser.new_context(
        viewport=PHONE, base_url=pages.server.url, locale="zh-CN", is_mobile=True, has_touch=True
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    pages.contexts.append(context)
    page = context.new_page()
    page.on("console", pages.errors.console)
    page.on("pageerror", pages.errors.page_error)
    return page


def png(width: int, height: int) -> bytes:
    """A small real PNG (a colour gradient), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_customer_scans_the_qr_code_submits_with_a_photo_and_follows_the_agents_reply(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server, tmp_path: Path
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    agent = seeder.run(make_member(seeder.runtime, tenant, "admin", name="客服小李"))
    with api_client(e2e_server, agent) as api:
        created = api.post(
            "/api/v1/entry-points",
            json={
                "kind": "h5_form",
                "name": "门店扫码报修",
                "config": {
                    "default_priority": "high",
                    "default_tags": ["扫码报修"],
                    "source_labels": [{"code": "store-01", "name": "徐汇店", "kind": "store"}],
                },
            },
        )
        assert created.status_code == 201, created.text
        entry_point = created.json()
        # The QR code of the store's source encodes the form URL with ?src=.
        qr = api.get(f"{urlsplit(entry_point['qr_url']).path}?source=store-01")
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    scanned = qr.headers["x-form-url"]
    assert scanned == f"{entry_point['form_url']}?src=store-01"

    console = open_page()
    log_in(console, agent)
    console.locator('li[data-view="open"]').click()
    expect(console).to_have_url(re.compile(r"/queues/open$"))
    expect(console.locator('[data-testid="live-indicator"].on')).to_be_visible()
    console.evaluate("window.__sameDocument = true")

    phone = phone_page(open_page)
    # Fake timers (time still flows): the progress page's 10 s poll can be fast-forwarded below.
    phone.clock.install()
    address = urlsplit(scanned)
    phone.goto(f"{address.path}?{address.query}")
    expect(phone.get_by_test_id("form-heading")).to_have_text("门店扫码报修")
    title = unique("冰箱不制冷")
    description = "买了三天的冰箱不制冷，门店说扫码报修"
    phone.locator('[data-testid="form-title"] input').fill(title)
    phone.locator('[data-testid="form-description"] textarea').fill(description)
    phone.locator('[data-testid="form-name"] input').fill("王女士")
    phone.locator('[data-testid="form-phone"] input').fill("138 0013 8000")
    photo = tmp_path / "fridge.png"
    photo.write_bytes(png(64, 48))
    phone.get_by_label("添加照片").set_input_files(photo)
    expect(phone.locator(".van-uploader__preview")).to_have_count(1)
    expect(phone.locator(".van-uploader__mask")).to_have_count(0)  # compressed
    phone.get_by_test_id("form-submit").click()

    expect(phone.get_by_test_id("done-ticket-number")).to_have_text(re.compile(r"^#\d+$"))
    number = int(phone.get_by_test_id("done-ticket-number").inner_text().lstrip("#"))

    # The ticket arrives in the agent's queue without a reload.
    expect(console.get_by_role("link", name=title)).to_be_visible(timeout=LIVE_BOUND_MS)
    assert console.evaluate("window.__sameDocument") is True

    # The customer keeps the progress page open.
    phone.get_by_test_id("done-progress-link").click()
    expect(phone).to_have_url(re.compile(r"/h5/p/[^/]+$"))
    expect(phone.get_by_test_id("progress-number")).to_have_text(f"#{number}")
    expect(phone.get_by_test_id("progress-status")).to_have_text("已受理")
    expect(phone.get_by_test_id("progress-message").filter(has_text=description)).to_be_visible()

    # The agent opens it (photo attached, compressed to JPEG in the browser) and replies.
    console.get_by_role("link", name=title).click()
    expect(console.get_by_test_id("ticket-title")).to_have_text(title)
    expect(console.get_by_test_id("timeline-message").filter(has_text=description)).to_contain_text(
        "fridge.jpg"
    )
    reply = "王女士您好，师傅明天上午十点上门检修"
    console.get_by_test_id("reply-input").fill(reply)
    console.get_by_test_id("reply-send").click()
    expect(console.get_by_test_id("timeline-message").filter(has_text=reply)).to_be_visible()

    # The next poll of the progress page shows the reply.
    phone.clock.fast_forward(POLL_MS)
    agent_reply = phone.locator('[data-testid="progress-message"][data-author="agent"]')
    expect(agent_reply.filter(has_text=reply)).to_be_visible()

    # The customer answers on the progress page; the agent sees it live.
    answer = "好的，明天上午家里有人"
    phone.locator('[data-testid="progress-input"] textarea').fill(answer)
    phone.get_by_test_id("progress-send").click()
    expect(
        phone.locator('[data-testid="progress-message"][data-author="customer"]').filter(has_text=answer)
    ).to_be_visible()
    expect(console.get_by_test_id("timeline-message").filter(has_text=answer)).to_be_visible(
        timeout=LIVE_BOUND_MS
    )

    with api_client(e2e_server, agent) as api:
        ticket = api.get(f"/api/v1/tickets/{console.url.rsplit('/', 1)[-1]}").json()
        stats = api.get("/api/v1/entry-points/stats").json()
    assert ticket["number"] == number
    assert ticket["entry_point_id"] == entry_point["id"]
    assert ticket["channel"] == "h5_form"
    assert ticket["priority"] == "high" and "扫码报修" in ticket["tags"]
    photos = [a for m in ticket["messages"] for a in m["attachments"]]
    assert [(a["filename"], a["content_type"]) for a in photos] == [("fridge.jpg", "image/jpeg")]
    report = next(item for item in stats["items"] if item["entry_point_id"] == entry_point["id"])
    assert [(s["source"], s["label"], s["tickets"]) for s in report["sources"]] == [("store-01", "徐汇店", 1)]


def test_console_intake_screens_entry_point_qr_import_and_customer_merge(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server, tmp_path: Path
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    page = open_page()
    log_in(page, admin)

    # An H5 form entry point with a source, created in the dialog; its QR code follows the source.
    page.goto("/intake/entry-points")
    page.get_by_test_id("entry-point-create").click()
    page.get_by_test_id("entry-point-name").fill("小票扫码售后")
    page.get_by_role("button", name="添加来源").click()
    page.get_by_role("textbox", name="来源代码").fill("receipt-01")
    page.get_by_role("textbox", name="显示名称").fill("购物小票")
    page.get_by_test_id("entry-point-save").click()
    expect(page).to_have_url(re.compile(r"/intake/entry-points/[0-9a-f-]+$"))
    expect(page.get_by_test_id("entry-point-name")).to_have_text("小票扫码售后")
    qr = page.get_by_test_id("qr-image")
    expect(qr).to_have_attribute("src", re.compile(r"/qr\.png$"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    page.get_by_test_id("qr-source").click()
    page.locator(".el-select-dropdown__item:visible", has_text="购物小票").click()
    expect(qr).to_have_attribute("src", re.compile(r"/qr\.png\?source=receipt-01$"))
    expect(page.get_by_test_id("form-url")).to_have_text(re.compile(r"/h5/f/[^?]+\?src=receipt-01$"))
    expect(page.get_by_test_id("qr-download-svg")).to_have_attribute(
        "href", re.compile(r"/qr\.svg\?source=receipt-01$")
    )

    # A webhook entry point shows its signing secret once.
    page.goto("/intake/entry-points")
    page.get_by_test_id("entry-point-create").click()
    page.locator('[data-kind="webhook"]').click()
    page.get_by_test_id("entry-point-name").fill("IoT 告警")
    page.get_by_role("textbox", name="自定义映射（JSON，JMESPath 表达式）").fill(
        '{"external_id": "event_id", "text": "message"}'
    )
    page.get_by_test_id("entry-point-save").click()
    expect(page.get_by_test_id("webhook-secret")).to_have_text(re.compile(r"^\S{16,}$"))
    expect(page.get_by_test_id("webhook-url")).to_contain_text("/hooks/")
    page.get_by_role("dialog", name="Webhook 入口已创建").get_by_role("button", name="关闭").last.click()
    expect(page.get_by_test_id("entry-points-table").get_by_role("link", name="IoT 告警")).to_be_visible()

    # A customer import with one bad row: progress to the end, the row error, the report link.
    rows = "姓名,手机,邮箱\n张三,13900139001,zhang@example.com\n李四,not-a-phone,\n"
    upload = tmp_path / "customers.csv"
    upload.write_text(rows, encoding="utf-8")
    page.goto("/intake/imports")
    page.locator('[data-testid="import-file"] input[type="file"]').set_input_files(upload)
    page.get_by_test_id("import-start").click()
    expect(page.get_by_test_id("import-status")).to_have_text("已完成")
    expect(page.get_by_test_id("import-failed")).to_have_text("1")
    expect(page.get_by_test_id("import-current")).to_contain_text("not-a-phone")
    expect(page.get_by_test_id("import-errors-download")).to_have_attribute(
        "href", re.compile(r"/errors\.csv$")
    )

    # Customer 360: merge the imported customer into another one, then undo it.
    with api_client(e2e_server, admin) as api:
        survivor = api.post(
            "/api/v1/customers",
            json={"name": "张三（微信）", "identities": [{"kind": "wechat_openid", "value": unique("o")}]},
        )
        assert survivor.status_code == 201, survivor.text
    page.goto(f"/customers/{survivor.json()['id']}")
    expect(page.get_by_test_id("customer-name")).to_have_text("张三（微信）")
    page.get_by_test_id("customer-merge").click()
    page.get_by_test_id("merge-search").locator("input").fill("13900139001")
    page.locator(".el-select-dropdown__item:visible", has_text="张三").click()
    page.get_by_test_id("merge-reason").fill("同一个人")
    page.get_by_test_id("merge-confirm").click()
    expect(page.get_by_test_id("customer-identities")).to_contain_text("zhang@example.com")
    entry = page.get_by_test_id("merge-entry")
    expect(entry).to_contain_text("同一个人")
    expect(entry).to_contain_text("张三")
    entry.get_by_test_id("merge-undo").click()
    page.locator(".el-message-box .el-button--primary").click()
    expect(entry.get_by_test_id("merge-undo")).to_have_count(0)
    expect(entry).to_contain_text(re.compile(r"主管老王 于 .+ 撤销"))
    expect(page.get_by_test_id("customer-identities")).not_to_contain_text("zhang@example.com")

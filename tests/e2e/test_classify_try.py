"""The classifier on 设置 → 智能分类 in a real browser: an admin types a customer message into 试一试 and
sees the scenario, the category by its taxonomy name, priority and sentiment with confidences, and the
phone number and order number found in it (POST /api/v1/classify) — without console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e
TEXT = "订单号 A20241130 的快递三天了还没送到，物流一直不更新，电话 13800138000"


def test_an_admin_tries_the_classifier_on_a_message(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="分类试用管理员"))
    with api_client(e2e_server, admin) as client:
        client.timeout = 120.0  # the server's first classification loads (or trains) the model
        expected = client.post("/api/v1/classify", json={"text": TEXT})
        assert expected.status_code == 200, expected.text
        answer = expected.json()
        names = {
            item["key"]: item["names"]["zh-CN"]
            for item in client.get("/api/v1/intelligence/categories").json()["items"]
        }

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-intelligence").click()
    panel = page.get_by_test_id("classify-try")
    expect(panel).to_be_visible()
    panel.get_by_test_id("classify-text").fill(TEXT)
    panel.get_by_test_id("classify-run").click()
    result = panel.get_by_test_id("classify-result")
    expect(result).to_be_visible()
    category = result.locator('[data-target="category"]')
    assert answer["category"] in names, answer  # the text is plainly about a parcel
    expect(category).to_contain_text(names[answer["category"]])
    expect(category).to_contain_text(f"{round(answer['confidence']['category'] * 100)}%")
    expect(panel.get_by_test_id("classify-entities")).to_contain_text("手机号：13800138000")
    assert answer["entities"]["phone"] == ["13800138000"]

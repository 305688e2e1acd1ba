"""The category taxonomy in a real browser: an admin adds a category with its zh-CN and English
names on 设置 → 智能分类 and saves; triage then offers it (by its name) for a ticket waiting in
待分类, and confirming it stores the key — without console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def test_an_added_category_is_offered_in_triage(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="分类体系管理员"))
    with api_client(e2e_server, admin) as client:
        client.timeout = 120.0  # the server's first classification loads (or trains) the model
        thresholds = {"scenario": 1.0, "category": 1.0, "priority": 1.0}
        body = {"enabled": True, "thresholds": thresholds, "urgent_confidence": 1.0}
        assert client.put("/api/v1/intelligence/settings", json=body).status_code == 200

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-intelligence").click()
    expect(page.get_by_test_id("intelligence-title")).to_be_visible()
    expect(page.get_by_test_id("taxonomy-key-11")).to_have_value("other")
    page.get_by_test_id("taxonomy-add").click()
    page.get_by_test_id("taxonomy-key-12").fill("parking")
    page.get_by_test_id("taxonomy-zh-12").fill("停车")
    page.get_by_test_id("taxonomy-en-12").fill("Parking")
    page.get_by_test_id("intelligence-save").click()
    expect(page.get_by_role("alert").filter(has_text="设置已保存")).to_be_visible()

    with api_client(e2e_server, admin) as client:
        client.timeout = 120.0
        keys = [item["key"] for item in client.get("/api/v1/intelligence/categories").json()["items"]]
        assert keys[-1] == "parking" and len(keys) == 13
        created = client.post(
            "/api/v1/tickets", json={"title": "车位", "description": "地下车库的车位被别人占了"}
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
    number = ticket["number"]

    page.get_by_test_id("nav-triage").click()
    expect(page.get_by_test_id(f"triage-{number}")).to_contain_text("车位")
    page.get_by_test_id(f"triage-category-{number}").click()
    page.get_by_role("option", name="停车").click()
    page.get_by_test_id(f"triage-confirm-{number}").click()
    expect(page.get_by_test_id(f"triage-{number}")).to_have_count(0)
    with api_client(e2e_server, admin) as client:
        assert client.get(f"/api/v1/tickets/{ticket['id']}").json()["category"] == "parking"

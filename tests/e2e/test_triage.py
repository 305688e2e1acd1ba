"""Classification on tickets in a real browser: a ticket the classifier is unsure about waits in 待分类
with the model's top guesses; one click on a guess and one on Confirm classify it (recorded for
learning mode); the ticket page shows the classification and the settings page the model card — all
without console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def test_triage_confirms_a_guess_and_the_ticket_shows_it(
    seeder: Seeder, open_page: PageFactory, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="分类管理员"))
    with api_client(e2e_server, admin) as client:
        client.timeout = 120.0  # the server's first classification loads (or trains) the model
        thresholds = {"scenario": 1.0, "category": 1.0, "priority": 1.0}
        body = {"enabled": True, "thresholds": thresholds, "urgent_confidence": 1.0}
        assert client.put("/api/v1/intelligence/settings", json=body).status_code == 200
        created = client.post(
            "/api/v1/tickets", json={"title": "问一下", "description": "这款空调有现货吗？想买两台"}
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
    number = ticket["number"]

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-triage").click()
    expect(page.get_by_test_id("triage-title")).to_be_visible()
    item = page.get_by_test_id(f"triage-{number}")
    expect(item).to_contain_text("问一下")
    page.get_by_test_id(f"guess-{number}-scenario-presales").click()
    page.get_by_test_id(f"triage-confirm-{number}").click()
    expect(page.get_by_test_id("triage-empty")).to_be_visible()

    page.goto(f"/tickets/{ticket['id']}")
    card = page.get_by_test_id("classification-card")
    expect(card).to_be_visible()
    expect(page.get_by_test_id("classification-triage")).to_have_count(0)

    page.get_by_test_id("nav-intelligence").click()
    expect(page.get_by_test_id("intelligence-title")).to_be_visible()
    expect(page.get_by_test_id("model-card")).to_be_visible()
    with api_client(e2e_server, admin) as client:
        detail = client.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert detail["scenario"] == "presales"

"""The bell in a real browser: a rule notifies the agent (critical), the worker delivers it, and the
agent's bell count rises and the critical modal opens without a reload — pushed over the event
stream by the API's inbox relay (no Redis)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from huiliu.automation.service import create_rule
from huiliu.db.engine import make_sync_engine
from huiliu.runtime import Runtime
from huiliu.worker.processor import OutboxProcessor
from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import Member, make_member, make_tenant

pytestmark = pytest.mark.e2e

MESSAGE = "VIP 客户投诉：请 10 分钟内回电"


async def _notify_rule(runtime: Runtime, admin: Member, agent: Member) -> None:
    """A rule that tells the agent, critically, about every new ticket."""
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        await create_rule(
            uow,
            admin.actor,
            {
                "name": "新工单紧急提醒",
                "kind": "trigger",
                "on": ["ticket.created"],
                "conditions": {"all": []},
                "actions": [
                    {
                        "type": "notify",
                        "users": [str(agent.user.id)],
                        "channels": ["in_app"],
                        "severity": "critical",
                        "message": MESSAGE,
                    }
                ],
            },
            rule_id=uuid.uuid4(),
        )


def _deliver(server: Server, tenant_id: uuid.UUID) -> int:
    """What the worker does: process the tenant's due outbox rows until none is left."""
    engine = make_sync_engine(server.settings.database_url)
    processed = 0
    try:
        with httpx.Client(timeout=5.0) as http:
            processor = OutboxProcessor(server.settings, engine, http)
            try:
                for _ in range(20):
                    claims = processor.claim(100, tenant_id=tenant_id)
                    if not claims:
                        return processed
                    for claim in claims:
                        processor.process(claim.row_id, claim.lease)
                        processed += 1
            finally:
                processor.close()
    finally:
        engine.dispose()
    raise AssertionError("the outbox did not drain")


def test_a_rule_fires_and_the_agents_bell_and_critical_modal_show_it_live(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant: Any = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="主管老王"))
    agent = seeder.run(make_member(seeder.runtime, tenant, "agent", name="坐席小李"))
    seeder.run(_notify_rule(seeder.runtime, admin, agent))

    page = open_page()
    log_in(page, agent)
    badge = page.get_by_test_id("notification-unread").locator("sup")
    expect(badge).to_be_hidden()
    # The event stream is open before the rule fires: what follows arrives by push.
    expect(page.get_by_test_id("live-indicator")).to_have_class(re.compile(r"\bon\b"))

    with api_client(e2e_server, admin) as api:
        created = api.post(
            "/api/v1/tickets",
            json={
                "title": "投诉：安装师傅迟到",
                "description": "等了两个小时",
                # Assigned to the agent, so the ticket the modal leads to is in the agent's scope.
                "assignee_id": str(agent.user.id),
            },
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
    assert _deliver(e2e_server, tenant.id) > 0

    modal = page.locator(".el-message-box")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text(MESSAGE)
    expect(modal).to_contain_text("【紧急】")
    expect(badge).to_have_text("1")

    # Acknowledged: read on the server, the badge clears and the agent lands on the ticket.
    modal.get_by_role("button", name="我知道了").click()
    expect(badge).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket['id']}$"))
    with api_client(e2e_server, agent) as api:
        assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 0}

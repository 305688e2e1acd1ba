"""The worker delivers ``rule_webhook`` outbox rows (a rule's "call webhook" action): POSTed to the
rule's own URL, logged, settled as delivered — or left for a retry when the receiver refuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from huiliu.automation.webhook_delivery import KIND_RULE_WEBHOOK
from huiliu.core.outbox import OutboxAttempt, OutboxRow
from tests.automation.test_webhook_delivery import endpoint, row  # noqa: F401  (fixture)
from tests.worker.helpers import drain


async def _store(runtime: Any, tenant_id: Any, url: str, body: Any) -> OutboxRow:
    outbox_row = row(url, body)
    outbox_row.tenant_id = tenant_id
    async with runtime.db.uow(tenant_id) as uow:
        uow.session.add(outbox_row)
        await uow.commit()
    return outbox_row


async def _settled(runtime: Any, tenant_id: Any, row_id: Any) -> tuple[OutboxRow, list[OutboxAttempt]]:
    async with runtime.db.read(tenant_id) as session:
        stored = await session.get(OutboxRow, row_id)
        attempts = list(await session.scalars(select(OutboxAttempt).where(OutboxAttempt.outbox_id == row_id)))
    assert stored is not None
    return stored, attempts


async def test_a_rule_webhook_row_is_posted_and_settled(runtime, tenant, processor, endpoint):  # noqa: F811
    stored = await _store(runtime, tenant.id, endpoint.url, {"ticket": 12, "事件": "退款"})
    await drain(processor, tenant.id)
    [(path, headers, body)] = endpoint.received
    assert path == "/erp/tickets" and body == {"ticket": 12, "事件": "退款"}
    assert headers["x-huiliu-delivery"] == str(stored.id)
    settled, attempts = await _settled(runtime, tenant.id, stored.id)
    assert settled.kind == KIND_RULE_WEBHOOK and settled.state == "delivered" and settled.attempts == 1
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 200)]


async def test_a_refused_rule_webhook_is_retried_later(runtime, tenant, processor, endpoint):  # noqa: F811
    endpoint.status = 503
    stored = await _store(runtime, tenant.id, endpoint.url, {"ticket": 13})
    await drain(processor, tenant.id)
    settled, attempts = await _settled(runtime, tenant.id, stored.id)
    assert settled.state == "pending" and settled.attempts == 1
    assert settled.next_attempt_at > stored.next_attempt_at
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 503)]

"""Not twice, not a flood: identical messages within the dedupe window are dropped, and past the hourly
limit on a push channel the rest go out as one digest (critical ones still alone)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from huiliu.core import clock
from huiliu.notifications.domain import RATE_LIMIT_PER_HOUR
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member
from tests.notifications.fake_providers import FakeProviders, FakeSmtp
from tests.notifications.helpers import add_provider, deliveries_of, inbox_of, notify
from tests.worker.helpers import drain

T0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


async def test_an_identical_message_within_ten_minutes_is_not_sent_again(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    ticket_id = uuid.uuid4()
    for minute in (0, 4, 11):
        with clock.at(T0 + timedelta(minutes=minute)):
            await notify(runtime, tenant.id, [agent], ticket_id=ticket_id, message="客户催单")
        await drain(processor, tenant.id, at=T0 + timedelta(minutes=minute))
    with clock.at(T0 + timedelta(minutes=12)):
        await notify(runtime, tenant.id, [agent], ticket_id=ticket_id, message="客户再次催单")
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=12))
    states = [d.state for d in sorted(await deliveries_of(runtime, tenant.id), key=lambda d: d.created_at)]
    assert states == ["delivered", "duplicate", "delivered", "delivered"]
    bodies = [item.body for item in await inbox_of(runtime, tenant.id, agent.user.id)]
    assert bodies == ["客户催单", "客户催单", "客户再次催单"]


async def test_past_the_hourly_limit_messages_are_gathered_and_critical_ones_still_go(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
    smtp: FakeSmtp,
) -> None:
    await add_provider(runtime, admin, "email", fake.base_url, smtp.port)
    moment = T0 + timedelta(minutes=1)
    with clock.at(moment):
        for number in range(RATE_LIMIT_PER_HOUR + 2):
            await notify(runtime, tenant.id, [agent], channels=["email"], message=f"进展 {number}")
    await drain(processor, tenant.id, at=moment)
    with clock.at(moment):
        await notify(runtime, tenant.id, [agent], channels=["email"], severity="critical", message="宕机")
    await drain(processor, tenant.id, at=moment)
    subjects = [str(mail.message["Subject"]) for mail in smtp.mails]
    assert len(subjects) == RATE_LIMIT_PER_HOUR + 1
    assert subjects[-1].startswith("【紧急】")
    gathered = [d for d in await deliveries_of(runtime, tenant.id) if d.state == "digested"]
    assert len(gathered) == 2
    await drain(processor, tenant.id, at=T0 + timedelta(minutes=15))
    digest = smtp.mails[-1].message
    assert digest["Subject"] == "汇流：2 条工单进展"
    text = next(part for part in digest.walk() if part.get_content_type() == "text/plain").get_content()
    # Which two were over the limit depends on the order the worker took them in.
    assert text.count("进展 ") == 2

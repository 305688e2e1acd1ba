"""Delivery of ``notification`` outbox rows through the worker: fan-out per recipient and channel,
providers against the local fakes, retries with backoff, dead letters, crash recovery, quiet hours."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from huiliu.core import clock
from huiliu.core.clock import utcnow
from huiliu.core.outbox import OutboxRow
from huiliu.notifications.domain import KIND_NOTIFICATION_DELIVERY
from huiliu.worker.processor import OutboxProcessor, Outcome
from tests.factories import Member, make_member
from tests.notifications.fake_providers import DINGTALK_SECRET, FakeProviders, FakeSmtp
from tests.notifications.helpers import add_provider, deliveries_of, inbox_of, notify, set_preferences
from tests.worker.helpers import attempts_of, drain, outbox_rows


async def test_without_channels_or_preferences_a_notification_lands_in_the_inbox_once(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    notification_id = await notify(runtime, tenant.id, [agent])
    done = await drain(processor, tenant.id)
    # The fan-out delivers the children it created due now in the same task (one batch).
    assert [(p.outcome, p.children) for p in done] == [(Outcome.FANNED_OUT, 1)]
    [delivery] = await deliveries_of(runtime, tenant.id)
    assert (delivery.channel, delivery.state, delivery.recipient_id) == ("in_app", "delivered", agent.user.id)
    assert delivery.notification_id == notification_id
    assert delivery.provider_message_id == str(delivery.id)
    [item] = await inbox_of(runtime, tenant.id, agent.user.id)
    assert item.id == delivery.id and item.read_at is None
    assert item.severity == "warning"
    assert item.title == "工单 T-1001 打印机卡纸"
    assert item.body == "工单即将超时，请尽快处理"
    assert item.link is not None and item.link.startswith("https://huiliu.example/tickets/")
    assert await drain(processor, tenant.id) == []
    assert len(await inbox_of(runtime, tenant.id, agent.user.id)) == 1


async def test_each_recipient_gets_each_named_channel_and_a_group_robot_posts_once(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
    smtp: FakeSmtp,
) -> None:
    lead = await make_member(runtime, tenant, "agent", name="主管老张")
    await set_preferences(runtime, agent, phone="13800138000")
    await set_preferences(runtime, lead, phone="13900139000")
    await add_provider(runtime, admin, "email", fake.base_url, smtp.port)
    await add_provider(runtime, admin, "tencent_sms", fake.base_url)
    await add_provider(runtime, admin, "dingtalk", fake.base_url)
    await notify(runtime, tenant.id, [agent, lead], channels=["in_app", "email", "sms", "dingtalk"])
    await drain(processor, tenant.id)
    deliveries = await deliveries_of(runtime, tenant.id)
    assert sorted(d.channel for d in deliveries) == [
        "dingtalk",
        "email",
        "email",
        "in_app",
        "in_app",
        "sms",
        "sms",
    ]
    assert {d.state for d in deliveries} == {"delivered"}
    assert all(call.verified for call in fake.calls)
    [robot] = fake.of("dingtalk")
    assert sorted(robot.json["at"]["atMobiles"]) == ["13800138000", "13900139000"]
    sms = fake.of("tencent_sms")
    assert sorted(call.json["PhoneNumberSet"][0] for call in sms) == ["+8613800138000", "+8613900139000"]
    sms_ids = {d.provider_message_id for d in deliveries if d.channel == "sms"}
    assert all(value and value.startswith("2019:") for value in sms_ids)
    assert sorted(mail.recipients[0] for mail in smtp.mails) == sorted([agent.user.email, lead.user.email])
    message_ids = {mail.message["Message-ID"] for mail in smtp.mails}
    assert message_ids == {d.provider_message_id for d in deliveries if d.channel == "email"}


async def test_preferences_choose_the_channels_when_the_rule_names_none(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor, fake: FakeProviders
) -> None:
    await set_preferences(
        runtime, agent, phone="13800138000", event_channels={"sla_tier": ["sms"], "*": ["in_app"]}
    )
    await add_provider(runtime, admin, "aliyun_sms", fake.base_url)
    await notify(runtime, tenant.id, [agent], origin_kind="sla_tier")
    await notify(runtime, tenant.id, [agent], origin_kind="rule")
    await drain(processor, tenant.id)
    deliveries = await deliveries_of(runtime, tenant.id)
    assert sorted(d.channel for d in deliveries) == ["in_app", "sms"]
    [call] = fake.of("aliyun_sms")
    assert call.verified and call.query["PhoneNumbers"] == "13800138000"


async def test_a_channel_without_a_provider_is_a_dead_letter_until_one_is_configured(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor, fake: FakeProviders
) -> None:
    await notify(runtime, tenant.id, [agent], channels=["feishu"])
    await drain(processor, tenant.id)
    [delivery] = await deliveries_of(runtime, tenant.id)
    assert delivery.state == "dead"
    assert delivery.last_error == "no active provider is configured for the feishu channel"
    assert fake.calls == []


async def test_server_errors_and_timeouts_are_retried_with_backoff_until_delivered(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor, fake: FakeProviders
) -> None:
    await add_provider(runtime, admin, "wecom", fake.base_url)
    fake.script["wecom"] = [(502, {"error": "bad gateway"}), "timeout"]
    await notify(runtime, tenant.id, [agent], channels=["wecom"])
    start = utcnow()
    await drain(processor, tenant.id)
    [row] = [r for r in await outbox_rows(runtime, tenant.id, KIND_NOTIFICATION_DELIVERY)]
    assert row.state == "pending" and row.attempts == 1
    # Equal jitter: the first retry waits between half and all of the 4 s base.
    assert start + timedelta(seconds=2) <= row.next_attempt_at <= utcnow() + timedelta(seconds=4)
    await drain(processor, tenant.id, at=utcnow() + timedelta(seconds=5))
    [row] = await outbox_rows(runtime, tenant.id, KIND_NOTIFICATION_DELIVERY)
    assert row.state == "pending" and row.attempts == 2
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=5 + 4 - 1)
    await drain(processor, tenant.id, at=utcnow() + timedelta(seconds=20))
    [delivery] = await deliveries_of(runtime, tenant.id)
    assert (delivery.state, delivery.attempts) == ("delivered", 3)
    attempts = await attempts_of(runtime, tenant.id, delivery.id)
    assert [a.ok for a in attempts] == [False, False, True]
    assert attempts[0].status_code == 502
    assert [call.verified for call in fake.of("wecom")] == [True, True, True]


async def test_a_refused_signature_is_permanent_and_retried_by_an_admin_after_the_fix(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
    client: Any,
) -> None:
    robot = await add_provider(runtime, admin, "dingtalk", fake.base_url, secrets={"secret": "SECwrong"})
    await notify(runtime, tenant.id, [agent], channels=["dingtalk"], severity="critical")
    await drain(processor, tenant.id)
    [delivery] = await deliveries_of(runtime, tenant.id)
    assert (delivery.state, delivery.attempts) == ("dead", 1)
    assert "310000" in (delivery.last_error or "")
    dead = (await client.get("/api/v1/notifications/dead-letters", headers=admin.headers)).json()
    assert [item["id"] for item in dead["items"]] == [str(delivery.id)]
    fixed = await client.patch(
        f"/api/v1/notification-channels/{robot.id}",
        headers=admin.headers,
        json={"secrets": {"secret": DINGTALK_SECRET}},
    )
    assert fixed.status_code == 200
    retried = await client.post(
        f"/api/v1/notifications/deliveries/{delivery.id}:retry", headers=admin.headers
    )
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    await drain(processor, tenant.id)
    [delivery] = await deliveries_of(runtime, tenant.id)
    assert delivery.state == "delivered"
    assert [call.verified for call in fake.of("dingtalk")] == [False, True]
    again = await client.post(f"/api/v1/notifications/deliveries/{delivery.id}:retry", headers=admin.headers)
    assert again.status_code == 409


async def test_a_worker_killed_mid_send_delivers_after_restart_and_the_inbox_keeps_one_copy(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
    smtp: FakeSmtp,
) -> None:
    await add_provider(runtime, admin, "email", fake.base_url, smtp.port)
    await notify(runtime, tenant.id, [agent], channels=["in_app", "email"])
    await drain(processor, tenant.id)
    # Re-open both deliveries as if a worker had sent them and died before settling: the rows are
    # pending with an expired lease, the provider already has the message.
    rows = await outbox_rows(runtime, tenant.id, KIND_NOTIFICATION_DELIVERY)
    async with runtime.db.uow(tenant.id) as uow:
        for row in rows:
            stored = await uow.session.get(OutboxRow, row.id)
            assert stored is not None
            stored.state = "pending"
            stored.locked_until = utcnow() - timedelta(seconds=1)
        await uow.commit()
    await asyncio.to_thread(processor.sweep)
    await drain(processor, tenant.id)
    assert len(await inbox_of(runtime, tenant.id, agent.user.id)) == 1
    # E-mail goes out again, under the same Message-ID, so the receiving side can drop the repeat.
    assert len(smtp.mails) == 2
    assert smtp.mails[0].message["Message-ID"] == smtp.mails[1].message["Message-ID"]
    assert {d.state for d in await deliveries_of(runtime, tenant.id)} == {"delivered"}


async def test_quiet_hours_hold_a_warning_until_they_end_but_not_a_critical_alert(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    await set_preferences(runtime, agent, quiet_start="22:00", quiet_end="08:00", timezone="Asia/Shanghai")
    night = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    morning = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    with clock.at(night):
        await notify(runtime, tenant.id, [agent], severity="warning", message="常规进展")
        await notify(runtime, tenant.id, [agent], severity="critical", message="严重告警")
    await drain(processor, tenant.id, at=night)
    items = await inbox_of(runtime, tenant.id, agent.user.id)
    assert [item.body for item in items] == ["严重告警"]
    waiting = [d for d in await deliveries_of(runtime, tenant.id) if d.state == "pending"]
    assert [d.not_before for d in waiting] == [morning]
    await drain(processor, tenant.id, at=morning - timedelta(seconds=1))
    assert len(await inbox_of(runtime, tenant.id, agent.user.id)) == 1
    await drain(processor, tenant.id, at=morning)
    bodies = sorted(item.body for item in await inbox_of(runtime, tenant.id, agent.user.id))
    assert bodies == sorted(["常规进展", "严重告警"])

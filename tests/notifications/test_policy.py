"""The tenant's notification policy: its API (admin only, checked input, nothing changes on a 4xx),
tenant-wide quiet hours with a frozen clock (critical bypasses, the rest wait until every window the
recipient is under has ended), and the flood limits taken from the settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from huiliu.core import clock
from huiliu.notifications import service
from huiliu.notifications.schemas import TenantPolicy
from huiliu.settings import Settings
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member
from tests.notifications.fake_providers import FakeProviders
from tests.notifications.helpers import add_provider, deliveries_of, inbox_of, notify, set_preferences
from tests.worker.helpers import drain

NIGHT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai


async def test_the_policy_api_is_for_admins_and_refuses_bad_input_without_changing_anything(
    client: Any, admin: Member, agent: Member
) -> None:
    url = "/api/v1/notifications/policy"
    shipped = (await client.get(url, headers=admin.headers)).json()
    assert shipped == {
        "quiet_start": None,
        "quiet_end": None,
        "timezone": "Asia/Shanghai",
        "customer_notices": {"accepted": True, "in_progress": True, "resolved": True},
    }
    assert (await client.get(url, headers=agent.headers)).status_code == 403
    assert (await client.put(url, headers=agent.headers, json={})).status_code == 403
    for bad in (
        {"quiet_start": "22:00"},
        {"quiet_start": "25:00", "quiet_end": "08:00"},
        {"timezone": "Mars/Olympus"},
        {"customer_notices": {"closed": True}},
        {"customer_notices": {"accepted": "sometimes"}},
        {"quiet_hours": "22-08"},
    ):
        answer = await client.put(url, headers=admin.headers, json=bad)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(url, headers=admin.headers)).json() == shipped
    saved = await client.put(
        url,
        headers=admin.headers,
        json={"quiet_start": "22:00", "quiet_end": "08:00", "customer_notices": {"in_progress": False}},
    )
    assert saved.status_code == 200
    expected = {
        "quiet_start": "22:00",
        "quiet_end": "08:00",
        "timezone": "Asia/Shanghai",
        "customer_notices": {"accepted": True, "in_progress": False, "resolved": True},
    }
    assert saved.json() == expected
    assert (await client.get(url, headers=admin.headers)).json() == expected


async def _tenant_quiet(runtime: Any, admin: Member, start: str, end: str) -> None:
    async with runtime.db.uow(admin.actor.tenant_id) as uow:
        await service.set_policy(uow, admin.actor, TenantPolicy(quiet_start=start, quiet_end=end))


async def test_tenant_quiet_hours_hold_everyones_warnings_and_a_group_robot_but_not_critical_alerts(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    processor: OutboxProcessor,
    fake: FakeProviders,
) -> None:
    await add_provider(runtime, admin, "wecom", fake.base_url)
    await _tenant_quiet(runtime, admin, "22:00", "08:00")
    morning = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    with clock.at(NIGHT):
        await notify(runtime, tenant.id, [agent], channels=["in_app", "wecom"], message="常规进展")
        await notify(runtime, tenant.id, [agent], severity="critical", message="严重告警")
    await drain(processor, tenant.id, at=NIGHT)
    assert [item.body for item in await inbox_of(runtime, tenant.id, agent.user.id)] == ["严重告警"]
    assert fake.of("wecom") == []
    waiting = sorted(
        (d.channel, d.not_before) for d in await deliveries_of(runtime, tenant.id) if d.state == "pending"
    )
    assert waiting == [("in_app", morning), ("wecom", morning)]
    await drain(processor, tenant.id, at=morning - timedelta(seconds=1))
    assert fake.of("wecom") == []
    await drain(processor, tenant.id, at=morning)
    assert len(fake.of("wecom")) == 1
    assert len(await inbox_of(runtime, tenant.id, agent.user.id)) == 2


async def test_a_warning_waits_until_the_users_and_the_tenants_windows_have_both_ended(
    runtime: Any, tenant: Any, admin: Member, agent: Member, processor: OutboxProcessor
) -> None:
    # The agent sleeps 22:00-07:00; the tenant keeps 06:30-09:00 quiet for the morning meeting.
    await set_preferences(runtime, agent, quiet_start="22:00", quiet_end="07:00", timezone="Asia/Shanghai")
    await _tenant_quiet(runtime, admin, "06:30", "09:00")
    nine = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    with clock.at(NIGHT):
        await notify(runtime, tenant.id, [agent], message="常规进展")
    await drain(processor, tenant.id, at=NIGHT)
    [waiting] = await deliveries_of(runtime, tenant.id)
    assert (waiting.state, waiting.not_before) == ("pending", nine)
    await drain(processor, tenant.id, at=nine - timedelta(minutes=1))
    assert await inbox_of(runtime, tenant.id, agent.user.id) == []
    await drain(processor, tenant.id, at=nine)
    assert [item.body for item in await inbox_of(runtime, tenant.id, agent.user.id)] == ["常规进展"]


@pytest.fixture
def strict_processor(worker_settings: Settings, sync_engine: Engine) -> Iterator[OutboxProcessor]:
    settings = worker_settings.model_copy(
        update={
            "notification_dedupe_minutes": 2.0,
            "notification_hourly_limit": 2,
            "notification_rate_limit_digest_minutes": 5,
        }
    )
    with httpx.Client(timeout=settings.webhook_timeout_seconds) as http:
        processor = OutboxProcessor(settings, sync_engine, http)
        yield processor
        processor.close()


async def test_the_dedupe_window_and_the_hourly_limit_come_from_the_settings(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    strict_processor: OutboxProcessor,
) -> None:
    start = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    ticket_id = uuid.uuid4()
    # A 2-minute dedupe window: the same text 3 minutes later is sent again.
    for minute in (0, 1, 3):
        with clock.at(start + timedelta(minutes=minute)):
            await notify(runtime, tenant.id, [agent], ticket_id=ticket_id, message="客户催单")
        await drain(strict_processor, tenant.id, at=start + timedelta(minutes=minute))
    states = [d.state for d in sorted(await deliveries_of(runtime, tenant.id), key=lambda d: d.created_at)]
    assert states == ["delivered", "duplicate", "delivered"]


async def test_past_a_configured_hourly_limit_the_rest_join_a_digest_of_the_configured_length(
    runtime: Any,
    tenant: Any,
    admin: Member,
    agent: Member,
    strict_processor: OutboxProcessor,
    fake: FakeProviders,
) -> None:
    await add_provider(runtime, admin, "tencent_sms", fake.base_url)
    await set_preferences(runtime, agent, phone="13800138000")
    moment = datetime(2026, 12, 3, 2, 1, tzinfo=UTC)
    with clock.at(moment):
        for number in range(4):
            await notify(runtime, tenant.id, [agent], channels=["sms"], message=f"进展 {number}")
    await drain(strict_processor, tenant.id, at=moment)
    assert len(fake.of("tencent_sms")) == 2
    digested = [d for d in await deliveries_of(runtime, tenant.id) if d.state == "digested"]
    assert len(digested) == 2
    # The digest window is 5 minutes (aligned on the epoch): it goes out at 02:05.
    await drain(strict_processor, tenant.id, at=datetime(2026, 12, 3, 2, 5, tzinfo=UTC))
    assert len(fake.of("tencent_sms")) == 3

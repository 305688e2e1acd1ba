"""Alert evaluation on a real database with a frozen clock: tickets are created back-dated through the
services, the facts are refreshed, and the worker's evaluation runs hour after hour (or day after
day). A three-day drop and a Sunday-evening spike each fire once — one firing, one notification
outbox row — and normal weekly seasonality never fires."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from huiliu.analytics import rollups
from huiliu.analytics.alerts import service
from huiliu.analytics.alerts.models import AlertFiring
from huiliu.core import clock
from huiliu.core.outbox import OutboxRow
from huiliu.runtime import Runtime
from tests.factories import Member, make_member, make_team, make_tenant, make_ticket

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
# Sunday 2026-10-25 00:00 Asia/Shanghai; four normal Sundays before the one with the surge.
SUNDAY = datetime(2026, 10, 24, 16, 0, tzinfo=UTC)
PUBLIC = "https://huiliu.example"


async def tickets_at(
    runtime: Runtime, member: Member, moment: datetime, count: int, **fields: object
) -> None:
    for i in range(count):
        with clock.at(moment + i * timedelta(minutes=50) / max(count, 1)):
            await make_ticket(runtime, member, title="课程退订", **fields)


async def evaluate_through(
    runtime: Runtime, rule_id: uuid.UUID, moments: list[datetime]
) -> list[service.Evaluation]:
    told = []
    for now in moments:
        with time_machine.travel(now, tick=False):
            for result in await service.evaluate_due(runtime.db, now, public_url=PUBLIC):
                if result.rule_id == rule_id and result.fired:
                    told.append(result)
    return told


async def spike_desk(runtime: Runtime, *, surge: bool) -> tuple[uuid.UUID, uuid.UUID, Member]:
    tenant = await make_tenant(runtime)
    team = await make_team(runtime, tenant, "课程顾问组")
    admin = await make_member(runtime, tenant, "admin")
    lead = await make_member(runtime, tenant, "lead", team=team, name="主管老周")
    # Sunday 17:00-22:00 for five weeks: a regular evening peak at 19:00-21:00 every week.
    for week in range(5):
        sunday = SUNDAY + week * WEEK
        for hour, count in {17: 2, 18: 3, 19: 8, 20: 9, 21: 3}.items():
            extra = 25 if surge and week == 4 and hour in (19, 20) else 0
            await tickets_at(
                runtime, admin, sunday + hour * HOUR, count + extra, category="课程退订", team_id=team.id
            )
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    async with runtime.db.uow(tenant.id) as uow:
        rule = await service.create_rule(
            uow,
            admin.actor,
            {
                "name": "课程退订激增",
                "metric": "volume",
                "filters": {"categories": ["课程退订"]},
                "condition": {"kind": "spike"},
                "recipients": {"users": [str(lead.user.id)], "roles": ["admin"]},
                "channels": ["in_app"],
            },
        )
    return tenant.id, rule.id, lead


def last_sunday_evening() -> list[datetime]:
    """The worker's clock five minutes after each hour from Sunday 17:00 to 23:00 (local)."""
    sunday = SUNDAY + 4 * WEEK
    return [sunday + hour * HOUR + timedelta(minutes=5) for hour in range(18, 24)]


async def test_normal_weekly_seasonality_does_not_fire(runtime: Runtime) -> None:
    _, rule_id, _ = await spike_desk(runtime, surge=False)
    assert await evaluate_through(runtime, rule_id, last_sunday_evening()) == []


async def test_a_sunday_evening_spike_fires_once_with_a_staffing_suggestion(runtime: Runtime) -> None:
    tenant_id, rule_id, lead = await spike_desk(runtime, surge=True)
    told = await evaluate_through(runtime, rule_id, last_sunday_evening())
    assert len(told) == 1
    fired = told[0]
    assert fired.bucket == SUNDAY + 4 * WEEK + 19 * HOUR
    assert fired.message == "【课程退订】工单量在周日 11-22 19:00–20:00激增：33（往常同时段约 8）"
    assert fired.suggestion is not None and fired.suggestion.startswith("建议增派 ")

    async with runtime.db.read(tenant_id) as session:
        firings = (await session.execute(select(AlertFiring))).scalars().all()
        assert [f.id for f in firings] == [fired.firing_id]
        firing = firings[0]
        assert firing.link.startswith(f"{PUBLIC}/dashboard?metric=volume")
        outbox = await session.get(OutboxRow, firing.notification_id)
    assert outbox is not None and outbox.kind == "notification"
    assert str(lead.user.id) in outbox.payload["recipients"]
    assert len(outbox.payload["recipients"]) == 2  # the lead and the tenant's admin
    assert outbox.payload["message"].startswith(fired.message)
    assert "查看看板：https://huiliu.example/dashboard" in outbox.payload["message"]
    assert outbox.payload["origin"]["kind"] == "analytics_alert"

    # The evaluation is once per bucket: running again in the same hour does nothing.
    again = last_sunday_evening()[-1] + timedelta(minutes=20)
    assert await evaluate_through(runtime, rule_id, [again]) == []


async def test_a_three_day_drop_fires_once(runtime: Runtime) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    monday = SUNDAY + DAY
    daily = [6, 7, 2, 1, 2, 1, 6]  # days 3-6 below 4: the third low day (Thursday) fires
    for day, count in enumerate(daily):
        await tickets_at(runtime, admin, monday + day * DAY + 3 * HOUR, count, channel="wechat")
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    async with runtime.db.uow(tenant.id) as uow:
        rule = await service.create_rule(
            uow,
            admin.actor,
            {
                "name": "微信来单连续偏低",
                "metric": "volume",
                "filters": {"channels": ["wechat"]},
                "condition": {"kind": "consecutive_days_below", "standard": 4, "days": 3},
                "recipients": {"roles": ["admin"]},
                "cooldown_hours": 0,
            },
        )
    # 00:10 local on each following day.
    mornings = [monday + (day + 1) * DAY + timedelta(minutes=10) for day in range(len(daily))]
    told = await evaluate_through(runtime, rule.id, mornings)
    assert [t.bucket for t in told] == [monday + 4 * DAY]
    assert told[0].message == "【微信】工单量已连续 3 天低于标准值 4（逐日：2、1、2）"


async def test_a_disabled_rule_is_not_evaluated(runtime: Runtime) -> None:
    tenant_id, rule_id, _ = await spike_desk(runtime, surge=True)
    async with runtime.db.uow(tenant_id) as uow:
        rule = await service.get_rule(uow.session, rule_id)
        rule.enabled = False
        await uow.commit()
    assert await evaluate_through(runtime, rule_id, last_sunday_evening()) == []

"""A small fixed dataset for the analytics tests: one Shanghai office-hours week with two teams, three
agents and five tickets whose durations, SLA outcomes, ratings, reopens and transfers are known by
hand (see ``build_week``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from huiliu.analytics import rollups
from huiliu.auth.models import Tenant
from huiliu.automation.ratings import rate_ticket
from huiliu.core import clock
from huiliu.runtime import Runtime
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Status
from tests.factories import Member, make_member, make_team
from tests.sla.helpers import SlaTenant, sh, sla_tenant

PERIOD_START = sh("2026-03-02 00:00")  # Monday
PERIOD_END = sh("2026-03-09 00:00")


@dataclass
class Week:
    sla: SlaTenant
    team_a: Any
    team_b: Any
    a1: Member
    a2: Member
    b1: Member
    lead: Member
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def runtime(self) -> Runtime:
        return self.sla.runtime

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.sla.tenant_id

    async def assign(self, ticket_id: uuid.UUID, at: datetime, team: Any, agent: Member | None) -> None:
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await tickets.assign(
                    uow,
                    self.sla.admin.actor,
                    ticket_id,
                    team_id=team.id,
                    assignee_id=agent.user.id if agent else None,
                )

    async def rate(self, ticket_id: uuid.UUID, at: datetime, stars: int) -> None:
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await rate_ticket(uow, self.sla.admin.actor, ticket_id, stars)

    async def refresh(self) -> rollups.RefreshResult:
        return await rollups.refresh(self.runtime.db, self.tenant_id, settle=timedelta(0))


async def build_week(runtime: Runtime) -> Week:
    """Office hours Mon–Fri 09:00–12:00 and 13:00–18:00 Asia/Shanghai, normal priority targets: first
    response 60, resolution 480 business minutes.

    | ticket | created (SH)  | team/agent     | first reply | resolved      | notes                       |
    |--------|---------------|----------------|-------------|---------------|-----------------------------|
    | T1     | Mon 10:00     | A / a1         | 10:30 (30)  | 11:30 (90)    | 5 stars, 广东/深圳, wechat    |
    | T2     | Mon 17:30     | A / a1 → a2    | Tue 09:45 (75) | Tue 11:00 (150) | 2 stars, 2nd reply 10:30 |
    | T3     | Tue 14:00     | B / b1         | —           | —             | open, 广东/广州               |
    | T4     | Tue 15:00     | B / b1         | 15:20 (20)  | 16:00, reopened 16:30 | 浙江/杭州              |
    | T5     | Sat 10:00     | A / none → a1 (Mon 03-09 09:05) | Mon 09:10 (10) | Mon 09:40 (40) | web |
    """
    sla = await sla_tenant(runtime, cn_statutory=False)
    async with runtime.db.read(None, system=True) as session:
        tenant = await session.get(Tenant, sla.tenant_id)
    assert tenant is not None
    team_a = await make_team(runtime, tenant, "A组")
    team_b = await make_team(runtime, tenant, "B组")
    a1 = await make_member(runtime, tenant, "agent", team_a, name="a1")
    a2 = await make_member(runtime, tenant, "agent", team_a, name="a2")
    b1 = await make_member(runtime, tenant, "agent", team_b, name="b1")
    lead = await make_member(runtime, tenant, "lead", team_a, name="lead")
    week = Week(sla, team_a, team_b, a1, a2, b1, lead)
    ids = week.ids
    customer = {"name": "张三", "phone": "13800138000"}
    ids["T1"] = await sla.create(
        sh("2026-03-02 10:00"),
        team_id=team_a.id,
        assignee_id=a1.user.id,
        channel="wechat",
        category="退款",
        fields={"region": "广东/深圳"},
        customer=customer,
    )
    await sla.reply(ids["T1"], sh("2026-03-02 10:30"))
    await sla.status(ids["T1"], sh("2026-03-02 11:30"), Status.RESOLVED)
    await week.rate(ids["T1"], sh("2026-03-02 12:00"), 5)

    ids["T2"] = await sla.create(
        sh("2026-03-02 17:30"), team_id=team_a.id, assignee_id=a1.user.id, channel="web", category="发票"
    )
    await week.assign(ids["T2"], sh("2026-03-03 09:30"), team_a, a2)
    await sla.reply(ids["T2"], sh("2026-03-03 09:45"))
    await sla.reply(ids["T2"], sh("2026-03-03 10:30"))
    await sla.status(ids["T2"], sh("2026-03-03 11:00"), Status.RESOLVED)
    await week.rate(ids["T2"], sh("2026-03-03 11:10"), 2)

    ids["T3"] = await sla.create(
        sh("2026-03-03 14:00"),
        team_id=team_b.id,
        assignee_id=b1.user.id,
        channel="wechat",
        category="退款",
        fields={"region": "广东/广州"},
    )
    ids["T4"] = await sla.create(
        sh("2026-03-03 15:00"),
        team_id=team_b.id,
        assignee_id=b1.user.id,
        channel="wechat",
        category="退款",
        fields={"region": "浙江/杭州"},
    )
    await sla.reply(ids["T4"], sh("2026-03-03 15:20"))
    await sla.status(ids["T4"], sh("2026-03-03 16:00"), Status.RESOLVED)
    await sla.reopen(ids["T4"], sh("2026-03-03 16:30"))

    ids["T5"] = await sla.create(sh("2026-03-07 10:00"), team_id=team_a.id, channel="web", category="发票")
    await week.assign(ids["T5"], sh("2026-03-09 09:05"), team_a, a1)
    await sla.reply(ids["T5"], sh("2026-03-09 09:10"))
    await sla.status(ids["T5"], sh("2026-03-09 09:40"), Status.RESOLVED)
    return week

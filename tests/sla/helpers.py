"""Shared set-up of the SLA service tests: a tenant with a calendar and a policy, wall-clock helpers,
and tickets created and changed at chosen instants through the ticket service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from huiliu.core import clock
from huiliu.runtime import Runtime
from huiliu.sla import service as sla
from huiliu.sla.models import SlaPolicy, StoredCalendar, TicketSla
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Status
from huiliu.tickets.models import Ticket, TicketEvent
from huiliu.tickets.schemas import TicketCreate, TicketUpdate
from huiliu.timers.service import get_timer
from tests.factories import Member, make_member, make_tenant

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE_HOURS = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
TARGETS = {
    "urgent": {"first_response": 15, "next_response": 30, "resolution": 180},
    "high": {"first_response": 30, "next_response": 60, "resolution": 240},
    "normal": {"first_response": 60, "next_response": 120, "resolution": 480},
    "low": {"first_response": 240, "resolution": 960},
}
TIERS = [
    {"percent": 75, "actions": [{"type": "add_tag", "tag": "sla-75"}]},
    {"percent": 100, "actions": [{"type": "add_tag", "tag": "sla-breached"}]},
    {"percent": 150, "actions": []},
]


def sh(text: str) -> datetime:
    """A Shanghai wall-clock time as aware UTC, e.g. ``sh("2026-09-30 17:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def wall(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass
class SlaTenant:
    runtime: Runtime
    tenant_id: uuid.UUID
    admin: Member
    calendar: StoredCalendar
    policy: SlaPolicy

    async def create(self, at: datetime, **fields: Any) -> uuid.UUID:
        payload: dict[str, Any] = {"title": "打印机卡纸", "description": "门店3号打印机一直卡纸"}
        payload.update(fields)
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                row = await tickets.create_ticket(uow, self.admin.actor, TicketCreate(**payload))
        return uuid.UUID(str(row["id"]))

    async def status(self, ticket_id: uuid.UUID, at: datetime, status: Status) -> None:
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await tickets.change_status(uow, self.admin.actor, ticket_id, status)

    async def reopen(self, ticket_id: uuid.UUID, at: datetime) -> None:
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await tickets.reopen(uow, self.admin.actor, ticket_id)

    async def reply(self, ticket_id: uuid.UUID, at: datetime, *, public: bool = True) -> None:
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await tickets.add_message(uow, self.admin.actor, ticket_id, "您好，已收到", public=public)

    async def customer_message(self, ticket_id: uuid.UUID, at: datetime) -> None:
        from huiliu.auth.domain import Actor, ActorKind, DataScope

        async with self.runtime.db.read(self.tenant_id) as session:
            ticket = await session.get(Ticket, ticket_id)
            assert ticket is not None and ticket.customer_id is not None
        customer = Actor(
            ActorKind.CUSTOMER,
            self.tenant_id,
            ticket.customer_id,
            "客户",
            frozenset({"ticket.reply"}),
            DataScope.ALL,
        )
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await tickets.add_message(uow, customer, ticket_id, "还没好", public=True)

    async def update(self, ticket_id: uuid.UUID, at: datetime, **changes: Any) -> None:
        with clock.at(at):
            async with self.runtime.db.uow(self.tenant_id) as uow:
                await tickets.update_ticket(uow, self.admin.actor, ticket_id, TicketUpdate(**changes))

    async def sla(self, ticket_id: uuid.UUID) -> TicketSla | None:
        async with self.runtime.db.read(self.tenant_id) as session:
            return await session.get(TicketSla, ticket_id)

    async def timer(self, ticket_id: uuid.UUID) -> datetime | None:
        async with self.runtime.db.uow(self.tenant_id) as uow:
            return await get_timer(uow, ticket_id, "sla")

    async def events(self, ticket_id: uuid.UUID, prefix: str = "sla.") -> list[TicketEvent]:
        async with self.runtime.db.read(self.tenant_id) as session:
            rows = await session.execute(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type.startswith(prefix))
                .order_by(TicketEvent.created_at, TicketEvent.id)
            )
            return list(rows.scalars())


async def sla_tenant(
    runtime: Runtime,
    *,
    timezone: str = "Asia/Shanghai",
    hours: dict[str, Any] | None = None,
    cn_statutory: bool = True,
    targets: dict[str, Any] | None = None,
    tiers: list[dict[str, Any]] | None = None,
) -> SlaTenant:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant)
    async with runtime.db.uow(tenant.id) as uow:
        calendar = await sla.create_calendar(
            uow,
            admin.actor,
            {
                "name": "工作日历",
                "timezone": timezone,
                "hours": hours or OFFICE_HOURS,
                "cn_statutory": cn_statutory,
                "is_default": True,
            },
        )
    async with runtime.db.uow(tenant.id) as uow:
        policy = await sla.create_policy(
            uow,
            admin.actor,
            {
                "name": "标准 SLA",
                "calendar_id": calendar.id,
                "targets": targets or TARGETS,
                "tiers": TIERS if tiers is None else tiers,
            },
        )
    return SlaTenant(runtime, tenant.id, admin, calendar, policy)

"""SLA routes. ``POST /api/v1/sla/preview`` answers "when is this due on that calendar?" so admins
can check a calendar before using it (it computes only: nothing is read or written). The tenant's
business calendars (with a month view) and SLA policies need ``admin.sla`` to change and
``ticket.read`` to read; a ticket's SLA state and the breaching-soon queue follow the caller's
ticket visibility."""

from __future__ import annotations

import calendar as month_calendar
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import chinese_calendar
from fastapi import APIRouter, Query, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.clock import utcnow
from huiliu.core.errors import ValidationFailed
from huiliu.sla import queries, service
from huiliu.sla.domain import (
    CN_CALENDAR_VERSION,
    WEEKDAYS,
    BusinessCalendar,
    CalendarError,
    DayKind,
    cn_statutory_covers,
    compute_deadline,
)
from huiliu.sla.domain.hours import format_clock
from huiliu.sla.domain.policy import METRICS
from huiliu.sla.domain.ticket import from_json, metric_due_at, percent_used, used_minutes
from huiliu.sla.models import SlaPolicy, StoredCalendar, TicketSla
from huiliu.sla.schemas import (
    BreachingList,
    CalendarList,
    CalendarOut,
    CalendarWrite,
    MonthOut,
    PolicyList,
    PolicyOut,
    PolicyWrite,
    PresetsOut,
    PreviewIn,
    PreviewOut,
    PreviewWarning,
    ReorderIn,
    TicketSlaOut,
)

# The SLA view of a ticket checks its visibility through the tickets' read side.
from huiliu.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])


@router.post("/preview", response_model=PreviewOut, summary="Compute a deadline on a business calendar")
def preview(body: PreviewIn, actor: ActorDep) -> PreviewOut:
    """The deadline of ``minutes`` business minutes from ``start`` on the given calendar. Any
    signed-in user or API key may call it (no tenant data is involved). A deadline that uses up
    exactly the rest of a working period lands on that period's closing instant."""
    calendar = body.calendar.calendar
    try:
        deadline = compute_deadline(calendar, body.start, body.minutes)
    except CalendarError as exc:
        raise ValidationFailed(str(exc)) from exc
    warnings = [
        PreviewWarning(
            code="cn_statutory_not_covered",
            year=year,
            message=f"chinese-calendar {CN_CALENDAR_VERSION} has no statutory holidays for {year} yet: "
            f"{year} uses the weekly hours and this calendar's own holidays and workdays only",
        )
        for year in deadline.weekly_only_years
    ]
    if not calendar.cn_statutory:
        coverage = "weekly"
    else:
        coverage = "partial" if deadline.weekly_only_years else "cn_statutory"
    return PreviewOut(
        due_at=deadline.due_at.astimezone(UTC),
        due_at_local=deadline.due_at.astimezone(calendar.tz),
        clock_starts_at=deadline.clock_starts_at.astimezone(UTC),
        business_minutes=body.minutes,
        timezone=calendar.timezone,
        calendar_coverage=coverage,
        weekly_only_years=list(deadline.weekly_only_years),
        warnings=warnings,
    )


# --- calendars ----------------------------------------------------------------------------------------

READ_PERMISSION = "ticket.read"
MONTH_TEXT = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_KINDS = {
    DayKind.WORKING: "workday",
    DayKind.CLOSED: "weekend",
    DayKind.HOLIDAY: "holiday",
    DayKind.STATUTORY_HOLIDAY: "holiday",
    DayKind.EXTRA_WORKDAY: "makeup_workday",
    DayKind.ADJUSTED_WORKDAY: "makeup_workday",
}


def calendar_out(row: StoredCalendar) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "hours": row.hours,
        "holidays": row.holidays,
        "workdays": row.workdays,
        "cn_statutory": row.cn_statutory,
        "is_default": row.is_default,
        "preset_key": row.preset_key,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _calendar_spec(body: CalendarWrite) -> dict[str, Any]:
    return body.model_dump()


@router.get("/calendars", response_model=CalendarList, summary="The tenant's business calendars")
async def list_calendars(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(READ_PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_calendars(session)
    return {"items": [calendar_out(row) for row in rows]}


@router.post("/calendars", status_code=201, response_model=CalendarOut, summary="Create a business calendar")
async def create_calendar(body: CalendarWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The preview's calendar shape with a ``name``; the tenant's first calendar is its default."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.create_calendar(uow, actor, _calendar_spec(body))
    return calendar_out(row)


@router.get("/calendars/{calendar_id}", response_model=CalendarOut, summary="A business calendar")
async def get_calendar(calendar_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(READ_PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return calendar_out(await queries.get_calendar(session, calendar_id))


@router.put("/calendars/{calendar_id}", response_model=CalendarOut, summary="Replace a business calendar")
async def replace_calendar(
    calendar_id: uuid.UUID, body: CalendarWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.replace_calendar(uow, actor, calendar_id, _calendar_spec(body))
    return calendar_out(row)


@router.delete("/calendars/{calendar_id}", status_code=204, summary="Delete a business calendar")
async def delete_calendar(calendar_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    """Refused (409) while a policy uses it or while it is the default."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_calendar(uow, actor, calendar_id)
    return Response(status_code=204)


def _holiday_name(day: date) -> str | None:
    if not cn_statutory_covers(day.year):
        return None
    _, name = chinese_calendar.get_holiday_detail(day)
    return str(name) if name else None


def month_days(value: BusinessCalendar, year: int, month: int) -> list[dict[str, Any]]:
    """Each day of the month on the calendar: its kind for the month view and its working periods."""
    days = []
    for number in range(1, month_calendar.monthrange(year, month)[1] + 1):
        day = value.day(date(year, month, number))
        days.append(
            {
                "date": day.date,
                "weekday": WEEKDAYS[day.date.weekday()],
                "kind": _KINDS[day.kind],
                "source": day.kind.value,
                "periods": [[format_clock(p.start), format_clock(p.end)] for p in day.periods],
                "name": _holiday_name(day.date) if day.kind is DayKind.STATUTORY_HOLIDAY else None,
                "weekly_only": day.weekly_only,
            }
        )
    return days


@router.get(
    "/calendars/{calendar_id}/month", response_model=MonthOut, summary="A month on a business calendar"
)
async def calendar_month(
    calendar_id: uuid.UUID,
    actor: ActorDep,
    runtime: RuntimeDep,
    month: Annotated[str, Query(description="YYYY-MM, e.g. 2026-10", examples=["2026-10"])],
) -> dict[str, Any]:
    """Every day of ``month``: workday, weekend, holiday (this calendar's or China's statutory) or
    makeup_workday (an extra working day or a 调休 make-up day), with its working periods."""
    actor.require(READ_PERMISSION)
    matched = MONTH_TEXT.match(month)
    if matched is None or not 1970 <= int(matched.group(1)) <= 2200:
        raise ValidationFailed(
            "month is YYYY-MM between 1970 and 2200",
            errors=[
                {"loc": ["query", "month"], "msg": "YYYY-MM between 1970 and 2200", "type": "invalid_value"}
            ],
        )
    async with runtime.db.read(actor.tenant_id) as session:
        row = await queries.get_calendar(session, calendar_id)
    year, number = int(matched.group(1)), int(matched.group(2))
    return {
        "calendar_id": row.id,
        "month": month,
        "timezone": row.timezone,
        "days": month_days(queries.calendar_value(row), year, number),
    }


# --- policies -----------------------------------------------------------------------------------------


def policy_out(row: SlaPolicy) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "position": row.position,
        "active": row.active,
        "calendar_id": row.calendar_id,
        "conditions": row.conditions,
        "targets": row.targets,
        "tiers": row.tiers,
        "preset_key": row.preset_key,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@router.get("/policies", response_model=PolicyList, summary="The tenant's SLA policies in matching order")
async def list_policies(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(READ_PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_policies(session)
    return {"items": [policy_out(row) for row in rows]}


@router.post("/policies", status_code=201, response_model=PolicyOut, summary="Create an SLA policy")
async def create_policy(body: PolicyWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Conditions, targets and tiers are checked as a whole: one 422 lists every problem with its path
    (tier actions use the automation action schema)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.create_policy(uow, actor, body.model_dump())
    return policy_out(row)


@router.post("/policies:reorder", response_model=PolicyList, summary="Put every SLA policy in a new order")
async def reorder_policies(body: ReorderIn, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        rows = await service.reorder_policies(uow, actor, body.ids)
    return {"items": [policy_out(row) for row in rows]}


@router.get("/policies/{policy_id}", response_model=PolicyOut, summary="An SLA policy")
async def get_policy(policy_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(READ_PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return policy_out(await queries.get_policy(session, policy_id))


@router.put("/policies/{policy_id}", response_model=PolicyOut, summary="Replace an SLA policy")
async def replace_policy(
    policy_id: uuid.UUID, body: PolicyWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.replace_policy(uow, actor, policy_id, body.model_dump())
    return policy_out(row)


@router.delete("/policies/{policy_id}", status_code=204, summary="Delete an SLA policy")
async def delete_policy(policy_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_policy(uow, actor, policy_id)
    return Response(status_code=204)


@router.post(
    "/presets", response_model=PresetsOut, summary="Install the standard calendar and policy (idempotent)"
)
async def install_presets(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The standard calendar (Asia/Shanghai, 09:00-12:00 and 13:00-18:00 on working days, China's
    statutory holidays and 调休) and the standard policy (targets per priority, tiers at 75 %, 100 %
    and 150 %), each once."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return await service.install_presets(uow, actor)


# --- tickets ------------------------------------------------------------------------------------------


async def _row_calendar(session: Any, row: TicketSla) -> BusinessCalendar:
    policy = await session.get(SlaPolicy, row.policy_id) if row.policy_id else None
    return queries.calendar_value(await queries.policy_calendar(session, policy))


def ticket_sla_out(row: TicketSla, value: BusinessCalendar, now: datetime) -> dict[str, Any]:
    state = from_json(row.clocks, paused=row.paused)
    metrics = []
    for name in METRICS:
        metric = state.metric(name)
        if metric is None:
            continue
        metrics.append(
            {
                "metric": name,
                "target_minutes": metric.clock.target_minutes,
                "used_minutes": round(used_minutes(value, metric, now), 2),
                "percent_used": round(percent_used(value, metric, now), 1),
                "due_at": metric_due_at(value, metric),
                "active": metric.active,
                "running": metric.running,
                "breached": metric.breached_at is not None,
                "breached_at": metric.breached_at,
                "stopped_at": metric.stopped_at,
                "fired": list(metric.fired),
            }
        )
    return {
        "ticket_id": row.ticket_id,
        "policy_id": row.policy_id,
        "policy_name": row.policy_name,
        "priority": row.priority,
        "paused": row.paused,
        "now": now,
        "next_due_at": row.next_due_at,
        "first_response_due_at": row.first_response_due_at,
        "next_response_due_at": row.next_response_due_at,
        "resolution_due_at": row.resolution_due_at,
        "first_response_met": row.first_response_met,
        "first_response_minutes": row.first_response_minutes,
        "resolution_met": row.resolution_met,
        "resolution_minutes": row.resolution_minutes,
        "next_response_breaches": row.next_response_breaches,
        "metrics": metrics,
    }


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketSlaOut,
    responses={204: {"description": "no SLA policy covers this ticket"}},
    summary="A ticket's SLA clocks and deadlines",
)
async def ticket_sla(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Any:
    """The policy, each metric's target, business minutes used, percent used and deadline, and the
    outcome fields. 204 (no body) when no SLA policy covers the ticket — the ticket page asks for every
    ticket; 404 when the ticket is not visible to the caller."""
    actor.require(READ_PERMISSION)
    now = utcnow()
    async with runtime.db.read(actor.tenant_id) as session:
        await ticket_queries.get_visible_ticket(session, actor, ticket_id)
        row = await queries.ticket_sla(session, ticket_id)
        if row is None:
            return Response(status_code=204)
        value = await _row_calendar(session, row)
    return ticket_sla_out(row, value, now)


@router.get("/breaching-soon", response_model=BreachingList, summary="Tickets whose SLA deadline is near")
async def breaching_soon(
    actor: ActorDep,
    runtime: RuntimeDep,
    within_minutes: Annotated[
        int, Query(ge=1, le=7 * 24 * 60, description="deadlines up to this far ahead")
    ] = 60,
    include_overdue: Annotated[bool, Query(description="also list deadlines already passed")] = True,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_QUEUE)] = 100,
) -> dict[str, Any]:
    """Open SLA deadlines within ``within_minutes`` (real minutes) on tickets the caller sees, soonest
    first; overdue ones (already breached) first when included."""
    actor.require(READ_PERMISSION)
    now = utcnow()
    until = now + timedelta(minutes=within_minutes)
    async with runtime.db.read(actor.tenant_id) as session:
        found = await queries.breaching_soon(
            session, actor, now=now, until=until, include_overdue=include_overdue, limit=limit
        )
    items = []
    for row, (number, title, status, priority, team_id, assignee_id) in found:
        assert row.next_due_at is not None
        metric = next((name for name in METRICS if getattr(row, f"{name}_due_at") == row.next_due_at), None)
        items.append(
            {
                "ticket_id": row.ticket_id,
                "number": number,
                "title": title,
                "status": status,
                "priority": priority,
                "team_id": team_id,
                "assignee_id": assignee_id,
                "policy_name": row.policy_name,
                "metric": metric,
                "due_at": row.next_due_at,
                "overdue": row.next_due_at <= now,
                "minutes_left": round((row.next_due_at - now).total_seconds() / 60, 1),
            }
        )
    return {"now": now, "until": until, "items": items}

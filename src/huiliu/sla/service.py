"""Use cases of SLA configuration: business calendars and SLA policies (create, replace, delete),
and the presets a tenant can install (a default calendar on China's working calendar and a standard
policy). Every write needs ``admin.sla`` and runs in one transaction of the caller's tenant; a policy
write drops the tenant's "has SLA" flag in this process's SLA reactors at commit."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from huiliu.auth.domain import Actor
from huiliu.automation.apply import compile_actions
from huiliu.automation.domain import RuleDefinitionError
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import UnitOfWork
from huiliu.sla import queries
from huiliu.sla.domain import BusinessCalendar, format_weekly_hours
from huiliu.sla.domain.policy import PolicyError, PolicyRules, parse_policy_rules
from huiliu.sla.models import SlaPolicy, StoredCalendar
from huiliu.sla.reactor import sla_reactor

PERMISSION = "admin.sla"
POSITION_STEP = 10
MAX_CALENDARS = 50
MAX_POLICIES = 100
BODY = "body"

CALENDAR_PRESET = "cn_standard"
POLICY_PRESET = "standard"
PRESET_CALENDAR: dict[str, Any] = {
    "name": "标准工作日历",
    "timezone": "Asia/Shanghai",
    "hours": {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
    "workdays": [],
    "cn_statutory": True,
    "is_default": True,
}
PRESET_POLICY: dict[str, Any] = {
    "name": "标准 SLA",
    "description": "首次响应、下次响应与解决时限按优先级计；75 % 提醒处理人，"
    "100 % 通过企业微信和短信通知主管，150 % 通知管理员",
    "active": True,
    "conditions": [],
    "targets": {
        "urgent": {"first_response": 30, "next_response": 60, "resolution": 240},
        "high": {"first_response": 60, "next_response": 120, "resolution": 480},
        "normal": {"first_response": 240, "next_response": 480, "resolution": 1440},
        "low": {"first_response": 480, "next_response": 960, "resolution": 2400},
    },
    "tiers": [
        {
            "percent": 75,
            "actions": [
                {
                    "type": "notify",
                    "assignee": True,
                    "channels": ["in_app"],
                    "severity": "warning",
                    "message": "工单 #{{ticket.number}}「{{ticket.title}}」即将超时",
                }
            ],
        },
        {
            "percent": 100,
            "actions": [
                {
                    "type": "notify",
                    "team_lead": True,
                    "channels": ["wecom", "sms"],
                    "severity": "critical",
                    "message": "工单 #{{ticket.number}}「{{ticket.title}}」已超时",
                }
            ],
        },
        {
            "percent": 150,
            "actions": [
                {
                    "type": "notify",
                    "roles": ["admin"],
                    "channels": ["in_app", "wecom"],
                    "severity": "critical",
                    "message": "工单 #{{ticket.number}}「{{ticket.title}}」超时已达 150 %",
                }
            ],
        },
    ],
}


def _invalidate(uow: UnitOfWork) -> None:
    tenant_id = uow.tenant_id

    def drop() -> None:
        reactor = sla_reactor(uow.db)
        if reactor is not None and tenant_id is not None:
            reactor.invalidate(tenant_id)

    uow.after_commit(drop)


# --- calendars ----------------------------------------------------------------------------------------


def _calendar_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Stored columns of a calendar spec (already checked by ``schemas.CalendarWrite``)."""
    calendar = BusinessCalendar.from_spec(
        timezone=spec["timezone"],
        hours=spec.get("hours"),
        holidays=spec.get("holidays", ()),
        workdays=spec.get("workdays", ()),
        cn_statutory=spec.get("cn_statutory", False),
    )
    return {
        "name": spec["name"],
        "timezone": calendar.timezone,
        "hours": format_weekly_hours(calendar.weekly_hours),
        "holidays": sorted(day.isoformat() for day in calendar.holidays),
        "workdays": sorted(day.isoformat() for day in calendar.workdays),
        "cn_statutory": calendar.cn_statutory,
        "is_default": bool(spec.get("is_default", False)),
    }


async def _only_default(uow: UnitOfWork, keep: uuid.UUID) -> None:
    await uow.session.execute(
        update(StoredCalendar)
        .where(StoredCalendar.id != keep, StoredCalendar.is_default.is_(True))
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )


async def _check_calendar_name(uow: UnitOfWork, name: str, keep: uuid.UUID | None) -> None:
    for row in await queries.list_calendars(uow.session):
        if row.name == name and row.id != keep:
            raise Conflict(f"a calendar named {name!r} exists already")


async def create_calendar(
    uow: UnitOfWork, actor: Actor, spec: Mapping[str, Any], *, preset_key: str | None = None
) -> StoredCalendar:
    """A new business calendar; ``is_default`` makes it the tenant's only default."""
    actor.require(PERMISSION)
    row = await _add_calendar(uow, actor, spec, preset_key)
    await uow.commit()
    return row


async def _add_calendar(
    uow: UnitOfWork, actor: Actor, spec: Mapping[str, Any], preset_key: str | None
) -> StoredCalendar:
    fields = _calendar_fields(spec)
    existing = await queries.list_calendars(uow.session)
    if len(existing) >= MAX_CALENDARS:
        raise Conflict(f"a tenant has at most {MAX_CALENDARS} calendars")
    await _check_calendar_name(uow, fields["name"], None)
    now = utcnow()
    row = StoredCalendar(
        id=new_id(),
        tenant_id=actor.tenant_id,
        preset_key=preset_key,
        created_at=now,
        updated_at=now,
        **fields,
    )
    if not existing:
        row.is_default = True  # the first calendar is the default: policies without one use it
    uow.session.add(row)
    await uow.session.flush()
    if row.is_default:
        await _only_default(uow, row.id)
    _invalidate(uow)
    return row


async def replace_calendar(
    uow: UnitOfWork, actor: Actor, calendar_id: uuid.UUID, spec: Mapping[str, Any]
) -> StoredCalendar:
    """Replace a calendar's definition. Open tickets on it get the new deadlines at their next change
    or timer (business time already used is kept)."""
    actor.require(PERMISSION)
    row = await queries.get_calendar(uow.session, calendar_id)
    fields = _calendar_fields(spec)
    await _check_calendar_name(uow, fields["name"], row.id)
    if row.is_default and not fields["is_default"]:
        raise Conflict("choose another default calendar first: mark that one as the default")
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    if row.is_default:
        await _only_default(uow, row.id)
    _invalidate(uow)
    await uow.commit()
    return row


async def delete_calendar(uow: UnitOfWork, actor: Actor, calendar_id: uuid.UUID) -> None:
    actor.require(PERMISSION)
    row = await queries.get_calendar(uow.session, calendar_id)
    users = await queries.policies_using_calendar(uow.session, calendar_id)
    if users:
        raise Conflict(f"the calendar is used by SLA policies: {', '.join(users)}")
    if row.is_default:
        raise Conflict("the default calendar cannot be deleted: make another calendar the default first")
    await uow.session.delete(row)
    await uow.commit()


# --- policies -----------------------------------------------------------------------------------------


def check_policy(spec: Mapping[str, Any]) -> PolicyRules:
    """Conditions, targets and tiers with every problem reported at its path in the request body;
    the tiers' actions are checked with the automation action schema."""
    errors: list[dict[str, Any]] = []
    try:
        rules = parse_policy_rules(spec.get("conditions"), spec.get("targets"), spec.get("tiers"))
    except PolicyError as exc:
        errors.extend({**error, "loc": [BODY, *error["loc"]]} for error in exc.errors)
        rules = None
    for index, tier in enumerate(spec.get("tiers") or []):
        actions = tier.get("actions") if isinstance(tier, Mapping) else None
        if not isinstance(actions, list):
            continue
        try:
            compile_actions(actions)
        except RuleDefinitionError as exc:
            errors.extend(
                {**error, "loc": [BODY, "tiers", index, "actions", *error["loc"]]} for error in exc.errors
            )
    if errors or rules is None:
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"][1:])
        raise ValidationFailed(f"{where}: {first['msg']}", errors=errors)
    return rules


async def _check_calendar_ref(uow: UnitOfWork, calendar_id: uuid.UUID | None) -> None:
    if calendar_id is None:
        return
    if await uow.session.get(StoredCalendar, calendar_id) is None:
        raise ValidationFailed(
            "calendar_id: no such calendar",
            errors=[{"loc": [BODY, "calendar_id"], "msg": "no such calendar", "type": "not_found"}],
        )


def _store_policy(row: SlaPolicy, spec: Mapping[str, Any], rules: PolicyRules) -> None:
    row.name = spec["name"]
    row.description = spec.get("description") or ""
    row.active = bool(spec.get("active", True))
    row.calendar_id = spec.get("calendar_id")
    row.conditions = [condition.to_dict() for condition in rules.conditions]
    row.targets = {priority: dict(metrics) for priority, metrics in rules.targets.items()}
    row.tiers = [tier.to_dict() for tier in rules.tiers]
    row.updated_at = utcnow()


async def create_policy(
    uow: UnitOfWork, actor: Actor, spec: Mapping[str, Any], *, preset_key: str | None = None
) -> SlaPolicy:
    """A new SLA policy; without a ``position`` it goes after the tenant's last policy."""
    actor.require(PERMISSION)
    row = await _add_policy(uow, actor, spec, preset_key)
    await uow.commit()
    return row


async def _add_policy(
    uow: UnitOfWork, actor: Actor, spec: Mapping[str, Any], preset_key: str | None
) -> SlaPolicy:
    rules = check_policy(spec)
    await _check_calendar_ref(uow, spec.get("calendar_id"))
    if len(await queries.list_policies(uow.session)) >= MAX_POLICIES:
        raise Conflict(f"a tenant has at most {MAX_POLICIES} SLA policies")
    position = spec.get("position")
    if position is None:
        position = ((await queries.last_position(uow.session)) or 0) + POSITION_STEP
    now = utcnow()
    row = SlaPolicy(
        id=new_id(), tenant_id=actor.tenant_id, position=position, preset_key=preset_key, created_at=now
    )
    _store_policy(row, spec, rules)
    uow.session.add(row)
    _invalidate(uow)
    return row


async def replace_policy(
    uow: UnitOfWork, actor: Actor, policy_id: uuid.UUID, spec: Mapping[str, Any]
) -> SlaPolicy:
    """Replace a policy's definition. Tickets under it keep their clocks; their targets follow at the
    ticket's next priority or category change."""
    actor.require(PERMISSION)
    row = await queries.get_policy(uow.session, policy_id)
    rules = check_policy(spec)
    await _check_calendar_ref(uow, spec.get("calendar_id"))
    if spec.get("position") is not None:
        row.position = spec["position"]
    _store_policy(row, spec, rules)
    _invalidate(uow)
    await uow.commit()
    return row


async def delete_policy(uow: UnitOfWork, actor: Actor, policy_id: uuid.UUID) -> None:
    """Delete a policy. Tickets it covered keep their clocks and deadlines (without tiers)."""
    actor.require(PERMISSION)
    row = await queries.get_policy(uow.session, policy_id)
    await uow.session.delete(row)
    _invalidate(uow)
    await uow.commit()


async def reorder_policies(uow: UnitOfWork, actor: Actor, policy_ids: list[uuid.UUID]) -> list[SlaPolicy]:
    """Put the tenant's policies in the given order (every policy exactly once)."""
    actor.require(PERMISSION)
    rows = {row.id: row for row in await queries.list_policies(uow.session)}
    if sorted(policy_ids) != sorted(rows) or len(set(policy_ids)) != len(policy_ids):
        raise ValidationFailed("list every SLA policy of the tenant exactly once")
    for index, policy_id in enumerate(policy_ids):
        rows[policy_id].position = (index + 1) * POSITION_STEP
    _invalidate(uow)
    await uow.commit()
    return [rows[policy_id] for policy_id in policy_ids]


# --- presets ------------------------------------------------------------------------------------------


async def install_presets(uow: UnitOfWork, actor: Actor) -> dict[str, Any]:
    """Install the standard calendar (China's working calendar, the tenant's default when it has
    none) and the standard policy, each once: installing again adds nothing."""
    actor.require(PERMISSION)
    calendars = await queries.list_calendars(uow.session)
    calendar = next((row for row in calendars if row.preset_key == CALENDAR_PRESET), None)
    installed: list[str] = []
    if calendar is None:
        spec = {**PRESET_CALENDAR, "is_default": not any(row.is_default for row in calendars)}
        if any(row.name == spec["name"] for row in calendars):
            spec["name"] = f"{spec['name']} ({utcnow().date().isoformat()})"
        calendar = await _add_calendar(uow, actor, spec, CALENDAR_PRESET)
        installed.append(CALENDAR_PRESET)
    policies = await queries.list_policies(uow.session)
    policy = next((row for row in policies if row.preset_key == POLICY_PRESET), None)
    if policy is None:
        policy = await _add_policy(uow, actor, {**PRESET_POLICY, "calendar_id": calendar.id}, POLICY_PRESET)
        installed.append(POLICY_PRESET)
    await uow.commit()
    return {"installed": installed, "calendar_id": calendar.id, "policy_id": policy.id}

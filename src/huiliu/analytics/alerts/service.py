"""Use cases of analytics alerts: manage rules (``admin.analytics``), preview a rule on the data as it
is now, and evaluate due rules (the worker, every few minutes). An evaluation reads the metric through
``analytics.metrics.series`` over the whole tenant, decides with ``alerts.domain`` and, when a new
incident opens, writes a firing row and a ``notification`` outbox row in the same transaction: the
notifications layer delivers it (in-app, WeCom, e-mail… with preferences and quiet hours)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics import exports, metrics
from huiliu.analytics.alerts.domain import (
    DAY,
    HOUR,
    METRICS,
    WEEK,
    AlertRuleError,
    Breach,
    Condition,
    ConsecutiveDays,
    Point,
    RuleState,
    Spike,
    condition_spec,
    decide,
    describe,
    evaluate,
    evaluation_bucket,
    extra_agents,
    floor_hour,
    parse_condition,
    series_range,
    value_label,
)
from huiliu.analytics.alerts.models import AlertFiring, AlertRule
from huiliu.auth import queries as auth_queries
from huiliu.auth.domain import Actor, system_actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.core.outbox import STATE_PENDING, OutboxRow
from huiliu.db.session import Database, UnitOfWork
from huiliu.notifications.domain import CHANNELS, IN_APP, KIND_NOTIFICATION, SEVERITIES

log = logging.getLogger("huiliu.analytics.alerts")

PERMISSION = "admin.analytics"
FIRED_EVENT = "analytics.alert_fired"
ORIGIN_KIND = "analytics_alert"
DASHBOARD_PATH = "/dashboard"
RULE_FIELDS = frozenset(
    {
        "name",
        "metric",
        "filters",
        "condition",
        "recipients",
        "channels",
        "severity",
        "cooldown_hours",
        "enabled",
    }
)
MAX_COOLDOWN_HOURS = 24 * 30
MAX_RECIPIENTS = 100


# --- rules -------------------------------------------------------------------------------------------


async def _recipients(session: AsyncSession, spec: object) -> dict[str, list[str]]:
    """``{"users": [user ids], "roles": [role names]}``, every one existing in the tenant."""
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping) or set(spec) - {"users", "roles"}:
        raise ValidationFailed('recipients is {"users": [user ids], "roles": [role names]}')
    users = spec.get("users") or []
    roles = spec.get("roles") or []
    if not isinstance(users, list) or not isinstance(roles, list) or len(users) + len(roles) > MAX_RECIPIENTS:
        raise ValidationFailed(f"recipients lists at most {MAX_RECIPIENTS} users and roles")
    user_ids: list[str] = []
    for value in users:
        try:
            user_id = uuid.UUID(str(value))
            await auth_queries.get_user_row(session, user_id)
        except (ValueError, NotFound) as exc:
            raise ValidationFailed(f"recipients.users: no user {value!r}") from exc
        user_ids.append(str(user_id))
    known_roles = {role["name"] for role in await auth_queries.list_roles(session)}
    for name in roles:
        if name not in known_roles:
            raise ValidationFailed(f"recipients.roles: no role {name!r}")
    if not user_ids and not roles:
        raise ValidationFailed("recipients needs at least one user or role")
    return {"users": list(dict.fromkeys(user_ids)), "roles": list(dict.fromkeys(str(r) for r in roles))}


async def _fields(session: AsyncSession, body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - RULE_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}")
    for required in ("name", "metric", "condition", "recipients"):
        if required not in body:
            raise ValidationFailed(f"{required} is required")
    name = body["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed("name is a text of 1 to 200 characters")
    if body["metric"] not in METRICS:
        raise ValidationFailed(f"metric must be one of {', '.join(METRICS)}")
    try:
        condition = parse_condition(body["condition"])
    except AlertRuleError as exc:
        raise ValidationFailed(str(exc)) from exc
    channels = body.get("channels") or [IN_APP]
    if not isinstance(channels, list) or any(channel not in CHANNELS for channel in channels):
        raise ValidationFailed(f"channels are some of {', '.join(CHANNELS)}")
    severity = body.get("severity", "warning")
    if severity not in SEVERITIES:
        raise ValidationFailed(f"severity must be one of {', '.join(SEVERITIES)}")
    cooldown = body.get("cooldown_hours", 6)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not 0 <= cooldown <= MAX_COOLDOWN_HOURS:
        raise ValidationFailed(f"cooldown_hours is a whole number from 0 to {MAX_COOLDOWN_HOURS}")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationFailed("enabled is true or false")
    return {
        "name": name.strip(),
        "metric": body["metric"],
        "filters": exports.check_dimensions(body.get("filters") or {}),
        "condition": condition_spec(condition),
        "recipients": await _recipients(session, body["recipients"]),
        "channels": list(dict.fromkeys(channels)),
        "severity": severity,
        "cooldown_hours": cooldown,
        "enabled": enabled,
    }


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> AlertRule:
    rule = await session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound("alert rule not found")
    return rule


async def list_rules(session: AsyncSession) -> Sequence[AlertRule]:
    return (await session.execute(select(AlertRule).order_by(AlertRule.name, AlertRule.id))).scalars().all()


async def list_firings(
    session: AsyncSession, rule_id: uuid.UUID | None = None, *, limit: int = 50
) -> Sequence[AlertFiring]:
    query = select(AlertFiring).order_by(AlertFiring.created_at.desc(), AlertFiring.id.desc()).limit(limit)
    if rule_id is not None:
        query = query.where(AlertFiring.rule_id == rule_id)
    return (await session.execute(query)).scalars().all()


async def _check_name(session: AsyncSession, name: str, rule_id: uuid.UUID | None) -> None:
    found = await session.scalar(select(AlertRule.id).where(AlertRule.name == name))
    if found is not None and found != rule_id:
        raise Conflict(f"an alert rule named {name!r} exists")


async def create_rule(uow: UnitOfWork, actor: Actor, body: Mapping[str, Any]) -> AlertRule:
    """A new rule; the condition is stored with every default written out."""
    actor.require(PERMISSION)
    fields = await _fields(uow.session, body)
    await _check_name(uow.session, fields["name"], None)
    now = utcnow()
    rule = AlertRule(
        id=new_id(), tenant_id=actor.tenant_id, created_at=now, updated_at=now, incident_open=False, **fields
    )
    uow.session.add(rule)
    await uow.commit()
    return rule


async def replace_rule(
    uow: UnitOfWork, actor: Actor, rule_id: uuid.UUID, body: Mapping[str, Any]
) -> AlertRule:
    """Replace a rule's definition. A changed metric, filter or condition starts afresh (no open
    incident, evaluated at the next bucket)."""
    actor.require(PERMISSION)
    rule = await get_rule(uow.session, rule_id)
    fields = await _fields(uow.session, body)
    await _check_name(uow.session, fields["name"], rule.id)
    if (fields["metric"], fields["filters"], fields["condition"]) != (
        rule.metric,
        rule.filters,
        rule.condition,
    ):
        rule.incident_open = False
        rule.last_evaluated_bucket = None
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    await uow.commit()
    return rule


async def delete_rule(uow: UnitOfWork, actor: Actor, rule_id: uuid.UUID) -> None:
    """Delete a rule with its firings."""
    actor.require(PERMISSION)
    rule = await get_rule(uow.session, rule_id)
    for firing in await list_firings(uow.session, rule.id, limit=10_000):
        await uow.session.delete(firing)
    await uow.session.delete(rule)
    await uow.commit()


# --- evaluation --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    rule_id: uuid.UUID
    bucket: datetime
    breach: Breach | None
    fired: bool
    reason: str
    message: str | None = None
    suggestion: str | None = None
    firing_id: uuid.UUID | None = None


def _as_points(found: Sequence[metrics.SeriesPoint]) -> list[Point]:
    return [Point(p.bucket_start, p.value, p.count) for p in found]


async def load_points(
    session: AsyncSession,
    actor: Actor,
    metric: str,
    dims: dict[str, list[str]],
    condition: Condition,
    bucket: datetime,
) -> list[Point]:
    """The series ``condition`` needs at ``bucket``: the window's hours, the run's local days, or for
    a spike the same hour in each past week (one small query per week)."""
    if isinstance(condition, Spike):
        points: list[Point] = []
        for age in range(condition.weeks + 1):
            hour = bucket - age * WEEK
            flt = exports.metric_filter(hour, hour + HOUR, dims)
            points += _as_points(await metrics.series(session, actor, metric, flt, "hour"))
        return points
    start, end = series_range(condition, bucket)
    granularity: metrics.Granularity = "day" if isinstance(condition, ConsecutiveDays) else "hour"
    flt = exports.metric_filter(start, end, dims)
    return _as_points(await metrics.series(session, actor, metric, flt, granularity))


async def _scope_label(session: AsyncSession, dims: dict[str, list[str]]) -> str:
    """The filter in words for the message: team names, categories, scenarios, channels, regions."""
    parts: list[str] = []
    if dims.get("team_ids"):
        names = {str(team["id"]): team["name"] for team in await auth_queries.list_teams(session)}
        parts += [names.get(team_id, team_id[:8]) for team_id in dims["team_ids"]]
    for key in ("categories", "scenarios", "channels", "regions", "priorities", "customer_levels"):
        parts += [value_label(key, value) for value in dims.get(key, [])]
    return "、".join(parts[:4]) + ("等" if len(parts) > 4 else "")


def dashboard_link(public_url: str, metric: str, dims: dict[str, list[str]], bucket: datetime) -> str:
    """The console dashboard with the rule's metric and filters, around the bucket."""
    params: dict[str, str] = {
        "metric": metric,
        "start": (bucket - WEEK).isoformat(),
        "end": (bucket + DAY).isoformat(),
    }
    params.update({key: ",".join(values) for key, values in dims.items()})
    return f"{public_url}{DASHBOARD_PATH}?{urlencode(params)}"


async def _wording(
    session: AsyncSession, rule: AlertRule, condition: Condition, breach: Breach
) -> tuple[str, str]:
    extra = None
    if isinstance(condition, Spike) and rule.metric == "volume" and breach.baseline is not None:
        extra = extra_agents(breach.value, breach.baseline, condition.handle_seconds)
    return describe(rule.metric, condition, breach, await _scope_label(session, rule.filters), extra=extra)


async def _recipient_ids(session: AsyncSession, recipients: Mapping[str, Any]) -> list[uuid.UUID]:
    """The rule's users and the active members of its roles, once each."""
    found = [uuid.UUID(user_id) for user_id in recipients.get("users", [])]
    for role in recipients.get("roles", []):
        offset = 0
        while True:
            page, total = await auth_queries.list_users(
                session,
                auth_queries.UserFilters(role=role, active=True),
                limit=auth_queries.MAX_USER_PAGE,
                offset=offset,
            )
            found += [row.id for row in page]
            offset += len(page)
            if not page or offset >= total:
                break
    return list(dict.fromkeys(found))


async def _fire(
    uow: UnitOfWork, rule: AlertRule, condition: Condition, breach: Breach, now: datetime, public_url: str
) -> tuple[AlertFiring, str, str]:
    session = uow.session
    message, suggestion = await _wording(session, rule, condition, breach)
    link = dashboard_link(public_url, rule.metric, rule.filters, breach.bucket_start)
    recipients = await _recipient_ids(session, rule.recipients)
    notification_id = new_id() if recipients else None
    firing = AlertFiring(
        id=new_id(),
        tenant_id=rule.tenant_id,
        rule_id=rule.id,
        bucket_start=breach.bucket_start,
        value=breach.value,
        baseline=breach.baseline,
        message=message,
        suggestion=suggestion,
        link=link,
        details=breach.details,
        recipients=[str(user_id) for user_id in recipients],
        notification_id=notification_id,
        created_at=now,
    )
    session.add(firing)
    if notification_id is not None:
        session.add(
            OutboxRow(
                id=notification_id,
                tenant_id=rule.tenant_id,
                kind=KIND_NOTIFICATION,
                event_id=notification_id,
                event_type=FIRED_EVENT,
                payload={
                    "id": str(notification_id),
                    "recipients": [str(user_id) for user_id in recipients],
                    "channels": list(rule.channels),
                    "severity": rule.severity,
                    "message": f"{message}\n{suggestion}\n查看看板：{link}",
                    "link": link,
                    "origin": {"kind": ORIGIN_KIND, "id": str(rule.id), "name": rule.name},
                },
                state=STATE_PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return firing, message, suggestion


async def preview_rule(
    session: AsyncSession, actor: Actor, body: Mapping[str, Any], now: datetime
) -> Evaluation:
    """What a rule (as posted, not stored) sees at ``now``: the bucket, the breach if any, and the
    message it would send. Reads only."""
    actor.require(PERMISSION)
    fields = await _fields(session, body)
    condition = parse_condition(fields["condition"])
    bucket = evaluation_bucket(condition, now)
    points = await load_points(
        session, system_actor(actor.tenant_id), fields["metric"], fields["filters"], condition, bucket
    )
    breach = evaluate(fields["metric"], condition, bucket, points)
    if breach is None:
        return Evaluation(uuid.UUID(int=0), bucket, None, False, "ok")
    rule = AlertRule(tenant_id=actor.tenant_id, **fields)
    message, suggestion = await _wording(session, rule, condition, breach)
    return Evaluation(uuid.UUID(int=0), bucket, breach, False, "would fire", message, suggestion)


async def evaluate_rule(
    db: Database, tenant_id: uuid.UUID, rule_id: uuid.UUID, now: datetime, *, public_url: str
) -> Evaluation | None:
    """Evaluate one rule at its last complete bucket, once per bucket (None when that bucket was
    evaluated already or the rule is gone or disabled). One transaction: the rule's incident state,
    the firing and its notification."""
    try:
        async with db.uow(tenant_id) as uow:
            rule = await uow.session.get(AlertRule, rule_id, with_for_update=True)
            if rule is None or not rule.enabled:
                return None
            condition = parse_condition(rule.condition)
            bucket = evaluation_bucket(condition, now)
            if rule.last_evaluated_bucket is not None and rule.last_evaluated_bucket >= bucket:
                return None
            points = await load_points(
                uow.session, system_actor(tenant_id), rule.metric, rule.filters, condition, bucket
            )
            breach = evaluate(rule.metric, condition, bucket, points)
            decision = decide(
                RuleState(rule.incident_open, rule.last_fired_at), breach, now, rule.cooldown_hours
            )
            rule.last_evaluated_bucket = bucket
            rule.incident_open = decision.incident_open
            result = Evaluation(rule.id, bucket, breach, False, decision.reason)
            if decision.fire and breach is not None:
                firing, message, suggestion = await _fire(uow, rule, condition, breach, now, public_url)
                rule.last_fired_at = now
                result = Evaluation(
                    rule.id, bucket, breach, True, decision.reason, message, suggestion, firing.id
                )
            await uow.commit()
            return result
    except IntegrityError:
        # Another worker fired this rule for this bucket first (the firing is unique per bucket).
        log.info("alert rule %s: bucket already fired by another worker", rule_id)
        return None


async def due_rules(db: Database, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, rule) of every enabled rule, across tenants, that may have a bucket to evaluate: no
    rule's bucket is later than the hour that just completed, so rules already evaluated for it are
    skipped here (a days rule is checked against its own bucket when evaluated)."""
    latest = floor_hour(now) - HOUR
    async with db.read(None, system=True) as session:
        rows = await session.execute(
            select(AlertRule.tenant_id, AlertRule.id)
            .where(
                AlertRule.enabled.is_(True),
                or_(AlertRule.last_evaluated_bucket.is_(None), AlertRule.last_evaluated_bucket < latest),
            )
            .order_by(AlertRule.id)
        )
        return [(tenant_id, rule_id) for tenant_id, rule_id in rows.all()]


async def evaluate_due(db: Database, now: datetime, *, public_url: str) -> list[Evaluation]:
    """Evaluate every enabled rule whose bucket has not been evaluated yet; a rule that fails is
    logged and tried again next time (its bucket is not marked)."""
    done: list[Evaluation] = []
    for tenant_id, rule_id in await due_rules(db, now):
        try:
            result = await evaluate_rule(db, tenant_id, rule_id, now, public_url=public_url)
        except Exception:
            log.exception("alert rule %s failed to evaluate", rule_id)
            continue
        if result is not None:
            done.append(result)
    return done

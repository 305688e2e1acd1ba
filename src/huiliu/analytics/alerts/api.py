"""Alert rule routes under ``/api/v1/analytics/alerts``: rules (CRUD and a preview on today's data)
need ``admin.analytics``; the firing log is readable with ``analytics.read`` too. Weekly report routes
under ``/api/v1/analytics/reports`` (``admin.analytics``). Bad input is a 422 naming the problem, with
nothing stored; another tenant's rule or report is a 404."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from huiliu.analytics import reports
from huiliu.analytics.alerts import service
from huiliu.analytics.alerts.models import AlertFiring, AlertRule, ScheduledReport
from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.core.clock import utcnow

router = APIRouter(prefix="/api/v1/analytics/alerts", tags=["analytics"])
reports_router = APIRouter(prefix="/api/v1/analytics/reports", tags=["analytics"])


class RuleWrite(BaseModel):
    """A rule. ``condition`` is one of
    ``{"kind": "threshold", "op": "gt|ge|lt|le", "value": 10, "window_hours": 1}``,
    ``{"kind": "consecutive_days_below", "standard": 0.9, "days": 3, "direction": "below|above"}``,
    ``{"kind": "spike", "z": 3.5, "weeks": 4, "min_value": 5, "direction": "up|down|both",
    "handle_seconds": 600}``; ``filters`` holds the metric filter's dimension lists (team_ids,
    agent_ids, channels, entry_point_ids, scenarios, categories, priorities, customer_levels,
    regions); ``recipients`` is ``{"users": [ids], "roles": [names]}``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    metric: str
    filters: dict[str, Any] = Field(default_factory=dict)
    condition: dict[str, Any]
    recipients: dict[str, Any]
    channels: list[str] = Field(default_factory=lambda: ["in_app"])
    severity: str = "warning"
    cooldown_hours: int = 6
    enabled: bool = True


class AlertRuleOut(BaseModel):
    id: uuid.UUID
    name: str
    metric: str
    filters: dict[str, list[str]]
    condition: dict[str, Any]
    recipients: dict[str, list[str]]
    channels: list[str]
    severity: str
    cooldown_hours: int
    enabled: bool
    incident_open: bool
    last_evaluated_bucket: datetime | None
    last_fired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AlertRuleList(BaseModel):
    items: list[AlertRuleOut]


class FiringOut(BaseModel):
    id: uuid.UUID
    rule_id: uuid.UUID
    bucket_start: datetime
    value: float | None
    baseline: float | None
    message: str
    suggestion: str
    link: str
    details: dict[str, Any]
    recipients: list[str]
    notification_id: uuid.UUID | None
    created_at: datetime


class FiringList(BaseModel):
    items: list[FiringOut]


class AlertPreviewOut(BaseModel):
    bucket_start: datetime = Field(description="the last complete hour or local day the rule looks at")
    breached: bool
    value: float | None
    baseline: float | None
    details: dict[str, Any]
    message: str | None
    suggestion: str | None


def rule_out(rule: AlertRule) -> dict[str, Any]:
    return {column: getattr(rule, column) for column in AlertRuleOut.model_fields}


def firing_out(firing: AlertFiring) -> dict[str, Any]:
    return {column: getattr(firing, column) for column in FiringOut.model_fields}


@router.get("/rules", response_model=AlertRuleList, summary="Alert rules")
async def list_rules(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": [rule_out(rule) for rule in await service.list_rules(session)]}


@router.post("/rules", status_code=201, response_model=AlertRuleOut, summary="Create an alert rule")
async def create_rule(body: RuleWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return rule_out(await service.create_rule(uow, actor, body.model_dump()))


@router.post(
    "/rules:preview", response_model=AlertPreviewOut, summary="What a rule sees now (nothing stored)"
)
async def preview_rule(body: RuleWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Evaluates the posted rule at the last complete bucket and returns the message it would send."""
    async with runtime.db.read(actor.tenant_id) as session:
        found = await service.preview_rule(session, actor, body.model_dump(), utcnow())
    breach = found.breach
    return {
        "bucket_start": found.bucket,
        "breached": breach is not None,
        "value": breach.value if breach else None,
        "baseline": breach.baseline if breach else None,
        "details": breach.details if breach else {},
        "message": found.message,
        "suggestion": found.suggestion,
    }


@router.get("/rules/{rule_id}", response_model=AlertRuleOut, summary="An alert rule")
async def get_rule(rule_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return rule_out(await service.get_rule(session, rule_id))


@router.put("/rules/{rule_id}", response_model=AlertRuleOut, summary="Replace an alert rule")
async def replace_rule(
    rule_id: uuid.UUID, body: RuleWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return rule_out(await service.replace_rule(uow, actor, rule_id, body.model_dump()))


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete an alert rule and its firings")
async def delete_rule(rule_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_rule(uow, actor, rule_id)
    return Response(status_code=204)


@router.get("/firings", response_model=FiringList, summary="Alerts told, newest first")
async def list_firings(
    actor: ActorDep,
    runtime: RuntimeDep,
    rule_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    actor.require_any(service.PERMISSION, "analytics.read")
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": [firing_out(f) for f in await service.list_firings(session, rule_id, limit=limit)]}


# --- weekly reports ----------------------------------------------------------------------------------


class ReportWrite(BaseModel):
    """A weekly report: sent at ``weekday`` (0 = Monday) ``hour``:00 in ``timezone`` to
    ``recipients`` (e-mail addresses) about the seven days before; ``filters`` as for alert rules."""

    model_config = ConfigDict(extra="forbid")

    name: str
    recipients: list[str]
    weekday: int = 0
    hour: int = 9
    timezone: str = "Asia/Shanghai"
    filters: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class ReportOut(BaseModel):
    id: uuid.UUID
    name: str
    recipients: list[str]
    weekday: int
    hour: int
    timezone: str
    filters: dict[str, list[str]]
    enabled: bool
    last_period_start: datetime | None
    last_sent_at: datetime | None
    last_status: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ReportList(BaseModel):
    items: list[ReportOut]


class ReportSent(BaseModel):
    period_start: datetime
    recipients: int
    sent: bool
    error: str | None


def report_out(report: ScheduledReport) -> dict[str, Any]:
    return {column: getattr(report, column) for column in ReportOut.model_fields}


@reports_router.get("", response_model=ReportList, summary="Weekly reports")
async def list_reports(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(reports.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return {"items": [report_out(r) for r in await reports.list_reports(session)]}


@reports_router.post("", status_code=201, response_model=ReportOut, summary="Create a weekly report")
async def create_report(body: ReportWrite, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The first report goes out at the next slot."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return report_out(await reports.create_report(uow, actor, body.model_dump()))


@reports_router.get("/{report_id}", response_model=ReportOut, summary="A weekly report")
async def get_report(report_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(reports.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        return report_out(await reports.get_report(session, report_id))


@reports_router.put("/{report_id}", response_model=ReportOut, summary="Replace a weekly report")
async def replace_report(
    report_id: uuid.UUID, body: ReportWrite, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return report_out(await reports.replace_report(uow, actor, report_id, body.model_dump()))


@reports_router.delete("/{report_id}", status_code=204, summary="Delete a weekly report")
async def delete_report(report_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await reports.delete_report(uow, actor, report_id)
    return Response(status_code=204)


@reports_router.post(
    "/{report_id}:send", response_model=ReportSent, summary="Send the latest week's report now"
)
async def send_report(report_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Builds and mails the report of the latest completed week at once (to check a configuration);
    an unconfigured or failing e-mail channel is reported in ``error``."""
    actor.require(reports.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        await reports.get_report(session, report_id)
    sent = await reports.send_report(
        runtime.db, runtime.settings, actor.tenant_id, report_id, utcnow(), force=True
    )
    assert sent is not None
    return {
        "period_start": sent.period_start,
        "recipients": sent.recipients,
        "sent": sent.error is None,
        "error": sent.error,
    }

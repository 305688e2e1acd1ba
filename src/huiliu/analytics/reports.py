"""Weekly reports: each tenant's configured report is e-mailed to its recipients at a weekday and hour
in its time zone (Asia/Shanghai by default) about the seven local days before that day — the key
numbers with the change on the week before, and two charts rendered as PNG with matplotlib (Agg, no
display), inline in the HTML mail. Mail goes through the tenant's e-mail notification channel (SMTP,
``notifications.providers.email``).

Each week is sent once: ``last_period_start`` records the week sent; a failed send is tried again on
the worker's next look, up to ``MAX_FAILURES`` times for that week. Reports cover the whole tenant
(admins choose the recipients). Charts use a CJK font when one is installed (``make install-browser``
installs WenQuanYi Micro Hei) and fall back to English labels when none is."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import lru_cache
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.analytics import exports, metrics
from huiliu.analytics.alerts.domain import METRIC_LABELS, Point, aggregate, format_value
from huiliu.analytics.alerts.models import ScheduledReport
from huiliu.auth.domain import Actor, system_actor
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import Database, UnitOfWork
from huiliu.notifications import queries as notification_queries
from huiliu.notifications.providers.base import DeliveryFailed, OutgoingMessage
from huiliu.notifications.providers.email import SmtpEmail
from huiliu.settings import Settings

log = logging.getLogger("huiliu.analytics.reports")

PERMISSION = "admin.analytics"
REPORT_FIELDS = frozenset({"name", "recipients", "weekday", "hour", "timezone", "filters", "enabled"})
MAX_RECIPIENTS = 50
MAX_FAILURES = 3
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
KEY_METRICS = (
    "volume",
    "resolved",
    "backlog",
    "first_response_median",
    "resolution_median",
    "sla_compliance",
    "csat_avg",
    "reopen_rate",
    "fcr_rate",
)
CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei")
_MESSAGE_NAMESPACE = uuid.UUID("6f1c9a52-3c0e-4d59-9a1c-8b5e2f7d4a10")


# --- configuration -----------------------------------------------------------------------------------


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - REPORT_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}")
    for required in ("name", "recipients"):
        if required not in body:
            raise ValidationFailed(f"{required} is required")
    name = body["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed("name is a text of 1 to 200 characters")
    recipients = body["recipients"]
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise ValidationFailed(f"recipients is a list of 1 to {MAX_RECIPIENTS} e-mail addresses")
    for address in recipients:
        if not isinstance(address, str) or len(address) > 254 or not EMAIL.match(address):
            raise ValidationFailed(f"recipients: {address!r} is not an e-mail address")
    weekday, hour = body.get("weekday", 0), body.get("hour", 9)
    for key, value, high in (("weekday", weekday, 6), ("hour", hour, 23)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise ValidationFailed(f"{key} is a whole number from 0 to {high}")
    timezone = body.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"timezone {timezone!r} is not a time zone name") from exc
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationFailed("enabled is true or false")
    return {
        "name": name.strip(),
        "recipients": list(dict.fromkeys(address.strip() for address in recipients)),
        "weekday": weekday,
        "hour": hour,
        "timezone": str(timezone),
        "filters": exports.check_dimensions(body.get("filters") or {}),
        "enabled": enabled,
    }


def period_for(weekday: int, hour: int, timezone: str, now: datetime) -> tuple[datetime, datetime, datetime]:
    """(send time, period start, period end) of the latest slot at or before ``now``: the slot is the
    last ``weekday`` ``hour``:00 local; the period is the seven local days before the slot's day."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    day = (local - timedelta(days=(local.weekday() - weekday) % 7)).date()
    slot = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
    if slot > local:
        day -= WEEK
        slot = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
    end = datetime(day.year, day.month, day.day, tzinfo=tz)
    start_day = day - WEEK
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=tz)
    return slot, start, end


async def get_report(session: AsyncSession, report_id: uuid.UUID) -> ScheduledReport:
    report = await session.get(ScheduledReport, report_id)
    if report is None:
        raise NotFound("scheduled report not found")
    return report


async def list_reports(session: AsyncSession) -> Sequence[ScheduledReport]:
    query = select(ScheduledReport).order_by(ScheduledReport.name, ScheduledReport.id)
    return (await session.execute(query)).scalars().all()


async def _check_name(session: AsyncSession, name: str, report_id: uuid.UUID | None) -> None:
    found = await session.scalar(select(ScheduledReport.id).where(ScheduledReport.name == name))
    if found is not None and found != report_id:
        raise Conflict(f"a scheduled report named {name!r} exists")


def _skip_current_week(report: ScheduledReport, now: datetime) -> None:
    """A new or rescheduled report starts with the next slot, not the one that just passed."""
    _, start, _ = period_for(report.weekday, report.hour, report.timezone, now)
    report.last_period_start = start
    report.last_status = None
    report.failures = 0


async def create_report(uow: UnitOfWork, actor: Actor, body: Mapping[str, Any]) -> ScheduledReport:
    """A weekly report; the first one goes out at the next slot."""
    actor.require(PERMISSION)
    fields = _fields(body)
    await _check_name(uow.session, fields["name"], None)
    now = utcnow()
    report = ScheduledReport(id=new_id(), tenant_id=actor.tenant_id, created_at=now, updated_at=now, **fields)
    _skip_current_week(report, now)
    uow.session.add(report)
    await uow.commit()
    return report


async def replace_report(
    uow: UnitOfWork, actor: Actor, report_id: uuid.UUID, body: Mapping[str, Any]
) -> ScheduledReport:
    actor.require(PERMISSION)
    report = await get_report(uow.session, report_id)
    fields = _fields(body)
    await _check_name(uow.session, fields["name"], report.id)
    moved = (fields["weekday"], fields["hour"], fields["timezone"]) != (
        report.weekday,
        report.hour,
        report.timezone,
    )
    for name, value in fields.items():
        setattr(report, name, value)
    now = utcnow()
    if moved:
        _skip_current_week(report, now)
    report.updated_at = now
    await uow.commit()
    return report


async def delete_report(uow: UnitOfWork, actor: Actor, report_id: uuid.UUID) -> None:
    actor.require(PERMISSION)
    await uow.session.delete(await get_report(uow.session, report_id))
    await uow.commit()


# --- content -----------------------------------------------------------------------------------------


@dataclass
class ReportData:
    title: str
    start: datetime  # local
    end: datetime  # local, exclusive
    numbers: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    daily: dict[str, list[Point]] = field(default_factory=dict)


async def collect(
    session: AsyncSession, actor: Actor, name: str, dims: dict[str, list[str]], start: datetime, end: datetime
) -> ReportData:
    """The week's key numbers (and the week before's), and the daily series the charts draw."""
    data = ReportData(name, start, end)
    for metric in KEY_METRICS:
        values: list[float | None] = []
        for period_start in (start, start - WEEK):
            flt = exports.metric_filter(period_start, period_start + WEEK, dims)
            found = await metrics.series(session, actor, metric, flt, "day")
            points = [Point(p.bucket_start, p.value, p.count) for p in found]
            if period_start == start:
                data.daily[metric] = points
            values.append(aggregate(metric, points)[0])
        data.numbers[metric] = (values[0], values[1])
    return data


def change_text(metric: str, current: float | None, previous: float | None) -> str:
    if current is None or previous is None:
        return "—"
    if metric in ("sla_compliance", "reopen_rate", "fcr_rate"):
        return f"{(current - previous) * 100:+.1f} pt"
    if previous == 0:
        return "—"
    return f"{(current - previous) / previous * 100:+.1f}%"


def text_body(data: ReportData) -> str:
    last_day = data.end - DAY
    lines = [f"{data.title}：{data.start:%Y-%m-%d} 至 {last_day:%Y-%m-%d}", ""]
    for metric, (current, previous) in data.numbers.items():
        lines.append(
            f"{METRIC_LABELS[metric]}：{format_value(metric, current)}"
            f"（上周 {format_value(metric, previous)}，{change_text(metric, current, previous)}）"
        )
    return "\n".join(lines)


def html_body(data: ReportData, chart_ids: Sequence[str]) -> str:
    rows = "".join(
        f"<tr><td>{escape(METRIC_LABELS[metric])}</td><td align='right'>{format_value(metric, current)}</td>"
        f"<td align='right'>{format_value(metric, previous)}</td>"
        f"<td align='right'>{change_text(metric, current, previous)}</td></tr>"
        for metric, (current, previous) in data.numbers.items()
    )
    charts = "".join(f'<p><img src="cid:{cid}" alt="chart" width="720"></p>' for cid in chart_ids)
    last_day = data.end - DAY
    return (
        f"<html><body><h2>{escape(data.title)}</h2>"
        f"<p>{data.start:%Y-%m-%d} 至 {last_day:%Y-%m-%d}</p>"
        "<table border='1' cellpadding='6' cellspacing='0'>"
        "<tr><th>指标</th><th>本周</th><th>上周</th><th>变化</th></tr>"
        f"{rows}</table>{charts}</body></html>"
    )


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed CJK font family, or None."""
    from matplotlib import font_manager

    for family in CJK_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return family
    return None


def render_charts(data: ReportData) -> list[bytes]:
    """Two PNG charts: daily volume (bars) with resolutions (line), and daily SLA compliance with the
    CSAT average. Uses matplotlib's object API with explicit font properties (no pyplot or rcParams
    state), so it is safe in worker threads."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = cjk_font()
    chinese = font is not None
    fp = FontProperties(family=[font, "DejaVu Sans"]) if font else FontProperties(family="DejaVu Sans")
    days = [p.bucket_start.astimezone(data.start.tzinfo).strftime("%m-%d") for p in data.daily["volume"]]

    def label(zh: str, en: str) -> str:
        return zh if chinese else en

    def png(figure: Figure) -> bytes:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    first = Figure(figsize=(8, 3.2), dpi=100, layout="tight")
    axes = first.add_subplot()
    axes.bar(
        days, [p.value or 0 for p in data.daily["volume"]], color="#409eff", label=label("工单量", "Created")
    )
    resolved = [p.value or 0 for p in data.daily["resolved"]]
    axes.plot(days, resolved, color="#67c23a", marker="o", label=label("解决量", "Resolved"))
    axes.set_title(label("每日工单量与解决量", "Tickets per day"), fontproperties=fp)
    axes.legend(loc="upper left", prop=fp)

    second = Figure(figsize=(8, 3.2), dpi=100, layout="tight")
    axes = second.add_subplot()
    sla = [p.value * 100 if p.value is not None else float("nan") for p in data.daily["sla_compliance"]]
    axes.plot(days, sla, color="#e6a23c", marker="o", label=label("SLA 达标率 %", "SLA met %"))
    axes.set_ylim(0, 105)
    twin = axes.twinx()
    csat = [p.value if p.value is not None else float("nan") for p in data.daily["csat_avg"]]
    twin.plot(days, csat, color="#f56c6c", marker="s", label=label("满意度", "CSAT"))
    twin.set_ylim(0, 5.2)
    axes.set_title(label("每日 SLA 达标率与满意度", "SLA and CSAT per day"), fontproperties=fp)
    handles, labels = axes.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    axes.legend(handles + more_handles, labels + more_labels, loc="lower left", prop=fp)
    return [png(first), png(second)]


# --- mail --------------------------------------------------------------------------------------------


class ReportEmail(SmtpEmail):
    """The SMTP notifier, with the charts inline in the HTML part (multipart/related)."""

    def __init__(
        self, config: dict[str, Any], charts: Sequence[tuple[str, bytes]], *, timeout: float
    ) -> None:
        super().__init__(config, timeout=timeout)
        self.charts = charts

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = super().compose(message)
        html = next(part for part in mail.iter_parts() if part.get_content_type() == "text/html")
        for cid, image in self.charts:
            html.add_related(image, "image", "png", cid=f"<{cid}>", filename=f"{cid}.png")
        return mail


async def email_channel_config(session: AsyncSession) -> dict[str, Any]:
    """The config and secrets of the tenant's first active e-mail channel."""
    for channel in await notification_queries.list_channels(session):
        if channel["kind"] == "email" and channel["is_active"]:
            row = await notification_queries.get_channel(session, channel["id"])
            return {**row.config, **row.secrets}
    raise DeliveryFailed("no active e-mail notification channel is configured", retryable=False)


@dataclass(frozen=True, slots=True)
class Sent:
    report_id: uuid.UUID
    period_start: datetime
    recipients: int
    error: str | None


def _send_all(
    config: dict[str, Any],
    data: ReportData,
    charts: list[bytes],
    recipients: Sequence[str],
    key: str,
    timeout: float,
) -> None:
    ids = [f"chart{i + 1}-{key[:8]}" for i in range(len(charts))]
    notifier = ReportEmail(config, list(zip(ids, charts, strict=True)), timeout=timeout)
    last_day = data.end - DAY
    subject = f"【汇流周报】{data.title} {data.start:%m-%d}–{last_day:%m-%d}"
    for address in recipients:
        notifier.send(
            OutgoingMessage(
                delivery_id=uuid.uuid5(_MESSAGE_NAMESPACE, f"{key}:{address}"),
                title=subject,
                text=text_body(data),
                html=html_body(data, ids),
                email=address,
            )
        )


def is_due(last_start: datetime | None, status: str | None, failures: int, start: datetime) -> bool:
    """Whether the week starting ``start`` still has to go out: a later week than the last one
    handled, or the same week after a failure with tries left. A report created or rescheduled during
    a week (status None for that week) starts with the next one."""
    if last_start is None or last_start != start:
        return True
    return status == "failed" and failures < MAX_FAILURES


async def send_report(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    report_id: uuid.UUID,
    now: datetime,
    *,
    force: bool = False,
) -> Sent | None:
    """Build and mail one report for its latest period; None when that period was sent already (or
    gave up after MAX_FAILURES) and ``force`` is false. Records the outcome on the report."""
    async with db.uow(tenant_id) as uow:
        report = await get_report(uow.session, report_id)
        _, start, end = period_for(report.weekday, report.hour, report.timezone, now)
        if not force and not (
            report.enabled and is_due(report.last_period_start, report.last_status, report.failures, start)
        ):
            return None
        error: str | None = None
        try:
            config = await email_channel_config(uow.session)
            data = await collect(
                uow.session, system_actor(tenant_id), report.name, report.filters, start, end
            )
            charts = await asyncio.to_thread(render_charts, data)
            key = f"{report.id}:{start.isoformat()}"
            await asyncio.to_thread(
                _send_all,
                config,
                data,
                charts,
                list(report.recipients),
                key,
                settings.webhook_timeout_seconds,
            )
        except DeliveryFailed as exc:
            error = exc.reason
        if report.last_period_start != start:
            report.failures = 0
        report.last_period_start = start
        report.last_status = "failed" if error else "sent"
        report.last_error = error
        report.failures = report.failures + 1 if error else 0
        if not error:
            report.last_sent_at = now
        await uow.commit()
        if error:
            log.warning("weekly report %s not sent: %s", report.id, error)
        return Sent(report.id, start, len(report.recipients), error)


async def send_due(db: Database, settings: Settings, now: datetime) -> list[Sent]:
    """Send every enabled report whose latest slot has passed and whose week is not sent yet."""
    async with db.read(None, system=True) as session:
        rows = (
            await session.execute(
                select(
                    ScheduledReport.tenant_id,
                    ScheduledReport.id,
                    ScheduledReport.weekday,
                    ScheduledReport.hour,
                    ScheduledReport.timezone,
                    ScheduledReport.last_period_start,
                    ScheduledReport.last_status,
                    ScheduledReport.failures,
                ).where(ScheduledReport.enabled.is_(True))
            )
        ).all()
    sent: list[Sent] = []
    for tenant_id, report_id, weekday, hour, timezone, last_start, status, failures in rows:
        _, start, _ = period_for(weekday, hour, timezone, now)
        if not is_due(last_start, status, failures, start):
            continue
        try:
            result = await send_report(db, settings, tenant_id, report_id, now)
        except Exception:
            log.exception("weekly report %s failed", report_id)
            continue
        if result is not None:
            sent.append(result)
    return sent

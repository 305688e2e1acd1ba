"""SLA routes. ``POST /api/v1/sla/preview`` answers "when is this due on that calendar?" so admins
can check a calendar before using it. It computes only: nothing is read or written."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter

from huiliu.auth.deps import ActorDep
from huiliu.core.errors import ValidationFailed
from huiliu.sla.domain import CN_CALENDAR_VERSION, CalendarError, compute_deadline
from huiliu.sla.schemas import PreviewIn, PreviewOut, PreviewWarning

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

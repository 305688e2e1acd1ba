"""Request and response models of the SLA API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from huiliu.sla.domain import (
    DEFAULT_TIMEZONE,
    MAX_PERIODS_PER_DAY,
    BusinessCalendar,
    load_timezone,
    parse_weekly_hours,
)

MAX_DATES = 2000
# Ten years of minutes: longer than any SLA target; the calendar walk is bounded anyway.
MAX_PREVIEW_MINUTES = 10 * 366 * 24 * 60

HoursOfDay = Annotated[list[tuple[str, str]], Field(max_length=MAX_PERIODS_PER_DAY)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CalendarIn(StrictModel):
    timezone: str = Field(
        default=DEFAULT_TIMEZONE, min_length=1, max_length=64, description="IANA time zone name"
    )
    hours: Annotated[dict[str, HoursOfDay], Field(max_length=7)] | None = Field(
        default=None,
        description='working periods per weekday (mon…sun) as ["HH:MM", "HH:MM"] pairs, "24:00" allowed as '
        "a closing time; a weekday left out is closed. Default: mon–fri 09:00–12:00 and 13:00–18:00",
        examples=[{"mon": [["09:00", "12:00"], ["13:00", "18:00"]]}],
    )
    holidays: list[date] = Field(default_factory=list, max_length=MAX_DATES, description="closed dates")
    workdays: list[date] = Field(
        default_factory=list,
        max_length=MAX_DATES,
        description="extra working dates; they follow the standard Monday–Friday hours",
    )
    cn_statutory: bool = Field(
        default=False,
        description="include China's statutory holidays and 调休 make-up working days (chinese-calendar)",
    )

    _calendar: BusinessCalendar | None = PrivateAttr(default=None)

    # Field checks first, so a bad time zone or bad hours point at their own field; CalendarError is a
    # ValueError, which pydantic reports as a validation error of that location.
    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        load_timezone(value)
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, HoursOfDay] | None) -> dict[str, HoursOfDay] | None:
        if value is not None:
            parse_weekly_hours(value)
        return value

    @model_validator(mode="after")
    def _build(self) -> CalendarIn:
        self._calendar = BusinessCalendar.from_spec(
            timezone=self.timezone,
            hours=self.hours,
            holidays=self.holidays,
            workdays=self.workdays,
            cn_statutory=self.cn_statutory,
        )
        return self

    @property
    def calendar(self) -> BusinessCalendar:
        assert self._calendar is not None  # set by the validator
        return self._calendar


class PreviewIn(StrictModel):
    calendar: CalendarIn = Field(default_factory=CalendarIn)
    start: AwareDatetime = Field(
        description="ISO 8601 with a UTC offset, e.g. 2026-09-30T17:00:00+08:00 (a time without an offset "
        "is rejected)"
    )
    minutes: int = Field(ge=0, le=MAX_PREVIEW_MINUTES, description="target in business minutes")


class PreviewWarning(BaseModel):
    code: Literal["cn_statutory_not_covered"]
    year: int
    message: str


class PreviewOut(BaseModel):
    due_at: datetime = Field(description="the deadline, ISO 8601 in UTC")
    due_at_local: datetime = Field(description="the same instant in the calendar's time zone")
    clock_starts_at: datetime = Field(description="when business time starts counting (UTC)")
    business_minutes: int
    timezone: str
    calendar_coverage: Literal["weekly", "cn_statutory", "partial"] = Field(
        description='"weekly": cn_statutory is off; "cn_statutory": China\'s statutory holidays applied to '
        'every year crossed; "partial": some years crossed have no statutory data yet and use the weekly '
        "hours, holidays and workdays only (listed in weekly_only_years)",
    )
    weekly_only_years: list[int]
    warnings: list[PreviewWarning]


# --- stored calendars and policies --------------------------------------------------------------------


class CalendarWrite(CalendarIn):
    """A stored business calendar: the preview's calendar shape with a name."""

    name: str = Field(min_length=1, max_length=100)
    is_default: bool = Field(default=False, description="policies without a calendar of their own use it")


class CalendarOut(BaseModel):
    id: UUID
    name: str
    timezone: str
    hours: dict[str, list[list[str]]]
    holidays: list[date]
    workdays: list[date]
    cn_statutory: bool
    is_default: bool
    preset_key: str | None
    created_at: datetime
    updated_at: datetime


class CalendarList(BaseModel):
    items: list[CalendarOut]


class MonthDay(BaseModel):
    date: date
    weekday: str
    kind: Literal["workday", "weekend", "holiday", "makeup_workday"]
    source: str = Field(
        description="why: working, closed, holiday (this calendar's), extra_workday (this calendar's), "
        "statutory_holiday or adjusted_workday (China's, chinese-calendar)"
    )
    periods: list[list[str]]
    name: str | None = Field(default=None, description="the statutory holiday's name, when known")
    weekly_only: bool = Field(description="cn_statutory was asked for but the year has no data yet")


class MonthOut(BaseModel):
    calendar_id: UUID
    month: str
    timezone: str
    days: list[MonthDay]


class PolicyWrite(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool = True
    calendar_id: UUID | None = Field(default=None, description="None: the tenant's default calendar")
    conditions: list[Any] = Field(
        default_factory=list,
        description='all must hold: [{"field": "priority|customer_level|category|channel", '
        '"op": "is|is_not|in|not_in", "value": "…" or ["…"]}]',
    )
    targets: dict[str, Any] = Field(
        description='business minutes per priority and metric: {"urgent": {"first_response": 30, '
        '"next_response": 60, "resolution": 240}, …}; a metric left out is not tracked',
    )
    tiers: list[Any] = Field(
        default_factory=list,
        description='[{"percent": 75, "actions": [<automation action>, …]}, …]; 100 % is the breach',
    )


class PolicyOut(BaseModel):
    id: UUID
    name: str
    description: str
    position: int
    active: bool
    calendar_id: UUID | None
    conditions: list[dict[str, Any]]
    targets: dict[str, dict[str, int]]
    tiers: list[dict[str, Any]]
    preset_key: str | None
    created_at: datetime
    updated_at: datetime


class PolicyList(BaseModel):
    items: list[PolicyOut]


class ReorderIn(StrictModel):
    ids: list[UUID] = Field(max_length=1000)


class PresetsOut(BaseModel):
    installed: list[str]
    calendar_id: UUID
    policy_id: UUID


class MetricOut(BaseModel):
    metric: Literal["first_response", "next_response", "resolution"]
    target_minutes: int
    used_minutes: float
    percent_used: float
    due_at: datetime | None
    active: bool = Field(description="the cycle is open: a response or the resolution is owed")
    running: bool
    breached: bool
    breached_at: datetime | None
    stopped_at: datetime | None
    fired: list[int] = Field(description="tier percents acted on in this cycle")


class TicketSlaOut(BaseModel):
    ticket_id: UUID
    policy_id: UUID | None
    policy_name: str
    priority: str
    paused: bool
    now: datetime
    next_due_at: datetime | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_met: bool | None
    first_response_minutes: float | None
    resolution_met: bool | None
    resolution_minutes: float | None
    next_response_breaches: int
    metrics: list[MetricOut]


class BreachingItem(BaseModel):
    ticket_id: UUID
    number: int
    title: str
    status: str
    priority: str
    team_id: UUID | None
    assignee_id: UUID | None
    policy_name: str
    metric: str | None
    due_at: datetime
    overdue: bool
    minutes_left: float


class BreachingList(BaseModel):
    now: datetime
    until: datetime
    items: list[BreachingItem]

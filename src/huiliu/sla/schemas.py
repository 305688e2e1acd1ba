"""Request and response models of the SLA API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

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

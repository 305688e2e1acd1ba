"""Response models of the analytics views (docs/analytics.md describes every field)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class Period(BaseModel):
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime


class Card(BaseModel):
    value: float | None
    previous: float | None
    change: float | None


class SummaryOut(BaseModel):
    period: Period
    cards: dict[str, Card]
    aging: dict[str, int]
    csat_distribution: dict[str, int]
    as_of: datetime | None


class Point(BaseModel):
    bucket_start: datetime
    value: float | None
    count: int


class SeriesOut(BaseModel):
    metric: str
    granularity: str
    points: list[Point]


class HeatmapOut(BaseModel):
    """``cells[weekday][hour]``: tickets created, weekday 0 = Monday, Asia/Shanghai hours."""

    cells: list[list[int]]
    max: int


class RegionRow(BaseModel):
    region: str
    province: str
    volume: int
    first_response_median: float | None
    sla_compliance: float | None
    csat_avg: float | None


class RegionsOut(BaseModel):
    items: list[RegionRow]


class FunnelStage(BaseModel):
    stage: str
    count: int
    drop_off: float | None
    median_minutes: float | None


class FunnelOut(BaseModel):
    stages: list[FunnelStage]


class AgentRow(BaseModel):
    agent_id: uuid.UUID
    name: str
    handled: int
    resolved: int
    handle_minutes_median: float | None
    sla_compliance: float | None
    csat_avg: float | None
    transfers: int
    open_now: int


class LeaderboardOut(BaseModel):
    items: list[AgentRow]


class Keyword(BaseModel):
    term: str
    count: int


class ProblemRow(BaseModel):
    category: str | None
    count: int
    previous: int
    change: float | None
    reopen_rate: float | None
    keywords: list[Keyword]


class ProblemsOut(BaseModel):
    items: list[ProblemRow]


class BreakdownRow(BaseModel):
    key: str | None
    label: str | None
    volume: int
    resolved: int
    first_response_median: float | None
    sla_compliance: float | None
    csat_avg: float | None


class BreakdownOut(BaseModel):
    by: str
    items: list[BreakdownRow]


class DrillTicket(BaseModel):
    id: uuid.UUID
    number: int
    title: str
    status: str
    priority: str
    category: str | None
    channel: str
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    created_at: datetime
    first_response_minutes: float | None
    resolution_minutes: float | None
    csat: int | None


class DrillOut(BaseModel):
    total: int
    items: list[DrillTicket]


class PersonalOut(BaseModel):
    """An agent's own numbers: the summary and daily volume/resolved over the period."""

    summary: SummaryOut
    volume: list[Point]
    resolved: list[Point]

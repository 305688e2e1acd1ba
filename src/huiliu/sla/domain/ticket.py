"""One ticket's SLA state as a value: a clock per tracked metric (first response, next response,
resolution), whether the ticket's status pauses them, and which tier thresholds each metric has
crossed in its current cycle. Every change is a pure function returning a new state; the reactor
and the timer handler store the result (``to_json`` / ``from_json``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from huiliu.sla.domain.calendar import BusinessCalendar, add_business_time
from huiliu.sla.domain.clock import (
    SlaClock,
    change_target,
    due_at,
    elapsed_at,
    pause_clock,
    resume_clock,
)
from huiliu.sla.domain.policy import BREACH_PERCENT, METRICS

FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION = METRICS


@dataclass(frozen=True, slots=True)
class MetricState:
    """One metric's clock. ``active``: the cycle is open (a response or resolution is owed);
    ``fired``: thresholds (percents) already acted on in this cycle; ``breached_at``: when this
    cycle's target was used up, once the sweep or a stop saw it; ``stopped_at``: when the cycle
    closed (the response was given, the ticket resolved)."""

    clock: SlaClock
    active: bool = True
    fired: tuple[int, ...] = ()
    breached_at: datetime | None = None
    stopped_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.active and self.clock.running


@dataclass(frozen=True, slots=True)
class TicketSlaState:
    paused: bool
    metrics: Mapping[str, MetricState]

    def metric(self, name: str) -> MetricState | None:
        return self.metrics.get(name)

    def with_metric(self, name: str, metric: MetricState) -> TicketSlaState:
        return replace(self, metrics={**self.metrics, name: metric})


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold a metric's used time reached: ``percent`` of the target, at ``at``."""

    metric: str
    percent: int
    at: datetime

    @property
    def breach(self) -> bool:
        return self.percent >= BREACH_PERCENT


def _new_clock(target: int, at: datetime, *, paused: bool) -> SlaClock:
    return SlaClock(target, timedelta(0), None if paused else at)


def start_state(targets: Mapping[str, int], at: datetime, *, paused: bool = False) -> TicketSlaState:
    """A new ticket's state: first response and resolution start at ``at`` (the next response starts
    with a customer message after the first response)."""
    metrics = {
        name: MetricState(_new_clock(targets[name], at, paused=paused))
        for name in (FIRST_RESPONSE, RESOLUTION)
        if name in targets
    }
    return TicketSlaState(paused, metrics)


def pause(calendar: BusinessCalendar, state: TicketSlaState, at: datetime) -> TicketSlaState:
    """The ticket entered a pausing status (pending, on hold): every open clock stops counting."""
    metrics = {
        name: replace(metric, clock=pause_clock(calendar, metric.clock, at)) if metric.active else metric
        for name, metric in state.metrics.items()
    }
    return TicketSlaState(True, metrics)


def resume(state: TicketSlaState, at: datetime) -> TicketSlaState:
    """The ticket left a pausing status: every open clock counts again from ``at``."""
    metrics = {
        name: replace(metric, clock=resume_clock(metric.clock, at)) if metric.active else metric
        for name, metric in state.metrics.items()
    }
    return TicketSlaState(False, metrics)


def stop(calendar: BusinessCalendar, state: TicketSlaState, name: str, at: datetime) -> TicketSlaState:
    """Close ``name``'s cycle at ``at`` (the response was given, the ticket was resolved). The
    breach instant is kept when the target was used up before."""
    metric = state.metric(name)
    if metric is None or not metric.active:
        return state
    clock = pause_clock(calendar, metric.clock, at)
    breached_at = metric.breached_at
    if breached_at is None and clock.elapsed >= clock.target:
        breached_at = due_at(calendar, clock) or at
    return state.with_metric(
        name, replace(metric, clock=clock, active=False, stopped_at=at, breached_at=breached_at)
    )


def restart(state: TicketSlaState, name: str, target: int, at: datetime) -> TicketSlaState:
    """Open a new cycle of ``name`` from zero at ``at`` (a customer message owes a next response)."""
    return state.with_metric(name, MetricState(_new_clock(target, at, paused=state.paused)))


def reopen(state: TicketSlaState, name: str, at: datetime) -> TicketSlaState:
    """Open ``name``'s cycle again (a reopened ticket owes its resolution): the time used before counts."""
    metric = state.metric(name)
    if metric is None or metric.active:
        return state
    clock = metric.clock if state.paused else resume_clock(metric.clock, at)
    return state.with_metric(name, replace(metric, clock=clock, active=True, stopped_at=None))


def _fired_still_reached(metric: MetricState, elapsed: timedelta) -> tuple[int, ...]:
    target = metric.clock.target
    return tuple(p for p in metric.fired if elapsed * 100 >= target * p)


def retarget(
    calendar: BusinessCalendar,
    state: TicketSlaState,
    targets: Mapping[str, int],
    at: datetime,
    *,
    start_missing: Iterable[str] = (),
) -> TicketSlaState:
    """New targets from ``at`` on (priority or policy changed): business time already used counts
    against the new targets. Thresholds no longer reached under the new target fire again later;
    a metric without a target is dropped; ``start_missing`` names metrics to start at ``at`` when the
    old targets had none for them."""
    metrics: dict[str, MetricState] = {}
    for name, metric in state.metrics.items():
        if name not in targets:
            continue
        if metric.clock.target_minutes == targets[name] or not metric.active:
            metrics[name] = (
                metric
                if metric.active
                else replace(metric, clock=replace(metric.clock, target_minutes=targets[name]))
            )
            continue
        clock = change_target(calendar, metric.clock, targets[name], at)
        if not state.paused and metric.clock.running and not clock.running:
            clock = resume_clock(clock, at)
        elapsed = elapsed_at(calendar, clock, at)
        changed = replace(metric, clock=clock)
        fired = _fired_still_reached(changed, elapsed)
        breached_at = metric.breached_at if BREACH_PERCENT in fired else None
        metrics[name] = replace(changed, fired=fired, breached_at=breached_at)
    for name in start_missing:
        if name in targets and name not in metrics:
            metrics[name] = MetricState(_new_clock(targets[name], at, paused=state.paused))
    return TicketSlaState(state.paused, metrics)


def _threshold(metric: MetricState, percent: int) -> timedelta:
    return metric.clock.target * percent / 100


def threshold_instant(calendar: BusinessCalendar, metric: MetricState, percent: int) -> datetime | None:
    """When a running metric's used time reaches ``percent`` of its target: the instant itself, or
    when the clock last started if it was reached before (it is due at once). None when paused."""
    clock = metric.clock
    if not metric.running or clock.running_since is None:
        return None
    amount = _threshold(metric, percent)
    if amount <= clock.elapsed:
        return clock.running_since.astimezone(UTC)
    return add_business_time(calendar, clock.running_since, amount - clock.elapsed).astimezone(UTC)


def next_check(
    calendar: BusinessCalendar, state: TicketSlaState, thresholds: Iterable[int]
) -> datetime | None:
    """The earliest instant a running metric reaches a threshold it has not fired in this cycle: when
    the sweep should look at the ticket next. None when nothing is running."""
    instants = [
        instant
        for metric in state.metrics.values()
        if metric.running
        for percent in thresholds
        if percent not in metric.fired
        if (instant := threshold_instant(calendar, metric, percent)) is not None
    ]
    return min(instants, default=None)


def crossings(
    calendar: BusinessCalendar, state: TicketSlaState, thresholds: Iterable[int], now: datetime
) -> list[Crossing]:
    """Thresholds open metrics have reached by ``now`` and not fired yet, in the order they were reached."""
    found: list[Crossing] = []
    ordered = sorted(set(thresholds))
    for name in METRICS:
        metric = state.metric(name)
        if metric is None or not metric.active:
            continue
        elapsed = elapsed_at(calendar, metric.clock, now)
        for percent in ordered:
            if percent in metric.fired or elapsed < _threshold(metric, percent):
                continue
            at = threshold_instant(calendar, metric, percent) or metric.clock.breached_at or now
            found.append(Crossing(name, percent, min(at, now)))
    return sorted(found, key=lambda crossing: (crossing.at, crossing.percent))


def mark_fired(state: TicketSlaState, crossing: Crossing) -> TicketSlaState:
    metric = state.metrics[crossing.metric]
    fired = tuple(sorted({*metric.fired, crossing.percent}))
    breached_at = metric.breached_at
    if crossing.breach and breached_at is None:
        breached_at = crossing.at
    return state.with_metric(crossing.metric, replace(metric, fired=fired, breached_at=breached_at))


def metric_due_at(calendar: BusinessCalendar, metric: MetricState) -> datetime | None:
    """The metric's deadline while its cycle is open (None once closed, or while paused and not late)."""
    if not metric.active:
        return None
    if metric.breached_at is not None:
        return metric.breached_at.astimezone(UTC)
    return due_at(calendar, metric.clock)


def used_minutes(calendar: BusinessCalendar, metric: MetricState, now: datetime) -> float:
    return elapsed_at(calendar, metric.clock, now).total_seconds() / 60


def percent_used(calendar: BusinessCalendar, metric: MetricState, now: datetime) -> float:
    return elapsed_at(calendar, metric.clock, now) / metric.clock.target * 100


# --- stored form -------------------------------------------------------------------------------------


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_instant(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def to_json(state: TicketSlaState) -> dict[str, Any]:
    return {
        name: {
            "target_minutes": metric.clock.target_minutes,
            "elapsed_us": metric.clock.elapsed // timedelta(microseconds=1),
            "running_since": _instant(metric.clock.running_since),
            "clock_breached_at": _instant(metric.clock.breached_at),
            "active": metric.active,
            "fired": list(metric.fired),
            "breached_at": _instant(metric.breached_at),
            "stopped_at": _instant(metric.stopped_at),
        }
        for name, metric in state.metrics.items()
    }


def from_json(data: Mapping[str, Any], *, paused: bool) -> TicketSlaState:
    metrics = {}
    for name, item in data.items():
        clock = SlaClock(
            int(item["target_minutes"]),
            timedelta(microseconds=int(item["elapsed_us"])),
            _parse_instant(item.get("running_since")),
            _parse_instant(item.get("clock_breached_at")),
        )
        metrics[name] = MetricState(
            clock,
            bool(item.get("active", True)),
            tuple(int(p) for p in item.get("fired", ())),
            _parse_instant(item.get("breached_at")),
            _parse_instant(item.get("stopped_at")),
        )
    return TicketSlaState(paused, metrics)

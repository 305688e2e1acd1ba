"""Alert rules on metrics, pure: parse a rule's condition, evaluate it on a metric series, decide
whether a breach opens a new incident (and is told) or continues one, and word the message.

Three kinds of condition:

- ``threshold``: the metric over the last ``window_hours`` complete hours compared with a value
  (``gt``/``ge``/``lt``/``le``);
- ``consecutive_days_below``: the metric was below (or, with ``direction: above``, above) a standard
  on each of the last ``days`` complete days in Asia/Shanghai — the brief's 连续三天低于标准值;
- ``spike``: the last complete hour against the same hour of the week in the past ``weeks`` weeks,
  as a robust z-score 0.6745·(x − median) / MAD (Iglewicz and Hoaglin); a Sunday-evening peak that
  comes every week is in its own baseline and does not fire, one that is new does.

An incident is a run of evaluations that breach. It is told once, when it opens; it closes at the
first evaluation that does not breach. A new incident within ``cooldown_hours`` of the last one told
is recorded but not told again."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from huiliu.analytics.erlang import ErlangError, agents_needed

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

METRICS: tuple[str, ...] = (
    "volume",
    "resolved",
    "backlog",
    "first_response_median",
    "first_response_p90",
    "resolution_median",
    "resolution_p90",
    "sla_compliance",
    "csat_avg",
    "reopen_rate",
    "fcr_rate",
)
# Summed over buckets; ``backlog`` is a level (the last bucket counts); the rest are averages of the
# buckets weighted by the tickets behind each (exact for rates and means, an approximation for medians
# and percentiles).
ADDITIVE = frozenset({"volume", "resolved"})
LEVELS = frozenset({"backlog"})

METRIC_LABELS: dict[str, str] = {
    "volume": "工单量",
    "resolved": "解决量",
    "backlog": "积压工单",
    "first_response_median": "首次响应时长中位数（分钟）",
    "first_response_p90": "首次响应时长 P90（分钟）",
    "resolution_median": "解决时长中位数（分钟）",
    "resolution_p90": "解决时长 P90（分钟）",
    "sla_compliance": "SLA 达标率",
    "csat_avg": "满意度均分",
    "reopen_rate": "重开率",
    "fcr_rate": "首次解决率",
}
RATES = frozenset({"sla_compliance", "reopen_rate", "fcr_rate"})

# What a lead can do about each metric going wrong (the message's plain-language suggestion).
ADVICE: dict[str, str] = {
    "volume": "请关注来单原因，必要时增派客服或发布公告说明",
    "resolved": "请检查处理中工单是否受阻，必要时调配人手",
    "backlog": "请优先清理积压工单，必要时临时增派客服",
    "first_response_median": "请检查排班与派单策略，优先响应待受理工单",
    "first_response_p90": "请检查排班与派单策略，优先响应待受理工单",
    "resolution_median": "请复盘耗时较长的工单，必要时升级处理",
    "resolution_p90": "请复盘耗时较长的工单，必要时升级处理",
    "sla_compliance": "请检查即将超时的工单与排班，优先处理临近时限的工单",
    "csat_avg": "请抽查低分工单并回访客户，复盘服务话术",
    "reopen_rate": "请抽查被重开的工单，确认问题是否真正解决",
    "fcr_rate": "请复盘需多次处理的工单，补充知识库与快捷回复",
}
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# How a filter value reads in a message (the console's labels); other values are shown as they are.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "channels": {
        "api": "API", "web": "网页表单", "webform": "网页表单", "email": "邮件", "wechat": "微信",
        "wechat_mp": "公众号", "wecom_app": "企业微信", "wecom_kf": "微信客服", "miniprogram": "小程序",
        "mini_program": "小程序", "h5_form": "H5 表单", "douyin": "抖音", "phone": "电话",
        "webhook": "Webhook",
    },
    "scenarios": {"presales": "售前", "sales": "售中", "aftersales": "售后", "complaint": "投诉"},
    "priorities": {"urgent": "紧急", "high": "高优先级", "normal": "普通优先级", "low": "低优先级"},
}  # fmt: skip


def value_label(dimension: str, value: str) -> str:
    return VALUE_LABELS.get(dimension, {}).get(value, value)


OPERATORS: dict[str, str] = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
MAX_WINDOW_HOURS = 24 * 31
MAX_DAYS = 31
MAX_WEEKS = 12
DEFAULT_Z = 3.5
# A spike needs at least this much above the baseline to matter: a quiet hour going from 0 to 2 is
# not an incident, whatever its z-score.
DEFAULT_MIN_VALUE = 5.0
DEFAULT_HANDLE_SECONDS = 600.0
DEFAULT_SERVICE_LEVEL = 0.8
DEFAULT_TARGET_SECONDS = 120.0
MAD_SCALE = 0.6745


class AlertRuleError(ValueError):
    """A rule definition that cannot be evaluated."""


@dataclass(frozen=True, slots=True)
class Point:
    bucket_start: datetime  # UTC
    value: float | None
    count: int


@dataclass(frozen=True, slots=True)
class Threshold:
    op: str
    value: float
    window_hours: int = 1
    kind: Literal["threshold"] = "threshold"


@dataclass(frozen=True, slots=True)
class ConsecutiveDays:
    standard: float
    days: int = 3
    direction: Literal["below", "above"] = "below"
    kind: Literal["consecutive_days_below"] = "consecutive_days_below"


@dataclass(frozen=True, slots=True)
class Spike:
    z: float = DEFAULT_Z
    weeks: int = 4
    min_value: float = DEFAULT_MIN_VALUE
    direction: Literal["up", "down", "both"] = "up"
    handle_seconds: float = DEFAULT_HANDLE_SECONDS
    kind: Literal["spike"] = "spike"


Condition = Threshold | ConsecutiveDays | Spike


def _number(spec: Mapping[str, Any], key: str, default: float | None, low: float, high: float) -> float:
    value = spec.get(key, default)
    if value is None:
        raise AlertRuleError(f"condition.{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AlertRuleError(f"condition.{key} must be a number")
    if not low <= value <= high:
        raise AlertRuleError(f"condition.{key} must be from {low:g} to {high:g}")
    return float(value)


def _whole(spec: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AlertRuleError(f"condition.{key} must be a whole number")
    if not low <= value <= high:
        raise AlertRuleError(f"condition.{key} must be from {low} to {high}")
    return value


def _choice(spec: Mapping[str, Any], key: str, default: str, allowed: Sequence[str]) -> str:
    value = spec.get(key, default)
    if value not in allowed:
        raise AlertRuleError(f"condition.{key} must be one of {', '.join(allowed)}")
    return str(value)


_FIELDS: dict[str, frozenset[str]] = {
    "threshold": frozenset({"kind", "op", "value", "window_hours"}),
    "consecutive_days_below": frozenset({"kind", "standard", "days", "direction"}),
    "spike": frozenset({"kind", "z", "weeks", "min_value", "direction", "handle_seconds"}),
}


def parse_condition(spec: object) -> Condition:
    """A condition from its JSON, checked; ``AlertRuleError`` names the first problem."""
    if not isinstance(spec, Mapping):
        raise AlertRuleError("condition must be an object with a kind")
    kind = spec.get("kind")
    if kind not in _FIELDS:
        raise AlertRuleError(f"condition.kind must be one of {', '.join(_FIELDS)}")
    unknown = sorted(set(spec) - _FIELDS[kind])
    if unknown:
        raise AlertRuleError(f"unknown condition field {unknown[0]!r}")
    if kind == "threshold":
        op = _choice(spec, "op", "", tuple(OPERATORS))
        value = _number(spec, "value", None, -1e12, 1e12)
        return Threshold(op, value, _whole(spec, "window_hours", 1, 1, MAX_WINDOW_HOURS))
    if kind == "consecutive_days_below":
        standard = _number(spec, "standard", None, -1e12, 1e12)
        direction = _choice(spec, "direction", "below", ("below", "above"))
        return ConsecutiveDays(standard, _whole(spec, "days", 3, 1, MAX_DAYS), direction)  # type: ignore[arg-type]
    return Spike(
        z=_number(spec, "z", DEFAULT_Z, 1.0, 50.0),
        weeks=_whole(spec, "weeks", 4, 2, MAX_WEEKS),
        min_value=_number(spec, "min_value", DEFAULT_MIN_VALUE, 0.0, 1e12),
        direction=_choice(spec, "direction", "up", ("up", "down", "both")),  # type: ignore[arg-type]
        handle_seconds=_number(spec, "handle_seconds", DEFAULT_HANDLE_SECONDS, 1.0, 86_400.0),
    )


def condition_spec(condition: Condition) -> dict[str, Any]:
    """The normalised JSON of a condition (every default written out)."""
    if isinstance(condition, Threshold):
        return {"kind": condition.kind, "op": condition.op, "value": condition.value,
                "window_hours": condition.window_hours}  # fmt: skip
    if isinstance(condition, ConsecutiveDays):
        return {"kind": condition.kind, "standard": condition.standard, "days": condition.days,
                "direction": condition.direction}  # fmt: skip
    return {"kind": condition.kind, "z": condition.z, "weeks": condition.weeks,
            "min_value": condition.min_value, "direction": condition.direction,
            "handle_seconds": condition.handle_seconds}  # fmt: skip


# --- time ----------------------------------------------------------------------------------------------


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_day_start(moment: datetime) -> datetime:
    """UTC instant of the Asia/Shanghai midnight that starts ``moment``'s local day."""
    local = moment.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def evaluation_bucket(condition: Condition, now: datetime) -> datetime:
    """The last complete bucket at ``now``: the hour before the current one, or for a days rule the
    local day before today. A rule is evaluated once per bucket."""
    if isinstance(condition, ConsecutiveDays):
        return local_day_start(now) - DAY
    return floor_hour(now) - HOUR


def series_range(condition: Condition, bucket: datetime) -> tuple[datetime, datetime]:
    """The hourly series [start, end) an evaluation at ``bucket`` needs."""
    if isinstance(condition, Threshold):
        return bucket + HOUR - condition.window_hours * HOUR, bucket + HOUR
    if isinstance(condition, ConsecutiveDays):
        # Days are local and 24 h long (Asia/Shanghai has no daylight saving time).
        return bucket - (condition.days - 1) * DAY, bucket + DAY
    return bucket - condition.weeks * WEEK, bucket + HOUR


# --- aggregation and evaluation ----------------------------------------------------------------------


def aggregate(metric: str, points: Sequence[Point]) -> tuple[float | None, int]:
    """One value for several buckets of ``metric`` (see ADDITIVE and LEVELS) and the tickets behind
    it. None when no bucket has a value."""
    if metric in ADDITIVE:
        return float(sum(p.value or 0.0 for p in points)), sum(p.count for p in points)
    valued = [p for p in points if p.value is not None]
    if not valued:
        return None, 0
    if metric in LEVELS:
        last = max(valued, key=lambda p: p.bucket_start)
        return last.value, last.count
    weight = sum(p.count for p in valued)
    if weight == 0:
        return statistics.fmean(p.value for p in valued if p.value is not None), 0
    return sum((p.value or 0.0) * p.count for p in valued) / weight, weight


@dataclass(frozen=True, slots=True)
class Breach:
    """The condition holds at ``bucket_start``: the value seen, the baseline or standard it was
    compared with, and facts for the message (``details``)."""

    bucket_start: datetime
    value: float
    baseline: float | None
    details: dict[str, Any] = field(default_factory=dict)


def _compare(op: str, value: float, limit: float) -> bool:
    return {
        "gt": value > limit,
        "ge": value >= limit,
        "lt": value < limit,
        "le": value <= limit,
    }[op]


def evaluate(metric: str, condition: Condition, bucket: datetime, points: Sequence[Point]) -> Breach | None:
    """Whether ``condition`` holds at ``bucket`` on the hourly ``points`` of ``series_range``."""
    if isinstance(condition, Threshold):
        return _threshold(metric, condition, bucket, points)
    if isinstance(condition, ConsecutiveDays):
        return _consecutive_days(metric, condition, bucket, points)
    return _spike(metric, condition, bucket, points)


def _threshold(metric: str, condition: Threshold, bucket: datetime, points: Sequence[Point]) -> Breach | None:
    start, end = series_range(condition, bucket)
    value, count = aggregate(metric, [p for p in points if start <= p.bucket_start < end])
    if value is None or not _compare(condition.op, value, condition.value):
        return None
    return Breach(bucket, value, condition.value, {"count": count, "window_hours": condition.window_hours})


def daily_values(metric: str, points: Sequence[Point], first_day: datetime, days: int) -> list[float | None]:
    """The metric per local day for ``days`` days from ``first_day`` (a local midnight in UTC)."""
    by_day: list[list[Point]] = [[] for _ in range(days)]
    for point in points:
        index = (point.bucket_start - first_day) // DAY
        if 0 <= index < days:
            by_day[index].append(point)
    return [aggregate(metric, day)[0] for day in by_day]


def _consecutive_days(
    metric: str, condition: ConsecutiveDays, bucket: datetime, points: Sequence[Point]
) -> Breach | None:
    first = bucket - (condition.days - 1) * DAY
    values = daily_values(metric, points, first, condition.days)
    beyond = [
        value is not None
        and (value < condition.standard if condition.direction == "below" else value > condition.standard)
        for value in values
    ]
    if not all(beyond):
        return None
    last = values[-1]
    assert last is not None
    return Breach(
        bucket,
        last,
        condition.standard,
        {"days": condition.days, "daily": values, "first_day": first.isoformat()},
    )


def robust_z(value: float, baseline: Sequence[float], floor: float = 1.0) -> tuple[float, float, float]:
    """(z, median, MAD) of ``value`` against ``baseline``. The MAD is floored at ``floor`` (and at a
    tenth of the median) so a baseline that never varied does not turn every change into infinity."""
    median = statistics.median(baseline)
    mad = statistics.median(abs(v - median) for v in baseline)
    spread = max(mad, floor, abs(median) * 0.1)
    return MAD_SCALE * (value - median) / spread, median, mad


def _hour_value(metric: str, point: Point | None) -> float | None:
    """An hour's value; an hour without tickets counts 0 for a count and has no value otherwise."""
    if point is not None and point.value is not None:
        return float(point.value)
    return 0.0 if metric in ADDITIVE else None


def _spike(metric: str, condition: Spike, bucket: datetime, points: Sequence[Point]) -> Breach | None:
    by_hour = {p.bucket_start: p for p in points}
    value = _hour_value(metric, by_hour.get(bucket))
    if value is None:
        return None
    baseline = []
    for age in range(1, condition.weeks + 1):
        past_value = _hour_value(metric, by_hour.get(bucket - age * WEEK))
        if past_value is not None:
            baseline.append(past_value)
    if len(baseline) < 2:
        return None
    z, median, mad = robust_z(value, baseline)
    rising = z >= condition.z and value - median >= condition.min_value
    falling = z <= -condition.z and median - value >= condition.min_value
    held = {"up": rising, "down": falling, "both": rising or falling}[condition.direction]
    if not held:
        return None
    return Breach(bucket, value, median, {"z": round(z, 2), "mad": mad, "weeks": len(baseline)})


# --- incidents ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleState:
    incident_open: bool
    last_fired_at: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    fire: bool
    incident_open: bool
    reason: str


def decide(state: RuleState, breach: Breach | None, now: datetime, cooldown_hours: int) -> Decision:
    """Tell a breach once per incident, and not again within the cooldown after the last one told."""
    if breach is None:
        return Decision(False, False, "ok" if not state.incident_open else "incident closed")
    if state.incident_open:
        return Decision(False, True, "incident continues")
    if state.last_fired_at is not None and now - state.last_fired_at < cooldown_hours * HOUR:
        return Decision(False, True, "cooling down")
    return Decision(True, True, "fired")


# --- wording -----------------------------------------------------------------------------------------


def extra_agents(
    value_per_hour: float,
    baseline_per_hour: float,
    handle_seconds: float,
    *,
    service_level: float = DEFAULT_SERVICE_LEVEL,
    target_seconds: float = DEFAULT_TARGET_SECONDS,
) -> int:
    """How many more agents the spike's arrival rate needs than the usual rate (Erlang C)."""
    try:
        needed = agents_needed(
            max(value_per_hour, 0.0), handle_seconds, target_service_level=service_level,
            target_seconds=target_seconds,
        ).agents  # fmt: skip
        usual = agents_needed(
            max(baseline_per_hour, 0.0), handle_seconds, target_service_level=service_level,
            target_seconds=target_seconds,
        ).agents  # fmt: skip
    except ErlangError:
        return 0
    return max(needed - usual, 0)


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in RATES:
        return f"{value * 100:.1f}%"
    if metric in ADDITIVE or metric in LEVELS:
        return f"{value:.0f}"
    return f"{value:.1f}"


def hour_label(bucket: datetime) -> str:
    local = bucket.astimezone(SHANGHAI)
    return f"{WEEKDAY_LABELS[local.weekday()]} {local:%m-%d %H:00}–{(local + HOUR):%H:00}"


def describe(
    metric: str, condition: Condition, breach: Breach, scope_label: str, *, extra: int | None = None
) -> tuple[str, str]:
    """(message, suggestion) in zh-CN for a breach."""
    label = METRIC_LABELS.get(metric, metric)
    prefix = f"【{scope_label}】" if scope_label else ""
    shown = format_value(metric, breach.value)
    if isinstance(condition, Spike):
        move = "激增" if breach.baseline is None or breach.value >= breach.baseline else "骤降"
        message = (
            f"{prefix}{label}在{hour_label(breach.bucket_start)}{move}：{shown}"
            f"（往常同时段约 {format_value(metric, breach.baseline)}）"
        )
    elif isinstance(condition, ConsecutiveDays):
        word = "低于" if condition.direction == "below" else "高于"
        daily = "、".join(format_value(metric, v) for v in breach.details.get("daily", []))
        message = (
            f"{prefix}{label}已连续 {condition.days} 天{word}标准值 "
            f"{format_value(metric, condition.standard)}（逐日：{daily}）"
        )
    else:
        window = f"最近 {condition.window_hours} 小时" if condition.window_hours > 1 else "最近 1 小时"
        message = (
            f"{prefix}{label}{window}为 {shown}，{OPERATORS[condition.op]} "
            f"阈值 {format_value(metric, condition.value)}"
        )
    suggestion = ADVICE.get(metric, "请及时查看看板并处理")
    if extra:
        suggestion = f"建议增派 {extra} 名客服；{suggestion}"
    return message, suggestion

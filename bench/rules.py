"""Rule evaluation: 200 active rules of mixed shapes over 10,000 synthetic tickets (the work the
intake transaction and the timer sweep do per ticket).

    python -m bench.rules --rules 200 --tickets 10000
    python -m bench rules --rules 200 --tickets 10000     (appends to docs/benchmarks.md)

Pure CPU, no database. Every rule runs on ``ticket.created`` and ``ticket.updated``, so each ticket
is tested against all of them (the worst case: a real tenant's rules are spread over events and
the engine only looks at the event's own). Shapes, drawn with a fixed seed: keyword lists on the
title or description (Chinese, as the refund preset), enum and reference tests (status, priority,
channel, customer level), number thresholds and classifier confidence, tag and custom-field tests
nested in all/any/not, RE2 patterns on the description, and ``changed_to`` tests. Timed per
ticket with ``perf_counter_ns`` around ``evaluate`` (which includes turning the facts into the
working map); building ``TicketFacts`` is the caller's and is not timed.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from bench.results import Report
from huiliu.automation.domain import (
    EvaluationResult,
    RuleSet,
    TicketFacts,
    TriggeringEvent,
    compile_rules,
    dry_run,
    evaluate,
)

TARGET_US = 1000  # the budget: rule evaluation <= 1 ms per ticket with 200 active rules
NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)

KEYWORDS = [
    "退款", "退货", "退钱", "发票", "物流", "快递", "破损", "少件", "安装", "维修", "不制冷", "漏水",
    "噪音", "保修", "投诉", "差评", "催单", "换货", "会员", "积分", "优惠券", "价格", "发货", "地址",
    "refund", "invoice", "VIP", "直播", "卡顿", "课程", "续费", "密码", "登录", "账号",
]  # fmt: skip
PHRASES = [
    "我上周买的空调不制冷，能不能派师傅上门看看",
    "快递显示已签收但我没收到，麻烦查一下物流",
    "申请退货退款，商品有破损，订单号 {order}",
    "请帮忙开具增值税专用发票，抬头是某某科技有限公司",
    "直播课程卡顿严重，要求退费",
    "会员积分没有到账，优惠券也用不了",
    "设备 SN{sn} 报警 E{code}，现场需要维修",
    "想咨询一下这款产品的价格和保修政策",
    "已经催了三次了还没发货，再不处理就投诉",
    "登录不了账号，密码重置邮件收不到",
    "Refund request for order {order}, item arrived damaged",
    "安装师傅迟到两个小时，服务态度差",
]
CHANNELS = ["wechat_mp", "wecom_app", "wecom_kf", "webform", "email", "api", "douyin"]
LEVELS = ["normal", "silver", "gold", "vip", "svip"]
TEAMS = ["pre_sales", "after_sales", "install", "logistics", "finance", "it"]
LABELS = ["退款", "物流", "维修", "发票", "咨询", "投诉"]
TAGS = ["vip", "华南", "华东", "大客户", "复购", "新客", "加急", "重复来电"]
REGIONS = ["华南", "华东", "华北", "西南", "东北"]
STATUSES = ["new", "open", "pending", "on_hold"]
PRIORITIES = ["low", "normal", "high", "urgent"]
PATTERNS = [r"订单号?\s*[:：]?\s*\d{8,}", r"SN\d{6,}", r"E\d{2,3}\b", r"(?i)\brefund\b", r"1[3-9]\d{9}"]


def _leaf(rng: random.Random) -> dict[str, Any]:
    shape = rng.randrange(10)
    if shape == 0:
        return {"field": "status", "op": "in", "value": rng.sample(STATUSES, 2)}
    if shape == 1:
        return {"field": "priority", "op": rng.choice(["gte", "eq", "lt"]), "value": rng.choice(PRIORITIES)}
    if shape == 2:
        return {"field": "channel", "op": "in", "value": rng.sample(CHANNELS, 3)}
    if shape == 3:
        return {"field": "customer.level", "op": rng.choice(["eq", "ne"]), "value": rng.choice(LEVELS)}
    if shape == 4:
        return {"field": "tags", "op": rng.choice(["contains", "not_contains"]), "value": rng.sample(TAGS, 2)}
    if shape == 5:
        return {"field": "reopen_count", "op": "gte", "value": rng.randint(1, 3)}
    if shape == 6:
        return {"field": "fields.amount", "op": "gt", "value": rng.choice([500, 1000, 5000])}
    if shape == 7:
        return {"field": "fields.region", "op": "in", "value": rng.sample(REGIONS, 2)}
    if shape == 8:
        return {"field": "classification.confidence", "op": "gte", "value": rng.choice([0.6, 0.8, 0.9])}
    if rng.random() < 0.5:
        return {"field": "team", "op": "is_not_set"}
    return {"field": "team", "op": "eq", "value": rng.choice(TEAMS)}


def _keywords(rng: random.Random) -> dict[str, Any]:
    words = rng.sample(KEYWORDS, rng.randint(2, 4))
    return {"any": [{"field": f, "op": "contains", "value": words} for f in ("title", "description")]}


def _conditions(rng: random.Random, index: int) -> dict[str, Any]:
    """Like a real rule set: each rule has a selective part (keywords, a classifier label, a pattern,
    a change, a customer segment) and a broader part."""
    shape = index % 7
    if shape in (0, 1):  # the refund preset's shape, narrowed by two more tests
        return {"all": [_keywords(rng), _leaf(rng), _leaf(rng)]}
    if shape == 2:
        return {
            "all": [
                {"field": "classification.label", "op": "eq", "value": rng.choice(LABELS)},
                {"field": "classification.confidence", "op": "gte", "value": rng.choice([0.8, 0.9])},
                {"not": {"field": "status", "op": "eq", "value": "on_hold"}},
            ]
        }
    if shape == 3:
        return {"all": [{"field": "description", "op": "regex", "value": rng.choice(PATTERNS)}, _leaf(rng)]}
    if shape == 4:
        return {"all": [{"field": "priority", "op": "changed_to", "value": "urgent"}, _leaf(rng)]}
    if shape == 5:
        return {
            "all": [
                {"field": "channel", "op": "in", "value": rng.sample(CHANNELS, 2)},
                {"field": "customer.level", "op": "eq", "value": rng.choice(LEVELS)},
                {"field": "priority", "op": "gte", "value": "high"},
            ]
        }
    return {
        "all": [
            {"field": "customer.level", "op": "in", "value": ["vip", "svip"]},
            {"any": [{"field": "tags", "op": "contains", "value": rng.sample(TAGS, 2)}, _leaf(rng)]},
            {"not": _leaf(rng)},
            _keywords(rng),
        ]
    }


def _actions(rng: random.Random, index: int) -> list[dict[str, Any]]:
    choices: list[Callable[[], dict[str, Any]]] = [
        lambda: {"type": "add_tag", "tag": f"rule-{index}"},
        lambda: {"type": "set_field", "field": "category", "value": rng.choice(LABELS)},
        lambda: {"type": "assign", "team": rng.choice(TEAMS)},
        lambda: {"type": "notify", "roles": ["lead"], "message": "#{{ticket.number}} {{ticket.title}}"},
        lambda: {"type": "add_internal_note", "body": "规则 {{rule.name}} 命中 #{{ticket.number}}"},
    ]
    actions = [rng.choice(choices)() for _ in range(rng.randint(1, 3))]
    if index % 20 == 0:
        actions.append({"type": "escalate", "to_team_lead": False})
    return actions


def make_rules(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "id": f"bench-{index:04d}",
            "name": f"基准规则 {index}",
            "kind": "trigger",
            "on": ["ticket.created", "ticket.updated"],
            "position": rng.randrange(1000),
            "conditions": _conditions(rng, index),
            "actions": _actions(rng, index),
        }
        for index in range(count)
    ]


def make_tickets(count: int, seed: int) -> list[TicketFacts]:
    rng = random.Random(seed + 1)
    tickets = []
    for number in range(1, count + 1):
        phrase = rng.choice(PHRASES).format(
            order=rng.randrange(10**9, 10**10), sn=rng.randrange(10**6, 10**7), code=rng.randrange(10, 99)
        )
        description = "。".join(rng.choice(PHRASES) for _ in range(rng.randint(0, 2)))
        tickets.append(
            TicketFacts(
                id=f"t-{number}",
                number=number,
                title=phrase[: rng.randint(8, 30)],
                description=phrase + "。" + description,
                status=rng.choice(STATUSES),
                priority=rng.choice(PRIORITIES),
                category=rng.choice([None, *LABELS]),
                channel=rng.choice(CHANNELS),
                team=rng.choice([None, *TEAMS]),
                assignee=rng.choice([None, "u-1", "u-2"]),
                tags=rng.sample(TAGS, rng.randint(0, 3)),
                fields={"amount": rng.randrange(0, 10_000), "region": rng.choice(REGIONS)},
                customer_level=rng.choice(LEVELS),
                customer_attributes={"city": "广州"},
                classification_label=rng.choice(LABELS),
                classification_confidence=round(rng.random(), 2),
                reopen_count=rng.choice([0, 0, 0, 1, 2, 3]),
                now=NOW,
                created_at=NOW - timedelta(hours=rng.randrange(0, 72)),
            )
        )
    return tickets


@dataclass
class Timings:
    wall_us: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    firings: int = 0
    passes: int = 0


def _timed(
    run: Callable[[RuleSet, TicketFacts, Any], EvaluationResult],
    rules: RuleSet,
    tickets: list[TicketFacts],
    event: Any,
) -> Timings:
    """Wall time and this thread's CPU time per ticket: on a shared machine the CPU time shows the
    engine's own cost when other processes take the core away mid-call. Results are counted and
    dropped, as a caller would after applying them."""
    timings = Timings()
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    for facts in tickets:
        began_wall, began_cpu = wall(), cpu()
        result = run(rules, facts, event)
        timings.cpu_us.append((cpu() - began_cpu) / 1000)
        timings.wall_us.append((wall() - began_wall) / 1000)
        timings.firings += len(result.firings)
        timings.passes += result.passes
    return timings


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(name: str, timings: Timings) -> list[str]:
    wall, cpu = sorted(timings.wall_us), sorted(timings.cpu_us)
    total_s = sum(wall) / 1e6
    firings = timings.firings / len(wall)
    passes = timings.passes / len(wall)
    return [
        name,
        str(len(wall)),
        f"{statistics.median(wall):.0f}",
        f"{_pct(wall, 0.99):.0f}",
        f"{wall[-1]:.0f}",
        f"{statistics.median(cpu):.0f}",
        f"{_pct(cpu, 0.99):.0f}",
        f"{len(wall) / total_s:,.0f}",
        f"{firings:.1f}",
        f"{passes:.2f}",
    ]


def run_rules(
    rule_count: int = 200, ticket_count: int = 10_000, seed: int = 7, console: Console | None = None
) -> Report:
    console = console or Console()
    definitions = make_rules(rule_count, seed)
    began = time.perf_counter()
    rules = compile_rules(definitions)
    compile_ms = (time.perf_counter() - began) * 1000
    tickets = make_tickets(ticket_count, seed)
    console.print(f"Rule evaluation: {rule_count} active rules, {ticket_count} tickets")
    updated_event = TriggeringEvent("ticket.updated", previous={"priority": "high", "status": "new"})
    # The rules and tickets live for the whole run, as compiled rules do in a worker: keep them out
    # of the collector's generations so its passes measure the engine's garbage, not our fixtures.
    gc.collect()
    gc.freeze()
    try:
        _timed(evaluate, rules, tickets[: min(200, ticket_count)], "ticket.created")  # warm up
        created = _timed(evaluate, rules, tickets, "ticket.created")
        updated = _timed(evaluate, rules, tickets, updated_event)
        dry = _timed(dry_run, rules, tickets[: min(ticket_count, 1000)], "ticket.created")
    finally:
        gc.unfreeze()
    wall_p99 = _pct(sorted(created.wall_us), 0.99)
    cpu_p99 = _pct(sorted(created.cpu_us), 0.99)
    shapes = "keyword lists, enum/reference tests, thresholds, nested all/any/not, RE2 patterns, changed_to"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    verdict = "met" if wall_p99 <= TARGET_US else ("met on CPU time" if cpu_p99 <= TARGET_US else "NOT met")
    return Report(
        title=f"Rule evaluation, {rule_count} active rules × {ticket_count} synthetic tickets (pure CPU)",
        columns=[
            "pass",
            "tickets",
            "p50 µs",
            "p99 µs",
            "max µs",
            "CPU p50 µs",
            "CPU p99 µs",
            "tickets/s",
            "firings/ticket",
            "passes",
        ],
        rows=[
            _row("evaluate, ticket.created", created),
            _row("evaluate, ticket.updated (2 previous values)", updated),
            _row("dry_run (every rule explained)", dry),
        ],
        notes=[
            f"every rule runs on both events, so each ticket is tested against all {rule_count}; "
            f"shapes: {shapes}",
            f"compiling the {rule_count} rules takes {compile_ms:.1f} ms (once per tenant and rule change)",
            f"target p99 ≤ {TARGET_US} µs per ticket on ticket.created: {verdict} "
            f"(wall p99 {wall_p99:.0f} µs, CPU p99 {cpu_p99:.0f} µs)",
            f"load average when done: {load} on {os.cpu_count()} cores; seed {seed}",
            "timed per ticket with perf_counter_ns and thread_time_ns in one process (fixtures frozen out "
            "of the garbage collector); no database",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    console = Console()
    run_rules(args.rules, args.tickets, args.seed, console).print(console)
    return 0


if __name__ == "__main__":
    sys.exit(main())

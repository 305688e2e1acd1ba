"""SLA deadline math: ``add_business_minutes`` over random starts and targets on the Asia/Shanghai
calendar with China's statutory holidays (the work the timer sweep does per ticket).

    python -m bench.sla --calls 10000
    python -m bench sla --calls 10000        (appends to docs/benchmarks.md)

Pure CPU, no database. Two passes: ``cold`` times each call on a fresh calendar object (the month
cache is built as calls reach new months), ``warm`` repeats the same calls on the filled cache,
which is the steady state of a long-running worker that keeps one calendar per stored calendar."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from rich.console import Console

from bench.results import Report
from huiliu.sla.domain import BusinessCalendar, add_business_minutes, business_minutes_between

# Targets an SLA policy typically has: 15 min first response up to two working weeks resolution.
TARGETS = (15, 30, 60, 120, 240, 480, 960, 1440, 2400, 4800)
# Starts are spread over 2026 (covered by chinese-calendar) and run into 2027 (weekly fallback).
SPAN_START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)


def _cases(calls: int, seed: int) -> list[tuple[datetime, int]]:
    rng = random.Random(seed)
    span_seconds = int(SPAN.total_seconds())
    return [
        (SPAN_START + timedelta(seconds=rng.randrange(span_seconds)), rng.choice(TARGETS))
        for _ in range(calls)
    ]


def _timed(calendar: BusinessCalendar, cases: list[tuple[datetime, int]]) -> list[float]:
    durations = []
    clock = time.perf_counter_ns
    for start, minutes in cases:
        began = clock()
        add_business_minutes(calendar, start, minutes)
        durations.append((clock() - began) / 1000)
    return durations


def _timed_between(calendar: BusinessCalendar, cases: list[tuple[datetime, int]]) -> list[float]:
    durations = []
    clock = time.perf_counter_ns
    for start, minutes in cases:
        end = start + timedelta(minutes=minutes * 3)
        began = clock()
        business_minutes_between(calendar, start, end)
        durations.append((clock() - began) / 1000)
    return durations


def _row(name: str, durations: list[float]) -> list[str]:
    ordered = sorted(durations)
    total_s = sum(ordered) / 1e6

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return [
        name,
        str(len(ordered)),
        f"{statistics.median(ordered):.1f}",
        f"{pct(0.99):.1f}",
        f"{ordered[-1]:.0f}",
        f"{len(ordered) / total_s:,.0f}",
        f"{total_s * 1000:.1f}",
    ]


def run_sla(calls: int = 10_000, seed: int = 7, console: Console | None = None) -> Report:
    console = console or Console()
    cases = _cases(calls, seed)
    calendar = BusinessCalendar(cn_statutory=True)
    console.print(f"SLA deadline math: {calls} calls of add_business_minutes, cn_statutory calendar")
    cold = _timed(calendar, cases)
    warm = _timed(calendar, cases)
    between = _timed_between(calendar, cases)
    fresh = BusinessCalendar(cn_statutory=True)
    began = time.perf_counter()
    fresh._month((2026, 10))
    month_build_ms = (time.perf_counter() - began) * 1000
    return Report(
        title=f"SLA add_business_minutes, Asia/Shanghai + cn_statutory, {calls} random starts in 2026",
        columns=["pass", "calls", "p50 µs", "p99 µs", "max µs", "calls/s", "total ms"],
        rows=[
            _row("cold (builds month cache)", cold),
            _row("warm (steady state)", warm),
            _row("business_minutes_between, warm", between),
        ],
        notes=[
            f"targets drawn from {', '.join(map(str, TARGETS))} business minutes; seed {seed}",
            f"building one month of the cache (2026-10) takes {month_build_ms:.2f} ms",
            "timed per call with perf_counter_ns in one process; no database",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sla", description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    console = Console()
    run_sla(args.calls, args.seed, console).print(console)
    return 0


if __name__ == "__main__":
    sys.exit(main())

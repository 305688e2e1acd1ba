"""The routing benchmark runs end to end on a small roster (no timing asserted)."""

from __future__ import annotations

from bench.routing import run_routing, scenarios
from rich.console import Console


def test_routing_benchmark_reports_every_scenario() -> None:
    report = run_routing(agents=40, tickets=60, console=Console(quiet=True))
    assert [row[0] for row in report.rows] == [s.name for s in scenarios()]
    assert all(row[1] == "60" for row in report.rows)
    assert {"p99 µs", "CPU p99 µs", "decisions/s"} <= set(report.columns)


def test_the_benchmark_cli_accepts_routing() -> None:
    from bench.__main__ import parser

    args = parser().parse_args(["routing", "--agents", "10", "--tickets", "5", "--only", "skills"])
    assert (args.command, args.agents, args.tickets, args.only) == ("routing", 10, 5, "skills")

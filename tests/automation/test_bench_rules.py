"""The rule benchmark runs end to end on a few tickets (no timing asserted)."""

from __future__ import annotations

from bench.rules import make_rules, run_rules
from rich.console import Console

from huiliu.automation.domain import compile_rules


def test_rules_benchmark_reports_percentiles() -> None:
    report = run_rules(rule_count=40, ticket_count=30, console=Console(quiet=True))
    assert report.rows[0][0] == "evaluate, ticket.created"
    assert [row[1] for row in report.rows] == ["30", "30", "30"]
    assert "p99 µs" in report.columns and "CPU p99 µs" in report.columns


def test_benchmark_rules_are_valid_definitions() -> None:
    assert len(compile_rules(make_rules(200, seed=3))) == 200

"""The SLA benchmark runs end to end on a few calls (no timing asserted)."""

from __future__ import annotations

from bench.sla import run_sla
from rich.console import Console


def test_sla_benchmark_reports_percentiles() -> None:
    report = run_sla(calls=50, console=Console(quiet=True))
    assert [row[0] for row in report.rows][:2] == ["cold (builds month cache)", "warm (steady state)"]
    assert all(row[1] == "50" for row in report.rows)
    assert "p99 µs" in report.columns

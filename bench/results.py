"""Results: printed as a table and appended as markdown to docs/benchmarks.md with the exact
command, the date and the machine."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.harness import REPO_DIR, LoadResult

RESULTS_FILE = REPO_DIR / "docs" / "benchmarks.md"
RESULTS_MARKER = "## Results log"
LOAD_COLUMNS = (
    "requests",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "errors",
    "API cores",
    "DB cores",
    "wrk cores",
    "other cores",
)


def load_cells(result: LoadResult) -> list[str]:
    errors = str(result.errors)
    if result.error_detail:
        errors += " (" + ", ".join(f"{k} {v}" for k, v in sorted(result.error_detail.items())) + ")"
    db = f"{result.cores('db'):.2f}" if "db" in result.cpu_seconds else "–"
    return [
        str(result.requests),
        f"{result.rps:,.0f}",
        f"{result.p50_ms:.1f}",
        f"{result.p95_ms:.1f}",
        f"{result.p99_ms:.1f}",
        f"{result.max_ms:.1f}",
        errors,
        f"{result.cores('api'):.2f}",
        db,
        f"{result.cores('client'):.2f}",
        f"{result.cores('other'):.2f}",
    ]


@dataclass
class Report:
    """One section of results: a title, column names, rows and notes."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def print(self, console: Console | None = None) -> None:
        console = console or Console()
        table = Table(title=self.title)
        for column in self.columns:
            table.add_column(column, justify="right" if column not in {"db", "scenario"} else "left")
        for row in self.rows:
            table.add_row(*row)
        console.print(table)
        for note in self.notes:
            console.print(f"  {note}")

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.columns)} |", f"|{'|'.join('---' for _ in self.columns)}|"]
        lines += [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in self.rows]
        lines += [""] + [f"- {note}" for note in self.notes] if self.notes else []
        return "\n".join(lines)


def command_line() -> str:
    return "python -m bench " + shlex.join(sys.argv[1:])


def append_results(
    reports: list[Report], machine: str, *, path: Path = RESULTS_FILE, command: str | None = None
) -> Path:
    """Append a dated section with the command, the machine and every report's table."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"### {now} — `{command or command_line()}`", "", f"Machine: {machine}", ""]
    for report in reports:
        parts += [f"**{report.title}**", "", report.markdown(), ""]
    section = "\n".join(parts)
    existing = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{RESULTS_MARKER}\n"
    if RESULTS_MARKER not in existing:
        existing = existing.rstrip("\n") + f"\n\n{RESULTS_MARKER}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(existing.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n", encoding="utf-8")
    return path

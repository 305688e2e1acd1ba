"""Ticket template checks: parsing a stored field schema and checking one form's values against it
(the pure work ``create_ticket`` adds for a request with ``template_id``, before any database call).

    python -m bench.templates --calls 5000
    python -m bench.templates --calls 5000 --append     (appends to docs/benchmarks.md)

Pure CPU, one process, no database. Each of the eight industry presets is parsed ``calls`` times
(``load_schema``: the service parses a version's JSON on every use) and a filled-in, valid form is
checked ``calls`` times (``validate_values``); the cake preset is also checked with a form that
fails on four fields (errors are built in two languages)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from bench.harness import machine_description
from bench.results import Report, append_results
from huiliu.ticket_templates.domain import load_schema, validate_values
from huiliu.ticket_templates.presets import PRESETS

UUID = "0195f0c8-8a4e-7c2b-9d55-0b7f5d0c9a11"
SAMPLE_BY_TYPE: dict[str, Any] = {
    "text": "示例文本",
    "textarea": "多行说明\n第二行",
    "number": 12,
    "money": "199.90",
    "date": "2026-12-24",
    "datetime": "2026-12-24T18:30:00+08:00",
    "phone": "138 0013 8000",
    "email": "li.lei@example.com",
    "image": [UUID, UUID.replace("1", "2")],
    "file": [UUID],
    "signature": UUID,
    "location": {"lat": 31.23, "lng": 121.47, "address": "上海市黄浦区人民广场"},
    "customer_ref": UUID,
    "order_ref": "SO-2026-000123",
}
OVERRIDES: dict[str, Any] = {
    "id_number": "11010519491231002X",
    "plate_number": "沪A12345",
    "serial_number": "SN-1234",
}


def _valid_values(fields: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        kind = field["type"]
        if field["key"] in OVERRIDES:
            values[field["key"]] = OVERRIDES[field["key"]]
        elif kind in {"select", "multi_select", "cascade"}:
            path, level = [], field["options"]
            while level:
                path.append(level[0]["value"])
                level = level[0].get("children") or []
            values[field["key"]] = path[0] if kind == "select" else path
        else:
            values[field["key"]] = SAMPLE_BY_TYPE[kind]
    return values


def _times_us(calls: int, work: Callable[[], object]) -> list[float]:
    durations = []
    for _ in range(calls):
        began = time.perf_counter_ns()
        work()
        durations.append((time.perf_counter_ns() - began) / 1000)
    return durations


def _row(name: str, fields: int, durations: list[float]) -> list[str]:
    ordered = sorted(durations)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return [name, str(fields), f"{statistics.median(ordered):.1f}", f"{p99:.1f}", f"{ordered[-1]:.0f}"]


def run_templates(calls: int, console: Console) -> Report:
    rows: list[list[str]] = []
    for key, preset in PRESETS.items():
        fields = preset["fields"]
        schema = load_schema(fields)
        values = _valid_values(fields)
        checked = validate_values(schema, values, channel=None, role=None)
        if not checked.ok:
            raise SystemExit(f"{key}: the sample form does not pass: {checked.errors}")
        console.print(f"{key}: {len(fields)} fields")
        rows.append(
            _row(f"{key} load_schema", len(fields), _times_us(calls, lambda f=fields: load_schema(f)))
        )
        rows.append(
            _row(
                f"{key} validate_values (valid)",
                len(fields),
                _times_us(
                    calls, lambda s=schema, v=values: validate_values(s, v, channel="h5_form", role=None)
                ),
            )
        )
    cake = PRESETS["custom_cake_order"]["fields"]
    cake_schema = load_schema(cake)
    wrong = {"cake_size": "20inch", "delivery_slot": "morning", "deposit": "1.005", "contact_phone": "123"}
    failing = validate_values(cake_schema, wrong, channel=None, role=None)
    rows.append(
        _row(
            f"custom_cake_order validate_values ({len(failing.errors)} errors)",
            len(cake),
            _times_us(calls, lambda: validate_values(cake_schema, wrong, channel=None, role=None)),
        )
    )
    return Report(
        title=f"Ticket template checks, {calls} calls per row",
        columns=["work", "fields", "p50 µs", "p99 µs", "max µs"],
        rows=rows,
        notes=[
            "timed per call with perf_counter_ns in one process; no database; Python 3.11",
            "load average at the end of the run: {:.1f} / {:.1f} / {:.1f} (1 / 5 / 15 min) — the p99 and max "
            "columns include the time other processes held the cores".format(*os.getloadavg()),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.templates", description=__doc__)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args(argv)
    console = Console()
    report = run_templates(args.calls, console)
    report.print(console)
    if args.append:
        append_results(
            [report], machine_description(), command=f"python -m bench.templates --calls {args.calls}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

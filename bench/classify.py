"""Ticket classification + entity extraction per message, model load time and resident memory.

    python -m bench.classify --messages 2000
    python -m bench classify --messages 2000      (appends to docs/benchmarks.md)

The model is trained once from the project's dataset into a temporary file; a fresh child process
pinned to one core (and to one BLAS/OpenMP thread) then imports the API application, loads the model
file (timed), and classifies + extracts entities for each message one at a time (timed per message,
``service.classify``: what ``POST /api/v1/classify`` does besides HTTP). The messages are the
dataset's own texts, cycled, so lengths and registers are the real mix. Resident memory (VmRSS) is
read after the run: an API worker's footprint with the model loaded.

Goals (issue 9): classification + extraction p99 ≤ 5 ms per message on one core; model load ≤ 2 s;
API worker RSS ≤ 300 MB with the model loaded."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.results import Report

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(model_path: Path, messages: int) -> dict[str, float]:
    """Runs in the pinned child process; returns the measurements."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import huiliu.app  # noqa: F401 - the API worker's imports count towards its memory
    from huiliu.intelligence import service
    from huiliu.intelligence.dataset import load_dataset
    from huiliu.intelligence.store import read_serving

    rss_before = _rss_mb()
    began = time.perf_counter()
    # What an API worker loads: the serving file (compiled arrays, no scikit-learn; decision 0049).
    classifier = read_serving(model_path)
    load_s = time.perf_counter() - began
    if classifier is None:
        raise SystemExit("the model file could not be read")
    texts = [e.text for e in load_dataset()]
    service.classify(classifier, texts[0], 0.5)  # first call outside the timing (lazy numpy paths)
    durations = []
    cpu = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for i in range(messages):
        text = texts[i % len(texts)]
        start, cpu_start = clock(), cpu_clock()
        service.classify(classifier, text, 0.5)
        cpu.append((cpu_clock() - cpu_start) / 1e6)
        durations.append((clock() - start) / 1e6)
    durations.sort()
    cpu.sort()
    # Classification on a ticket (the reactor's work: predictions + top guesses, one feature pass).
    from huiliu.intelligence.triage import TenantClassification, classify_text

    config = TenantClassification(enabled=True)
    ticket_wall, ticket_cpu = [], []
    for i in range(messages):
        text = texts[i % len(texts)]
        start, cpu_start = clock(), cpu_clock()
        classify_text(classifier, text, config)
        ticket_cpu.append((cpu_clock() - cpu_start) / 1e6)
        ticket_wall.append((clock() - start) / 1e6)
    ticket_wall.sort()
    ticket_cpu.sort()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {
        "load_s": load_s,
        "p50_ms": pct(durations, 0.50),
        "p95_ms": pct(durations, 0.95),
        "p99_ms": pct(durations, 0.99),
        "max_ms": durations[-1],
        "cpu_p50_ms": pct(cpu, 0.50),
        "cpu_p99_ms": pct(cpu, 0.99),
        "ticket_p99_ms": pct(ticket_wall, 0.99),
        "ticket_cpu_p99_ms": pct(ticket_cpu, 0.99),
        "per_s": len(durations) / (sum(durations) / 1000),
        "rss_mb": _rss_mb(),
        "rss_before_model_mb": rss_before,
        "model_mb": model_path.stat().st_size / 1e6,
        "mean_chars": sum(len(texts[i % len(texts)]) for i in range(messages)) / messages,
    }


def run_classify(messages: int = 2000, console: Console | None = None) -> Report:
    from huiliu.intelligence.dataset import load_dataset
    from huiliu.intelligence.model import TicketClassifier
    from huiliu.intelligence.store import save

    console = console or Console()
    examples = load_dataset()
    with tempfile.TemporaryDirectory(prefix="huiliu-bench-classify-") as tmp:
        path = Path(tmp) / "classifier.joblib"
        began = time.perf_counter()
        save(TicketClassifier.train(examples), path)
        train_s = time.perf_counter() - began
        console.print(f"trained on {len(examples)} examples in {train_s:.1f} s; {messages} messages")
        env = {**os.environ, **dict.fromkeys(THREAD_ENV, "1")}
        completed = subprocess.run(
            [sys.executable, "-m", "bench.classify", "--child", str(path), "--messages", str(messages)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-2000:])
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    before = result["rss_before_model_mb"]
    return Report(
        title=f"Ticket classification + entity extraction, {messages} messages, one core",
        columns=[
            "messages",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "CPU p50 ms",
            "CPU p99 ms",
            "msg/s",
            "load s",
            "RSS MB",
        ],
        rows=[
            [
                str(messages),
                f"{result['p50_ms']:.2f}",
                f"{result['p95_ms']:.2f}",
                f"{result['p99_ms']:.2f}",
                f"{result['max_ms']:.2f}",
                f"{result['cpu_p50_ms']:.2f}",
                f"{result['cpu_p99_ms']:.2f}",
                f"{result['per_s']:,.0f}",
                f"{result['load_s']:.2f}",
                f"{result['rss_mb']:.0f}",
            ]
        ],
        notes=[
            f"messages: the dataset's {len(examples)} texts cycled (mean {result['mean_chars']:.0f} chars)",
            "per message: TF-IDF char 1–3-grams, four calibrated linear SVMs, entity extraction",
            f"model file {result['model_mb']:.1f} MB, trained in {train_s:.1f} s (not part of the load time)",
            f"RSS of the child (huiliu.app imported) {before:.0f} MB before the model, "
            f"{result['rss_mb']:.0f} MB after loading it and the run",
            "child process pinned to one core, OMP/OpenBLAS/MKL threads = 1; machine shared with other work",
            f"classification on a ticket (reactor: predictions + top-3 guesses, no extraction): "
            f"p99 {result['ticket_p99_ms']:.2f} ms wall, {result['ticket_cpu_p99_ms']:.2f} ms CPU",
            "p50–max: wall time per message; CPU: the thread's CPU time per message (without the time "
            "the core spent on other processes)",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classify", description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.messages)))
        return 0
    console = Console()
    run_classify(args.messages, console).print(console)
    return 0


if __name__ == "__main__":
    sys.exit(main())

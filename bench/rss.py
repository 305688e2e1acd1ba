"""Resident memory (VmRSS) of the API's worker processes: after start-up, with the classifier loaded
(``POST /api/v1/classify``) and after a knowledge-base search (the tokeniser's dictionary, rjieba).

    python -m bench.rss [--db sqlite|postgres] [--requests 6]

The model is trained once into a temporary file first (what ``huiliu train`` or the first start does),
so the workers only read it, as in production. ``uvicorn huiliu.app:create_app --factory --workers 2``
then runs on a throw-away database (bench.harness); each step sends ``--requests`` requests, enough
for both workers to take some, and reads every worker's VmRSS and VmHWM (peak) from /proc.

Goal (issue 9): API worker RSS ≤ 300 MB with the model loaded."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import api_server, machine_description, provision, temp_database

GOAL_MB = 300.0


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _train(path: Path) -> float:
    from huiliu.intelligence.store import ModelStore

    began = time.perf_counter()
    ModelStore(path).get()
    return time.perf_counter() - began


def measure(kind: str, requests: int) -> list[tuple[str, list[tuple[int, float, float]]]]:
    """Per step, every worker's (pid, RSS MB, peak RSS MB)."""
    steps: list[tuple[str, list[tuple[int, float, float]]]] = []
    with tempfile.TemporaryDirectory(prefix="huiliu-bench-rss-") as tmp:
        model = Path(tmp) / "classifier.joblib"
        print(f"training the model file: {_train(model):.1f} s")
        os.environ["BENCH_SERVER_HUILIU_CLASSIFIER_MODEL_PATH"] = str(model)
        with temp_database(kind) as url:
            tenant = provision(url, teams=1, agents_per_team=1)
            with api_server(url, workers=2, pool=(2, 0)) as server:
                token = server.login(tenant.admin_email)
                headers = {"Authorization": f"Bearer {token}"}

                def snapshot(step: str) -> None:
                    pids = server.worker_pids()
                    steps.append((step, [(p, status_mb(p, "VmRSS"), status_mb(p, "VmHWM")) for p in pids]))

                # Let start-up work settle (the KB tokeniser loads on a process's first KB request).
                time.sleep(8)
                snapshot("started, idle")
                with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
                    for _ in range(requests):
                        response = client.post(
                            "/api/v1/classify", json={"text": "亲，快递三天没动了，订单 20261130123456"}
                        )
                        response.raise_for_status()
                    snapshot("model loaded (classify)")
                    for _ in range(requests):
                        response = client.get("/api/v1/kb/articles", params={"q": "退货退款怎么操作"})
                        response.raise_for_status()
                    snapshot("+ KB search")
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--requests", type=int, default=6)
    args = parser.parse_args()
    print(machine_description())
    print(f"load average before: {os.getloadavg()}")
    steps = measure(args.db, args.requests)
    print("| step | worker RSS MB | worker peak (VmHWM) MB |")
    print("|---|---|---|")
    for step, workers in steps:
        rss = " / ".join(f"{r:.0f}" for _, r, _ in workers)
        peak = " / ".join(f"{h:.0f}" for _, _, h in workers)
        print(f"| {step} | {rss} | {peak} |")
    final = max(r for _, r, _ in steps[1][1])
    print(f"max worker RSS with the model loaded: {final:.0f} MB (goal ≤ {GOAL_MB:.0f} MB)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

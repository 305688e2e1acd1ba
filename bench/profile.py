"""Where the API workers spend their CPU during a run: py-spy samples each worker (``--nonblocking``,
so the workers are not paused) and the collapsed stacks are summed into a top list of functions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchError

PY_SPY_HINT = "py-spy is not installed: .venv/bin/pip install py-spy"
# Buckets a stack is charged to, first match from the leaf up wins; they answer "which layer costs".
LAYERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("argon2 / jwt", re.compile(r"argon2|jwt/")),
    ("json (orjson / json)", re.compile(r"orjson|/json/")),
    ("pydantic validation / serialisation", re.compile(r"pydantic")),
    ("DB driver (psycopg / sqlite)", re.compile(r"psycopg|aiosqlite|sqlite3")),
    ("SQLAlchemy", re.compile(r"sqlalchemy")),
    ("huiliu code", re.compile(r"/huiliu/")),
    ("FastAPI / Starlette", re.compile(r"fastapi|starlette")),
    ("uvicorn / httptools", re.compile(r"uvicorn|httptools")),
    ("asyncio / uvloop", re.compile(r"asyncio|uvloop")),
)


def require_py_spy() -> str:
    beside_python = Path(sys.executable).parent / "py-spy"
    found = str(beside_python) if beside_python.exists() else shutil.which("py-spy")
    if not found:
        raise BenchError(PY_SPY_HINT)
    return found


@dataclass
class Sampler:
    processes: list[subprocess.Popen[bytes]]
    outputs: list[Path]

    def wait(self, timeout: float) -> None:
        for process in self.processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def start_sampling(pids: list[int], seconds: int, out_dir: Path, label: str) -> Sampler:
    py_spy = require_py_spy()
    out_dir.mkdir(parents=True, exist_ok=True)
    processes, outputs = [], []
    for pid in pids:
        output = out_dir / f"{label}-{pid}.txt"
        command = [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        outputs.append(output)
    return Sampler(processes, outputs)


def _frames(stack: str) -> list[str]:
    return stack.split(";")


def summarize(outputs: list[Path], top: int = 25) -> str:
    """A text report: share of samples per layer (by leaf frame), top functions by self and by
    inclusive samples."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for output in outputs:
        if not output.exists():
            continue
        for line in output.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = _frames(stack)
            total += count
            self_counts[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
            layers[_layer(frames)] += count
    if total == 0:
        return "py-spy collected no samples (is ptrace allowed here?)"
    lines = [f"{total} samples", "", "By layer (the innermost recognised frame of each sample):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in layers.most_common()]
    lines += ["", f"Top {top} functions by self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in self_counts.most_common(top)]
    lines += ["", f"Top {top} functions by inclusive time (huiliu, sqlalchemy, pydantic, fastapi frames):"]
    interesting = [
        (f, n) for f, n in inclusive.most_common() if re.search(r"huiliu|sqlalchemy|pydantic|fastapi", f)
    ]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in interesting[:top]]
    return "\n".join(lines)


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in LAYERS:
            if pattern.search(frame):
                return name
    return "other (interpreter, stdlib)"

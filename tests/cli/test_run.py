"""``huiliu run`` (what ``make run`` starts): real API and worker processes, stopped together."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from huiliu.demo import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("huiliu.worker") is None
        or importlib.util.find_spec("huiliu.worker.runner") is None,
        reason="huiliu.worker.runner does not exist yet; `huiliu run` is only tested with the real worker",
    ),
]

START_TIMEOUT = 180.0  # bound for migrate + a small demo seed + start-up on a busy machine
STOP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (field 2) is in parentheses and may contain spaces: split after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One directory (database, files, queue) for both tests: the second finds the demo seeded."""
    return tmp_path_factory.mktemp("run")


def start(workdir: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUILIU_")}
    env.update(
        {
            "HUILIU_DATABASE_URL": f"sqlite:///{workdir / 'huiliu.db'}",
            "HUILIU_PORT": str(port),
            "HUILIU_HOST": "127.0.0.1",
            "HUILIU_FILES_DIR": str(workdir / "files"),
            "HUILIU_HUEY_SQLITE_PATH": str(workdir / "huey.db"),
            "HUILIU_DEMO_TICKETS": "30",
            "HUILIU_DEMO_CUSTOMERS": "20",
            "HUILIU_LOG_LEVEL": "warning",
        }
    )
    log = workdir / f"run-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "huiliu", "run"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


def wait_for_health(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"the API did not answer within {START_TIMEOUT:.0f} s:\n{log.read_text()}")


def test_run_serves_the_demo_and_stops_api_and_worker_on_ctrl_c(workdir):
    port = free_port()
    process, log = start(workdir, port)
    try:
        wait_for_health(process, f"http://127.0.0.1:{port}", log)
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["access_token"]
        children = children_of(process.pid)
        assert len(children) == 2
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=STOP_TIMEOUT) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert not any(alive(pid) for pid in children)
    output = log.read_text()
    assert f"http://127.0.0.1:{port}" in output and ADMIN_EMAIL in output
    assert "stopped the API and the worker" in output


def test_run_stops_the_api_and_fails_when_the_worker_dies(workdir):
    port = free_port()
    process, log = start(workdir, port)
    try:
        wait_for_health(process, f"http://127.0.0.1:{port}", log)
        children = children_of(process.pid)
        worker = next(
            pid
            for pid in children
            if b" worker" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        )
        os.kill(worker, signal.SIGKILL)
        assert process.wait(timeout=STOP_TIMEOUT) != 0
    finally:
        if process.poll() is None:
            process.kill()
    assert not any(alive(pid) for pid in children)
    assert "the worker process exited" in log.read_text()

"""A real Huiliu server for browser tests and screenshots: a fresh SQLite database, migrated, and
``uvicorn`` in a subprocess on a free port, serving the API and the built console."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from huiliu.db.migrate import upgrade
from huiliu.settings import Settings
from huiliu.webui import web_dirs

SECRET = "e2e-secret-key-that-is-long-enough-32b"
START_TIMEOUT = 120.0  # bounded; importing the app (scikit-learn, jieba) is slow on a busy machine
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]


@dataclass(frozen=True)
class Server:
    url: str
    settings: Settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(workdir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{workdir / 'huiliu-e2e.db'}",
        secret_key=SECRET,
        files_dir=workdir / "files",
        huey_sqlite_path=workdir / "huey.db",
        redis_url=None,
        outbound_allow_private_networks=True,  # local fake servers listen on 127.0.0.1
        _env_file=None,
    )  # type: ignore[call-arg]


def require_built_console(settings: Settings) -> None:
    if not (web_dirs(settings).console / "index.html").is_file():
        raise RuntimeError("the web console is not built: run `make web` first")


@contextmanager
def running_server(workdir: Path) -> Iterator[Server]:
    """Migrate a new database under ``workdir`` and serve it until the block ends."""
    settings = make_settings(workdir)
    require_built_console(settings)
    upgrade(settings.database_url)
    port = free_port()
    env = {
        **os.environ,
        "HUILIU_DATABASE_URL": settings.database_url,
        "HUILIU_SECRET_KEY": SECRET,
        "HUILIU_FILES_DIR": str(settings.files_dir),
        "HUILIU_HUEY_SQLITE_PATH": str(settings.huey_sqlite_path),
        "HUILIU_LOG_LEVEL": "warning",
        # The API process calls tenant-configured base URLs too (test connection, WeCom login): the
        # fake platforms listen on 127.0.0.1.
        "HUILIU_OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
    }
    env.pop("HUILIU_REDIS_URL", None)
    env.pop("HUILIU_WEB_DIST_DIR", None)
    command = [
        sys.executable, "-m", "uvicorn", "huiliu.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--timeout-graceful-shutdown", "2",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.1)
        yield Server(url=url, settings=settings)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

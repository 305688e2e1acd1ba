"""The crash test: the worker is killed with SIGKILL while a delivery is in flight, restarted, and
every event still reaches the receiver; the only repeats are of rows that were leased at the kill, and
they carry the same event id and body.

The worker runs as a real subprocess (``python -m huiliu.worker``) against its own database (a fresh
SQLite file, or a fresh PostgreSQL database when HUILIU_TEST_DATABASE_URL is set), so rows left by
other tests do not queue ahead of this test's rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from huiliu.core.events import TICKET_CREATED
from huiliu.core.outbox import KIND_EVENT, KIND_WEBHOOK, STATE_DELIVERED, STATE_PENDING, OutboxRow
from huiliu.db.migrate import upgrade
from huiliu.runtime import Runtime
from huiliu.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_member, make_tenant, make_ticket
from tests.webhooks.receiver import Receiver
from tests.worker.helpers import subscribe

pytestmark = pytest.mark.slow

TICKETS = 30
SECRET = "crash-test-shared-secret-01"
LEASE_SECONDS = 2
# Upper bounds on every wait; the test normally finishes in a fraction of them.
HOLD_WAIT_SECONDS = 30.0
DRAIN_WAIT_SECONDS = 45.0
STOP_WAIT_SECONDS = 20.0


@pytest.fixture
def own_database_url(tmp_path: Path) -> Iterator[str]:
    server_url = os.environ.get("HUILIU_TEST_DATABASE_URL")
    if not server_url:
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        upgrade(url)
        yield url
        return
    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"huiliu_crash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
async def own_runtime(own_database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        database_url=own_database_url,
        secret_key=TEST_SECRET,
        files_dir=tmp_path / "files",
        redis_url=None,
        _env_file=None,
    )  # type: ignore[call-arg]
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
def start_worker(own_database_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HUILIU_")}
    env.update(
        HUILIU_DATABASE_URL=own_database_url,
        HUILIU_SECRET_KEY=TEST_SECRET,
        HUILIU_HUEY_SQLITE_PATH=str(tmp_path / "huey.db"),
        HUILIU_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        HUILIU_OUTBOX_SWEEP_SECONDS="0.5",
        HUILIU_OUTBOX_POLL_SECONDS="0.2",
        HUILIU_OUTBOX_BACKOFF_BASE_SECONDS="0.5",
        HUILIU_WEBHOOK_TIMEOUT_SECONDS="1.5",
        HUILIU_WORKER_THREADS="2",
        HUILIU_OUTBOUND_ALLOW_PRIVATE_NETWORKS="true",  # the receiver listens on 127.0.0.1
        HUILIU_LOG_LEVEL="info",
    )
    started: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "worker.log"

    def start() -> subprocess.Popen[bytes]:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "huiliu.worker"], env=env, cwd=tmp_path, stdout=log, stderr=log
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_WAIT_SECONDS)


def worker_log(tmp_path: Path) -> str:
    path = tmp_path / "worker.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no worker log)"


async def rows_of(runtime: Runtime, tenant_id: uuid.UUID, kind: str) -> list[OutboxRow]:
    async with runtime.db.read(tenant_id) as session:
        statement = select(OutboxRow).where(OutboxRow.kind == kind)
        return list((await session.execute(statement)).scalars())


async def test_killed_worker_loses_nothing_and_repeats_only_rows_in_flight(
    own_runtime: Runtime, start_worker: Callable[[], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    runtime = own_runtime
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    # Slow receiver; the 5th request is held open until the worker has been killed.
    receiver = Receiver(SECRET, delay_seconds=0.3, hold_request=5).start()
    try:
        await subscribe(runtime, admin, receiver.url, SECRET, [TICKET_CREATED])
        first = start_worker()
        for _ in range(TICKETS):
            await make_ticket(runtime, admin)

        held = await asyncio.to_thread(receiver.holding.wait, HOLD_WAIT_SECONDS)
        assert held, worker_log(tmp_path)
        first.send_signal(signal.SIGKILL)
        assert first.wait(STOP_WAIT_SECONDS) == -signal.SIGKILL

        leased_at_kill = {
            str(row.id)
            for row in await rows_of(runtime, tenant.id, KIND_WEBHOOK)
            if row.state == STATE_PENDING and row.locked_until is not None
        }
        assert receiver.held is not None
        assert receiver.held.delivery_id in leased_at_kill
        receiver.release.set()

        second = start_worker()
        deadline = asyncio.get_running_loop().time() + DRAIN_WAIT_SECONDS
        while True:
            events = await rows_of(runtime, tenant.id, KIND_EVENT)
            webhooks = await rows_of(runtime, tenant.id, KIND_WEBHOOK)
            settled = [row for row in webhooks if row.state == STATE_DELIVERED]
            if len(events) == TICKETS and len(settled) == TICKETS:
                break
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(settled)}/{TICKETS} delivered after {DRAIN_WAIT_SECONDS}s\n{worker_log(tmp_path)}"
            )
            await asyncio.sleep(0.2)

        second.send_signal(signal.SIGTERM)
        assert second.wait(STOP_WAIT_SECONDS) == 0, worker_log(tmp_path)
    finally:
        receiver.stop()

    assert all(row.state == STATE_DELIVERED for row in events)
    arrived = receiver.snapshot()
    assert all(item.signature_ok for item in arrived)
    # Every event reached the receiver.
    assert {item.event_id for item in arrived} == {str(row.event_id) for row in events}
    # Repeats are only of rows leased at the kill, with the same event id and the same body.
    per_delivery = Counter(item.delivery_id for item in arrived)
    repeated = {delivery for delivery, count in per_delivery.items() if count > 1}
    assert repeated <= leased_at_kill
    assert receiver.held.delivery_id in repeated  # the worker died before recording that answer
    for delivery in repeated:
        copies = [item for item in arrived if item.delivery_id == delivery]
        assert len({item.event_id for item in copies}) == 1
        assert len({item.body for item in copies}) == 1
    assert len(arrived) == TICKETS + sum(per_delivery[d] - 1 for d in repeated)
    # Each event id maps to exactly one delivery row (one subscription).
    assert len({(item.event_id, item.delivery_id) for item in arrived}) == TICKETS

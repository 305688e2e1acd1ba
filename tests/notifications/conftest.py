from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from huiliu.db.engine import make_sync_engine
from huiliu.settings import Settings
from huiliu.worker.processor import OutboxProcessor
from tests.factories import Member, make_member, make_tenant
from tests.notifications.fake_providers import FakeProviders, FakeSmtp, fake_providers


@pytest.fixture(scope="session")
def sync_engine(database_url: str) -> Iterator[Engine]:
    engine = make_sync_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "outbox_max_attempts": 3,
            "outbox_backoff_base_seconds": 4.0,
            "outbox_backoff_max_seconds": 60.0,
            "outbox_lease_seconds": 30.0,
            "webhook_timeout_seconds": 1.0,
            "public_base_url": "https://huiliu.example",
        }
    )


@pytest.fixture
def processor(worker_settings: Settings, sync_engine: Engine) -> Iterator[OutboxProcessor]:
    with httpx.Client(timeout=worker_settings.webhook_timeout_seconds) as http:
        processor = OutboxProcessor(worker_settings, sync_engine, http)
        yield processor
        processor.close()


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with fake_providers() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
async def tenant(runtime: Any) -> Any:
    return await make_tenant(runtime)


@pytest.fixture
async def admin(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "admin", name="管理员")


@pytest.fixture
async def agent(runtime: Any, tenant: Any) -> Member:
    return await make_member(runtime, tenant, "agent", name="客服小李")

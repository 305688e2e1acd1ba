"""Shared test set-up.

The database is SQLite (a file per test session) unless HUILIU_TEST_DATABASE_URL points at
PostgreSQL; then a fresh database is created on that server for the session and dropped after.
Tests stay independent by giving each test its own tenant (see ``tests.factories``): services commit
real transactions, and tenant scoping keeps every test's rows invisible to the others."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from asgi_lifespan import LifespanManager
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from huiliu.app import create_app
from huiliu.auth import service as auth_service
from huiliu.db.migrate import upgrade
from huiliu.runtime import Runtime
from huiliu.settings import Settings

TEST_SECRET = "test-secret-key-that-is-long-enough-32b"
# Argon2id at the production cost (64 MiB, 3 passes, 4 lanes) takes about 0.25 s of CPU per hash, and
# most tests create a user or more: it was more than half the CPU time of tests/auth. In the test process
# the hashes stay real argon2id (hashed and verified by the same library calls) with the smallest cost
# parameters; tests/auth/test_password_cost.py checks the production parameters (decision 0057).
TEST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth_service, "_hasher", TEST_PASSWORD_HASHER)
        yield


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = os.environ.get("HUILIU_TEST_DATABASE_URL")
    if not server_url:
        path = tmp_path_factory.mktemp("db") / "huiliu-test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"huiliu_test_{uuid.uuid4().hex[:10]}"
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


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        files_dir=Path(var) / "files",
        huey_sqlite_path=Path(var) / "huey.db",
        redis_url=None,
        outbound_allow_private_networks=True,  # local fake servers and receivers listen on 127.0.0.1
        _env_file=None,
    )  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
def runtime(app: object) -> Runtime:
    return app.state.runtime  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"

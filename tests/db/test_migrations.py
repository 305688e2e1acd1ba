"""Migrations build the whole schema on an empty database, and the models match it (no drift)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from huiliu.db.engine import make_sync_engine
from huiliu.db.migrate import check, upgrade
from huiliu.db.registry import metadata


def assert_schema_complete(url: str) -> None:
    engine = make_sync_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_head_on_an_empty_sqlite_file_has_no_drift(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    assert_schema_complete(url)
    check(url)


def test_upgrade_head_on_an_empty_postgresql_database_has_no_drift():
    server_url = os.environ.get("HUILIU_TEST_DATABASE_URL")
    if not server_url or make_url(server_url).get_backend_name() != "postgresql":
        pytest.skip("set HUILIU_TEST_DATABASE_URL to a PostgreSQL server to run this test")
    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"huiliu_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        assert_schema_complete(url)
        check(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""``huiliu analytics rebuild`` through typer's test runner, on a fresh database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from huiliu.analytics.models import RollupCursor, TicketFact
from huiliu.auth import service as auth
from huiliu.cli import app
from huiliu.core.pubsub import InProcessHub
from huiliu.db.engine import make_async_engine, make_sync_engine
from huiliu.db.session import Database
from huiliu.settings import get_settings
from huiliu.tickets import service as tickets
from huiliu.tickets.schemas import TicketCreate
from tests.demo.databases import fresh_database

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("HUILIU_FILES_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("HUILIU_HUEY_SQLITE_PATH", str(tmp_path / "huey.db"))
    monkeypatch.delenv("HUILIU_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _create_tickets(url: str, count: int) -> None:
    async def go() -> None:
        db = Database(make_async_engine(url), InProcessHub())
        try:
            user = await auth.login(db, "boss@acme.example", "long-enough-pw")
            actor = await auth.actor_for_user(db, user.id, user.tenant_id, auth.ActorCache(ttl=0))
            for n in range(count):
                async with db.uow(user.tenant_id) as uow:
                    await tickets.create_ticket(uow, actor, TicketCreate(title=f"发票开错了 {n}"))
        finally:
            await db.dispose()

    asyncio.run(go())


def test_rebuild_recomputes_every_fact_and_sets_the_cursor(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    with fresh_database(tmp_path) as url:
        monkeypatch.setenv("HUILIU_DATABASE_URL", url)
        created = runner.invoke(
            app,
            [
                "createadmin",
                "--tenant",
                "acme",
                "--email",
                "boss@acme.example",
                "--password",
                "long-enough-pw",
            ],
        )
        assert created.exit_code == 0, created.output
        _create_tickets(url, 3)
        result = runner.invoke(app, ["analytics", "rebuild", "--tenant", "acme"])
        assert result.exit_code == 0, result.output
        assert "acme: 3 ticket(s)" in result.output
        engine = make_sync_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(TicketFact)).scalar_one() == 3
                assert conn.execute(select(RollupCursor.event_id)).scalar_one() is not None
        finally:
            engine.dispose()
        missing = runner.invoke(app, ["analytics", "rebuild", "--tenant", "nope"])
        assert missing.exit_code == 1 and "no tenant nope" in missing.output


def test_demo_builds_the_dashboards_facts(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    with fresh_database(tmp_path, migrate=False) as url:
        monkeypatch.setenv("HUILIU_DATABASE_URL", url)
        monkeypatch.setenv("HUILIU_DEMO_TICKETS", "12")
        result = runner.invoke(app, ["demo", "--customers", "10"])
        assert result.exit_code == 0, result.output
        engine = make_sync_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(TicketFact)).scalar_one() >= 12
        finally:
            engine.dispose()

"""``huiliu migrate``, ``demo``, ``createadmin`` and ``bench`` through typer's test runner."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from huiliu.auth import service as auth
from huiliu.auth.models import Role, Tenant, User
from huiliu.cli import app
from huiliu.core.pubsub import InProcessHub
from huiliu.db.engine import make_async_engine, make_sync_engine
from huiliu.db.session import Database
from huiliu.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.demo.databases import fresh_database

runner = CliRunner()


def invoke(monkeypatch: pytest.MonkeyPatch, url: str, args: list[str], **kwargs):
    monkeypatch.setenv("HUILIU_DATABASE_URL", url)
    return runner.invoke(app, args, **kwargs)


def login(url: str, email: str, password: str) -> User:
    async def go() -> User:
        db = Database(make_async_engine(url), InProcessHub())
        try:
            return await auth.login(db, email, password)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_migrate_creates_the_schema_on_an_empty_database(monkeypatch, tmp_path):
    with fresh_database(tmp_path, migrate=False) as url:
        result = invoke(monkeypatch, url, ["migrate"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
        engine = make_sync_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"alembic_version", "tickets", "users", "outbox"} <= tables


def test_createadmin_creates_the_tenant_and_an_admin_who_can_log_in(monkeypatch, tmp_path):
    with fresh_database(tmp_path) as url:
        result = invoke(
            monkeypatch,
            url,
            [
                "createadmin",
                "--tenant",
                "acme",
                "--tenant-name",
                "顶点科技",
                "--email",
                "Boss@Acme.example",
                "--name",
                "老板",
                "--password",
                "long-enough-pw",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "tenant acme created" in result.output
        user = login(url, "boss@acme.example", "long-enough-pw")
        engine = make_sync_engine(url)
        try:
            with engine.connect() as conn:
                tenant = conn.execute(
                    select(Tenant.slug, Tenant.name).where(Tenant.id == user.tenant_id)
                ).one()
                role = conn.execute(select(Role.name).where(Role.id == user.role_id)).scalar_one()
        finally:
            engine.dispose()
        assert tuple(tenant) == ("acme", "顶点科技") and role == "admin"


def test_createadmin_prompts_for_the_password_twice_and_reuses_an_existing_tenant(monkeypatch, tmp_path):
    with fresh_database(tmp_path) as url:
        first = invoke(
            monkeypatch,
            url,
            ["createadmin", "--tenant", "acme", "--email", "a@acme.example", "--password", "long-enough-pw"],
        )
        assert first.exit_code == 0, first.output
        second = invoke(
            monkeypatch,
            url,
            ["createadmin", "--tenant", "acme", "--email", "b@acme.example"],
            input="another-password\nanother-password\n",
        )
        assert second.exit_code == 0, second.output
        assert "tenant acme created" not in second.output
        assert (
            login(url, "b@acme.example", "another-password").tenant_id
            == login(url, "a@acme.example", "long-enough-pw").tenant_id
        )


def test_createadmin_refuses_a_taken_email_and_a_short_password(monkeypatch, tmp_path):
    with fresh_database(tmp_path) as url:
        invoke(monkeypatch, url, ["createadmin", "--email", "a@acme.example", "--password", "long-enough-pw"])
        taken = invoke(monkeypatch, url, ["createadmin", "--email", "a@acme.example", "--password", "x" * 12])
        assert taken.exit_code == 1 and "exists" in taken.output
        short = invoke(monkeypatch, url, ["createadmin", "--email", "c@acme.example", "--password", "short"])
        assert short.exit_code == 1 and "8 characters" in short.output


def test_demo_seeds_once_and_prints_the_login(monkeypatch, tmp_path):
    with fresh_database(tmp_path, migrate=False) as url:
        monkeypatch.setenv("HUILIU_DEMO_TICKETS", "12")
        first = invoke(monkeypatch, url, ["demo", "--customers", "10"])
        assert first.exit_code == 0, first.output
        assert "12 new tickets" in first.output
        assert ADMIN_EMAIL in first.output and ADMIN_PASSWORD in first.output
        second = invoke(monkeypatch, url, ["demo", "--customers", "10"])
        assert second.exit_code == 0, second.output
        assert "already seeded (12 tickets)" in second.output
        assert login(url, ADMIN_EMAIL, ADMIN_PASSWORD).email == ADMIN_EMAIL


def test_bench_runs_the_bench_package_of_the_current_directory_with_the_arguments(monkeypatch, tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__init__.py").write_text("")
    (tmp_path / "bench" / "__main__.py").write_text(
        "import pathlib, sys\npathlib.Path('args.txt').write_text(' '.join(sys.argv[1:]))\nsys.exit(3)\n"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["bench", "tickets", "--requests", "100"])
    assert result.exit_code == 3
    assert (tmp_path / "args.txt").read_text() == "tickets --requests 100"


def test_bench_without_a_bench_directory_says_so(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["bench"])
    assert result.exit_code == 1
    assert "no bench/ directory" in result.output

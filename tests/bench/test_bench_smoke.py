"""The benchmark code runs end to end on tiny sizes: seeding, the SQL round-trip count, the wrk
runs against a real server subprocess, and the markdown report. No timing is asserted."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bench.harness import temp_database
from bench.results import RESULTS_MARKER, Report, append_results
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.slow
needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk not installed (apt-get install -y wrk)"
)


def _target() -> tuple[str, dict[str, str]]:
    server = os.environ.get("HUILIU_TEST_DATABASE_URL")
    if server:
        return "postgres", {"pg_server": server}
    return "sqlite", {}


def _sync_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def test_seeded_tickets_are_consistent_and_numbering_continues_after_them(tmp_path: Path) -> None:
    from bench.harness import provision
    from bench.seed import seed

    kind, options = _target()
    with temp_database(kind, **options) as url:
        tenant = provision(url)
        result = seed(url, tenant, 300, detail_count=12, quiet=True)
        assert len(result.detail_ids) == 12
        assert result.messages >= 12 * 3
        engine = create_engine(_sync_url(url))
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, number, status, created_at FROM tickets")).all()
            statuses = {row.status for row in rows}
            detail_messages = conn.execute(
                text("SELECT count(DISTINCT ticket_id) FROM messages")
            ).scalar_one()
        engine.dispose()
        assert len(rows) == 300
        assert sorted(row.number for row in rows) == list(range(1, 301))
        assert {"closed", "open"} <= statuses
        assert detail_messages == 12
        for row in rows:
            ticket_id = row.id if not isinstance(row.id, str) else uuid.UUID(row.id)
            created = (
                row.created_at
                if isinstance(row.created_at, datetime)
                else datetime.fromisoformat(row.created_at)
            )
            created = created.replace(tzinfo=UTC) if created.tzinfo is None else created
            assert ticket_id.version == 7
            assert ticket_id.int >> 80 == int(created.timestamp() * 1000)
        assert asyncio.run(_create_one(url, tenant.admin_email, tmp_path)) == 301


async def _create_one(url: str, email: str, scratch: Path) -> int:
    import httpx
    from bench.harness import ADMIN_PASSWORD, BENCH_SECRET

    from huiliu.app import create_app
    from huiliu.settings import Settings

    settings = Settings(
        database_url=url,
        secret_key=BENCH_SECRET,
        redis_url=None,
        files_dir=scratch / "files",
        huey_sqlite_path=scratch / "huey.db",
        _env_file=None,
    )  # type: ignore[call-arg]
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": ADMIN_PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            created = await client.post("/api/v1/tickets", json={"title": "扫码无法支付"}, headers=headers)
            assert created.status_code == 201, created.text
            return int(created.json()["number"])


def test_statement_count_covers_create_list_and_detail() -> None:
    from bench.statements import run_statements

    kind, options = _target()
    report = run_statements(kind, requests=2, **options)
    assert [row[1].split()[0] for row in report.rows] == ["POST", "GET", "GET", "GET"]
    assert all(float(row[-1]) > 0 for row in report.rows)


@needs_wrk
def test_create_benchmark_runs_without_errors() -> None:
    from bench.http_create import run_create

    kind, options = _target()
    report = run_create(kind, [2], duration=1, warmup=0, settle=0, **options)
    (row,) = report.rows
    assert int(row[2]) > 0  # requests
    assert row[8] == "0"  # errors
    assert any("tickets in the database" in note for note in report.notes)


@needs_wrk
def test_list_and_detail_benchmark_runs_without_errors() -> None:
    from bench.list_detail import run_list

    kind, options = _target()
    seeding, reads = run_list(
        kind,
        [2000],
        concurrencies=[2],
        duration=1,
        warmup=0,
        detail_count=20,
        settle=0,
        quiet_seed=True,
        **options,
    )
    assert len(seeding.rows) == 1
    assert [row[2].split(",")[0] for row in reads.rows] == [
        "list open",
        "list open",
        "list new+open",
        "list open",
        "detail",
    ]
    for row in reads.rows:
        assert int(row[4]) > 0, row
        assert row[10] == "0", row


def test_results_are_appended_under_the_log_heading(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nMethod.\n")
    report = Report(title="create", columns=["db", "req/s"], rows=[["postgres", "1,234"]], notes=["a note"])
    append_results([report], "nproc=2", path=path, command="python -m bench create")
    append_results([report], "nproc=2", path=path, command="python -m bench list")
    content = path.read_text()
    assert content.startswith("# Benchmarks\n\nMethod.")
    assert content.count(RESULTS_MARKER) == 1
    assert "`python -m bench create`" in content and "`python -m bench list`" in content
    assert content.count("| postgres | 1,234 |") == 2
    assert "- a note" in content

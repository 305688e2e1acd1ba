"""How many SQL round trips one request costs: the app runs in-process (ASGI), SQLAlchemy's engine
events count statements, transaction begins, commits and rollbacks per request. PostgreSQL's
pg_stat_statements is not loaded on this server, so the count is taken on the client side; each
counted item is one round trip to the database (psycopg sends BEGIN and COMMIT as their own). "CPU ms"
is this process's CPU time per request (the app and the in-process client, not the database): a
number that stays put when other work shares the machine, unlike wall time."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import event

from bench.harness import ADMIN_PASSWORD, provision, scratch_settings, temp_database
from bench.results import Report

if TYPE_CHECKING:
    from huiliu.settings import Settings


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0

    def reset(self) -> None:
        self.statements.clear()
        self.begins = self.commits = self.rollbacks = 0

    @property
    def round_trips(self) -> int:
        return len(self.statements) + self.begins + self.commits + self.rollbacks


def _shape(sql: str) -> str:
    """A statement without its parameters, shortened, to show what a request runs."""
    flat = re.sub(r"\s+", " ", sql).strip()
    flat = re.sub(r"SELECT .*? FROM", "SELECT … FROM", flat, count=1)
    flat = re.sub(r"\(([^()]{60,})\)", "(…)", flat)
    return flat[:110]


def _count_driver_statements(tally: Tally) -> Callable[[], None]:
    """Creates on PostgreSQL run on a driver connection (``db.driver``), outside SQLAlchemy's events:
    count that statement by wrapping the one function that sends it (sequential requests run alone, in
    autocommit: no BEGIN/COMMIT; under load the group commit shares one BEGIN/COMMIT among several)."""
    from huiliu.tickets import pg_create

    original = pg_create.create_grouped

    async def counted(pool: Any, *args: Any, **kwargs: Any) -> Any:
        tally.statements.append(pg_create.CREATE_MANY)
        return await original(pool, *args, **kwargs)

    pg_create.create_grouped = counted  # type: ignore[assignment]

    def restore() -> None:
        pg_create.create_grouped = original  # type: ignore[assignment]

    return restore


def run_statements(
    db: str, *, requests: int = 20, pg_server: str | None = None, automation: bool = False
) -> Report:
    """``automation``: the tenant has the preset rules, the SLA presets and a default routing policy
    (as ``bench create --automation``), so every create runs the reactors."""
    kwargs = {"pg_server": pg_server} if pg_server else {}
    with temp_database(db, **kwargs) as url, scratch_settings(url, redis_url=None) as settings:
        tenant = provision(url)
        return asyncio.run(_count(db, settings, tenant.admin_email, requests, automation))


async def _count(db: str, settings: Settings, email: str, requests: int, automation: bool = False) -> Report:
    from bench.http_create import AUTOMATION_SETUP
    from huiliu.app import create_app

    app = create_app(settings)
    report = Report(
        title=f"SQL round trips per request — {db} (mean over {requests} requests, warm caches"
        + (", tenant with preset rules, SLA policy and default routing policy)" if automation else ")"),
        columns=["db", "request", "statements", "BEGIN", "COMMIT", "ROLLBACK", "round trips", "CPU ms"],
    )
    async with app.router.lifespan_context(app):
        tally = Tally()
        engine = app.state.runtime.db.engine.sync_engine
        _listen(engine, tally)
        restore_driver = _count_driver_statements(tally)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": ADMIN_PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            if automation:
                for path, setup in AUTOMATION_SETUP:
                    installed = await client.post(path, json=setup, headers=headers)
                    if installed.status_code >= 300:
                        raise RuntimeError(f"POST {path}: {installed.status_code} {installed.text[:200]}")
            created: list[str] = []

            async def create(i: int) -> httpx.Response:
                body = {
                    "title": f"打印机卡纸 {i}",
                    "description": "门店3号打印机一直卡纸",
                    "customer": {"phone": f"137{uuid.uuid4().int % 10**8:08d}"},
                }
                response = await client.post("/api/v1/tickets", json=body, headers=headers)
                created.append(response.json()["id"])
                return response

            cases: list[tuple[str, Any]] = [
                ("POST /api/v1/tickets (new customer)", create),
                (
                    "GET /api/v1/tickets?status=new&limit=25",
                    lambda i: client.get(
                        "/api/v1/tickets", params={"status": "new", "limit": 25}, headers=headers
                    ),
                ),
                (
                    "GET /api/v1/tickets?status=new,open&limit=25",
                    lambda i: client.get(
                        "/api/v1/tickets", params={"status": "new,open", "limit": 25}, headers=headers
                    ),
                ),
                (
                    "GET /api/v1/tickets/{id}",
                    lambda i: client.get(f"/api/v1/tickets/{created[i % len(created)]}", headers=headers),
                ),
            ]
            shapes: Counter[str] = Counter()
            for name, call in cases:
                for i in range(3):  # warm the actor cache and the statement caches
                    await call(i)
                totals = Tally()
                cpu = 0.0
                for i in range(requests):
                    tally.reset()
                    began = time.process_time()
                    response = await call(i)
                    cpu += time.process_time() - began
                    if response.status_code >= 400:
                        raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")
                    totals.statements += tally.statements
                    totals.begins += tally.begins
                    totals.commits += tally.commits
                    totals.rollbacks += tally.rollbacks
                    if name.startswith("POST") and i == 0:
                        shapes.update(_shape(s) for s in tally.statements)
                report.rows.append(
                    [
                        db,
                        name,
                        f"{len(totals.statements) / requests:.1f}",
                        f"{totals.begins / requests:.1f}",
                        f"{totals.commits / requests:.1f}",
                        f"{totals.rollbacks / requests:.1f}",
                        f"{totals.round_trips / requests:.1f}",
                        f"{cpu * 1000 / requests:.2f}",
                    ]
                )
            report.notes.append(
                "statements of one create: "
                + "; ".join(f"`{shape}`" + (f" ×{n}" if n > 1 else "") for shape, n in shapes.items())
            )
        restore_driver()
    return report


def _listen(engine: Any, tally: Tally) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        tally.statements.append(statement)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        tally.begins += 1

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        tally.commits += 1

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        tally.rollbacks += 1

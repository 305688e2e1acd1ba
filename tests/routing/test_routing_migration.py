"""The routing migration creates its tables, gives ``admin.routing`` to the admin roles of tenants that
already exist (and takes it back on downgrade, with the tables), leaving other roles alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from huiliu.db.engine import make_sync_engine
from huiliu.db.migrate import alembic_config, upgrade

BEFORE = "c1a7e0000007"  # the revision routing follows
ROUTING = "c1a7e0000008"

tenants = sa.table(
    "tenants",
    sa.column("id", sa.Uuid()),
    sa.column("slug", sa.String()),
    sa.column("name", sa.String()),
    sa.column("settings", sa.JSON()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
roles = sa.table(
    "roles",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("permissions", sa.JSON()),
    sa.column("data_scope", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _state(url: str) -> tuple[dict[str, list[str]], set[str]]:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(roles.c.name, roles.c.permissions)).all()
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return {name: list(permissions) for name, permissions in rows}, tables & {
        "routing_policies",
        "agent_profiles",
    }


def test_existing_admin_roles_get_admin_routing_and_lose_it_on_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'routing.db'}"
    upgrade(url, BEFORE)
    tenant_id = uuid.uuid4()
    now = datetime.now(UTC)
    engine = make_sync_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(tenants).values(id=tenant_id, slug="t", name="T", settings={}, created_at=now)
            )
            for name, permissions in (("admin", ["admin.rules", "ticket.read"]), ("agent", ["ticket.read"])):
                conn.execute(
                    sa.insert(roles).values(
                        id=uuid.uuid4(),
                        tenant_id=tenant_id,
                        name=name,
                        permissions=permissions,
                        data_scope="all",
                        created_at=now,
                    )
                )
    finally:
        engine.dispose()

    upgrade(url, ROUTING)
    assert _state(url) == (
        {"admin": ["admin.routing", "admin.rules", "ticket.read"], "agent": ["ticket.read"]},
        {"routing_policies", "agent_profiles"},
    )

    command.downgrade(alembic_config(url), BEFORE)
    assert _state(url) == ({"admin": ["admin.rules", "ticket.read"], "agent": ["ticket.read"]}, set())

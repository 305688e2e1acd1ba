"""The orders migration grants the order permissions to the built-in roles of tenants that existed
before it, and takes them back on downgrade."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from huiliu.db.engine import make_sync_engine
from huiliu.db.migrate import alembic_config, upgrade

ORDER_PERMISSIONS = {"order.read", "order.write", "opportunity.read", "opportunity.write"}


def test_existing_built_in_roles_get_the_order_permissions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "a8172c2f2d09")
    engine = make_sync_engine(url)
    tenant_id = uuid.uuid4()
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenants (id, slug, name, settings, created_at) "
                "VALUES (:id, 'old', 'Old', '{}', :now)"
            ),
            {"id": tenant_id.hex, "now": now},
        )
        for name in ("admin", "agent", "auditor"):
            conn.execute(
                text(
                    "INSERT INTO roles (id, tenant_id, name, permissions, data_scope, created_at) "
                    "VALUES (:id, :tenant, :name, :permissions, 'all', :now)"
                ),
                {
                    "id": uuid.uuid4().hex,
                    "tenant": tenant_id.hex,
                    "name": name,
                    "permissions": json.dumps(["ticket.read"]),
                    "now": now,
                },
            )

    def permissions() -> dict[str, set[str]]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, permissions FROM roles")).all()
        return {name: set(json.loads(value)) for name, value in rows}

    try:
        upgrade(url, "c1a7e0000002")
        granted = permissions()
        assert granted["admin"] == granted["agent"] == {"ticket.read"} | ORDER_PERMISSIONS
        assert granted["auditor"] == {"ticket.read"}  # custom roles are the admin's to change

        command.downgrade(alembic_config(url), "a8172c2f2d09")
        assert permissions() == {
            "admin": {"ticket.read"},
            "agent": {"ticket.read"},
            "auditor": {"ticket.read"},
        }
    finally:
        engine.dispose()

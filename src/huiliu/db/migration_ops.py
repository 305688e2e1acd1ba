"""Data steps migrations share. Released migrations keep their own copies (they are never edited);
new ones call these instead of repeating them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_roles = sa.table(
    "roles",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("permissions", JSON),
)


def set_role_permissions(permissions: set[str], *, present: bool, role: str = "admin") -> None:
    """Add (``present``) or remove ``permissions`` on every tenant's role named ``role`` — the built-in
    admin role by default, which must always hold every permission. Idempotent; rows that already
    match are not written."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_roles.c.id, _roles.c.permissions).where(_roles.c.name == role))
    for role_id, stored in rows.all():
        current = list(stored or [])
        if present:
            wanted = sorted(set(current) | permissions)
        else:
            wanted = [name for name in current if name not in permissions]
        if wanted != current:
            connection.execute(sa.update(_roles).where(_roles.c.id == role_id).values(permissions=wanted))

"""entry points: the admin.entry_points permission for every tenant's built-in admin role

The entry_points table itself is unchanged (the model moved from intake to its own package). Tenants
created from now on get the permission with their default roles; this gives it to the admin roles of
tenants that exist already, since the built-in admin role holds every permission.

Revision ID: c1a7e0000004
Revises: c1a7e0000003
Create Date: 2026-11-30 05:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000004"
down_revision: str | Sequence[str] | None = "c1a7e0000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMISSION = "admin.entry_points"
ADMIN_ROLE = "admin"

roles = sa.table(
    "roles",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("permissions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _set_admin_permission(present: bool) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(roles.c.id, roles.c.permissions).where(roles.c.name == ADMIN_ROLE))
    for role_id, permissions in rows.all():
        current = list(permissions or [])
        wanted = sorted(set(current) | {PERMISSION}) if present else [p for p in current if p != PERMISSION]
        if wanted != current:
            connection.execute(sa.update(roles).where(roles.c.id == role_id).values(permissions=wanted))


def upgrade() -> None:
    """Upgrade schema."""
    _set_admin_permission(True)


def downgrade() -> None:
    """Downgrade schema."""
    _set_admin_permission(False)

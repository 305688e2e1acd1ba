"""rules and rule_changes; the admin.rules permission for every tenant's built-in admin role

Tenants created from now on get the permission with their default roles; this gives it to the admin
roles of tenants that exist already, since the built-in admin role holds every permission.

Revision ID: c1a7e0000006
Revises: c1a7e0000004
Create Date: 2026-11-30 06:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000006"
down_revision: str | Sequence[str] | None = "c1a7e0000004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PERMISSION = "admin.rules"
ADMIN_ROLE = "admin"

roles = sa.table(
    "roles",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("permissions", JSON),
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
    op.create_table(
        "rules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("stop_processing", sa.Boolean(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("preset_key", sa.String(length=64), nullable=True),
        sa.Column("fired_count", sa.Integer(), nullable=False),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_rules_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rules_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("tenant_id", "preset_key", name=op.f("uq_rules_tenant_id_preset_key")),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index("ix_rules_position", ["tenant_id", "position", "id"], unique=False)

    op.create_table(
        "rule_changes",
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rule_changes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_changes")),
    )
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.create_index("ix_rule_changes_rule", ["tenant_id", "rule_id", "created_at"], unique=False)

    _set_admin_permission(True)


def downgrade() -> None:
    """Downgrade schema."""
    _set_admin_permission(False)
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_changes_rule")
    op.drop_table("rule_changes")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index("ix_rules_position")
    op.drop_table("rules")

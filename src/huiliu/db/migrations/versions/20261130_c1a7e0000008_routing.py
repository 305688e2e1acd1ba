"""routing_policies and agent_profiles; the admin.routing permission for every tenant's admin role

Tenants created from now on get the permission with their default roles; this gives it to the admin
roles of tenants that exist already, since the built-in admin role holds every permission.

Revision ID: c1a7e0000008
Revises: c1a7e0000007
Create Date: 2026-11-30 07:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000008"
down_revision: str | Sequence[str] | None = "c1a7e0000007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PERMISSION = "admin.routing"
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
        "routing_policies",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_routing_policies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_policies")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_routing_policies_tenant_id_name")),
    )
    with op.batch_alter_table("routing_policies", schema=None) as batch_op:
        batch_op.create_index("ix_routing_policies_default", ["tenant_id", "is_default"], unique=False)

    op.create_table(
        "agent_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("presence", sa.String(length=16), nullable=False),
        sa.Column("presence_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("skills", JSON, nullable=False),
        sa.Column("regions", JSON, nullable=False),
        sa.Column("senior", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("shift", JSON, nullable=True),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_profiles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_profiles")),
    )
    with op.batch_alter_table("agent_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_agent_profiles_presence", ["tenant_id", "presence"], unique=False)

    _set_admin_permission(True)


def downgrade() -> None:
    """Downgrade schema."""
    _set_admin_permission(False)
    with op.batch_alter_table("agent_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_profiles_presence")
    op.drop_table("agent_profiles")
    with op.batch_alter_table("routing_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_policies_default")
    op.drop_table("routing_policies")

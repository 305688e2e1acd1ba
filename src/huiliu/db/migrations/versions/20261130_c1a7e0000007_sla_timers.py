"""ticket timers (the sweep's table), business calendars, SLA policies, per-ticket SLA state; the
admin.sla permission for every tenant's built-in admin role

Revision ID: c1a7e0000007
Revises: c1a7e0000006
Create Date: 2026-11-30 07:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000007"
down_revision: str | Sequence[str] | None = "c1a7e0000006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PERMISSION = "admin.sla"
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
        "ticket_timers",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_timers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_timers_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "kind", name=op.f("pk_ticket_timers")),
    )
    with op.batch_alter_table("ticket_timers", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_timers_due", ["next_timer_at"], unique=False)

    op.create_table(
        "business_calendars",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", JSON, nullable=False),
        sa.Column("holidays", JSON, nullable=False),
        sa.Column("workdays", JSON, nullable=False),
        sa.Column("cn_statutory", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("preset_key", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_business_calendars_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_business_calendars_tenant_id_name")),
        sa.UniqueConstraint(
            "tenant_id", "preset_key", name=op.f("uq_business_calendars_tenant_id_preset_key")
        ),
    )

    op.create_table(
        "sla_policies",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("calendar_id", sa.Uuid(), nullable=True),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("tiers", JSON, nullable=False),
        sa.Column("preset_key", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_business_calendars"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sla_policies_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("tenant_id", "preset_key", name=op.f("uq_sla_policies_tenant_id_preset_key")),
    )
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.create_index("ix_sla_policies_position", ["tenant_id", "position", "id"], unique=False)

    op.create_table(
        "ticket_slas",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("policy_name", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("clocks", JSON, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_breached", sa.Boolean(), nullable=False),
        sa.Column("first_response_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_response_breached", sa.Boolean(), nullable=False),
        sa.Column("next_response_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_breached", sa.Boolean(), nullable=False),
        sa.Column("resolution_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("first_response_minutes", sa.Double(), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.Column("resolution_minutes", sa.Double(), nullable=True),
        sa.Column("next_response_breaches", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_ticket_slas_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_slas_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_slas_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_slas")),
    )
    with op.batch_alter_table("ticket_slas", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_slas_next_due", ["tenant_id", "next_due_at"], unique=False)

    _set_admin_permission(True)


def downgrade() -> None:
    """Downgrade schema."""
    _set_admin_permission(False)
    with op.batch_alter_table("ticket_slas", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_slas_next_due")
    op.drop_table("ticket_slas")
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_policies_position")
    op.drop_table("sla_policies")
    op.drop_table("business_calendars")
    with op.batch_alter_table("ticket_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_timers_due")
    op.drop_table("ticket_timers")

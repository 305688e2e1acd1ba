"""analytics: per-ticket facts, the refresher's cursor, the analytics.read permission

Revision ID: c1a7e0000014
Revises: c1a7e0000013
Create Date: 2026-11-30 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from huiliu.db.migration_ops import set_role_permissions

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000014"
down_revision: str | Sequence[str] | None = "c1a7e0000013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMISSION = {"analytics.read"}


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "ticket_facts",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("hour_of_week", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("scenario", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("entry_point_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("customer_level", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_day", sa.Date(), nullable=True),
        sa.Column("first_response_minutes", sa.Double(), nullable=True),
        sa.Column("first_response_business", sa.Boolean(), nullable=False),
        sa.Column("resolution_minutes", sa.Double(), nullable=True),
        sa.Column("resolution_business", sa.Boolean(), nullable=False),
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("ever_resolved", sa.Boolean(), nullable=False),
        sa.Column("fcr", sa.Boolean(), nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("agent_replies", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_facts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_facts_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_facts")),
    )
    with op.batch_alter_table("ticket_facts", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_facts_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index("ix_ticket_facts_created_hour", ["tenant_id", "created_hour"], unique=False)
        batch_op.create_index(
            "ix_ticket_facts_resolved", ["tenant_id", "resolved_at", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_facts_unresolved",
            ["tenant_id", "created_at"],
            unique=False,
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.create_index("ix_ticket_facts_team", ["tenant_id", "team_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_ticket_facts_assignee", ["tenant_id", "assignee_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_ticket_facts_open", ["tenant_id", "status", "created_at"], unique=False)
    op.create_table(
        "analytics_cursors",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_cursors_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_analytics_cursors")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_events_tenant_created", ["tenant_id", "created_at", "id"], unique=False
        )
    set_role_permissions(PERMISSION, present=True)
    set_role_permissions(PERMISSION, present=True, role="lead")


def downgrade() -> None:
    """Downgrade schema."""
    set_role_permissions(PERMISSION, present=False, role="lead")
    set_role_permissions(PERMISSION, present=False)
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_tenant_created")
    op.drop_table("analytics_cursors")
    with op.batch_alter_table("ticket_facts", schema=None) as batch_op:
        for name in (
            "ix_ticket_facts_open",
            "ix_ticket_facts_assignee",
            "ix_ticket_facts_team",
            "ix_ticket_facts_unresolved",
            "ix_ticket_facts_resolved",
            "ix_ticket_facts_created_hour",
            "ix_ticket_facts_created",
        ):
            batch_op.drop_index(name)
    op.drop_table("ticket_facts")

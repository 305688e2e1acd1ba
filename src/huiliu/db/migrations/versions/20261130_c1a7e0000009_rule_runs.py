"""rule_runs: which automation fired on which ticket for which anchor (the timer sweep's record)

Revision ID: c1a7e0000009
Revises: c1a7e0000008
Create Date: 2026-11-30 07:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000009"
down_revision: str | Sequence[str] | None = "c1a7e0000008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "rule_runs",
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("anchor", sa.String(length=200), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rule_runs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_rule_runs_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_runs")),
        sa.UniqueConstraint(
            "rule_id", "ticket_id", "anchor", name=op.f("uq_rule_runs_rule_id_ticket_id_anchor")
        ),
    )
    with op.batch_alter_table("rule_runs", schema=None) as batch_op:
        batch_op.create_index("ix_rule_runs_ticket", ["ticket_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("rule_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_runs_ticket")
    op.drop_table("rule_runs")

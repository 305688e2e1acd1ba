"""classification on tickets: ticket_classifications (labels, confidences, top guesses, model version,
the 待分类 triage flag) and classification_corrections (learning mode); the admin.intelligence
permission for every admin role

Revision ID: c1a7e0000021
Revises: c1a7e0000020
Create Date: 2026-11-30 11:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from huiliu.db.migration_ops import set_role_permissions

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000021"
down_revision: str | Sequence[str] | None = "c1a7e0000020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMISSION = "admin.intelligence"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "ticket_classifications",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("confidence", JSON, nullable=False),
        sa.Column("guesses", JSON, nullable=False),
        sa.Column("low", JSON, nullable=False),
        sa.Column("model_version", sa.String(length=80), nullable=False),
        sa.Column("needs_triage", sa.Boolean(), nullable=False),
        sa.Column("triaged_by", sa.Uuid(), nullable=True),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_classifications_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["triaged_by"],
            ["users.id"],
            name=op.f("fk_ticket_classifications_triaged_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ticket_classifications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_classifications")),
    )
    op.create_index(
        "ix_ticket_classifications_triage",
        "ticket_classifications",
        ["tenant_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("needs_triage"),
        sqlite_where=sa.text("needs_triage = 1"),
    )
    op.create_table(
        "classification_corrections",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("predicted", sa.String(length=100), nullable=True),
        sa.Column("corrected", sa.String(length=100), nullable=False),
        sa.Column("ticket_text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_classification_corrections_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_classification_corrections_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_classification_corrections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_corrections")),
    )
    op.create_index(
        "ix_classification_corrections_tenant",
        "classification_corrections",
        ["tenant_id", "created_at"],
        unique=False,
    )
    set_role_permissions({PERMISSION}, present=True)


def downgrade() -> None:
    """Downgrade schema."""
    set_role_permissions({PERMISSION}, present=False)
    op.drop_index("ix_classification_corrections_tenant", table_name="classification_corrections")
    op.drop_table("classification_corrections")
    op.drop_index("ix_ticket_classifications_triage", table_name="ticket_classifications")
    op.drop_table("ticket_classifications")

"""ticket templates and their versions, tickets.template_version_id; the admin.templates permission for
every tenant's built-in admin role

Revision ID: c1a7e0000012
Revises: c1a7e0000011
Create Date: 2026-11-30 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from huiliu.db.migration_ops import set_role_permissions

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000012"
down_revision: str | Sequence[str] | None = "c1a7e0000011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PERMISSION = "admin.templates"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "ticket_templates",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("defaults", JSON, nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("sla_policy_id", sa.Uuid(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("current_version_id", sa.Uuid(), nullable=True),
        sa.Column("has_draft_changes", sa.Boolean(), nullable=False),
        sa.Column("preset_key", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_ticket_templates_sla_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ticket_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_templates")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_ticket_templates_tenant_id_key")),
    )
    with op.batch_alter_table("ticket_templates", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_templates_status", ["tenant_id", "status", "name"], unique=False)
    op.create_table(
        "ticket_template_versions",
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.String(length=32), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("defaults", JSON, nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("sla_policy_id", sa.Uuid(), nullable=True),
        sa.Column("published_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["ticket_templates.id"],
            name=op.f("fk_ticket_template_versions_template_id_ticket_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ticket_template_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_template_versions")),
        sa.UniqueConstraint(
            "template_id", "version", name=op.f("uq_ticket_template_versions_template_id_version")
        ),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_version_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_template_version_id_ticket_template_versions"),
            "ticket_template_versions",
            ["template_version_id"],
            ["id"],
            ondelete="SET NULL",
        )
    set_role_permissions({PERMISSION}, present=True)


def downgrade() -> None:
    """Downgrade schema."""
    set_role_permissions({PERMISSION}, present=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_template_version_id_ticket_template_versions"), type_="foreignkey"
        )
        batch_op.drop_column("template_version_id")
    op.drop_table("ticket_template_versions")
    with op.batch_alter_table("ticket_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_templates_status")
    op.drop_table("ticket_templates")

"""customer merges and events, import jobs

Revision ID: c1a7e0000003
Revises: c1a7e0000002
Create Date: 2026-11-30 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000003"
down_revision: str | Sequence[str] | None = "c1a7e0000002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "customer_merges",
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("moved", JSON, nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by_kind", sa.String(length=16), nullable=True),
        sa.Column("undone_by_id", sa.Uuid(), nullable=True),
        sa.Column("undone_by_name", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["customers.id"],
            name=op.f("fk_customer_merges_merged_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["customers.id"],
            name=op.f("fk_customer_merges_survivor_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_merges_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_merges")),
    )
    with op.batch_alter_table("customer_merges", schema=None) as batch_op:
        batch_op.create_index("ix_customer_merges_merged", ["merged_id", "created_at"], unique=False)
        batch_op.create_index("ix_customer_merges_survivor", ["survivor_id", "created_at"], unique=False)

    op.create_table(
        "customer_events",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_events_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_events")),
    )
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.create_index("ix_customer_events_customer", ["customer_id", "created_at"], unique=False)

    op.create_table(
        "import_jobs",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("succeeded_rows", sa.Integer(), nullable=False),
        sa.Column("failed_rows", sa.Integer(), nullable=False),
        sa.Column("created_rows", sa.Integer(), nullable=False),
        sa.Column("updated_rows", sa.Integer(), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_kind", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_jobs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_import_jobs_status_lease", ["status", "lease_expires_at"], unique=False)
        batch_op.create_index(
            "ix_import_jobs_tenant_created", ["tenant_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "import_files",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_files_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_import_files_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_import_files")),
    )
    op.create_table(
        "import_row_errors",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=200), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("row_values", JSON, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_row_errors_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_import_row_errors_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row_errors")),
    )
    with op.batch_alter_table("import_row_errors", schema=None) as batch_op:
        batch_op.create_index("ix_import_row_errors_job", ["job_id", "row_number"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("import_row_errors", schema=None) as batch_op:
        batch_op.drop_index("ix_import_row_errors_job")
    op.drop_table("import_row_errors")
    op.drop_table("import_files")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_tenant_created")
        batch_op.drop_index("ix_import_jobs_status_lease")
    op.drop_table("import_jobs")
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_events_customer")
    op.drop_table("customer_events")
    with op.batch_alter_table("customer_merges", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_merges_survivor")
        batch_op.drop_index("ix_customer_merges_merged")
    op.drop_table("customer_merges")

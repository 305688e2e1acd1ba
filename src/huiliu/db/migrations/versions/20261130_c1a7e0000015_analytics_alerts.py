"""analytics alerts and scheduled reports; read-only BI views on PostgreSQL; admin.analytics

Revision ID: c1a7e0000015
Revises: c1a7e0000014
Create Date: 2026-11-30 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from huiliu.db.migration_ops import set_role_permissions

# revision identifiers, used by Alembic.
revision: str = "c1a7e0000015"
down_revision: str | Sequence[str] | None = "c1a7e0000014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PERMISSION = "admin.analytics"

# Documented in docs/analytics-alerts.md ("BI access"); a column added here is a contract change.
BI_VIEWS = {
    "tickets": """
        SELECT t.id, t.tenant_id, t.number, t.title, t.status, t.priority, t.category, t.scenario,
               t.channel, t.entry_point_id, t.customer_id, t.team_id, t.assignee_id, t.parent_id,
               t.merged_into_id, t.tags, t.created_at, t.updated_at, t.first_response_at,
               t.resolved_at, t.closed_at, t.reopened_at, t.reopen_count, t.last_message_at
        FROM public.tickets AS t
    """,
    "events": """
        SELECT e.id, e.tenant_id, e.ticket_id, e.type, e.actor_kind, e.actor_id, e.actor_name,
               e.changes, e.reason, e.created_at
        FROM public.ticket_events AS e
    """,
    "teams": "SELECT id, tenant_id, name, parent_id FROM public.teams",
    "users": "SELECT id, tenant_id, name, team_id, is_active FROM public.users",
}


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "analytics_alert_rules",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("filters", JSON, nullable=False),
        sa.Column("condition", JSON, nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("cooldown_hours", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_evaluated_bucket", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_open", sa.Boolean(), nullable=False),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("analytics_alert_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_alert_rules")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_analytics_alert_rules_tenant_id_name")),
    )
    with op.batch_alter_table("analytics_alert_rules", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_alert_rules_enabled", ["tenant_id", "enabled"], unique=False)

    op.create_table(
        "analytics_alert_firings",
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("baseline", sa.Double(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["analytics_alert_rules.id"],
            name=op.f("fk_analytics_alert_firings_rule_id_analytics_alert_rules"),
            ondelete="CASCADE",
        ),
        _tenant_fk("analytics_alert_firings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_alert_firings")),
        sa.UniqueConstraint(
            "rule_id", "bucket_start", name=op.f("uq_analytics_alert_firings_rule_id_bucket_start")
        ),
    )
    with op.batch_alter_table("analytics_alert_firings", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_alert_firings_recent", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "analytics_scheduled_reports",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("filters", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("analytics_scheduled_reports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_scheduled_reports")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_analytics_scheduled_reports_tenant_id_name")),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS huiliu_bi")
        for name, query in BI_VIEWS.items():
            op.execute(f"CREATE OR REPLACE VIEW huiliu_bi.{name} AS {query}")
            # Views of one table are auto-updatable in PostgreSQL, but writing through a view needs
            # INSERT/UPDATE/DELETE on the view itself: a BI role granted only SELECT on this schema
            # reads and cannot write (docs/analytics-alerts.md, "BI access", has the GRANTs).
            op.execute(f"COMMENT ON VIEW huiliu_bi.{name} IS 'Huiliu BI view (read-only contract)'")

    set_role_permissions({PERMISSION}, present=True)


def downgrade() -> None:
    """Downgrade schema."""
    set_role_permissions({PERMISSION}, present=False)
    if op.get_bind().dialect.name == "postgresql":
        for name in BI_VIEWS:
            op.execute(f"DROP VIEW IF EXISTS huiliu_bi.{name}")
        op.execute("DROP SCHEMA IF EXISTS huiliu_bi")
    op.drop_table("analytics_scheduled_reports")
    with op.batch_alter_table("analytics_alert_firings", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_alert_firings_recent")
    op.drop_table("analytics_alert_firings")
    with op.batch_alter_table("analytics_alert_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_alert_rules_enabled")
    op.drop_table("analytics_alert_rules")

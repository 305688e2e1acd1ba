"""Tables of the workflows package: definitions (a draft graph) with their published, immutable
versions; runs on tickets pinned to a version, their steps, sub-tasks and approval requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiliu.core.clock import utcnow
from huiliu.db.base import Base, CreatedAtMixin, IdMixin, TenantScoped


class Workflow(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A workflow as the designer edits it: ``graph`` is the draft; publishing copies it into a new
    ``WorkflowVersion`` (``latest_version``), which runs start on."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    graph: Mapped[dict[str, Any]] = mapped_column(default=dict)
    latest_version: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowVersion(IdMixin, TenantScoped, Base):
    """A published graph, never changed: runs keep the version they started on."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int]
    graph: Mapped[dict[str, Any]] = mapped_column(default=dict)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WorkflowInstance(IdMixin, TenantScoped, Base):
    """A run of one workflow version on one ticket; ``state`` is the engine's state."""

    __tablename__ = "workflow_instances"
    __table_args__ = (
        Index("ix_workflow_instances_ticket", "ticket_id", "started_at"),
        Index("ix_workflow_instances_workflow", "workflow_id", "status"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_versions.id", ondelete="CASCADE"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="running")
    current_node: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowStep(IdMixin, TenantScoped, Base):
    """One node a run entered: when, why, how it was left, and its time limit."""

    __tablename__ = "workflow_steps"
    __table_args__ = (Index("ix_workflow_steps_instance", "instance_id", "entered_at"),)

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_instances.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(64))
    node_type: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    outcome: Mapped[str | None] = mapped_column(String(32))
    entered_reason: Mapped[str] = mapped_column(Text, default="")
    completed_reason: Mapped[str | None] = mapped_column(Text)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]


class WorkflowSubtask(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """A child ticket a parallel node created; the join waits on its ``status``."""

    __tablename__ = "workflow_subtasks"
    __table_args__ = (
        Index("ix_workflow_subtasks_child", "child_ticket_id"),
        Index("ix_workflow_subtasks_instance", "instance_id", "created_at"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_instances.id", ondelete="CASCADE"))
    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_steps.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(16))
    child_ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")


class WorkflowApproval(IdMixin, TenantScoped, CreatedAtMixin, Base):
    """One approval request to one approver (``approver_id`` None: nobody was found, an admin
    decides). ``state``: queued (a later turn in a sequence), pending, approved, rejected, closed."""

    __tablename__ = "workflow_approvals"
    __table_args__ = (
        Index("ix_workflow_approvals_inbox", "tenant_id", "approver_id", "state", "created_at"),
        Index("ix_workflow_approvals_instance", "instance_id", "position"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_instances.id", ondelete="CASCADE"))
    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_steps.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(64))
    node_label: Mapped[str] = mapped_column(String(100), default="")
    mode: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)
    approver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

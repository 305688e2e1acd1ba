"""Workflow routes: definitions (``admin.workflows`` to change; agents may list them to start one),
checking a graph, publishing versions; a ticket's run (start, progress, a step done, cancel); the
caller's approval inbox and decisions (only the designated approver may decide: 403 otherwise)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor, ActorKind
from huiliu.core.errors import ValidationFailed
from huiliu.runtime import Runtime
from huiliu.tickets import queries as ticket_queries
from huiliu.workflows import queries, service
from huiliu.workflows.models import (
    Workflow,
    WorkflowApproval,
    WorkflowInstance,
    WorkflowStep,
    WorkflowVersion,
)
from huiliu.workflows.schemas import (
    GRAPH_EXAMPLE,
    ApprovalList,
    ApprovalOut,
    DecisionIn,
    GraphIn,
    StartIn,
    StepDoneIn,
    TicketWorkflowOut,
    ValidationOut,
    WorkflowCreate,
    WorkflowList,
    WorkflowOut,
    WorkflowPatch,
    WorkflowVersionList,
    WorkflowVersionOut,
)

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])
tickets_router = APIRouter(prefix="/api/v1/tickets", tags=["workflows"])
approvals_router = APIRouter(prefix="/api/v1/approvals", tags=["workflows"])
READ_PERMISSIONS = (service.PERMISSION, "ticket.read")
INBOX_LIMIT = 200


def _published_differs(workflow: Workflow, latest: WorkflowVersion | None) -> bool:
    if latest is None:
        return True
    return service._published_graph(workflow.graph) != latest.graph


def workflow_out(workflow: Workflow, latest: WorkflowVersion | None, running: int) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "graph": workflow.graph,
        "latest_version": workflow.latest_version,
        "active": workflow.active,
        "draft_changed": _published_differs(workflow, latest),
        "running": running,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
    }


def version_out(version: WorkflowVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "workflow_id": version.workflow_id,
        "version": version.version,
        "graph": version.graph,
        "published_at": version.published_at,
        "published_by": version.published_by,
    }


def step_out(step: WorkflowStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "node_id": step.node_id,
        "node_type": step.node_type,
        "label": step.label,
        "status": step.status,
        "outcome": step.outcome,
        "entered_reason": step.entered_reason,
        "completed_reason": step.completed_reason,
        "entered_at": step.entered_at,
        "completed_at": step.completed_at,
        "due_at": step.due_at,
        "overdue_at": step.overdue_at,
    }


def _can_decide(actor: Actor, approval: WorkflowApproval) -> bool:
    if approval.state != "pending":
        return False
    if approval.approver_id is None:
        return actor.can(service.PERMISSION)
    return actor.kind is ActorKind.USER and actor.id == approval.approver_id


def approval_out(
    actor: Actor, approval: WorkflowApproval, names: dict[uuid.UUID, str], **more: Any
) -> dict[str, Any]:
    return {
        "id": approval.id,
        "instance_id": approval.instance_id,
        "ticket_id": approval.ticket_id,
        "node_id": approval.node_id,
        "node_label": approval.node_label,
        "mode": approval.mode,
        "position": approval.position,
        "approver_id": approval.approver_id,
        "approver_name": names.get(approval.approver_id) if approval.approver_id else None,
        "state": approval.state,
        "comment": approval.comment,
        "decided_by": approval.decided_by,
        "decided_at": approval.decided_at,
        "created_at": approval.created_at,
        "can_decide": _can_decide(actor, approval),
        **more,
    }


async def _workflow(runtime: Runtime, actor: Actor, workflow_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        workflow = await queries.get_workflow(session, workflow_id)
        latest = (
            await queries.get_version(session, workflow.id, workflow.latest_version)
            if workflow.latest_version
            else None
        )
        running = (await queries.running_counts(session)).get(workflow.id, 0)
    return workflow_out(workflow, latest, running)


# --- definitions ----------------------------------------------------------------------------------


@router.get("", response_model=WorkflowList, summary="The tenant's workflows")
async def list_workflows(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_workflows(session)
        running = await queries.running_counts(session)
        items = []
        for row in rows:
            latest = (
                await queries.get_version(session, row.id, row.latest_version) if row.latest_version else None
            )
            items.append(workflow_out(row, latest, running.get(row.id, 0)))
    return {"items": items}


@router.post("", status_code=201, response_model=WorkflowOut, summary="Create a workflow (a draft)")
async def create_workflow(
    body: Annotated[
        WorkflowCreate,
        Body(openapi_examples={"approve then end": {"value": {"name": "退款审批", "graph": GRAPH_EXAMPLE}}}),
    ],
    actor: ActorDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        workflow = await service.create_workflow(uow, actor, body)
    return workflow_out(workflow, None, 0)


@router.post("/validate", response_model=ValidationOut, summary="Check a graph (nothing is stored)")
async def validate_graph(body: GraphIn, actor: ActorDep) -> dict[str, Any]:
    """Every problem the graph has, per node (``node_id``) or edge (``edge``, its index); an empty
    list means it can be published."""
    actor.require(service.PERMISSION)
    errors = service.definition_problems(body.graph)
    return {"valid": not errors, "errors": errors}


@router.get("/{workflow_id}", response_model=WorkflowOut, summary="A workflow with its draft graph")
async def get_workflow(workflow_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    return await _workflow(runtime, actor, workflow_id)


@router.patch(
    "/{workflow_id}", response_model=WorkflowOut, summary="Change a workflow's draft, name or switch"
)
async def update_workflow(
    workflow_id: uuid.UUID, body: WorkflowPatch, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.update_workflow(uow, actor, workflow_id, body)
    return await _workflow(runtime, actor, workflow_id)


@router.delete("/{workflow_id}", status_code=204, summary="Delete a workflow that never ran")
async def delete_workflow(workflow_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_workflow(uow, actor, workflow_id)
    return Response(status_code=204)


@router.post("/{workflow_id}:validate", response_model=ValidationOut, summary="Check a workflow's draft")
async def validate_draft(workflow_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        workflow = await queries.get_workflow(session, workflow_id)
    errors = service.definition_problems(workflow.graph)
    return {"valid": not errors, "errors": errors}


@router.post(
    "/{workflow_id}:publish",
    status_code=201,
    response_model=WorkflowVersionOut,
    summary="Publish the draft as a version",
)
async def publish(workflow_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """422 with ``errors`` (per node) and ``node_ids`` when the draft cannot run."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        version = await service.publish(uow, actor, workflow_id)
    return version_out(version)


@router.get(
    "/{workflow_id}/versions", response_model=WorkflowVersionList, summary="Published versions, newest first"
)
async def list_versions(workflow_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    async with runtime.db.read(actor.tenant_id) as session:
        await queries.get_workflow(session, workflow_id)
        rows = await queries.versions(session, workflow_id)
    return {"items": [version_out(row) for row in rows]}


@router.get(
    "/{workflow_id}/versions/{version}", response_model=WorkflowVersionOut, summary="One published version"
)
async def get_version(
    workflow_id: uuid.UUID, version: int, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    actor.require_any(*READ_PERMISSIONS)
    async with runtime.db.read(actor.tenant_id) as session:
        row = await queries.get_version(session, workflow_id, version)
    return version_out(row)


# --- a ticket's run -------------------------------------------------------------------------------


async def _instance_out(session: Any, actor: Actor, instance: WorkflowInstance) -> dict[str, Any]:
    version = await queries.version_by_id(session, instance.version_id)
    workflow = await queries.get_workflow(session, instance.workflow_id)
    steps = await queries.steps_of(session, instance.id)
    approvals = await queries.approvals_of(session, instance.id)
    names = await queries.user_names(session, [row.approver_id for row in approvals])
    subtasks = await queries.subtasks_of(session, instance.id)
    return {
        "id": instance.id,
        "workflow_id": instance.workflow_id,
        "workflow_name": workflow.name,
        "version": instance.version,
        "status": instance.status,
        "current_node": instance.current_node,
        "started_at": instance.started_at,
        "completed_at": instance.completed_at,
        "graph": version.graph,
        "steps": [step_out(step) for step in steps],
        "approvals": [approval_out(actor, row, names) for row in approvals],
        "subtasks": [
            {
                "id": sub.id,
                "node_id": sub.node_id,
                "key": sub.key,
                "child_ticket_id": sub.child_ticket_id,
                "number": number,
                "title": title,
                "ticket_status": status,
                "status": sub.status,
            }
            for sub, (number, title, status) in subtasks
        ],
    }


async def _ticket_workflow(runtime: Runtime, actor: Actor, ticket_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.read(actor.tenant_id) as session:
        await ticket_queries.get_visible_ticket(session, actor, ticket_id)
        instances = await queries.instances_of_ticket(session, ticket_id)
        if not instances:
            return {"current": None, "history": []}
        live = next((row for row in instances if row.status in queries.LIVE_STATUSES), instances[0])
        current = await _instance_out(session, actor, live)
    return {"current": current, "history": [row.id for row in instances if row.id != live.id]}


@tickets_router.get(
    "/{ticket_id}/workflow", response_model=TicketWorkflowOut, summary="A ticket's workflow progress"
)
async def ticket_workflow(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The running (else the latest) run: the pinned graph, steps with reasons and time limits,
    approval requests and sub-tasks."""
    actor.require("ticket.read")
    return await _ticket_workflow(runtime, actor, ticket_id)


@tickets_router.post(
    "/{ticket_id}/workflow", status_code=201, response_model=TicketWorkflowOut, summary="Start a workflow"
)
async def start(ticket_id: uuid.UUID, body: StartIn, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Start the workflow's latest published version on the ticket (409 when one is running)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.start_workflow(
            uow, actor, ticket_id, body.workflow_id, reason=f"started by {actor.name}"
        )
    return await _ticket_workflow(runtime, actor, ticket_id)


@tickets_router.post(
    "/{ticket_id}/workflow/steps/{node_id}:done", response_model=TicketWorkflowOut, summary="Mark a step done"
)
async def step_done(
    ticket_id: uuid.UUID, node_id: str, body: StepDoneIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The current handling step is done: the run moves on (409 when it is not the current step)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.complete_step(uow, actor, ticket_id, node_id, body.comment)
    return await _ticket_workflow(runtime, actor, ticket_id)


@tickets_router.post(
    "/{ticket_id}/workflow:cancel", response_model=TicketWorkflowOut, summary="Cancel the run"
)
async def cancel(
    ticket_id: uuid.UUID, body: DecisionIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.cancel(uow, actor, ticket_id, body.comment)
    return await _ticket_workflow(runtime, actor, ticket_id)


# --- approvals ------------------------------------------------------------------------------------


@approvals_router.get("", response_model=ApprovalList, summary="The caller's approval inbox")
async def inbox(
    actor: ActorDep,
    runtime: RuntimeDep,
    state: Annotated[
        str, Query(description="pending (default), decided (approved or rejected), or all")
    ] = "pending",
) -> dict[str, Any]:
    """Approval requests addressed to the caller — and, for holders of ``admin.workflows``, those
    nobody could be found for — newest first. An approver sees the ticket's number and title here
    even when the ticket lies outside their data scope: they were asked to decide on it."""
    if actor.kind is not ActorKind.USER and not actor.can(service.PERMISSION):
        raise ValidationFailed("the approval inbox belongs to a signed-in user")
    wanted = {
        "pending": ("pending",),
        "decided": ("approved", "rejected"),
        "all": queries.APPROVAL_STATES,
    }.get(state)
    if wanted is None:
        raise ValidationFailed("state must be pending, decided or all")
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.inbox(
            session,
            actor.id if actor.kind is ActorKind.USER else None,
            states=wanted,
            include_unassigned=actor.can(service.PERMISSION),
            limit=INBOX_LIMIT,
        )
        names = await queries.user_names(session, [row.approver_id for row, *_ in rows])
    return {
        "items": [
            approval_out(actor, row, names, ticket_number=number, ticket_title=title, workflow_name=name)
            for row, number, title, name in rows
        ]
    }


async def _decide(
    runtime: Runtime, actor: Actor, approval_id: uuid.UUID, approve: bool, comment: str
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        approval = await service.decide(uow, actor, approval_id, approve=approve, comment=comment)
    async with runtime.db.read(actor.tenant_id) as session:
        fresh = await queries.get_approval(session, approval.id)
        names = await queries.user_names(session, [fresh.approver_id])
    return approval_out(actor, fresh, names)


@approvals_router.post("/{approval_id}:approve", response_model=ApprovalOut, summary="Approve")
async def approve(
    approval_id: uuid.UUID, body: DecisionIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return await _decide(runtime, actor, approval_id, True, body.comment)


@approvals_router.post(
    "/{approval_id}:reject", response_model=ApprovalOut, summary="Reject (the run goes back)"
)
async def reject(
    approval_id: uuid.UUID, body: DecisionIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The run returns to the approve node's ``reject_to`` node."""
    return await _decide(runtime, actor, approval_id, False, body.comment)

"""Workflow use cases: definitions (create, edit the draft, validate, publish a version), runs on
tickets (start, a handling step done, approve / reject, a sub-task closed, cancel).

The engine (``domain.engine``) decides; ``_Run.apply`` carries its effects out through
``tickets.service`` — assignments, sub-tasks as child tickets, reopen / resolve — and records every
step as a ``workflow.*`` ticket event with its reason, all in the caller's unit of work: the run's
new state, its steps and the ticket changes commit together or not at all (the service functions'
own commits are held while effects apply, as automation's ``apply_actions`` does)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import Actor, ActorKind, system_actor
from huiliu.automation import references
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.core.outbox import STATE_PENDING, OutboxRow
from huiliu.customers import queries as customer_queries
from huiliu.db.session import TenantFlagCache, UnitOfWork
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Priority, Status
from huiliu.tickets.models import Ticket
from huiliu.tickets.schemas import TicketCreate
from huiliu.timers import service as timers
from huiliu.workflows import queries
from huiliu.workflows.domain import engine
from huiliu.workflows.domain.definition import APPROVE, Definition, DefinitionError, parse_definition
from huiliu.workflows.models import (
    Workflow,
    WorkflowApproval,
    WorkflowInstance,
    WorkflowStep,
    WorkflowSubtask,
    WorkflowVersion,
)
from huiliu.workflows.schemas import WorkflowCreate, WorkflowPatch

PERMISSION = "admin.workflows"
ACTOR_PREFIX = "workflow"
SUBTASK_CHANNEL = "internal"
KIND_NOTIFICATION = "notification"
# The ticket timer that fires when a step's time limit passes (timers.register_timer_handler).
TIMER_KIND = "workflow"
MAX_REASON = 1000
# Whether a tenant has a published, active workflow (the reactor's ``applies``); writes invalidate.
published_flags = TenantFlagCache(2.0)


def definition_problems(graph: Any) -> list[dict[str, Any]]:
    """Every problem of a graph (empty: it can be published)."""
    try:
        parse_definition(graph)
    except DefinitionError as exc:
        return [problem.to_dict() for problem in exc.problems]
    return []


def _checked(graph: Any) -> Definition:
    try:
        return parse_definition(graph)
    except DefinitionError as exc:
        raise ValidationFailed(
            f"the workflow is not valid: {len(exc.problems)} problem(s) "
            f"at nodes {', '.join(exc.node_ids) or '-'}",
            errors=[problem.to_dict() for problem in exc.problems],
            node_ids=exc.node_ids,
        ) from exc


def _check_draft_shape(graph: Any) -> dict[str, Any]:
    """A draft may be incomplete, but it is a graph: nodes and edges lists of objects."""
    if not isinstance(graph, Mapping):
        raise ValidationFailed("graph must be an object with nodes and edges")
    nodes, edges = graph.get("nodes", []), graph.get("edges", [])
    if set(graph) - {"nodes", "edges", "viewport"}:
        raise ValidationFailed("graph takes nodes, edges and viewport")
    if not isinstance(nodes, list) or not all(isinstance(node, Mapping) for node in nodes):
        raise ValidationFailed("graph.nodes must be a list of objects")
    if not isinstance(edges, list) or not all(isinstance(edge, Mapping) for edge in edges):
        raise ValidationFailed("graph.edges must be a list of objects")
    if len(nodes) > 200 or len(edges) > 400:
        raise ValidationFailed("a workflow has at most 200 nodes and 400 edges")
    return {
        "nodes": nodes,
        "edges": edges,
        **({"viewport": graph["viewport"]} if "viewport" in graph else {}),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _published_graph(graph: Mapping[str, Any]) -> dict[str, Any]:
    return {"nodes": list(graph.get("nodes", [])), "edges": list(graph.get("edges", []))}


# --- definitions ----------------------------------------------------------------------------------


async def create_workflow(uow: UnitOfWork, actor: Actor, request: WorkflowCreate) -> Workflow:
    """A new workflow with a draft graph (checked only for shape: publish checks it fully)."""
    actor.require(PERMISSION)
    now = utcnow()
    workflow = Workflow(
        id=new_id(),
        tenant_id=actor.tenant_id,
        name=request.name.strip(),
        description=request.description,
        graph=_check_draft_shape(request.graph),
        latest_version=None,
        active=request.active,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(workflow)
    await _flush_unique(uow)
    await uow.commit()
    return workflow


async def _flush_unique(uow: UnitOfWork) -> None:
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise Conflict("a workflow with this name already exists") from exc


async def update_workflow(
    uow: UnitOfWork, actor: Actor, workflow_id: uuid.UUID, request: WorkflowPatch
) -> Workflow:
    """Change the name, description, draft graph or active flag. Published versions never change."""
    actor.require(PERMISSION)
    workflow = await queries.get_workflow(uow.session, workflow_id)
    wanted = request.model_dump(exclude_unset=True)
    if wanted.get("name") is not None:
        workflow.name = wanted["name"].strip()
    if wanted.get("description") is not None:
        workflow.description = wanted["description"]
    if wanted.get("graph") is not None:
        workflow.graph = _check_draft_shape(wanted["graph"])
    if wanted.get("active") is not None:
        workflow.active = wanted["active"]
    workflow.updated_at = utcnow()
    await _flush_unique(uow)
    await uow.commit()
    published_flags.invalidate(actor.tenant_id)
    return workflow


async def delete_workflow(uow: UnitOfWork, actor: Actor, workflow_id: uuid.UUID) -> None:
    """Delete a workflow that never ran; one with runs is switched off instead (409)."""
    actor.require(PERMISSION)
    workflow = await queries.get_workflow(uow.session, workflow_id)
    if await queries.has_runs(uow.session, workflow_id):
        raise Conflict(
            "this workflow has runs on tickets: switch it off (active false) instead of deleting it"
        )
    await uow.session.delete(workflow)
    await uow.commit()
    published_flags.invalidate(actor.tenant_id)


async def publish(uow: UnitOfWork, actor: Actor, workflow_id: uuid.UUID) -> WorkflowVersion:
    """Check the draft and store it as the next immutable version; new runs start on it, runs
    already going keep theirs. 422 with per-node problems when the draft cannot run."""
    actor.require(PERMISSION)
    workflow = await queries.get_workflow(uow.session, workflow_id)
    _checked(workflow.graph)
    number = (workflow.latest_version or 0) + 1
    version = WorkflowVersion(
        id=new_id(),
        tenant_id=actor.tenant_id,
        workflow_id=workflow.id,
        version=number,
        graph=_published_graph(workflow.graph),
        published_at=utcnow(),
        published_by=actor.id if actor.kind is ActorKind.USER else None,
    )
    uow.session.add(version)
    workflow.latest_version = number
    workflow.updated_at = utcnow()
    await uow.commit()
    published_flags.invalidate(actor.tenant_id)
    return version


# --- runs -----------------------------------------------------------------------------------------


@dataclass
class _Run:
    """One run being advanced in a unit of work: its rows, its pinned definition, and the actor
    ticket changes are made as."""

    uow: UnitOfWork
    instance: WorkflowInstance
    definition: Definition
    workflow_name: str
    actor: Actor
    steps: dict[str, WorkflowStep] = field(default_factory=dict)
    # Who decides an approval (the approval events are theirs; the ticket changes the engine's).
    decider: Actor | None = None

    @property
    def ticket_id(self) -> uuid.UUID:
        return self.instance.ticket_id

    async def ticket(self) -> Ticket:
        ticket = await self.uow.session.get(Ticket, self.ticket_id)
        if ticket is None:
            raise NotFound("ticket not found")
        return ticket

    def extra(self, **more: Any) -> dict[str, Any]:
        return {
            "workflow": {
                "id": self.instance.workflow_id,
                "name": self.workflow_name,
                "version": self.instance.version,
                "instance_id": self.instance.id,
            },
            **more,
        }

    async def record(self, event_type: str, reason: str, actor: Actor | None = None, **more: Any) -> None:
        tickets.record(
            self.uow,
            actor or self.actor,
            await self.ticket(),
            event_type,
            {},
            reason=reason[:MAX_REASON],
            extra=self.extra(**more),
        )

    async def step(self, node_id: str) -> WorkflowStep:
        found = self.steps.get(node_id)
        if found is None or found.status != "active":
            found = await queries.active_step(self.uow.session, self.instance.id, node_id)
            if found is None:
                raise Conflict(f"the workflow has no active step at node {node_id!r}")
            self.steps[node_id] = found
        return found


def _ticket_facts(ticket: Ticket, customer: Any | None) -> dict[str, Any]:
    return {
        "ticket": {
            "priority": ticket.priority,
            "channel": ticket.channel,
            "category": ticket.category,
            "scenario": ticket.scenario,
            "status": ticket.status,
            "title": ticket.title,
            "tags": list(ticket.tags or []),
        },
        "fields": dict(ticket.fields or {}),
        "customer": (
            {"level": customer.level, "attributes": dict(customer.attributes or {})}
            if customer is not None
            else {}
        ),
    }


async def _context(uow: UnitOfWork, definition: Definition, ticket: Ticket) -> engine.Context:
    customer = None
    if ticket.customer_id is not None:
        try:
            customer = await customer_queries.get_customer(uow.session, ticket.customer_id)
        except NotFound:
            customer = None
    approvers: dict[str, list[str]] = {}
    for node in definition.nodes.values():
        if node.type == APPROVE:
            approvers[node.id] = [str(user_id) for user_id in await _approvers(uow, node.config, ticket)]
    return engine.Context(facts=_ticket_facts(ticket, customer), approvers=approvers)


async def _approvers(uow: UnitOfWork, config: Mapping[str, Any], ticket: Ticket) -> list[uuid.UUID]:
    rule = config["approvers"]
    if rule["kind"] == "users":
        found = [await references.resolve_user(uow, str(ref)) for ref in rule["users"]]
        return list(dict.fromkeys(user_id for user_id in found if user_id is not None))
    if rule["kind"] == "role":
        return await references.role_members(uow, await references.resolve_roles(uow, [str(rule["role"])]))
    team_id = ticket.team_id
    if rule.get("team"):
        team_id = await references.resolve_team(uow, str(rule["team"]))
    return await references.team_leads(uow, team_id)


async def _load_run(uow: UnitOfWork, instance: WorkflowInstance, actor: Actor) -> _Run:
    version = await queries.version_by_id(uow.session, instance.version_id)
    workflow = await queries.get_workflow(uow.session, instance.workflow_id)
    definition = parse_definition(version.graph)
    return _Run(uow, instance, definition, workflow.name, actor)


def _engine_actor(tenant_id: uuid.UUID, workflow_name: str) -> Actor:
    return system_actor(tenant_id, f"{ACTOR_PREFIX}:{workflow_name}"[:100])


async def start_workflow(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, workflow_id: uuid.UUID, *, reason: str | None = None
) -> WorkflowInstance:
    """Start the workflow's latest published version on a ticket the actor sees; 409 when the ticket
    already runs a workflow or the workflow is switched off or unpublished."""
    actor.require("ticket.update")
    ticket = await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
    try:
        workflow = await queries.get_workflow(uow.session, workflow_id)
    except NotFound as exc:
        raise ValidationFailed("workflow_id names no workflow of this tenant") from exc
    if not workflow.active:
        raise Conflict(f"workflow {workflow.name!r} is switched off")
    if workflow.latest_version is None:
        raise Conflict(f"workflow {workflow.name!r} has no published version")
    if await queries.live_instance(uow.session, ticket.id) is not None:
        raise Conflict("this ticket already runs a workflow; cancel it first")
    version = await queries.get_version(uow.session, workflow.id, workflow.latest_version)
    definition = parse_definition(version.graph)
    now = utcnow()
    instance = WorkflowInstance(
        id=new_id(),
        tenant_id=uow.tenant_id,
        ticket_id=ticket.id,
        workflow_id=workflow.id,
        version_id=version.id,
        version=version.version,
        status=engine.RUNNING,
        current_node=None,
        state={},
        started_at=now,
        completed_at=None,
        updated_at=now,
    )
    uow.session.add(instance)
    run = _Run(uow, instance, definition, workflow.name, _engine_actor(actor.tenant_id, workflow.name))
    await _holding(uow, _start(run, actor, reason or "started"))
    await uow.commit()
    return instance


async def _start(run: _Run, actor: Actor, reason: str) -> None:
    await run.uow.session.flush()
    await run.record(ev.WORKFLOW_STARTED, reason, actor)
    context = await _context(run.uow, run.definition, await run.ticket())
    await _apply(run, engine.start(run.definition, context))


async def _holding(uow: UnitOfWork, work: Any) -> None:
    """Run ``work`` (a coroutine) with the ticket service's commits held, so the whole step
    commits at the caller's commit."""
    holding = not uow.reacting
    uow.reacting = True
    try:
        await work
    finally:
        if holding:
            uow.reacting = False


async def _advance(run: _Run, event: engine.Event) -> engine.Step:
    state = engine.State.from_json(run.instance.state)
    context = await _context(run.uow, run.definition, await run.ticket())
    try:
        step = engine.advance(run.definition, state, event, context)
    except engine.NotAnApprover as exc:
        raise PermissionDenied(str(exc)) from exc
    except engine.StepRejected as exc:
        raise Conflict(str(exc)) from exc
    await _apply(run, step)
    return step


async def _apply(run: _Run, step: engine.Step) -> None:
    for effect in step.effects:
        await _APPLY[type(effect)](run, effect)
    instance = run.instance
    instance.state = step.state.to_json()
    instance.status = step.state.status
    instance.current_node = step.state.current
    instance.updated_at = utcnow()
    if step.state.status in {engine.COMPLETED, engine.CANCELLED} and instance.completed_at is None:
        instance.completed_at = utcnow()
    await run.uow.session.flush()
    await timers.set_timer(
        run.uow, run.ticket_id, TIMER_KIND, await queries.next_due(run.uow.session, run.ticket_id)
    )


async def _enter(run: _Run, effect: engine.EnterNode) -> None:
    now = utcnow()
    due_at = now + timedelta(minutes=effect.time_limit_minutes) if effect.time_limit_minutes else None
    step = WorkflowStep(
        id=new_id(),
        tenant_id=run.instance.tenant_id,
        instance_id=run.instance.id,
        ticket_id=run.ticket_id,
        node_id=effect.node_id,
        node_type=effect.node_type,
        label=effect.label,
        status="active",
        outcome=None,
        entered_reason=effect.reason[:MAX_REASON],
        completed_reason=None,
        entered_at=now,
        completed_at=None,
        due_at=due_at,
        overdue_at=None,
    )
    run.uow.session.add(step)
    run.steps[effect.node_id] = step
    await run.uow.session.flush()
    await run.record(
        ev.WORKFLOW_STEP_ENTERED,
        effect.reason,
        step={
            "id": step.id,
            "node_id": effect.node_id,
            "type": effect.node_type,
            "label": effect.label,
            "due_at": due_at,
        },
    )


async def _leave(run: _Run, effect: engine.LeaveNode) -> None:
    step = await run.step(effect.node_id)
    step.status = "cancelled" if effect.outcome == engine.CANCELLED else "completed"
    step.outcome = effect.outcome
    step.completed_reason = effect.reason[:MAX_REASON]
    step.completed_at = utcnow()
    await run.record(
        ev.WORKFLOW_STEP_COMPLETED,
        effect.reason,
        step={
            "id": step.id,
            "node_id": step.node_id,
            "type": step.node_type,
            "label": step.label,
            "outcome": effect.outcome,
        },
    )


async def _note(run: _Run, body: str) -> None:
    await tickets.add_message(run.uow, run.actor, run.ticket_id, body, public=False)


async def _assign(run: _Run, effect: engine.Assign) -> None:
    uow = run.uow
    ticket = await run.ticket()
    reason = f"workflow {run.workflow_name}: step {effect.node_id}"
    if effect.kind == "routing_policy":
        from huiliu.routing import service as routing  # a sibling above tickets, loaded when used

        try:
            await routing.route(
                uow, ticket.id, policy=effect.ref, actor_name=run.actor.name, reason_prefix=reason
            )
        except (NotFound, Conflict, ValidationFailed) as exc:
            await _note(
                run, f"流程分配失败 / Workflow assignment failed: routing {effect.ref!r}: {exc.detail}"
            )
        return
    team_id, assignee_id = ticket.team_id, ticket.assignee_id
    if effect.kind == "team":
        team_id = await references.resolve_team(uow, effect.ref)
        if team_id is None:
            await _note(run, f"流程分配失败 / Workflow assignment failed: no team {effect.ref!r}")
            return
        if assignee_id is not None and await references.user_team(uow, assignee_id) != team_id:
            assignee_id = None
    else:
        if effect.kind == "user":
            assignee_id = await references.resolve_user(uow, effect.ref)
        else:
            members = await references.role_members(uow, await references.resolve_roles(uow, [effect.ref]))
            load = await queries.open_load(uow.session, members)
            assignee_id = (
                min(members, key=lambda member: (load.get(member, 0), str(member))) if members else None
            )
        if assignee_id is None:
            await _note(
                run, f"流程分配失败 / Workflow assignment failed: nobody for {effect.kind} {effect.ref!r}"
            )
            return
        team_id = await references.user_team(uow, assignee_id) or team_id
    if (team_id, assignee_id) != (ticket.team_id, ticket.assignee_id):
        await tickets.assign(
            uow, run.actor, ticket.id, team_id=team_id, assignee_id=assignee_id, reason=reason
        )


async def _reopen(run: _Run, effect: engine.ReopenForWork) -> None:
    ticket = await run.ticket()
    if ticket.status in {Status.RESOLVED.value, Status.CLOSED.value} and ticket.merged_into_id is None:
        await tickets.reopen(run.uow, run.actor, ticket.id, effect.reason)


async def _request(run: _Run, effect: engine.RequestApproval) -> None:
    step = await run.step(effect.node_id)
    ordered = list(effect.active) + list(effect.queued)
    rows = []
    for position, approver in enumerate(ordered):
        row = WorkflowApproval(
            id=new_id(),
            tenant_id=run.instance.tenant_id,
            instance_id=run.instance.id,
            step_id=step.id,
            ticket_id=run.ticket_id,
            node_id=effect.node_id,
            node_label=step.label,
            mode=effect.mode,
            position=position,
            approver_id=uuid.UUID(approver) if approver else None,
            state="pending" if approver in effect.active else "queued",
            comment=None,
            decided_by=None,
            decided_at=None,
            created_at=utcnow(),
        )
        run.uow.session.add(row)
        rows.append(row)
    await run.uow.session.flush()
    await _announce(run, [row for row in rows if row.state == "pending"])


async def _announce(run: _Run, rows: list[WorkflowApproval]) -> None:
    """``workflow.approval_requested`` for the requests that are now up for decision, and an in-app
    notification to their approvers."""
    if not rows:
        return
    approvers = [row.approver_id for row in rows]
    label = rows[0].node_label or rows[0].node_id
    await run.record(
        ev.WORKFLOW_APPROVAL_REQUESTED,
        f"{label}: approval requested ({rows[0].mode})",
        approval={
            "node_id": rows[0].node_id,
            "mode": rows[0].mode,
            "ids": [row.id for row in rows],
            "approvers": approvers,
        },
    )
    recipients = [user_id for user_id in approvers if user_id is not None]
    if recipients:
        ticket = await run.ticket()
        await _notification(
            run, recipients, ["in_app"], "info", f"待审批：#{ticket.number} {ticket.title}（{label}）"
        )


async def _activate(run: _Run, effect: engine.ActivateApprover) -> None:
    rows = await queries.open_approvals(run.uow.session, run.instance.id, effect.node_id)
    wanted = uuid.UUID(effect.approver) if effect.approver else None
    for row in rows:
        if row.state == "queued" and row.approver_id == wanted:
            row.state = "pending"
            await run.uow.session.flush()
            await _announce(run, [row])
            return


async def _decision(run: _Run, effect: engine.RecordDecision) -> None:
    rows = await queries.open_approvals(run.uow.session, run.instance.id, effect.node_id)
    wanted = uuid.UUID(effect.approver) if effect.approver else None
    row = next((r for r in rows if r.state == "pending" and r.approver_id == wanted), None)
    if row is None:
        raise Conflict("this approval request is no longer open")
    row.state = engine.APPROVED if effect.approved else engine.REJECTED
    row.comment = effect.comment or None
    row.decided_at = utcnow()
    row.decided_by = run.decider.id if run.decider is not None else None
    await run.uow.session.flush()
    await run.record(
        ev.WORKFLOW_APPROVED if effect.approved else ev.WORKFLOW_REJECTED,
        effect.reason,
        run.decider,
        approval={
            "id": row.id,
            "node_id": row.node_id,
            "approver_id": row.approver_id,
            "comment": effect.comment,
        },
    )


async def _close(run: _Run, effect: engine.CloseApprovals) -> None:
    await run.uow.session.flush()
    for row in await queries.open_approvals(run.uow.session, run.instance.id, effect.node_id):
        if row.state in {"pending", "queued"}:
            row.state = "closed"


async def _subtasks(run: _Run, effect: engine.CreateSubtasks) -> None:
    uow = run.uow
    parent = await run.ticket()
    step = await run.step(effect.node_id)
    for sub in effect.subtasks:
        team_id = parent.team_id
        note = ""
        if sub.team:
            team_id = await references.resolve_team(uow, sub.team)
            if team_id is None:
                note = f"\n(no team {sub.team!r}: left on no team)"
        assignee_id = await references.resolve_user(uow, sub.assignee) if sub.assignee else None
        if (
            assignee_id is not None
            and team_id is not None
            and await references.user_team(uow, assignee_id) != team_id
        ):
            team_id = await references.user_team(uow, assignee_id)
        child = await tickets.create_ticket(
            uow,
            run.actor,
            TicketCreate(
                title=sub.title[:300],
                description=f"子任务：工单 #{parent.number}「{parent.title}」"
                f"/ sub-task of #{parent.number}{note}",
                priority=Priority(parent.priority),
                channel=SUBTASK_CHANNEL,
                team_id=team_id,
                assignee_id=assignee_id,
                parent_id=parent.id,
                customer=None,
            ),
        )
        uow.session.add(
            WorkflowSubtask(
                id=new_id(),
                tenant_id=run.instance.tenant_id,
                instance_id=run.instance.id,
                step_id=step.id,
                node_id=effect.node_id,
                key=sub.key,
                child_ticket_id=child["id"],
                status="open",
                created_at=utcnow(),
            )
        )
    await uow.session.flush()


async def _notify(run: _Run, effect: engine.Notify) -> None:
    uow = run.uow
    ticket = await run.ticket()
    rule = effect.recipients
    found: list[uuid.UUID] = []
    for ref in rule.get("users", []):
        user_id = await references.resolve_user(uow, str(ref))
        if user_id is not None:
            found.append(user_id)
    found += await references.role_members(
        uow, await references.resolve_roles(uow, list(rule.get("roles", [])))
    )
    if rule.get("team_lead"):
        found += await references.team_leads(uow, ticket.team_id)
    if rule.get("assignee") and ticket.assignee_id is not None:
        found.append(ticket.assignee_id)
    recipients = list(dict.fromkeys(found))
    if not recipients:
        await _note(run, f"流程通知未发送 / Workflow notification not sent (no recipient): {effect.message}")
        return
    await _notification(run, recipients, list(effect.channels), effect.severity, effect.message)


async def _notification(
    run: _Run, recipients: list[uuid.UUID], channels: list[str], severity: str, message: str
) -> None:
    """An outbox row of kind ``notification`` (delivered by the notifications package) and the
    ``ticket.notified`` event, as automation's notify action writes them."""
    ticket = await run.ticket()
    now = utcnow()
    notification_id = new_id()
    origin = {"kind": "workflow", "id": str(run.instance.workflow_id), "name": run.workflow_name}
    run.uow.session.add(
        OutboxRow(
            id=notification_id,
            tenant_id=run.instance.tenant_id,
            kind=KIND_NOTIFICATION,
            event_id=notification_id,
            event_type=ev.TICKET_NOTIFIED,
            payload={
                "id": str(notification_id),
                "ticket": _jsonable(tickets.summary(ticket)),
                "recipients": [str(user_id) for user_id in recipients],
                "channels": channels,
                "severity": severity,
                "message": message,
                "origin": origin,
            },
            state=STATE_PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    tickets.record(
        run.uow,
        run.actor,
        ticket,
        ev.TICKET_NOTIFIED,
        {},
        reason=f"workflow {run.workflow_name}",
        extra={
            "notification": {
                "id": notification_id,
                "recipients": recipients,
                "channels": channels,
                "severity": severity,
                "message": message,
            },
            "origin": origin,
        },
    )


async def _resolve(run: _Run, effect: engine.ResolveTicket) -> None:
    ticket = await run.ticket()
    if ticket.status in {Status.NEW.value, Status.OPEN.value, Status.PENDING.value, Status.ON_HOLD.value}:
        await tickets.change_status(run.uow, run.actor, ticket.id, Status.RESOLVED, effect.reason)


async def _complete(run: _Run, effect: engine.Complete) -> None:
    await run.record(ev.WORKFLOW_COMPLETED, effect.reason, outcome=effect.outcome)


_APPLY: dict[type, Any] = {
    engine.EnterNode: _enter,
    engine.LeaveNode: _leave,
    engine.Assign: _assign,
    engine.ReopenForWork: _reopen,
    engine.RequestApproval: _request,
    engine.ActivateApprover: _activate,
    engine.RecordDecision: _decision,
    engine.CloseApprovals: _close,
    engine.CreateSubtasks: _subtasks,
    engine.Notify: _notify,
    engine.ResolveTicket: _resolve,
    engine.Complete: _complete,
}


async def _live_run(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID) -> _Run:
    instance = await queries.live_instance(uow.session, ticket_id)
    if instance is None:
        raise Conflict("this ticket runs no workflow")
    run = await _load_run(uow, instance, actor)
    run.actor = _engine_actor(actor.tenant_id, run.workflow_name)
    return run


async def complete_step(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, node_id: str, comment: str = ""
) -> WorkflowInstance:
    """An agent marks the current handling step done (the run moves on)."""
    actor.require("ticket.update")
    await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
    run = await _live_run(uow, actor, ticket_id)
    reason = f"marked done by {actor.name}" + (f": {comment}" if comment else "")
    await _holding(uow, _advance(run, engine.HandleDone(node_id, reason)))
    await uow.commit()
    return run.instance


async def decide(
    uow: UnitOfWork, actor: Actor, approval_id: uuid.UUID, *, approve: bool, comment: str = ""
) -> WorkflowApproval:
    """Approve or reject an approval request. Only its approver may (403 otherwise); a request
    nobody could be found for is decided by a holder of ``admin.workflows``."""
    approval = await queries.get_approval(uow.session, approval_id)
    if approval.approver_id is None:
        actor.require(PERMISSION)
    elif actor.kind is not ActorKind.USER or actor.id != approval.approver_id:
        raise PermissionDenied("only the designated approver may decide this approval")
    if approval.state != "pending":
        raise Conflict(f"this approval request is {approval.state}, not pending")
    instance = await uow.session.get(WorkflowInstance, approval.instance_id)
    if instance is None or instance.status not in queries.LIVE_STATUSES:
        raise Conflict("the workflow of this approval is no longer running")
    run = await _load_run(uow, instance, actor)
    run.actor = _engine_actor(actor.tenant_id, run.workflow_name)
    run.decider = actor
    approver = str(approval.approver_id) if approval.approver_id else None
    event = engine.Decide(approval.node_id, approver, approve, comment.strip(), actor.name)
    await _holding(uow, _advance(run, event))
    await uow.commit()
    return approval


async def cancel(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, reason: str = "") -> WorkflowInstance:
    """Stop the ticket's run (its open approvals close; sub-tasks stay as tickets)."""
    actor.require("ticket.update")
    await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
    run = await _live_run(uow, actor, ticket_id)
    why = f"cancelled by {actor.name}" + (f": {reason}" if reason else "")
    await _holding(uow, _advance(run, engine.Cancel(why)))
    await uow.commit()
    return run.instance


# --- reactions (called by the reactor inside the unit of work that changed a ticket) -------------


async def on_ticket_created(
    uow: UnitOfWork, ticket_id: uuid.UUID, workflow_id: uuid.UUID, reason: str
) -> None:
    """Start the workflow a new ticket names (its template's); a workflow that is gone, off or
    unpublished leaves an internal note instead of failing the ticket's creation."""
    assert uow.tenant_id is not None
    actor = system_actor(uow.tenant_id, ACTOR_PREFIX)
    await uow.session.flush()
    try:
        await start_workflow(uow, actor, ticket_id, workflow_id, reason=reason)
    except (Conflict, ValidationFailed, NotFound) as exc:
        await tickets.add_message(
            uow, actor, ticket_id, f"流程未启动 / Workflow not started: {exc.detail}", public=False
        )


async def on_ticket_merged(uow: UnitOfWork, source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """A sub-task ticket was merged into another: its work goes on there, so the join waits for the
    ticket it was merged into — unless that one is already resolved or closed, or is the ticket the
    workflow runs on (it would wait for itself); then the sub-task is done now."""
    assert uow.tenant_id is not None
    session = uow.session
    target = await session.get(Ticket, target_id)
    for subtask in await queries.open_subtasks_of_child(session, source_id):
        instance = await session.get(WorkflowInstance, subtask.instance_id)
        finished = target is None or target.status in {Status.RESOLVED.value, Status.CLOSED.value}
        if instance is not None and not finished and instance.ticket_id != target_id:
            subtask.child_ticket_id = target_id
            continue
        subtask.status = "done"
        if instance is None or instance.status not in queries.LIVE_STATUSES:
            continue
        run = await _load_run(uow, instance, system_actor(uow.tenant_id, ACTOR_PREFIX))
        run.actor = _engine_actor(uow.tenant_id, run.workflow_name)
        source = await session.get(Ticket, source_id)
        number = source.number if source is not None else "?"
        await _holding(uow, _advance(run, engine.ChildClosed(subtask.key, f"sub-task #{number} merged")))
    await session.flush()


async def on_ticket_done(uow: UnitOfWork, ticket_id: uuid.UUID, status: str) -> None:
    """A ticket was resolved or closed: its sub-task record closes (its parent's join may go on), and
    its own run's current handling step is done."""
    assert uow.tenant_id is not None
    session = uow.session
    for subtask in await queries.open_subtasks_of_child(session, ticket_id):
        subtask.status = "done"
        instance = await session.get(WorkflowInstance, subtask.instance_id)
        if instance is None or instance.status not in queries.LIVE_STATUSES:
            continue
        run = await _load_run(uow, instance, system_actor(uow.tenant_id, ACTOR_PREFIX))
        run.actor = _engine_actor(uow.tenant_id, run.workflow_name)
        child = await session.get(Ticket, ticket_id)
        number = child.number if child is not None else "?"
        await _holding(uow, _advance(run, engine.ChildClosed(subtask.key, f"sub-task #{number} {status}")))
    instance = await queries.live_instance(session, ticket_id)
    if instance is None or instance.status != engine.WAITING or instance.current_node is None:
        return
    run = await _load_run(uow, instance, system_actor(uow.tenant_id, ACTOR_PREFIX))
    if run.definition.node(instance.current_node).type != "handle":
        return
    run.actor = _engine_actor(uow.tenant_id, run.workflow_name)
    await _holding(uow, _advance(run, engine.HandleDone(instance.current_node, f"ticket {status}")))


async def on_timer(uow: UnitOfWork, ticket_id: uuid.UUID, now: datetime) -> datetime | None:
    """The ``workflow`` timer: mark the ticket's steps past their time limit overdue, say so on the
    ticket (an internal note) and notify its assignee and team leads; return the next time limit."""
    assert uow.tenant_id is not None
    for step in await queries.overdue_steps(uow.session, ticket_id, now):
        step.overdue_at = now
        instance = await uow.session.get(WorkflowInstance, step.instance_id)
        if instance is None:
            continue
        run = await _load_run(uow, instance, system_actor(uow.tenant_id, ACTOR_PREFIX))
        run.actor = _engine_actor(uow.tenant_id, run.workflow_name)
        await _holding(uow, _overdue(run, step))
    await uow.session.flush()
    return await queries.next_due(uow.session, ticket_id)


async def _overdue(run: _Run, step: WorkflowStep) -> None:
    label = step.label or step.node_id
    ticket = await run.ticket()
    await _note(run, f"流程步骤「{label}」已超时 / Workflow step {label!r} is past its time limit")
    recipients = [ticket.assignee_id] if ticket.assignee_id is not None else []
    recipients += await references.team_leads(run.uow, ticket.team_id)
    approvers = [
        row.approver_id
        for row in await queries.open_approvals(run.uow.session, run.instance.id, step.node_id)
        if row.state == "pending" and row.approver_id is not None
    ]
    recipients = list(dict.fromkeys(recipients + approvers))
    if recipients:
        message = f"流程步骤超时：#{ticket.number} {ticket.title}（{label}）"
        await _notification(run, recipients, ["in_app"], "warning", message)

"""Rule routes: create, list, read, change, delete, reorder, install the presets, change history and
the dry run on a ticket. Every route needs ``admin.rules``; another tenant's ids answer 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.automation import queries, service
from huiliu.automation.domain import EventType
from huiliu.automation.models import Rule
from huiliu.automation.reactor import current_facts
from huiliu.automation.rule_cache import compile_tenant_rules
from huiliu.automation.schemas import (
    RULE_EXAMPLE,
    DryRunOut,
    DryRunRequest,
    PresetsInstalledOut,
    PresetsRequest,
    ReorderRequest,
    RuleChangeList,
    RuleList,
    RuleOut,
)
from huiliu.core.clock import utcnow
from huiliu.core.errors import NotFound
from huiliu.core.idempotency_api import run_idempotent
from huiliu.runtime import Runtime

# The dry run checks the ticket's visibility through the tickets' read side.
from huiliu.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
DefinitionBody = Annotated[
    dict[str, Any],
    Body(
        description="a rule definition without id (see docs/automation.md); every problem is "
        "reported in one 422 with its path",
        openapi_examples={"refund": {"summary": "退款 → 售后", "value": RULE_EXAMPLE}},
    ),
]
PatchBody = Annotated[
    dict[str, Any],
    Body(
        description="keys to change; a key set to null goes back to its default; the result is "
        "validated as a whole",
        openapi_examples={"switch off": {"value": {"active": False}}},
    ),
]


def rule_out(row: Rule) -> dict[str, Any]:
    definition = row.definition
    return {
        "id": row.id,
        "name": row.name,
        "description": definition.get("description", ""),
        "kind": row.kind,
        "on": definition.get("on"),
        "position": row.position,
        "active": row.active,
        "stop_processing": row.stop_processing,
        "conditions": definition.get("conditions", {"all": []}),
        "actions": definition.get("actions", []),
        "preset_key": row.preset_key,
        "fired_count": row.fired_count,
        "last_fired_at": row.last_fired_at,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


async def _read(runtime: Runtime, actor: Actor, rule_id: uuid.UUID) -> Rule:
    async with runtime.db.read(actor.tenant_id) as session:
        return await queries.require_rule(session, rule_id)


@router.get("", response_model=RuleList, summary="The tenant's rules in evaluation order")
async def list_rules(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_rules(session)
    return {"items": [rule_out(row) for row in rows]}


@router.post("", status_code=201, response_model=RuleOut, summary="Create a rule")
async def create_rule(
    body: DefinitionBody, actor: ActorDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Without ``position`` the rule goes after the last one. ``Idempotency-Key`` is honoured."""
    actor.require(service.PERMISSION)

    async def create(uow: Any, new_id: uuid.UUID) -> None:
        await service.create_rule(uow, actor, body, rule_id=new_id)

    rule_id, _ = await run_idempotent(
        runtime.db,
        actor.tenant_id,
        actor.id or actor.tenant_id,
        "rules.create",
        idempotency_key,
        body,
        create,
    )
    return rule_out(await _read(runtime, actor, rule_id))


@router.post(":reorder", response_model=RuleList, summary="Put every rule in a new order")
async def reorder_rules(body: ReorderRequest, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """``ids`` lists every rule of the tenant exactly once; positions become 10, 20, 30 …"""
    async with runtime.db.uow(actor.tenant_id) as uow:
        rows = await service.reorder_rules(uow, actor, body.ids)
    return {"items": [rule_out(row) for row in rows]}


@router.post("/presets", response_model=PresetsInstalledOut, summary="Install the preset rules (idempotent)")
async def install_presets(
    actor: ActorDep, runtime: RuntimeDep, body: PresetsRequest | None = None
) -> dict[str, Any]:
    """The three preset rules (退款 → 售后, 24 h unhandled → escalate, rating < 3 → QA review), each
    once: presets the tenant already has are listed in ``already_installed``."""
    request = body or PresetsRequest()
    async with runtime.db.uow(actor.tenant_id) as uow:
        outcome = await service.install_presets(uow, actor, request.language)
    return {
        "installed": [rule_out(row) for row in outcome.installed],
        "already_installed": outcome.already_installed,
    }


@router.post("/dry-run", response_model=DryRunOut, summary="Which rules would fire on a ticket now, and why")
async def dry_run(body: DryRunRequest, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Evaluates the stored rules (all, or ``rule_ids``) on the ticket's current facts for ``event``,
    with every rule's outcome (fired, not_matched with the failing conditions, inactive, other_event,
    already_fired, not_reached, invalid) and the actions that would be planned. Writes nothing. The
    ticket must be visible to the caller."""
    actor.require(service.PERMISSION)
    actor.require("ticket.read")
    now = utcnow()
    async with runtime.db.read(actor.tenant_id) as session:
        ticket = await ticket_queries.get_visible_ticket(session, actor, body.ticket_id)
        rows = await queries.list_rules(session)
        # The facts the reactor and the timer sweep would see (rating, SLA percentages, and for
        # "timer" the automations already fired for their anchors).
        compiled = compile_tenant_rules([(row.id, row.definition) for row in rows])
        seen = await current_facts(session, compiled, ticket.id, now, timer=body.event == "timer")
    facts = seen.facts
    report = service.run_dry_run(rows, facts, EventType(body.event), body.rule_ids)
    return {"ticket_id": ticket.id, "evaluated_at": now, **report}


@router.get("/{rule_id}", response_model=RuleOut, summary="A rule")
async def get_rule(rule_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    return rule_out(await _read(runtime, actor, rule_id))


@router.patch("/{rule_id}", response_model=RuleOut, summary="Change a rule (validated again as a whole)")
async def update_rule(
    rule_id: uuid.UUID, body: PatchBody, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await service.update_rule(uow, actor, rule_id, body)
    return rule_out(row)


@router.delete("/{rule_id}", status_code=204, response_class=Response, summary="Delete a rule")
async def delete_rule(rule_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Response:
    async with runtime.db.uow(actor.tenant_id) as uow:
        await service.delete_rule(uow, actor, rule_id)
    return Response(status_code=204)


@router.get("/{rule_id}/changes", response_model=RuleChangeList, summary="A rule's change history")
async def rule_changes(rule_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Newest first, kept after the rule is deleted; an id that never was a rule answers 404."""
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        changes = await queries.changes_of(session, rule_id)
    if not changes:
        raise NotFound("rule not found")
    return {"items": changes}

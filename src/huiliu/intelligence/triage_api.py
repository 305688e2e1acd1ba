"""Classification on tickets, triage (待分类) and the intelligence settings (docs/intelligence.md).

* ``GET /api/v1/triage``: tickets the classifier was unsure about, within the caller's data scope,
  with the model's top guesses (``ticket.read``).
* ``POST /api/v1/triage/{ticket_id}``: confirm or correct scenario / category / priority with one
  call (``ticket.update``); changed values are corrections, unchanged ones confirmations (learning mode).
* ``GET /api/v1/tickets/{ticket_id}/classification``: what the model said about a ticket.
* ``GET|PUT /api/v1/intelligence/settings``: the tenant's switch, thresholds per target, the urgent
  confidence and the category taxonomy (``admin.intelligence``).
* ``GET /api/v1/intelligence/categories``: the taxonomy with display names, for everyone who reads
  tickets (triage, the ticket page, the rule builder).
* ``GET /api/v1/intelligence/model``: the model cards (``admin.intelligence``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.models import Tenant
from huiliu.core.clock import utcnow
from huiliu.core.errors import NotFound, ValidationFailed
from huiliu.intelligence.models import ClassificationCorrection, TicketClassification
from huiliu.intelligence.store import store_for
from huiliu.intelligence.taxonomy import MAX_CATEGORIES, MAX_KEY_CHARS, MAX_NAME_CHARS
from huiliu.intelligence.triage import (
    SETTINGS_KEY,
    TRIAGE_TARGETS,
    ClassificationReactor,
    parse_settings,
    read_config,
    tenant_model_path,
    ticket_text,
)
from huiliu.runtime import Runtime
from huiliu.tickets import queries as ticket_queries
from huiliu.tickets import service as tickets
from huiliu.tickets.domain import Priority
from huiliu.tickets.models import Ticket
from huiliu.tickets.schemas import TicketUpdate

router = APIRouter(prefix="/api/v1", tags=["intelligence"])

MAX_LIMIT = 200


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: Literal["presales", "sales", "aftersales", "complaint"] | None = None
    category: str | None = Field(default=None, min_length=1, max_length=100)
    priority: Priority | None = None


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: float = Field(ge=0, le=1)
    category: float = Field(ge=0, le=1)
    priority: float = Field(ge=0, le=1)


class CategoryNames(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    zh_cn: str = Field(alias="zh-CN", min_length=1, max_length=MAX_NAME_CHARS)
    en: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS, description="what tickets and rules store")
    names: CategoryNames


class TaxonomyCategoryOut(BaseModel):
    key: str
    names: dict[str, str] = Field(description='display names: {"zh-CN": …, "en": …}')


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    thresholds: Thresholds
    urgent_confidence: float = Field(ge=0, le=1)
    categories: list[CategoryIn] | None = Field(
        default=None,
        max_length=MAX_CATEGORIES,
        description="the category taxonomy (1–100, unique keys); left out: the stored one is kept",
    )


class SettingsOut(BaseModel):
    enabled: bool
    thresholds: Thresholds
    urgent_confidence: float
    categories: list[TaxonomyCategoryOut]


class CategoriesOut(BaseModel):
    items: list[TaxonomyCategoryOut]


def classification_out(row: TicketClassification) -> dict[str, Any]:
    return {
        "ticket_id": row.ticket_id,
        "labels": row.labels,
        "confidence": row.confidence,
        "guesses": row.guesses,
        "low": row.low,
        "model_version": row.model_version,
        "needs_triage": row.needs_triage,
        "triaged_by": row.triaged_by,
        "triaged_at": row.triaged_at,
        "created_at": row.created_at,
    }


@router.get("/triage", summary="Tickets waiting for triage (待分类) with the model's top guesses")
async def triage_list(
    actor: ActorDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    actor.require("ticket.read")
    statement = (
        select(TicketClassification, Ticket)
        .join(Ticket, Ticket.id == TicketClassification.ticket_id)
        .where(TicketClassification.needs_triage.is_(True))
        .order_by(TicketClassification.created_at.desc(), TicketClassification.ticket_id)
        .limit(limit)
    )
    scope = ticket_queries.scope_clause(actor)
    if scope is not None:
        statement = statement.where(scope)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = (await session.execute(statement)).all()
    items = []
    for row, ticket in rows:
        item = classification_out(row)
        item["ticket"] = {
            "id": ticket.id,
            "number": ticket.number,
            "title": ticket.title,
            "status": ticket.status,
            "priority": ticket.priority,
            "scenario": ticket.scenario,
            "category": ticket.category,
            "created_at": ticket.created_at,
        }
        items.append(item)
    return {"items": items}


@router.post("/triage/{ticket_id}", summary="Confirm or correct a ticket's classification")
async def triage_decide(
    ticket_id: uuid.UUID, body: TriageIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    actor.require("ticket.update")
    wanted = body.model_dump(exclude_none=True)
    async with runtime.db.uow(actor.tenant_id) as uow:
        row = await uow.session.get(TicketClassification, ticket_id)
        if row is None:
            raise NotFound("This ticket has no classification.")
        before = await ticket_queries.get_visible_ticket(uow.session, actor, ticket_id)
        if body.category is not None and actor.tenant_id is not None:
            taxonomy = (await read_config(uow.session, actor.tenant_id)).category_keys
            if body.category not in taxonomy:
                raise ValidationFailed(
                    f"category {body.category!r} is not in the tenant's taxonomy "
                    "(设置 → 智能分类, GET /api/v1/intelligence/categories)."
                )
        current = {target: getattr(before, target) for target in TRIAGE_TARGETS}
        # Changed values go through the one write path; the classification reactor records them as
        # corrections when it sees the agent's ticket.updated event.
        changed = {
            k: v for k, v in wanted.items() if (v.value if isinstance(v, Priority) else v) != current[k]
        }
        ticket = await tickets.update_ticket(uow, actor, ticket_id, TicketUpdate(**changed))
        for target, value in wanted.items():
            plain = value.value if isinstance(value, Priority) else value
            if target in changed:
                continue
            uow.session.add(
                ClassificationCorrection(
                    tenant_id=row.tenant_id,
                    ticket_id=ticket_id,
                    target=target,
                    predicted=row.labels.get(target),
                    corrected=plain,
                    ticket_text=ticket_text(ticket.title, ticket.description),
                    created_by=actor.id,
                )
            )
        row.needs_triage = False
        row.triaged_by = actor.id
        row.triaged_at = utcnow()
        await uow.commit()
        return classification_out(row)


@router.get(
    "/tickets/{ticket_id}/classification",
    summary="The model's classification of a ticket",
    responses={204: {"description": "the ticket was not classified"}},
)
async def ticket_classification(ticket_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> Any:
    """The classifier's labels, confidences and top guesses. 204 (no body) when the ticket was not
    classified (its tenant has classification off, or it predates the switch) — the ticket page asks
    for every ticket, so that is an answer, not an error; 404 when the ticket is not visible."""
    actor.require("ticket.read")
    async with runtime.db.read(actor.tenant_id) as session:
        await ticket_queries.get_visible_ticket(session, actor, ticket_id)
        row = await session.get(TicketClassification, ticket_id)
        if row is None:
            return Response(status_code=204)
        return classification_out(row)


def _reactor(runtime: Runtime) -> ClassificationReactor | None:
    for reactor in runtime.db.reactors:
        if isinstance(reactor, ClassificationReactor):
            return reactor
    return None


@router.get("/intelligence/settings", response_model=SettingsOut, summary="Classification settings")
async def settings_get(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require("admin.intelligence")
    async with runtime.db.read(None, system=True) as session:
        tenant = await session.get(Tenant, actor.tenant_id)
        raw = (tenant.settings or {}).get(SETTINGS_KEY) if tenant is not None else None
    return parse_settings(raw).as_dict()


@router.put("/intelligence/settings", response_model=SettingsOut, summary="Change classification settings")
async def settings_put(body: SettingsIn, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Replace the settings; ``categories`` left out keeps the stored taxonomy. Removing a category
    changes no ticket: tickets keep their category, the classifier stops offering it."""
    actor.require("admin.intelligence")
    async with runtime.db.uow(None, system=True) as uow:
        tenant = await uow.session.get(Tenant, actor.tenant_id)
        if tenant is None:
            raise NotFound("Tenant not found.")
        wanted = body.model_dump(by_alias=True)
        if body.categories is None:
            stored = (tenant.settings or {}).get(SETTINGS_KEY)
            wanted["categories"] = stored.get("categories") if isinstance(stored, dict) else None
        parsed = parse_settings(wanted)
        tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: parsed.as_dict()}
        await uow.commit()
    reactor = _reactor(runtime)
    if reactor is not None and actor.tenant_id is not None:
        reactor.configs.invalidate(actor.tenant_id)
    return parsed.as_dict()


@router.get(
    "/intelligence/categories",
    response_model=CategoriesOut,
    summary="The tenant's category taxonomy with display names",
)
async def categories_get(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The categories the classifier may fill and triage may choose, in the tenant's order, with
    their zh-CN and English names (``ticket.read``)."""
    actor.require("ticket.read")
    if actor.tenant_id is None:
        raise NotFound("Tenant not found.")
    async with runtime.db.read(None, system=True) as session:
        config = await read_config(session, actor.tenant_id)
    return {"items": [category.as_dict() for category in config.categories]}


@router.get("/intelligence/model", summary="Model cards: the shipped model and the tenant's learning mode")
async def model_cards(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The shipped model's card (data size, date, held-out metrics when ``huiliu train`` measured
    them) and the tenant's last learning-mode run (promoted or not and why), or null before the first."""
    actor.require("admin.intelligence")
    settings = runtime.settings
    # Learning mode trains with scikit-learn: imported here, not by the module, so API workers that
    # never show a model card do not hold it (docs/intelligence.md, Performance).
    from huiliu.intelligence.learning import read_card

    store = store_for(settings.classifier_model_path, settings.classifier_dataset_dir)
    shipped = (await asyncio.to_thread(store.serving)).card
    tenant_id = actor.tenant_id
    own = tenant_model_path(settings, tenant_id).is_file() if tenant_id is not None else False
    return {
        "shipped": {
            "trained_at": shipped.trained_at,
            "examples": shipped.examples,
            "dataset": shipped.dataset,
            "seed": shipped.seed,
            "sklearn_version": shipped.sklearn_version,
            "metrics": shipped.metrics,
        },
        "tenant": read_card(settings, tenant_id) if tenant_id is not None else None,
        "serving": "tenant" if own else "shipped",
    }

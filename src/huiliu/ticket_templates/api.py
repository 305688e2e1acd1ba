"""Ticket template routes under /api/v1/templates. Reading templates needs ``ticket.read`` (agents
pick a template when they create a ticket) or ``admin.templates``; every write and the preset library
need ``admin.templates``. ``POST /{id}:validate`` checks values without writing (designer preview)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from huiliu.auth.deps import ActorDep, RuntimeDep
from huiliu.auth.domain import Actor
from huiliu.core.errors import ValidationFailed
from huiliu.ticket_templates import queries, service
from huiliu.ticket_templates.models import TicketTemplate, TicketTemplateVersion
from huiliu.ticket_templates.presets import PRESETS
from huiliu.ticket_templates.schemas import (
    TemplateDraftUpdate,
    TemplatePresetList,
    TemplateSummary,
    TemplateVersionList,
    TemplateVersionOut,
    TicketTemplateCreate,
    TicketTemplateList,
    TicketTemplateOut,
    ValidateIn,
    ValidateOut,
)

router = APIRouter(prefix="/api/v1/templates", tags=["ticket templates"])
READ = ("ticket.read", service.PERMISSION)


def template_out(template: TicketTemplate) -> dict[str, Any]:
    return {
        name: getattr(template, name)
        for name in (
            "id",
            "key",
            "name",
            "description",
            "scenario",
            "status",
            "fields",
            "defaults",
            "workflow_id",
            "sla_policy_id",
            "current_version",
            "current_version_id",
            "has_draft_changes",
            "preset_key",
            "created_at",
            "updated_at",
        )
    }


def version_out(version: TicketTemplateVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in TemplateVersionOut.model_fields}


def _reader(actor: Actor) -> None:
    actor.require_any(*READ)


@router.get("", response_model=TicketTemplateList, summary="The tenant's ticket templates")
async def list_templates(
    actor: ActorDep, runtime: RuntimeDep, status: str | None = None, scenario: str | None = None
) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        rows = await queries.list_templates(session, status=status, scenario=scenario)
    return {"items": [TemplateSummary.model_validate(queries.summary(row)) for row in rows]}


@router.get("/presets", response_model=TemplatePresetList, summary="The industry preset library")
async def list_presets(actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    actor.require(service.PERMISSION)
    async with runtime.db.read(actor.tenant_id) as session:
        installed = await queries.installed_presets(session)
    return {
        "items": [
            {
                "key": key,
                "name": preset["name"],
                "description": preset["description"],
                "scenario": preset["scenario"],
                "industry": preset["industry"],
                "field_count": len(preset["fields"]),
                "installed_template_id": installed.get(key),
            }
            for key, preset in PRESETS.items()
        ]
    }


@router.post(
    "/presets/{key}:install", status_code=201, response_model=TicketTemplateOut, summary="Install a preset"
)
async def install_preset(key: str, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Create the preset as a template of this tenant, published as version 1 (409 when installed)."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        template = await service.install_preset(uow, actor, key)
        return template_out(template)


@router.get("/versions/{version_id}", response_model=TemplateVersionOut, summary="A version by its id")
async def get_version_by_id(version_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The version a ticket pinned (``template_version_id``): the ticket page shows its fields."""
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return version_out(await queries.version_by_id(session, version_id))


@router.post("", status_code=201, response_model=TicketTemplateOut, summary="Create a template (draft)")
async def create_template(body: TicketTemplateCreate, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return template_out(await service.create_template(uow, actor, body))


@router.get("/{template_id}", response_model=TicketTemplateOut, summary="A template with its draft")
async def get_template(template_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return template_out(await queries.get_template(session, template_id))


@router.patch("/{template_id}", response_model=TicketTemplateOut, summary="Change the draft")
async def update_draft(
    template_id: uuid.UUID, body: TemplateDraftUpdate, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return template_out(await service.update_draft(uow, actor, template_id, body))


@router.post(
    "/{template_id}:publish", status_code=201, response_model=TemplateVersionOut, summary="Publish the draft"
)
async def publish(template_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Snapshot the draft as the next immutable version; new tickets use it from now on."""
    async with runtime.db.uow(actor.tenant_id) as uow:
        return version_out(await service.publish(uow, actor, template_id))


@router.post("/{template_id}:archive", response_model=TicketTemplateOut, summary="Archive a template")
async def archive(template_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.uow(actor.tenant_id) as uow:
        return template_out(await service.archive(uow, actor, template_id))


@router.get("/{template_id}/versions", response_model=TemplateVersionList, summary="Published versions")
async def list_versions(template_id: uuid.UUID, actor: ActorDep, runtime: RuntimeDep) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        await queries.get_template(session, template_id)
        return {"items": [version_out(v) for v in await queries.list_versions(session, template_id)]}


@router.get("/{template_id}/versions/{version}", response_model=TemplateVersionOut, summary="One version")
async def get_version(
    template_id: uuid.UUID, version: int, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    _reader(actor)
    async with runtime.db.read(actor.tenant_id) as session:
        return version_out(await queries.get_version(session, template_id, version))


@router.post("/{template_id}:validate", response_model=ValidateOut, summary="Check values (no writes)")
async def validate(
    template_id: uuid.UUID, body: ValidateIn, actor: ActorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Check field values as ``role`` would submit them on ``channel``: against ``fields`` when given
    (an unsaved designer draft), else the saved draft or the published version (``source``). Answers
    200 with ``ok``, the clean values, per-field errors and the keys of the fields shown."""
    actor.require_any("ticket.create", service.PERMISSION)
    async with runtime.db.uow(actor.tenant_id) as uow:
        template = await queries.get_template(uow.session, template_id)
        if body.fields is not None:
            fields = body.fields
        elif body.source == "published":
            if template.current_version_id is None:
                raise ValidationFailed("the template has no published version")
            fields = (await queries.version_by_id(uow.session, template.current_version_id)).fields
        else:
            fields = template.fields
        schema = service.schema_of(fields)
        checked = await service.check_values(uow, schema, body.values, channel=body.channel, role=body.role)
    return {
        "ok": checked.ok,
        "values": checked.values,
        "errors": [error.as_problem() for error in checked.errors],
        "visible": checked.visible,
    }

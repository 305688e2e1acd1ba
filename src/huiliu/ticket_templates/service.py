"""Use cases of ticket templates: create and edit the draft, publish it as a new immutable version,
archive, install an industry preset; and, for the ticket write path, check a ticket's field values
against the version it uses. Template writes need ``admin.templates`` and run in one transaction of
the caller's tenant.

Values are checked in two steps: the pure rules (``domain.validate_values``), then the references
they name (attachments, customers) against this tenant's rows. Any problem raises ValidationFailed
with ``errors: [{field, code, message, messages}]`` and nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from huiliu.auth.domain import Actor, ActorKind
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import UnitOfWork
from huiliu.ticket_templates import queries
from huiliu.ticket_templates.domain import (
    Checked,
    FieldError,
    SchemaInvalid,
    TemplateDefaults,
    TemplateSchema,
    check_defaults,
    check_key,
    load_schema,
    ticket_scenario,
    validate_values,
)
from huiliu.ticket_templates.models import TicketTemplate, TicketTemplateVersion
from huiliu.ticket_templates.presets import PRESETS
from huiliu.ticket_templates.schemas import TemplateDraftUpdate, TicketTemplateCreate

PERMISSION = "admin.templates"


class TemplateUnavailable(ValidationFailed):
    """The template named does not exist in the tenant or is not published (draft or archived)."""


MAX_TEMPLATES = 300
IMAGE_TYPES = ("image/",)


def schema_of(fields: Any) -> TemplateSchema:
    try:
        return load_schema(fields)
    except SchemaInvalid as exc:
        errors = [{"field": path, "message": message} for path, message in exc.problems]
        raise ValidationFailed(f"the field schema is not valid: {exc}", errors=errors) from exc


def _defaults(raw: Mapping[str, Any]) -> dict[str, Any]:
    return check_defaults({key: value for key, value in raw.items() if value not in (None, [])})


async def _check_references(uow: UnitOfWork, sla_policy_id: uuid.UUID | None) -> None:
    assert uow.tenant_id is not None
    if sla_policy_id is not None and not await queries.sla_policy_exists(
        uow.session, uow.tenant_id, sla_policy_id
    ):
        raise ValidationFailed("sla_policy_id does not name an SLA policy of this tenant")


async def create_template(uow: UnitOfWork, actor: Actor, request: TicketTemplateCreate) -> TicketTemplate:
    """A new template in ``draft`` with the given draft; the key is unique in the tenant."""
    actor.require(PERMISSION)
    template = await _add(uow, actor, request, preset_key=None)
    await uow.commit()
    return template


async def _add(
    uow: UnitOfWork, actor: Actor, request: TicketTemplateCreate, *, preset_key: str | None
) -> TicketTemplate:
    key = check_key(request.key)
    schema_of(request.fields)
    defaults = _defaults(request.defaults.model_dump(mode="json"))
    await _check_references(uow, request.sla_policy_id)
    if await queries.template_by_key(uow.session, key) is not None:
        raise Conflict(f"a template with the key {key!r} exists already")
    if len(await queries.list_templates(uow.session)) >= MAX_TEMPLATES:
        raise Conflict(f"a tenant has at most {MAX_TEMPLATES} templates")
    now = utcnow()
    template = TicketTemplate(
        id=new_id(),
        tenant_id=actor.tenant_id,
        key=key,
        name=request.name,
        description=request.description,
        scenario=request.scenario,
        status="draft",
        fields=list(request.fields),
        defaults=defaults,
        workflow_id=request.workflow_id,
        sla_policy_id=request.sla_policy_id,
        current_version=None,
        current_version_id=None,
        has_draft_changes=True,
        preset_key=preset_key,
        created_at=now,
        updated_at=now,
        updated_by_id=actor.id,
    )
    uow.session.add(template)
    await uow.session.flush()
    return template


async def update_draft(
    uow: UnitOfWork, actor: Actor, template_id: uuid.UUID, request: TemplateDraftUpdate
) -> TicketTemplate:
    """Change the draft. A published template keeps serving its current version until the draft is
    published again; versions themselves never change."""
    actor.require(PERMISSION)
    template = await queries.get_template(uow.session, template_id)
    if template.status == "archived":
        raise Conflict("an archived template cannot be edited; publish it again to restore it first")
    changes = request.model_dump(exclude_unset=True)
    if "fields" in changes and changes["fields"] is not None:
        schema_of(changes["fields"])
        template.fields = list(changes["fields"])
    if "defaults" in changes and changes["defaults"] is not None:
        template.defaults = _defaults(changes["defaults"])
    if "sla_policy_id" in changes:
        await _check_references(uow, changes["sla_policy_id"])
        template.sla_policy_id = changes["sla_policy_id"]
    if "workflow_id" in changes:
        template.workflow_id = changes["workflow_id"]
    for name in ("name", "description", "scenario"):
        if changes.get(name) is not None:
            setattr(template, name, changes[name])
    template.has_draft_changes = True
    template.updated_at = utcnow()
    template.updated_by_id = actor.id
    await uow.commit()
    return template


async def publish(uow: UnitOfWork, actor: Actor, template_id: uuid.UUID) -> TicketTemplateVersion:
    """Snapshot the draft as the next version and make it the one new tickets use. Publishing an
    archived template restores it. Publishing an unchanged draft again is refused (409)."""
    actor.require(PERMISSION)
    template = await queries.get_template(uow.session, template_id)
    if template.status == "published" and not template.has_draft_changes:
        raise Conflict(f"version {template.current_version} already matches the draft")
    version = await _snapshot(uow, actor, template)
    await uow.commit()
    return version


async def _snapshot(uow: UnitOfWork, actor: Actor, template: TicketTemplate) -> TicketTemplateVersion:
    schema_of(template.fields)
    number = await queries.latest_version_number(uow.session, template.id) + 1
    version = TicketTemplateVersion(
        id=new_id(),
        tenant_id=actor.tenant_id,
        template_id=template.id,
        version=number,
        name=template.name,
        scenario=template.scenario,
        fields=list(template.fields),
        defaults=dict(template.defaults),
        workflow_id=template.workflow_id,
        sla_policy_id=template.sla_policy_id,
        published_by_id=actor.id,
        created_at=utcnow(),
    )
    uow.session.add(version)
    template.status = "published"
    template.current_version = number
    template.current_version_id = version.id
    template.has_draft_changes = False
    template.updated_at = utcnow()
    template.updated_by_id = actor.id
    return version


async def archive(uow: UnitOfWork, actor: Actor, template_id: uuid.UUID) -> TicketTemplate:
    """No new tickets from this template; tickets made from it keep their version."""
    actor.require(PERMISSION)
    template = await queries.get_template(uow.session, template_id)
    if template.status == "archived":
        raise Conflict("the template is archived already")
    template.status = "archived"
    template.updated_at = utcnow()
    template.updated_by_id = actor.id
    await uow.commit()
    return template


def preset_request(key: str) -> TicketTemplateCreate:
    preset = PRESETS.get(key)
    if preset is None:
        raise NotFound(f"no preset {key!r}")
    return TicketTemplateCreate.model_validate(
        {name: preset[name] for name in ("key", "name", "description", "scenario", "fields", "defaults")}
    )


async def install_preset(uow: UnitOfWork, actor: Actor, key: str) -> TicketTemplate:
    """Install an industry preset as a template of this tenant and publish it as version 1."""
    actor.require(PERMISSION)
    request = preset_request(key)
    installed = await queries.installed_presets(uow.session)
    if key in installed:
        raise Conflict(f"the preset {key!r} is installed already", template_id=str(installed[key]))
    template = await _add(uow, actor, request, preset_key=key)
    await _snapshot(uow, actor, template)
    await uow.commit()
    return template


# --- values --------------------------------------------------------------------------------------


async def role_of(uow: UnitOfWork, actor: Actor) -> str | None:
    """The role name per-role field rules are written for (users only; others have none)."""
    if actor.kind is not ActorKind.USER or actor.id is None:
        return None
    return await queries.role_of_user(uow.session, actor.id)


async def _reference_errors(uow: UnitOfWork, schema: TemplateSchema, checked: Checked) -> list[FieldError]:
    specs = schema.by_key()
    errors: list[FieldError] = []
    for key, ids in checked.attachment_ids.items():
        for attachment_id in ids:
            content_type = await queries.attachment_kind(uow.session, uuid.UUID(attachment_id))
            if content_type is None:
                errors.append(
                    FieldError(key, "attachment", "附件不存在", "names an attachment that does not exist")
                )
                break
            if specs[key].type in {"image", "signature"} and not content_type.startswith(IMAGE_TYPES):
                errors.append(FieldError(key, "attachment", "应为图片", "must be an image"))
                break
    for key, customer_id in checked.customer_ids.items():
        if not await queries.customer_exists(uow.session, uuid.UUID(customer_id)):
            errors.append(FieldError(key, "customer", "客户不存在", "names a customer that does not exist"))
    return errors


def raise_field_errors(errors: list[FieldError]) -> None:
    if errors:
        first = errors[0]
        raise ValidationFailed(
            f"fields.{first.field}: {first.en}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            errors=[error.as_problem() for error in errors],
        )


async def check_values(
    uow: UnitOfWork,
    schema: TemplateSchema,
    values: Mapping[str, Any],
    *,
    channel: str | None,
    role: str | None,
    current: Mapping[str, Any] | None = None,
) -> Checked:
    """The pure check plus the tenant's references; returns every error (nothing raised)."""
    checked = validate_values(schema, values, channel=channel, role=role, current=current)
    extra = await _reference_errors(uow, schema, checked)
    if extra:
        return Checked(checked.values, [*checked.errors, *extra], checked.visible)
    return checked


@dataclass(frozen=True)
class TemplateUse:
    """What a new ticket takes from its template: the version it pins, the clean field values, the
    defaults and the references the ``ticket.created`` event carries (workflows start from it)."""

    template_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    workflow_id: uuid.UUID | None
    sla_policy_id: uuid.UUID | None
    scenario: str
    defaults: TemplateDefaults
    values: dict[str, Any]

    @property
    def ticket_scenario(self) -> str | None:
        return ticket_scenario(self.scenario)

    def event_data(self) -> dict[str, Any]:
        return {
            "template_id": str(self.template_id),
            "template_version": self.version,
            "template_version_id": str(self.version_id),
            "workflow_id": str(self.workflow_id) if self.workflow_id else None,
            "sla_policy_id": str(self.sla_policy_id) if self.sla_policy_id else None,
        }


async def published_version(uow: UnitOfWork, template_id: uuid.UUID) -> TicketTemplateVersion:
    """The version new tickets of a template use; ValidationFailed when there is none to use."""
    try:
        template = await queries.get_template(uow.session, template_id)
    except NotFound as exc:
        raise TemplateUnavailable("template_id does not name a template of this tenant") from exc
    if template.status != "published" or template.current_version_id is None:
        raise TemplateUnavailable(f"the template {template.name!r} is {template.status}, not published")
    return await queries.version_by_id(uow.session, template.current_version_id)


async def use_for_new_ticket(
    uow: UnitOfWork, actor: Actor, template_id: uuid.UUID, values: Mapping[str, Any], *, channel: str
) -> TemplateUse:
    """Check a new ticket's field values against the template's published version (defaults fill
    fields left out); ValidationFailed with per-field errors otherwise."""
    version = await published_version(uow, template_id)
    schema = schema_of(version.fields)
    checked = await check_values(uow, schema, values, channel=channel, role=await role_of(uow, actor))
    raise_field_errors(checked.errors)
    return TemplateUse(
        template_id=version.template_id,
        version_id=version.id,
        version=version.version,
        workflow_id=version.workflow_id,
        sla_policy_id=version.sla_policy_id,
        scenario=version.scenario,
        defaults=TemplateDefaults.from_json(version.defaults),
        values=checked.values,
    )


async def values_for_update(
    uow: UnitOfWork,
    actor: Actor,
    version_id: uuid.UUID,
    current: Mapping[str, Any],
    wanted: Mapping[str, Any],
) -> dict[str, Any]:
    """A ticket's new ``fields`` when an update sets ``wanted``: checked against the version the
    ticket pinned, as the actor's role sees it. Keys the template does not define but the ticket
    already holds (those intake writes) are kept as they are."""
    version = await queries.version_by_id(uow.session, version_id)
    schema = schema_of(version.fields)
    keys = set(schema.by_key())
    changed = {key: value for key, value in wanted.items() if key in keys or key not in current}
    removed = {key: None for key in keys if key in current and key not in wanted}
    checked = await check_values(
        uow, schema, {**changed, **removed}, channel=None, role=await role_of(uow, actor), current=current
    )
    raise_field_errors(checked.errors)
    kept = {key: value for key, value in current.items() if key not in keys}
    return {**kept, **checked.values}


PUBLIC_KEYS = ("key", "type", "label", "required", "default", "help", "validation", "options")


async def public_form(uow: UnitOfWork, template_id: uuid.UUID, channel: str) -> dict[str, Any] | None:
    """The published version's fields as a public form on ``channel`` shows them (conditions included,
    per-role rules and channel lists left out); None when the template is not published."""
    try:
        version = await published_version(uow, template_id)
    except TemplateUnavailable:
        return None
    schema = schema_of(version.fields)
    shown = {spec.key for spec in schema.fields if spec.shown_on(channel)}
    fields = []
    for raw in version.fields:
        if raw["key"] not in shown:
            continue
        field = {name: raw[name] for name in PUBLIC_KEYS if name in raw}
        for condition in ("visible_when", "required_when"):
            # A condition on a field the form does not ask cannot hold on the form; keep it anyway so
            # the page hides what the server would drop.
            if raw.get(condition):
                field[condition] = raw[condition]
        fields.append(field)
    return {
        "id": version.template_id,
        "version": version.version,
        "name": version.name,
        "fields": fields,
    }

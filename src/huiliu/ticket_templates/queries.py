"""The read side of ticket templates: lists, one template, its versions, and the references a value
check needs (attachments and customers of the tenant, a user's role, an SLA policy)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Uuid, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.attachments.queries import get_attachment
from huiliu.auth.queries import get_user_row
from huiliu.core.errors import NotFound
from huiliu.customers.queries import get_customer
from huiliu.ticket_templates.models import TicketTemplate, TicketTemplateVersion

MAX_LIST = 500


async def list_templates(
    session: AsyncSession, *, status: str | None = None, scenario: str | None = None
) -> list[TicketTemplate]:
    query = select(TicketTemplate)
    if status is not None:
        query = query.where(TicketTemplate.status == status)
    if scenario is not None:
        query = query.where(TicketTemplate.scenario == scenario)
    query = query.order_by(TicketTemplate.name, TicketTemplate.id).limit(MAX_LIST)
    return list((await session.execute(query)).scalars())


async def get_template(session: AsyncSession, template_id: uuid.UUID) -> TicketTemplate:
    """The template in the session's tenant; NotFound otherwise."""
    template = await session.get(TicketTemplate, template_id)
    if template is None:
        raise NotFound("template not found")
    return template


async def template_by_key(session: AsyncSession, key: str) -> TicketTemplate | None:
    return (
        await session.execute(select(TicketTemplate).where(TicketTemplate.key == key))
    ).scalar_one_or_none()


async def installed_presets(session: AsyncSession) -> dict[str, uuid.UUID]:
    rows = await session.execute(
        select(TicketTemplate.preset_key, TicketTemplate.id).where(TicketTemplate.preset_key.is_not(None))
    )
    return {key: template_id for key, template_id in rows.all() if key is not None}


async def list_versions(session: AsyncSession, template_id: uuid.UUID) -> list[TicketTemplateVersion]:
    query = (
        select(TicketTemplateVersion)
        .where(TicketTemplateVersion.template_id == template_id)
        .order_by(TicketTemplateVersion.version.desc())
    )
    return list((await session.execute(query)).scalars())


async def get_version(session: AsyncSession, template_id: uuid.UUID, version: int) -> TicketTemplateVersion:
    found = (
        await session.execute(
            select(TicketTemplateVersion).where(
                TicketTemplateVersion.template_id == template_id, TicketTemplateVersion.version == version
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("template version not found")
    return found


async def version_by_id(session: AsyncSession, version_id: uuid.UUID) -> TicketTemplateVersion:
    found = await session.get(TicketTemplateVersion, version_id)
    if found is None:
        raise NotFound("template version not found")
    return found


async def latest_version_number(session: AsyncSession, template_id: uuid.UUID) -> int:
    number = (
        await session.execute(
            select(func.max(TicketTemplateVersion.version)).where(
                TicketTemplateVersion.template_id == template_id
            )
        )
    ).scalar_one()
    return int(number or 0)


async def role_of_user(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    try:
        row = await get_user_row(session, user_id)
    except NotFound:
        return None
    return str(row.role)


async def attachment_kind(session: AsyncSession, attachment_id: uuid.UUID) -> str | None:
    """The content type of an attachment of the tenant; None when there is no such attachment."""
    try:
        attachment = await get_attachment(session, attachment_id)
    except NotFound:
        return None
    return attachment.content_type


async def customer_exists(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    try:
        await get_customer(session, customer_id)
    except NotFound:
        return False
    return True


async def sla_policy_exists(session: AsyncSession, tenant_id: uuid.UUID, policy_id: uuid.UUID) -> bool:
    # Written as SQL: the SLA package's read side imports the tickets package, which sits above this one.
    statement = text("SELECT 1 FROM sla_policies WHERE id = :id AND tenant_id = :tenant_id").bindparams(
        bindparam("id", type_=Uuid()), bindparam("tenant_id", type_=Uuid())
    )
    found = await session.execute(statement, {"id": policy_id, "tenant_id": tenant_id})
    return found.first() is not None


def summary(template: TicketTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "key": template.key,
        "name": template.name,
        "scenario": template.scenario,
        "status": template.status,
        "current_version": template.current_version,
        "field_count": len(template.fields),
        "has_draft_changes": template.has_draft_changes,
        "preset_key": template.preset_key,
        "updated_at": template.updated_at,
    }

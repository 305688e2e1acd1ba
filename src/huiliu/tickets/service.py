"""Ticket use cases: the only code that writes tickets.

Each function validates, changes state, appends audit events, queues domain events (outbox rows in
the same transaction, live updates after commit) and commits once."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from sqlalchemy import delete, insert, select, text, update

from huiliu.attachments.service import claim_for_message
from huiliu.auth.domain import Actor, ActorKind, system_actor
from huiliu.auth.service import check_assignable
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, NotFound, ValidationFailed
from huiliu.core.events import Audience, DomainEvent
from huiliu.core.ids import new_id
from huiliu.core.outbox import OutboxRow
from huiliu.customers.merges import register_customer_records
from huiliu.customers.service import resolve_customer, settle_lost_identity
from huiliu.db import bulk
from huiliu.db.session import Database, UnitOfWork, publish
from huiliu.ticket_templates import service as ticket_templates
from huiliu.tickets import pg_create, queries
from huiliu.tickets.domain import Milestones, Status, apply_transition, diff, normalize_tags
from huiliu.tickets.models import (
    Message,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketLink,
    TicketTag,
)
from huiliu.tickets.schemas import TicketCreate, TicketUpdate

SUMMARY_FIELDS = (
    "id",
    "number",
    "title",
    "status",
    "priority",
    "category",
    "scenario",
    "channel",
    "entry_point_id",
    "customer_id",
    "team_id",
    "assignee_id",
    "tags",
    "created_at",
    "updated_at",
)


def ticket_sequence_name(tenant_id: uuid.UUID) -> str:
    return f"ticket_number_{tenant_id.hex}"


async def prepare_ticket_numbers(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """Create the per-tenant number source: a sequence on PostgreSQL (no row lock between concurrent
    creates), a counter row on SQLite (writes are serialised there anyway)."""
    if uow.dialect == "postgresql":
        await uow.session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {ticket_sequence_name(tenant_id)}"))
    else:
        await uow.session.execute(insert(TicketCounter).values(tenant_id=tenant_id, last_number=0))


async def _next_number(uow: UnitOfWork) -> int:
    assert uow.tenant_id is not None
    if uow.dialect == "postgresql":
        result = await uow.session.execute(text(f"SELECT nextval('{ticket_sequence_name(uow.tenant_id)}')"))
        return int(result.scalar_one())
    result = await uow.session.execute(
        update(TicketCounter)
        .values(last_number=TicketCounter.last_number + 1)
        .returning(TicketCounter.last_number)
    )
    return int(result.scalar_one())


@functools.lru_cache(maxsize=512)
def sanitize_body(body: str) -> str:
    """Reply and note bodies may carry simple HTML; scripts, handlers and unknown tags are removed.
    Remembered for recent bodies: one inbound message is cleaned for its row, the ticket's description
    and the event payload, and ``nh3.clean`` is pure."""
    return nh3.clean(body)


def summary(ticket: Ticket | dict[str, Any]) -> dict[str, Any]:
    if isinstance(ticket, dict):
        return {name: ticket[name] for name in SUMMARY_FIELDS}
    return {name: getattr(ticket, name) for name in SUMMARY_FIELDS}


def _wire(value: Any) -> Any:
    # Plain values first: most leaves are strings and numbers (the timer sweep wires thousands).
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


@dataclass(frozen=True)
class Recorded:
    event_id: uuid.UUID


def build_event(
    actor: Actor,
    ticket: Ticket | dict[str, Any],
    event_type: str,
    changes: dict[str, Any],
    *,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
    wired: dict[tuple[Any, ...], dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], DomainEvent]:
    """The audit row and the domain event (same id) for one change of one ticket. ``wired``: wire
    forms of ticket summaries already built, by their values (a writer of many events on the same
    tickets passes one, so a summary is wired once while it does not change)."""
    now = utcnow()
    event_id = new_id()
    ticket_summary = summary(ticket)
    if wired is None:
        wired_summary = _wire(ticket_summary)
    else:
        key = tuple(tuple(v) if isinstance(v, list) else v for v in ticket_summary.values())
        wired_summary = wired.get(key)
        if wired_summary is None:
            wired_summary = wired[key] = _wire(ticket_summary)
    audit_row = {
        "id": event_id,
        "tenant_id": actor.tenant_id,
        "ticket_id": ticket_summary["id"],
        "type": event_type,
        "actor_kind": actor.kind.value,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "changes": _wire(changes),
        "reason": reason,
        "created_at": now,
    }
    data = {
        "ticket": wired_summary,
        "changes": _wire(changes),
        "actor": {"kind": actor.kind.value, "id": _wire(actor.id), "name": actor.name},
    }
    if reason:
        data["reason"] = reason
    if extra:
        data.update(_wire(extra))
    domain_event = DomainEvent(
        type=event_type,
        tenant_id=actor.tenant_id,
        data=data,
        id=event_id,
        occurred_at=now,
        audience=Audience(team_id=ticket_summary["team_id"], assignee_id=ticket_summary["assignee_id"]),
    )
    return audit_row, domain_event


def record(
    uow: UnitOfWork,
    actor: Actor,
    ticket: Ticket | dict[str, Any],
    event_type: str,
    changes: dict[str, Any],
    *,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Recorded:
    """Append the audit event and queue the domain event (same id) for webhooks and live consumers."""
    audit_row, domain_event = build_event(actor, ticket, event_type, changes, reason=reason, extra=extra)
    uow.session.add(TicketEvent(**audit_row))
    uow.emit(domain_event)
    return Recorded(domain_event.id)


class EventLog:
    """``record`` for many tickets at once (the timer sweep records thousands of events): the domain
    events are queued at once, the audit rows kept until ``write`` puts them in with one INSERT
    instead of one ORM object each. Until then they are not in the database: use it where nothing in
    the unit of work reads those events back before ``write``."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._rows: list[dict[str, Any]] = []
        self._wired: dict[tuple[Any, ...], dict[str, Any]] = {}

    def record(
        self,
        actor: Actor,
        ticket: Ticket | dict[str, Any],
        event_type: str,
        changes: dict[str, Any],
        *,
        reason: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Recorded:
        audit_row, domain_event = build_event(
            actor, ticket, event_type, changes, reason=reason, extra=extra, wired=self._wired
        )
        self._rows.append(audit_row)
        self.uow.emit(domain_event)
        return Recorded(domain_event.id)

    async def write(self, outbox: Sequence[dict[str, Any]] = ()) -> None:
        """Insert the recorded audit rows and ``outbox`` (rows of the outbox table). On PostgreSQL
        the outbox rows of every event queued in the unit of work so far go with them, all in one
        statement of fixed text (``db.bulk``, decision 0041); on SQLite one executemany per table,
        and ``commit`` writes the queued events' outbox rows as usual."""
        rows, self._rows = self._rows, []
        if self.uow.dialect == "postgresql":
            outbox_rows = [*outbox, *(self.uow.outbox_row(event) for event in self.uow.take_events())]
            if not rows and not outbox_rows:
                return
            await self.uow.session.execute(
                _pg_events_with_outbox(
                    tuple(rows[0]) if rows else _NO_ROWS, tuple(outbox_rows[0]) if outbox_rows else _NO_ROWS
                ),
                {"events": bulk.rows(rows), "outbox": bulk.rows(outbox_rows)},
            )
            return
        if rows:
            await self.uow.session.execute(insert(TicketEvent), rows)
        if outbox:
            await self.uow.session.execute(insert(OutboxRow), list(outbox))


def _new_ticket(
    actor: Actor, request: TicketCreate, ticket_id: uuid.UUID | None, entry_point_id: uuid.UUID | None
) -> tuple[dict[str, Any], str | None, list[tuple[str, str]]]:
    """The new ticket's row (number and customer still to be chosen), the customer's name and identities."""
    customer_name = request.customer.name if request.customer else None
    identities: list[tuple[str, str]] = []
    if request.customer is not None:
        if request.customer.phone:
            identities.append(("phone", request.customer.phone))
        if request.customer.email:
            identities.append(("email", str(request.customer.email)))
    now = utcnow()
    row: dict[str, Any] = {
        "id": ticket_id or new_id(),
        "tenant_id": actor.tenant_id,
        "number": None,
        "title": request.title,
        "description": sanitize_body(request.description),
        "status": Status.NEW.value,
        "priority": request.priority.value,
        "category": request.category,
        "scenario": request.scenario,
        "channel": request.channel,
        "entry_point_id": entry_point_id,
        "customer_id": None,
        "team_id": request.team_id,
        "assignee_id": request.assignee_id,
        "tags": normalize_tags(request.tags),
        "fields": request.fields,
        "parent_id": request.parent_id,
        "created_at": now,
        "updated_at": now,
        "reopen_count": 0,
        "merged_into_id": None,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "reopened_at": None,
        "last_message_at": None,
    }
    return row, customer_name, identities


async def create_ticket(
    uow: UnitOfWork,
    actor: Actor,
    request: TicketCreate,
    ticket_id: uuid.UUID | None = None,
    *,
    entry_point_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Create a ticket (and its customer when new), record ``ticket.created``, commit.

    ``ticket_id`` lets a caller fix the id up front (idempotent creates store it with the key);
    ``entry_point_id`` is set by intake, which has resolved the entry point in the same tenant."""
    actor.require("ticket.create")
    if request.assignee_id is not None or request.team_id is not None:
        actor.require("ticket.assign")
        await check_assignable(uow, team_id=request.team_id, assignee_id=request.assignee_id)
    if request.parent_id is not None:
        parent = await uow.session.get(Ticket, request.parent_id)
        if parent is None or not actor.sees(team_id=parent.team_id, assignee_id=parent.assignee_id):
            raise ValidationFailed("parent ticket does not exist")
    template_use = None
    if request.template_id is not None:
        template_use = await ticket_templates.use_for_new_ticket(
            uow, actor, request.template_id, request.fields, channel=request.channel
        )
        request = await _with_template(uow, request, template_use)
    row, customer_name, identities = _new_ticket(actor, request, ticket_id, entry_point_id)
    created = {"status": {"from": None, "to": row["status"]}}
    extra = None
    if template_use is not None:
        row["template_version_id"] = template_use.version_id
        extra = template_use.event_data()
    # The one-statement path commits by itself: not inside a larger unit of work.
    fast = _uses_pg_fast_path(uow, customer_name, identities) and not uow.holds_other_work
    if fast and not await uow.db.reactions_apply(actor.tenant_id):
        audit_row, domain_event = build_event(actor, row, ev.TICKET_CREATED, created, extra=extra)
        uow.emit(domain_event)
        [domain_event] = uow.take_events()
        number, customer_id, resolution = await pg_create.create_and_commit(
            uow,
            sequence=ticket_sequence_name(actor.tenant_id),
            ticket=row,
            event_row=audit_row,
            outbox_row=uow.outbox_row(domain_event),
            customer_name=customer_name,
            identity=identities[0] if identities else None,
        )
        row["number"], row["customer_id"] = number, customer_id
        domain_event.data["ticket"].update(number=number, customer_id=_wire(customer_id))
        emitted = uow.emitted_count
        await uow.commit()
        if resolution and customer_id is None:
            row["customer_id"] = await _settle_identity_race(uow.db, actor, row, resolution)
        return await _as_committed(uow, actor, row, emitted)
    if request.customer is not None:
        row["customer_id"] = await resolve_customer(uow, customer_name, identities)
    row["number"] = await _next_number(uow)
    await uow.session.execute(insert(Ticket), [row])
    if row["tags"]:
        await uow.session.execute(
            insert(TicketTag),
            [{"tenant_id": actor.tenant_id, "ticket_id": row["id"], "tag": tag} for tag in row["tags"]],
        )
    record(uow, actor, row, ev.TICKET_CREATED, created, extra=extra)
    emitted = uow.emitted_count
    await uow.commit()
    return await _as_committed(uow, actor, row, emitted)


async def _as_committed(uow: UnitOfWork, actor: Actor, row: dict[str, Any], emitted: int) -> dict[str, Any]:
    """The new ticket as its commit left it: ``row`` as inserted, or, when the commit's reactions
    emitted events (a rule, routing or SLA may have assigned, tagged, raised the priority …), the
    ticket read back by primary key — one read, only then (decision 0063). Inside a larger unit of
    work ``commit`` only returns, nothing reacted yet, and ``row`` is all there is."""
    if uow.emitted_count == emitted:
        return row
    async with uow.db.read(actor.tenant_id) as session:
        return await queries.ticket_columns(session, row["id"])


async def _with_template(
    uow: UnitOfWork, request: TicketCreate, use: ticket_templates.TemplateUse
) -> TicketCreate:
    """The request with the template's checked field values, and its defaults where the request
    leaves priority, team, tags, category or scenario out. A default team that can no longer take
    tickets is skipped (the ticket lands unassigned) rather than refusing the ticket."""
    given = request.model_fields_set
    changes: dict[str, Any] = {"fields": use.values}
    defaults = use.defaults
    if "priority" not in given and defaults.priority:
        changes["priority"] = defaults.priority
    if request.category is None and defaults.category:
        changes["category"] = defaults.category
    if not request.tags and defaults.tags:
        changes["tags"] = list(defaults.tags)
    if request.scenario is None:
        changes["scenario"] = use.ticket_scenario
    if request.team_id is None and request.assignee_id is None and defaults.team_id is not None:
        try:
            await check_assignable(uow, team_id=defaults.team_id, assignee_id=None)
            changes["team_id"] = defaults.team_id
        except ValidationFailed:
            pass
    return TicketCreate.model_validate({**request.model_dump(), **changes})


def creates_directly(db: Database, request: TicketCreate) -> bool:
    """Whether ``create_ticket_direct`` can take ``request``: PostgreSQL, nothing to check against
    other rows first (no team, assignee or parent), a customer known by at most one identity."""
    if db.driver_pool is None:
        return False
    if request.team_id is not None or request.assignee_id is not None or request.parent_id is not None:
        return False
    if request.template_id is not None:
        return False
    customer = request.customer
    if customer is None:
        return True
    identity_count = bool(customer.phone) + bool(customer.email)
    return identity_count == 1 or (identity_count == 0 and not customer.name)


async def create_ticket_direct(db: Database, actor: Actor, request: TicketCreate) -> dict[str, Any]:
    """``create_ticket`` for the common API case (see ``creates_directly``) on a driver connection:
    the same rows, event and outbox row in one statement, without an ORM session, committed alone or,
    under load, together with the process's other creates (``DriverPool.fetchone_grouped``); the live
    update is published after it committed."""
    actor.require("ticket.create")
    assert db.driver_pool is not None and creates_directly(db, request)
    row, customer_name, identities = _new_ticket(actor, request, None, None)
    created = {"status": {"from": None, "to": row["status"]}}
    audit_row, domain_event = build_event(actor, row, ev.TICKET_CREATED, created)
    number, customer_id, resolution = await pg_create.create_grouped(
        db.driver_pool,
        actor.tenant_id,
        sequence=ticket_sequence_name(actor.tenant_id),
        ticket=row,
        event_row=audit_row,
        outbox_row=UnitOfWork.outbox_row(domain_event),
        customer_name=customer_name,
        identity=identities[0] if identities else None,
    )
    row["number"], row["customer_id"] = number, customer_id
    domain_event.data["ticket"].update(number=number, customer_id=_wire(customer_id))
    publish(db.hub, domain_event)
    if resolution and customer_id is None:
        row["customer_id"] = await _settle_identity_race(db, actor, row, resolution)
    return row


async def _settle_identity_race(
    db: Any, actor: Actor, row: dict[str, Any], resolution: dict[str, Any]
) -> uuid.UUID:
    """A concurrent create registered the same new identity first: attach its customer to the ticket
    (recorded as an update) and drop the customer row this create made."""
    async with db.uow(actor.tenant_id) as uow:
        customer_id = await settle_lost_identity(
            uow, resolution["customer_id"], resolution["kind"], resolution["value"]
        )
        ticket = await _load_for_update(uow, system_actor(actor.tenant_id), row["id"])
        ticket.customer_id = customer_id
        record(
            uow,
            actor,
            ticket,
            ev.TICKET_UPDATED,
            {"customer_id": {"from": None, "to": customer_id}},
            reason="customer identity registered concurrently",
        )
        await uow.commit()
    return customer_id


def _uses_pg_fast_path(uow: UnitOfWork, customer_name: str | None, identities: list[tuple[str, str]]) -> bool:
    """PostgreSQL, and a customer known by at most one identity (or no customer at all)."""
    if uow.dialect != "postgresql":
        return False
    return len(identities) == 1 or (not identities and not customer_name)


async def _load_for_update(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID) -> Ticket:
    ticket = (
        await uow.session.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    ).scalar_one_or_none()
    if ticket is None or not actor.sees(team_id=ticket.team_id, assignee_id=ticket.assignee_id):
        raise NotFound("ticket not found")
    return ticket


def _apply(ticket: Ticket, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.updated_at = utcnow()


async def update_ticket(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, request: TicketUpdate) -> Ticket:
    """Change title, description, priority, category, scenario or custom field values."""
    actor.require("ticket.update")
    ticket = await _load_for_update(uow, actor, ticket_id)
    wanted = request.model_dump(exclude_unset=True)
    if "description" in wanted and wanted["description"] is not None:
        wanted["description"] = sanitize_body(wanted["description"])
    if wanted.get("priority") is not None:
        wanted["priority"] = wanted["priority"].value
    for required in ("title", "priority"):
        if required in wanted and wanted[required] is None:
            raise ValidationFailed(f"{required} cannot be empty")
    if wanted.get("fields") is not None and ticket.template_version_id is not None:
        # Checked against the template version the ticket was made with, as the actor's role sees it.
        wanted["fields"] = await ticket_templates.values_for_update(
            uow, actor, ticket.template_version_id, ticket.fields, wanted["fields"]
        )
    before = {name: getattr(ticket, name) for name in wanted}
    changes = diff(before, wanted)
    if changes:
        _apply(ticket, {name: change["to"] for name, change in changes.items()})
        record(uow, actor, ticket, ev.TICKET_UPDATED, changes)
    await uow.commit()
    return ticket


async def change_status(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, target: Status, reason: str | None = None
) -> Ticket:
    """Move a ticket along the status machine (DESIGN.md §3); reopening records ``ticket.reopened``."""
    actor.require("ticket.update")
    ticket = await _load_for_update(uow, actor, ticket_id)
    await _transition(uow, actor, ticket, target, reason)
    await uow.commit()
    return ticket


async def _transition(
    uow: UnitOfWork, actor: Actor, ticket: Ticket, target: Status, reason: str | None
) -> None:
    current = Status(ticket.status)
    milestones = Milestones(ticket.resolved_at, ticket.closed_at, ticket.reopened_at, ticket.reopen_count)
    changes = apply_transition(current, target, milestones, utcnow())
    before = {name: getattr(ticket, name) for name in changes}
    _apply(ticket, changes)
    event_type = (
        ev.TICKET_REOPENED
        if current in {Status.RESOLVED, Status.CLOSED} and target is Status.OPEN
        else ev.TICKET_STATUS_CHANGED
    )
    record(uow, actor, ticket, event_type, diff(before, changes), reason=reason)


async def reopen(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, reason: str | None = None) -> Ticket:
    actor.require("ticket.update")
    ticket = await _load_for_update(uow, actor, ticket_id)
    if ticket.status not in {Status.RESOLVED.value, Status.CLOSED.value}:
        raise Conflict("only resolved or closed tickets can be reopened")
    if ticket.merged_into_id is not None:
        raise Conflict("a merged ticket cannot be reopened; reopen the ticket it was merged into")
    await _transition(uow, actor, ticket, Status.OPEN, reason)
    await uow.commit()
    return ticket


async def assign(
    uow: UnitOfWork,
    actor: Actor,
    ticket_id: uuid.UUID,
    *,
    team_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
    reason: str | None = None,
) -> Ticket:
    """Set the team and/or the agent. The status does not change: a ``new`` ticket is accepted by its
    agent's first public reply or an explicit move to ``open``."""
    actor.require("ticket.assign")
    ticket = await _load_for_update(uow, actor, ticket_id)
    await check_assignable(uow, team_id=team_id, assignee_id=assignee_id)
    wanted = {"team_id": team_id, "assignee_id": assignee_id}
    changes = diff({name: getattr(ticket, name) for name in wanted}, wanted)
    if changes:
        _apply(ticket, {name: change["to"] for name, change in changes.items()})
        record(uow, actor, ticket, ev.TICKET_ASSIGNED, changes, reason=reason)
    await uow.commit()
    return ticket


async def change_tags(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, *, add: list[str], remove: list[str]
) -> Ticket:
    actor.require("ticket.update")
    ticket = await _load_for_update(uow, actor, ticket_id)
    removing = set(normalize_tags(remove))
    new_tags = normalize_tags([t for t in ticket.tags if t not in removing] + add)
    added = [t for t in new_tags if t not in ticket.tags]
    removed = [t for t in ticket.tags if t not in new_tags]
    if added or removed:
        before = list(ticket.tags)
        _apply(ticket, {"tags": new_tags})
        if removed:
            await uow.session.execute(
                delete(TicketTag).where(TicketTag.ticket_id == ticket.id, TicketTag.tag.in_(removed))
            )
        if added:
            await uow.session.execute(
                insert(TicketTag),
                [{"tenant_id": actor.tenant_id, "ticket_id": ticket.id, "tag": tag} for tag in added],
            )
        record(
            uow,
            actor,
            ticket,
            ev.TICKET_TAGS_CHANGED,
            {"tags": {"from": before, "to": new_tags}},
            extra={"added": added, "removed": removed},
        )
    await uow.commit()
    return ticket


async def add_message(
    uow: UnitOfWork,
    actor: Actor,
    ticket_id: uuid.UUID,
    body: str,
    *,
    public: bool,
    attachment_ids: list[uuid.UUID] | None = None,
) -> Message:
    """A public reply (to the customer, on their channel) or an internal note.

    An agent's first public reply sets ``first_response_at``; a reply to a resolved or closed
    ticket by the customer reopens it; an agent replying to a ``new`` ticket accepts it (open)."""
    actor.require("ticket.reply" if public else "ticket.note")
    ticket = await _load_for_update(uow, actor, ticket_id)
    clean = sanitize_body(body)
    if not clean.strip():
        raise ValidationFailed("message body is empty after removing unsafe markup")
    now = utcnow()
    author_kind = (
        "customer"
        if actor.kind is ActorKind.CUSTOMER
        else ("system" if actor.kind is ActorKind.SYSTEM else "agent")
    )
    message = Message(
        id=new_id(),
        tenant_id=actor.tenant_id,
        ticket_id=ticket.id,
        author_kind=author_kind,
        author_user_id=actor.id if actor.kind is ActorKind.USER else None,
        author_customer_id=actor.id if actor.kind is ActorKind.CUSTOMER else None,
        public=public,
        channel=ticket.channel if public else "internal",
        body=clean,
        created_at=now,
        delivery_state="pending" if public and author_kind == "agent" else None,
    )
    uow.session.add(message)
    if attachment_ids:
        await claim_for_message(
            uow, actor, ticket_id=ticket.id, message_id=message.id, attachment_ids=attachment_ids
        )
    changes: dict[str, Any] = {"last_message_at": now}
    if public and author_kind == "agent" and ticket.first_response_at is None:
        changes["first_response_at"] = now
    _apply(ticket, changes)
    event_type = ev.TICKET_MESSAGE_ADDED if public else ev.TICKET_NOTE_ADDED
    record(
        uow,
        actor,
        ticket,
        event_type,
        {},
        extra={
            "message": {
                "id": message.id,
                "public": public,
                "author_kind": author_kind,
                "body": clean,
                "attachment_ids": attachment_ids or [],
            }
        },
    )
    if public and author_kind == "agent" and ticket.status == Status.NEW.value:
        await _transition(uow, actor, ticket, Status.OPEN, "first agent reply")
    elif (
        author_kind == "customer"
        and ticket.merged_into_id is None
        and ticket.status
        in {
            Status.RESOLVED.value,
            Status.CLOSED.value,
            Status.PENDING.value,
        }
    ):
        await _transition(uow, actor, ticket, Status.OPEN, "customer replied")
    await uow.commit()
    return message


async def merge(uow: UnitOfWork, actor: Actor, source_id: uuid.UUID, target_id: uuid.UUID) -> Ticket:
    """Merge ``source`` into ``target``: the source closes, points at the target and both timelines say so."""
    actor.require("ticket.merge")
    if source_id == target_id:
        raise ValidationFailed("a ticket cannot be merged into itself")
    first, second = sorted([source_id, target_id])  # lock in a fixed order: no deadlock between merges
    locked = {
        first: await _load_for_update(uow, actor, first),
        second: await _load_for_update(uow, actor, second),
    }
    source, target = locked[source_id], locked[target_id]
    if source.merged_into_id is not None:
        raise Conflict("this ticket was already merged")
    if target.merged_into_id is not None:
        raise Conflict("the target ticket was itself merged; merge into its target instead")
    now = utcnow()
    uow.session.add(
        TicketLink(
            id=new_id(),
            tenant_id=actor.tenant_id,
            source_id=source.id,
            target_id=target.id,
            kind="merged",
            created_at=now,
        )
    )
    before = {"merged_into_id": None, "status": source.status}
    changes: dict[str, Any] = {"merged_into_id": target.id}
    if source.status != Status.CLOSED.value:
        changes.update(
            apply_transition(
                Status(source.status),
                Status.CLOSED,
                Milestones(source.resolved_at, source.closed_at, source.reopened_at, source.reopen_count),
                now,
            )
        )
    _apply(source, changes)
    record(
        uow,
        actor,
        source,
        ev.TICKET_MERGED,
        diff(before, changes),
        extra={"source_id": source.id, "target_id": target.id, "target_number": target.number},
    )
    target.updated_at = now
    record(
        uow,
        actor,
        target,
        ev.TICKET_MERGED,
        {},
        extra={"source_id": source.id, "target_id": target.id, "source_number": source.number},
    )
    await uow.commit()
    return target


async def link(
    uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, other_id: uuid.UUID, kind: str
) -> TicketLink:
    """Relate two tickets, or make one the parent of the other (``parent``: other is this one's parent;
    ``child``: other becomes this one's child)."""
    actor.require("ticket.update")
    if ticket_id == other_id:
        raise ValidationFailed("a ticket cannot be linked to itself")
    ticket = await _load_for_update(uow, actor, ticket_id)
    other = await _load_for_update(uow, actor, other_id)
    now = utcnow()
    parent_change: dict[str, Any] = {}
    if kind == "related":
        exists = (
            await uow.session.execute(
                select(TicketLink.id).where(
                    TicketLink.kind == "related",
                    ((TicketLink.source_id == ticket.id) & (TicketLink.target_id == other.id))
                    | ((TicketLink.source_id == other.id) & (TicketLink.target_id == ticket.id)),
                )
            )
        ).first()
        if exists:
            raise Conflict("these tickets are already related")
        created = TicketLink(
            id=new_id(),
            tenant_id=actor.tenant_id,
            source_id=ticket.id,
            target_id=other.id,
            kind="related",
            created_at=now,
        )
    else:
        parent, child = (other, ticket) if kind == "parent" else (ticket, other)
        await _check_no_cycle(uow, parent.id, child.id)
        if child.parent_id == parent.id:
            raise Conflict("already parent and child")
        parent_change = {"parent_id": {"from": child.parent_id, "to": parent.id}}
        if child.parent_id is not None:
            # Re-parenting: the child has one parent, so the old parent link goes.
            await uow.session.execute(
                delete(TicketLink).where(TicketLink.kind == "parent", TicketLink.target_id == child.id)
            )
        _apply(child, {"parent_id": parent.id})
        created = TicketLink(
            id=new_id(),
            tenant_id=actor.tenant_id,
            source_id=parent.id,
            target_id=child.id,
            kind="parent",
            created_at=now,
        )
    uow.session.add(created)
    record(
        uow,
        actor,
        ticket,
        ev.TICKET_LINKED,
        parent_change if kind == "parent" else {},
        extra={"link": {"kind": kind, "other_id": other.id, "other_number": other.number}},
    )
    if kind == "child":
        record(
            uow,
            actor,
            other,
            ev.TICKET_LINKED,
            parent_change,
            extra={"link": {"kind": "parent", "other_id": ticket.id, "other_number": ticket.number}},
        )
    await uow.commit()
    return created


async def _check_no_cycle(uow: UnitOfWork, parent_id: uuid.UUID, child_id: uuid.UUID) -> None:
    cursor: uuid.UUID | None = parent_id
    for _ in range(100):
        if cursor is None:
            return
        if cursor == child_id:
            raise ValidationFailed("this link would make a ticket its own ancestor")
        cursor = (
            await uow.session.execute(select(Ticket.parent_id).where(Ticket.id == cursor))
        ).scalar_one_or_none()
    raise ValidationFailed("parent chain too deep")


async def reassign_customer(
    uow: UnitOfWork,
    actor: Actor,
    from_customer_id: uuid.UUID,
    to_customer_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] | None = None,
    reason: str,
) -> list[uuid.UUID]:
    """Move tickets from one customer to another: a customer merge (all of them, ``ids`` None) or
    its undo (exactly ``ids``, those still on ``from_customer_id``). Each moved ticket records
    ``ticket.updated`` with the customer change; the customer's own messages on them follow.

    Runs inside the customer merge's unit of work and does not commit; authorisation is the merge's
    (``customer.write``), so tickets outside the actor's data scope move too."""
    if ids is not None and not ids:
        return []
    query = select(Ticket).where(Ticket.customer_id == from_customer_id).order_by(Ticket.id).with_for_update()
    if ids is not None:
        query = query.where(Ticket.id.in_(list(ids)))
    tickets = list((await uow.session.execute(query)).scalars())
    now = utcnow()
    for ticket in tickets:
        ticket.customer_id = to_customer_id
        ticket.updated_at = now
        record(
            uow,
            actor,
            ticket,
            ev.TICKET_UPDATED,
            {"customer_id": {"from": from_customer_id, "to": to_customer_id}},
            reason=reason,
        )
    moved = [ticket.id for ticket in tickets]
    for start in range(0, len(moved), 500):
        await uow.session.execute(
            update(Message)
            .where(
                Message.ticket_id.in_(moved[start : start + 500]),
                Message.author_customer_id == from_customer_id,
            )
            .values(author_customer_id=to_customer_id)
            .execution_options(synchronize_session=False)
        )
    return moved


# Tickets follow their customer through merges and their undo (see customers.merges).
register_customer_records("tickets", reassign_customer)


# Tables for the PostgreSQL statements below (typed loosely: mypy does not see ``__table__`` as a Table).
_TABLES: dict[str, Any] = {
    "Ticket": Ticket.__table__,
    "Message": Message.__table__,
    "OutboxRow": OutboxRow.__table__,
    "TicketEvent": TicketEvent.__table__,
    "TicketTag": TicketTag.__table__,
}
# What a customer message changes on the ticket it joins (``announce_inbound``).
_TOUCHED_KEYS = ("id", "last_message_at", "updated_at", "fields", "alarm_occurrences")
# The columns of an empty side of the statements below (no new tickets, no outbox rows).
_NO_ROWS = ("id",)


@functools.lru_cache(maxsize=64)
def _pg_events_with_outbox(
    event_keys: tuple[str, ...], outbox_keys: tuple[str, ...], touch: bool = False
) -> Any:
    """Ticket events and outbox rows in one statement of fixed text (see above). ``touch``: the
    statement also writes what customer messages changed on the tickets they joined (parameter
    ``touched``: rows of ``_TOUCHED_KEYS``; see ``announce_inbound``)."""
    events_t, outbox_t, tickets_t = _TABLES["TicketEvent"], _TABLES["OutboxRow"], _TABLES["Ticket"]
    touched = ""
    if touch:
        assignments = ", ".join(f"{key} = u.{key}" for key in _TOUCHED_KEYS if key != "id")
        touched = f"""
        , touched_tickets AS (
            UPDATE tickets SET {assignments}
            FROM {bulk.rows_source(tickets_t, _TOUCHED_KEYS, "touched", "u")}
            WHERE tickets.id = u.id
        )"""
    return text(
        f"""
        WITH new_ticket_events AS (
            INSERT INTO {bulk.insert_columns(events_t, event_keys)}
            SELECT {bulk.select_columns(event_keys, "e")}
            FROM {bulk.rows_source(events_t, event_keys, "events", "e")}
        ){touched}
        INSERT INTO {bulk.insert_columns(outbox_t, outbox_keys)}
        SELECT {bulk.select_columns(outbox_keys, "o")}
        FROM {bulk.rows_source(outbox_t, outbox_keys, "outbox", "o")}
        """
    )

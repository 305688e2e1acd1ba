"""What routing knows about a ticket, and who served its customer or device before."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID

from huiliu.routing.domain.agents import (
    PRIORITIES,
    RoutingError,
    check_level,
    region_and_ancestors,
    region_key,
    require_aware,
    skill_key,
    to_us,
)


@dataclass(frozen=True, slots=True)
class RequiredSkill:
    name: str  # as the ticket names it, for reasons
    key: str
    level: int

    def describe(self) -> str:
        return f"{self.name}≥{self.level}"


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """The facts of a ticket that routing decides on."""

    id: UUID
    priority: str = "normal"
    team_id: UUID | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)  # name -> minimum level
    region: str | None = None
    customer_level: str = "normal"
    customer_id: UUID | None = None
    device_serial: str | None = None
    channel: str = "api"
    skill_requirements: tuple[RequiredSkill, ...] = field(init=False, repr=False, compare=False)
    region_path: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise RoutingError(f"unknown priority {self.priority!r}: use {', '.join(PRIORITIES)}")
        requirements = {}
        for name, level in self.required_skills.items():
            key = skill_key(name)
            requirements[key] = RequiredSkill(
                name.strip(), key, check_level(level, f"required level of {name!r}")
            )
        # Sorted by key so reasons and matching do not depend on the caller's dict order.
        object.__setattr__(self, "skill_requirements", tuple(requirements[k] for k in sorted(requirements)))
        if self.region is not None and not self.region.strip():
            object.__setattr__(self, "region", None)
        path = frozenset() if self.region is None else region_and_ancestors(region_key(self.region))
        object.__setattr__(self, "region_path", path)
        if self.device_serial is not None:
            object.__setattr__(self, "device_serial", self.device_serial.strip() or None)

    def describe_skills(self) -> str:
        return ", ".join(s.describe() for s in self.skill_requirements)


class ServedVia(StrEnum):
    DEVICE = "device"  # the agent served this device (by serial number)
    CUSTOMER = "customer"  # the agent served this customer


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """An agent served a customer and/or a device at an instant (e.g. a ticket they handled)."""

    agent_id: UUID
    served_at: datetime
    customer_id: UUID | None = None
    device_serial: str | None = None


@dataclass(frozen=True, slots=True)
class Familiar:
    """An agent who served this ticket's customer or device, and when last."""

    agent_id: UUID
    served_at: datetime
    via: ServedVia
    served_us: int


class FamiliarityIndex:
    """Who served which customer and device, and when last. Built once from service records (the
    service reads recent ones); one index can serve many tickets."""

    __slots__ = ("_customers", "_devices")

    def __init__(self, records: Iterable[ServiceRecord] = ()) -> None:
        customers: dict[UUID, dict[UUID, datetime]] = {}
        devices: dict[str, dict[UUID, datetime]] = {}
        for record in records:
            require_aware(record.served_at, "served_at")
            if record.customer_id is not None:
                _keep_latest(customers.setdefault(record.customer_id, {}), record)
            serial = (record.device_serial or "").strip()
            if serial:
                _keep_latest(devices.setdefault(serial, {}), record)
        self._customers = {key: MappingProxyType(value) for key, value in customers.items()}
        self._devices = {key: MappingProxyType(value) for key, value in devices.items()}

    def for_ticket(self, ticket: TicketFacts, since: datetime) -> tuple[Familiar, ...]:
        """Agents who served the ticket's device or customer at or after ``since``, one entry per
        agent (their latest service), most recent first; at the same instant the device comes first,
        then agent id."""
        since_us = to_us(require_aware(since, "since"))
        latest: dict[UUID, Familiar] = {}
        sources: list[tuple[ServedVia, Mapping[UUID, datetime]]] = []
        if ticket.device_serial is not None and ticket.device_serial in self._devices:
            sources.append((ServedVia.DEVICE, self._devices[ticket.device_serial]))
        if ticket.customer_id is not None and ticket.customer_id in self._customers:
            sources.append((ServedVia.CUSTOMER, self._customers[ticket.customer_id]))
        for via, served in sources:
            for agent_id, served_at in served.items():
                served_us = to_us(served_at)
                if served_us < since_us:
                    continue
                known = latest.get(agent_id)
                if known is None or served_us > known.served_us:
                    latest[agent_id] = Familiar(agent_id, served_at, via, served_us)
        order = {ServedVia.DEVICE: 0, ServedVia.CUSTOMER: 1}
        return tuple(sorted(latest.values(), key=lambda f: (-f.served_us, order[f.via], f.agent_id)))


EMPTY_FAMILIARITY = FamiliarityIndex()


def _keep_latest(served: dict[UUID, datetime], record: ServiceRecord) -> None:
    known = served.get(record.agent_id)
    if known is None or record.served_at > known:
        served[record.agent_id] = record.served_at

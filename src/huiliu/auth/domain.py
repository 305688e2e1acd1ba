"""Who is acting and what they may do: permissions and data scopes. Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from huiliu.core.errors import PermissionDenied


class DataScope(StrEnum):
    OWN = "own"
    TEAM = "team"
    DEPARTMENT = "department"
    ALL = "all"


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"
    CUSTOMER = "customer"


PERMISSIONS: frozenset[str] = frozenset({
    "ticket.read", "ticket.create", "ticket.update", "ticket.assign", "ticket.reply", "ticket.note",
    "ticket.merge", "customer.read", "customer.write", "admin.users", "admin.teams", "admin.roles",
    "admin.webhooks", "admin.api_keys",
})

AGENT_PERMISSIONS: frozenset[str] = frozenset({
    "ticket.read", "ticket.create", "ticket.update", "ticket.assign", "ticket.reply", "ticket.note",
    "ticket.merge", "customer.read", "customer.write",
})

# API key scopes an integrator chooses, and the permissions each grants.
API_KEY_SCOPES: dict[str, frozenset[str]] = {
    "tickets:read": frozenset({"ticket.read", "customer.read"}),
    "tickets:write": frozenset({"ticket.read", "ticket.create", "ticket.update", "ticket.assign",
                                "ticket.reply", "ticket.note", "ticket.merge", "customer.read",
                                "customer.write"}),
    "webhooks:manage": frozenset({"admin.webhooks"}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    tenant_id: uuid.UUID
    id: uuid.UUID | None
    name: str
    permissions: frozenset[str]
    data_scope: DataScope = DataScope.OWN
    team_id: uuid.UUID | None = None
    # For department scope: the actor's team and every team below it.
    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(f"missing permission {permission}")

    def sees(self, *, team_id: uuid.UUID | None, assignee_id: uuid.UUID | None) -> bool:
        """Whether a ticket with these scope fields lies inside the actor's data scope."""
        if self.data_scope is DataScope.ALL:
            return True
        if assignee_id is not None and assignee_id == self.id:
            return True
        if self.data_scope is DataScope.TEAM:
            return team_id is not None and team_id == self.team_id
        if self.data_scope is DataScope.DEPARTMENT:
            return team_id is not None and team_id in self.team_ids
        return False


def system_actor(tenant_id: uuid.UUID, name: str = "system") -> Actor:
    return Actor(ActorKind.SYSTEM, tenant_id, None, name, PERMISSIONS, DataScope.ALL)


def permissions_for_scopes(scopes: list[str]) -> frozenset[str]:
    granted: set[str] = set()
    for scope in scopes:
        if scope not in API_KEY_SCOPES:
            raise PermissionDenied(f"unknown API key scope {scope}")
        granted |= API_KEY_SCOPES[scope]
    return frozenset(granted)


def department_subtree(root: uuid.UUID | None, parents: dict[uuid.UUID, uuid.UUID | None]) -> frozenset[uuid.UUID]:
    """``root`` and every team whose parent chain reaches it."""
    if root is None:
        return frozenset()
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for team, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(team)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(found)

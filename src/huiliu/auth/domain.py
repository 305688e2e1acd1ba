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


PERMISSIONS: frozenset[str] = frozenset(
    {
        "ticket.read",
        "ticket.create",
        "ticket.update",
        "ticket.assign",
        "ticket.reply",
        "ticket.note",
        "ticket.merge",
        "customer.read",
        "customer.write",
        "order.read",
        "order.write",
        "opportunity.read",
        "opportunity.write",
        "admin.users",
        "admin.teams",
        "admin.roles",
        "admin.webhooks",
        "admin.api_keys",
        "admin.entry_points",
        "admin.rules",
        "admin.routing",
        "admin.sla",
        "admin.notifications",
        "admin.analytics",
        "admin.workflows",
        "admin.templates",
        "admin.kb",
        "admin.intelligence",
        "analytics.read",
    }
)

AGENT_PERMISSIONS: frozenset[str] = frozenset(
    {
        "ticket.read",
        "ticket.create",
        "ticket.update",
        "ticket.assign",
        "ticket.reply",
        "ticket.note",
        "ticket.merge",
        "customer.read",
        "customer.write",
        "order.read",
        "order.write",
        "opportunity.read",
        "opportunity.write",
    }
)

# API key scopes an integrator chooses, and the permissions each grants.
API_KEY_SCOPES: dict[str, frozenset[str]] = {
    "tickets:read": frozenset({"ticket.read", "customer.read"}),
    "tickets:write": frozenset(
        {
            "ticket.read",
            "ticket.create",
            "ticket.update",
            "ticket.assign",
            "ticket.reply",
            "ticket.note",
            "ticket.merge",
            "customer.read",
            "customer.write",
        }
    ),
    "webhooks:manage": frozenset({"admin.webhooks"}),
    # ERP / OMS integrations: read and push orders and opportunities (and find their customers).
    "orders:read": frozenset({"order.read", "opportunity.read", "customer.read"}),
    "orders:write": frozenset(
        {"order.read", "order.write", "opportunity.read", "opportunity.write", "customer.read"}
    ),
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

    def require_any(self, *permissions: str) -> None:
        if not any(p in self.permissions for p in permissions):
            raise PermissionDenied(f"missing one of the permissions {', '.join(permissions)}")

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


def department_subtree(
    root: uuid.UUID | None, parents: dict[uuid.UUID, uuid.UUID | None]
) -> frozenset[uuid.UUID]:
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


# Labels the console shows for each permission, zh-CN first (the default UI language), then English.
PERMISSION_LABELS: dict[str, dict[str, str]] = {
    "ticket.read": {"zh-CN": "查看工单", "en": "View tickets"},
    "ticket.create": {"zh-CN": "创建工单", "en": "Create tickets"},
    "ticket.update": {"zh-CN": "编辑工单与变更状态", "en": "Edit tickets and change status"},
    "ticket.assign": {"zh-CN": "分配工单", "en": "Assign tickets"},
    "ticket.reply": {"zh-CN": "回复客户", "en": "Reply to customers"},
    "ticket.note": {"zh-CN": "添加内部备注", "en": "Add internal notes"},
    "ticket.merge": {"zh-CN": "合并与关联工单", "en": "Merge and link tickets"},
    "customer.read": {"zh-CN": "查看客户档案", "en": "View customer profiles"},
    "customer.write": {
        "zh-CN": "编辑客户档案（含完整手机号）",
        "en": "Edit customer profiles (full phone numbers)",
    },
    "order.read": {"zh-CN": "查看订单", "en": "View orders"},
    "order.write": {"zh-CN": "录入与编辑订单", "en": "Create and edit orders"},
    "opportunity.read": {"zh-CN": "查看商机", "en": "View opportunities"},
    "opportunity.write": {"zh-CN": "录入与编辑商机", "en": "Create and edit opportunities"},
    "admin.users": {"zh-CN": "管理成员", "en": "Manage users"},
    "admin.teams": {"zh-CN": "管理团队与部门", "en": "Manage teams and departments"},
    "admin.roles": {"zh-CN": "管理角色与权限", "en": "Manage roles and permissions"},
    "admin.webhooks": {"zh-CN": "管理 Webhook", "en": "Manage webhooks"},
    "admin.api_keys": {"zh-CN": "管理 API 密钥", "en": "Manage API keys"},
    "admin.entry_points": {"zh-CN": "管理接入入口与二维码", "en": "Manage entry points and QR codes"},
    "admin.rules": {"zh-CN": "管理自动化规则", "en": "Manage automation rules"},
    "admin.sla": {"zh-CN": "管理 SLA 策略与工作日历", "en": "Manage SLA policies and business calendars"},
    "admin.routing": {"zh-CN": "管理派单策略与坐席档案", "en": "Manage routing policies and agent profiles"},
    "admin.notifications": {"zh-CN": "管理通知渠道与投递", "en": "Manage notifications and deliveries"},
    "admin.analytics": {"zh-CN": "管理数据告警与定时报表", "en": "Manage analytics alerts and reports"},
    "admin.workflows": {"zh-CN": "管理流程与审批", "en": "Manage workflows and approvals"},
    "admin.templates": {"zh-CN": "管理工单模板与表单设计", "en": "Manage ticket templates and forms"},
    "admin.kb": {"zh-CN": "管理知识库与快捷回复", "en": "Manage the knowledge base and quick replies"},
    "admin.intelligence": {
        "zh-CN": "管理智能分类与学习模式",
        "en": "Manage classification and learning mode",
    },
    "analytics.read": {"zh-CN": "查看数据看板与报表", "en": "View dashboards and reports"},
}

# The built-in role that always holds every permission; it cannot be edited or deleted, and every
# tenant keeps at least one active user in it.
ADMIN_ROLE = "admin"
LOCALES: frozenset[str] = frozenset({"zh-CN", "en"})


def unknown_permissions(permissions: list[str]) -> list[str]:
    """The names in ``permissions`` that are not permissions at all, in the order given."""
    return [name for name in dict.fromkeys(permissions) if name not in PERMISSIONS]


def require_grantable(actor: Actor, permissions: frozenset[str] | set[str]) -> None:
    """Nobody hands out (through a role, a user's role or an API key) a permission they lack
    themselves: holding ``admin.users`` must not be a path to ``admin.roles``."""
    beyond = sorted(set(permissions) - actor.permissions)
    if beyond:
        raise PermissionDenied(f"you cannot grant permissions you do not have: {', '.join(beyond)}")


def creates_cycle(
    team_id: uuid.UUID, new_parent_id: uuid.UUID | None, parents: dict[uuid.UUID, uuid.UUID | None]
) -> bool:
    """Whether moving ``team_id`` under ``new_parent_id`` would put a team below itself."""
    seen: set[uuid.UUID] = set()
    current = new_parent_id
    while current is not None and current not in seen:
        if current == team_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False

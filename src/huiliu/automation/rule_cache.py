"""The tenant's stored rules, compiled once and kept for a short time (docs/decisions/0018).

Compiling a tenant's rules costs far more than evaluating them, so the trigger reactor and the timer
handler share a per-tenant cache. An entry lives ``ttl`` seconds; a rule write drops the tenant's
entry at once in the process that made it (``invalidate``, called after the write commits), and other
processes see the change within ``ttl`` — the same window ``TenantFlagCache`` gives (decision 0015).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.automation import queries
from huiliu.automation.domain import EventType, Rule, RuleDefinitionError, RuleKind, RuleSet, compile_rules
from huiliu.automation.domain import parse_rule as parse_definition
from huiliu.db.session import Database, TenantCache

log = logging.getLogger("huiliu.automation")

DEFAULT_TTL = 2.0


@dataclass(frozen=True)
class TenantRules:
    """A tenant's compiled rules: the rule set (evaluation order, by event) and its active
    automations. Stored rules whose definition no longer compiles are left out (and logged)."""

    rules: RuleSet
    automations: tuple[Rule, ...] = field(default=())

    @property
    def has_triggers(self) -> bool:
        return any(self.rules.for_event(event) for event in EventType if event is not EventType.TIMER)

    @property
    def active(self) -> bool:
        return self.has_triggers or bool(self.automations)

    @property
    def reads_sla(self) -> bool:
        """Whether a rule tests an ``sla.`` fact (then the facts carry the SLA percentages)."""
        return any(path.startswith("sla.") for path in self.rules.readers)

    @property
    def reads_business_hours(self) -> bool:
        return "within_business_hours" in self.rules.readers

    @property
    def automations_read_sla(self) -> bool:
        return any(path.startswith("sla.") for rule in self.automations for path in rule.conditions.reads)

    def runs_on(self, event: EventType) -> bool:
        return bool(self.rules.for_event(event))


def compile_tenant_rules(definitions: list[tuple[uuid.UUID, dict[str, object]]]) -> TenantRules:
    compiled: list[Rule] = []
    for rule_id, definition in definitions:
        try:
            compiled.append(parse_definition({**definition, "id": str(rule_id)}))
        except RuleDefinitionError as exc:
            log.warning("rule %s no longer compiles and is skipped: %s", rule_id, exc.detail)
    rules = compile_rules(compiled)
    automations = tuple(rule for rule in rules.rules if rule.active and rule.kind is RuleKind.AUTOMATION)
    return TenantRules(rules, automations)


class RuleCache:
    """Compiled rules per tenant with a time to live (see the module docstring)."""

    def __init__(self, ttl: float = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self._entries: TenantCache[TenantRules] = TenantCache(ttl)

    def peek(self, tenant_id: uuid.UUID) -> TenantRules | None:
        """The fresh entry, if any, without loading."""
        return self._entries.get(tenant_id)

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID) -> TenantRules:
        """The tenant's compiled rules, loaded with ``session`` (scoped to the tenant) when stale."""
        hit = self._entries.get(tenant_id)
        if hit is not None:
            return hit
        rows = await queries.list_rules(session)
        return self._entries.put(tenant_id, compile_tenant_rules([(row.id, row.definition) for row in rows]))

    async def load(self, db: Database, tenant_id: uuid.UUID) -> TenantRules:
        """The tenant's compiled rules, loaded on a session of its own when stale — one load at a time
        however many callers miss together (``TenantCache.load``)."""

        async def load() -> TenantRules:
            async with db.read(tenant_id) as session:
                rows = await queries.list_rules(session)
            return compile_tenant_rules([(row.id, row.definition) for row in rows])

        return await self._entries.load(tenant_id, load)

    def invalidate(self, tenant_id: uuid.UUID | None = None) -> None:
        self._entries.invalidate(tenant_id)

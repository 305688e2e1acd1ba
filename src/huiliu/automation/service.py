"""Use cases of stored rules: create, change, delete, reorder, install the presets, and the dry run.

Every write needs ``admin.rules``, runs in one transaction of the caller's tenant, validates the
definition with the engine (``automation.domain.parse_rule``: a 422 listing every problem with its
path) and appends a :class:`RuleChange`. The dry run writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from huiliu.auth.domain import Actor
from huiliu.automation import queries
from huiliu.automation.domain import (
    MAX_RULES,
    EventType,
    RuleDefinitionError,
    TicketFacts,
    TriggeringEvent,
    compile_rules,
    default_rules,
    dry_run,
    parse_rule,
)
from huiliu.automation.domain import Rule as CompiledRule
from huiliu.automation.domain.facts import facts_values
from huiliu.automation.domain.rules import MAX_POSITION
from huiliu.automation.models import Rule, RuleChange
from huiliu.automation.reactor import invalidate_rules
from huiliu.core.clock import utcnow
from huiliu.core.errors import Conflict, ValidationFailed
from huiliu.core.ids import new_id
from huiliu.db.session import UnitOfWork

PERMISSION = "admin.rules"
POSITION_STEP = 10
# Keys the server owns: the id is the row's, never the client's.
SERVER_KEYS = frozenset({"id"})
BODY_LOC = "body"


def _prefixed(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**error, "loc": [BODY_LOC, *error["loc"]]} for error in errors]


def compile_definition(definition: Mapping[str, Any], rule_id: uuid.UUID) -> CompiledRule:
    """Validate and compile a submitted definition as the rule ``rule_id``. Problems are reported
    with their path in the request body (``["body", "conditions", "all", 1, "value"]``)."""
    errors = [
        {"loc": [BODY_LOC, key], "msg": "the id is assigned by the server", "type": "extra_forbidden"}
        for key in sorted(SERVER_KEYS & set(definition))
    ]
    try:
        rule = parse_rule({**definition, "id": str(rule_id)})
    except RuleDefinitionError as exc:
        raise RuleDefinitionError(errors + _prefixed(exc.errors)) from exc
    if errors:
        raise RuleDefinitionError(errors)
    return rule


def _editable(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A stored definition without its server-owned keys: what a PATCH is merged into."""
    return {key: value for key, value in definition.items() if key not in SERVER_KEYS}


def _store(row: Rule, rule: CompiledRule) -> None:
    row.name = rule.name
    row.kind = rule.kind.value
    row.position = rule.position
    row.active = rule.active
    row.stop_processing = rule.stop_processing
    row.definition = rule.to_dict()
    row.updated_at = utcnow()


def _forget_compiled(uow: UnitOfWork, actor: Actor) -> None:
    """After the write commits, the trigger reactor recompiles the tenant's rules."""
    uow.after_commit(lambda: invalidate_rules(uow.db, actor.tenant_id))


def _record(
    uow: UnitOfWork,
    actor: Actor,
    rule_id: uuid.UUID,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    uow.session.add(
        RuleChange(
            tenant_id=actor.tenant_id,
            rule_id=rule_id,
            action=action,
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            actor_name=actor.name,
            before=before,
            after=after,
            created_at=utcnow(),
        )
    )


async def _check_room(uow: UnitOfWork, adding: int) -> None:
    if await queries.count_rules(uow.session) + adding > MAX_RULES:
        raise Conflict(f"a tenant has at most {MAX_RULES} rules")


async def create_rule(
    uow: UnitOfWork, actor: Actor, definition: Mapping[str, Any], *, rule_id: uuid.UUID
) -> Rule:
    """A new rule from a definition (everything but ``id``). Without a ``position`` it goes after the
    tenant's last rule."""
    actor.require(PERMISSION)
    submitted = dict(definition)
    if "position" not in submitted:
        last = await queries.last_position(uow.session)
        submitted["position"] = min(MAX_POSITION, (last or 0) + POSITION_STEP)
    rule = compile_definition(submitted, rule_id)
    await _check_room(uow, 1)
    now = utcnow()
    row = Rule(id=rule_id, tenant_id=actor.tenant_id, created_by=actor.id, created_at=now)
    _store(row, rule)
    uow.session.add(row)
    _record(uow, actor, rule_id, "created", None, row.definition)
    _forget_compiled(uow, actor)
    await uow.commit()
    return row


async def update_rule(uow: UnitOfWork, actor: Actor, rule_id: uuid.UUID, patch: Mapping[str, Any]) -> Rule:
    """Change a rule: keys given replace the stored ones, a key set to null goes back to its default
    (``description``, ``on``, ``conditions`` …), the rest are kept; the result is validated again as a
    whole."""
    actor.require(PERMISSION)
    row = await queries.require_rule(uow.session, rule_id)
    before = row.definition
    merged = _editable(before)
    for key, value in patch.items():
        if value is None and key not in SERVER_KEYS:
            merged.pop(key, None)
        else:
            merged[key] = value
    rule = compile_definition(merged, rule_id)
    _store(row, rule)
    if row.definition != before:
        _record(uow, actor, rule_id, "updated", before, row.definition)
    _forget_compiled(uow, actor)
    await uow.commit()
    return row


async def delete_rule(uow: UnitOfWork, actor: Actor, rule_id: uuid.UUID) -> None:
    """Delete a rule; its change history stays."""
    actor.require(PERMISSION)
    row = await queries.require_rule(uow.session, rule_id)
    _record(uow, actor, rule_id, "deleted", row.definition, None)
    await uow.session.delete(row)
    _forget_compiled(uow, actor)
    await uow.commit()


def _id_problems(ids: Sequence[uuid.UUID], known: set[uuid.UUID], field: str) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for index, rule_id in enumerate(ids):
        if rule_id in seen:
            problems.append({"loc": [BODY_LOC, field, index], "msg": "listed twice", "type": "duplicate"})
        elif rule_id not in known:
            problems.append({"loc": [BODY_LOC, field, index], "msg": "no such rule", "type": "not_found"})
        seen.add(rule_id)
    return problems


async def reorder_rules(uow: UnitOfWork, actor: Actor, ids: Sequence[uuid.UUID]) -> Sequence[Rule]:
    """Put every rule of the tenant in the given order (positions 10, 20, 30 …). ``ids`` must list
    each rule exactly once, so a reorder made on a stale list fails instead of guessing."""
    actor.require(PERMISSION)
    rows = {row.id: row for row in await queries.list_rules(uow.session)}
    problems = _id_problems(ids, set(rows), "ids")
    missing = [str(rule_id) for rule_id in rows if rule_id not in set(ids)]
    if missing:
        problems.append(
            {
                "loc": [BODY_LOC, "ids"],
                "msg": f"every rule must be listed; missing: {', '.join(missing)}",
                "type": "missing",
            }
        )
    if problems:
        raise ValidationFailed("ids must list every rule exactly once", errors=problems)
    now = utcnow()
    for index, rule_id in enumerate(ids):
        row = rows[rule_id]
        position = (index + 1) * POSITION_STEP
        if row.position == position:
            continue
        _record(uow, actor, rule_id, "reordered", {"position": row.position}, {"position": position})
        row.position = position
        row.definition = {**row.definition, "position": position}
        row.updated_at = now
    _forget_compiled(uow, actor)
    await uow.commit()
    return [rows[rule_id] for rule_id in ids]


@dataclass(frozen=True)
class PresetsInstalled:
    installed: list[Rule]
    already_installed: list[str]  # preset keys found in place


async def install_presets(uow: UnitOfWork, actor: Actor, language: str = "zh-CN") -> PresetsInstalled:
    """Install the preset rules (``automation.domain.default_rules``) that the tenant does not have
    yet, by preset key: installing twice adds nothing, and a preset the admin deleted comes back."""
    actor.require(PERMISSION)
    try:
        presets = default_rules(language)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    present = await queries.preset_keys(uow.session)
    wanted = [preset for preset in presets if preset["id"] not in present]
    await _check_room(uow, len(wanted))
    installed: list[Rule] = []
    now = utcnow()
    for preset in wanted:
        rule_id = new_id()
        rule = compile_definition(_editable(preset), rule_id)
        row = Rule(
            id=rule_id,
            tenant_id=actor.tenant_id,
            preset_key=preset["id"],
            created_by=actor.id,
            created_at=now,
        )
        _store(row, rule)
        uow.session.add(row)
        _record(uow, actor, rule_id, "created", None, row.definition)
        installed.append(row)
    _forget_compiled(uow, actor)
    try:
        await uow.commit()
    except IntegrityError as exc:  # another request installed them meanwhile
        raise Conflict("the presets were being installed by another request; try again") from exc
    return PresetsInstalled(installed, sorted(present & {preset["id"] for preset in presets}))


def _json_safe(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def facts_as_json(facts: TicketFacts) -> dict[str, Any]:
    """The facts the rules saw, by path (as conditions name them), for the dry-run reply."""
    values = facts_values(facts)
    values.pop("id", None)
    values.pop("number", None)
    return {key: _json_safe(value) for key, value in values.items()}


def run_dry_run(
    rows: Sequence[Rule],
    facts: TicketFacts,
    event: EventType,
    rule_ids: Sequence[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """What the stored rules (all, or those in ``rule_ids``) would do on a ticket for an event: the
    engine's dry run, with every rule's outcome and the planned actions. Rules whose stored definition
    no longer compiles are reported as ``invalid`` instead of failing the whole run. Writes nothing."""
    if rule_ids is not None:
        problems = _id_problems(rule_ids, {row.id for row in rows}, "rule_ids")
        if problems:
            raise ValidationFailed("unknown or repeated rule ids", errors=problems)
        wanted = set(rule_ids)
        rows = [row for row in rows if row.id in wanted]
    compiled: list[CompiledRule] = []
    invalid: list[dict[str, Any]] = []
    for row in rows:
        try:
            compiled.append(parse_rule({**row.definition, "id": str(row.id)}))
        except RuleDefinitionError as exc:
            invalid.append(
                {
                    "rule_id": str(row.id),
                    "rule_name": row.name,
                    "outcome": "invalid",
                    "note": f"the stored definition no longer compiles: {exc.detail}",
                    "errors": exc.errors,
                }
            )
    result = dry_run(compile_rules(compiled), facts, TriggeringEvent(event)).to_dict()
    firings = {firing["rule_id"]: firing for firing in result["firings"]}
    outcomes = []
    for outcome in result["outcomes"]:
        firing = firings.get(outcome["rule_id"])
        if firing is not None:
            outcome = {
                **outcome,
                "reason": firing["reason"],
                "actions": firing["actions"],
                "skipped": firing["skipped"],
            }
        outcomes.append(outcome)
    return {
        "event": result["event"],
        "outcomes": outcomes + invalid,
        "actions": [action for firing in result["firings"] for action in firing["actions"]],
        "fired": [firing["rule_id"] for firing in result["firings"]],
        "changes": _json_safe(result["changes"]),
        "passes": result["passes"],
        "stopped_by": result["stopped_by"],
        "pass_limit_reached": result["pass_limit_reached"],
        "facts": facts_as_json(facts),
    }

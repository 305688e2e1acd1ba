"""Classification on tickets (docs/intelligence.md, decision 0042).

``ClassificationReactor`` sees a unit of work's events before it commits. On ``ticket.created`` (API,
intake, channels: every path that takes the unit of work) it classifies the ticket's title and
description and

- stores the outputs (labels, confidences, the top guesses per target, the model version) in
  ``ticket_classifications``; rules read them as ``classification.*`` facts and the ticket fields;
- restricts the category to the tenant's taxonomy (:mod:`.taxonomy`): a prediction outside it falls
  to the best-scoring category inside it, or to none (and triage);
- fills ``scenario`` and ``category`` when the request left them empty and the prediction's
  confidence reaches the tenant's threshold for that target;
- raises ``priority`` to urgent (never lowers it) when the model says urgent with at least
  ``urgent_confidence``;
- marks the ticket ``needs_triage`` (待分类) when any target is under its threshold, instead of
  guessing: the triage view lists it and an agent confirms or corrects with one click.

On ``ticket.updated`` made by a person (not the system, not a rule) that changes scenario, category or
priority of a classified ticket, it records the change as a correction (learning mode) and takes the
ticket off triage. Only tenants that switched classification on (tenant setting ``classification``)
are touched; for the others ``applies`` is False and the single-statement create paths stay fast."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from huiliu.auth.domain import ActorKind, system_actor
from huiliu.auth.models import Tenant
from huiliu.core import events as ev
from huiliu.core.clock import utcnow
from huiliu.core.errors import ValidationFailed
from huiliu.core.events import DomainEvent
from huiliu.db.session import Database, TenantCache, UnitOfWork
from huiliu.intelligence.models import ClassificationCorrection, TicketClassification, session_rows
from huiliu.intelligence.serving import Classifier, ServingModel
from huiliu.intelligence.store import read_serving, store_for
from huiliu.intelligence.taxonomy import DEFAULT_CATEGORIES, Category, parse_categories, restrict
from huiliu.settings import Settings, get_settings
from huiliu.tickets import service as tickets
from huiliu.tickets.models import Ticket
from huiliu.tickets.schemas import TicketUpdate

REACTOR_NAME = "classification"
ACTOR_NAME = "classifier"
SETTINGS_KEY = "classification"
# Targets triage asks about; sentiment is stored but never sends a ticket to triage.
TRIAGE_TARGETS = ("scenario", "category", "priority")
CORRECTABLE = frozenset(TRIAGE_TARGETS)
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
SCENARIOS = ("presales", "sales", "aftersales", "complaint")
TOP_GUESSES = 3
# Every class of a target, best first: the category guesses are restricted to the taxonomy afterwards.
ALL_GUESSES = 10_000
TEXT_CHARS = 5000


@dataclass(frozen=True)
class TenantClassification:
    """A tenant's classification settings (``tenants.settings["classification"]``)."""

    enabled: bool = False
    thresholds: dict[str, float] = field(
        default_factory=lambda: {"scenario": 0.6, "category": 0.5, "priority": 0.5}
    )
    urgent_confidence: float = 0.8
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES

    @property
    def category_keys(self) -> frozenset[str]:
        return frozenset(category.key for category in self.categories)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "thresholds": dict(self.thresholds),
            "urgent_confidence": self.urgent_confidence,
            "categories": [category.as_dict() for category in self.categories],
        }


def parse_settings(raw: Any) -> TenantClassification:
    """The stored settings, defaults for what is missing; rejects values outside [0, 1] and a
    malformed taxonomy (:func:`.taxonomy.parse_categories`)."""
    default = TenantClassification()
    if not isinstance(raw, dict):
        return default
    thresholds = dict(default.thresholds)
    given = raw.get("thresholds") or {}
    if not isinstance(given, dict):
        raise ValidationFailed("thresholds must be an object of target → number.")
    for target, value in given.items():
        if target not in TRIAGE_TARGETS:
            raise ValidationFailed(
                f"thresholds: unknown target {target!r} (one of {', '.join(TRIAGE_TARGETS)})."
            )
        thresholds[target] = _unit(value, f"thresholds.{target}")
    urgent = _unit(raw.get("urgent_confidence", default.urgent_confidence), "urgent_confidence")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValidationFailed("enabled must be true or false.")
    raw_categories = raw.get("categories")
    categories = DEFAULT_CATEGORIES if raw_categories is None else parse_categories(raw_categories)
    return TenantClassification(enabled, thresholds, urgent, categories)


async def read_config(session: AsyncSession, tenant_id: uuid.UUID) -> TenantClassification:
    """A tenant's classification settings as stored (defaults when unset or unreadable)."""
    return _parsed(await session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)))


def _parsed(settings: Any) -> TenantClassification:
    """The classification settings inside a tenant's settings document (defaults when unset or bad)."""
    raw = settings.get(SETTINGS_KEY) if isinstance(settings, dict) else None
    try:
        return parse_settings(raw)
    except ValidationFailed:
        return TenantClassification()


def _unit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationFailed(f"{name} must be a number between 0 and 1.")
    return float(value)


def tenant_model_path(settings: Settings, tenant_id: uuid.UUID) -> Path:
    """Where learning mode keeps a tenant's promoted model (under ``files_dir``)."""
    return settings.files_dir / "models" / f"classifier-{tenant_id}.joblib"


class _TenantModels:
    """Per-tenant promoted models, read once per file version (mtime) per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[Path, tuple[float, ServingModel]] = {}

    def get(self, path: Path) -> ServingModel | None:
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            hit = self._loaded.get(path)
            if hit is not None and hit[0] == mtime:
                return hit[1]
        classifier = read_serving(path)
        if classifier is None:
            return None
        with self._lock:
            self._loaded[path] = (mtime, classifier)
        return classifier

    def forget(self, path: Path) -> None:
        with self._lock:
            self._loaded.pop(path, None)


tenant_models = _TenantModels()


def classifier_for(settings: Settings, tenant_id: uuid.UUID) -> ServingModel:
    """The tenant's promoted model when learning mode made one, else the shipped model (blocking: the
    first call of a process may load or train; call it off the event loop)."""
    own = tenant_models.get(tenant_model_path(settings, tenant_id))
    if own is not None:
        return own
    return store_for(settings.classifier_model_path, settings.classifier_dataset_dir).serving()


def model_version(classifier: Classifier) -> str:
    card = classifier.card
    return f"{card.trained_at}/{card.dataset[:12]}"


@dataclass(frozen=True)
class Outcome:
    labels: dict[str, str | None]
    confidence: dict[str, float]
    guesses: dict[str, list[list[Any]]]
    low: list[str]
    version: str


def classify_text(classifier: Classifier, text: str, config: TenantClassification) -> Outcome:
    """The model's labels, confidences and top guesses for ``text``, the category restricted to the
    tenant's taxonomy (``None`` with confidence 0 when the model knows none of it), and the targets
    under the tenant's thresholds (a missing category is always one)."""
    prediction, ranked = classifier.predict_with_guesses(text, top=ALL_GUESSES)
    labels: dict[str, str | None] = dict(prediction.labels)
    confidence = dict(prediction.confidence)
    ranked = {**ranked, "category": restrict(ranked["category"], config.category_keys)}
    best = ranked["category"][0] if ranked["category"] else (None, 0.0)
    labels["category"], confidence["category"] = best
    guesses = {
        target: [[label, probability] for label, probability in guessed[:TOP_GUESSES]]
        for target, guessed in ranked.items()
    }
    low = [t for t in TRIAGE_TARGETS if labels.get(t) is None or confidence[t] < config.thresholds[t]]
    return Outcome(labels, confidence, guesses, low, model_version(classifier))


def ticket_text(title: str, description: str) -> str:
    return f"{title}\n{description}".strip()[:TEXT_CHARS]


class ClassificationReactor:
    name = REACTOR_NAME

    def __init__(self, settings: Settings | None = None, ttl: float = 2.0) -> None:
        self._settings = settings
        self.configs: TenantCache[TenantClassification] = TenantCache(ttl)

    @property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else get_settings()

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    async def config(self, db: Database, tenant_id: uuid.UUID) -> TenantClassification:
        async def load() -> TenantClassification:
            async with db.read(None, system=True) as session:
                raw = await session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id))
            return _parsed(raw)

        return await self.configs.load(tenant_id, load)

    async def _config_in(self, uow: UnitOfWork, tenant_id: uuid.UUID) -> TenantClassification:
        """The settings read through the unit of work's own connection (no second connection while
        it holds a write transaction)."""
        cached = self.configs.get(tenant_id)
        if cached is not None:
            return cached
        return self.configs.put(tenant_id, await read_config(uow.session, tenant_id))

    async def applies(self, db: Database, tenant_id: uuid.UUID) -> bool:
        return (await self.config(db, tenant_id)).enabled

    async def react(self, uow: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        tenant_id = uow.tenant_id
        if tenant_id is None:
            return
        created: list[uuid.UUID] = []
        corrected: list[DomainEvent] = []
        for event in events:
            if event.tenant_id != tenant_id:
                continue
            if event.type == ev.TICKET_CREATED:
                created.append(uuid.UUID(event.data["ticket"]["id"]))
            elif (
                event.type == ev.TICKET_UPDATED
                and event.data.get("actor", {}).get("kind") == ActorKind.USER.value
                and CORRECTABLE & set(event.data.get("changes") or {})
            ):
                corrected.append(event)
        if not created and not corrected:
            return
        config = await self._config_in(uow, tenant_id)
        if not config.enabled:
            return
        if created:
            await self._classify(uow, tenant_id, list(dict.fromkeys(created)), config)
        for event in corrected:
            await record_corrections_from_event(uow, event)

    async def _classify(
        self, uow: UnitOfWork, tenant_id: uuid.UUID, ticket_ids: list[uuid.UUID], config: TenantClassification
    ) -> None:
        classifier = await asyncio.to_thread(classifier_for, self.settings, tenant_id)
        actor = system_actor(tenant_id, ACTOR_NAME)
        for ticket_id in ticket_ids:
            ticket = await uow.session.get(Ticket, ticket_id)
            if ticket is None:
                continue
            outcome = classify_text(classifier, ticket_text(ticket.title, ticket.description), config)
            row = TicketClassification(
                tenant_id=tenant_id,
                ticket_id=ticket_id,
                labels=outcome.labels,
                confidence=outcome.confidence,
                guesses=outcome.guesses,
                low=outcome.low,
                model_version=outcome.version,
                needs_triage=bool(outcome.low),
            )
            uow.session.add(row)
            session_rows(uow.session.info)[ticket_id] = row
            changes = fills(ticket, outcome, config)
            if changes:
                await tickets.update_ticket(uow, actor, ticket_id, TicketUpdate(**changes))
        await uow.session.flush()


def fills(ticket: Ticket, outcome: Outcome, config: TenantClassification) -> dict[str, Any]:
    """The ticket fields the classification sets: empty scenario / category when confident, priority
    raised to urgent when the model is sure enough; never overwrites what the request said."""
    changes: dict[str, Any] = {}
    scenario = outcome.labels.get("scenario")
    if ticket.scenario is None and "scenario" not in outcome.low and scenario in SCENARIOS:
        changes["scenario"] = scenario
    category = outcome.labels.get("category")
    if ticket.category is None and "category" not in outcome.low and category:
        changes["category"] = category[:100]
    if (
        outcome.labels.get("priority") == "urgent"
        and outcome.confidence.get("priority", 0.0) >= config.urgent_confidence
        and PRIORITY_RANK.get(ticket.priority, 0) < PRIORITY_RANK["urgent"]
    ):
        changes["priority"] = "urgent"
    return changes


async def record_corrections_from_event(uow: UnitOfWork, event: DomainEvent) -> None:
    """A person changed scenario / category / priority of a classified ticket: one correction per
    target (predicted = the model's label), and the ticket leaves triage."""
    ticket_id = uuid.UUID(event.data["ticket"]["id"])
    row = await uow.session.get(TicketClassification, ticket_id)
    if row is None:
        return
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    actor_id = event.data.get("actor", {}).get("id")
    by = uuid.UUID(actor_id) if actor_id else None
    changes = event.data.get("changes") or {}
    for target in TRIAGE_TARGETS:
        if target not in changes:
            continue
        value = changes[target].get("to") if isinstance(changes[target], dict) else None
        if not value:
            continue
        uow.session.add(
            ClassificationCorrection(
                tenant_id=row.tenant_id,
                ticket_id=ticket_id,
                target=target,
                predicted=row.labels.get(target),
                corrected=str(value),
                ticket_text=ticket_text(ticket.title, ticket.description),
                created_by=by,
            )
        )
    if row.needs_triage:
        row.needs_triage = False
        row.triaged_by = by
        row.triaged_at = utcnow()


def install(db: Database, settings: Settings | None = None) -> ClassificationReactor:
    """Register the classification reactor on ``db`` once, first (rules see what it set); returns it."""
    for reactor in db.reactors:
        if isinstance(reactor, ClassificationReactor):
            if settings is not None:
                reactor.settings = settings
            return reactor
    classification = ClassificationReactor(settings)
    db.reactors.insert(0, classification)
    return classification

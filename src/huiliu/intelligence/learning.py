"""Learning mode (学习模式): retrain a tenant's classifier on the shipped dataset plus its agents'
corrections, and promote it only if it is better (decision 0043).

For one tenant: the corrections become examples (per ticket, the latest answer per target; targets
nobody corrected keep the model's label). The shipped dataset and the corrections are each split
into train / held-out with the same seed. A *baseline* (shipped training part only) and a *candidate*
(shipped training part + corrections' training part) are trained and both scored on the same
held-out set (shipped held-out + corrections' held-out). The candidate is promoted only when

- its macro-F1 (mean over scenario, category and priority) is not lower than the baseline's, and
- its urgent recall is not lower than the baseline's (corrections may never teach it to miss
  urgent tickets);

then the tenant's model is trained on everything (shipped + all corrections) and written under
``files_dir/models``; the classification reactor picks it up by the file's mtime. Every run writes
the model card (metrics of both, data sizes, date, promoted or not and why) next to it, whether
promoted or not. ``huiliu train --tenant`` runs it once; the worker's ``LearningScheduler`` runs it for
tenants with corrections newer than their last card."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from huiliu.db.session import Database
from huiliu.intelligence import model as model_module
from huiliu.intelligence import serving as serving_module
from huiliu.intelligence.dataset import TARGETS, Example, load_dataset, split
from huiliu.intelligence.evaluation import TargetReport, evaluate
from huiliu.intelligence.model import DEFAULT_SEED, TicketClassifier
from huiliu.intelligence.models import ClassificationCorrection, TicketClassification
from huiliu.intelligence.store import read_serving, save, serving_path
from huiliu.intelligence.triage import TRIAGE_TARGETS, tenant_model_path, tenant_models
from huiliu.periodic import PeriodicJob
from huiliu.runtime import Runtime
from huiliu.settings import Settings

log = logging.getLogger("huiliu.intelligence.learning")

HOLDOUT_FRACTION = 0.2
# The worker looks for tenants to retrain this often; a tenant is retrained at most once per period.
CHECK_SECONDS = 3600.0
MIN_PERIOD_SECONDS = 24 * 3600.0


def model_format() -> dict[str, Any]:
    """What decides whether this version can serve a model file: the model's and the serving file's
    format and the scikit-learn version (``store.read`` / ``store.read_serving``)."""
    import sklearn

    return {
        "model": model_module.FORMAT_VERSION,
        "serving": serving_module.SERVING_FORMAT,
        "sklearn": sklearn.__version__,
    }


def stale_model(settings: Settings, tenant_id: uuid.UUID, card: dict[str, Any]) -> bool:
    """Whether the tenant has a model file written for another format (an upgrade of Huiliu or
    scikit-learn): this version cannot serve it, so the shipped model answers until it is retrained.
    A card from before the format was recorded counts as stale (one retraining settles it)."""
    return tenant_model_path(settings, tenant_id).is_file() and card.get("format") != model_format()


def card_path(settings: Settings, tenant_id: uuid.UUID) -> Path:
    return tenant_model_path(settings, tenant_id).with_suffix(".card.json")


def read_card(settings: Settings, tenant_id: uuid.UUID) -> dict[str, Any] | None:
    path = card_path(settings, tenant_id)
    if not path.is_file():
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def corrections_to_examples(
    corrections: Sequence[ClassificationCorrection], predicted: dict[uuid.UUID, dict[str, Any]]
) -> list[Example]:
    """One example per corrected ticket: the model's labels overridden by the agents' latest answers."""
    per_ticket: dict[uuid.UUID, tuple[str, dict[str, str]]] = {}
    for row in sorted(corrections, key=lambda c: c.created_at):
        text, labels = per_ticket.get(row.ticket_id, (row.ticket_text, {}))
        labels[row.target] = row.corrected
        per_ticket[row.ticket_id] = (row.ticket_text or text, labels)
    examples = []
    for ticket_id, (text, labels) in per_ticket.items():
        # A label the model did not give (a category outside the tenant's taxonomy is null) is no label.
        model = {k: str(v) for k, v in predicted.get(ticket_id, {}).items() if v is not None}
        merged = {**model, **labels}
        if not text.strip() or any(not merged.get(target) for target in TARGETS):
            continue
        examples.append(
            Example(
                text=text,
                scenario=merged["scenario"],
                category=merged["category"],
                priority=merged["priority"],
                sentiment=merged["sentiment"],
                industry="tenant",
            )
        )
    return examples


@dataclass
class Decision:
    promoted: bool
    reason: str
    baseline: dict[str, float]
    candidate: dict[str, float]


def headline(reports: dict[str, TargetReport]) -> dict[str, float]:
    priority = reports["priority"]
    urgent = priority.score("urgent").recall if "urgent" in priority.labels else 0.0
    macro = sum(reports[t].macro_f1 for t in TRIAGE_TARGETS) / len(TRIAGE_TARGETS)
    return {
        "macro_f1": round(macro, 4),
        "urgent_recall": round(urgent, 4),
        **{f"{t}_macro_f1": round(reports[t].macro_f1, 4) for t in TRIAGE_TARGETS},
    }


def decide(baseline: dict[str, float], candidate: dict[str, float], corrections: int) -> Decision:
    if corrections == 0:
        return Decision(False, "no corrections to learn from", baseline, candidate)
    if candidate["macro_f1"] < baseline["macro_f1"]:
        reason = (
            f"macro-F1 {candidate['macro_f1']:.4f} is lower than the baseline's {baseline['macro_f1']:.4f}"
        )
        return Decision(False, reason, baseline, candidate)
    if candidate["urgent_recall"] < baseline["urgent_recall"]:
        reason = (
            f"urgent recall {candidate['urgent_recall']:.4f} is lower than the baseline's "
            f"{baseline['urgent_recall']:.4f}"
        )
        return Decision(False, reason, baseline, candidate)
    reason = (
        f"macro-F1 {candidate['macro_f1']:.4f} ≥ {baseline['macro_f1']:.4f} and urgent recall "
        f"{candidate['urgent_recall']:.4f} ≥ {baseline['urgent_recall']:.4f}"
    )
    return Decision(True, reason, baseline, candidate)


@dataclass
class Retrained:
    decision: Decision
    card: dict[str, Any]
    classifier: TicketClassifier | None  # the promoted model, trained on everything


def retrain(base: Sequence[Example], corrections: Sequence[Example], seed: int = DEFAULT_SEED) -> Retrained:
    """Train, compare on the held-out split and (when better) train the promoted model. Pure: writes
    nothing."""
    base_train, base_test = split(base, seed, HOLDOUT_FRACTION)
    corrections_train, corrections_test = (
        split(corrections, seed, HOLDOUT_FRACTION) if corrections else ([], [])
    )
    held_out = base_test + corrections_test
    baseline = headline(evaluate(TicketClassifier.train(base_train, seed), held_out))
    candidate = headline(evaluate(TicketClassifier.train(base_train + corrections_train, seed), held_out))
    decision = decide(baseline, candidate, len(corrections))
    classifier = TicketClassifier.train([*base, *corrections], seed) if decision.promoted else None
    card = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "promoted": decision.promoted,
        "reason": decision.reason,
        "baseline": decision.baseline,
        "candidate": decision.candidate,
        "data": {
            "shipped_examples": len(base),
            "corrections": len(corrections),
            "train_examples": len(base_train) + len(corrections_train),
            "held_out_examples": len(held_out),
        },
        "model_version": (
            f"{classifier.card.trained_at}/{classifier.card.dataset[:12]}" if classifier is not None else None
        ),
    }
    if classifier is not None:
        classifier.card.metrics = {"learning": {k: v for k, v in card.items() if k != "model_version"}}
    return Retrained(decision, card, classifier)


async def load_corrections(db: Database, tenant_id: uuid.UUID) -> list[Example]:
    async with db.read(tenant_id) as session:
        rows = list(await session.scalars(select(ClassificationCorrection)))
        ticket_ids = {row.ticket_id for row in rows}
        predicted: dict[uuid.UUID, dict[str, Any]] = {}
        if ticket_ids:
            found = await session.execute(
                select(TicketClassification.ticket_id, TicketClassification.labels).where(
                    TicketClassification.ticket_id.in_(ticket_ids)
                )
            )
            predicted = {ticket_id: dict(labels) for ticket_id, labels in found.all()}
    return corrections_to_examples(rows, predicted)


async def retrain_tenant(
    db: Database, settings: Settings, tenant_id: uuid.UUID, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """Retrain one tenant's model, promote it if better, write its card; returns the card."""
    corrections = await load_corrections(db, tenant_id)
    base = load_dataset(settings.classifier_dataset_dir)
    result = await asyncio.to_thread(retrain, base, corrections, seed)
    path = tenant_model_path(settings, tenant_id)
    if result.classifier is not None:
        await asyncio.to_thread(save, result.classifier, path)
        tenant_models.forget(path)
    else:
        previous = read_card(settings, tenant_id) or {}
        stale = path.is_file() and previous.get("format") != model_format()
        if stale and await asyncio.to_thread(read_serving, path) is None:
            # The model it had is one this version cannot serve: it goes, the shipped one serves.
            path.unlink(missing_ok=True)
            serving_path(path).unlink(missing_ok=True)
            tenant_models.forget(path)
            log.warning("learning mode: tenant %s's model was of an older format; removed", tenant_id)
        # The tenant keeps the model it had: its version stays on the card.
        result.card["model_version"] = previous.get("model_version") if path.is_file() else None
    result.card["format"] = model_format()
    result.card["tenant_id"] = str(tenant_id)
    card = card_path(settings, tenant_id)
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(json.dumps(result.card, ensure_ascii=False, indent=2), encoding="utf-8")
    log.info(
        "learning mode: tenant %s %s (%s)",
        tenant_id,
        "promoted" if result.decision.promoted else "kept",
        result.decision.reason,
    )
    return result.card


async def tenants_due(db: Database, settings: Settings, now: datetime) -> list[uuid.UUID]:
    """Tenants with corrections newer than their last card, and no card in the last period; and at
    once, tenants whose model this version cannot serve (``stale_model``)."""
    async with db.read(None, system=True) as session:
        latest = await session.execute(
            select(
                ClassificationCorrection.tenant_id, func.max(ClassificationCorrection.created_at)
            ).group_by(ClassificationCorrection.tenant_id)
        )
        rows = latest.all()
    due = []
    for tenant_id, newest in rows:
        card = read_card(settings, tenant_id)
        if card is None or stale_model(settings, tenant_id, card):
            due.append(tenant_id)
            continue
        trained_at = datetime.fromisoformat(str(card.get("trained_at")))
        if newest > trained_at and (now - trained_at).total_seconds() >= MIN_PERIOD_SECONDS:
            due.append(tenant_id)
    return due


class LearningScheduler(PeriodicJob):
    """The worker's learning-mode job: every ``CHECK_SECONDS`` it retrains the tenants that are due."""

    name = "learning-scheduler"

    def __init__(self, settings: Settings, interval: float = CHECK_SECONDS) -> None:
        super().__init__(settings, interval, log=log)

    async def run_once(self, runtime: Runtime) -> list[dict[str, Any]]:
        cards = []
        for tenant_id in await tenants_due(runtime.db, self.settings, datetime.now(UTC)):
            cards.append(await retrain_tenant(runtime.db, self.settings, tenant_id))
        return cards

"""Classification of one message for the API: the four predictions with their confidences and the
entities found in it, in the fixed shape of ``POST /api/v1/classify``; the category restricted to a
tenant's taxonomy when one is given (:mod:`.taxonomy`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huiliu.intake import extraction
from huiliu.intelligence.serving import Classifier
from huiliu.intelligence.taxonomy import restrict

# Every class of a target, best first (the category is restricted to the taxonomy afterwards).
ALL_CLASSES = 10_000
ENTITY_KEYS = ("order_no", "phone", "email", "tracking_no", "amount", "device_sn")

# extraction kinds -> the contract's keys; landlines are phones too.
_KIND_KEYS = {
    extraction.ORDER_NUMBER: "order_no",
    extraction.PHONE: "phone",
    extraction.LANDLINE: "phone",
    extraction.EMAIL: "email",
    extraction.TRACKING_NUMBER: "tracking_no",
    extraction.AMOUNT: "amount",
    extraction.DEVICE_SN: "device_sn",
}


def entities(text: str) -> dict[str, list[str]]:
    """Distinct normalized entities per contract key, in order of appearance. Phones are digits only
    (``0755-88886666`` → ``075588886666``); amounts are plain decimals in yuan (``1299.00``)."""
    found: dict[str, list[str]] = {key: [] for key in ENTITY_KEYS}
    for entity in extraction.extract_entities(text):
        key = _KIND_KEYS[entity.kind]
        value = entity.normalized
        if key == "phone":
            value = "".join(ch for ch in value if ch.isdigit())
        if value not in found[key]:
            found[key].append(value)
    return found


@dataclass(frozen=True)
class Classification:
    body: dict[str, Any]
    low_confidence: tuple[str, ...]


def classify(
    classifier: Classifier, text: str, threshold: float, categories: frozenset[str] | None = None
) -> Classification:
    """The body of ``POST /api/v1/classify`` and the targets under ``threshold``. With
    ``categories`` (a tenant's taxonomy) the category is the best-scoring one inside it, with its own
    probability, or ``None`` (confidence 0, low) when the model knows none of them."""
    if categories is None:
        prediction = classifier.predict(text, threshold)
        labels: dict[str, str | None] = dict(prediction.labels)
        confidence = dict(prediction.confidence)
    else:
        prediction, ranked = classifier.predict_with_guesses(text, threshold, top=ALL_CLASSES)
        labels, confidence = dict(prediction.labels), dict(prediction.confidence)
        inside = restrict(ranked["category"], categories)
        labels["category"], confidence["category"] = inside[0] if inside else (None, 0.0)
    low = tuple(target for target in labels if labels[target] is None or confidence[target] < threshold)
    body = {
        "scenario": labels["scenario"],
        "category": labels["category"],
        "priority": labels["priority"],
        "sentiment": labels["sentiment"],
        "confidence": confidence,
        "entities": entities(text),
    }
    return Classification(body, low)

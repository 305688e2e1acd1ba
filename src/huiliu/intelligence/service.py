"""Classification of one message for the API: the four predictions with their confidences and the
entities found in it, in the fixed shape of ``POST /api/v1/classify``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huiliu.intake import extraction
from huiliu.intelligence.model import TicketClassifier

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


def classify(classifier: TicketClassifier, text: str, threshold: float) -> Classification:
    prediction = classifier.predict(text, threshold)
    body = {
        "scenario": prediction.labels["scenario"],
        "category": prediction.labels["category"],
        "priority": prediction.labels["priority"],
        "sentiment": prediction.labels["sentiment"],
        "confidence": dict(prediction.confidence),
        "entities": entities(text),
    }
    return Classification(body, prediction.low_confidence)

"""The classifier as API workers serve it: the compiled arrays (:class:`fast.CompiledModel`) and the
model card, read from their own file without scikit-learn.

scikit-learn and SciPy cost an API worker about 90 MB of resident memory, and unpickling the trained
model (``model.TicketClassifier``) needs them; predictions only ever use the compiled arrays. So the
store writes a second file next to the model, ``<model>.serving.joblib``, holding a
:class:`ServingModel` (NumPy arrays, the vocabulary, the card as plain values), which loads with
NumPy alone. Training, evaluation and learning mode keep using ``TicketClassifier``.

``normalize_text`` and the urgent rule repeat ``model.py``'s; tests/intelligence/test_serving.py
checks that a ServingModel predicts exactly what its TicketClassifier does on the whole dataset."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from huiliu.intelligence.fast import CompiledModel

# 2: texts framed by start and end markers; 3: scenario on 1–2-grams (model format 3); 4: and on words
# (model format 4)
SERVING_FORMAT = 4
# Long numbers (order, tracking, phone, card numbers) say nothing about the scenario, but their many
# digit n-grams would outweigh the words; they become one "#". Short ones stay: 12315, 110, 3天.
_LONG_NUMBER = re.compile(r"\d[\d \-]{4,}\d")
# How a message starts and ends says much about its scenario (请问… / 想买… open presales questions,
# …吗 / …多少钱 close them, 我的… / 上次… open after-sales ones), wherever the same words sit elsewhere:
# marking both ends gives the n-grams that touch them their own features. Control characters nobody
# types; decision 0051 (cross-validated scenario macro-F1 +0.004).
START, END = "\x02", "\x03"


def normalize_text(text: str) -> str:
    """The text as training and prediction see it (``TicketClassifier`` and ``ServingModel`` alike):
    NFKC folds full-width letters and digits (ＡＢＣ１２３ → ABC123); lower case for English; long
    numbers become ``#``; the text is stripped and framed by the ``START`` and ``END`` markers."""
    return START + _LONG_NUMBER.sub("#", unicodedata.normalize("NFKC", text).lower()).strip() + END


@dataclass(frozen=True)
class Prediction:
    labels: dict[str, str]
    confidence: dict[str, float]
    low_confidence: tuple[str, ...] = ()


@dataclass
class ServingCard:
    """The model card's values (``model.ModelCard``), without its class."""

    trained_at: str
    examples: int
    dataset: str
    seed: int
    sklearn_version: str
    python_version: str
    format_version: int
    metrics: dict[str, Any] = field(default_factory=dict)


Guesses = dict[str, list[tuple[str, float]]]


class Classifier(Protocol):
    """What serving needs of a classifier: a ``TicketClassifier`` or a ``ServingModel``."""

    @property
    def card(self) -> Any: ...

    def predict(self, text: str, threshold: float = 0.0) -> Any: ...

    def predict_with_guesses(
        self, text: str, threshold: float = 0.0, top: int = 3
    ) -> tuple[Any, Guesses]: ...

    def classes(self, target: str) -> list[str]: ...


class ServingModel:
    def __init__(self, compiled: CompiledModel, card: ServingCard, urgent_threshold: float) -> None:
        self.compiled = compiled
        self.card = card
        self.urgent_threshold = urgent_threshold
        self.serving_format = SERVING_FORMAT

    @classmethod
    def of(cls, classifier: Any) -> ServingModel:
        """The serving form of a trained ``TicketClassifier``."""
        from huiliu.intelligence.model import URGENT_THRESHOLD

        card = classifier.card
        values = ServingCard(
            trained_at=card.trained_at,
            examples=card.examples,
            dataset=card.dataset,
            seed=card.seed,
            sklearn_version=card.sklearn_version,
            python_version=card.python_version,
            format_version=card.format_version,
            metrics=dict(card.metrics),
        )
        return cls(classifier.compiled, values, URGENT_THRESHOLD)

    def predict(self, text: str, threshold: float = 0.0) -> Prediction:
        return self.predict_with_guesses(text, threshold)[0]

    def predict_with_guesses(
        self, text: str, threshold: float = 0.0, top: int = 3
    ) -> tuple[Prediction, Guesses]:
        """As ``TicketClassifier.predict_with_guesses``."""
        return predict_compiled(self.compiled, text, threshold, top, self.urgent_threshold)

    def classes(self, target: str) -> list[str]:
        return [str(c) for c in self.compiled.targets[target].classes]


def predict_compiled(
    compiled: CompiledModel, text: str, threshold: float, top: int, urgent_threshold: float
) -> tuple[Prediction, Guesses]:
    """Labels, confidences and, per target, the ``top`` most probable labels (best first) of one text,
    from one pass over the features; targets under ``threshold`` are named as low. ``urgent`` wins the
    priority once its probability reaches ``urgent_threshold`` (a missed emergency costs more than a
    false alarm)."""
    labels: dict[str, str] = {}
    confidence: dict[str, float] = {}
    guesses: Guesses = {}
    for target, probabilities in compiled.predict_proba(normalize_text(text)).items():
        classes = compiled.targets[target].classes
        order = probabilities.argsort()[::-1][:top]
        guesses[target] = [(str(classes[i]), round(float(probabilities[i]), 4)) for i in order]
        best = int(probabilities.argmax())
        if target == "priority" and "urgent" in classes:
            urgent = int(np.flatnonzero(classes == "urgent")[0])
            if probabilities[urgent] >= urgent_threshold:
                best = urgent
        labels[target] = str(classes[best])
        confidence[target] = round(float(probabilities[best]), 4)
    low = tuple(t for t in labels if confidence[t] < threshold)
    return Prediction(labels, confidence, low), guesses

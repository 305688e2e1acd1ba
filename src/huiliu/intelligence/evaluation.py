"""Per-class precision / recall / F1 and confusion matrices of a classifier on labelled examples,
as data (for tests, the model card and the docs) and as rich tables (``huiliu eval``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from huiliu.intelligence.dataset import LABELS, TARGETS, Example
from huiliu.intelligence.model import TicketClassifier


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class TargetReport:
    target: str
    labels: tuple[str, ...]
    scores: tuple[ClassScore, ...]
    accuracy: float
    macro_f1: float
    # confusion[i][j]: examples whose true label is labels[i] predicted as labels[j]
    confusion: tuple[tuple[int, ...], ...]

    def score(self, label: str) -> ClassScore:
        return next(s for s in self.scores if s.label == label)

    def summary(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {
                s.label: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                }
                for s in self.scores
            },
        }


def score_target(target: str, truth: Sequence[str], predicted: Sequence[str]) -> TargetReport:
    """Scores over the labels that occur in ``truth`` or ``predicted`` (taxonomy order, then others)."""
    seen = set(truth) | set(predicted)
    # A tenant's own labels (learning mode teaches new categories) come after the taxonomy's.
    known = set(LABELS[target])
    labels = tuple(label for label in LABELS[target] if label in seen) + tuple(sorted(seen - known))
    position = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[position[t]][position[p]] += 1
    scores = []
    for i, label in enumerate(labels):
        true_positive = matrix[i][i]
        predicted_count = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(label, precision, recall, f1, support))
    with_support = [s for s in scores if s.support]
    macro = sum(s.f1 for s in with_support) / len(with_support) if with_support else 0.0
    correct = sum(matrix[i][i] for i in range(len(labels)))
    accuracy = correct / len(truth) if truth else 0.0
    return TargetReport(target, labels, tuple(scores), accuracy, macro, tuple(tuple(r) for r in matrix))


def evaluate(classifier: TicketClassifier, examples: Sequence[Example]) -> dict[str, TargetReport]:
    predictions = classifier.predict_many([e.text for e in examples])
    return {
        target: score_target(
            target, [e.label(target) for e in examples], [p.labels[target] for p in predictions]
        )
        for target in TARGETS
    }


def render(reports: dict[str, TargetReport], console: Console, title: str = "") -> None:
    """Per target: a table of per-class scores and the confusion matrix."""
    if title:
        console.print(f"[bold]{title}[/bold]")
    for report in reports.values():
        scores = Table(
            title=f"{report.target}: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}"
        )
        for column in ("class", "precision", "recall", "F1", "support"):
            scores.add_column(column, justify="left" if column == "class" else "right")
        for s in report.scores:
            scores.add_row(s.label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support))
        console.print(scores)
        matrix = Table(title=f"{report.target}: confusion matrix (rows = true, columns = predicted)")
        matrix.add_column("true \\ predicted")
        for label in report.labels:
            matrix.add_column(label, justify="right")
        for label, row in zip(report.labels, report.confusion, strict=True):
            matrix.add_row(label, *(str(n) for n in row))
        console.print(matrix)


def markdown_confusion(report: TargetReport) -> str:
    """The confusion matrix as a Markdown table (for docs/intelligence.md)."""
    lines = ["| true \\ predicted | " + " | ".join(report.labels) + " |"]
    lines.append("|---" * (len(report.labels) + 1) + "|")
    for label, row in zip(report.labels, report.confusion, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(n) for n in row) + " |")
    return "\n".join(lines)

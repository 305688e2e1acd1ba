"""Per-class precision / recall / F1 and confusion matrices of a classifier on labelled examples,
as data (for tests, the model card and the docs) and as rich tables (``huiliu eval``)."""

from __future__ import annotations

import random
from collections import defaultdict
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


def cross_validate(
    examples: Sequence[Example], folds: int = 5, seed: int = 20261130
) -> dict[str, TargetReport]:
    """Out-of-fold predictions of every example: ``folds`` disjoint parts stratified by scenario and
    priority (each held out once, the model trained on the rest with ``seed``), scored together.
    Model changes are judged on this, not on one held-out split."""
    parts = fold_parts(examples, folds, seed)
    truth: dict[str, list[str]] = {target: [] for target in TARGETS}
    predicted: dict[str, list[str]] = {target: [] for target in TARGETS}
    for index, held in enumerate(parts):
        train = [e for i, part in enumerate(parts) if i != index for e in part]
        classifier = TicketClassifier.train(train, seed=seed)
        for example, prediction in zip(held, classifier.predict_many([e.text for e in held]), strict=True):
            for target in TARGETS:
                truth[target].append(example.label(target))
                predicted[target].append(prediction.labels[target])
    return {target: score_target(target, truth[target], predicted[target]) for target in TARGETS}


def fold_parts(examples: Sequence[Example], folds: int, seed: int) -> list[list[Example]]:
    """``folds`` disjoint parts of the examples, each scenario x priority group dealt round-robin
    after a seeded shuffle, so every part has the same mix."""
    if folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        groups[(example.scenario, example.priority)].append(example)
    rng = random.Random(seed)
    parts: list[list[Example]] = [[] for _ in range(folds)]
    dealt = 0
    for key in sorted(groups):
        members = list(groups[key])
        rng.shuffle(members)
        for member in members:
            parts[dealt % folds].append(member)
            dealt += 1
    return parts


def main(arguments: Sequence[str] | None = None) -> None:
    """``python -m huiliu.intelligence.evaluation [--folds 5] [--seed N ...] [--data DIR]``:
    cross-validation of the current model settings on the whole dataset (or the labelled ``*.jsonl``
    files of ``DIR``: a fixed copy for comparing model changes while the dataset grows), one line per
    seed and their mean."""
    import argparse
    from pathlib import Path

    from huiliu.intelligence.dataset import load_dataset

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, action="append", dest="seeds")
    parser.add_argument("--data", type=Path, help="dataset directory (default: data/classifier)")
    options = parser.parse_args(arguments)
    examples = load_dataset(options.data)
    rows = []
    for seed in options.seeds or [20261130, 7]:
        reports = cross_validate(examples, options.folds, seed)
        urgent = reports["priority"].score("urgent")
        row = [reports[t].macro_f1 for t in TARGETS] + [urgent.recall, urgent.precision]
        rows.append(row)
        print(f"seed {seed}: " + _cv_line(row))
    mean = [sum(column) / len(rows) for column in zip(*rows, strict=True)]
    print(f"{options.folds}-fold CV on {len(examples)} examples, mean: " + _cv_line(mean))


def _cv_line(row: Sequence[float]) -> str:
    names = [f"{t} macro-F1" for t in TARGETS] + ["urgent recall", "urgent precision"]
    return ", ".join(f"{name} {value:.3f}" for name, value in zip(names, row, strict=True))


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    main()

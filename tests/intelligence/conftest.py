"""Shared fixtures: the project's dataset, a trained classifier, and a tiny dataset directory that
still has at least three examples of every label (the calibration needs three folds)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from huiliu.intelligence.dataset import TARGETS, Example, load_dataset, split
from huiliu.intelligence.model import TicketClassifier


@pytest.fixture(scope="session")
def dataset() -> list[Example]:
    return load_dataset()


@pytest.fixture(scope="session")
def holdout(dataset: list[Example]) -> tuple[list[Example], list[Example]]:
    return split(dataset, 20261130)


@pytest.fixture(scope="session")
def classifier(holdout: tuple[list[Example], list[Example]]) -> TicketClassifier:
    return TicketClassifier.train(holdout[0])


def tiny_examples(dataset: list[Example], per_label: int = 3) -> list[Example]:
    counts: Counter[tuple[str, str]] = Counter()
    chosen = []
    for example in dataset:
        keys = [(t, example.label(t)) for t in TARGETS]
        if any(counts[k] < per_label for k in keys):
            chosen.append(example)
            counts.update(keys)
    return chosen


def write_jsonl(path: Path, examples: list[Example]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example.as_dict(), ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def tiny_dir(tmp_path: Path, dataset: list[Example]) -> Path:
    directory = tmp_path / "dataset"
    write_jsonl(directory / "tiny.jsonl", tiny_examples(dataset))
    return directory

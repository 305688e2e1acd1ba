"""A small classifier for the demo's tests: the seed classifies the free-text requests of its last
week with the real reactor, which needs a model. Trained on a few examples of every label (seconds,
not the shipped dataset's minutes) and kept in pytest's cache, which the model store reuses while
the dataset and scikit-learn stay the same."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from huiliu.intelligence.dataset import TARGETS, load_dataset
from huiliu.settings import Settings

PER_LABEL = 3  # the calibration needs three folds


def small_classifier_settings(cache: pytest.Cache, directory: Path) -> Settings:
    """Settings whose classifier is trained on ``PER_LABEL`` examples of every label of every target."""
    counts: Counter[tuple[str, str]] = Counter()
    lines = []
    for example in load_dataset():
        keys = [(target, example.label(target)) for target in TARGETS]
        if any(counts[key] < PER_LABEL for key in keys):
            lines.append(json.dumps(example.as_dict(), ensure_ascii=False))
            counts.update(keys)
    (directory / "small.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = cache.mkdir("demo-classifier") / "classifier.joblib"
    return Settings(classifier_model_path=model, classifier_dataset_dir=directory)

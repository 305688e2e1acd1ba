"""The trained model compiled to plain NumPy arrays for one message at a time.

scikit-learn's ``transform`` / ``predict_proba`` cost about a millisecond of input validation and
dispatch per call, times twelve estimators (four targets x three calibration folds): over 10 ms per
message. A short message has a few dozen character n-grams, so the same arithmetic done directly is
some tens of microseconds: look up the n-grams in the vocabulary, weight them (sublinear TF x IDF,
L2-normalised), gather the rows of one stacked weight matrix (every fold of every target's linear
model, one column per decision function), then apply each fold's sigmoid calibrators and average the
folds exactly as ``CalibratedClassifierCV.predict_proba`` does. Logistic regression (the fallback for
a class with a single example) becomes a softmax (or a sigmoid for two classes) over its columns.

tests/intelligence/test_model.py checks the probabilities against scikit-learn's own."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# TfidfVectorizer's own whitespace normalisation for character n-grams.
_WHITE_SPACES = re.compile(r"\s\s+")


@dataclass
class _Fold:
    columns: slice  # columns of the stacked matrix holding this fold's decision functions
    class_indices: np.ndarray  # class index per decision column
    a: np.ndarray  # sigmoid calibrator slopes per decision column (empty for logistic regression)
    b: np.ndarray


@dataclass
class _Target:
    classes: np.ndarray
    kind: str  # "calibrated" or "logistic"
    folds: list[_Fold]


class CompiledModel:
    """Built from scikit-learn's fitted objects; once built (or unpickled: serving.py) it needs NumPy
    only, which is why scikit-learn is imported here and not by the module."""

    def __init__(self, vectorizer: TfidfVectorizer, models: dict[str, Any]) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression

        self.vocabulary: dict[str, int] = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.min_n, self.max_n = vectorizer.ngram_range
        blocks: list[np.ndarray] = []
        intercepts: list[np.ndarray] = []
        self.targets: dict[str, _Target] = {}
        column = 0

        def add(coef: np.ndarray, intercept: np.ndarray) -> slice:
            nonlocal column
            coef = np.atleast_2d(coef)
            blocks.append(coef.T)
            intercepts.append(np.atleast_1d(intercept).astype(np.float64))
            start, column = column, column + coef.shape[0]
            return slice(start, column)

        for target, model in models.items():
            classes = np.asarray(model.classes_)
            folds = []
            if isinstance(model, CalibratedClassifierCV):
                for calibrated in model.calibrated_classifiers_:
                    estimator = calibrated.estimator
                    columns = add(estimator.coef_, estimator.intercept_)
                    positions = np.searchsorted(classes, estimator.classes_)
                    if len(classes) == 2:
                        positions = np.array([1])
                    a = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64)
                    b = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64)
                    folds.append(_Fold(columns, positions, a, b))
                self.targets[target] = _Target(classes, "calibrated", folds)
            elif isinstance(model, LogisticRegression):
                columns = add(model.coef_, model.intercept_)
                folds.append(_Fold(columns, np.arange(len(classes)), np.empty(0), np.empty(0)))
                self.targets[target] = _Target(classes, "logistic", folds)
            else:
                raise TypeError(f"cannot compile a {type(model).__name__}")
        self.weights = np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)
        self.intercepts = np.concatenate(intercepts)

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary indices and TF-IDF weights of ``text`` (as TfidfVectorizer would give them)."""
        text = _WHITE_SPACES.sub(" ", text)
        counts: Counter[int] = Counter()
        vocabulary = self.vocabulary
        length = len(text)
        for n in range(self.min_n, min(self.max_n, length) + 1):
            for i in range(length - n + 1):
                index = vocabulary.get(text[i : i + n])
                if index is not None:
                    counts[index] += 1
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0)
        indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        values = tf * self.idf[indices]
        norm = math.sqrt(float(values @ values))
        return indices, (values / norm if norm else values)

    def predict_proba(self, text: str) -> dict[str, np.ndarray]:
        """Per target, the probability of each class (in ``classes`` order)."""
        indices, values = self.features(text)
        decisions = values @ self.weights[indices] + self.intercepts
        return {target: self._proba(spec, decisions) for target, spec in self.targets.items()}

    @staticmethod
    def _proba(spec: _Target, decisions: np.ndarray) -> np.ndarray:
        n_classes = len(spec.classes)
        if spec.kind == "logistic":
            scores = decisions[spec.folds[0].columns]
            if n_classes == 2:
                positive = 1.0 / (1.0 + math.exp(-float(scores[0])))
                return np.array([1.0 - positive, positive])
            exp = np.exp(scores - scores.max())
            return np.asarray(exp / exp.sum())
        total = np.zeros(n_classes)
        for fold in spec.folds:
            proba = np.zeros(n_classes)
            scores = decisions[fold.columns]
            proba[fold.class_indices] = 1.0 / (1.0 + np.exp(fold.a * scores + fold.b))
            if n_classes == 2:
                proba[0] = 1.0 - proba[1]
            else:
                denominator = proba.sum()
                proba = proba / denominator if denominator != 0 else np.full(n_classes, 1 / n_classes)
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            total += proba
        return total / len(spec.folds)

"""Where the shipped model lives: a joblib file (settings ``classifier_model_path``, under var/),
trained from the dataset at first use (or by ``huiliu train``) and reloaded by every process.

A model file is reused only when it was made by the same format, scikit-learn version and dataset
fingerprint; otherwise it is retrained, so editing the dataset or upgrading scikit-learn never serves
a stale or unreadable model. The file is written to a temporary name and renamed, so concurrent
processes never read half a file. The model file is trusted local state (joblib is pickle): it is
only ever read from the configured path, which only this application writes.

Every model file has a serving file next to it (``<name>.serving.joblib``, :mod:`.serving`): the
compiled arrays and the card, which API workers load without importing scikit-learn (about 90 MB of
resident memory each). It is written with the model; a missing or stale one (another dataset) is
rebuilt from the model file on first use. scikit-learn is imported only to train or read the full
model."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np

from huiliu.intelligence.dataset import fingerprint, load_dataset
from huiliu.intelligence.serving import SERVING_FORMAT, ServingModel

if TYPE_CHECKING:
    from huiliu.intelligence.model import TicketClassifier

# model.DEFAULT_SEED (not imported: importing model.py imports scikit-learn).
DEFAULT_SEED = 20261130


@dataclass(frozen=True)
class LoadInfo:
    trained: bool  # False when read from the model file
    seconds: float


def serving_path(path: Path) -> Path:
    """The serving file of a model file: ``classifier.joblib`` → ``classifier.serving.joblib``."""
    return path.with_name(f"{path.stem}.serving{path.suffix}")


def _dump(value: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        joblib.dump(value, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def save(classifier: TicketClassifier, path: Path) -> None:
    """Write the model file and its serving file (serving first: a reader that finds a new model
    file next to an old serving file sees the card differ and rebuilds it)."""
    _dump(ServingModel.of(classifier), serving_path(path))
    _dump(classifier, path)


def read_serving(path: Path) -> ServingModel | None:
    """The serving form of the model file ``path``: its serving file when readable and of this
    format, else built from the model file (and written for next time); None when neither is there."""
    found = serving_path(path)
    if found.is_file():
        try:
            serving = joblib.load(found)
        except Exception:  # an unreadable file is rebuilt, whatever the reason
            serving = None
        if isinstance(serving, ServingModel) and getattr(serving, "serving_format", None) == SERVING_FORMAT:
            return serving
    classifier = read(path)
    if classifier is None:
        return None
    serving = ServingModel.of(classifier)
    _dump(serving, found)
    return serving


def share_weights(classifier: TicketClassifier) -> int:
    """Point every linear model's ``coef_`` at its columns of the compiled weight matrix (a view, same
    values) instead of a second copy: a loaded model is read-only, and the copy is a fifth of an API
    worker's memory (26 MB of 71 MB for the shipped model; docs/intelligence.md, Performance).
    Estimators whose coefficients differ from the compiled ones are left alone. Returns the bytes
    freed."""
    freed = 0
    for target, model in classifier.models.items():
        spec = classifier.compiled.targets.get(target)
        if spec is None:
            continue
        calibrated = getattr(model, "calibrated_classifiers_", None)
        estimators = [c.estimator for c in calibrated] if calibrated is not None else [model]
        if len(estimators) != len(spec.folds):
            continue
        for estimator, fold in zip(estimators, spec.folds, strict=True):
            coef = getattr(estimator, "coef_", None)
            if not isinstance(coef, np.ndarray):
                continue
            # a model without the cue features has fewer columns than the compiled rows (fast.py)
            view = classifier.compiled.weights[: coef.shape[-1], fold.columns].T
            if view.shape != coef.shape or view.dtype != coef.dtype or not np.array_equal(view, coef):
                continue
            view.flags.writeable = False
            estimator.coef_ = view
            freed += coef.nbytes
    return freed


def release_freed_memory() -> None:
    """Hand the heap pages freed objects left behind back to the system (glibc's ``malloc_trim``):
    arrays freed after unpickling sit in the heap, where they count towards the worker's resident
    memory until something reuses them. A no-op where the C library has no ``malloc_trim``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def read(path: Path) -> TicketClassifier | None:
    """The model in ``path``, or None when there is none or it is not readable by this version. Its
    linear models share the compiled weights (:func:`share_weights`)."""
    import sklearn

    from huiliu.intelligence.model import FORMAT_VERSION, TicketClassifier

    if not path.is_file():
        return None
    try:
        classifier = joblib.load(path)
    except Exception:  # an unreadable file is retrained, whatever the reason
        return None
    if not isinstance(classifier, TicketClassifier):
        return None
    card = classifier.card
    if card.format_version != FORMAT_VERSION or card.sklearn_version != sklearn.__version__:
        return None
    if share_weights(classifier):
        release_freed_memory()
    return classifier


class ModelStore:
    """The classifier of one model file; loaded once per process, thread-safe."""

    def __init__(self, path: Path, dataset_dir: Path | None = None, seed: int = DEFAULT_SEED) -> None:
        self.path = path
        self.dataset_dir = dataset_dir
        self.seed = seed
        self._lock = threading.Lock()
        self._classifier: TicketClassifier | None = None
        self._serving: ServingModel | None = None
        self.load_info: LoadInfo | None = None

    def serving(self) -> ServingModel:
        """The model as API workers serve it (no scikit-learn when the serving file is current);
        loaded once per process, thread-safe."""
        serving = self._serving
        if serving is not None:
            return serving
        with self._lock:
            if self._serving is None:
                started = time.perf_counter()
                found = read_serving(self.path)
                if found is not None and found.card.dataset == fingerprint(load_dataset(self.dataset_dir)):
                    self._serving = found
                    self.load_info = LoadInfo(False, time.perf_counter() - started)
                else:
                    self._serving = ServingModel.of(self._get_locked())
            return self._serving

    def get(self) -> TicketClassifier:
        """The full model (scikit-learn): for evaluation and training; API workers use ``serving``."""
        classifier = self._classifier
        if classifier is not None:
            return classifier
        with self._lock:
            return self._get_locked()

    def _get_locked(self) -> TicketClassifier:
        if self._classifier is None:
            self._classifier = self._load_or_train()
        return self._classifier

    def _load_or_train(self) -> TicketClassifier:
        from huiliu.intelligence.model import TicketClassifier

        started = time.perf_counter()
        examples = load_dataset(self.dataset_dir)
        classifier = read(self.path)
        if classifier is not None and classifier.card.dataset == fingerprint(examples):
            self.load_info = LoadInfo(False, time.perf_counter() - started)
            return classifier
        classifier = TicketClassifier.train(examples, self.seed)
        save(classifier, self.path)
        self.load_info = LoadInfo(True, time.perf_counter() - started)
        return classifier

    def retrain(self) -> TicketClassifier:
        """Train from the dataset now and replace the model file and the loaded model."""
        from huiliu.intelligence.model import TicketClassifier

        with self._lock:
            started = time.perf_counter()
            classifier = TicketClassifier.train(load_dataset(self.dataset_dir), self.seed)
            save(classifier, self.path)
            self._classifier = classifier
            self._serving = None
            self.load_info = LoadInfo(True, time.perf_counter() - started)
            return classifier


_stores: dict[tuple[Path, Path | None], ModelStore] = {}
_stores_lock = threading.Lock()


def store_for(path: Path, dataset_dir: Path | None = None) -> ModelStore:
    """The process's store for a model file: the model is loaded once however many apps share it."""
    key = (path.resolve(), dataset_dir.resolve() if dataset_dir else None)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = ModelStore(path, dataset_dir)
        return store

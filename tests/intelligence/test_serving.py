"""The serving file: API workers load the compiled model without scikit-learn, and it predicts exactly
what the trained model does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from huiliu.intelligence import model, store
from huiliu.intelligence.dataset import Example
from huiliu.intelligence.model import TicketClassifier
from huiliu.intelligence.serving import ServingModel, normalize_text
from huiliu.intelligence.store import read_serving, save, serving_path


def test_serving_predicts_what_the_trained_model_predicts(
    classifier: TicketClassifier, dataset: list[Example]
) -> None:
    serving = ServingModel.of(classifier)
    for example in dataset:
        assert normalize_text(example.text) == model.normalize_text(example.text)
        served, served_guesses = serving.predict_with_guesses(example.text, 0.5, top=20)
        trained, trained_guesses = classifier.predict_with_guesses(example.text, 0.5, top=20)
        assert (served.labels, served.confidence, served.low_confidence, served_guesses) == (
            trained.labels,
            trained.confidence,
            trained.low_confidence,
            trained_guesses,
        ), example.text
    assert serving.classes("category") == classifier.classes("category")
    assert serving.card.dataset == classifier.card.dataset
    assert store.DEFAULT_SEED == model.DEFAULT_SEED


def test_api_workers_load_the_serving_file_without_scikit_learn(
    classifier: TicketClassifier, tmp_path: Path
) -> None:
    path = tmp_path / "classifier.joblib"
    save(classifier, path)
    assert serving_path(path).is_file()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import huiliu.app
        from huiliu.intelligence.store import read_serving
        serving = read_serving(Path({str(path)!r}))
        print(serving.predict("快递三天没动了").labels["category"])
        assert "sklearn" not in sys.modules and "scipy" not in sys.modules, "scikit-learn was imported"
        import jieba
        assert not jieba.dt.initialized, "jieba's dictionary was loaded to predict"
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == classifier.predict("快递三天没动了").labels["category"]


def test_a_missing_serving_file_is_rebuilt_from_the_model_file(
    classifier: TicketClassifier, tmp_path: Path
) -> None:
    path = tmp_path / "classifier.joblib"
    save(classifier, path)
    serving_path(path).unlink()
    rebuilt = read_serving(path)
    assert rebuilt is not None and rebuilt.card.trained_at == classifier.card.trained_at
    assert serving_path(path).is_file()
    serving_path(path).write_bytes(b"not a model")
    assert read_serving(path) is not None
    assert read_serving(tmp_path / "missing.joblib") is None

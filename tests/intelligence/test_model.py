"""Training and prediction: reproducible models, confidences, the low-confidence report, the urgent
threshold, and the model store (train at first use, reuse the file, retrain when data changes)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from huiliu.intelligence import model as model_module
from huiliu.intelligence.dataset import LABELS, TARGETS, Example, load_dataset
from huiliu.intelligence.fast import WordSegmenter
from huiliu.intelligence.model import TicketClassifier
from huiliu.intelligence.store import ModelStore, read, save
from tests.intelligence.conftest import tiny_examples, write_jsonl


def test_training_is_reproducible(
    holdout: tuple[list[Example], list[Example]], classifier: TicketClassifier
) -> None:
    train, test = holdout
    again = TicketClassifier.train(train)
    texts = [e.text for e in test]
    assert [p.confidence for p in classifier.predict_many(texts)] == [
        p.confidence for p in again.predict_many(texts)
    ]
    assert again.card.dataset == classifier.card.dataset and again.card.examples == len(train)
    normalised = [model_module.normalize_text(t) for t in texts[:5]]
    for target in TARGETS:
        features = classifier.features(normalised, target)
        assert np.array_equal(
            classifier.models[target].predict_proba(features), again.models[target].predict_proba(features)
        )


def test_predictions_have_a_label_and_confidence_per_target(classifier: TicketClassifier) -> None:
    prediction = classifier.predict("亲，我买的吹风机插头冒火花了，差点着火，我要投诉到12315！")
    assert set(prediction.labels) == set(TARGETS) == set(prediction.confidence)
    for target in TARGETS:
        assert prediction.labels[target] in LABELS[target]
        assert 0.0 < prediction.confidence[target] <= 1.0
    assert prediction.labels["scenario"] == "complaint"
    assert prediction.labels["priority"] == "urgent"
    assert prediction.labels["sentiment"] == "negative"
    assert classifier.predict("这款空调一晚上多少电？想买一台").labels["scenario"] == "presales"
    assert classifier.predict("我的快递三天没更新了，帮我查下物流").labels["category"] == "logistics"


def test_full_width_text_is_folded(classifier: TicketClassifier) -> None:
    assert classifier.predict("ＯＫ").confidence == classifier.predict("ok").confidence


def test_low_confidence_targets_are_reported(classifier: TicketClassifier) -> None:
    prediction = classifier.predict("嗯", threshold=1.0)
    assert prediction.low_confidence == TARGETS
    assert classifier.predict("嗯", threshold=0.0).low_confidence == ()


def test_urgent_wins_from_the_threshold(
    classifier: TicketClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "楼道灯坏了，晚上很黑"
    assert classifier.predict(text).labels["priority"] != "urgent"
    monkeypatch.setattr(model_module, "URGENT_THRESHOLD", 0.0)
    assert classifier.predict(text).labels["priority"] == "urgent"


def test_store_trains_once_then_reads_the_file(tmp_path: Path, tiny_dir: Path) -> None:
    path = tmp_path / "models" / "classifier.joblib"
    store = ModelStore(path, tiny_dir)
    first = store.get()
    assert path.is_file() and store.load_info is not None and store.load_info.trained
    assert store.get() is first
    again = ModelStore(path, tiny_dir)
    loaded = again.get()
    assert again.load_info is not None and not again.load_info.trained
    assert again.load_info.seconds < 2.0
    assert loaded.card.dataset == first.card.dataset
    assert loaded.predict("退款什么时候到账").confidence == first.predict("退款什么时候到账").confidence


def test_store_retrains_when_the_dataset_changes(tmp_path: Path, tiny_dir: Path) -> None:
    path = tmp_path / "classifier.joblib"
    first = ModelStore(path, tiny_dir).get()
    extra = Example(
        "燃气管道漏气，味道很大，赶紧派人！",
        "aftersales",
        "installation_repair",
        "urgent",
        "negative",
        "property",
    )
    write_jsonl(tiny_dir / "zz-extra.jsonl", [extra])
    store = ModelStore(path, tiny_dir)
    second = store.get()
    assert store.load_info is not None and store.load_info.trained
    assert second.card.examples == first.card.examples + 1


def test_unreadable_or_foreign_model_files_are_retrained(tmp_path: Path, tiny_dir: Path) -> None:
    path = tmp_path / "classifier.joblib"
    path.write_bytes(b"not a model")
    assert read(path) is None
    store = ModelStore(path, tiny_dir)
    store.get()
    assert store.load_info is not None and store.load_info.trained
    classifier = read(path)
    assert classifier is not None
    classifier.card.sklearn_version = "0.0"
    save(classifier, path)
    assert read(path) is None


def test_training_needs_examples() -> None:
    with pytest.raises(ValueError):
        TicketClassifier.train([])


def test_tiny_dataset_has_every_label() -> None:
    examples = tiny_examples(load_dataset())
    for target in TARGETS:
        assert {e.label(target) for e in examples} == set(LABELS[target])


def test_a_class_with_one_example_still_trains(tiny_dir: Path) -> None:
    examples = load_dataset(tiny_dir)
    lone = Example("积分商城的兑换码失效了", "aftersales", "account", "normal", "neutral", "retail")
    rare = [
        Example(e.text, e.scenario, e.category, e.priority, e.sentiment)
        for e in examples
        if e.category != "account"
    ]
    classifier = TicketClassifier.train([*rare, lone])
    assert "account" in classifier.classes("category")
    assert classifier.predict("积分商城的兑换码失效了").labels["category"] in LABELS["category"]


def test_compiled_probabilities_match_scikit_learn(
    holdout: tuple[list[Example], list[Example]], classifier: TicketClassifier
) -> None:
    texts = [model_module.normalize_text(e.text) for e in holdout[1][:200]] + ["", "   ", "zzzz"]
    for target, estimator in classifier.models.items():
        expected = estimator.predict_proba(classifier.features(texts, target))
        got = np.array([classifier.compiled.predict_proba(text)[target] for text in texts])
        assert np.allclose(got, expected, atol=1e-6), target


def test_compiled_logistic_fallback_matches_scikit_learn(tiny_dir: Path) -> None:
    examples = load_dataset(tiny_dir)
    lone = Example("积分商城的兑换码失效了", "aftersales", "account", "normal", "neutral")
    classifier = TicketClassifier.train([*[e for e in examples if e.category != "account"], lone])
    text = model_module.normalize_text("兑换码失效，积分没了")
    expected = classifier.models["category"].predict_proba(classifier.features([text], "category"))[0]
    assert np.allclose(classifier.compiled.predict_proba(text)["category"], expected, atol=1e-6)


def test_texts_are_framed_and_the_scenario_cues_are_features(classifier: TicketClassifier) -> None:
    text = model_module.normalize_text("  我要投诉，你们给个说法！ ")
    assert text == model_module.START + "我要投诉,你们给个说法!" + model_module.END
    indices, values = classifier.compiled.features(text)
    n_grams = len(classifier.vectorizer.vocabulary_)
    cues = dict(zip(indices[indices >= n_grams] - n_grams, values[indices >= n_grams], strict=True))
    # two complaint signs, no possession or purchase cue
    assert list(cues) == [0]
    assert np.isclose(cues[0], np.log(3) * model_module.CUE_WEIGHT)
    assert classifier.compiled.predict_proba(text)["scenario"].shape == (3,)


def test_the_scenario_model_weighs_only_one_and_two_character_n_grams(classifier: TicketClassifier) -> None:
    compiled = classifier.compiled
    long_rows = np.flatnonzero(~compiled.short)
    assert len(long_rows) and compiled.short_columns.any()
    assert not compiled.weights[np.ix_(long_rows, compiled.short_columns)].any()
    assert compiled.weights[np.ix_(long_rows, ~compiled.short_columns)].any()
    for fold in compiled.targets["scenario"].folds:
        assert compiled.short_columns[fold.columns].all()


def test_words_are_segmented_by_the_longest_lexicon_match_then_paired() -> None:
    segmenter = WordSegmenter(["退款", "退款申请", "申请", "到账", "x"], max_length=8)
    assert segmenter.max_length == 4  # the longest word; one-character entries are not words
    assert segmenter.words("退款申请 没到账x") == ["退款申请", "没", "到账", "x"]
    assert segmenter("退款到账") == ["退款", "到账", "退款 到账"]
    assert segmenter("") == []
    assert WordSegmenter([]).words("到账") == ["到", "账"]


def test_the_lexicon_is_learnt_from_the_training_texts() -> None:
    segmenter = WordSegmenter.learn(["我的快递三天没更新了", "退款什么时候到账"])
    assert {"快递", "三天", "更新", "退款", "什么", "时候"} <= segmenter.lexicon
    assert all(len(word) >= 2 for word in segmenter.lexicon)
    assert segmenter.words("快递退款到账") == ["快递", "退款", "到", "账"]


def test_the_scenario_model_sees_words_with_their_own_weights(classifier: TicketClassifier) -> None:
    compiled = classifier.compiled
    assert compiled.segmenter is classifier.word_vectorizer.analyzer
    scenario_columns = np.concatenate(
        [np.arange(f.columns.start, f.columns.stop) for f in compiled.targets["scenario"].folds]
    )
    assert np.array_equal(np.sort(compiled.word_columns), scenario_columns)
    assert compiled.word_weights.shape == (len(compiled.word_vocabulary), len(scenario_columns))
    text = model_module.normalize_text("退款什么时候到账")
    indices, values = compiled.word_features(text)
    expected = classifier.word_vectorizer.transform([text]).toarray()[0]
    assert np.allclose(np.bincount(indices, values, minlength=len(expected)), expected, atol=1e-6)
    # the words move the scenario decision only
    without = copy.copy(compiled)
    without.word_columns = np.empty(0, dtype=np.intp)
    with_words, without_words = compiled.predict_proba(text), without.predict_proba(text)
    assert not np.allclose(with_words["scenario"], without_words["scenario"])
    for target in ("category", "priority", "sentiment"):
        assert np.array_equal(with_words[target], without_words[target])

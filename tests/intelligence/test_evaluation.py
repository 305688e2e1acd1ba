"""Scores and confusion matrices, ``huiliu eval`` on a tiny file and on a held-out split, and
``huiliu train`` with its model card."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huiliu.cli import app
from huiliu.intelligence.dataset import Example, load_jsonl
from huiliu.intelligence.evaluation import (
    cross_validate,
    fold_parts,
    markdown_confusion,
    score_target,
)
from huiliu.intelligence.store import read
from huiliu.settings import get_settings
from tests.intelligence.conftest import tiny_examples, write_jsonl

runner = CliRunner()


def test_scores_and_confusion() -> None:
    truth = ["presales", "presales", "aftersales", "complaint", "complaint", "complaint"]
    predicted = ["presales", "aftersales", "aftersales", "complaint", "complaint", "aftersales"]
    report = score_target("scenario", truth, predicted)
    assert report.labels == ("presales", "aftersales", "complaint")
    assert report.confusion == ((1, 1, 0), (0, 1, 0), (0, 1, 2))
    presales, aftersales, complaint = report.scores
    assert (presales.precision, presales.recall, presales.support) == (1.0, 0.5, 2)
    assert aftersales.precision == pytest.approx(1 / 3) and aftersales.recall == 1.0
    assert complaint.f1 == pytest.approx(0.8)
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.5 + 0.8) / 3)
    assert markdown_confusion(report).splitlines()[2] == "| presales | 1 | 1 | 0 |"


def test_a_label_never_seen_scores_zero_without_dividing_by_zero() -> None:
    report = score_target("priority", ["low", "low"], ["urgent", "low"])
    assert report.score("urgent").precision == 0.0 and report.score("urgent").support == 0
    assert report.macro_f1 == pytest.approx(report.score("low").f1)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_dir: Path) -> Iterator[Path]:
    monkeypatch.setenv("HUILIU_CLASSIFIER_MODEL_PATH", str(tmp_path / "model.joblib"))
    monkeypatch.setenv("HUILIU_CLASSIFIER_DATASET_DIR", str(tiny_dir))
    get_settings.cache_clear()
    yield tmp_path / "model.joblib"
    get_settings.cache_clear()


def test_eval_prints_per_class_scores_and_a_confusion_matrix(env: Path, tmp_path: Path) -> None:
    file = write_jsonl(
        tmp_path / "eval.jsonl",
        [
            Example("我要投诉你们的快递员，东西丢了还骂人", "complaint", "logistics", "high", "negative"),
            Example("这款有红色的吗", "presales", "consultation", "low", "neutral"),
            Example("退款什么时候到账", "aftersales", "refund_return", "normal", "neutral"),
        ],
    )
    result = runner.invoke(app, ["eval", str(file)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "eval.jsonl: 3 examples" in result.output
    for heading in (
        "scenario: macro-F1",
        "scenario: confusion matrix",
        "priority: macro-F1",
        "sentiment: confusion",
    ):
        assert heading in result.output
    assert "precision" in result.output and "recall" in result.output
    assert env.is_file()


def test_eval_on_a_holdout_split(env: Path) -> None:
    result = runner.invoke(app, ["eval", "--holdout", "3"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Held-out split (seed 3)" in result.output and "category: confusion matrix" in result.output


def test_eval_refuses_bad_input(env: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["eval"]).exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "scenario": "presale"}\n')
    result = runner.invoke(app, ["eval", str(bad)], terminal_width=200)
    assert result.exit_code == 1 and "scenario must be one of" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert runner.invoke(app, ["eval", str(empty)]).exit_code == 1


def test_train_replaces_the_model_and_records_holdout_metrics(
    env: Path, tiny_dir: Path, dataset: list[Example]
) -> None:
    # The tiny dataset has too few urgent messages of one scenario for the split to hold one out;
    # five more make sure the held-out part has one, so the urgent recall line is printed.
    tiny = {e.text for e in load_jsonl(tiny_dir / "tiny.jsonl")}
    urgent = [e for e in dataset if e.priority == "urgent" and e.scenario == "aftersales"]
    write_jsonl(tiny_dir / "urgent.jsonl", [e for e in urgent if e.text not in tiny][:5])
    result = runner.invoke(app, ["train", "--holdout", "5"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "held-out macro-F1" in result.output and "urgent recall" in result.output
    classifier = read(env)
    assert classifier is not None
    metrics = classifier.card.metrics
    assert metrics["holdout_seed"] == 5 and metrics["holdout_examples"] > 0
    assert 0.0 <= metrics["scenario"]["macro_f1"] <= 1.0
    assert set(metrics["priority"]["per_class"]) <= {"urgent", "high", "normal", "low"}


def test_fold_parts_are_disjoint_cover_everything_and_keep_the_mix(dataset: list[Example]) -> None:
    parts = fold_parts(dataset, 5, 7)
    assert parts == fold_parts(dataset, 5, 7)
    assert parts != fold_parts(dataset, 5, 8)
    texts = [e.text for part in parts for e in part]
    assert sorted(texts) == sorted(e.text for e in dataset) and len(set(texts)) == len(texts)
    for part in parts:
        assert abs(len(part) - len(dataset) / 5) <= 12
        share = sum(e.scenario == "complaint" for e in part) / len(part)
        assert abs(share - sum(e.scenario == "complaint" for e in dataset) / len(dataset)) < 0.02
    with pytest.raises(ValueError):
        fold_parts(dataset, 1, 7)


def test_cross_validation_predicts_every_example_once(dataset: list[Example]) -> None:
    examples = tiny_examples(dataset, per_label=9)
    reports = cross_validate(examples, folds=3, seed=7)
    for target, report in reports.items():
        assert sum(s.support for s in report.scores) == len(examples), target
        assert sum(map(sum, report.confusion)) == len(examples)
    assert 0.0 < reports["scenario"].macro_f1 <= 1.0

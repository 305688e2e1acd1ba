"""The labelled dataset: size, coverage, valid labels, the JSONL files in step with the hand-written
sources, and reproducible stratified splits."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from huiliu.core.errors import ValidationFailed
from huiliu.intelligence.dataset import (
    DEFAULT_DATASET_DIR,
    LABELS,
    TARGETS,
    Example,
    compile_sources,
    fingerprint,
    load_jsonl,
    parse_source_line,
    split,
)


def test_dataset_size_and_coverage(dataset: list[Example]) -> None:
    assert len(dataset) >= 2000
    industries = Counter(e.industry for e in dataset)
    assert len(industries) >= 8 and min(industries.values()) >= 100
    for target in TARGETS:
        assert {e.label(target) for e in dataset} == set(LABELS[target]), target
    # Mostly Chinese, some English
    english = [e for e in dataset if not any("\u4e00" <= ch <= "\u9fff" for ch in e.text)]
    assert 10 <= len(english) < len(dataset) * 0.1
    # No duplicated message: duplicates would leak between the training and held-out parts.
    texts = Counter(e.text for e in dataset)
    assert [t for t, n in texts.items() if n > 1] == []


def test_jsonl_files_are_compiled_from_the_sources(tmp_path: Path) -> None:
    copy = tmp_path / "classifier"
    shutil.copytree(DEFAULT_DATASET_DIR / "source", copy / "source")
    written = compile_sources(copy)
    assert sum(written.values()) >= 2000
    for name in written:
        assert (copy / f"{name}.jsonl").read_bytes() == (DEFAULT_DATASET_DIR / f"{name}.jsonl").read_bytes()


def test_source_line_parsing() -> None:
    example = parse_source_line("c pq u - 充电宝冒烟了！", "ecommerce", "x:1")
    assert example == Example(
        "充电宝冒烟了！", "complaint", "product_quality", "urgent", "negative", "ecommerce"
    )
    assert parse_source_line("# comment", "x", "x:2") is None
    assert parse_source_line("   ", "x", "x:3") is None
    with pytest.raises(ValidationFailed, match="unknown category"):
        parse_source_line("a zz n 0 text", "x", "x:4")
    with pytest.raises(ValidationFailed, match="four label codes"):
        parse_source_line("a pq n", "x", "x:5")


def test_load_jsonl_refuses_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {
        "text": "在吗",
        "scenario": "presales",
        "category": "consultation",
        "priority": "low",
        "sentiment": "neutral",
    }
    path.write_text(
        json.dumps(good, ensure_ascii=False) + "\n" + json.dumps({**good, "priority": "p1"}) + "\n"
    )
    with pytest.raises(ValidationFailed, match=r"bad\.jsonl:2: priority must be one of"):
        load_jsonl(path)
    path.write_text("{not json\n")
    with pytest.raises(ValidationFailed, match=r"bad\.jsonl:1: not JSON"):
        load_jsonl(path)
    path.write_text(json.dumps({**good, "text": "  "}) + "\n")
    with pytest.raises(ValidationFailed, match="text must be a non-empty string"):
        load_jsonl(path)


def test_split_is_reproducible_disjoint_and_stratified(dataset: list[Example]) -> None:
    train, test = split(dataset, 11)
    again_train, again_test = split(dataset, 11)
    _, other_test = split(dataset, 12)
    assert (train, test) == (again_train, again_test)
    assert test != other_test
    assert len(train) + len(test) == len(dataset)
    assert not {e.text for e in train} & {e.text for e in test}
    assert 0.18 < len(test) / len(dataset) < 0.22
    for scenario in LABELS["scenario"]:
        share_all = sum(e.scenario == scenario for e in dataset) / len(dataset)
        share_test = sum(e.scenario == scenario for e in test) / len(test)
        assert abs(share_all - share_test) < 0.02
    assert sum(e.priority == "urgent" for e in test) >= 20


def test_fingerprint_changes_with_the_data(dataset: list[Example]) -> None:
    assert fingerprint(dataset) == fingerprint(list(dataset))
    assert fingerprint(dataset) != fingerprint(dataset[1:])

"""The labelled dataset: JSONL files of ``{"text", "scenario", "category", "priority", "sentiment",
"industry"}`` rows (data/classifier/*.jsonl), loading with validation, and reproducible splits.

The source of the dataset is the hand-written compact files in data/classifier/source/ (one message
per line, four label codes then the text; data/classifier/README.md). ``compile_sources`` turns them
into the JSONL files the classifier reads, so both stay in step."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from huiliu.core.errors import ValidationFailed

SCENARIOS = ("presales", "aftersales", "complaint")
CATEGORIES = (
    "logistics",
    "refund_return",
    "product_quality",
    "installation_repair",
    "billing",
    "account",
    "consultation",
    "course",
    "insurance_claim",
    "card_service",
    "booking",
    "other",
)
PRIORITIES = ("urgent", "high", "normal", "low")
SENTIMENTS = ("negative", "neutral", "positive")
TARGETS = ("scenario", "category", "priority", "sentiment")
LABELS: dict[str, tuple[str, ...]] = {
    "scenario": SCENARIOS,
    "category": CATEGORIES,
    "priority": PRIORITIES,
    "sentiment": SENTIMENTS,
}

# Codes of the compact source files (data/classifier/source/*.txt).
_CODES: dict[str, dict[str, str]] = {
    "scenario": {"p": "presales", "a": "aftersales", "c": "complaint"},
    "category": {
        "lg": "logistics",
        "rr": "refund_return",
        "pq": "product_quality",
        "ir": "installation_repair",
        "bl": "billing",
        "ac": "account",
        "cs": "consultation",
        "co": "course",
        "ic": "insurance_claim",
        "cd": "card_service",
        "bk": "booking",
        "ot": "other",
    },
    "priority": {"u": "urgent", "h": "high", "n": "normal", "l": "low"},
    "sentiment": {"-": "negative", "0": "neutral", "+": "positive"},
}

DEFAULT_DATASET_DIR = Path(__file__).resolve().parents[3] / "data" / "classifier"


@dataclass(frozen=True)
class Example:
    text: str
    scenario: str
    category: str
    priority: str
    sentiment: str
    industry: str = ""

    def label(self, target: str) -> str:
        return str(getattr(self, target))

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def parse_row(row: object, where: str) -> Example:
    """One JSONL row as an Example; labels outside the taxonomy are refused with ``where`` named."""
    if not isinstance(row, dict):
        raise ValidationFailed(f"{where}: a row must be a JSON object.")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed(f"{where}: text must be a non-empty string.")
    labels: dict[str, str] = {}
    for target in TARGETS:
        value = row.get(target)
        if value not in LABELS[target]:
            allowed = ", ".join(LABELS[target])
            raise ValidationFailed(f"{where}: {target} must be one of {allowed}, not {value!r}.")
        labels[target] = str(value)
    industry = row.get("industry") or ""
    return Example(text=text, industry=str(industry), **labels)


def load_jsonl(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValidationFailed(f"{path.name}:{number}: not JSON ({error.msg}).") from error
            examples.append(parse_row(row, f"{path.name}:{number}"))
    return examples


def load_dataset(directory: Path | None = None) -> list[Example]:
    """Every example of the dataset directory's ``*.jsonl`` files, in file-name order."""
    directory = directory or DEFAULT_DATASET_DIR
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise ValidationFailed(f"No labelled *.jsonl files in {directory}.")
    return [example for path in files for example in load_jsonl(path)]


def fingerprint(examples: Iterable[Example]) -> str:
    """A hash of the examples' content: a cached model trained from other data is stale."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(example.as_dict(), ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def split(
    examples: Sequence[Example], seed: int, test_fraction: float = 0.2
) -> tuple[list[Example], list[Example]]:
    """A held-out split stratified by scenario and priority, the same for the same seed."""
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        groups[(example.scenario, example.priority)].append(example)
    rng = random.Random(seed)
    train: list[Example] = []
    test: list[Example] = []
    for key in sorted(groups):
        members = list(groups[key])
        rng.shuffle(members)
        held = round(len(members) * test_fraction)
        test.extend(members[:held])
        train.extend(members[held:])
    return train, test


def parse_source_line(line: str, industry: str, where: str) -> Example | None:
    """A compact source line ``a rr h - text`` (scenario, category, priority, sentiment codes);
    blank lines and ``#`` comments give None."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    parts = stripped.split(None, 4)
    if len(parts) < 5:
        raise ValidationFailed(f"{where}: expected four label codes and a text.")
    labels = {}
    for target, code in zip(TARGETS, parts[:4], strict=True):
        if code not in _CODES[target]:
            raise ValidationFailed(f"{where}: unknown {target} code {code!r}.")
        labels[target] = _CODES[target][code]
    text = parts[4].replace("\\n", "\n")
    return Example(text=text, industry=industry, **labels)


def compile_sources(directory: Path | None = None) -> dict[str, int]:
    """Write ``<industry>.jsonl`` for every ``source/<industry>.txt``; returns rows per industry."""
    directory = directory or DEFAULT_DATASET_DIR
    written: dict[str, int] = {}
    for source in sorted((directory / "source").glob("*.txt")):
        industry = source.stem
        examples = []
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
            example = parse_source_line(line, industry, f"{source.name}:{number}")
            if example is not None:
                examples.append(example)
        target = directory / f"{industry}.jsonl"
        with target.open("w", encoding="utf-8") as handle:
            for example in examples:
                handle.write(json.dumps(example.as_dict(), ensure_ascii=False) + "\n")
        written[industry] = len(examples)
    return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    for name, rows in compile_sources().items():
        print(f"{name}: {rows}")

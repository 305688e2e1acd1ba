"""The trained model compiled to plain NumPy arrays for one message at a time.

scikit-learn's ``transform`` / ``predict_proba`` cost about a millisecond of input validation and
dispatch per call, times twelve estimators (four targets x three calibration folds): over 10 ms per
message. A short message has a few dozen character n-grams, so the same arithmetic done directly is some
tens of microseconds: look up the n-grams in the vocabulary, weight them (sublinear TF x IDF,
L2-normalised), append the scenario cue counts (``SCENARIO_CUES``; zero weights in the other targets'
columns), gather the rows of one stacked weight matrix (every fold of every target's linear model, one
column per decision function), add the scenario model's word features (``WordSegmenter``: words and word
pairs, TF-IDF, their own small weight matrix), then apply each fold's sigmoid calibrators and average
the folds exactly as ``CalibratedClassifierCV.predict_proba`` does. Logistic regression (the fallback
for a class with a single example) becomes a softmax (or a sigmoid for two classes) over its columns.

tests/intelligence/test_model.py checks the probabilities against scikit-learn's own."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# TfidfVectorizer's own whitespace normalisation for character n-grams.
_WHITE_SPACES = re.compile(r"\s\s+")

# The signs of the written scenario rules (data/classifier/README.md), three groups of cue words:
# a grievance (the six complaint signs), something the customer already has, a purchase not yet made.
# Each group adds one feature next to the n-grams, log(1 + occurrences of its words) x the model's
# cue weight, so a sign seen in few training messages still counts with its whole group. Chosen by
# 5-fold cross-validation (decision 0051); the char n-grams still carry the words' own weights.
SCENARIO_CUES: tuple[tuple[str, ...], ...] = tuple(
    tuple(words.split())
    for words in (
        # complaint: escalation, going outside, compensation, blame, repeated failure
        "投诉 举报 12315 12345 曝光 媒体 记者 律师 起诉 法院 报警 赔偿 赔我 "
        "退一赔三 假一赔 你们的责任 你们负责 给个说法 给个交代 给我个说法 给我一个交代 追究 "
        "维权 差评 消协 市场监管 监管局 卫健委 教育局 又坏了 又坏 第三次 第二次 好几次 "
        "三次 几次了 一直没人 没人管 没人理 没人来 踢皮球 不认账 骗 欺诈 虚假 黑店 垃圾 "
        "什么服务 态度 店长 经理 主管 道歉 说好的 承诺 凭什么 搞什么 坑 负责人 你们就 "
        "还不给 到现在 一周了 都没 管不管",
        # aftersales: possession, past purchase, steps that exist only after buying, usage
        "我买的 我家的 我家 我的 收到 已经 上次 订单 保修期内 装好的 用了 买了 下单 "
        "报了名 报名了 已下单 退货 退款 物流 快递 发货 到货 签收 报修 理赔 续费 发票 "
        "刚买 之前买 上个月 昨天 前天 单号 保单 我们家 坏了 不能用 用不了 怎么用 怎么安装 "
        "怎么改 换货 维修 预约的 孩子的课 我的卡 卡里 扣款 扣了 账单 余额 到账 密码",
        # presales: questions about the offer before buying, openings
        "请问有没有 有没有 多少钱 价格 能不能买 怎么报名 还有货吗 有货吗 有货 想买 打算 "
        "考虑 还没 想了解 咨询 想问 优惠 活动 包邮吗 可以分期 分期吗 保修多久 包安装吗 "
        "支持 怎么收费 收费 试驾 试听 开户 办卡 新款 哪款 推荐 区别 对比 能送 可以发 "
        "适合 怎么买 在吗 你好 多久能到 几天到 有什么 便宜 折扣 送什么",
    )
)


def cue_values(text: str, weight: float, cues: tuple[tuple[str, ...], ...] = SCENARIO_CUES) -> np.ndarray:
    """The cue features of a normalised text: per group of ``cues``, log(1 + occurrences of its
    words) x ``weight``."""
    counts = [sum(text.count(word) for word in group) for group in cues]
    return np.log1p(np.asarray(counts, dtype=np.float64)) * weight


class WordSegmenter:
    """The words of a normalised text by forward maximum matching against a lexicon learnt from the
    training texts, then every pair of neighbouring words: the scenario model's word features
    (decision 0052). At each position the longest lexicon word (two to ``max_length`` characters)
    starting there is taken, else the single character; whitespace is dropped.

    The lexicon is the words of two or more characters that jieba finds in the training texts
    (``learn``, training only); segmenting with the lexicon alone needs no dictionary at prediction
    time, so API workers keep neither jieba's 65 MB nor its seconds of loading, and training and
    prediction split a text the same way by construction. Instances are the word vectorizer's
    analyzer, so they are pickled with the model."""

    def __init__(self, lexicon: Iterable[str], max_length: int = 8) -> None:
        self.lexicon = frozenset(word for word in lexicon if len(word) >= 2)
        self.max_length = min(max_length, max((len(word) for word in self.lexicon), default=1))

    @classmethod
    def learn(cls, texts: Sequence[str], max_length: int = 8) -> WordSegmenter:
        """A segmenter whose lexicon is jieba's words (two or more characters) of ``texts``."""
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        return cls((word.strip() for text in texts for word in jieba.cut(text)), max_length)

    def words(self, text: str) -> list[str]:
        found: list[str] = []
        lexicon, longest, length = self.lexicon, self.max_length, len(text)
        i = 0
        while i < length:
            for n in range(min(longest, length - i), 1, -1):
                if text[i : i + n] in lexicon:
                    found.append(text[i : i + n])
                    i += n
                    break
            else:
                if not text[i].isspace():
                    found.append(text[i])
                i += 1
        return found

    def __call__(self, text: str) -> list[str]:
        """The terms of ``text``: its words, then its pairs of neighbouring words (``"a b"``)."""
        words = self.words(text)
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


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

    def __init__(
        self,
        vectorizer: TfidfVectorizer,
        models: dict[str, Any],
        cue_weight: float = 0.0,
        short_targets: tuple[str, ...] = (),
        short_max_n: int = 2,
        word_vectorizer: TfidfVectorizer | None = None,
        word_targets: tuple[str, ...] = (),
        word_weight: float = 0.0,
    ) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression

        self.vocabulary: dict[str, int] = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.min_n, self.max_n = vectorizer.ngram_range
        # Cue features (when the weight is not 0) are the columns after the n-grams'.
        self.cue_weight = float(cue_weight)
        self.cues = SCENARIO_CUES  # kept with the arrays: a serving file predicts with its own lexicon
        self.cue_columns = (
            np.arange(len(SCENARIO_CUES), dtype=np.intp) + len(self.idf)
            if cue_weight
            else np.empty(0, dtype=np.intp)
        )
        blocks: list[np.ndarray] = []
        intercepts: list[np.ndarray] = []
        self.targets: dict[str, _Target] = {}
        column = 0

        rows = len(self.idf) + len(self.cue_columns)
        # Targets trained on the n-grams up to ``short_max_n`` characters only (L2-normalised over
        # those): their weights for longer n-grams are 0, so their decisions are the shared ones
        # divided by the norm of the short n-grams' part of the normalised vector.
        self.short = np.array(
            [len(term) <= short_max_n for term in sorted(self.vocabulary, key=self.vocabulary.__getitem__)],
            dtype=bool,
        )
        short_columns: list[slice] = []
        # Word features (``WordSegmenter``) of the targets in ``word_targets``: the columns of their
        # training matrix after the n-grams' and cues', x ``word_weight``; their weights are a matrix
        # of their own (word rows x those targets' decision columns), not rows of every target's.
        self.segmenter: WordSegmenter | None = None
        self.word_vocabulary: dict[str, int] = {}
        self.word_idf = np.empty(0)
        self.word_weight = float(word_weight) if word_vectorizer is not None else 0.0
        if word_vectorizer is not None and word_targets:
            analyzer = word_vectorizer.analyzer
            if not isinstance(analyzer, WordSegmenter):
                raise TypeError("the word vectorizer's analyzer must be a WordSegmenter")
            self.segmenter = analyzer
            self.word_vocabulary = {str(k): int(v) for k, v in word_vectorizer.vocabulary_.items()}
            self.word_idf = np.asarray(word_vectorizer.idf_, dtype=np.float64)
        word_blocks: list[np.ndarray] = []
        word_columns: list[np.ndarray] = []

        def add(coef: np.ndarray, intercept: np.ndarray, words: bool = False) -> slice:
            nonlocal column
            coef = np.atleast_2d(coef)
            if words:  # the word features are the last columns (after the n-grams' and any cues')
                n_words = len(self.word_idf)
                if coef.shape[1] - n_words > rows:
                    raise ValueError("a word target's model has more columns than n-grams, cues and words")
                word_blocks.append(coef[:, coef.shape[1] - n_words :].T)
                word_columns.append(np.arange(column, column + coef.shape[0], dtype=np.intp))
                coef = coef[:, : coef.shape[1] - n_words]
            if coef.shape[1] < rows:  # a model trained without the cue features: they weigh 0 for it
                coef = np.hstack([coef, np.zeros((coef.shape[0], rows - coef.shape[1]), dtype=coef.dtype)])
            blocks.append(coef.T)
            intercepts.append(np.atleast_1d(intercept).astype(np.float64))
            start, column = column, column + coef.shape[0]
            return slice(start, column)

        for target, model in models.items():
            classes = np.asarray(model.classes_)
            folds = []
            words = self.segmenter is not None and target in word_targets
            if isinstance(model, CalibratedClassifierCV):
                for calibrated in model.calibrated_classifiers_:
                    estimator = calibrated.estimator
                    columns = add(estimator.coef_, estimator.intercept_, words)
                    if target in short_targets:
                        short_columns.append(columns)
                    positions = np.searchsorted(classes, estimator.classes_)
                    if len(classes) == 2:
                        positions = np.array([1])
                    a = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64)
                    b = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64)
                    folds.append(_Fold(columns, positions, a, b))
                self.targets[target] = _Target(classes, "calibrated", folds)
            elif isinstance(model, LogisticRegression):
                columns = add(model.coef_, model.intercept_, words)
                if target in short_targets:
                    short_columns.append(columns)
                folds.append(_Fold(columns, np.arange(len(classes)), np.empty(0), np.empty(0)))
                self.targets[target] = _Target(classes, "logistic", folds)
            else:
                raise TypeError(f"cannot compile a {type(model).__name__}")
        self.weights = np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)
        self.intercepts = np.concatenate(intercepts)
        self.short_columns = np.zeros(column, dtype=bool)
        for columns in short_columns:
            self.short_columns[columns] = True
        self.word_columns = np.concatenate(word_columns) if word_columns else np.empty(0, dtype=np.intp)
        self.word_weights = (
            np.ascontiguousarray(np.hstack(word_blocks), dtype=np.float64)
            if word_blocks
            else np.empty((0, 0))
        )

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and values of ``text``: its n-grams' TF-IDF weights (as TfidfVectorizer
        would give them), then its cue features."""
        indices, values = self.ngram_features(text)
        if not self.cue_weight:
            return indices, values
        cues = cue_values(text, self.cue_weight, self.cues)
        present = cues != 0
        return np.concatenate([indices, self.cue_columns[present]]), np.concatenate([values, cues[present]])

    def ngram_features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
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
        return _tfidf(counts, self.idf)

    def word_features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Word vocabulary indices and TF-IDF weights of ``text`` (as the word TfidfVectorizer would
        give them; empty without a segmenter)."""
        if self.segmenter is None:
            return np.empty(0, dtype=np.intp), np.empty(0)
        counts: Counter[int] = Counter()
        vocabulary = self.word_vocabulary
        for term in self.segmenter(text):
            index = vocabulary.get(term)
            if index is not None:
                counts[index] += 1
        return _tfidf(counts, self.word_idf)

    def predict_proba(self, text: str) -> dict[str, np.ndarray]:
        """Per target, the probability of each class (in ``classes`` order)."""
        indices, values = self.ngram_features(text)
        decisions = values @ self.weights[indices]
        if self.short_columns.any():
            short = values[self.short[indices]]
            norm = math.sqrt(float(short @ short))
            if norm:
                decisions[self.short_columns] /= norm
        if self.cue_weight:
            decisions += cue_values(text, self.cue_weight, self.cues) @ self.weights[self.cue_columns]
        if len(self.word_columns):
            word_indices, word_values = self.word_features(text)
            if len(word_indices):
                word_decisions = word_values @ self.word_weights[word_indices]
                decisions[self.word_columns] += self.word_weight * word_decisions
        decisions += self.intercepts
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


def _tfidf(counts: Counter[int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices and L2-normalised sublinear TF-IDF weights of term counts (TfidfVectorizer's formula)."""
    if not counts:
        return np.empty(0, dtype=np.intp), np.empty(0)
    indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
    tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
    values = tf * idf[indices]
    norm = math.sqrt(float(values @ values))
    return indices, (values / norm if norm else values)

"""Pure rules of the knowledge base: Chinese-aware tokens for search, the token string an article is
indexed by, the query both databases run, recommendation scoring and quick-reply rendering.

Tokens come from jieba's ``cut_for_search`` (words and the shorter words inside them: 退货退款 gives
退货, 退款 and 退货退款), lower-cased, punctuation and a short list of function words dropped. The
article's title counts ``TITLE_WEIGHT`` times in its token string, so a title match outranks a body
match in both ``ts_rank`` (PostgreSQL) and ``bm25`` (SQLite FTS5) without per-database weights.

The segmenter is rjieba (jieba-rs: the same algorithm and dictionary, held in Rust — 33 MB in an API
worker where Python's jieba held 65 MB of Python objects), given the text the way Python's jieba splits
runs of letters and digits, so the tokens are jieba's (decision 0065) and indexes built with jieba
stay valid. ``warm_up`` loads the dictionary once per process (a process's first KB request, off
the event loop); ``tokens`` loads it on first use if nobody did."""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

TITLE_WEIGHT = 3
MAX_QUERY_TOKENS = 32
# Longer runs of word characters (pasted hashes, base64) are not searchable tokens.
MAX_TOKEN_CHARS = 64
# A token in more than this share of the tenant's articles ranks nothing (BM25's IDF is ≤ 0 there).
COMMON_SHARE = 0.5
# About how many articles one search ranks at most: the rarest tokens whose article counts add up to
# this pick the candidates (decision 0053).
RANKED_ARTICLES = 500
MAX_INDEXED_CHARS = 20_000
VISIBILITIES: tuple[str, ...] = ("public", "internal")
STATUSES: tuple[str, ...] = ("draft", "published")

# Words that say nothing about what a text is about (the customer's register: 亲, 请问, 怎么办 …).
_STOP_TEXT = (
    "的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 在 有 和 与 或 及 也 就 都 还 又 很 太 我 你 您 他 她 它 我们 你们 "
    "他们 这 那 这个 那个 这样 那样 一个 一下 什么 怎么 怎么办 怎样 如何 为什么 为何 请问 请 亲 在吗 "
    "谢谢 麻烦 可以 能 能不能 要 想 给 把 被 让 到 从 对 吗? 了吧 呢? 嗯 哈 哈哈 "
    "a an the is are was were be to of and or in on at for it i you my me we our your this that "
    "how what why can do does please"
)
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|tr|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"\s+")

# jieba-rs keeps letters and digits joined by '-', '.' or '_' as one word (utf-8, 1-3, ticket_id), where
# Python's jieba splits them and drops a decimal (19.9, v2.1, 0.6%): the text is split that way first.
_DECIMAL = re.compile(r"[a-z0-9]+\.\d+%?")
_JOINER = re.compile(r"[-.]")
_UNDERSCORES = re.compile(r"_+")
_GLUED_UNDERSCORES = re.compile(r"(?<=[-.+#&%])_+")  # jieba's piece ".__" is not a word: dropped

_lock = threading.Lock()
_ready = threading.Event()
_segmenter: list[Callable[[str], list[str]]] = []


def warm_up() -> None:
    """Load the segmenter's dictionary (idempotent, thread-safe)."""
    if _ready.is_set():
        return
    with _lock:
        if _ready.is_set():
            return
        import rjieba  # importing it loads the dictionary (0.1 s)

        _segmenter.append(rjieba.cut_for_search)
        _ready.set()


def is_warm() -> bool:
    return _ready.is_set()


def tokens(text: str) -> list[str]:
    """The search tokens of ``text`` in order (repeats kept: frequency is what ranking counts)."""
    if not text:
        return []
    warm_up()
    text = _GLUED_UNDERSCORES.sub("", _DECIMAL.sub(" ", text.lower()))
    text = _UNDERSCORES.sub(r" \g<0> ", _JOINER.sub(" ", text))
    found = []
    for piece in _segmenter[0](text):
        word = piece.strip()
        if not word or len(word) > MAX_TOKEN_CHARS or word in STOP_WORDS or _WORD.fullmatch(word) is None:
            continue
        found.append(word)
    return found


def html_to_text(body: str) -> str:
    """Plain text of sanitised article HTML: tags dropped, entities decoded, blocks on new lines."""
    text = _BLOCK_END.sub("\n", body)
    text = html.unescape(_TAG.sub("", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def index_tokens(title: str, body_text: str, tags: Sequence[str] = ()) -> str:
    """The token string an article is indexed by: the title's tokens ``TITLE_WEIGHT`` times, the tags'
    twice, then the body's."""
    title_tokens = " ".join(tokens(title))
    tag_tokens = " ".join(tokens(" ".join(tags)))
    body_tokens = " ".join(tokens(body_text[:MAX_INDEXED_CHARS]))
    parts = [title_tokens] * TITLE_WEIGHT + [tag_tokens] * 2 + [body_tokens]
    return " ".join(part for part in parts if part)


def query_tokens(text: str) -> list[str]:
    """The distinct tokens of a search query, in order, at most ``MAX_QUERY_TOKENS``. Single
    characters (下, 改, 看 …) are dropped when the query has longer words: alone they match most
    articles, which costs time and ranks nothing."""
    words = list(dict.fromkeys(tokens(text)))
    longer = [word for word in words if len(word) > 1]
    return (longer or words)[:MAX_QUERY_TOKENS]


@dataclass(frozen=True)
class QueryPlan:
    """What a search runs: the articles holding any ``candidates`` token are ranked by the
    ``ranking`` tokens. Both empty when no article holds any token of the query."""

    candidates: tuple[str, ...]
    ranking: tuple[str, ...]


def plan_query(
    words: Sequence[str],
    article_counts: Mapping[str, int],
    articles: int,
    *,
    budget: int = RANKED_ARTICLES,
) -> QueryPlan:
    """Choose the tokens a search matches and ranks by, from how many of the ``articles`` hold each
    (``article_counts``; a token missing there is in none).

    Tokens in no article are dropped (they match nothing). Tokens in more than ``COMMON_SHARE`` of
    the articles are dropped unless every remaining token is that common: they say nothing about
    what an article is about, and ranking without document frequency (``ts_rank``) would let them
    outweigh the distinctive ones. The rest rank; the candidates are the rarest of them whose
    article counts add up to at most ``budget`` (the rarest always), so a question made of everyday
    words does not rank half the knowledge base."""
    present = [word for word in dict.fromkeys(words) if article_counts.get(word, 0) > 0]
    distinctive = [word for word in present if article_counts[word] <= COMMON_SHARE * articles]
    ranking = distinctive or present
    chosen: set[str] = set()
    total = 0
    for word in sorted(ranking, key=lambda word: article_counts[word]):
        if chosen and total + article_counts[word] > budget:
            break
        chosen.add(word)
        total += article_counts[word]
    return QueryPlan(candidates=tuple(word for word in ranking if word in chosen), ranking=tuple(ranking))


def distinct_terms(token_string: str) -> set[str]:
    """The distinct tokens of an article's token string that search counts (an article indexed before
    ``MAX_TOKEN_CHARS`` applied may hold longer ones: they stay uncounted, so no query keeps them)."""
    return {term for term in token_string.split() if len(term) <= MAX_TOKEN_CHARS}


# The counted "term" that stands for the article itself: its count is the number of articles (no token
# is empty).
ALL_ARTICLES = ""


def term_deltas(previous: str | None, current: str | None) -> dict[str, int]:
    """How the tenant's article counts change when an article's token string goes from ``previous``
    to ``current`` (``None``: the article does not exist on that side): +1 for each distinct token it
    gains, -1 for each it loses, and ``ALL_ARTICLES`` when it appears or goes. In term order, so
    concurrent writers lock counter rows in the same order."""
    before = distinct_terms(previous) | {ALL_ARTICLES} if previous is not None else set()
    after = distinct_terms(current) | {ALL_ARTICLES} if current is not None else set()
    deltas = {term: 1 for term in after - before} | {term: -1 for term in before - after}
    return dict(sorted(deltas.items()))


def pg_tsquery(words: Sequence[str]) -> str:
    """``'退款' | '物流'``: any of the tokens, for ``to_tsquery('simple', …)``. Tokens are ``\\w+`` only,
    so quoting cannot be broken out of."""
    return " | ".join(f"'{word}'" for word in words)


def fts5_query(words: Sequence[str]) -> str:
    """``"退款" OR "物流"`` for an FTS5 MATCH (each token a quoted string: no FTS5 syntax leaks in)."""
    return " OR ".join(f'"{word}"' for word in words)


@dataclass(frozen=True)
class Scored:
    article_id: Any
    score: float


def recommendation_score(
    search_score: float,
    top_search_score: float,
    article_tags: Iterable[str],
    ticket_tags: Iterable[str],
    article_category: str | None,
    ticket_category_labels: Iterable[str],
) -> float:
    """A ticket's recommendation score of an article in [0, 1]: its search score relative to the best
    hit (0.7), the share of the ticket's tags it carries (0.2) and whether its category is the
    ticket's category (0.1, :func:`same_category`)."""
    relative = search_score / top_search_score if top_search_score > 0 else 0.0
    wanted = {tag.lower() for tag in ticket_tags}
    overlap = len(wanted & {tag.lower() for tag in article_tags}) / len(wanted) if wanted else 0.0
    same = same_category(article_category, ticket_category_labels)
    return round(0.7 * relative + 0.2 * overlap + 0.1 * float(same), 4)


def same_category(article_category: str | None, ticket_category_labels: Iterable[str]) -> bool:
    """Whether a KB category's name names the ticket's category: it equals the ticket's category key
    or one of that key's display names in the tenant's taxonomy (zh-CN, English), compared after NFKC
    normalisation, trimming and case folding (decision 0061). KB categories are free text an admin
    types, so ``退换货``, ``Refund / return`` and ``refund_return`` all match the key ``refund_return``;
    a part of a name (``退货``) does not."""
    if not article_category:
        return False
    wanted = _category_text(article_category)
    return bool(wanted) and any(wanted == _category_text(label) for label in ticket_category_labels if label)


def _category_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


# --- quick replies --------------------------------------------------------------------------------------

MAX_QUICK_REPLY_SOURCE = 4000
MAX_RENDERED = 8000
QUICK_REPLY_VARIABLES: dict[str, str] = {
    "customer.name": "the customer's name",
    "ticket.number": "工单号",
    "ticket.title": "the ticket's title",
    "ticket.status": "new / open / pending / on_hold / resolved / closed",
    "ticket.priority": "urgent / high / normal / low",
    "agent.name": "the agent who replies",
}
SAMPLE_CONTEXT: dict[str, Any] = {
    "customer": {"name": "张女士"},
    "ticket": {"number": 1024, "title": "打印机卡纸", "status": "open", "priority": "normal"},
    "agent": {"name": "客服小王"},
}


class QuickReplyProblem(ValueError):
    """A quick reply that does not parse, reaches for something the sandbox forbids, or is too long."""


_ENV = SandboxedEnvironment(
    autoescape=False, trim_blocks=True, lstrip_blocks=True, undefined=ChainableUndefined
)
# Saving checks against the documented variables: an unknown name or a refused attribute is an error
# there, while rendering for a ticket renders it empty rather than fail the agent's reply.
_STRICT = SandboxedEnvironment(
    autoescape=False, trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined
)


def check_quick_reply(source: str) -> None:
    """Raise ``QuickReplyProblem`` unless ``source`` parses and renders against the sample context."""
    if len(source) > MAX_QUICK_REPLY_SOURCE:
        raise QuickReplyProblem(f"a quick reply has at most {MAX_QUICK_REPLY_SOURCE} characters")
    _render(_STRICT, source, SAMPLE_CONTEXT)


def render_quick_reply(source: str, context: Mapping[str, Any]) -> str:
    """The quick reply with its variables filled in (unknown variables render empty)."""
    return _render(_ENV, source, context)


def _render(environment: SandboxedEnvironment, source: str, context: Mapping[str, Any]) -> str:
    try:
        rendered = environment.from_string(source).render(dict(context))
    except TemplateError as exc:
        raise QuickReplyProblem(str(exc)) from exc
    if len(rendered) > MAX_RENDERED:
        raise QuickReplyProblem(f"the rendered reply is longer than {MAX_RENDERED} characters")
    return rendered

"""The pure side of the knowledge base: tokens, the indexed token string, query quoting, plain text
of article HTML and quick-reply rendering."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiliu.demo.knowledge import ARTICLES
from huiliu.intelligence.dataset import load_dataset
from huiliu.kb import domain


def test_tokens_segment_chinese_and_drop_function_words() -> None:
    found = domain.tokens("亲，我想申请退货退款，怎么办？iPhone13 的壳坏了")
    assert "退货" in found and "退款" in found and "iphone13" in found
    assert not {"亲", "我", "想", "怎么办", "的", "，", "？"} & set(found)


def test_the_title_counts_more_than_the_body() -> None:
    indexed = domain.index_tokens("退款说明", "物流 物流", ["售后"]).split()
    assert indexed.count("退款") == domain.TITLE_WEIGHT
    assert indexed.count("售后") == 2
    assert indexed.count("物流") == 2


def test_html_to_text_keeps_blocks_on_their_own_lines() -> None:
    text = domain.html_to_text("<p>第一段 &amp; <b>加粗</b></p><ul><li>一</li><li>二</li></ul>尾")
    assert text == "第一段 & 加粗\n一\n二\n尾"


@given(st.text(max_size=200))
def test_query_tokens_cannot_break_out_of_their_quotes(text: str) -> None:
    words = domain.query_tokens(text)
    assert len(words) <= domain.MAX_QUERY_TOKENS
    assert all(re.fullmatch(r"\w+", word) for word in words)
    assert '"' not in "".join(words) and "'" not in "".join(words)


def test_query_strings_for_both_databases() -> None:
    assert domain.fts5_query(["退款", "物流"]) == '"退款" OR "物流"'
    assert domain.pg_tsquery(["退款", "物流"]) == "'退款' | '物流'"


def test_quick_replies_render_in_the_sandbox() -> None:
    context = {"customer": {"name": "张女士"}, "ticket": {"number": 7}, "agent": {"name": "小王"}}
    assert (
        domain.render_quick_reply("{{ customer.name }}您好，工单 {{ ticket.number }}", context)
        == "张女士您好，工单 7"
    )
    assert domain.render_quick_reply("{{ nobody.name }}好", context) == "好"
    domain.check_quick_reply("{{ customer.name }}{{ ticket.title }}{{ agent.name }}")
    for bad in ("{{ nobody }}", "{{ ''.__class__ }}", "{% if %}"):
        with pytest.raises(domain.QuickReplyProblem):
            domain.check_quick_reply(bad)


def test_overlong_runs_are_not_tokens() -> None:
    found = domain.tokens("退款 " + "a" * (domain.MAX_TOKEN_CHARS + 1) + " " + "b" * domain.MAX_TOKEN_CHARS)
    assert found == ["退款", "b" * domain.MAX_TOKEN_CHARS]


def test_letters_and_digits_joined_by_punctuation_split_as_jieba_splits_them() -> None:
    # jieba-rs alone keeps utf-8, 1-3 and ticket_id whole (and utf-8 is no token): decision 0065.
    assert domain.tokens("utf-8 编码") == ["utf", "8", "编码"]
    assert domain.tokens("1-3个工作日") == ["1", "3", "个", "工作", "工作日"]
    assert domain.tokens("ticket_id") == ["ticket", "_", "id"]
    assert domain.tokens("价签19.9，型号 ka-12b，v2.1.3") == ["价签", "型号", "ka", "12b", "3"]


def test_tokens_are_the_ones_python_jieba_gives() -> None:
    """Indexes written with Python's jieba stay valid: over the demo articles and a sample of the
    classifier dataset, the tokens are the ones Python's jieba gives (jieba stays installed for
    training)."""
    jieba = pytest.importorskip("jieba")
    jieba.setLogLevel(logging.WARNING)
    texts = [text for article in ARTICLES for text in (article.title, domain.html_to_text(article.body))]
    texts += [example.text for example in load_dataset()[::8]]
    differ = [text for text in texts if domain.tokens(text) != python_jieba_tokens(jieba, text)]
    assert len(texts) > 500
    assert differ == []


def python_jieba_tokens(jieba: Any, text: str) -> list[str]:
    found = []
    for piece in jieba.cut_for_search(text.lower()):
        word = piece.strip()
        if (
            word
            and len(word) <= domain.MAX_TOKEN_CHARS
            and word not in domain.STOP_WORDS
            and re.fullmatch(r"\w+", word)
        ):
            found.append(word)
    return found


def test_a_search_in_an_api_process_does_not_load_python_jieba() -> None:
    script = "\n".join(
        [
            "import sys, huiliu.app",
            "from huiliu.kb import domain",
            "domain.tokens('退货退款')",
            "print('jieba' in sys.modules)",
        ]
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_plan_drops_tokens_no_article_holds() -> None:
    plan = domain.plan_query(["退款", "火星"], {"退款": 3}, 10)
    assert plan == domain.QueryPlan(candidates=("退款",), ranking=("退款",))
    assert domain.plan_query(["火星"], {"退款": 3}, 10) == domain.QueryPlan(candidates=(), ranking=())


def test_a_token_most_articles_hold_ranks_nothing_beside_distinctive_ones() -> None:
    counts = {"客服": 90, "发票": 4, "电话": 30}
    plan = domain.plan_query(["客服", "电话", "发票"], counts, 100)
    assert plan.ranking == ("电话", "发票")
    # Exactly half is not "most".
    assert "客服" in domain.plan_query(["客服", "发票"], {"客服": 50, "发票": 4}, 100).ranking
    # When every token is that common, they all rank and the rarest picks the candidates.
    common = domain.plan_query(["客服", "您好"], {"客服": 90, "您好": 95}, 100, budget=50)
    assert common == domain.QueryPlan(candidates=("客服",), ranking=("客服", "您好"))


def test_candidates_are_the_rarest_tokens_within_the_budget_and_the_rarest_always() -> None:
    counts = {"退款": 400, "物流": 300, "延误": 20, "催件": 5}
    plan = domain.plan_query(["退款", "物流", "延误", "催件"], counts, 2000, budget=330)
    assert plan.candidates == ("物流", "延误", "催件")
    assert plan.ranking == ("退款", "物流", "延误", "催件")
    alone = domain.plan_query(["退款", "物流"], counts, 2000, budget=100)
    assert alone.candidates == ("物流",)


@given(
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=8),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 60)),
    st.integers(1, 60),
    st.integers(1, 100),
)
def test_a_plan_ranks_what_it_matches(
    words: list[str], counts: dict[str, int], articles: int, budget: int
) -> None:
    plan = domain.plan_query(words, counts, articles, budget=budget)
    assert set(plan.candidates) <= set(plan.ranking) <= set(words)
    assert all(counts.get(word, 0) > 0 for word in plan.ranking)
    assert bool(plan.candidates) == any(counts.get(word, 0) > 0 for word in words)
    assert len(plan.candidates) <= 1 or sum(counts[word] for word in plan.candidates) <= budget


def test_term_deltas_are_distinct_in_term_order_and_skip_overlong_tokens() -> None:
    long = "x" * (domain.MAX_TOKEN_CHARS + 1)
    deltas = domain.term_deltas(f"退款 退款 物流 {long}", "物流 发票 发票 催件")
    assert deltas == {"催件": 1, "发票": 1, "退款": -1}
    assert list(deltas) == sorted(deltas)


def test_an_article_that_appears_or_goes_counts_itself() -> None:
    assert domain.term_deltas(None, "退款 物流 退款") == {domain.ALL_ARTICLES: 1, "物流": 1, "退款": 1}
    assert domain.term_deltas("退款", None) == {domain.ALL_ARTICLES: -1, "退款": -1}
    assert domain.term_deltas("退款", "退款") == {}

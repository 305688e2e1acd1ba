"""The pure side of the knowledge base: tokens, the indexed token string, query quoting, plain text
of article HTML and quick-reply rendering."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

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

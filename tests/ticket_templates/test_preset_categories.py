"""The industry presets' default categories are keys of the default taxonomy (decision 0054): a ticket
made from a freshly installed preset shows its category's name, not 不在分类体系中."""

from __future__ import annotations

from huiliu.intelligence.taxonomy import DEFAULT_CATEGORIES
from huiliu.ticket_templates.presets import PRESETS


def test_every_preset_category_is_a_key_of_the_default_taxonomy():
    keys = {category.key for category in DEFAULT_CATEGORIES}
    categories = {key: preset["defaults"].get("category") for key, preset in PRESETS.items()}
    assert {category for category in categories.values() if category is not None} <= keys
    assert categories["retail_return"] == categories["course_refund_transfer"] == "refund_return"
    # A complaint can be about anything: the classifier or the agent picks its subject.
    assert categories["complaint_qa_review"] is None

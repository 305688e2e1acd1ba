"""Which ticket events owe a message to a WeChat / WeCom customer: public replies by agents and by
rules (author ``system``) on tickets of the Tencent channels; never internal notes, customers' own
messages, or other channels."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from huiliu.channels.tencent.replies import owed_reply
from huiliu.core.events import DomainEvent


def event(
    *,
    type_: str = "ticket.message_added",
    author: str = "agent",
    public: bool = True,
    channel: str = "wechat_mp",
) -> DomainEvent:
    ticket: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "channel": channel,
        "entry_point_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
    }
    message = {"id": str(uuid.uuid4()), "public": public, "author_kind": author, "body": "您好"}
    return DomainEvent(type=type_, tenant_id=uuid.uuid4(), data={"ticket": ticket, "message": message})


@pytest.mark.parametrize("author", ["agent", "system"])
@pytest.mark.parametrize("channel", ["wechat_mp", "wecom_app", "wecom_kf"])
def test_public_replies_on_tencent_tickets_are_owed(author: str, channel: str) -> None:
    owed = owed_reply(event(author=author, channel=channel))
    assert owed is not None
    assert (owed["channel"], owed["body"]) == (channel, "您好")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"public": False},
        {"author": "customer"},
        {"channel": "h5_form"},
        {"type_": "ticket.note_added"},
        {"type_": "ticket.created"},
    ],
)
def test_nothing_else_is_owed(kwargs: dict[str, Any]) -> None:
    assert owed_reply(event(**kwargs)) is None

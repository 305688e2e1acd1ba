"""Pure rules of administration: tree cycles and who may grant what."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiliu.auth.domain import (
    PERMISSION_LABELS,
    PERMISSIONS,
    ActorKind,
    creates_cycle,
    require_grantable,
    system_actor,
    unknown_permissions,
)
from huiliu.auth.domain import Actor as ActorClass
from huiliu.core.errors import PermissionDenied

A, B, C, D = (uuid.uuid4() for _ in range(4))
TREE = {A: None, B: A, C: B, D: None}


@pytest.mark.parametrize(
    ("team", "parent", "cycle"),
    [
        (A, A, True),
        (A, B, True),
        (A, C, True),
        (B, C, True),
        (A, D, False),
        (C, A, False),
        (C, None, False),
        (D, C, False),
    ],
)
def test_creates_cycle(team, parent, cycle):
    assert creates_cycle(team, parent, TREE) is cycle


@given(
    st.lists(st.integers(min_value=0, max_value=7), min_size=8, max_size=8),
    st.integers(min_value=0, max_value=7),
    st.integers(min_value=0, max_value=7),
)
def test_a_move_allowed_by_creates_cycle_keeps_the_tree_acyclic(raw_parents, team, new_parent):
    ids = [uuid.UUID(int=i + 1) for i in range(8)]
    # A forest: each node's parent has a smaller index, so the start is acyclic.
    parents = {ids[i]: (ids[raw_parents[i] % i] if i and raw_parents[i] % 2 else None) for i in range(8)}
    if creates_cycle(ids[team], ids[new_parent], parents):
        return
    parents[ids[team]] = ids[new_parent]
    for start in ids:
        seen, node = set(), start
        while node is not None:
            assert node not in seen
            seen.add(node)
            node = parents[node]


def test_unknown_permissions_keeps_order_and_drops_known():
    assert unknown_permissions(["ticket.read", "x.y", "a.b", "x.y"]) == ["x.y", "a.b"]


def test_require_grantable():
    actor = ActorClass(
        ActorKind.USER, uuid.uuid4(), uuid.uuid4(), "lead", frozenset({"ticket.read", "admin.users"})
    )
    require_grantable(actor, {"ticket.read"})
    with pytest.raises(PermissionDenied, match=r"admin\.roles"):
        require_grantable(actor, {"ticket.read", "admin.roles"})
    require_grantable(system_actor(uuid.uuid4()), set(PERMISSIONS))


def test_every_permission_has_labels():
    assert set(PERMISSION_LABELS) == PERMISSIONS

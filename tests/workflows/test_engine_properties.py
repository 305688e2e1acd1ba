"""Property-based tests of the engine on randomly generated valid workflows: every run reaches an
end or waits on a step for people; approvals behave per mode; rejections return where configured;
the state survives being stored between steps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiliu.workflows.domain import engine as E
from huiliu.workflows.domain import parse_definition
from huiliu.workflows.domain.definition import HUMAN_TYPES

PRIORITIES = ["low", "normal", "high", "urgent"]
APPROVER_POOL = ["u1", "u2", "u3", "u4"]


@st.composite
def workflows(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, Any]]:
    """A valid graph by construction: a chain start → … → end in which condition nodes branch
    forward to later nodes, parallel nodes are followed by their join, and approvals return to any
    node but start. Also the approvers per approve node and the ticket's facts."""
    kinds = draw(
        st.lists(
            st.sampled_from(["handle", "approve", "condition", "notify", "parallel"]), min_size=0, max_size=9
        )
    )
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "start"}]
    for kind in kinds:
        index = len(nodes)
        if kind == "parallel":
            if draw(st.booleans()):
                config: dict[str, Any] = {
                    "branches": [{"title": f"t{i}"} for i in range(draw(st.integers(1, 3)))]
                }
            else:
                config = {"items_field": "fields.items", "title": "办理 {item}"}
            nodes.append({"id": f"n{index}", "type": "parallel", "config": config})
            mode = draw(st.sampled_from(["all", "any"]))
            nodes.append({"id": f"n{index + 1}", "type": "join", "config": {"mode": mode}})
        elif kind == "approve":
            mode = draw(st.sampled_from(["any", "all", "sequence"]))
            nodes.append(
                {
                    "id": f"n{index}",
                    "type": "approve",
                    "config": {"approvers": {"kind": "role", "role": "lead"}, "mode": mode, "reject_to": "?"},
                }
            )
        elif kind == "notify":
            nodes.append(
                {
                    "id": f"n{index}",
                    "type": "notify",
                    "config": {"message": "m", "recipients": {"assignee": True}},
                }
            )
        else:
            nodes.append({"id": f"n{index}", "type": kind, "config": {}})
    end_index = len(nodes)
    nodes.append({"id": f"n{end_index}", "type": "end", "config": {"resolve_ticket": draw(st.booleans())}})
    edges: list[dict[str, Any]] = []
    for index, item in enumerate(nodes[:-1]):
        if item["type"] == "condition":
            later = [n["id"] for n in nodes[index + 1 :] if n["type"] != "join"]
            for target in draw(st.lists(st.sampled_from(later), min_size=1, max_size=3)):
                value = draw(st.sampled_from(PRIORITIES))
                edges.append(
                    {
                        "source": item["id"],
                        "target": target,
                        "condition": {"field": "priority", "op": "eq", "value": value},
                    }
                )
        edges.append({"source": item["id"], "target": nodes[index + 1]["id"]})
        if item["type"] == "approve":
            item["config"]["reject_to"] = draw(st.sampled_from([n["id"] for n in nodes[1:]]))
    approvers = {
        item["id"]: draw(st.lists(st.sampled_from(APPROVER_POOL), unique=True, max_size=3))
        for item in nodes
        if item["type"] == "approve"
    }
    facts = {
        "ticket": {"priority": draw(st.sampled_from(PRIORITIES))},
        "fields": {"items": draw(st.lists(st.sampled_from(["A", "B", "C"]), max_size=3))},
    }
    return {"nodes": nodes, "edges": edges}, approvers, facts


def _check_waiting(definition: Any, state: E.State) -> None:
    assert state.status in {E.WAITING, E.COMPLETED}
    if state.status == E.COMPLETED:
        assert state.current is None
        return
    node = definition.node(state.current)
    assert node.type in HUMAN_TYPES
    if node.type == "approve":
        assert state.approval is not None and state.approval.node_id == node.id
        assert state.approval.pending()
    if node.type == "join":
        assert any(status == E.OPEN for _, status in state.children)


def _check_steps(effects: tuple[E.Effect, ...], open_nodes: list[str]) -> None:
    """Every node left was entered before and not left since."""
    for effect in effects:
        if isinstance(effect, E.EnterNode):
            open_nodes.append(effect.node_id)
        elif isinstance(effect, E.LeaveNode):
            assert effect.node_id in open_nodes
            open_nodes.remove(effect.node_id)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(), st.data())
def test_every_run_reaches_an_end_or_waits_for_people(generated: Any, data: st.DataObject) -> None:
    graph, approvers, facts = generated
    definition = parse_definition(graph)
    context = E.Context(facts=facts, approvers=approvers)
    step = E.start(definition, context)
    open_nodes: list[str] = []
    _check_steps(step.effects, open_nodes)
    state = E.State.from_json(step.state.to_json())
    for _ in range(40):
        _check_waiting(definition, state)
        if state.status == E.COMPLETED:
            assert isinstance(step.effects[-1], E.Complete)
            assert open_nodes == []
            return
        node = definition.node(state.current)
        if node.type == "handle":
            event: E.Event = E.HandleDone(node.id, "done")
        elif node.type == "approve":
            assert state.approval is not None
            who = data.draw(st.sampled_from(state.approval.pending()))
            event = E.Decide(node.id, who, data.draw(st.booleans()))
        else:
            key = data.draw(st.sampled_from([k for k, status in state.children if status == E.OPEN]))
            event = E.ChildClosed(key, "resolved")
        step = E.advance(definition, state, event, context)
        assert not step.ignored
        _check_steps(step.effects, open_nodes)
        state = E.State.from_json(step.state.to_json())
    _check_waiting(definition, state)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(APPROVER_POOL), unique=True, min_size=1, max_size=4),
    st.sampled_from(["any", "all", "sequence"]),
    st.data(),
)
def test_approvals_follow_their_mode(approvers: list[str], mode: str, data: st.DataObject) -> None:
    graph = {
        "nodes": [
            {"id": "s", "type": "start"},
            {
                "id": "a",
                "type": "approve",
                "config": {"approvers": {"kind": "role", "role": "x"}, "mode": mode, "reject_to": "back"},
            },
            {"id": "back", "type": "handle"},
            {"id": "e", "type": "end"},
        ],
        "edges": [
            {"source": "s", "target": "a"},
            {"source": "a", "target": "e"},
            {"source": "back", "target": "a"},
        ],
    }
    definition = parse_definition(graph)
    context = E.Context(approvers={"a": approvers})
    step = E.start(definition, context)
    request = next(effect for effect in step.effects if isinstance(effect, E.RequestApproval))
    if mode == "sequence":
        assert request.active == (approvers[0],) and request.queued == tuple(approvers[1:])
    else:
        assert set(request.active) == set(approvers) and request.queued == ()
    state = step.state
    approved: list[str] = []
    while state.status == E.WAITING and state.current == "a":
        assert state.approval is not None
        pending = state.approval.pending()
        outsiders = [a for a in APPROVER_POOL if a not in pending]
        if outsiders:
            with pytest.raises(E.NotAnApprover):
                E.advance(definition, state, E.Decide("a", outsiders[0], True), context)
        who = data.draw(st.sampled_from(pending))
        if mode == "sequence":
            assert who == approvers[len(approved)]
        reject = data.draw(st.booleans()) and data.draw(st.booleans())
        step = E.advance(definition, state, E.Decide("a", who, not reject, "c"), context)
        state = step.state
        if reject:
            # Any rejection decides at once and returns to the configured node.
            assert state.current == "back"
            assert any(isinstance(e, E.CloseApprovals) and e.outcome == E.REJECTED for e in step.effects)
            return
        approved.append(who)
        if mode == "any":
            break
    assert state.status == E.COMPLETED
    assert len(approved) == (1 if mode == "any" else len(approvers))


def test_a_rejection_goes_back_and_a_later_approval_goes_on() -> None:
    graph = {
        "nodes": [
            {"id": "s", "type": "start"},
            {"id": "h", "type": "handle"},
            {
                "id": "a",
                "type": "approve",
                "config": {"approvers": {"kind": "users", "users": ["u1"]}, "reject_to": "h"},
            },
            {"id": "e", "type": "end"},
        ],
        "edges": [
            {"source": "s", "target": "h"},
            {"source": "h", "target": "a"},
            {"source": "a", "target": "e"},
        ],
    }
    definition = parse_definition(graph)
    context = E.Context(approvers={"a": ["u1"]})
    state = E.start(definition, context).state
    assert state.current == "h"
    state = E.advance(definition, state, E.HandleDone("h", "done"), context).state
    step = E.advance(definition, state, E.Decide("a", "u1", False, "缺材料", "王经理"), context)
    assert step.state.current == "h"
    entered = [e for e in step.effects if isinstance(e, E.EnterNode)]
    assert "rejected by 王经理: 缺材料" in entered[-1].reason
    state = E.advance(definition, step.state, E.HandleDone("h", "fixed"), context).state
    state = E.advance(definition, state, E.Decide("a", "u1", True), context).state
    assert state.status == E.COMPLETED
    with pytest.raises(E.StepRejected):
        E.advance(definition, state, E.HandleDone("h", "late"), context)


def test_a_condition_takes_the_first_matching_branch_else_the_default() -> None:
    graph = {
        "nodes": [
            {"id": "s", "type": "start"},
            {"id": "c", "type": "condition"},
            {"id": "vip", "type": "handle"},
            {"id": "big", "type": "handle"},
            {"id": "e", "type": "end"},
        ],
        "edges": [
            {"source": "s", "target": "c"},
            {
                "source": "c",
                "target": "vip",
                "condition": {"field": "customer.level", "op": "eq", "value": "vip"},
            },
            {
                "source": "c",
                "target": "big",
                "condition": {"field": "fields.amount", "op": "gte", "value": 1000},
            },
            {"source": "c", "target": "e"},
            {"source": "vip", "target": "e"},
            {"source": "big", "target": "e"},
        ],
    }
    definition = parse_definition(graph)

    def where(facts: dict[str, Any]) -> str | None:
        return E.start(definition, E.Context(facts=facts)).state.current

    assert where({"customer": {"level": "vip"}, "fields": {"amount": "5000"}}) == "vip"
    assert where({"customer": {"level": "normal"}, "fields": {"amount": "5000"}}) == "big"
    assert where({"fields": {"amount": 10}}) is None  # the default branch ends the run


def test_join_any_goes_on_after_the_first_sub_task_and_ignores_later_ones() -> None:
    graph = {
        "nodes": [
            {"id": "s", "type": "start"},
            {"id": "p", "type": "parallel", "config": {"branches": [{"title": "a"}, {"title": "b"}]}},
            {"id": "j", "type": "join", "config": {"mode": "any"}},
            {"id": "h", "type": "handle"},
            {"id": "e", "type": "end"},
        ],
        "edges": [
            {"source": "s", "target": "p"},
            {"source": "p", "target": "j"},
            {"source": "j", "target": "h"},
            {"source": "h", "target": "e"},
        ],
    }
    definition = parse_definition(graph)
    context = E.Context()
    state = E.start(definition, context).state
    assert state.current == "j" and len(state.children) == 2
    state = E.advance(definition, state, E.ChildClosed("2", "resolved"), context).state
    assert state.current == "h"
    assert E.advance(definition, state, E.ChildClosed("1", "resolved"), context).ignored

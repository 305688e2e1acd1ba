"""Definition checks: each way a graph cannot run is refused, naming the node."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from huiliu.workflows.domain import DefinitionError, parse_definition
from tests.workflows.graphs import approve_graph, edge, full_graph, node


def _problems(graph: dict[str, Any]) -> dict[str, set[str | None]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(graph)
    found: dict[str, set[str | None]] = {}
    for problem in caught.value.problems:
        found.setdefault(problem.code, set()).add(problem.node_id)
    return found


def _linear(*middle: dict[str, Any]) -> dict[str, Any]:
    nodes = [node("start", "start"), *middle, node("end", "end")]
    ids = [item["id"] for item in nodes]
    return {"nodes": nodes, "edges": [edge(a, b) for a, b in itertools.pairwise(ids)]}


def test_the_shared_graphs_are_valid() -> None:
    parse_definition(approve_graph({"kind": "users", "users": ["a@example.com"]}))
    definition = parse_definition(full_graph({"kind": "manager_of"}))
    assert definition.start_id == "start"
    assert [e.target for e in definition.outgoing("route")] == ["split", "end"]


def test_exactly_one_start() -> None:
    graph = _linear()
    graph["nodes"].append(node("start2", "start"))
    graph["edges"].append(edge("start2", "end"))
    assert "start_count" in _problems(graph)
    no_start = {"nodes": [node("end", "end")], "edges": []}
    assert "start_count" in _problems(no_start)


def test_unreachable_node() -> None:
    graph = _linear()
    graph["nodes"].append(node("orphan", "notify", message="hi", recipients={"assignee": True}))
    graph["edges"].append(edge("orphan", "end"))
    assert _problems(graph)["unreachable"] == {"orphan"}


def test_dead_end() -> None:
    graph = _linear(node("a", "handle"))
    graph["nodes"].append(node("loop", "handle"))
    graph["edges"] = [edge("start", "a"), edge("a", "loop"), edge("loop", "a")]
    found = _problems(graph)
    assert found["dead_end"] >= {"a", "loop", "start"}


def test_condition_needs_a_default_branch() -> None:
    graph = _linear(node("c", "condition"))
    graph["edges"] = [
        edge("start", "c"),
        edge("c", "end", {"field": "priority", "op": "eq", "value": "high"}),
        edge("c", "end", {"field": "priority", "op": "eq", "value": "low"}),
    ]
    assert _problems(graph)["no_default_branch"] == {"c"}
    two_defaults = copy.deepcopy(graph)
    two_defaults["edges"][1].pop("condition")
    two_defaults["edges"][2].pop("condition")
    assert "no_default_branch" in _problems(two_defaults)


def test_join_must_follow_a_parallel_and_parallel_must_lead_to_a_join() -> None:
    graph = _linear(node("j", "join"))
    assert _problems(graph)["join_without_parallel"] == {"j"}
    graph = _linear(node("p", "parallel", branches=[{"title": "a"}]))
    assert _problems(graph)["parallel_not_to_join"] == {"p"}


def test_reject_target_must_exist() -> None:
    graph = approve_graph({"kind": "role", "role": "lead"})
    graph["nodes"][1]["config"]["reject_to"] = "nowhere"
    assert _problems(graph)["reject_target_missing"] == {"approve"}
    graph["nodes"][1]["config"]["reject_to"] = "start"
    assert _problems(graph)["reject_target_missing"] == {"approve"}


def test_unknown_types_and_configs_are_reported_per_node() -> None:
    graph = _linear(
        node("x", "robot"),
        node("h", "handle", assignee={"kind": "astrologer", "ref": "z"}),
        node("a", "approve", approvers={"kind": "users", "users": []}, mode="majority", reject_to="h"),
        node("n", "notify", message="", recipients={}),
        node("e2", "end", colour="red"),
    )
    found = _problems(graph)
    assert found["unknown_type"] == {"x"}
    assert found["invalid_config"] == {"h", "a", "n", "e2"}


def test_edges_must_name_nodes_and_end_leads_nowhere() -> None:
    graph = _linear()
    graph["edges"].append(edge("end", "start"))
    graph["edges"].append(edge("start", "ghost"))
    found = _problems(graph)
    assert "end_has_edges" in found and "edge_unknown_node" in found


def test_bad_conditions_and_time_limits() -> None:
    graph = _linear(node("c", "condition"), node("h", "handle", time_limit_minutes=0))
    graph["edges"] = [
        edge("start", "c"),
        edge("c", "h", {"field": "ticket.secret", "op": "eq", "value": 1}),
        edge("c", "h"),
        edge("h", "end"),
    ]
    found = _problems(graph)
    assert found["invalid_condition"] == {"c"}
    assert found["invalid_config"] == {"h"}


def test_a_loop_of_automatic_nodes_is_refused() -> None:
    graph = {
        "nodes": [
            node("start", "start"),
            node("c", "condition"),
            node("n", "notify", message="again", recipients={"assignee": True}),
            node("end", "end"),
        ],
        "edges": [
            edge("start", "c"),
            edge("c", "n", {"field": "priority", "op": "eq", "value": "urgent"}),
            edge("c", "end"),
            edge("n", "c"),
        ],
    }
    assert "automatic_cycle" in _problems(graph)


def test_a_loop_through_a_person_is_fine() -> None:
    graph = approve_graph({"kind": "role", "role": "lead"})
    parse_definition(graph)  # approve → fix → approve


def test_not_a_graph() -> None:
    assert "invalid_graph" in _problems([])  # type: ignore[arg-type]
    assert "invalid_graph" in _problems({"nodes": "x", "edges": []})

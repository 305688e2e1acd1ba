"""Workflow definitions: parsing a graph (nodes and edges, the designer's JSON) into a checked
``Definition``, with every problem reported against the node or edge it concerns. Pure.

A workflow runs one position at a time: a ``parallel`` node fans out as child tickets (sub-tasks),
not as graph branches, and its only edge leads to the ``join`` that waits for them. So the graph
rules are simple to state and to check:

- exactly one ``start``; at least one ``end``; node ids unique; edges name existing nodes;
- ``end`` has no outgoing edge; ``condition`` has one edge per branch, conditions on all but
  exactly one (the default branch, tried last); every other node has exactly one outgoing edge;
- a ``parallel`` node's edge leads to a ``join``, and only ``parallel`` nodes lead to a ``join``;
- an ``approve`` node's ``reject_to`` names an existing node other than ``start``;
- every node is reachable from ``start`` and has a way to an ``end`` (rejections count as a way);
- every cycle passes through a node that waits for people (``handle``, ``approve``, ``join``):
  a cycle of automatic nodes would spin without anything changing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from huiliu.workflows.domain.conditions import Condition, ConditionError, parse_condition

START = "start"
HANDLE = "handle"
APPROVE = "approve"
CONDITION = "condition"
PARALLEL = "parallel"
JOIN = "join"
NOTIFY = "notify"
END = "end"
NODE_TYPES: tuple[str, ...] = (START, HANDLE, APPROVE, CONDITION, PARALLEL, JOIN, NOTIFY, END)
# Nodes where a run stops until a person (or a sub-task) acts.
HUMAN_TYPES = frozenset({HANDLE, APPROVE, JOIN})

ASSIGNEE_KINDS: tuple[str, ...] = ("user", "team", "routing_policy", "role", "none")
APPROVER_KINDS: tuple[str, ...] = ("users", "role", "manager_of")
APPROVAL_MODES: tuple[str, ...] = ("any", "all", "sequence")
JOIN_MODES: tuple[str, ...] = ("all", "any")
NOTIFY_CHANNELS: tuple[str, ...] = ("in_app", "email", "sms", "wecom", "dingtalk", "feishu")
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")

MAX_NODES = 200
MAX_EDGES = 400
MAX_BRANCHES = 50
MAX_TIME_LIMIT_MINUTES = 60 * 24 * 365
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_FIELD = re.compile(r"^fields\.[^\s.][^\s]{0,99}$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition: the node (or edge index) it concerns, a stable code, and a
    sentence for people."""

    code: str
    message: str
    node_id: str | None = None
    edge: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.node_id is not None:
            out["node_id"] = self.node_id
        if self.edge is not None:
            out["edge"] = self.edge
        return out


class DefinitionError(ValueError):
    """A definition that cannot run; ``problems`` lists each reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems) or "invalid workflow")

    @property
    def node_ids(self) -> list[str]:
        return list(dict.fromkeys(p.node_id for p in self.problems if p.node_id is not None))


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    type: str
    label: str
    config: Mapping[str, Any]

    @property
    def time_limit_minutes(self) -> int | None:
        value = self.config.get("time_limit_minutes")
        return int(value) if value is not None else None

    @property
    def waits_for_people(self) -> bool:
        return self.type in HUMAN_TYPES


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str | None = None
    condition: Condition | None = None


@dataclass(frozen=True)
class Definition:
    """A checked workflow graph: look nodes up by id and their outgoing edges in order."""

    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    start_id: str
    _out: Mapping[str, tuple[Edge, ...]] = field(repr=False, default_factory=dict)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        return self._out.get(node_id, ())

    def next_of(self, node_id: str) -> str:
        """The single successor of a node that has exactly one outgoing edge."""
        return self.outgoing(node_id)[0].target


# --- configuration checks, one function per node type ---------------------------------------------


def _check_keys(config: Mapping[str, Any], allowed: set[str], problems: list[str]) -> None:
    unknown = sorted(set(config) - allowed - {"time_limit_minutes"})
    if unknown:
        problems.append(f"unknown setting(s): {', '.join(unknown)}")


def _check_time_limit(config: Mapping[str, Any], problems: list[str]) -> None:
    value = config.get("time_limit_minutes")
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIME_LIMIT_MINUTES:
        problems.append(f"time_limit_minutes must be a whole number from 1 to {MAX_TIME_LIMIT_MINUTES}")


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 200


def _check_handle(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, {"assignee", "instructions"}, problems)
    assignee = config.get("assignee", {"kind": "none"})
    if not isinstance(assignee, Mapping) or assignee.get("kind") not in ASSIGNEE_KINDS:
        problems.append(f"assignee.kind must be one of {', '.join(ASSIGNEE_KINDS)}")
        return
    if set(assignee) - {"kind", "ref"}:
        problems.append("assignee takes only kind and ref")
    if assignee["kind"] != "none" and not _is_ref(assignee.get("ref")):
        problems.append(f"assignee.ref must name the {assignee['kind']}")
    instructions = config.get("instructions", "")
    if not isinstance(instructions, str) or len(instructions) > 2000:
        problems.append("instructions must be text of at most 2000 characters")


def _check_approvers(approvers: Any, problems: list[str]) -> None:
    if not isinstance(approvers, Mapping) or approvers.get("kind") not in APPROVER_KINDS:
        problems.append(f"approvers.kind must be one of {', '.join(APPROVER_KINDS)}")
        return
    kind = approvers["kind"]
    if kind == "users":
        users = approvers.get("users")
        if set(approvers) - {"kind", "users"}:
            problems.append("approvers of kind users take only a users list")
        if not isinstance(users, list) or not users or not all(_is_ref(u) for u in users):
            problems.append("approvers.users must list at least one user")
        elif len(set(users)) != len(users):
            problems.append("approvers.users lists a user twice")
    elif kind == "role":
        if set(approvers) - {"kind", "role"}:
            problems.append("approvers of kind role take only a role")
        if not _is_ref(approvers.get("role")):
            problems.append("approvers.role must name a role")
    else:
        if set(approvers) - {"kind", "team"}:
            problems.append("approvers of kind manager_of take only a team (empty: the ticket's team)")
        team = approvers.get("team")
        if team is not None and not _is_ref(team):
            problems.append("approvers.team must name a team, or be left out for the ticket's team")


def _check_approve(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, {"approvers", "mode", "reject_to"}, problems)
    _check_approvers(config.get("approvers"), problems)
    if config.get("mode", "any") not in APPROVAL_MODES:
        problems.append(f"mode must be one of {', '.join(APPROVAL_MODES)}")
    if not isinstance(config.get("reject_to"), str) or not config.get("reject_to"):
        problems.append("reject_to must name the node a rejection returns to")


def _check_parallel(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, {"branches", "items_field", "title", "team"}, problems)
    branches = config.get("branches")
    items_field = config.get("items_field")
    if (branches is None) == (items_field is None):
        problems.append("a parallel node has either branches or an items_field (a list field), not both")
        return
    if branches is not None:
        if not isinstance(branches, list) or not 1 <= len(branches) <= MAX_BRANCHES:
            problems.append(f"branches must list 1 to {MAX_BRANCHES} sub-tasks")
            return
        for index, branch in enumerate(branches):
            if not isinstance(branch, Mapping) or set(branch) - {"title", "team", "assignee"}:
                problems.append(f"branch {index + 1} takes title, team and assignee")
                continue
            if not _is_ref(branch.get("title")):
                problems.append(f"branch {index + 1} needs a title")
            for key in ("team", "assignee"):
                if branch.get(key) is not None and not _is_ref(branch[key]):
                    problems.append(f"branch {index + 1}: {key} must name a {key}")
    else:
        if not isinstance(items_field, str) or not _FIELD.match(items_field):
            problems.append("items_field must be a template field, written fields.<name>")
        if not _is_ref(config.get("title", "{item}")):
            problems.append("title must be text ({item} stands for the list item)")
    if config.get("team") is not None and not _is_ref(config["team"]):
        problems.append("team must name a team")


def _check_join(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, {"mode"}, problems)
    if config.get("mode", "all") not in JOIN_MODES:
        problems.append(f"mode must be one of {', '.join(JOIN_MODES)}")


def _check_notify(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, {"message", "recipients", "channels", "severity"}, problems)
    message = config.get("message")
    if not isinstance(message, str) or not message.strip() or len(message) > 2000:
        problems.append("message must be text of 1 to 2000 characters")
    recipients = config.get("recipients")
    if not isinstance(recipients, Mapping) or set(recipients) - {"users", "roles", "assignee", "team_lead"}:
        problems.append("recipients takes users, roles, assignee and team_lead")
    else:
        users, roles = recipients.get("users", []), recipients.get("roles", [])
        if not isinstance(users, list) or not all(_is_ref(u) for u in users):
            problems.append("recipients.users must list users")
        if not isinstance(roles, list) or not all(_is_ref(r) for r in roles):
            problems.append("recipients.roles must list roles")
        flags = [recipients.get("assignee", False), recipients.get("team_lead", False)]
        if not all(isinstance(flag, bool) for flag in flags):
            problems.append("recipients.assignee and recipients.team_lead are true or false")
        elif not (users or roles or any(flags)):
            problems.append("recipients names nobody")
    channels = config.get("channels", ["in_app"])
    if not isinstance(channels, list) or not channels or not all(c in NOTIFY_CHANNELS for c in channels):
        problems.append(f"channels must list some of {', '.join(NOTIFY_CHANNELS)}")
    if config.get("severity", "info") not in SEVERITIES:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}")


def _check_end(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, {"resolve_ticket"}, problems)
    if not isinstance(config.get("resolve_ticket", False), bool):
        problems.append("resolve_ticket is true or false")


def _check_nothing(config: Mapping[str, Any], problems: list[str]) -> None:
    _check_keys(config, set(), problems)


_CONFIG_CHECKS = {
    START: _check_nothing,
    HANDLE: _check_handle,
    APPROVE: _check_approve,
    CONDITION: _check_nothing,
    PARALLEL: _check_parallel,
    JOIN: _check_join,
    NOTIFY: _check_notify,
    END: _check_end,
}


# --- parsing and graph checks ---------------------------------------------------------------------


def _parse_nodes(raw_nodes: Any, problems: list[Problem]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    if not isinstance(raw_nodes, list):
        problems.append(Problem("invalid_graph", "nodes must be a list"))
        return nodes
    if len(raw_nodes) > MAX_NODES:
        problems.append(Problem("too_large", f"a workflow has at most {MAX_NODES} nodes"))
        return nodes
    for index, raw in enumerate(raw_nodes):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not _ID.match(raw["id"]):
            problems.append(
                Problem("invalid_node", f"node {index + 1} needs an id of letters, digits, - and _")
            )
            continue
        node_id = raw["id"]
        if node_id in nodes:
            problems.append(Problem("duplicate_id", f"node id {node_id!r} is used twice", node_id))
            continue
        node_type = raw.get("type")
        if node_type not in NODE_TYPES:
            problems.append(
                Problem("unknown_type", f"node {node_id!r} has unknown type {node_type!r}", node_id)
            )
            continue
        config = raw.get("config") or {}
        label = raw.get("label") or ""
        if not isinstance(config, Mapping):
            problems.append(Problem("invalid_config", f"node {node_id!r}: config must be an object", node_id))
            continue
        if not isinstance(label, str) or len(label) > 100:
            problems.append(
                Problem("invalid_config", f"node {node_id!r}: label of at most 100 characters", node_id)
            )
            continue
        messages: list[str] = []
        _CONFIG_CHECKS[node_type](config, messages)
        _check_time_limit(config, messages)
        for message in messages:
            problems.append(Problem("invalid_config", f"node {node_id!r}: {message}", node_id))
        nodes[node_id] = Node(node_id, node_type, label, dict(config))
    return nodes


def _parse_edges(raw_edges: Any, nodes: Mapping[str, Node], problems: list[Problem]) -> list[Edge]:
    edges: list[Edge] = []
    if not isinstance(raw_edges, list):
        problems.append(Problem("invalid_graph", "edges must be a list"))
        return edges
    if len(raw_edges) > MAX_EDGES:
        problems.append(Problem("too_large", f"a workflow has at most {MAX_EDGES} edges"))
        return edges
    for index, raw in enumerate(raw_edges):
        if not isinstance(raw, Mapping):
            problems.append(Problem("invalid_edge", f"edge {index + 1} must be an object", edge=index))
            continue
        source, target = raw.get("source"), raw.get("target")
        if (
            not isinstance(source, str)
            or not isinstance(target, str)
            or source not in nodes
            or target not in nodes
        ):
            node_id = source if isinstance(source, str) and source in nodes else None
            problems.append(
                Problem(
                    "edge_unknown_node",
                    f"edge {index + 1} connects a node that does not exist",
                    node_id,
                    index,
                )
            )
            continue
        label = raw.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 100):
            problems.append(
                Problem("invalid_edge", f"edge {index + 1}: label of at most 100 characters", source, index)
            )
            continue
        condition: Condition | None = None
        if raw.get("condition") is not None:
            if nodes[source].type != CONDITION:
                problems.append(
                    Problem(
                        "invalid_edge",
                        f"edge {index + 1}: only a condition node's edges carry conditions",
                        source,
                        index,
                    )
                )
                continue
            try:
                condition = parse_condition(raw["condition"])
            except ConditionError as exc:
                problems.append(Problem("invalid_condition", f"edge {index + 1}: {exc}", source, index))
                continue
        edges.append(Edge(source, target, label, condition))
    return edges


def _check_degrees(nodes: Mapping[str, Node], out: Mapping[str, list[Edge]], problems: list[Problem]) -> None:
    for node in nodes.values():
        edges = out.get(node.id, [])
        if node.type == END:
            if edges:
                problems.append(
                    Problem("end_has_edges", f"end node {node.id!r} cannot lead anywhere", node.id)
                )
        elif node.type == CONDITION:
            defaults = [edge for edge in edges if edge.condition is None]
            if len(defaults) != 1:
                problems.append(
                    Problem(
                        "no_default_branch",
                        f"condition node {node.id!r} needs exactly one default branch (an edge without a "
                        f"condition), has {len(defaults)}",
                        node.id,
                    )
                )
            if len(edges) < 2:
                problems.append(
                    Problem(
                        "condition_branches",
                        f"condition node {node.id!r} needs at least two branches",
                        node.id,
                    )
                )
        elif len(edges) != 1:
            problems.append(
                Problem(
                    "out_edges",
                    f"{node.type} node {node.id!r} needs exactly one outgoing edge, has {len(edges)}",
                    node.id,
                )
            )
        if node.type == PARALLEL and len(edges) == 1 and nodes[edges[0].target].type != JOIN:
            problems.append(
                Problem("parallel_not_to_join", f"parallel node {node.id!r} must lead to a join", node.id)
            )
    for sources in _incoming(out).items():
        target, from_nodes = sources
        if nodes[target].type == JOIN:
            for source in from_nodes:
                if nodes[source].type != PARALLEL:
                    problems.append(
                        Problem(
                            "join_without_parallel",
                            f"join node {target!r} can only follow parallel nodes",
                            target,
                        )
                    )
                    break
        if nodes[target].type == START:
            problems.append(
                Problem("edge_into_start", f"nothing may lead back into start node {target!r}", target)
            )
    for node in nodes.values():
        if node.type == JOIN and not _incoming(out).get(node.id):
            problems.append(
                Problem("join_without_parallel", f"join node {node.id!r} follows no parallel node", node.id)
            )


def _incoming(out: Mapping[str, list[Edge]]) -> dict[str, list[str]]:
    incoming: dict[str, list[str]] = {}
    for edges in out.values():
        for edge in edges:
            incoming.setdefault(edge.target, []).append(edge.source)
    return incoming


def successors(nodes: Mapping[str, Node], out: Mapping[str, Sequence[Edge]], node_id: str) -> list[str]:
    """Where a run can go from a node: its edges, and a rejection's return node."""
    found = [edge.target for edge in out.get(node_id, ())]
    node = nodes[node_id]
    if node.type == APPROVE and node.config.get("reject_to") in nodes:
        found.append(str(node.config["reject_to"]))
    return found


def _reachable(start: str, step: Any) -> set[str]:
    seen = {start}
    frontier = [start]
    while frontier:
        for nxt in step(frontier.pop()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def _check_paths(
    nodes: Mapping[str, Node], out: Mapping[str, list[Edge]], start_id: str, problems: list[Problem]
) -> None:
    forward = _reachable(start_id, lambda n: successors(nodes, out, n))
    for node_id in nodes:
        if node_id not in forward:
            problems.append(Problem("unreachable", f"node {node_id!r} cannot be reached from start", node_id))
    backward: dict[str, list[str]] = {}
    for node_id in nodes:
        for nxt in successors(nodes, out, node_id):
            backward.setdefault(nxt, []).append(node_id)
    ends = [node_id for node_id, node in nodes.items() if node.type == END]
    can_finish: set[str] = set()
    for end in ends:
        can_finish |= _reachable(end, lambda n: backward.get(n, []))
    for node_id in nodes:
        if node_id not in can_finish:
            problems.append(Problem("dead_end", f"node {node_id!r} has no way to an end node", node_id))
    _check_automatic_cycles(nodes, out, problems)


def _check_automatic_cycles(
    nodes: Mapping[str, Node], out: Mapping[str, list[Edge]], problems: list[Problem]
) -> None:
    """A cycle through automatic nodes only would loop without waiting for anyone."""
    automatic = {node_id for node_id, node in nodes.items() if not node.waits_for_people}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[str] = set()

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        path.append(node_id)
        for nxt in (edge.target for edge in out.get(node_id, ())):
            if nxt not in automatic:
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                if not reported & set(cycle):
                    reported.update(cycle)
                    problems.append(
                        Problem(
                            "automatic_cycle",
                            f"nodes {' → '.join(cycle)} loop without a step that waits for people",
                            nxt,
                        )
                    )
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node_id] = 2

    for node_id in sorted(automatic):
        if node_id not in state:
            visit(node_id, [])


def parse_definition(graph: Any) -> Definition:
    """Check a graph ``{"nodes": [...], "edges": [...]}`` and return it as a ``Definition``; raise
    ``DefinitionError`` listing every problem found (per node where there is one)."""
    problems: list[Problem] = []
    if not isinstance(graph, Mapping):
        raise DefinitionError(
            [Problem("invalid_graph", "a workflow graph is an object with nodes and edges")]
        )
    nodes = _parse_nodes(graph.get("nodes"), problems)
    edges = _parse_edges(graph.get("edges", []), nodes, problems)
    starts = [node.id for node in nodes.values() if node.type == START]
    if len(starts) != 1:
        problems.append(
            Problem(
                "start_count",
                f"a workflow has exactly one start node, this one has {len(starts)}",
                starts[1] if len(starts) > 1 else None,
            )
        )
    if not any(node.type == END for node in nodes.values()):
        problems.append(Problem("no_end", "a workflow needs at least one end node"))
    for node in nodes.values():
        reject_to = node.config.get("reject_to") if node.type == APPROVE else None
        if (
            isinstance(reject_to, str)
            and reject_to
            and (reject_to not in nodes or nodes[reject_to].type == START)
        ):
            problems.append(
                Problem(
                    "reject_target_missing",
                    f"approve node {node.id!r} returns to {reject_to!r}, not a node it can return to",
                    node.id,
                )
            )
    out: dict[str, list[Edge]] = {}
    for edge in edges:
        out.setdefault(edge.source, []).append(edge)
    _check_degrees(nodes, out, problems)
    if len(starts) == 1:
        _check_paths(nodes, out, starts[0], problems)
    if problems:
        raise DefinitionError(problems)
    return Definition(
        nodes=nodes,
        edges=tuple(edges),
        start_id=starts[0],
        _out={node_id: tuple(found) for node_id, found in out.items()},
    )

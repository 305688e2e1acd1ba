"""The workflow engine's step function: ``(definition, state, event, context) → (new state, effects)``.
Pure: it decides; the service applies the effects through the ticket write path.

A run has one position (``current``). Automatic nodes (start, condition, notify, parallel, end) are
passed through at once; a run stops at a node that waits for people — ``handle`` (until the ticket is
resolved or an agent marks the step done), ``approve`` (until the approvers decide) or ``join``
(until its sub-tasks are done) — or completes at ``end``. Every node entered and left is an effect
with its reason, so the service records each step as a ticket event.

Approvals (审批):
- ``any`` (或签): every approver is asked; the first decision decides, the other requests close;
- ``all`` (会签): every approver is asked; all must approve, the first rejection decides;
- ``sequence`` (依次): approvers are asked one at a time in the configured order; each approval asks
  the next one, a rejection decides.
A rejection returns the run to the approve node's ``reject_to``. When no approver could be found
(nobody holds the role, the team has no lead) one request with no approver is opened: whoever may
administer workflows decides it, so a run never hangs on nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from huiliu.workflows.domain.conditions import describe, holds, lookup
from huiliu.workflows.domain.definition import (
    APPROVE,
    CONDITION,
    END,
    HANDLE,
    JOIN,
    NOTIFY,
    PARALLEL,
    START,
    Definition,
    Node,
)

RUNNING = "running"
WAITING = "waiting"
COMPLETED = "completed"
CANCELLED = "cancelled"

APPROVED = "approved"
REJECTED = "rejected"
OPEN = "open"
DONE = "done"
# Automatic nodes passed through in one step before the run must wait: a guard on top of the
# definition check that every cycle waits for people.
MAX_AUTOMATIC_STEPS = 500
MAX_SUBTASKS = 100


class StepRejected(ValueError):
    """The event does not apply to the run as it is (another node is current, already decided…)."""


class NotAnApprover(StepRejected):
    """The person deciding is not (or not yet, in a sequence) asked to decide this approval."""


# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Approval:
    """The approval open at the current approve node. ``approvers`` are user ids in order (one
    ``None`` when nobody was found); ``decisions`` are ``(approver, approved?)`` in the order made."""

    node_id: str
    mode: str
    approvers: tuple[str | None, ...]
    decisions: tuple[tuple[str | None, bool], ...] = ()

    def pending(self) -> tuple[str | None, ...]:
        """Who may decide now."""
        decided = {approver for approver, _ in self.decisions}
        if self.mode == "sequence":
            index = len(self.decisions)
            return self.approvers[index : index + 1]
        return tuple(approver for approver in self.approvers if approver not in decided)


@dataclass(frozen=True, slots=True)
class State:
    status: str = RUNNING
    current: str | None = None
    approval: Approval | None = None
    # The sub-tasks the join at ``current`` waits for: (key, "open" | "done").
    children: tuple[tuple[str, str], ...] = ()
    entered: int = 0

    def to_json(self) -> dict[str, Any]:
        approval = None
        if self.approval is not None:
            approval = {
                "node_id": self.approval.node_id,
                "mode": self.approval.mode,
                "approvers": list(self.approval.approvers),
                "decisions": [[approver, ok] for approver, ok in self.approval.decisions],
            }
        return {
            "status": self.status,
            "current": self.current,
            "approval": approval,
            "children": [[key, state] for key, state in self.children],
            "entered": self.entered,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        raw = data.get("approval")
        approval = None
        if raw:
            approval = Approval(
                node_id=raw["node_id"],
                mode=raw["mode"],
                approvers=tuple(raw["approvers"]),
                decisions=tuple((approver, bool(ok)) for approver, ok in raw["decisions"]),
            )
        return cls(
            status=data.get("status", RUNNING),
            current=data.get("current"),
            approval=approval,
            children=tuple((str(key), str(state)) for key, state in data.get("children", [])),
            entered=int(data.get("entered", 0)),
        )


@dataclass(frozen=True, slots=True)
class Context:
    """What the engine may know about the world: the ticket's facts (for conditions and list fields)
    and the approvers the service resolved per approve node (user ids, in order)."""

    facts: Mapping[str, Any] = field(default_factory=dict)
    approvers: Mapping[str, Sequence[str]] = field(default_factory=dict)


# --- events -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandleDone:
    node_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decide:
    node_id: str
    approver: str | None
    approve: bool
    comment: str = ""
    by_name: str = ""


@dataclass(frozen=True, slots=True)
class ChildClosed:
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str


Event = HandleDone | Decide | ChildClosed | Cancel


# --- effects ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnterNode:
    node_id: str
    node_type: str
    label: str
    reason: str
    time_limit_minutes: int | None


@dataclass(frozen=True, slots=True)
class LeaveNode:
    node_id: str
    outcome: str
    reason: str


@dataclass(frozen=True, slots=True)
class Assign:
    node_id: str
    kind: str
    ref: str


@dataclass(frozen=True, slots=True)
class ReopenForWork:
    """A handle node needs the ticket worked on: a resolved ticket opens again."""

    node_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RequestApproval:
    """Open approval requests: ``active`` may decide now, ``queued`` later (a sequence)."""

    node_id: str
    mode: str
    active: tuple[str | None, ...]
    queued: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class ActivateApprover:
    node_id: str
    approver: str | None


@dataclass(frozen=True, slots=True)
class RecordDecision:
    node_id: str
    approver: str | None
    approved: bool
    comment: str
    reason: str


@dataclass(frozen=True, slots=True)
class CloseApprovals:
    """The approval at ``node_id`` is decided (or the run left it): close the open requests."""

    node_id: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Subtask:
    key: str
    title: str
    team: str | None
    assignee: str | None


@dataclass(frozen=True, slots=True)
class CreateSubtasks:
    node_id: str
    join_id: str
    subtasks: tuple[Subtask, ...]


@dataclass(frozen=True, slots=True)
class Notify:
    node_id: str
    message: str
    recipients: Mapping[str, Any]
    channels: tuple[str, ...]
    severity: str


@dataclass(frozen=True, slots=True)
class ResolveTicket:
    node_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Complete:
    node_id: str | None
    reason: str
    outcome: str = COMPLETED


Effect = (
    EnterNode
    | LeaveNode
    | Assign
    | ReopenForWork
    | RequestApproval
    | ActivateApprover
    | RecordDecision
    | CloseApprovals
    | CreateSubtasks
    | Notify
    | ResolveTicket
    | Complete
)


@dataclass(frozen=True, slots=True)
class Step:
    state: State
    effects: tuple[Effect, ...]
    ignored: bool = False


# --- running ----------------------------------------------------------------------------------------


def _branch(definition: Definition, node: Node, context: Context) -> tuple[str, str]:
    """The condition node's chosen target and the reason: the first branch whose condition holds,
    else the default branch."""
    default = None
    for index, edge in enumerate(definition.outgoing(node.id)):
        if edge.condition is None:
            default = edge
            continue
        if holds(edge.condition, context.facts):
            name = edge.label or f"branch {index + 1}"
            return edge.target, f"{name}: {describe(edge.condition)}"
    assert default is not None  # a checked definition has one
    return default.target, f"{default.label or 'default'}: no other branch matched"


def _subtasks(node: Node, context: Context) -> tuple[Subtask, ...]:
    config = node.config
    default_team = config.get("team")
    branches = config.get("branches")
    if branches is not None:
        return tuple(
            Subtask(str(index + 1), str(b["title"]), b.get("team") or default_team, b.get("assignee"))
            for index, b in enumerate(branches)
        )
    items = lookup(context.facts, str(config["items_field"]))
    if items is None or items == "":
        items = []
    elif not isinstance(items, list):
        items = [items]
    title = str(config.get("title", "{item}"))
    found: list[Subtask] = []
    for index, item in enumerate(items[:MAX_SUBTASKS]):
        text = item if isinstance(item, str) else _item_text(item)
        found.append(Subtask(str(index + 1), title.replace("{item}", text)[:300], default_team, None))
    return tuple(found)


def _item_text(item: Any) -> str:
    if isinstance(item, Mapping):
        for key in ("label", "name", "title", "value"):
            if key in item:
                return str(item[key])
    return str(item)


def _join_done(mode: str, children: tuple[tuple[str, str], ...]) -> bool:
    if not children:
        return True
    finished = sum(1 for _, state in children if state == DONE)
    return finished == len(children) if mode == "all" else finished >= 1


def _run(
    definition: Definition, context: Context, state: State, node_id: str, reason: str, effects: list[Effect]
) -> State:
    """Enter ``node_id`` and pass through automatic nodes until the run waits or completes."""
    for _ in range(MAX_AUTOMATIC_STEPS):
        node = definition.node(node_id)
        state = replace(state, current=node_id, status=RUNNING, approval=None, entered=state.entered + 1)
        if node.type != JOIN:
            state = replace(state, children=())
        effects.append(EnterNode(node.id, node.type, node.label, reason, node.time_limit_minutes))
        if node.type == START:
            effects.append(LeaveNode(node.id, "started", "start"))
            node_id, reason = definition.next_of(node.id), f"after {node.label or node.id}"
            continue
        if node.type == CONDITION:
            node_id, why = _branch(definition, node, context)
            effects.append(LeaveNode(node.id, "branched", why))
            reason = f"{node.label or node.id} → {why}"
            continue
        if node.type == NOTIFY:
            config = node.config
            effects.append(
                Notify(
                    node.id,
                    str(config["message"]),
                    dict(config["recipients"]),
                    tuple(config.get("channels", ["in_app"])),
                    str(config.get("severity", "info")),
                )
            )
            effects.append(LeaveNode(node.id, "notified", "notification queued"))
            node_id, reason = definition.next_of(node.id), f"after {node.label or node.id}"
            continue
        if node.type == PARALLEL:
            subtasks = _subtasks(node, context)
            join_id = definition.next_of(node.id)
            effects.append(CreateSubtasks(node.id, join_id, subtasks))
            effects.append(LeaveNode(node.id, "spawned", f"{len(subtasks)} sub-task(s)"))
            state = replace(state, children=tuple((sub.key, OPEN) for sub in subtasks))
            node_id, reason = join_id, f"waiting for {len(subtasks)} sub-task(s) of {node.label or node.id}"
            continue
        if node.type == JOIN:
            mode = str(node.config.get("mode", "all"))
            if not _join_done(mode, state.children):
                return replace(state, status=WAITING)
            effects.append(LeaveNode(node.id, "joined", _join_reason(mode, state.children)))
            node_id, reason = definition.next_of(node.id), f"after {node.label or node.id}"
            state = replace(state, children=())
            continue
        if node.type == HANDLE:
            assignee = node.config.get("assignee") or {"kind": "none"}
            effects.append(ReopenForWork(node.id, f"workflow step {node.label or node.id}"))
            if assignee.get("kind", "none") != "none":
                effects.append(Assign(node.id, str(assignee["kind"]), str(assignee["ref"])))
            return replace(state, status=WAITING)
        if node.type == APPROVE:
            approvers: tuple[str | None, ...] = tuple(context.approvers.get(node.id, ())) or (None,)
            mode = str(node.config.get("mode", "any"))
            approval = Approval(node.id, mode, approvers)
            active = approval.pending()
            queued = tuple(a for a in approvers if a not in active) if mode == "sequence" else ()
            effects.append(RequestApproval(node.id, mode, active, queued))
            return replace(state, status=WAITING, approval=approval)
        if node.type == END:
            if node.config.get("resolve_ticket"):
                effects.append(ResolveTicket(node.id, f"workflow reached {node.label or node.id}"))
            effects.append(LeaveNode(node.id, "ended", "end"))
            effects.append(Complete(node.id, f"reached {node.label or node.id}"))
            return replace(state, status=COMPLETED, current=None, children=())
        raise StepRejected(f"unknown node type {node.type!r}")
    raise StepRejected(f"more than {MAX_AUTOMATIC_STEPS} automatic steps without waiting for anyone")


def _join_reason(mode: str, children: tuple[tuple[str, str], ...]) -> str:
    finished = sum(1 for _, state in children if state == DONE)
    if not children:
        return "no sub-tasks to wait for"
    return f"{finished}/{len(children)} sub-task(s) done (wait for {mode})"


def start(definition: Definition, context: Context) -> Step:
    """A new run: enter ``start`` and go as far as the run can without people."""
    effects: list[Effect] = []
    state = _run(definition, context, State(), definition.start_id, "workflow started", effects)
    return Step(state, tuple(effects))


def advance(definition: Definition, state: State, event: Event, context: Context) -> Step:
    """Apply ``event`` to a run. Raises ``StepRejected`` when it does not apply (``NotAnApprover``
    when the person may not decide); a sub-task closing after its join went on is ``ignored``."""
    if state.status in {COMPLETED, CANCELLED}:
        if isinstance(event, ChildClosed):
            return Step(state, (), ignored=True)
        raise StepRejected("the workflow is no longer running")
    if isinstance(event, Cancel):
        return _cancel(state, event)
    if isinstance(event, ChildClosed):
        return _child_closed(definition, state, event, context)
    if isinstance(event, HandleDone):
        return _handle_done(definition, state, event, context)
    return _decide(definition, state, event, context)


def _cancel(state: State, event: Cancel) -> Step:
    effects: list[Effect] = []
    if state.approval is not None:
        effects.append(CloseApprovals(state.approval.node_id, CANCELLED))
    if state.current is not None:
        effects.append(LeaveNode(state.current, CANCELLED, event.reason))
    effects.append(Complete(None, event.reason, CANCELLED))
    return Step(State(status=CANCELLED, entered=state.entered), tuple(effects))


def _child_closed(definition: Definition, state: State, event: ChildClosed, context: Context) -> Step:
    keys = dict(state.children)
    current = state.current
    if current is None or keys.get(event.key) != OPEN:
        return Step(state, (), ignored=True)
    children = tuple((key, DONE if key == event.key else value) for key, value in state.children)
    state = replace(state, children=children)
    node = definition.node(current)
    mode = str(node.config.get("mode", "all"))
    if not _join_done(mode, children):
        return Step(state, ())
    effects: list[Effect] = [LeaveNode(node.id, "joined", f"{_join_reason(mode, children)}; {event.reason}")]
    state = _run(
        definition,
        context,
        replace(state, children=()),
        definition.next_of(node.id),
        f"after {node.label or node.id}",
        effects,
    )
    return Step(state, tuple(effects))


def _handle_done(definition: Definition, state: State, event: HandleDone, context: Context) -> Step:
    if state.current != event.node_id or definition.node(event.node_id).type != HANDLE:
        raise StepRejected("this step is not the workflow's current handling step")
    node = definition.node(event.node_id)
    effects: list[Effect] = [LeaveNode(node.id, DONE, event.reason)]
    state = _run(
        definition, context, state, definition.next_of(node.id), f"after {node.label or node.id}", effects
    )
    return Step(state, tuple(effects))


def _decide(definition: Definition, state: State, event: Decide, context: Context) -> Step:
    approval = state.approval
    if approval is None or state.current != event.node_id or approval.node_id != event.node_id:
        raise StepRejected("this approval is not open")
    if event.approver not in approval.pending():
        raise NotAnApprover("you are not asked to decide this approval now")
    node = definition.node(event.node_id)
    who = event.by_name or event.approver or "an administrator"
    comment = f": {event.comment}" if event.comment else ""
    verdict = APPROVED if event.approve else REJECTED
    reason = f"{verdict} by {who}{comment}"
    approval = replace(approval, decisions=(*approval.decisions, (event.approver, event.approve)))
    effects: list[Effect] = [RecordDecision(node.id, event.approver, event.approve, event.comment, reason)]
    if not event.approve:
        effects += [CloseApprovals(node.id, REJECTED), LeaveNode(node.id, REJECTED, reason)]
        target = str(node.config["reject_to"])
        state = _run(definition, context, state, target, f"{node.label or node.id} {reason}", effects)
        return Step(state, tuple(effects))
    decided = approval.mode == "any" or not approval.pending()
    if not decided:
        if approval.mode == "sequence":
            effects.append(ActivateApprover(node.id, approval.pending()[0]))
        return Step(replace(state, approval=approval), tuple(effects))
    effects += [CloseApprovals(node.id, APPROVED), LeaveNode(node.id, APPROVED, reason)]
    state = _run(
        definition, context, state, definition.next_of(node.id), f"{node.label or node.id} {reason}", effects
    )
    return Step(state, tuple(effects))

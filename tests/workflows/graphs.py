"""Workflow graphs the tests share."""

from __future__ import annotations

from typing import Any


def node(node_id: str, node_type: str, label: str = "", **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "label": label, "config": config, "position": {"x": 0, "y": 0}}


def edge(source: str, target: str, condition: Any = None, label: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"source": source, "target": target}
    if condition is not None:
        found["condition"] = condition
    if label is not None:
        found["label"] = label
    return found


def approve_graph(approvers: dict[str, Any], mode: str = "any") -> dict[str, Any]:
    """start → approve (reject → fix) → end; fix → approve."""
    return {
        "nodes": [
            node("start", "start"),
            node("approve", "approve", "主管审批", approvers=approvers, mode=mode, reject_to="fix"),
            node("fix", "handle", "补充材料", assignee={"kind": "none"}),
            node("end", "end", resolve_ticket=True),
        ],
        "edges": [edge("start", "approve"), edge("approve", "end"), edge("fix", "approve")],
    }


def full_graph(approvers: dict[str, Any], team: str | None = None) -> dict[str, Any]:
    """approve → condition (urgent: parallel of two sub-tasks → join all; else end) → end."""
    branches = [{"title": "核实资料"}, {"title": "制卡"}]
    if team:
        branches[1]["team"] = team
    return {
        "nodes": [
            node("start", "start"),
            node("approve", "approve", "审批", approvers=approvers, mode="any", reject_to="fix"),
            node("fix", "handle", "退回修改", assignee={"kind": "none"}),
            node("route", "condition", "是否加急"),
            node("split", "parallel", "拆分子任务", branches=branches),
            node("join", "join", "汇合", mode="all"),
            node("end", "end", "结束", resolve_ticket=True),
        ],
        "edges": [
            edge("start", "approve"),
            edge("approve", "route"),
            edge("fix", "approve"),
            edge("route", "split", {"field": "priority", "op": "eq", "value": "urgent"}, "加急"),
            edge("route", "end", None, "默认"),
            edge("split", "join"),
            edge("join", "end"),
        ],
    }

"""The visual flow designer and approvals in a real browser: drag approve → condition → parallel →
join nodes onto the canvas, connect them by dragging between handles, see the checker mark the nodes
with problems, fix them in the property panel, publish; then start the workflow from a ticket page,
reject it from the approver's inbox (the run goes back to the chosen node), send it back, approve it
and see the sub-tasks appear."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PageFactory, Seeder, api_client, log_in
from tests.e2e.server import Server
from tests.factories import make_member, make_team, make_tenant

pytestmark = pytest.mark.e2e
# Set to a directory (docs/screenshots) to photograph the designer, the inbox and the ticket card.
SHOTS = os.environ.get("HUILIU_WORKFLOW_SHOTS")


def shoot(page: Page, name: str) -> None:
    if SHOTS:
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def choose(page: Page, select: Locator, option: str) -> None:
    select.click()
    page.locator(".el-select-dropdown__item:visible").filter(
        has_text=re.compile(f"^{re.escape(option)}$")
    ).click()


DRAG_AND_DROP = """([kind, x, y]) => {
  const item = document.querySelector(`[data-testid="wf-palette-${kind}"]`)
  const target = document.elementFromPoint(x, y)
  const transfer = new DataTransfer()
  const init = { bubbles: true, cancelable: true, dataTransfer: transfer, clientX: x, clientY: y }
  item.dispatchEvent(new DragEvent('dragstart', { bubbles: true, cancelable: true, dataTransfer: transfer }))
  target.dispatchEvent(new DragEvent('dragenter', init))
  target.dispatchEvent(new DragEvent('dragover', init))
  target.dispatchEvent(new DragEvent('drop', init))
  item.dispatchEvent(new DragEvent('dragend', { bubbles: true, dataTransfer: transfer }))
}"""


def drop_node(page: Page, kind: str, x: float, y: float) -> None:
    """Drag a palette item onto the canvas at (x, y) relative to the canvas's top left corner: the
    HTML5 drag events a browser sends (dragstart on the item; dragenter, dragover and drop on the
    element under the point; one DataTransfer), dispatched in the page — Playwright's mouse-driven
    HTML5 drag stalls in headless Chromium."""
    box = page.get_by_test_id("wf-canvas").bounding_box()
    assert box is not None
    page.evaluate(DRAG_AND_DROP, [kind, box["x"] + x, box["y"] + y])


def connect(page: Page, source: str, target: str) -> None:
    """Drag from the source node's bottom handle to the target node's top handle."""
    start = page.locator(f'.vue-flow__node[data-id="{source}"] .vue-flow__handle.source').bounding_box()
    end = page.locator(f'.vue-flow__node[data-id="{target}"] .vue-flow__handle.target').bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def select_node(page: Page, node_id: str) -> Locator:
    page.get_by_test_id(f"wf-node-{node_id}").click()
    panel = page.get_by_test_id("wf-properties")
    expect(panel).to_contain_text(node_id)
    return panel


def test_build_publish_and_run_an_approve_condition_parallel_flow(
    open_page: PageFactory, seeder: Seeder, e2e_server: Server
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    team = seeder.run(make_team(seeder.runtime, tenant, "信用卡组"))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="运营小周"))
    lead = seeder.run(make_member(seeder.runtime, tenant, "lead", team=team, name="组长老陈"))

    page = open_page()
    log_in(page, admin)
    page.get_by_test_id("nav-workflows").click()
    page.get_by_test_id("wf-create").click()
    page.get_by_test_id("wf-new-name").fill("信用卡审批")
    page.get_by_test_id("wf-new-submit").click()
    expect(page.get_by_test_id("workflow-designer")).to_be_visible()
    expect(page.locator('.vue-flow__node[data-id="start"]')).to_be_visible()

    # Palette → canvas, by dragging.
    box = page.get_by_test_id("wf-canvas").bounding_box()
    assert box is not None
    drop_node(page, "approve", 60, 90)
    drop_node(page, "handle", box["width"] - 220, 90)
    drop_node(page, "condition", 60, 190)
    drop_node(page, "parallel", box["width"] - 220, 230)
    drop_node(page, "join", box["width"] - 220, 330)
    for node_id in ("approve_1", "handle_1", "condition_1", "parallel_1", "join_1"):
        expect(page.locator(f'.vue-flow__node[data-id="{node_id}"]')).to_be_visible()
    page.locator(".vue-flow__controls-fitview").click()

    # Edges, by dragging between handles. The condition's two branches both start as defaults.
    for source, target in [
        ("start", "approve_1"),
        ("approve_1", "condition_1"),
        ("handle_1", "approve_1"),
        ("condition_1", "parallel_1"),
        ("condition_1", "end"),
        ("parallel_1", "join_1"),
    ]:
        connect(page, source, target)
    expect(page.locator(".vue-flow__edge")).to_have_count(6)

    # The checker marks the nodes with problems on the canvas.
    page.get_by_test_id("wf-validate").click()
    expect(page.get_by_test_id("wf-node-condition_1").get_by_test_id("wf-node-error")).to_be_visible()
    expect(page.get_by_test_id("wf-node-approve_1").get_by_test_id("wf-node-error")).to_be_visible()
    expect(page.get_by_test_id("wf-node-join_1").get_by_test_id("wf-node-error")).to_be_visible()

    # Fix them: the join leads to the end, a rejection returns to 处理, the first branch is "urgent".
    connect(page, "join_1", "end")
    panel = select_node(page, "approve_1")
    choose(page, panel.get_by_test_id("wf-prop-reject-to"), "处理 (处理)")
    panel.get_by_test_id("wf-prop-label").fill("主管审批")
    panel = select_node(page, "condition_1")
    panel.get_by_test_id("wf-branch-default-0").click()
    expect(panel.get_by_test_id("wf-branch-value-0")).to_have_value("urgent")
    panel = select_node(page, "parallel_1")
    panel.get_by_test_id("wf-prop-branch-0").fill("核实资料")
    panel.get_by_test_id("wf-prop-add-branch").click()
    panel.get_by_test_id("wf-prop-branch-1").fill("制卡寄送")
    panel = select_node(page, "end")
    panel.get_by_test_id("wf-prop-resolve").click()

    page.get_by_test_id("wf-validate").click()
    expect(page.get_by_test_id("wf-valid")).to_be_visible()
    expect(page.get_by_test_id("wf-node-error")).to_have_count(0)
    page.get_by_test_id("wf-publish").click()
    expect(page.get_by_test_id("workflow-designer").locator(".el-tag", has_text="v1")).to_be_visible()
    select_node(page, "approve_1")
    shoot(page, "workflow-designer")

    with api_client(e2e_server, admin) as api:
        [workflow] = api.get("/api/v1/workflows").json()["items"]
        assert workflow["latest_version"] == 1
        graph = api.get(f"/api/v1/workflows/{workflow['id']}/versions/1").json()["graph"]
        branches = [edge for edge in graph["edges"] if edge["source"] == "condition_1"]
        assert branches[0]["condition"] == {"field": "priority", "op": "eq", "value": "urgent"}
        assert "condition" not in branches[1]
        created = api.post(
            "/api/v1/tickets",
            json={"title": "信用卡申请 张先生", "priority": "urgent", "team_id": str(team.id)},
        )
        assert created.status_code == 201, created.text
        ticket = created.json()

    # Start it from the ticket page.
    page.goto(f"/tickets/{ticket['id']}")
    panel = page.get_by_test_id("workflow-panel")
    choose(page, panel.get_by_test_id("workflow-choose"), "信用卡审批 (v1)")
    panel.get_by_test_id("workflow-start").click()
    expect(panel.get_by_test_id("workflow-step-approve_1")).to_be_visible()
    expect(panel.get_by_test_id("workflow-approval-pending")).to_contain_text("组长老陈")

    # The team lead rejects from the inbox: the run returns to 处理.
    approver_page = open_page()
    log_in(approver_page, lead)
    approver_page.get_by_test_id("nav-approvals").click()
    expect(approver_page.get_by_test_id(f"reject-{ticket['number']}")).to_be_visible()
    shoot(approver_page, "approvals-inbox")
    approver_page.get_by_test_id(f"reject-{ticket['number']}").click()
    approver_page.get_by_test_id("approval-comment").fill("缺少收入证明")
    approver_page.get_by_test_id("approval-submit").click()
    expect(approver_page.get_by_test_id("approvals-table")).not_to_contain_text("信用卡申请 张先生")

    page.reload()
    panel = page.get_by_test_id("workflow-panel")
    expect(panel.get_by_test_id("workflow-step-handle_1")).to_contain_text("缺少收入证明")
    panel.get_by_test_id("workflow-step-done").click()
    expect(panel.get_by_test_id("workflow-approval-pending")).to_be_visible()

    # Approved: the urgent branch splits into two sub-tasks and waits at the join.
    approver_page.reload()
    approver_page.get_by_test_id(f"approve-{ticket['number']}").click()
    approver_page.get_by_test_id("approval-comment").fill("同意")
    approver_page.get_by_test_id("approval-submit").click()
    expect(approver_page.get_by_test_id("approvals-table")).not_to_contain_text("信用卡申请 张先生")

    page.reload()
    panel = page.get_by_test_id("workflow-panel")
    expect(panel.get_by_test_id("workflow-subtask-1")).to_contain_text("核实资料")
    expect(panel.get_by_test_id("workflow-subtask-2")).to_contain_text("制卡寄送")
    expect(panel.get_by_test_id("workflow-step-join_1")).to_be_visible()
    panel.scroll_into_view_if_needed()
    shoot(page, "ticket-workflow")
    with api_client(e2e_server, admin) as api:
        progress = api.get(f"/api/v1/tickets/{ticket['id']}/workflow").json()["current"]
        assert progress["current_node"] == "join_1"
        assert [a["state"] for a in progress["approvals"]] == ["rejected", "approved"]

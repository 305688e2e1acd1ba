"""The demo tenant's later capabilities, installed after its history: automation rules, ticket
templates and an H5 entry point, published workflows with a few runs, the knowledge base,
classification and analytics alert rules.

Everything goes through the packages' services as an admin would (the admin of the demo), after the
back-dated history, at the real present: the history is not rewritten (the rules and the classifier
only see tickets that change from now on). Each piece is found again by its key or name before it is
made, so a second ``huiliu demo`` adds nothing and an interrupted one completes what is missing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from huiliu.analytics.alerts import service as alerts
from huiliu.auth import service as auth
from huiliu.auth.domain import Actor
from huiliu.auth.models import Role, Team, Tenant, User
from huiliu.auth.schemas import RoleCreate
from huiliu.automation import service as automation
from huiliu.core.ids import new_id
from huiliu.db.session import Database
from huiliu.demo import content as c
from huiliu.demo import knowledge as k
from huiliu.entry_points import queries as entry_point_queries
from huiliu.entry_points import service as entry_points
from huiliu.entry_points.schemas import EntryPointCreate
from huiliu.intelligence.triage import SETTINGS_KEY, parse_settings
from huiliu.kb import service as kb
from huiliu.kb.models import KbArticle, KbCategory, QuickReply
from huiliu.kb.schemas import ArticleWrite, CategoryWrite, QuickReplyWrite
from huiliu.ticket_templates import queries as template_queries
from huiliu.ticket_templates import service as templates
from huiliu.tickets.models import Ticket
from huiliu.workflows import queries as workflow_queries
from huiliu.workflows import service as workflows
from huiliu.workflows.models import WorkflowInstance
from huiliu.workflows.schemas import WorkflowCreate

# Quality assurance, which the preset "评分低于 3 星" addresses by name (team 质检组, role 质检): a team
# under 客服中心, a role that reads and annotates every ticket, and one inspector.
QA_TEAM = "质检组"
QA_PARENT = "客服中心"
QA_ROLE = "质检"
QA_PERMISSIONS = ("ticket.read", "ticket.update", "ticket.note", "customer.read", "analytics.read")
QA_PERSON = c.Person("宋佳", "song.jia")

# Industry presets that fit the demo's scenarios (retail returns, 茶饮门店 device repairs, course refunds).
TEMPLATE_PRESETS = ("retail_return", "onsite_device_repair", "course_refund_transfer")
REPAIR_ENTRY_POINT = "门店扫码报修"
REPAIR_TEMPLATE = "onsite_device_repair"

REFUND_WORKFLOW = "退款审批"
COMPLAINT_WORKFLOW = "投诉协同处理"
# Open demo tickets each workflow runs on, so the leads' approvals inbox and the sub-tasks show.
REFUND_RUNS = 3
COMPLAINT_RUNS = 2
REFUND_CATEGORY = "refund_return"  # retail, course and 母婴 refunds alike
LARGE_REFUND = 1000
OPEN_STATUSES = ("new", "open", "pending")


def _node(node_id: str, kind: str, label: str, x: int, y: int, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "label": label, "config": config, "position": {"x": x, "y": y}}


REFUND_GRAPH: dict[str, Any] = {
    "nodes": [
        _node("start", "start", "开始", 240, 0),
        _node(
            "lead_approval",
            "approve",
            "组长审批",
            240,
            110,
            approvers={"kind": "manager_of"},
            mode="any",
            reject_to="more_evidence",
            time_limit_minutes=240,
        ),
        _node(
            "more_evidence",
            "handle",
            "补充凭证",
            0,
            110,
            assignee={"kind": "none"},
            instructions="联系客户补充订单号、凭证照片后完成此步骤，重新提交审批",
        ),
        _node("amount", "condition", "退款金额", 240, 220),
        _node(
            "director_review",
            "approve",
            "大额退款主管复核",
            480,
            330,
            approvers={"kind": "manager_of", "team": "客服中心"},
            mode="any",
            reject_to="more_evidence",
        ),
        _node(
            "refund",
            "handle",
            "售后办理退款",
            240,
            440,
            assignee={"kind": "team", "ref": "售后组"},
            instructions="按审批结果原路退款，退款完成后解决工单",
            time_limit_minutes=1440,
        ),
        _node(
            "notify_customer_service",
            "notify",
            "通知客服中心",
            240,
            550,
            message="退款已办理完成，请回访客户确认到账",
            recipients={"team_lead": True},
        ),
        _node("end", "end", "结束", 240, 660, resolve_ticket=True),
    ],
    "edges": [
        {"source": "start", "target": "lead_approval"},
        {"source": "more_evidence", "target": "lead_approval"},
        {"source": "lead_approval", "target": "amount"},
        {
            "source": "amount",
            "target": "director_review",
            "label": f"≥ {LARGE_REFUND} 元",
            "condition": {"field": "fields.refund_amount", "op": "gte", "value": LARGE_REFUND},
        },
        {"source": "amount", "target": "refund", "label": "默认"},
        {"source": "director_review", "target": "refund"},
        {"source": "refund", "target": "notify_customer_service"},
        {"source": "notify_customer_service", "target": "end"},
    ],
}

# The lead confirms first; approving splits the complaint into two sub-tasks (in the console: log in
# as 黄丽君, 我的审批 → 同意). Runs started by the seed wait at the approval, so starting them creates
# no tickets.
COMPLAINT_GRAPH: dict[str, Any] = {
    "nodes": [
        _node("start", "start", "开始", 240, 0),
        _node(
            "confirm",
            "approve",
            "投诉组长确认协同处理",
            240,
            110,
            approvers={"kind": "manager_of", "team": "投诉处理组"},
            mode="any",
            reject_to="direct",
            time_limit_minutes=240,
        ),
        _node(
            "direct",
            "handle",
            "投诉组直接处理",
            0,
            220,
            assignee={"kind": "team", "ref": "投诉处理组"},
            instructions="无需协同：由投诉处理组直接联系客户解决",
        ),
        _node(
            "split",
            "parallel",
            "并行核查",
            240,
            220,
            branches=[
                {"title": "调取沟通记录与订单明细", "team": "投诉处理组"},
                {"title": "核算补偿方案", "team": "售后组"},
            ],
        ),
        _node("join", "join", "汇合", 240, 330, mode="all", time_limit_minutes=2880),
        _node(
            "reply",
            "handle",
            "回复客户并结案",
            240,
            440,
            assignee={"kind": "team", "ref": "投诉处理组"},
            instructions="按核查结果与补偿方案回复客户，客户确认后解决工单",
        ),
        _node("end", "end", "结束", 240, 550, resolve_ticket=True),
    ],
    "edges": [
        {"source": "start", "target": "confirm"},
        {"source": "confirm", "target": "split"},
        {"source": "split", "target": "join"},
        {"source": "join", "target": "reply"},
        {"source": "reply", "target": "end"},
        {"source": "direct", "target": "end"},
    ],
}

WORKFLOWS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        REFUND_WORKFLOW,
        "组长审批 → 按金额分支（≥1000 元主管复核）→ 售后办理退款 → 通知 → 结束",
        REFUND_GRAPH,
    ),
    (
        COMPLAINT_WORKFLOW,
        "投诉组长确认 → 并行子任务：投诉组调取记录、售后核算补偿 → 汇合 → 回复客户并结案",
        COMPLAINT_GRAPH,
    ),
)

ALERT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "首次响应 P90 超过 8 小时",
        "metric": "first_response_p90",
        "condition": {"kind": "threshold", "op": "gt", "value": 480, "window_hours": 24},
        "recipients": {"roles": ["lead"]},
        "channels": ["in_app"],
        "severity": "warning",
        "cooldown_hours": 24,
    },
    {
        "name": "满意度连续三天低于 4 分",
        "metric": "csat_avg",
        "condition": {"kind": "consecutive_days_below", "standard": 4.0, "days": 3},
        "recipients": {"roles": ["admin", "lead"]},
        "channels": ["in_app", "email"],
        "severity": "critical",
        "cooldown_hours": 72,
    },
)


async def install_capabilities(db: Database, tenant_id: uuid.UUID, admin_id: uuid.UUID) -> None:
    """Install whatever of the demo's capabilities the tenant does not have yet (see the module)."""
    admin = await auth.actor_for_user(db, admin_id, tenant_id, auth.ActorCache(ttl=0))
    await _quality_assurance(db, admin)
    await _automation(db, admin)
    await _templates(db, admin)
    workflow_ids = await _workflows(db, admin)
    await _workflow_runs(db, admin, workflow_ids)
    await _knowledge_base(db, admin)
    await _alert_rules(db, admin)
    # Last: the sub-tasks the workflows opened just now are internal work, not requests to classify.
    await switch_classification_on(db, tenant_id)


async def _quality_assurance(db: Database, admin: Actor) -> None:
    """The 质检组 team, the 质检 role and the inspector 宋佳, each once."""
    async with db.uow(admin.tenant_id) as uow:
        teams = {row.name: row.id for row in (await uow.session.execute(select(Team.name, Team.id))).all()}
        if QA_TEAM not in teams:
            teams[QA_TEAM] = (await auth.create_team(uow, QA_TEAM, teams[QA_PARENT])).id
            await uow.commit()
    async with db.uow(admin.tenant_id) as uow:
        role = await uow.session.scalar(select(Role).where(Role.name == QA_ROLE))
        if role is None:
            request = RoleCreate(name=QA_ROLE, permissions=list(QA_PERMISSIONS), data_scope="all")
            role = await auth.add_role(uow, admin, request, role_id=new_id())
    async with db.uow(admin.tenant_id) as uow:
        if await uow.session.scalar(select(User.id).where(User.email == QA_PERSON.email)) is None:
            await auth.create_user(
                uow,
                email=QA_PERSON.email,
                name=QA_PERSON.name,
                password=c.ADMIN_PASSWORD,
                role_id=role.id,
                team_id=teams[QA_TEAM],
            )
            await uow.commit()


async def _automation(db: Database, admin: Actor) -> None:
    """The brief's three preset rules, active: they are installed after the history, so they act on
    tickets that change from now on (a seeded ticket left unanswered escalates once touched)."""
    async with db.uow(admin.tenant_id) as uow:
        await automation.install_presets(uow, admin)


async def _templates(db: Database, admin: Actor) -> None:
    """Three industry presets, published, and the H5 entry point 门店扫码报修 on the repair one."""
    async with db.uow(admin.tenant_id) as uow:
        installed = await template_queries.installed_presets(uow.session)
    for key in TEMPLATE_PRESETS:
        if key in installed:
            continue
        async with db.uow(admin.tenant_id) as uow:
            installed[key] = (await templates.install_preset(uow, admin, key)).id
    async with db.uow(admin.tenant_id) as uow:
        names = {row.name for row in await entry_point_queries.list_entry_points(uow.session)}
        if REPAIR_ENTRY_POINT in names:
            return
        repair_team = await uow.session.scalar(select(Team.id).where(Team.name == "华东维修组"))
        request = EntryPointCreate(
            kind="h5_form",
            name=REPAIR_ENTRY_POINT,
            config={
                "form_title": "门店设备扫码报修",
                "form_intro": "扫描设备上的二维码，选择型号、描述故障并上传照片，工程师 2 小时内联系您。",
                "contact_required": "phone",
                "max_photos": 6,
                "default_template_id": str(installed[REPAIR_TEMPLATE]),
                "default_team_id": str(repair_team),
                "default_tags": ["扫码报修"],
            },
        )
        await entry_points.create_entry_point(uow, admin, request, entry_point_id=new_id())


async def _workflows(db: Database, admin: Actor) -> dict[str, uuid.UUID]:
    """退款审批 and 投诉协同处理, each created and published once."""
    async with db.uow(admin.tenant_id) as uow:
        found = {row.name: row for row in await workflow_queries.list_workflows(uow.session)}
        ids = {name: row.id for name, row in found.items()}
        unpublished = {name for name, row in found.items() if row.latest_version is None}
    for name, description, graph in WORKFLOWS:
        if name not in ids:
            async with db.uow(admin.tenant_id) as uow:
                request = WorkflowCreate(name=name, description=description, graph=graph)
                ids[name] = (await workflows.create_workflow(uow, admin, request)).id
            unpublished.add(name)
        if name in unpublished:
            async with db.uow(admin.tenant_id) as uow:
                await workflows.publish(uow, admin, ids[name])
    return ids


async def _workflow_runs(db: Database, admin: Actor, workflow_ids: dict[str, uuid.UUID]) -> None:
    """Runs on the oldest open refund tickets of 售后组 and open complaints of 投诉处理组, up to a
    fixed number per workflow: each waits for the team lead's approval (their 我的审批 inbox)."""
    await _start_runs(
        db,
        admin,
        workflow_ids[REFUND_WORKFLOW],
        REFUND_RUNS,
        Ticket.category == REFUND_CATEGORY,
        "售后组",
    )
    await _start_runs(
        db,
        admin,
        workflow_ids[COMPLAINT_WORKFLOW],
        COMPLAINT_RUNS,
        Ticket.scenario == "complaint",
        "投诉处理组",
    )


async def _start_runs(
    db: Database, admin: Actor, workflow_id: uuid.UUID, wanted: int, matches: Any, team: str
) -> None:
    async with db.uow(admin.tenant_id) as uow:
        runs = int(
            await uow.session.scalar(
                select(func.count())
                .select_from(WorkflowInstance)
                .where(WorkflowInstance.workflow_id == workflow_id)
            )
            or 0
        )
        if runs >= wanted:
            return
        running = select(WorkflowInstance.ticket_id)
        candidates = (
            (
                await uow.session.execute(
                    select(Ticket.id)
                    .join(Team, Team.id == Ticket.team_id)
                    .where(
                        Team.name == team,
                        matches,
                        Ticket.status.in_(OPEN_STATUSES),
                        Ticket.parent_id.is_(None),
                        Ticket.id.not_in(running),
                    )
                    .order_by(Ticket.number)
                    .limit(wanted - runs)
                )
            )
            .scalars()
            .all()
        )
    for ticket_id in candidates:
        async with db.uow(admin.tenant_id) as uow:
            await workflows.start_workflow(uow, admin, ticket_id, workflow_id, reason="演示：管理员启动流程")


async def _knowledge_base(db: Database, admin: Actor) -> None:
    """Categories, published articles (public and internal) and quick replies with variables."""
    async with db.uow(admin.tenant_id) as uow:
        categories = {
            row.name: row.id
            for row in (await uow.session.execute(select(KbCategory.name, KbCategory.id))).all()
        }
        titles = set((await uow.session.execute(select(KbArticle.title))).scalars().all())
        replies = set((await uow.session.execute(select(QuickReply.title))).scalars().all())
    for category in k.CATEGORIES:
        if category.name in categories:
            continue
        async with db.uow(admin.tenant_id) as uow:
            body = CategoryWrite(
                name=category.name, description=category.description, position=category.position
            )
            categories[category.name] = (await kb.create_category(uow, admin, body)).id
    for article in k.ARTICLES:
        if article.title in titles:
            continue
        async with db.uow(admin.tenant_id) as uow:
            write = ArticleWrite(
                title=article.title,
                body=article.body,
                category_id=categories[article.category],
                tags=list(article.tags),
                visibility=article.visibility,
                status="published",
            )
            await kb.create_article(uow, admin, write)
    for position, reply in enumerate(k.QUICK_REPLIES):
        if reply.title in replies:
            continue
        async with db.uow(admin.tenant_id) as uow:
            quick = QuickReplyWrite(
                title=reply.title, body=reply.body, shortcut=reply.shortcut, position=(position + 1) * 10
            )
            await kb.create_quick_reply(uow, admin, quick)


async def _alert_rules(db: Database, admin: Actor) -> None:
    async with db.uow(admin.tenant_id) as uow:
        names = {rule.name for rule in await alerts.list_rules(uow.session)}
    for rule in ALERT_RULES:
        if rule["name"] in names:
            continue
        async with db.uow(admin.tenant_id) as uow:
            await alerts.create_rule(uow, admin, rule)


async def switch_classification_on(db: Database, tenant_id: uuid.UUID) -> None:
    """Switch classification on with the shipped model and the default taxonomy, unless the tenant
    has settings of its own already (an admin who switched it off keeps it off)."""
    async with db.uow(None, system=True) as uow:
        tenant = await uow.session.get(Tenant, tenant_id)
        assert tenant is not None
        if SETTINGS_KEY in (tenant.settings or {}):
            return
        settings = parse_settings({"enabled": True})
        tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: settings.as_dict()}
        await uow.commit()

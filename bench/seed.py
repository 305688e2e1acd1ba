"""Bulk-seed one tenant with a year of tickets, straight into the tables (a benchmark fixture, so it
bypasses the services): COPY through psycopg on PostgreSQL, executemany in large transactions on
SQLite. Then VACUUM ANALYZE (PostgreSQL) or ANALYZE (SQLite).

The rows look like a real service desk's history: created_at spread over the last year with a
working-hours rhythm, UUIDv7 ids made from created_at (``new_id_at``), numbers in creation order,
old tickets mostly closed and recent ones still open, customers who come back, teams and agents,
tags and custom fields on some. Tickets picked for the detail benchmark get a conversation and an
audit trail (messages and events)."""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Column, Table, text
from sqlalchemy.engine import make_url

from bench.harness import Tenant, db_kind
from huiliu.core.ids import new_id_at
from huiliu.db.registry import metadata

DAY = 86_400
YEAR_SECONDS = 365 * DAY
SQLITE_BATCH = 20_000
SQLITE_TRANSACTION = 200_000

TITLES = (
    "打印机卡纸",
    "退货退款申请",
    "发票开错了",
    "设备无法开机",
    "课程退费",
    "会员积分没到账",
    "订单一直未发货",
    "蛋糕定制修改",
    "信用卡申请进度",
    "扫码无法支付",
    "安装预约",
    "配件缺失",
    "投诉门店服务态度",
    "快递破损",
    "App 登录不上",
)
DESCRIPTIONS = (
    "门店3号收银台的小票打印机一直卡纸，已经重启过两次还是不行，影响营业，请尽快安排工程师上门。",
    "上周在旗舰店买的空气炸锅收到后外壳有裂纹，想申请退货退款，订单号 {order}，已拍照。",
    "开票抬头写错了，需要作废重开增值税专用发票，税号已核对，请帮忙处理。",
    "设备序列号 {sn} 今天早上突然无法开机，指示灯不亮，电源已经换过。",
    "孩子报名的编程课还剩 12 节没上，因为搬家想申请退费，请告知流程和到账时间。",
    "昨天消费 {amount} 元的积分到现在还没到账，会员手机号是本人，麻烦查一下。",
)
CATEGORIES = ("售后维修", "退换货", "发票", "账户", "物流", "投诉", "咨询", None)
SCENARIOS = ("presales", "sales", "aftersales", "aftersales", "complaint", None)
CHANNELS = ("wechat_mp", "wecom_app", "wecom_kf", "web", "email", "api", "mini_program")
TAGS = ("VIP", "加急", "回访", "重复来电", "门店12", "华南区", "质量问题", "需上门")
PRIORITIES = (("urgent", 0.03), ("high", 0.15), ("normal", 0.70), ("low", 0.12))
# Status by age: recent tickets are still being worked on; a month on, nearly all are done.
STATUS_RECENT = (
    ("new", 0.15),
    ("open", 0.35),
    ("pending", 0.15),
    ("on_hold", 0.05),
    ("resolved", 0.20),
    ("closed", 0.10),
)
STATUS_OLD = (
    ("new", 0.005),
    ("open", 0.02),
    ("pending", 0.01),
    ("on_hold", 0.01),
    ("resolved", 0.08),
    ("closed", 0.875),
)
RECENT_DAYS = 30


@dataclass
class SeedResult:
    tickets: int
    customers: int
    messages: int
    events: int
    detail_ids: list[uuid.UUID]
    seconds: dict[str, float] = field(default_factory=dict)
    database_bytes: int = 0

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _weighted(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    roll = rng.random()
    for value, weight in table:
        roll -= weight
        if roll < 0:
            return value
    return table[-1][0]


def _timestamps(rng: random.Random, count: int, end: datetime, span_seconds: int) -> list[datetime]:
    """``count`` sorted moments over ``span_seconds`` before ``end``, more of them in China's working
    hours (UTC+8, 09:00-21:00) than at night."""
    start = end.timestamp() - span_seconds
    moments = []
    for _ in range(count):
        while True:
            moment = start + rng.random() * span_seconds
            hour_cn = (moment / 3600 + 8) % 24
            if 9 <= hour_cn < 21 or rng.random() < 0.2:
                break
        moments.append(moment)
    moments.sort()
    return [datetime.fromtimestamp(m, UTC) for m in moments]


def _uuid7(moment: datetime) -> uuid.UUID:
    return new_id_at(int(moment.timestamp() * 1000))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _fill_defaults(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Columns the seeder does not know about (added later by others) get their model default."""
    for column in table.columns:
        if column.name in row:
            continue
        row[column.name] = _column_default(column)
    return row


def _column_default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        if not column.nullable and column.server_default is None:
            raise RuntimeError(f"seeder does not know how to fill {column.table.name}.{column.name}")
        return None
    if getattr(default, "is_callable", False):
        return default.arg(None)  # type: ignore[attr-defined]
    if getattr(default, "is_scalar", False):
        return default.arg  # type: ignore[attr-defined]
    return None


class Generator:
    """Builds the rows. Deterministic for a given seed, so two runs seed the same data."""

    def __init__(
        self,
        tenant: Tenant,
        tickets: int,
        *,
        detail_count: int,
        seed: int = 20261123,
        now: datetime | None = None,
    ) -> None:
        self.tenant = tenant
        self.ticket_count = tickets
        self.rng = random.Random(seed)
        self.now = now or datetime.now(UTC)
        self.customer_count = max(1, tickets // 3)
        self.detail_count = min(detail_count, tickets)
        self.customer_ids: list[uuid.UUID] = []
        self.detail_ids: list[uuid.UUID] = []
        self.detail_tickets: list[dict[str, Any]] = []
        self.agents_by_team = {
            team: [
                a
                for i, a in enumerate(tenant.agent_ids)
                if i * len(tenant.team_ids) // max(1, len(tenant.agent_ids)) == t
            ]
            or tenant.agent_ids
            for t, team in enumerate(tenant.team_ids)
        }

    def customers(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(customer, phone identity) pairs, first seen in the two years before the seeded year of tickets
        (so every ticket's customer already exists when the ticket is created)."""
        moments = _timestamps(self.rng, self.customer_count, self.now - timedelta(days=366), 2 * YEAR_SECONDS)
        for index, moment in enumerate(moments):
            customer_id = _uuid7(moment)
            self.customer_ids.append(customer_id)
            customer = {
                "id": customer_id,
                "tenant_id": self.tenant.id,
                "name": f"客户{index + 1}",
                "level": "vip" if self.rng.random() < 0.05 else "normal",
                "attributes": {},
                "merged_into_id": None,
                "created_at": moment,
                "updated_at": moment,
            }
            identity = {
                "id": _uuid7(moment),
                "tenant_id": self.tenant.id,
                "customer_id": customer_id,
                "kind": "phone",
                "value": f"138{index:08d}",
                "verified": self.rng.random() < 0.5,
                "created_at": moment,
            }
            yield customer, identity

    def tickets(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """(ticket, tag rows) in creation order."""
        rng = self.rng
        moments = _timestamps(rng, self.ticket_count, self.now - timedelta(minutes=1), YEAR_SECONDS)
        detail_every = max(1, self.ticket_count // max(1, self.detail_count))
        recent_from = self.now - timedelta(days=RECENT_DAYS)
        for index, created in enumerate(moments):
            status = _weighted(rng, STATUS_RECENT if created >= recent_from else STATUS_OLD)
            team_id = rng.choice(self.tenant.team_ids) if status != "new" or rng.random() < 0.5 else None
            assignee_id = rng.choice(self.agents_by_team[team_id]) if team_id and status != "new" else None
            tags = rng.sample(TAGS, rng.choice((1, 1, 2))) if rng.random() < 0.25 else []
            ticket_id = _uuid7(created)
            age = (self.now - created).total_seconds()
            first_response = (
                created + timedelta(seconds=min(age, rng.uniform(60, 4 * 3600))) if status != "new" else None
            )
            resolved = closed = None
            if status in {"resolved", "closed"}:
                resolved = created + timedelta(seconds=min(age, rng.uniform(3600, 5 * DAY)))
                if status == "closed":
                    closed = resolved + timedelta(seconds=min(age, rng.uniform(60, 3 * DAY)))
                    closed = min(closed, self.now)
            updated = max(m for m in (created, first_response, resolved, closed) if m is not None)
            order = f"SO{20250000 + index}"
            row = {
                "id": ticket_id,
                "tenant_id": self.tenant.id,
                "number": index + 1,
                "title": f"{rng.choice(TITLES)}（{order}）",
                "description": rng.choice(DESCRIPTIONS).format(
                    order=order, sn=f"SN{index:09d}", amount=rng.randint(20, 5000)
                ),
                "status": status,
                "priority": _weighted(rng, PRIORITIES),
                "category": rng.choice(CATEGORIES),
                "scenario": rng.choice(SCENARIOS),
                "channel": rng.choice(CHANNELS),
                "entry_point_id": None,
                "customer_id": self.customer_ids[rng.randrange(len(self.customer_ids))]
                if self.customer_ids
                else None,
                "team_id": team_id,
                "assignee_id": assignee_id,
                "tags": tags,
                "fields": {"order_no": order} if rng.random() < 0.3 else {},
                "parent_id": None,
                "merged_into_id": None,
                "created_at": created,
                "updated_at": updated,
                "first_response_at": first_response,
                "resolved_at": resolved,
                "closed_at": closed,
                "reopened_at": None,
                "reopen_count": 0,
                "last_message_at": updated if first_response else None,
            }
            if index % detail_every == 0 and len(self.detail_ids) < self.detail_count:
                self.detail_ids.append(ticket_id)
                self.detail_tickets.append(row)
            tag_rows = [{"tenant_id": self.tenant.id, "ticket_id": ticket_id, "tag": tag} for tag in tags]
            yield row, tag_rows

    def conversation(self, ticket: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Messages and audit events for one detail-benchmarked ticket, after its creation."""
        rng = self.rng
        created: datetime = ticket["created_at"]
        span = max(60.0, (ticket["updated_at"] - created).total_seconds())
        tenant_id = self.tenant.id
        messages, events = [], []
        agent = ticket["assignee_id"] or self.tenant.admin_id
        events.append(self._event(ticket, created, "ticket.created", {"status": {"from": None, "to": "new"}}))
        for i in range(rng.randint(3, 6)):
            moment = created + timedelta(seconds=span * (i + 1) / 7)
            customer_turn = i % 2 == 0
            public = customer_turn or rng.random() < 0.8
            messages.append(
                {
                    "id": _uuid7(moment),
                    "tenant_id": tenant_id,
                    "ticket_id": ticket["id"],
                    "author_kind": "customer" if customer_turn else "agent",
                    "author_user_id": None if customer_turn else agent,
                    "author_customer_id": ticket["customer_id"] if customer_turn else None,
                    "public": public,
                    "channel": ticket["channel"] if public else "internal",
                    "body": "请问现在处理到哪一步了？"
                    if customer_turn
                    else "您好，工程师已经安排，预计明天上午上门。",
                    "external_id": None,
                    "delivery_state": None if customer_turn else "delivered",
                    "created_at": moment,
                }
            )
        if ticket["team_id"]:
            events.append(
                self._event(
                    ticket,
                    created + timedelta(seconds=span / 10),
                    "ticket.assigned",
                    {"team_id": {"from": None, "to": str(ticket["team_id"])}},
                )
            )
        if ticket["status"] != "new":
            events.append(
                self._event(
                    ticket,
                    created + timedelta(seconds=span / 5),
                    "ticket.status_changed",
                    {"status": {"from": "new", "to": "open"}},
                )
            )
        if ticket["status"] in {"resolved", "closed"}:
            events.append(
                self._event(
                    ticket,
                    ticket["updated_at"],
                    "ticket.status_changed",
                    {"status": {"from": "open", "to": ticket["status"]}},
                )
            )
        return messages, events

    def _event(
        self, ticket: dict[str, Any], moment: datetime, kind: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": _uuid7(moment),
            "tenant_id": self.tenant.id,
            "ticket_id": ticket["id"],
            "type": kind,
            "actor_kind": "user",
            "actor_id": ticket["assignee_id"] or self.tenant.admin_id,
            "actor_name": "客服",
            "changes": changes,
            "reason": None,
            "created_at": moment,
        }


# --- writers ------------------------------------------------------------------------------------------


class _PostgresWriter:
    def __init__(self, url: str) -> None:
        import psycopg

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(conninfo)

    def write(self, table: Table, rows: Iterable[dict[str, Any]], advance: Callable[[int], None]) -> int:
        names = [c.name for c in table.columns]
        count = 0
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                _fill_defaults(table, row)
                copy.write_row(
                    [_json(v) if isinstance(v, dict | list) else v for v in (row[n] for n in names)]
                )
                count += 1
                if count % 10_000 == 0:
                    advance(10_000)
        advance(count % 10_000)
        self.conn.commit()
        return count

    def finish(self, tenant: Tenant, tickets: int) -> int:
        from huiliu.tickets.service import ticket_sequence_name

        with self.conn.cursor() as cur:
            cur.execute(f"SELECT setval('{ticket_sequence_name(tenant.id)}', %s)", (max(1, tickets),))
        self.conn.commit()
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()
        self.conn.close()
        return int(size[0]) if size else 0


class _SqliteWriter:
    def __init__(self, url: str) -> None:
        from huiliu.db.engine import make_sync_engine

        self.path = Path(make_url(url).database or "")
        self.engine = make_sync_engine(url)
        self.conn = self.engine.connect()

    def write(self, table: Table, rows: Iterable[dict[str, Any]], advance: Callable[[int], None]) -> int:
        count, batch, in_transaction = 0, [], 0
        transaction = self.conn.begin()
        for row in rows:
            batch.append(_fill_defaults(table, row))
            if len(batch) >= SQLITE_BATCH:
                self.conn.execute(table.insert(), batch)
                count += len(batch)
                in_transaction += len(batch)
                advance(len(batch))
                batch = []
                if in_transaction >= SQLITE_TRANSACTION:
                    transaction.commit()
                    transaction = self.conn.begin()
                    in_transaction = 0
        if batch:
            self.conn.execute(table.insert(), batch)
            count += len(batch)
            advance(len(batch))
        transaction.commit()
        return count

    def finish(self, tenant: Tenant, tickets: int) -> int:
        with self.conn.begin():
            self.conn.execute(
                text("UPDATE ticket_counters SET last_number = :n WHERE tenant_id = :t"),
                {"n": tickets, "t": tenant.id.hex},
            )
        self.conn.execute(text("ANALYZE"))
        self.conn.commit()
        self.conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()
        self.engine.dispose()
        return self.path.stat().st_size if self.path.exists() else 0


def seed(
    url: str, tenant: Tenant, tickets: int, *, detail_count: int = 1000, quiet: bool = False
) -> SeedResult:
    """Seed ``tickets`` tickets (plus customers, tags, and conversations for ``detail_count`` of them)."""
    generator = Generator(tenant, tickets, detail_count=detail_count)
    writer: _PostgresWriter | _SqliteWriter = (
        _PostgresWriter(url) if db_kind(url) == "postgres" else _SqliteWriter(url)
    )
    tables = metadata.tables
    seconds: dict[str, float] = {}
    identities: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=quiet, transient=False) as progress:

        def phase(name: str, total: int, table: str, rows: Iterable[dict[str, Any]]) -> int:
            task = progress.add_task(f"{name} ({db_kind(url)})", total=total)
            started = time.perf_counter()
            written = writer.write(tables[table], rows, lambda n: progress.advance(task, n))
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
            return written

        def split_customers() -> Iterator[dict[str, Any]]:
            for customer, identity in generator.customers():
                identities.append(identity)
                yield customer

        def split_tickets() -> Iterator[dict[str, Any]]:
            for ticket, tags in generator.tickets():
                tag_rows.extend(tags)
                yield ticket

        customers = phase("customers", generator.customer_count, "customers", split_customers())
        phase("identities", len(identities), "customer_identities", identities)
        phase("tickets", tickets, "tickets", split_tickets())
        phase("ticket tags", len(tag_rows), "ticket_tags", tag_rows)
        messages, events = [], []
        for ticket in generator.detail_tickets:
            ticket_messages, ticket_events = generator.conversation(ticket)
            messages.extend(ticket_messages)
            events.extend(ticket_events)
        phase("messages", len(messages), "messages", messages)
        phase("events", len(events), "ticket_events", events)
        task = progress.add_task("VACUUM/ANALYZE", total=1)
        started = time.perf_counter()
        size = writer.finish(tenant, tickets)
        seconds["vacuum/analyze"] = time.perf_counter() - started
        progress.advance(task)
    return SeedResult(
        tickets=tickets,
        customers=customers,
        messages=len(messages),
        events=len(events),
        detail_ids=generator.detail_ids,
        seconds=seconds,
        database_bytes=size,
    )


def estimate_open_tickets(tickets: int) -> int:
    """Expected number of ``open`` tickets for a seed of this size (used to pick a deep page)."""
    recent = RECENT_DAYS / 365
    share = recent * dict(STATUS_RECENT)["open"] + (1 - recent) * dict(STATUS_OLD)["open"]
    return math.floor(tickets * share)

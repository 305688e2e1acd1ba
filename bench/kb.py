"""Knowledge-base search at scale: seed N articles (default 10,000) generated from the classifier
dataset's customer messages and answer templates, then time the search the API runs (tokenise the
query with jieba (rjieba), full-text match, rank, load the page of articles) for questions taken from the
dataset, on PostgreSQL (GIN over ``to_tsvector('simple', …)``, ``ts_rank``) and SQLite (FTS5,
``bm25``); also a ticket's recommendations and similar open tickets (over ``--tickets`` open tickets).

    python -m bench.kb
    python -m bench.kb --articles 10000 --append     (appends to docs/benchmarks.md)

Queries run in-process through the same async session the API uses (no HTTP), one at a time; the
articles are inserted in batches with their token strings computed by ``kb.domain`` as the service
does, then the tenant's token counts are rebuilt (``kb.search.recount_terms``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from sqlalchemy import insert, text

from bench.harness import DEFAULT_PG_SERVER, machine_description, scratch_settings, temp_database
from bench.results import Report, append_results
from huiliu.auth.domain import system_actor
from huiliu.core.clock import utcnow
from huiliu.core.ids import new_id
from huiliu.intelligence.dataset import load_dataset
from huiliu.intelligence.similar import similar_tickets
from huiliu.kb import domain, queries, search
from huiliu.kb.models import KbArticle
from huiliu.runtime import Runtime
from huiliu.tenancy.service import provision_tenant
from huiliu.tickets import service as tickets
from huiliu.tickets.schemas import TicketCreate

SEED = 20261130
BATCH = 500
ANSWERS = [
    "您好，关于「{q}」的问题，请按以下步骤处理：先在订单详情页确认状态，再联系客服提交凭证。",
    "遇到「{q}」时，可以先检查设备设置和网络；仍无法解决请预约上门服务，工程师会在 24 小时内联系您。",
    "「{q}」一般在 1-3 个工作日内处理完毕，退款原路返回；如有疑问请提供订单号。",
    "针对「{q}」，我们的规则是：7 天无理由退换，质量问题 15 天包换，运费由商家承担。",
]


def _ms(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


def _articles(count: int, messages: list[str], tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    now = utcnow()
    rows = []
    for number in range(count):
        question = messages[number % len(messages)]
        related = rng.sample(messages, 3)
        title = question[:60] if number < len(messages) else f"{question[:50]}（{number}）"
        body_text = "\n".join([rng.choice(ANSWERS).format(q=question[:40]), *related])
        tags = [rng.choice(["售后", "物流", "退款", "发票", "会员", "维修", "预约", "投诉"])]
        rows.append(
            {
                "id": new_id(),
                "tenant_id": tenant_id,
                "title": title,
                "body": "".join(f"<p>{line}</p>" for line in body_text.split("\n")),
                "body_text": body_text,
                "tags": tags,
                "attachment_ids": [],
                "visibility": "public" if number % 3 else "internal",
                "status": "published" if number % 10 else "draft",
                "author_name": "bench",
                "version": 1,
                "helpful_count": 0,
                "not_helpful_count": 0,
                "search_tokens": domain.index_tokens(title, body_text, tags),
                "published_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def _seed_articles(runtime: Runtime, tenant_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    async with runtime.db.uow(tenant_id) as uow:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            await uow.session.execute(insert(KbArticle), chunk)
            if uow.dialect == "sqlite":
                await uow.session.execute(
                    insert(search.FTS_TABLE),
                    [{"article_id": row["id"].hex, "tokens": row["search_tokens"]} for row in chunk],
                )
        await search.recount_terms(uow.session, tenant_id)
        await uow.session.commit()
    async with runtime.db.session(None, system=True) as session:
        await session.execute(text("ANALYZE"))
        await session.commit()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process on this machine (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


async def _server_cpu(runtime: Runtime) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the benchmark's database."""
    async with runtime.db.session(None, system=True) as session:
        pids = (
            await session.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        ).scalars()
        return {pid: _process_cpu(pid) for pid in pids}


async def _time(
    call: Callable[[], Awaitable[Any]], repeat: int, runtime: Runtime | None = None
) -> tuple[list[float], list[float], float | None]:
    """Wall time and this process's CPU time (all its threads: SQLite runs in aiosqlite's thread, so
    on SQLite this is the whole cost; on PostgreSQL the server's share is not in it) per call, and
    with ``runtime`` given the mean CPU time per call of the PostgreSQL backends serving it."""
    await call()  # warm the statement caches
    before = await _server_cpu(runtime) if runtime else {}
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        await call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    if runtime is None:
        return wall, cpu, None
    after = await _server_cpu(runtime)
    server = sum(after.get(pid, _process_cpu(pid)) - spent for pid, spent in before.items())
    server += sum(spent for pid, spent in after.items() if pid not in before)
    return wall, cpu, server / repeat


async def _run(kind: str, articles: int, ticket_count: int, repeat: int) -> tuple[list[list[str]], str]:
    dataset = load_dataset()
    messages = [example.text for example in dataset]
    rng = random.Random(SEED + 1)
    questions = rng.sample(messages, repeat)
    with temp_database(kind) as url, scratch_settings(url) as settings:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            tenant = await provision_tenant(runtime.db, f"bench-kb-{uuid.uuid4().hex[:6]}", "知识库基准")
            actor = system_actor(tenant.id)
            started = time.perf_counter()
            rows = _articles(articles, messages, tenant.id)
            tokenise_s = time.perf_counter() - started
            started = time.perf_counter()
            await _seed_articles(runtime, tenant.id, rows)
            insert_s = time.perf_counter() - started
            created = []
            for text_ in rng.sample(messages, ticket_count):
                async with runtime.db.uow(tenant.id) as uow:
                    created.append(
                        await tickets.create_ticket(
                            uow, actor, TicketCreate(title=text_[:80], description=text_)
                        )
                    )
            ticket_ids = [uuid.UUID(str(item["id"])) for item in created]

            question_iter = iter(questions * 2)
            ticket_iter = iter(ticket_ids * (repeat // max(1, len(ticket_ids)) + 2))

            async def console_search() -> None:
                async with runtime.db.read(tenant.id) as session:
                    await queries.find_articles(
                        session,
                        queries.visible_to(actor),
                        text=next(question_iter),
                        category_id=None,
                        limit=20,
                    )

            async def public_search() -> None:
                async with runtime.db.read(tenant.id) as session:
                    await queries.find_articles(
                        session,
                        list(queries.PUBLIC_FILTER),
                        text=next(question_iter),
                        category_id=None,
                        limit=20,
                    )

            async def recommend() -> None:
                async with runtime.db.read(tenant.id) as session:
                    await queries.suggestions(session, actor, next(ticket_iter))

            async def similar() -> None:
                async with runtime.db.read(tenant.id) as session:
                    await similar_tickets(session, actor, next(ticket_iter))

            table = []
            for name, call in (
                ("console search (20 best)", console_search),
                ("public search (20 best)", public_search),
                ("ticket recommendations (top 3)", recommend),
                (f"similar open tickets ({ticket_count} candidates)", similar),
            ):
                question_iter = iter(questions * 2)
                wall, cpu, server = await _time(call, repeat, runtime if kind == "postgres" else None)
                p50, p95, worst = _ms(wall)
                cpu50, cpu95, _ = _ms(cpu)
                server_ms = "" if server is None else f"{server * 1000:.1f}"
                table.append(
                    [
                        kind,
                        name,
                        f"{p50:.1f}",
                        f"{p95:.1f}",
                        f"{worst:.1f}",
                        f"{cpu50:.1f}",
                        f"{cpu95:.1f}",
                        server_ms,
                    ]
                )
            table.append([kind, f"seed: tokenise {articles} articles", f"{tokenise_s:.1f} s", *[""] * 5])
            table.append([kind, f"seed: insert {articles} articles", f"{insert_s:.1f} s", *[""] * 5])
            right = 0
            async with runtime.db.read(tenant.id) as session:
                for question in questions:
                    found = await queries.find_articles(
                        session, queries.visible_to(actor), text=question, category_id=None, limit=1
                    )
                    right += bool(found) and found[0][0].title.startswith(question[:50])
            relevance = (
                f"{kind}: the article made from the question comes first for {right} of {len(questions)} "
                "console searches"
            )
            return table, relevance
        finally:
            await runtime.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb", description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=500, help="open tickets for similar-ticket detection")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--append", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args()
    started = time.perf_counter()
    domain.warm_up()
    load_s = time.perf_counter() - started
    report = Report(
        title=f"Knowledge-base search, {args.articles} articles ({args.repeat} queries each, ms)",
        columns=["db", "scenario", "p50", "p95", "max", "CPU p50", "CPU p95", "PostgreSQL CPU mean"],
        notes=[f"tokeniser dictionary load (rjieba, once per process, off the request path): {load_s:.2f} s"],
    )
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    for kind in kinds:
        rows, relevance = asyncio.run(_run(kind, args.articles, args.tickets, args.repeat))
        report.rows += rows
        report.notes.append(relevance)
    load = os.getloadavg()
    report.notes.append(
        f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores "
        "(other work on the machine); wall times include the time other processes held the cores, "
        "CPU columns are this process's own CPU time per call; PostgreSQL CPU is the mean CPU time per call "
        "of the server processes connected to the benchmark's database (/proc, 10 ms ticks summed over "
        "all calls)"
    )
    console = Console()
    report.print(console)
    if args.append:
        machine = machine_description(DEFAULT_PG_SERVER)
        path = append_results([report], machine, command=" ".join(["python -m bench.kb", *sys.argv[1:]]))
        console.print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

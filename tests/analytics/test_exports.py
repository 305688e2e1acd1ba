"""Ticket and series exports: CSV and XLSX with the list's filters, limited to the caller's scope,
formula cells neutralised, 4xx on bad input, tenants kept apart."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import openpyxl
import pytest

from huiliu.analytics import rollups
from huiliu.core import clock
from huiliu.runtime import Runtime
from tests.factories import make_member, make_team, make_tenant, make_ticket

EXPORTS = "/api/v1/analytics/exports"
CREATED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 Asia/Shanghai


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def desk(runtime: Runtime):  # type: ignore[no-untyped-def]
    tenant = await make_tenant(runtime)
    team_a = await make_team(runtime, tenant, "售后组")
    team_b = await make_team(runtime, tenant, "售前组")
    admin = await make_member(runtime, tenant, "admin", name="管理员")
    agent = await make_member(runtime, tenant, "agent", team=team_a, name="客服小李")
    with clock.at(CREATED):
        await make_ticket(runtime, admin, title="打印机卡纸", team_id=team_a.id, assignee_id=agent.user.id)
    with clock.at(CREATED + timedelta(hours=1)):
        await make_ticket(
            runtime, admin, title='=HYPERLINK("http://evil")', team_id=team_b.id, priority="high"
        )
    with clock.at(CREATED + timedelta(days=1)):
        await make_ticket(runtime, admin, title="退款进度", team_id=team_a.id, tags=["退款"])
    return tenant, admin, agent


async def test_ticket_csv_has_every_visible_ticket_newest_first(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, admin, agent = await desk(runtime)
    response = await client.get(f"{EXPORTS}/tickets.csv", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response)
    assert rows[0][:4] == ["工单号", "标题", "状态", "优先级"]
    titles = [row[1] for row in rows[1:]]
    assert titles == ["退款进度", '\'=HYPERLINK("http://evil")', "打印机卡纸"]
    first = rows[3]
    assert first[7:9] == ["售后组", "客服小李"]
    assert first[10] == "2026-11-02 10:00:00"  # Asia/Shanghai

    # The agent's team scope: team A only.
    scoped = read_csv(await client.get(f"{EXPORTS}/tickets.csv", headers=agent.headers))
    assert sorted(row[1] for row in scoped[1:]) == ["打印机卡纸", "退款进度"]

    # The list's filters, and English headers.
    high = read_csv(await client.get(f"{EXPORTS}/tickets.csv?priority=high&locale=en", headers=admin.headers))
    assert high[0][0] == "Number" and len(high) == 2
    tagged = read_csv(await client.get(f"{EXPORTS}/tickets.csv?tag=退款", headers=admin.headers))
    assert [row[1] for row in tagged[1:]] == ["退款进度"]
    oldest = read_csv(await client.get(f"{EXPORTS}/tickets.csv?sort=created_at", headers=admin.headers))
    assert oldest[1][1] == "打印机卡纸"


async def test_ticket_xlsx_opens_with_the_same_rows(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, admin, _ = await desk(runtime)
    response = await client.get(f"{EXPORTS}/tickets.xlsx", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "工单号"
    assert [row[1] for row in rows[1:]] == ["退款进度", '\'=HYPERLINK("http://evil")', "打印机卡纸"]


async def test_ticket_exports_keep_the_category_key_and_add_its_taxonomy_name(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    # A taxonomy key, a key the taxonomy lacks (an imported word, decision 0054) and none.
    for offset, (title, category) in enumerate(
        [("退货申请", "refund_return"), ("旧系统导入", "旧分类"), ("没有分类", None)]
    ):
        with clock.at(CREATED + timedelta(hours=offset)):
            await make_ticket(runtime, admin, title=title, category=category)

    rows = read_csv(await client.get(f"{EXPORTS}/tickets.csv?sort=created_at", headers=admin.headers))
    header = rows[0]
    assert header[4] == "分类" and header[-1] == "分类名称" and len(header) == 14
    assert [(row[1], row[4], row[-1]) for row in rows[1:]] == [
        ("退货申请", "refund_return", "退换货"),
        ("旧系统导入", "旧分类", ""),
        ("没有分类", "", ""),
    ]

    english = read_csv(
        await client.get(f"{EXPORTS}/tickets.csv?sort=created_at&locale=en", headers=admin.headers)
    )
    assert english[0][4] == "Category" and english[0][-1] == "Category name"
    assert [(row[4], row[-1]) for row in english[1:2]] == [("refund_return", "Refund / return")]

    # The tenant's own taxonomy names, in the XLSX too.
    settings = (await client.get("/api/v1/intelligence/settings", headers=admin.headers)).json()
    settings["categories"] = [{"key": "refund_return", "names": {"zh-CN": "退款退货", "en": "Refunds"}}]
    response = await client.put("/api/v1/intelligence/settings", json=settings, headers=admin.headers)
    assert response.status_code == 200, response.text
    xlsx = await client.get(f"{EXPORTS}/tickets.xlsx?sort=created_at&locale=en", headers=admin.headers)
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheet = list(workbook.active.iter_rows(values_only=True))
    assert sheet[0][-1] == "Category name"
    assert [(row[4], row[-1]) for row in sheet[1:3]] == [("refund_return", "Refunds"), ("旧分类", None)]


async def test_other_tenants_tickets_never_appear(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await desk(runtime)
    other = await make_tenant(runtime)
    stranger = await make_member(runtime, other, "admin")
    rows = read_csv(await client.get(f"{EXPORTS}/tickets.csv", headers=stranger.headers))
    assert rows == [rows[0]]


async def test_series_export_counts_tickets_per_local_day(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant, admin, agent = await desk(runtime)
    await rollups.refresh(runtime.db, tenant.id, settle=timedelta(0))
    params = {
        "metric": "volume,resolved",
        "start": "2026-11-01T16:00:00Z",
        "end": "2026-11-04T16:00:00Z",
        "granularity": "day",
    }
    response = await client.get(f"{EXPORTS}/series.csv", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    rows = read_csv(response)
    assert rows[0] == ["时间段开始", "指标", "数值", "工单数"]
    volume = [row for row in rows[1:] if row[1] == "volume"]
    assert [(row[0], row[3]) for row in volume] == [
        ("2026-11-02 00:00:00", "2"),
        ("2026-11-03 00:00:00", "1"),
        ("2026-11-04 00:00:00", "0"),
    ]
    assert len([row for row in rows[1:] if row[1] == "resolved"]) == 3

    xlsx = await client.get(
        f"{EXPORTS}/series.xlsx", params=params | {"team_ids": "not-a-uuid"}, headers=admin.headers
    )
    assert xlsx.status_code == 422
    xlsx = await client.get(f"{EXPORTS}/series.xlsx", params=params, headers=admin.headers)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 7
    # Another tenant's admin sees zero tickets in the same buckets.
    stranger = await make_member(runtime, await make_tenant(runtime), "admin")
    theirs = read_csv(await client.get(f"{EXPORTS}/series.csv", params=params, headers=stranger.headers))
    assert {row[3] for row in theirs[1:]} == {"0"}
    # An agent has no analytics.read.
    denied = await client.get(f"{EXPORTS}/series.csv", params=params, headers=agent.headers)
    assert denied.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "tickets.csv?status=lost",
        "tickets.csv?priority=asap",
        "tickets.csv?sort=title",
        "tickets.csv?assignee_id=someone",
        "tickets.xlsx?team_id=42",
        "tickets.csv?locale=fr",
        "series.csv?metric=happiness",
        "series.csv",
        "series.csv?metric=volume&start=2026-11-05T00:00:00Z&end=2026-11-01T00:00:00Z",
        "series.csv?metric=volume&granularity=hour&start=2026-01-01T00:00:00Z&end=2026-11-01T00:00:00Z",
        "series.xlsx?metric=volume&channels=" + ",".join(f"c{i}" for i in range(60)),
        "series.csv?metric=volume&start=2026-11-01T00:00:00",
    ],
)
async def test_bad_parameters_are_refused_before_anything_streams(
    runtime: Runtime, client: httpx.AsyncClient, path: str
) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    response = await client.get(f"{EXPORTS}/{path}", headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_exports_need_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    for path in ("tickets.csv", "tickets.xlsx", "series.csv?metric=volume", "series.xlsx?metric=volume"):
        assert (await client.get(f"{EXPORTS}/{path}")).status_code == 401

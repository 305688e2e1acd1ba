"""POST /api/v1/sla/preview: deadlines on a calendar given in the request, and a 422 problem for
every kind of bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Member

URL = "/api/v1/sla/preview"
OFFICE_HOURS = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def body(**changes: Any) -> dict[str, Any]:
    calendar: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "hours": OFFICE_HOURS,
        "holidays": [],
        "workdays": [],
        "cn_statutory": True,
    }
    calendar.update(changes.pop("calendar", {}))
    payload: dict[str, Any] = {"calendar": calendar, "start": "2026-09-30T17:00:00+08:00", "minutes": 240}
    payload.update(changes)
    return payload


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


async def test_national_day_deadline(client: httpx.AsyncClient, agent: Member) -> None:
    # Wed Sep 30 17-18 is 60; Oct 1-7 are off; Thu Oct 8 09-12 is 180: due 12:00 Shanghai, 04:00 UTC.
    response = await client.post(URL, headers=agent.headers, json=body())
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["due_at"] == "2026-10-08T04:00:00Z"
    assert reply["due_at_local"] == "2026-10-08T12:00:00+08:00"
    assert reply["clock_starts_at"] == "2026-09-30T09:00:00Z"
    assert reply["business_minutes"] == 240
    assert reply["calendar_coverage"] == "cn_statutory"
    assert reply["weekly_only_years"] == []
    assert reply["warnings"] == []


async def test_explicit_holidays_and_workdays(client: httpx.AsyncClient, agent: Member) -> None:
    # Without statutory data, Oct 1 (Thu) is declared closed and Sun Oct 4 open: Sep 30 17-18 (60),
    # Oct 2 09-12 (180) -> Oct 2 12:00.
    payload = body(calendar={"cn_statutory": False, "holidays": ["2026-10-01"], "workdays": ["2026-10-04"]})
    reply = (await client.post(URL, headers=agent.headers, json=payload)).json()
    assert reply["due_at"] == "2026-10-02T04:00:00Z"
    assert reply["calendar_coverage"] == "weekly"
    # Starting Sat Oct 3 10:00 the declared Sunday counts: Oct 4 09:00 + 240 -> 14:00 (lunch skipped).
    payload["start"] = "2026-10-03T10:00:00+08:00"
    reply = (await client.post(URL, headers=agent.headers, json=payload)).json()
    assert reply["due_at"] == "2026-10-04T06:00:00Z"


async def test_years_without_statutory_data_are_flagged(client: httpx.AsyncClient, agent: Member) -> None:
    payload = body(start="2026-12-31T17:00:00+08:00", minutes=600)
    reply = (await client.post(URL, headers=agent.headers, json=payload)).json()
    # Thu Dec 31 17-18 (60), Fri Jan 1 2027 as a plain Friday (480), Mon Jan 4 09-10 (60).
    assert reply["due_at"] == "2027-01-04T02:00:00Z"
    assert reply["calendar_coverage"] == "partial"
    assert reply["weekly_only_years"] == [2027]
    assert reply["warnings"][0]["code"] == "cn_statutory_not_covered"
    assert reply["warnings"][0]["year"] == 2027


async def test_defaults_and_other_time_zones(client: httpx.AsyncClient, agent: Member) -> None:
    # Only start and minutes: Asia/Shanghai, Mon-Fri 09-12/13-18. Fri Nov 27 19:30 -> Mon 10:00.
    payload = {"start": "2026-11-27T11:30:00Z", "minutes": 60}
    reply = (await client.post(URL, headers=agent.headers, json=payload)).json()
    assert reply["due_at"] == "2026-11-30T02:00:00Z"
    assert reply["timezone"] == "Asia/Shanghai"
    # Berlin, Mon-Fri 09-17, across the spring DST change: Fri Mar 27 16:00 CET + 120 -> Mon 10:00 CEST.
    berlin = {
        "calendar": {"timezone": "Europe/Berlin", "hours": {d: [["09:00", "17:00"]] for d in ("mon", "fri")}},
        "start": "2026-03-27T16:00:00+01:00",
        "minutes": 120,
    }
    reply = (await client.post(URL, headers=agent.headers, json=berlin)).json()
    assert reply["due_at"] == "2026-03-30T08:00:00Z"
    assert reply["due_at_local"] == "2026-03-30T10:00:00+02:00"


async def test_exactly_the_rest_of_a_period_lands_on_its_closing_instant(
    client: httpx.AsyncClient, agent: Member
) -> None:
    payload = body(start="2026-11-23T11:00:00+08:00", minutes=60)
    reply = (await client.post(URL, headers=agent.headers, json=payload)).json()
    assert reply["due_at"] == "2026-11-23T04:00:00Z"  # 12:00 Shanghai, not 13:00


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"calendar": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"calendar": {"timezone": "../../etc/passwd"}}, "unknown time zone"),
        ({"calendar": {"hours": {"mon": [["18:00", "09:00"]]}}}, "must end after it starts"),
        ({"calendar": {"hours": {"mon": [["09:00", "12:00"], ["11:30", "13:00"]]}}}, "overlap"),
        ({"calendar": {"hours": {"mon": [["9am", "12:00"]]}}}, "HH:MM"),
        ({"calendar": {"hours": {"mon": [["09:00", "25:00"]]}}}, "HH:MM"),
        ({"calendar": {"hours": {"mon": [["09:00", "12:00", "13:00"]]}}}, None),
        ({"calendar": {"hours": {"funday": [["09:00", "12:00"]]}}}, "unknown weekday"),
        ({"calendar": {"hours": {}}}, "no working time"),
        ({"calendar": {"holidays": ["2026-10-08"], "workdays": ["2026-10-08"]}}, "both"),
        ({"calendar": {"holidays": ["2026-13-01"]}}, None),
        ({"calendar": {"colour": "red"}}, None),
        ({"start": "2026-09-30T17:00:00"}, "timezone"),
        ({"start": "next tuesday"}, None),
        ({"minutes": -1}, None),
        ({"minutes": 99_999_999}, None),
        ({"minutes": "soon"}, None),
    ],
)
async def test_bad_input_is_a_422_problem(
    client: httpx.AsyncClient, agent: Member, changes: dict[str, Any], fragment: str | None
) -> None:
    problem = assert_problem(await client.post(URL, headers=agent.headers, json=body(**changes)), 422)
    if fragment is not None:
        assert fragment in problem["errors"][0]["msg"], problem


async def test_a_deadline_beyond_the_horizon_is_a_422(client: httpx.AsyncClient, agent: Member) -> None:
    payload = body(
        calendar={"cn_statutory": False, "hours": {"mon": [["09:00", "09:01"]]}}, minutes=5_000_000
    )
    problem = assert_problem(await client.post(URL, headers=agent.headers, json=payload), 422)
    assert "years away" in problem["detail"]


async def test_preview_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(URL, json=body()), 401)


async def test_errors_point_at_the_field(client: httpx.AsyncClient, agent: Member) -> None:
    bad_zone = await client.post(URL, headers=agent.headers, json=body(calendar={"timezone": "Mars/Olympus"}))
    assert assert_problem(bad_zone, 422)["errors"][0]["loc"] == ["body", "calendar", "timezone"]
    too_many = {"mon": [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(13)]}
    bad_hours = await client.post(URL, headers=agent.headers, json=body(calendar={"hours": too_many}))
    assert assert_problem(bad_hours, 422)["errors"][0]["loc"][:3] == ["body", "calendar", "hours"]

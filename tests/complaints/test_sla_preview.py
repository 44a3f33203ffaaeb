"""The SLA preview: exact due times across the 2026 National Day week and its make-up days, from the shipped
calendar, computed the way intake computes them; a year without calendar data comes with its warning.

The shipped file (services/complaints/data/cn-public-holidays-2026.json) says: 国庆节 days off 1–7 October
(Thursday to Wednesday), make-up workdays Sunday 20 September and Saturday 10 October; 中秋节 25–27 September.
Working hours 09:00–18:00 Beijing, 540 minutes a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.clock import FrozenClock
from tests.complaints.helpers import SUPERVISOR, VIEWER, make_app, open_complaint, parse_time, register_account
from tests.support import running

BEIJING = timezone(timedelta(hours=8))
# key × high on business hours: first response 8 h (480 min), updates every 16 h (960), resolution 24 h (1440).
BUSINESS_KEY_HIGH = {
    "first_response_minutes": 8 * 60,
    "update_interval_minutes": 16 * 60,
    "resolution_minutes": 24 * 60,
    "hours_mode": "business",
    "warning_ratio": "0.75",
}


def bj(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BEIJING)


def times(preview: dict[str, Any]) -> dict[str, datetime | None]:
    """The preview's six times as instants."""
    out: dict[str, datetime | None] = {}
    for timer in ("first_response", "customer_update", "resolution"):
        for what in ("due_at", "warning_at"):
            value = preview[timer][what]
            out[f"{timer}.{what}"] = parse_time(value) if value else None
    return out


CASES = [
    pytest.param(
        # Wednesday 30 September 15:00 Beijing, sent as 02:00 at -05:00.
        "2026-09-30T02:00:00-05:00",
        {
            # 180 minutes on Wednesday; 1–7 October off; Thursday 8 October 09:00 + 300 = 14:00.
            "first_response.due_at": bj(2026, 10, 8, 14),
            # 75 % = 360: 180 on Wednesday, 09:00 + 180 on 8 October.
            "first_response.warning_at": bj(2026, 10, 8, 12),
            # 960: 180 on Wednesday, 540 on 8 October, Friday 9 October 09:00 + 240.
            "customer_update.due_at": bj(2026, 10, 9, 13),
            # 75 % = 720: 180 on Wednesday, 540 on 8 October: its close.
            "customer_update.warning_at": bj(2026, 10, 8, 18),
            # 1440: 180 + 540 (8 Oct) + 540 (9 Oct), then the make-up Saturday 10 October 09:00 + 180 = 12:00.
            "resolution.due_at": bj(2026, 10, 10, 12),
            # 1080: 180 + 540, Friday 9 October 09:00 + 360 = 15:00.
            "resolution.warning_at": bj(2026, 10, 9, 15),
        },
        id="national-day-week-and-make-up-saturday",
    ),
    pytest.param(
        # Saturday 3 October 10:00 Beijing, inside the holiday (sent in UTC): nothing runs before 8 October.
        "2026-10-03T02:00:00Z",
        {
            "first_response.due_at": bj(2026, 10, 8, 17),
            "first_response.warning_at": bj(2026, 10, 8, 15),
            # 960: 540 on 8 October, 09:00 + 420 on 9 October.
            "customer_update.due_at": bj(2026, 10, 9, 16),
            # 75 % = 720: 540 on 8 October, 09:00 + 180 on 9 October.
            "customer_update.warning_at": bj(2026, 10, 9, 12),
            # 1440: 540 + 540, then 360 on the make-up Saturday: 15:00.
            "resolution.due_at": bj(2026, 10, 10, 15),
            # 1080: exactly the close of Friday 9 October.
            "resolution.warning_at": bj(2026, 10, 9, 18),
        },
        id="received-during-the-holiday",
    ),
    pytest.param(
        # Friday 18 September 17:00 Beijing, sent at +05:30 (14:30): Saturday is off, Sunday 20 September works.
        "2026-09-18T14:30:00+05:30",
        {
            # 60 on Friday, then the make-up Sunday 09:00 + 420 = 16:00.
            "first_response.due_at": bj(2026, 9, 20, 16),
            "first_response.warning_at": bj(2026, 9, 20, 14),
            # 960: 60 + 540 (Sunday), Monday 21 September 09:00 + 360.
            "customer_update.due_at": bj(2026, 9, 21, 15),
            # 75 % = 720: 60 + 540 (Sunday), Monday 09:00 + 120.
            "customer_update.warning_at": bj(2026, 9, 21, 11),
            # 1440: 60 + 540 + 540 (Monday), Tuesday 22 September 09:00 + 300 = 14:00.
            "resolution.due_at": bj(2026, 9, 22, 14),
            # 1080: 60 + 540, Monday 09:00 + 480 = 17:00.
            "resolution.warning_at": bj(2026, 9, 21, 17),
        },
        id="make-up-sunday-before-mid-autumn",
    ),
]


@pytest.mark.parametrize(("received_at", "expected"), CASES)
async def test_preview_gives_exact_business_hours_due_times_from_the_shipped_calendar(
    sqlite_database, received_at, expected
):
    app = make_app(await sqlite_database("complaints"), FrozenClock(bj(2026, 3, 2, 9)))
    async with running(app, headers=SUPERVISOR) as client:
        assert (await client.put("/complaints/sla-policies/key/high", json=BUSINESS_KEY_HIGH)).status_code == 200
        by_post = await client.post(
            "/complaints/sla-preview", json={"tier": "key", "severity": "high", "received_at": received_at}
        )
        by_get = await client.get(
            "/complaints/sla-preview", params={"tier": "key", "severity": "high", "received_at": received_at}
        )
    assert by_post.status_code == 200, by_post.text
    body = by_post.json()
    assert times(body) == expected
    assert by_get.json() == body
    assert (body["policy_tier"], body["hours_mode"], body["calendar"]) == ("key", "business", "CN")
    assert body["calendar_warnings"] == []
    assert parse_time(body["received_at"]) == datetime.fromisoformat(received_at.replace("Z", "+00:00"))


async def test_preview_says_what_intake_stores(sqlite_database):
    # Monday 12 October 09:00: a letter received on 30 September is logged now; intake and preview agree.
    clock = FrozenClock(bj(2026, 10, 12, 9))
    app = make_app(await sqlite_database("complaints"), clock)
    received = "2026-09-30T15:00:00+08:00"
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app, tier="key")
        await client.put("/complaints/sla-policies/key/high", json=BUSINESS_KEY_HIGH)
        preview = (
            await client.post(
                "/complaints/sla-preview", json={"tier": "key", "severity": "high", "received_at": received}
            )
        ).json()
        complaint = await open_complaint(client, account_id, severity="high", received_at=received)
    assert parse_time(complaint["first_response_due_at"]) == parse_time(preview["first_response"]["due_at"])
    assert parse_time(complaint["first_response_warning_at"]) == parse_time(preview["first_response"]["warning_at"])
    assert parse_time(complaint["resolution_due_at"]) == parse_time(preview["resolution"]["due_at"])
    assert parse_time(complaint["resolution_warning_at"]) == parse_time(preview["resolution"]["warning_at"])
    assert parse_time(complaint["resolution_due_at"]) == bj(2026, 10, 10, 12)  # the make-up Saturday


async def test_a_year_without_calendar_data_counts_weekdays_and_shows_the_warning(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(bj(2026, 3, 2, 9)))
    async with running(app, headers=SUPERVISOR) as client:
        await client.put("/complaints/sla-policies/key/high", json=BUSINESS_KEY_HIGH)
        body = (
            await client.get(
                "/complaints/sla-preview",
                params={"tier": "key", "severity": "high", "received_at": "2028-03-01T10:00:00+08:00"},
                headers=VIEWER,
            )
        ).json()
        known = (
            await client.get(
                "/complaints/sla-preview",
                params={"tier": "key", "severity": "high", "received_at": "2026-03-02T10:00:00+08:00"},
            )
        ).json()
    # Wednesday 1 March 2028: 480 to 18:00; 1440 = 480 + 540 (Thursday) + 420 on Friday 3 March → 16:00.
    assert parse_time(body["first_response"]["due_at"]) == bj(2028, 3, 1, 18)
    assert parse_time(body["resolution"]["due_at"]) == bj(2028, 3, 3, 16)
    [warning] = body["calendar_warnings"]
    assert (warning["kind"], warning["year"], warning["calendar"]) == ("calendar_year_missing", 2028, "CN")
    assert warning["message_en"] and warning["message_zh"]
    assert known["calendar_warnings"] == []


async def test_preview_refuses_a_time_without_an_offset_and_unknown_values(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(bj(2026, 3, 2, 9)))
    async with running(app, headers=VIEWER) as client:
        naive_get = await client.get("/complaints/sla-preview", params={"received_at": "2026-10-08T10:00:00"})
        naive_post = await client.post("/complaints/sla-preview", json={"received_at": "2026-10-08T10:00:00"})
        bad_tier = await client.post(
            "/complaints/sla-preview", json={"tier": "gold", "received_at": "2026-10-08T10:00:00Z"}
        )
        default = await client.post("/complaints/sla-preview", json={"received_at": "2026-10-08T10:00:00Z"})
    assert naive_get.status_code == 422 and naive_get.json()["errors"][0]["field"] == "received_at"
    assert naive_post.status_code == 422 and naive_post.json()["errors"][0]["field"] == "received_at"
    assert bad_tier.status_code == 422 and bad_tier.json()["errors"][0]["field"] == "tier"
    # default × medium, calendar hours: 24 h to respond, 168 h to resolve.
    assert default.status_code == 200
    assert parse_time(default.json()["first_response"]["due_at"]) == bj(2026, 10, 9, 18)
    assert parse_time(default.json()["resolution"]["due_at"]) == bj(2026, 10, 15, 18)

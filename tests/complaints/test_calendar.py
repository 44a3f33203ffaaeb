"""The business calendar as data: seeded, listed, read, upserted (audited), used by the SLA, warned about, measured."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.complaints import sla
from services.complaints.calendars.service import calendar_warnings, horizon_years
from shared.clock import FrozenClock
from tests.complaints.helpers import LI, SUPERVISOR, VIEWER, make_app, open_complaint, parse_time, register_account
from tests.support import auth, running

BEIJING = timezone(timedelta(hours=8))
# Thursday 31 December 2026, 16:00 in Beijing: the shipped calendar ends tonight.
NEW_YEARS_EVE_4PM = datetime(2026, 12, 31, 16, 0, tzinfo=BEIJING)
BUSINESS_KEY_HIGH = {
    "first_response_minutes": 8 * 60,
    "update_interval_minutes": 16 * 60,
    "resolution_minutes": 24 * 60,
    "hours_mode": "business",
}
# A year document as an administrator would enter it (test data, not the State Council's 2027 notice).
TEST_2027 = {
    "day_start": "09:00",
    "day_end": "18:00",
    "source": "test data",
    "holidays": [
        {"name_zh": "元旦", "name_en": "New Year's Day", "days_off": ["2027-01-01", "2027-01-02", "2027-01-03"]},
    ],
}


def bj(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BEIJING)


async def test_the_shipped_2026_calendar_is_seeded_as_data_and_listed(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(bj(2026, 3, 2, 9)))
    async with running(app, headers=VIEWER) as client:
        listed = (await client.get("/complaints/calendars")).json()
        year = await client.get("/complaints/calendars/CN/2026")
        missing = await client.get("/complaints/calendars/CN/2027")
        bad_code = await client.get("/complaints/calendars/cn/2026")
    assert listed["sla_calendar"] == "CN" and listed["today"] == "2026-03-02"
    [cn] = listed["calendars"]
    assert cn["code"] == "CN" and cn["used_for_sla"] is True
    assert [(y["year"], y["origin"], y["updated_by"]) for y in cn["years"]] == [(2026, "seed", "system")]
    assert cn["years"][0]["holidays"] == 7 and cn["years"][0]["make_up_workdays"] == 6
    assert cn["ends_on"] == "2026-12-31" and cn["days_remaining"] == 304
    assert listed["calendar_warnings"] == []  # ten months left
    body = year.json()
    assert year.headers["etag"] == '"1"'
    national_day = next(h for h in body["holidays"] if h["name_en"] == "National Day")
    assert national_day["days_off"] == [f"2026-10-0{d}" for d in range(1, 8)]
    assert national_day["make_up_workdays"] == ["2026-09-20", "2026-10-10"]
    assert (body["day_start"], body["day_end"], body["origin"]) == ("09:00:00", "18:00:00", "seed")
    assert [(c["version"], c["changed_by"], c["origin"]) for c in body["history"]] == [(1, "system", "seed")]
    assert missing.status_code == 404
    assert bad_code.status_code == 422


async def test_upserting_a_year_is_for_supervisors_validated_audited_and_never_overwritten_by_reseeding(
    sqlite_database,
):
    url = await sqlite_database("complaints")
    clock = FrozenClock(bj(2026, 3, 2, 9))
    edited = {**TEST_2027, "day_start": "08:30", "day_end": "17:30", "holidays": []}
    async with running(make_app(url, clock)) as client:
        by_manager = await client.put("/complaints/calendars/CN/2026", json=edited, headers=LI)
        stale = await client.put(
            "/complaints/calendars/CN/2026", json=edited, headers={**SUPERVISOR, "If-Match": '"7"'}
        )
        wrong_year = await client.put(
            "/complaints/calendars/CN/2027",
            json={**TEST_2027, "holidays": [{"name_zh": "元旦", "name_en": "New Year", "days_off": ["2026-12-31"]}]},
            headers=SUPERVISOR,
        )
        weekday_make_up = await client.put(
            "/complaints/calendars/CN/2027",
            json={
                **TEST_2027,
                "holidays": [
                    {
                        "name_zh": "元旦",
                        "name_en": "New Year",
                        "days_off": ["2027-01-01"],
                        "make_up_workdays": ["2027-01-04"],
                    }
                ],
            },
            headers=SUPERVISOR,
        )
        backwards = await client.put(
            "/complaints/calendars/CN/2027",
            json={**TEST_2027, "day_start": "18:00", "day_end": "09:00"},
            headers=SUPERVISOR,
        )
        with_offset = await client.put(
            "/complaints/calendars/CN/2027", json={**TEST_2027, "day_start": "09:00+08:00"}, headers=SUPERVISOR
        )
        changed = await client.put(
            "/complaints/calendars/CN/2026", json=edited, headers={**SUPERVISOR, "If-Match": '"1"'}
        )
    clock.advance(timedelta(days=1))
    async with running(make_app(url, clock), headers=SUPERVISOR) as client:  # a restart seeds again
        after_restart = (await client.get("/complaints/calendars/CN/2026")).json()
    assert by_manager.status_code == 403
    assert stale.status_code == 412
    assert wrong_year.status_code == 422 and wrong_year.json()["errors"][0]["field"] == "holidays.0.days_off"
    assert weekday_make_up.status_code == 422
    assert weekday_make_up.json()["errors"][0]["field"] == "holidays.0.make_up_workdays"
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "day_end"
    assert with_offset.status_code == 422 and with_offset.json()["errors"][0]["field"] == "day_start"
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert (after_restart["version"], after_restart["origin"], after_restart["updated_by"]) == (2, "api", "sup-wang")
    assert (after_restart["day_start"], after_restart["holidays"]) == ("08:30:00", [])
    assert [(c["version"], c["changed_by"]) for c in after_restart["history"]] == [(2, "sup-wang"), (1, "system")]
    assert after_restart["history"][0]["changed_at"] == "2026-03-02T01:00:00Z"


async def _business_key_account(app: Any, client: Any) -> str:
    account_id = await register_account(app, tier="key")
    response = await client.put("/complaints/sla-policies/key/high", json=BUSINESS_KEY_HIGH, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return account_id


async def test_an_upserted_year_applies_to_the_next_computation_and_moves_open_timers(sqlite_database):
    clock = FrozenClock(NEW_YEARS_EVE_4PM)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await _business_key_account(app, client)
        before = await open_complaint(client, account_id, severity="high")
        warned = (await client.get("/complaints/sla-policies")).json()
        put = await client.put("/complaints/calendars/CN/2027", json=TEST_2027)
        detail = (await client.get(f"/complaints/{before['id']}")).json()
        timeline = (await client.get(f"/complaints/{before['id']}/timeline")).json()
        after = await open_complaint(client, account_id, severity="high")
        quiet = (await client.get("/complaints/sla-policies")).json()
    # 2027 unknown: Friday 1 January counts as a working day — 120 minutes on Thursday, 360 on Friday.
    assert parse_time(before["first_response_due_at"]) == bj(2027, 1, 1, 15)
    assert [w["kind"] for w in warned["calendar_warnings"]] == ["calendar_ends_soon"]
    assert warned["calendar_warnings"][0]["year"] == 2027 and warned["calendar_days_remaining"] == 0
    assert put.status_code == 200, put.text
    assert put.json()["recomputed"] == 1 and put.json()["calendar_warnings"] == []
    # With 1–3 January off: 120 minutes on Thursday, then Monday 4 January 09:00 + 360.
    assert parse_time(detail["first_response_due_at"]) == bj(2027, 1, 4, 15)
    assert detail["version"] > before["version"]
    assert [e["kind"] for e in timeline].count("calendar_changed") == 1
    assert parse_time(after["first_response_due_at"]) == bj(2027, 1, 4, 15)
    assert quiet["calendar_warnings"] == [] and quiet["calendar_days_remaining"] == 365


async def test_a_calendar_change_leaves_calendar_hours_complaints_alone(sqlite_database):
    clock = FrozenClock(NEW_YEARS_EVE_4PM)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="high")  # default policies: calendar hours
        put = (await client.put("/complaints/calendars/CN/2027", json=TEST_2027)).json()
        detail = (await client.get(f"/complaints/{complaint['id']}")).json()
    assert put["recomputed"] == 0
    assert (detail["version"], detail["first_response_due_at"]) == (
        complaint["version"],
        complaint["first_response_due_at"],
    )


async def test_another_regions_calendar_is_kept_apart_from_the_sla_calendar(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(bj(2026, 3, 2, 9)))
    async with running(app, headers=SUPERVISOR) as client:
        put = await client.put("/complaints/calendars/CN-HK/2026", json={**TEST_2027, "holidays": []})
        listed = (await client.get("/complaints/calendars")).json()
    assert put.status_code == 200 and put.json()["recomputed"] == 0
    assert [(c["code"], c["used_for_sla"]) for c in listed["calendars"]] == [("CN", True), ("CN-HK", False)]


async def test_the_policy_list_warns_about_a_year_without_data_and_readyz_stays_green(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(bj(2028, 3, 1, 10)))
    async with running(app, headers=VIEWER) as client:
        policies = (await client.get("/complaints/sla-policies")).json()
        ready = await client.get("/readyz")
        metrics = (await client.get("/metrics", headers=auth("admin"))).text
    assert len(policies["items"]) == 20
    [warning] = policies["calendar_warnings"]
    assert (warning["kind"], warning["calendar"], warning["year"]) == ("calendar_year_missing", "CN", 2028)
    assert "2028" in warning["message_en"] and "every weekday" in warning["message_en"]
    assert "2028 年" in warning["message_zh"] and "周一至周五" in warning["message_zh"]
    assert policies["calendar_ends_on"] == "2026-12-31" and policies["calendar_days_remaining"] == 0
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert 'kam_complaints_calendar_days_remaining{calendar="CN"} 0.0' in metrics


@pytest.mark.parametrize(
    ("moment", "days_left", "warned"),
    [
        # 23:30 on 1 November in Shanghai (15:30 UTC): 60 days to 31 December — no warning yet.
        (datetime(2026, 11, 1, 15, 30, tzinfo=UTC), 60, False),
        # 00:30 on 2 November in Shanghai is still 1 November in UTC: the business date says 59 days — warn.
        (datetime(2026, 11, 1, 16, 30, tzinfo=UTC), 59, True),
    ],
)
async def test_days_left_are_counted_from_the_business_date_in_the_company_zone(
    sqlite_database, moment, days_left, warned
):
    app = make_app(await sqlite_database("complaints"), FrozenClock(moment))
    async with running(app, headers=VIEWER) as client:
        policies = (await client.get("/complaints/sla-policies")).json()
        listed = (await client.get("/complaints/calendars")).json()
        metrics = (await client.get("/metrics", headers=auth("admin"))).text
    assert policies["calendar_days_remaining"] == days_left == listed["calendars"][0]["days_remaining"]
    assert bool(policies["calendar_warnings"]) is warned
    assert f'kam_complaints_calendar_days_remaining{{calendar="CN"}} {float(days_left)}' in metrics
    if warned:
        assert policies["calendar_warnings"][0]["kind"] == "calendar_ends_soon"
        assert policies["calendar_warnings"][0]["ends_on"] == "2026-12-31"


def test_warnings_name_each_needed_year_without_data():
    calendar = sla.load_calendar()  # 2026 only
    assert calendar_warnings(calendar, today=date(2026, 6, 1), years=horizon_years(date(2026, 6, 1), 60)) == []
    soon = calendar_warnings(calendar, today=date(2026, 12, 1), years=horizon_years(date(2026, 12, 1), 60))
    assert [(w.kind, w.year, w.days_remaining) for w in soon] == [("calendar_ends_soon", 2027, 30)]
    later = calendar_warnings(calendar, today=date(2027, 12, 1), years=horizon_years(date(2027, 12, 1), 60))
    assert [(w.kind, w.year) for w in later] == [("calendar_year_missing", 2027), ("calendar_year_missing", 2028)]

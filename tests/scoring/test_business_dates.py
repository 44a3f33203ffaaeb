"""Business dates in the company's zone (issue 11, item 2), on a frozen clock at 00:30 and 23:30 Asia/Shanghai.

00:30 on 15 November in Shanghai is 16:30 UTC on the 14th, 23:30 is 15:30 UTC on the 15th: both are business date
2026-11-15, so cadence, override expiry, engagement dates and feature windows must agree at both hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scoring.features import AsOf
from services.scoring.jobs import run_timers
from services.scoring.models import platform
from services.scoring.registry import service as registry
from services.scoring.registry.schemas import AccountCreate
from services.scoring.scores import rescore_jobs
from services.scoring.scores.models import RescoreJob
from shared.clock import FrozenClock
from shared.events import ActualsRecorded
from tests.scoring.support import account_payload, actor, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 15)
HOURS = {
    "00:30": datetime(2026, 11, 15, 0, 30, tzinfo=SHANGHAI),  # 2026-11-14T16:30Z: the UTC date is yesterday
    "23:30": datetime(2026, 11, 15, 23, 30, tzinfo=SHANGHAI),  # 2026-11-15T15:30Z
}


def test_the_reference_of_a_score_is_the_business_date_and_month_in_the_company_zone():
    first_night = AsOf(datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI).astimezone(UTC), SHANGHAI)
    assert first_night.now.date() == date(2026, 10, 31)  # UTC still says October
    assert (first_night.today, first_night.period) == (date(2026, 11, 1), "2026-11")
    assert first_night.window_start == date(2025, 12, 1)
    assert first_night.window_starts_at == datetime(2025, 11, 30, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("hour", list(HOURS))
async def test_cadence_overdue_days_count_business_dates(sqlite_database, hour):
    clock = FrozenClock(HOURS[hour].astimezone(UTC))
    app = scoring_app(await sqlite_database("scoring"), clock=clock)
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        # maintain: an execution-level contact every 90 days; 91 days ago → due yesterday → 1 day overdue
        logged = await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "visit", "level": "execution", "occurred_on": (TODAY - timedelta(days=91)).isoformat()},
            headers=LI,
        )
        today_is_fine = await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "call", "level": "decision", "occurred_on": TODAY.isoformat()},
            headers=LI,
        )
        tomorrow = await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "call", "level": "decision", "occurred_on": (TODAY + timedelta(days=1)).isoformat()},
            headers=LI,
        )
        status = (await client.get(f"/accounts/{account_id}/engagement-status", headers=LI)).json()
        overdue = (await client.get("/scoring/engagements/overdue", headers=SUP)).json()["items"]
    assert logged.status_code == 201 and today_is_fine.status_code == 201
    assert tomorrow.status_code == 422 and tomorrow.json()["field"] == "occurred_on"
    execution = next(level for level in status["levels"] if level["level"] == "execution")
    assert execution["due_on"] == "2026-11-14" and execution["overdue"] and execution["days_overdue"] == 1
    assert [item["account_id"] for item in overdue] == [account_id]


@pytest.mark.parametrize("hour", list(HOURS))
async def test_an_override_that_expired_yesterday_has_ended_and_one_for_today_still_holds(sqlite_database, hour):
    clock = FrozenClock(datetime(2026, 11, 10, 10, 0, tzinfo=UTC))
    app = scoring_app(await sqlite_database("scoring"), clock=clock)
    async with running_with_people(app) as client:
        ended = (await client.post("/accounts", json=account_payload("甲"), headers=SUP)).json()["id"]
        holds = (await client.post("/accounts", json=account_payload("乙"), headers=SUP)).json()["id"]
        for account_id, last_day in ((ended, TODAY - timedelta(days=1)), (holds, TODAY)):
            r = await client.post(
                f"/accounts/{account_id}/tier-override",
                json={"tier": "strategic", "reason": "年度战略", "expires_on": last_day.isoformat()},
                headers=SUP,
            )
            assert r.status_code == 201, r.text
        clock.set(HOURS[hour].astimezone(UTC))
        await run_timers(app)
        after = {a["name"]: a for a in (await client.get("/accounts", headers=SUP)).json()["items"]}
        audit = (await client.get(f"/accounts/{ended}/tier-overrides", headers=SUP)).json()
        past = await client.post(
            f"/accounts/{holds}/tier-override",
            json={"tier": "key", "reason": "x", "expires_on": (TODAY - timedelta(days=1)).isoformat()},
            headers=SUP,
        )
        both = await client.post(
            f"/accounts/{holds}/tier-override",
            json={"tier": "key", "reason": "x", "expires_on": TODAY.isoformat(), "expires_at": "2026-12-01T00:00Z"},
            headers=SUP,
        )
    assert (after["甲"]["tier"], after["甲"]["overridden"]) == ("maintain", False)
    assert (after["乙"]["tier"], after["乙"]["overridden"]) == ("strategic", True)
    assert audit[0]["end_reason"] == "expired" and audit[0]["expires_on"] == "2026-11-14"
    assert audit[0]["expires_at"].startswith("2026-11-14T16:00:00")  # midnight of the 15th in Shanghai
    assert past.status_code == 422 and past.json()["field"] == "expires_on"
    assert both.status_code == 422 and both.json()["field"] == "expires_on"


async def test_actuals_of_the_business_month_count_on_its_first_night(sqlite_database):
    first_night = datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)  # still October in UTC
    app = scoring_app(await sqlite_database("scoring"), clock=FrozenClock(first_night))
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        data = {"period": "2026-11", "revenue": "800000", "cost": "0", "gross_profit": "200000"}
        await app.state.consumer.process(ActualsRecorded(source="goals", account_id=account_id, data=data))
        score = (await client.get(f"/accounts/{account_id}/score", headers=SUP)).json()
    purchases = next(i for i in score["indicators"] if i["code"] == "annual_purchases")
    assert purchases["raw"] == "800000.0000"


async def test_movers_default_to_the_start_of_the_business_day_30_days_ago(sqlite_database):
    start = datetime(2026, 10, 16, 0, 10, tzinfo=SHANGHAI)  # 2026-10-15T16:10Z
    clock = FrozenClock(start.astimezone(UTC))
    app = scoring_app(await sqlite_database("scoring"), clock=clock)
    async with running_with_people(app) as client:
        await client.post("/accounts", json=account_payload(), headers=SUP)  # its first tier: a mover
        clock.set(HOURS["23:30"].astimezone(UTC))  # 30 business days later, late in the evening
        movers = (await client.get("/scoring/tiers/movers", headers=SUP)).json()
        naive = await client.get("/scoring/tiers/movers", params={"since": "2026-10-01T00:00:00"}, headers=SUP)
    assert [m["direction"] for m in movers] == ["new"]
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "since"


async def test_a_scheduled_rescore_is_due_when_a_business_day_begins(domain):
    async def due(at: datetime) -> bool:
        async with domain.db.transaction() as session:
            return await rescore_jobs.scheduled_rescore_due(
                session, now=at.astimezone(UTC), interval_seconds=6 * 3600, zone=SHANGHAI
            )

    late = datetime(2026, 11, 14, 23, 50, tzinfo=SHANGHAI)
    async with domain.db.transaction() as session:
        body = AccountCreate.model_validate(account_payload())
        await registry.register_account(
            session, platform, publisher=domain.publisher, body=body, actor=actor(), at=domain.at()
        )
        session.add(
            RescoreJob(id="j-1", trigger="schedule", status="succeeded", requested_by="system", created_at=late)
        )
    assert not await due(late + timedelta(minutes=5))  # 23:55, same business day, interval not passed
    assert await due(late + timedelta(minutes=20))  # 00:10 of a new business day

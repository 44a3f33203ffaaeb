"""API tier, ``accounts.engagement_overdue`` from the periodic ``scoring-timers`` job: days overdue are counted in
business dates of the company zone (Asia/Shanghai), at 00:30 (the UTC date is still yesterday) as at 23:30."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI

from services.scoring.jobs import JOBS, run_timers
from shared.clock import FrozenClock
from tests.scoring.support import account_payload, outbox_events, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 15)
HOURS = {
    "00:30": datetime(2026, 11, 15, 0, 30, tzinfo=SHANGHAI),  # 2026-11-14T16:30Z
    "23:30": datetime(2026, 11, 15, 23, 30, tzinfo=SHANGHAI),  # 2026-11-15T15:30Z
}


async def _maintained(client, name: str, *, last_visit_days_ago: int) -> str:
    """A maintain-tier account (an execution-level contact every 90 days) last visited so many days ago."""
    account_id = (await client.post("/accounts", json=account_payload(name), headers=SUP)).json()["id"]
    visit = {"kind": "visit", "level": "execution", "occurred_on": str(TODAY - timedelta(days=last_visit_days_ago))}
    logged = await client.post(f"/accounts/{account_id}/engagements", json=visit, headers=LI)
    assert logged.status_code == 201, logged.text
    return account_id


def _driven_by_hand(database_url: str, clock: FrozenClock) -> FastAPI:
    """The scoring app without its periodic jobs (``scoring_app``'s default): the test runs the timers itself, at the
    moments it chooses (the app's own job would run at a moment of its own — e.g. between registering an account and
    logging its visit, when it is overdue as never engaged)."""
    return scoring_app(database_url, clock=clock)


def test_the_overdue_check_runs_in_the_scoring_timers_job():
    assert [(job.name, job.run) for job in JOBS] == [("scoring-timers", run_timers)]


@pytest.mark.parametrize("hour", list(HOURS))
async def test_the_timer_job_counts_days_overdue_in_business_dates(sqlite_database, hour):
    clock = FrozenClock(HOURS[hour].astimezone(UTC))
    app = _driven_by_hand(await sqlite_database("scoring"), clock)
    async with running_with_people(app) as client:
        late = await _maintained(client, "九十一天前", last_visit_days_ago=91)  # due yesterday: 1 day overdue
        due_today = await _maintained(client, "九十天前", last_visit_days_ago=90)  # due today: not overdue yet
        assert (await client.get(f"/accounts/{late}", headers=SUP)).json()["tier"] == "maintain"
        await run_timers(app)
        await run_timers(app)  # a second run publishes nothing
        first_day = await outbox_events(app, "accounts.engagement_overdue")
        clock.advance(timedelta(days=1))
        await run_timers(app)
        both_days = await outbox_events(app, "accounts.engagement_overdue")
    assert len(first_day) == 1, first_day
    [published] = first_day
    assert (published["source"], published["account_id"]) == ("scoring", late)
    assert published["data"] == {
        "contact_level": "execution",
        "days_overdue": 1,
        "owner_id": "am-li",
        "last_engaged_on": str(TODAY - timedelta(days=91)),
    }
    assert [(e["account_id"], e["data"]["days_overdue"]) for e in both_days] == [(late, 1), (due_today, 1)]

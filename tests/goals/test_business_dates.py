"""Business dates are counted in the company's zone (``KAM_TIMEZONE``, Asia/Shanghai): at 00:30 local on the 1st
the new month has begun although it is still the previous month in UTC; at 23:30 local it has not."""

from datetime import UTC, datetime

from shared.events import ComplaintAcknowledged
from tests.goals.helpers import (
    SUPERVISOR,
    approve,
    create_target,
    goals_app,
    record,
    register_account,
    register_team,
    sale,
)
from tests.support import running

# 2026-07-01 00:30 in Shanghai is 2026-06-30 16:30 UTC; 2026-06-30 23:30 in Shanghai is 15:30 UTC the same day.
JUST_AFTER_MIDNIGHT = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)
JUST_BEFORE_MIDNIGHT = datetime(2026, 6, 30, 15, 30, tzinfo=UTC)


async def _set_up(client, app):
    await register_team(app)
    account = await register_account(app, name="时区客户")
    await record(client, *[sale(account, f"2026-{m:02d}-10", "100") for m in range(1, 7)])
    target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1200")
    await approve(client, target["id"])
    for title, due in (("昨天到期", "2026-06-29"), ("六月底到期", "2026-06-30"), ("七月初到期", "2026-07-01")):
        response = await client.post(
            f"/goals/targets/{target['id']}/actions",
            json={"title": title, "owner_id": "am-li", "due_date": due},
            headers=SUPERVISOR,
        )
        assert response.status_code == 201, response.text
    return account, target


async def test_at_00_30_local_on_the_first_the_current_period_is_the_new_month(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"), now=JUST_AFTER_MIDNIGHT)
    async with running(app) as client:
        account, target = await _set_up(client, app)
        view = (await client.get(f"/goals/views/accounts/{account}", headers=SUPERVISOR)).json()
        assert view["periods"] == ["2026", "2026-07", "2026-Q3"]
        # Six whole months are over: the run-rate extrapolates 600 over 6 of 12 months.
        tracking = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()["tracking"]
        assert (tracking["elapsed_months"], tracking["run_rate_forecast"]) == ("6.00", "1200.00")
        # June 30 has passed: an item due that day is overdue, one due today is not.
        overdue = (await client.get("/goals/actions", params={"overdue": "true"}, headers=SUPERVISOR)).json()
        assert [i["title"] for i in overdue["items"]] == ["昨天到期", "六月底到期"]
        assert [i["title"] for i in view["overdue_action_items"]] == ["昨天到期", "六月底到期"]
        plan = (await client.get(f"/goals/targets/{target['id']}/actions", headers=SUPERVISOR)).json()
        assert {i["title"]: i["overdue"] for i in plan} == {"昨天到期": True, "六月底到期": True, "七月初到期": False}
        board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert board["overdue_action_items_count"] == 2
        # The default window of monthly totals ends with the local month.
        totals = (await client.get(f"/goals/accounts/{account}/actuals", headers=SUPERVISOR)).json()
        assert totals[-1]["period"] == "2026-06" and len(totals) == 6


async def test_at_23_30_local_the_day_and_month_have_not_turned(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"), now=JUST_BEFORE_MIDNIGHT)
    async with running(app) as client:
        account, target = await _set_up(client, app)
        view = (await client.get(f"/goals/views/accounts/{account}", headers=SUPERVISOR)).json()
        assert view["periods"] == ["2026", "2026-06", "2026-Q2"]
        tracking = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()["tracking"]
        assert tracking["elapsed_months"] == "5.97"  # 5 months and 29 of June's 30 days
        overdue = (await client.get("/goals/actions", params={"overdue": "true"}, headers=SUPERVISOR)).json()
        assert [i["title"] for i in overdue["items"]] == ["昨天到期"]


async def test_a_scorecard_year_begins_at_local_midnight(sqlite_database):
    # 2027-01-01 00:30 in Shanghai: still 2026 in UTC, but the fiscal year 2027 has begun.
    app, _ = goals_app(await sqlite_database("goals"), now=datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="跨年客户", owner_id="am-li")
        # Acknowledged at 2027-01-01 00:10 local (2026-12-31 16:10 UTC): a complaint of 2027, not of 2026.
        await app.state.consumer.process(
            ComplaintAcknowledged(
                source="complaints",
                account_id=account,
                data={
                    "complaint_id": "c-new-year",
                    "acknowledged_at": datetime(2026, 12, 31, 16, 10, tzinfo=UTC),
                    "within_sla": True,
                },
            )
        )
        [card] = (await client.get("/goals/scorecards", headers=SUPERVISOR)).json()
        assert (card["period"], card["complaints_acknowledged"]) == ("2027", 1)
        [last_year] = (await client.get("/goals/scorecards", params={"period": "2026"}, headers=SUPERVISOR)).json()
        assert last_year["complaints_acknowledged"] == 0

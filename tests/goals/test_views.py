"""The two gateway sections: the account overview and the portfolio board (shapes documented in docs/goals.md)."""

from tests.goals.helpers import (
    LI,
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


async def test_portfolio_shows_attainment_by_tier_and_manager_and_account_managers_see_their_own(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))  # 2026-07-01
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="战略客户", owner_id="am-li", tier="strategic")
        b = await register_account(app, name="重点客户", owner_id="am-zhang", tier="key")
        await record(client, sale(a, "2026-03-01", "600"), sale(b, "2026-04-01", "100"), sale(b, "2025-04-01", "999"))
        ta = await create_target(client, account_id=a, metric="revenue", period="2026", target_value="1000")
        tb = await create_target(client, account_id=b, metric="revenue", period="2026", target_value="400")
        await approve(client, ta["id"])
        await approve(client, tb["id"])  # 100 by mid-year: run-rate 200 = 50 % → at risk

        board = (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()
        assert board["period"] == "2026"
        assert board["revenue_attainment_by_tier"] == [
            {"tier": "key", "target": "400.00", "actual": "100.00", "attainment_pct": "25.00"},
            {"tier": "strategic", "target": "1000.00", "actual": "600.00", "attainment_pct": "60.00"},
        ]
        assert [r["owner_id"] for r in board["revenue_attainment_by_account_manager"]] == ["am-li", "am-zhang"]
        assert board["at_risk_targets_count"] == 1
        assert board["at_risk_targets"][0]["account_name"] == "重点客户"
        assert board["at_risk_targets"][0]["forecast"] == "200.00"

        mine = (await client.get("/goals/views/portfolio", headers=LI)).json()
        assert [r["owner_id"] for r in mine["revenue_attainment_by_account_manager"]] == ["am-li"]
        assert mine["at_risk_targets_count"] == 0

        view = (await client.get(f"/goals/views/accounts/{b}", headers=SUPERVISOR)).json()
        assert view["name"] == "重点客户" and view["periods"] == ["2026", "2026-07", "2026-Q3"]
        [target] = view["targets"]
        assert (target["actual"], target["forecast"], target["gap"], target["at_risk"]) == (
            "100.00",
            "200.00",
            "200.00",
            True,
        )


async def test_variance_against_the_previous_period_compares_a_quarter_with_the_one_before(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))  # 2026-07-01: Q2 is over
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="季度客户")
        await record(
            client,
            sale(account, "2026-02-01", "300", quantity="3"),
            sale(account, "2026-05-01", "500", quantity="4"),
            sale(account, "2026-06-01", "100", product_line="运维服务", quantity="1"),
        )
        q2 = await create_target(client, account_id=account, metric="revenue", period="2026-Q2", target_value="900")
        v = (
            await client.get(
                f"/goals/targets/{q2['id']}/variance", params={"compare": "previous_period"}, headers=SUPERVISOR
            )
        ).json()
        assert v["baseline_period"] == "2026-Q1"
        assert (v["current_total"], v["baseline_total"], v["delta"]) == ("600.00", "300.00", "300.00")
        lines = {r["key"]: r for r in v["by_product_line"]}
        # 工业网关: 4 units at 125 against 3 at 100 → volume +100, price +100.
        assert (lines["工业网关"]["volume_effect"], lines["工业网关"]["price_effect"]) == ("100.00", "100.00")
        assert [r["key"] for r in v["by_month"]] == ["2026-05", "2026-06", "2026-04"]  # largest change first

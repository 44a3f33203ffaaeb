"""Tracking (issue 14, item 10): achieved follows every change while the period runs, an ended period is final
(achieved or missed by the period's own figures, no at-risk after its end, business dates in the company's zone),
split parts and team targets are tracked from their creation, and a year split into quarters is forecast from them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from services.goals.jobs import retrack_targets
from services.goals.models import platform
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


async def _subjects(app) -> list[str]:
    async with app.state.db.transaction() as session:
        query = select(platform.outbox.c.subject).order_by(platform.outbox.c.seq)
        return [s for s in (await session.execute(query)).scalars() if s != "kam.goals.actuals_recorded"]


async def _read(client, target_id: str) -> dict:
    response = await client.get(f"/goals/targets/{target_id}", headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return response.json()


async def test_achieved_follows_the_actual_and_the_target_until_the_period_ends_then_it_is_final(make_database):
    app, clock = goals_app(await make_database("goals"), now=datetime(2026, 12, 10, tzinfo=UTC))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="徐工机械")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1000")
        await approve(client, target["id"])

        async def patch(value: str) -> None:
            response = await client.patch(
                f"/goals/targets/{target['id']}", json={"target_value": value}, headers=SUPERVISOR
            )
            assert response.status_code == 200, response.text

        # (what happens, achieved afterwards) — while 2026 runs achieved goes both ways.
        steps = [
            (record(client, sale(account, "2026-06-01", "1100")), True),
            (record(client, sale(account, "2026-06-02", "-200")), False),  # a credit note lowers the actual
            (record(client, sale(account, "2026-06-03", "150")), True),  # 1,050
            (patch("1200"), False),  # a raised target
            (patch("1000"), True),
        ]
        for step, achieved in steps:
            await step
            assert (await _read(client, target["id"]))["achieved"] is achieved
        assert (await _subjects(app)).count("kam.goals.target_achieved") == 3  # once per time it is reached

        # The last evening of the year in Shanghai (15:00 UTC = 23:00): still running, a raised target is at risk.
        clock.set(datetime(2026, 12, 31, 15, tzinfo=UTC))
        await patch("5000")
        read = await _read(client, target["id"])
        assert (read["achieved"], read["at_risk"], read["missed"]) == (False, True, False)
        # 16:30 UTC is 00:30 on 1 January in Shanghai: 2026 is over — missed, no longer at risk, once.
        clock.set(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
        for _ in range(2):
            await retrack_targets(app)
        read = await _read(client, target["id"])
        assert (read["achieved"], read["at_risk"], read["missed"]) == (False, False, True)
        # Final: the hourly job again changes nothing and raises no at-risk.
        before = await _subjects(app)
        await retrack_targets(app)
        assert (await _subjects(app)) == before
        # At risk twice while it ran (approved without sales; the raise to 5,000), missed once.
        assert before.count("kam.goals.target_at_risk") == 2 and before.count("kam.goals.target_missed") == 1
        # A sale of the period that arrives late (dated 30 December, recorded in January) settles it by the
        # period's own figures: achieved, published once — the corrected outcome, never at risk again.
        await record(client, sale(account, "2026-12-30", "9000"))
        await retrack_targets(app)
        read = await _read(client, target["id"])
        assert (read["achieved"], read["at_risk"], read["missed"]) == (True, False, False)
        new = (await _subjects(app))[len(before) :]
        assert new.count("kam.goals.target_achieved") == 1 and "kam.goals.target_at_risk" not in new


async def test_parts_and_team_targets_are_tracked_and_a_year_is_forecast_from_its_quarters(sqlite_database):
    # 16 August 2026: Q1 and Q2 are over, Q3 has run July and 15 of August's 31 days, Q4 has not started.
    app, _ = goals_app(await sqlite_database("goals"), now=datetime(2026, 8, 16, 4, tzinfo=UTC))
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="客户甲", owner_id="am-li")
        b = await register_account(app, name="客户乙", owner_id="am-li")
        monthly = {"01": "100", "02": "100", "03": "100", "04": "50", "05": "50", "06": "50", "07": "120"}
        await record(client, *[sale(a, f"2026-{m}-05", v) for m, v in monthly.items()], sale(a, "2026-08-10", "60"))
        await record(client, sale(b, "2026-03-05", "370"))

        year = await create_target(client, account_id=a, metric="revenue", period="2026", target_value="1200")
        await approve(client, year["id"])
        quarters = {f"2026-Q{q}": "300" for q in range(1, 5)}
        response = await client.post(
            f"/goals/targets/{year['id']}/split",
            json={"into": "quarters", "method": "manual", "parts": quarters},
            headers=SUPERVISOR,
        )
        assert response.status_code == 201, response.text
        parts = {p["period"]: p for p in response.json()}
        # Tracked from their creation: Q2 (150 of 300, over) is missed at once, Q1 achieved; each part announced.
        flags = {k: (p["status"], p["achieved"], p["missed"], p["at_risk"]) for k, p in parts.items()}
        assert flags == {
            "2026-Q1": ("approved", True, False, False),
            "2026-Q2": ("approved", False, True, False),
            "2026-Q3": ("approved", False, False, False),
            "2026-Q4": ("approved", False, False, False),
        }
        subjects = await _subjects(app)
        assert subjects.count("kam.goals.target_set") == 5 and subjects.count("kam.goals.target_missed") == 1

        # By hand: Q3 = 180 ÷ (1 + 15/31) × 3 = 363.91 (run rate); Q4 not started = its plan, 300.
        forecasts = {k: (p["tracking"]["forecast"], p["tracking"]["forecast_method"]) for k, p in parts.items()}
        assert forecasts == {
            "2026-Q1": ("300.00", "actual"),
            "2026-Q2": ("150.00", "actual"),
            "2026-Q3": ("363.91", "run_rate"),
            "2026-Q4": ("300.00", "plan"),
        }
        # The year = Σ quarters: 300 + 150 + 363.91 + 300 = 1,113.91 (92.83 %: not at risk), not its own run rate
        # 630 ÷ (7 + 15/31) × 12 = 1,010.17 (84.18 %, which would be).
        tracking = (await _read(client, year["id"]))["tracking"]
        assert (tracking["actual"], tracking["forecast"], tracking["forecast_method"]) == ("630.00", "1113.91", "parts")
        assert (tracking["run_rate_forecast"], tracking["forecast_attainment_pct"]) == ("1010.17", "92.83")
        assert (await _read(client, year["id"]))["at_risk"] is False

        # A team target is tracked from Li's accounts: 630 + 370 = 1,000 by 7 + 15/31 months → 1,603.45; at risk
        # against 2,000 (80.17 %) as soon as it is approved.
        at_risk_before = (await _subjects(app)).count("kam.goals.target_at_risk")
        team = await create_target(client, owner_id="am-li", metric="revenue", period="2026", target_value="2000")
        approved = await approve(client, team["id"])
        t = approved["tracking"]
        assert (t["actual"], t["forecast"], t["forecast_method"], t["forecast_attainment_pct"]) == (
            "1000.00",
            "1603.45",
            "run_rate",
            "80.17",
        )
        assert approved["at_risk"] is True
        assert (await _subjects(app)).count("kam.goals.target_at_risk") == at_risk_before + 1

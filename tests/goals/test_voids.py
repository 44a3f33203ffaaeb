"""Voiding sales over a real NATS with the real scoring and risk apps: a voided import and a voided line take
their revenue off the months scoring and risk hold (published again as goals.actuals_voided with the new totals,
zeros when nothing is left); the batch keeps who voided it and why and may be imported again; a line another
account manager cannot change is a 404 and nothing is voided."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from sqlalchemy import select

from services.risk.warnings.models import MonthlyRevenue
from services.scoring.scores.models import MonthlyActual
from shared.bus.nats import NatsBus
from shared.clock import FrozenClock
from tests.goals.helpers import LI, SUPERVISOR, ZHANG, goals_app, register_team
from tests.goals.test_sales_aggregates import recomputed, stored_aggregates
from tests.risk.support import make_app as risk_app
from tests.scoring.support import account_payload, running_with_people, scoring_app
from tests.support import auth, register_users, running, wait_until

HEADER = "account_id,date,product_line,region,quantity,revenue,cost\n"
PEOPLE = [("sup-wang", ["supervisor"]), ("am-li", ["account_manager"]), ("am-zhang", ["account_manager"])]


async def _months(scoring, risk, account: str, period: str) -> tuple[D | None, D | None]:
    async with scoring.state.db.transaction(write=False) as session:
        held = await session.scalar(
            select(MonthlyActual.revenue).where(MonthlyActual.account_id == account, MonthlyActual.period == period)
        )
    async with risk.state.db.transaction(write=False) as session:
        watched = await session.scalar(
            select(MonthlyRevenue.revenue).where(MonthlyRevenue.account_id == account, MonthlyRevenue.period == period)
        )
    return (None if held is None else D(str(held)), None if watched is None else D(str(watched)))


async def _subscribed(*apps) -> bool:
    return all(app.state.consumer.subscribed.is_set() for app in apps)


async def test_voided_sales_leave_scoring_and_risk_over_nats_and_the_batch_may_be_imported_again(
    sqlite_database, nats_url
):
    streams = NatsBus(nats_url, name="streams-under-test")
    await streams.start()
    assert await streams.wait_connected(timeout=10)
    await streams.ensure_streams(["accounts", "goals"])
    await streams.close()
    clock = FrozenClock(datetime(2026, 7, 15, 2, 0, tzinfo=UTC))
    scoring = scoring_app(await sqlite_database("scoring"), nats_url=nats_url, clock=clock)
    goals, _ = goals_app(await sqlite_database("goals"), nats_url=nats_url, now=clock.now())
    risk = risk_app(await sqlite_database("risk"), nats_url=nats_url, clock=clock)
    async with (
        running_with_people(scoring, headers=SUPERVISOR) as registry,
        running(goals) as client,
        running(risk),
    ):
        await register_team(goals)
        await register_users(risk, PEOPLE)
        await wait_until(lambda: _subscribed(scoring, goals, risk), message="consumers subscribed")
        created = await registry.post("/accounts", json=account_payload("苏州作废测试有限公司", owner_id="am-li"))
        assert created.status_code == 201, created.text
        account = created.json()["id"]

        async def projected() -> bool:
            return (await client.get(f"/goals/accounts/{account}/actuals", headers=LI)).status_code == 200

        await wait_until(projected, timeout=30, message="goals projected the account")
        text = HEADER + f"{account},2026-06-03,工业网关,华东,2,300,100\n{account},2026-06-20,PLC控制器,华东,1,200,90\n"
        imported = await client.post(
            "/goals/imports",
            params={"batch_id": "june", "wait": "true"},
            content=text.encode(),
            headers={**LI, "content-type": "text/csv"},
        )
        assert imported.status_code == 200 and imported.json()["accepted"] == 2, imported.text

        async def months_are(expected):
            return await _months(scoring, risk, account, "2026-06") == expected

        await wait_until(lambda: months_are((D(500), D(500))), timeout=30, message="scoring and risk hold June")

        # Another account manager cannot void it (the batch is not theirs: 404, not 403), and nothing changed.
        assert (await client.post("/goals/imports/june/void", json={"reason": "x"}, headers=ZHANG)).status_code == 404
        voided = await client.post("/goals/imports/june/void", json={"reason": "导入了错误的文件"}, headers=LI)
        assert voided.status_code == 200, voided.text
        body = voided.json()
        assert (body["status"], body["voided_by"], body["void_reason"]) == ("voided", "am-li", "导入了错误的文件")
        await wait_until(lambda: months_are((D(0), D(0))), timeout=30, message="the void reached scoring and risk")
        again = await client.post("/goals/imports/june/void", json={"reason": "again"}, headers=LI)
        assert again.status_code == 409

        # The corrected file under the same batch id (not refused as a duplicate: the earlier one was voided).
        fixed = HEADER + f"{account},2026-06-03,工业网关,华东,2,320,100\n"
        reimported = await client.post(
            "/goals/imports",
            params={"batch_id": "june", "wait": "true"},
            content=fixed.encode(),
            headers={**LI, "content-type": "text/csv"},
        )
        assert reimported.status_code == 200 and reimported.json()["status"] == "completed", reimported.text
        await wait_until(lambda: months_are((D(320), D(320))), timeout=30, message="the corrected import applied")

        # One line voided: found by listing the account's lines.
        lines = (await client.get(f"/goals/accounts/{account}/sales-lines?month=2026-06", headers=LI)).json()
        assert lines["total"] == 1 and lines["items"][0]["batch_id"] == "june"
        line_id = lines["items"][0]["id"]
        refused = await client.post(
            "/goals/sales-lines/void", json={"line_ids": [line_id], "reason": "重复"}, headers=ZHANG
        )
        assert refused.status_code == 404 and str(line_id) in refused.json()["detail"]
        unknown = await client.post(
            "/goals/sales-lines/void", json={"line_ids": [line_id, 999_999], "reason": "重复"}, headers=SUPERVISOR
        )
        assert unknown.status_code == 404 and "999999" in unknown.json()["detail"]
        assert (await client.get(f"/goals/accounts/{account}/sales-lines", headers=LI)).json()["total"] == 1
        done = await client.post("/goals/sales-lines/void", json={"line_ids": [line_id], "reason": "重复"}, headers=LI)
        assert done.status_code == 200 and done.json()["voided"] == 1
        assert [D(m["revenue"]) for m in done.json()["account_months"]] == [D(0)]
        await wait_until(lambda: months_are((D(0), D(0))), timeout=30, message="the voided line left both")
        # The pre-aggregated sums equal a recomputation from the lines after the imports and voids.
        assert await stored_aggregates(goals.state.db) == await recomputed(goals.state.db)
        # Both voids are in the audit log with who, why and what.
        audit = await client.get(
            "/goals/audit", params={"object_type": "import_batch", "object_id": "june"}, headers=auth("admin")
        )
        assert [(e["action"], e["actor_id"], e["after"]["reason"]) for e in audit.json()["items"]] == [
            ("sales.batch_voided", "am-li", "导入了错误的文件")
        ]
        lines_audit = await client.get("/goals/audit", params={"action": "sales.lines_voided"}, headers=auth("admin"))
        assert [e["after"]["line_ids"] for e in lines_audit.json()["items"]] == [[line_id]]

"""Tracking over the API and the bus: forecast, attainment and variance on a fixture; at-risk over real NATS;
scorecards from complaint events; red risk alerts flag targets."""

import asyncio
import uuid
from datetime import UTC, datetime

import nats
from sqlalchemy import func, select

from services.goals.models import platform
from shared.events import AlertCleared, AlertRaised, ComplaintAcknowledged, ComplaintClosed
from tests.goals.helpers import (
    LI,
    SUPERVISOR,
    ZHANG,
    approve,
    create_target,
    goals_app,
    record,
    register_account,
    register_team,
    sale,
)
from tests.support import running, wait_until


def fixture_sales(account: str) -> list[dict]:
    """2025: 50,000 a month in H1 and 150,000 in H2 (工业网关, 华东, 50 units at 1,000 in H1).
    2026 H1: 工业网关 40,000 (32 units at 1,250, 华东) and PLC控制器 20,000 (10 units at 2,000, 华南) a month."""
    records = []
    for month in range(1, 13):
        revenue = 50000 if month <= 6 else 150000
        records.append(
            sale(
                account,
                f"2025-{month:02d}-10",
                str(revenue),
                str(revenue * 0.6),
                region="华东",
                quantity=str(revenue // 1000),
            )
        )
    for month in range(1, 7):
        records.append(sale(account, f"2026-{month:02d}-12", "40000", "28000", region="华东", quantity="32"))
        records.append(
            sale(
                account,
                f"2026-{month:02d}-20",
                "20000",
                "14000",
                product_line="PLC控制器",
                region="华南",
                quantity="10",
            )
        )
    return records


async def test_forecast_attainment_and_variance_on_a_fixture_match_hand_computation(make_database):
    app, _ = goals_app(await make_database("goals"))  # today 2026-07-01: six months of 2026 are over
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="三一重工股份有限公司")
        result = await record(client, *fixture_sales(account))
        assert result["recorded"] == 24 and len(result["account_months"]) == 18
        revenue = await create_target(
            client, account_id=account, metric="revenue", period="2026", target_value="1200000"
        )
        margin = await create_target(
            client, account_id=account, metric="gross_margin_pct", period="2026", target_value="35"
        )
        reach = await create_target(
            client, account_id=account, metric="product_penetration", period="2026", target_value="50"
        )
        new = await create_target(client, account_id=account, metric="new_business", period="2026", target_value="3")

        t = (await client.get(f"/goals/targets/{revenue['id']}", headers=SUPERVISOR)).json()["tracking"]
        # 360,000 sold; last year the first half carried 300,000 of 1,200,000 (25 %) → seasonal 360,000 / 0.25.
        assert t["actual"] == "360000.00"
        assert t["attainment_pct"] == "30.00"
        assert t["run_rate_forecast"] == "720000.00"  # 360,000 / 6 × 12
        assert t["seasonal_forecast"] == "1440000.00"
        assert t["forecast_method"] == "seasonal" and t["forecast"] == "1440000.00"
        assert t["forecast_attainment_pct"] == "120.00"
        assert t["gap"] == "-240000.00"

        m = (await client.get(f"/goals/targets/{margin['id']}", headers=SUPERVISOR)).json()["tracking"]
        assert (m["actual"], m["attainment_pct"]) == ("30.00", "85.71")  # 108,000 / 360,000; 30 / 35
        p = (await client.get(f"/goals/targets/{reach['id']}", headers=SUPERVISOR)).json()["tracking"]
        assert p["actual"] == "33.33"  # 2 of 6 product lines
        n = (await client.get(f"/goals/targets/{new['id']}", headers=SUPERVISOR)).json()["tracking"]
        assert n["actual"] == "2.00"  # PLC控制器 and the region 华南 are new against the 12 months before

        v = (
            await client.get(
                f"/goals/targets/{revenue['id']}/variance", params={"compare": "previous_year"}, headers=SUPERVISOR
            )
        ).json()
        assert v["baseline_period"] == "2025"
        assert (v["current_total"], v["baseline_total"], v["delta"]) == ("360000.00", "300000.00", "60000.00")
        lines = {r["key"]: r for r in v["by_product_line"]}
        # 工业网关: 192 units at 1,250 against 300 at 1,000 → volume −108,000, price +48,000.
        assert (lines["工业网关"]["delta"], lines["工业网关"]["volume_effect"], lines["工业网关"]["price_effect"]) == (
            "-60000.00",
            "-108000.00",
            "48000.00",
        )
        # PLC控制器 was not bought last year: a new product, its own effect (not volume).
        assert (lines["PLC控制器"]["delta"], lines["PLC控制器"]["new_effect"]) == ("120000.00", "120000.00")
        assert lines["PLC控制器"]["volume_effect"] == "0.00"
        assert lines["PLC控制器"]["share_pct"] == "200.00"
        assert {r["key"]: r["delta"] for r in v["by_region"]} == {"华东": "-60000.00", "华南": "120000.00"}
        assert [r["delta"] for r in v["by_month"]] == ["10000.00"] * 6
        assert v["by_month"][0]["share_pct"] == "16.67"

        vt = (
            await client.get(
                f"/goals/targets/{revenue['id']}/variance", params={"compare": "target"}, headers=SUPERVISOR
            )
        ).json()
        assert (vt["baseline_total"], vt["delta"]) == ("600000.00", "-240000.00")  # six even months of 100,000


async def test_actuals_that_push_the_forecast_below_threshold_publish_one_target_at_risk_over_nats(
    make_database, nats_url
):
    app, _ = goals_app(await make_database("goals"), nats_url=nats_url)
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="格力电器")
        await record(client, *[sale(account, f"2026-{m:02d}-05", "100000") for m in range(1, 7)])
        target = await create_target(
            client, account_id=account, metric="revenue", period="2026", target_value="1200000"
        )
        approved = await approve(client, target["id"])
        assert approved["at_risk"] is False  # run-rate 1,200,000: on track

        # A return of 150,000 (退货) drops the run-rate to 900,000 = 75 % < 90 %: at risk.
        await record(client, sale(account, "2026-06-28", "-150000"))
        # A further small return keeps it at risk: no second event.
        await record(client, sale(account, "2026-06-29", "-10000"))
        at_risk = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()
        assert at_risk["at_risk"] is True and at_risk["tracking"]["forecast"] == "880000.00"

        async def relayed():
            async with app.state.db.transaction() as session:
                outbox = platform.outbox
                return (
                    await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
                ) == 0

        await wait_until(relayed, message="outbox relayed to NATS")
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            received: list = []
            sub = await js.subscribe("kam.goals.target_at_risk", ordered_consumer=True)
            await wait_until(lambda: _drain(sub, received), message="at-risk event on JetStream")
            await asyncio.sleep(0.3)  # nothing else may follow
            await _drain(sub, received)
            actuals = await js.subscribe("kam.goals.actuals_recorded", ordered_consumer=True)
            recorded: list = []
            await wait_until(lambda: _drain(actuals, recorded, at_least=8), message="actuals events")
        finally:
            await nc.close()
        assert len(received) == 1
        import json

        event = json.loads(received[0])
        assert event["account_id"] == account and event["data"]["target_id"] == target["id"]
        assert event["data"]["forecast"] == "900000.00" and event["data"]["threshold_pct"] == "90"
        # One actuals event per account-month touched, carrying the new totals (June after both returns).
        june = [json.loads(r)["data"] for r in recorded if json.loads(r)["data"]["period"] == "2026-06"]
        assert [j["revenue"] for j in june] == ["100000.0000", "-50000.0000", "-60000.0000"]


async def _drain(sub, into: list, at_least: int = 1) -> bool:
    while True:
        try:
            msg = await sub.next_msg(timeout=0.05)
        except Exception:
            break
        into.append(msg.data)
    return len(into) >= at_least


async def test_scorecards_on_a_fixture_match_hand_computed_weighted_kpi_scores(make_database):
    app, _ = goals_app(await make_database("goals"), now=datetime(2027, 1, 15, tzinfo=UTC))  # 2026 is over
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="客户A", owner_id="am-li")
        b = await register_account(app, name="客户B", owner_id="am-li")
        c = await register_account(app, name="客户C", owner_id="am-zhang")
        await record(
            client,
            sale(a, "2026-03-01", "1300", "900"),
            sale(b, "2026-05-01", "900", "600"),
            sale(c, "2026-08-01", "250", "100"),
        )
        for account, metric, value in (
            (a, "revenue", "1000"),
            (b, "revenue", "1100"),
            (a, "gross_profit", "400"),
            (b, "gross_profit", "300"),
            (c, "revenue", "500"),
        ):
            target = await create_target(client, account_id=account, metric=metric, period="2026", target_value=value)
            await approve(client, target["id"])
        # Li's accounts: 4 first responses, 3 within SLA; satisfaction 5, 4, 3. One complaint falls in 2027.
        for i, (within, satisfaction) in enumerate(((True, 5), (True, 4), (True, 3), (False, None))):
            cid = f"c-{i}"
            when = datetime(2026, 4 + i, 1, 9, tzinfo=UTC)
            await app.state.consumer.process(
                ComplaintAcknowledged(
                    source="complaints",
                    account_id=a if i % 2 else b,
                    data={"complaint_id": cid, "acknowledged_at": when, "within_sla": within},
                )
            )
            await app.state.consumer.process(
                ComplaintClosed(
                    source="complaints",
                    account_id=a if i % 2 else b,
                    data={"complaint_id": cid, "closed_at": when, "satisfaction": satisfaction},
                )
            )
        await app.state.consumer.process(
            ComplaintAcknowledged(
                source="complaints",
                account_id=a,
                data={"complaint_id": "late", "acknowledged_at": datetime(2027, 1, 3, tzinfo=UTC), "within_sla": False},
            )
        )

        cards = {
            c["owner_id"]: c
            for c in (await client.get("/goals/scorecards", params={"period": "2026"}, headers=SUPERVISOR)).json()
        }
        li = cards["am-li"]
        # revenue 2,200 / 2,100 = 104.76; margin 700 / 700 = 100; SLA 3/4 = 75; satisfaction 4/5 = 80;
        # one target at risk (B: 900 of 1,100 = 81.8 % < 90 %) → 100 − 20 = 80.
        # 0.35×104.76 + 0.25×100 + 0.15×75 + 0.15×80 + 0.10×80 = 92.916
        assert {b["component"]: b["score"] for b in li["breakdown"]} == {
            "revenue_attainment": "104.76",
            "margin_attainment": "100.00",
            "sla_compliance": "75.00",
            "satisfaction": "80.00",
            "at_risk_targets": "80.00",
        }
        assert li["kpi_score"] == "92.92"
        assert (li["complaints_acknowledged"], li["complaints_within_sla"], li["at_risk_targets"]) == (4, 3, 1)
        zhang = cards["am-zhang"]
        # Only revenue (250 / 500 = 50) and at-risk (80) have data: (0.35×50 + 0.10×80) / 0.45 = 56.67
        assert zhang["kpi_score"] == "56.67"
        assert [
            c["owner_id"]
            for c in (await client.get("/goals/scorecards", params={"period": "2026"}, headers=ZHANG)).json()
        ] == ["am-zhang"]
        assert (await client.get("/goals/scorecards", params={"period": "2026"}, headers=LI)).json()[0][
            "kpi_score"
        ] == "92.92"


async def test_a_red_risk_alert_flags_the_accounts_targets_until_cleared(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="恒大客户")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="100")
        alert = {
            "alert_id": str(uuid.uuid4()),
            "rule_code": "overdue_90",
            "level": "red",
            "signal_type": "overdue",
            "title": "逾期超过90天",
        }
        raised_at = datetime(2026, 6, 1, tzinfo=UTC)
        await app.state.consumer.process(AlertRaised(source="risk", account_id=account, time=raised_at, data=alert))
        read = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()
        assert read["red_alert"] is True
        view = (await client.get(f"/goals/views/accounts/{account}", headers=SUPERVISOR)).json()
        assert view["red_alert"] is True and view["targets"][0]["red_alert"] is True
        # A stale re-delivery of the raise after the clear does not flag it again.
        await app.state.consumer.process(
            AlertCleared(source="risk", account_id=account, time=datetime(2026, 6, 2, tzinfo=UTC), data=alert)
        )
        await app.state.consumer.process(AlertRaised(source="risk", account_id=account, time=raised_at, data=alert))
        assert (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()["red_alert"] is False


async def test_a_product_line_part_at_risk_is_flagged_but_only_account_totals_are_published(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="分产品线客户")
        await record(client, *[sale(account, f"2026-{m:02d}-03", "100") for m in range(1, 7)])
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1200")
        parts = {"工业网关": "600", "PLC控制器": "600"}
        split = await client.post(
            f"/goals/targets/{target['id']}/split",
            json={"by": "product_line", "method": "manual", "parts": parts},
            headers=SUPERVISOR,
        )
        assert split.status_code == 201
        await approve(client, target["id"])
        rollup = (await client.get(f"/goals/targets/{target['id']}/rollup", headers=SUPERVISOR)).json()
        flags = {c["product_line"]: (c["status"], c["at_risk"]) for c in rollup["children"]}
        assert flags == {"工业网关": ("approved", False), "PLC控制器": ("approved", True)}
        async with app.state.db.transaction() as session:
            subjects = (
                (await session.execute(select(platform.outbox.c.subject).order_by(platform.outbox.c.seq)))
                .scalars()
                .all()
            )
        assert [s for s in subjects if s != "kam.goals.actuals_recorded"] == ["kam.goals.target_set"]

"""Money: every amount in a currency, bounded decimals, conversion with a dated rate or a 422, and no sum across
currencies (team roll-ups, scorecards, the portfolio board)."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import event, select

from services.goals.actuals.models import SalesRecord
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
    set_fx_rate,
)
from tests.support import running

HUGE = "1e999999"


async def test_a_usd_actual_on_a_cny_account_without_a_rate_is_422_naming_the_currency(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="美元客户")
        line = sale(account, "2026-03-10", "1000", "600", currency="USD")
        response = await client.post("/goals/actuals", json={"records": [line]}, headers=SUPERVISOR)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["field"] == "records.0.currency" and problem["currency"] == "USD"
        assert "USD→CNY" in problem["detail"] and "2026-03-10" in problem["detail"]
        async with app.state.db.transaction() as session:
            assert (await session.scalars(select(SalesRecord))).all() == []  # nothing summed raw


async def test_with_a_rate_a_usd_actual_is_converted_with_the_latest_rate_on_or_before_its_date(make_database):
    app, _ = goals_app(await make_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="美元客户")
        await set_fx_rate(app, "USD", "7.1", "2026-01-01")
        await set_fx_rate(app, "USD", "7.25", "2026-03-01")
        result = await record(
            client,
            sale(account, "2026-02-28", "1000", "600", currency="USD"),  # 7.1 (the rate of 03-01 is not yet valid)
            sale(account, "2026-03-01", "100.01", "0", currency="USD"),  # 7.25
            sale(account, "2026-03-02", "50", "10"),  # CNY, the account's reporting currency
        )
        converted = {c["index"]: c for c in result["converted"]}
        assert sorted(converted) == [0, 1]
        assert converted[0]["conversion"] == {
            "from_currency": "USD",
            "to_currency": "CNY",
            "rate": "7.1",
            "rate_valid_on": "2026-01-01",
        }
        assert (converted[0]["revenue"], converted[0]["cost"], converted[0]["currency"]) == (
            "7100.00",
            "4260.00",
            "CNY",
        )
        assert (converted[0]["original_revenue"], converted[0]["original_cost"]) == ("1000.00", "600.00")
        assert converted[1]["revenue"] == "725.0725" and converted[1]["conversion"]["rate"] == "7.25"
        months = {m["period"]: m for m in result["account_months"]}
        assert (months["2026-02"]["revenue"], months["2026-02"]["currency"]) == ("7100.00", "CNY")
        assert months["2026-03"]["revenue"] == "775.0725"  # 725.0725 + 50, both in CNY
        async with app.state.db.transaction() as session:
            rows = (await session.scalars(select(SalesRecord).order_by(SalesRecord.sale_date))).all()
        # The row keeps what was given and the rate used.
        assert next((r.currency, r.original_currency, r.original_revenue, r.fx_rate, r.fx_rate_on) for r in rows) == (
            "CNY",
            "USD",
            D(1000),
            D("7.1"),
            datetime(2026, 1, 1).date(),
        )
        assert rows[2].original_currency is None and rows[2].fx_rate is None
        # Before the first rate there is none to use.
        early = await client.post(
            "/goals/actuals",
            json={"records": [sale(account, "2025-12-31", "1", "0", currency="USD")]},
            headers=SUPERVISOR,
        )
        assert early.status_code == 422 and "2025-12-31" in early.json()["detail"]
        rates = (await client.get("/goals/fx-rates", params={"currency": "USD"}, headers=LI)).json()
        assert [(r["rate"], r["valid_on"]) for r in rates["items"]] == [("7.25", "2026-03-01"), ("7.1", "2026-01-01")]


async def test_a_late_redelivery_of_an_older_rate_does_not_overwrite_a_newer_one(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await set_fx_rate(app, "JPY", "0.048", "2026-03-01", time=datetime(2026, 3, 1, 9, tzinfo=UTC))
        await set_fx_rate(app, "JPY", "0.049", "2026-03-01", time=datetime(2026, 3, 1, 8, tzinfo=UTC))
        rates = (await client.get("/goals/fx-rates", headers=SUPERVISOR)).json()["items"]
        assert [(r["currency"], r["rate"]) for r in rates] == [("JPY", "0.048")]


TARGET = {"metric": "revenue", "period": "2026", "target_value": "1"}
LINE = {"date": "2026-03-01", "product_line": "工业网关", "revenue": "1", "cost": "0"}


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("/goals/targets", {"target_value": HUGE}, "target_value"),
        ("/goals/targets", {"stretch_value": HUGE}, "stretch_value"),
        ("/goals/targets", {"target_value": "NaN"}, "target_value"),
        ("/goals/targets", {"target_value": "1.00001"}, "target_value"),
        ("/goals/targets", {"currency": "usd"}, "currency"),
        ("/goals/targets", {"currency": "XYZ"}, "currency"),
        ("/goals/targets", {"currency": "元"}, "currency"),
        ("/goals/actuals", {"revenue": HUGE}, "records.0.revenue"),
        ("/goals/actuals", {"cost": HUGE}, "records.0.cost"),
        ("/goals/actuals", {"quantity": HUGE}, "records.0.quantity"),
        ("/goals/actuals", {"revenue": "Infinity"}, "records.0.revenue"),
        ("/goals/actuals", {"currency": "US$"}, "records.0.currency"),
    ],
)
async def test_unbounded_numbers_and_unknown_currencies_are_422_naming_the_field(sqlite_database, path, change, field):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account = await register_account(app, name="边界客户")
        if path == "/goals/targets":
            body = {"account_id": account, **TARGET, **change}
        else:
            body = {"records": [{"account_id": account, **LINE, **change}]}
        response = await client.post(path, json=body, headers=SUPERVISOR)
        assert response.status_code == 422, response.text
        assert {e["field"] for e in response.json()["errors"]} == {field}


async def test_huge_numbers_in_changes_splits_and_action_items_are_422(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="边界客户")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1")
        for path, method, body, field in (
            (f"/goals/targets/{target['id']}", "PATCH", {"target_value": HUGE}, "target_value"),
            (f"/goals/targets/{target['id']}", "PATCH", {"manual_actual": HUGE}, "manual_actual"),
            (f"/goals/targets/{target['id']}/split", "POST", {"method": "seasonal", "weights": [HUGE]}, "weights.0"),
            (f"/goals/targets/{target['id']}/split", "POST", {"method": "manual", "parts": {"2026-Q1": HUGE}}, None),
            (
                f"/goals/targets/{target['id']}/actions",
                "POST",
                {"title": "t", "owner_id": "am-li", "due_date": "2026-08-01", "expected_impact": HUGE},
                "expected_impact",
            ),
        ):
            response = await client.request(method, path, json=body, headers=SUPERVISOR)
            assert response.status_code == 422, (path, response.text)
            fields = [e["field"] for e in response.json()["errors"]]
            assert fields and (field is None or fields == [field]), fields
        assert (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()["target_value"] == "1.00"


async def test_a_usd_target_on_a_cny_account_is_converted_with_todays_rate_or_refused(make_database):
    app, _ = goals_app(await make_database("goals"))  # today 2026-07-01 (Asia/Shanghai 08:00)
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="美元目标")
        body = {"account_id": account, "metric": "revenue", "period": "2026", "target_value": "1000"}
        refused = await client.post("/goals/targets", json={**body, "currency": "USD"}, headers=SUPERVISOR)
        assert refused.status_code == 422 and refused.json()["field"] == "currency"
        assert "USD→CNY" in refused.json()["detail"]
        await set_fx_rate(app, "USD", "7.2", "2026-06-30")
        await set_fx_rate(app, "USD", "9.9", "2026-07-02")  # not valid yet
        target = await create_target(client, **body, currency="USD", stretch_value="1200")
        assert (target["currency"], target["unit"], target["target_value"], target["stretch_value"]) == (
            "CNY",
            "CNY",
            "7200.00",
            "8640.00",
        )
        assert target["conversion"] == {
            "currency": "USD",
            "target_value": "1000.00",
            "stretch_value": "1200.00",
            "rate": "7.2",
            "rate_valid_on": "2026-06-30",
        }
        # A percentage is not an amount: it takes no other currency.
        pct = {"account_id": account, "metric": "gross_margin_pct", "period": "2026", "target_value": "30"}
        response = await client.post("/goals/targets", json={**pct, "currency": "USD"}, headers=SUPERVISOR)
        assert response.status_code == 422 and response.json()["field"] == "currency"
        # A new value is given in the target's own currency: the record of the conversion goes.
        changed = await client.patch(
            f"/goals/targets/{target['id']}", json={"target_value": "7300"}, headers=SUPERVISOR
        )
        assert changed.json()["conversion"] is None and changed.json()["target_value"] == "7300.00"


async def test_the_csv_import_converts_foreign_rows_reports_rows_without_a_rate_and_queries_rates_per_chunk(
    make_database, tmp_path
):
    app, _ = goals_app(await make_database("goals"), import_batch_size=100)
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="多币种导入")
        await set_fx_rate(app, "USD", "7", "2026-01-01")
        lines = ["account_id,date,product_line,region,quantity,revenue,cost,币种"]
        for i in range(500):
            currency = ("USD", "", "CNY", "EUR", "usd")[i % 5]
            lines.append(f"{account},2026-03-{1 + i % 28:02d},工业网关,华东,1,10,5,{currency}")
        queries: list[str] = []

        def count(conn, cursor, statement, *args):
            if "fx_rates" in statement:
                queries.append(statement)

        event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", count)
        try:
            job = (
                await client.post(
                    "/goals/imports",
                    params={"batch_id": "fx-1", "wait": "true"},
                    content="\n".join(lines).encode(),
                    headers=SUPERVISOR,
                )
            ).json()
        finally:
            event.remove(app.state.db.engine.sync_engine, "before_cursor_execute", count)
        assert (job["status"], job["accepted"], job["rejected"]) == ("completed", 300, 200), job
        # One rate query per chunk that met currencies not seen before (here only the first), never one per row.
        assert len(queries) <= 5
        rejected = (
            await client.get("/goals/imports/fx-1/rejections", params={"limit": 500}, headers=SUPERVISOR)
        ).json()
        items = rejected["items"]
        assert len([r for r in items if r["reason"].startswith("no EUR→CNY rate valid on or before 2026-03-")]) == 100
        assert len([r for r in items if "currency 'usd' is not an ISO 4217 currency code" in r["reason"]]) == 100
        totals = (
            await client.get(
                f"/goals/accounts/{account}/actuals", params={"from": "2026-03", "to": "2026-03"}, headers=SUPERVISOR
            )
        ).json()
        # 100 USD rows at 10 × 7 = 7,000 and 200 CNY rows at 10 = 2,000.
        assert (totals[0]["revenue"], totals[0]["currency"]) == ("9000.00", "CNY")
        async with app.state.db.transaction() as session:
            usd = (await session.scalars(select(SalesRecord).where(SalesRecord.original_currency == "USD"))).all()
        assert len(usd) == 100 and {(r.fx_rate, r.original_revenue, r.revenue) for r in usd} == {(D(7), D(10), D(70))}


async def test_an_account_reporting_in_usd_converts_cny_sales_and_cannot_be_summed_with_cny_accounts(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"), now=datetime(2027, 1, 15, tzinfo=UTC))
    async with running(app) as client:
        await register_team(app)
        cny = await register_account(app, name="人民币客户", owner_id="am-li")
        usd = await register_account(app, name="美元报告客户", owner_id="am-li")
        path = f"/goals/accounts/{usd}/reporting-currency"
        assert (await client.get(path, headers=LI)).json() == {
            "account_id": usd,
            "currency": "CNY",
            "source": "setting",
            "set_by": None,
            "set_at": None,
        }
        assert (await client.put(path, json={"currency": "USD"}, headers=LI)).status_code == 403
        assert (await client.put(path, json={"currency": "usd"}, headers=SUPERVISOR)).status_code == 422
        assert (await client.put(path, json={"currency": "USD", "source": "x"}, headers=SUPERVISOR)).status_code == 422
        done = (await client.put(path, json={"currency": "USD"}, headers=SUPERVISOR)).json()
        assert (done["currency"], done["source"], done["set_by"]) == ("USD", "account", "sup-wang")
        # A CNY sale on the USD account needs a CNY→USD rate.
        refused = await client.post(
            "/goals/actuals",
            json={"records": [sale(usd, "2026-05-01", "710", "0", currency="CNY")]},
            headers=SUPERVISOR,
        )
        assert refused.status_code == 422 and "CNY→USD" in refused.json()["detail"]
        await set_fx_rate(app, "CNY", "0.14", "2026-01-01", base="USD")
        result = await record(
            client, sale(usd, "2026-05-01", "710", "0", currency="CNY"), sale(cny, "2026-05-01", "100")
        )
        assert {m["account_id"]: (m["revenue"], m["currency"]) for m in result["account_months"]} == {
            usd: ("99.40", "USD"),
            cny: ("100.00", "CNY"),
        }
        # Once it has figures the reporting currency stays.
        assert (await client.put(path, json={"currency": "CNY"}, headers=SUPERVISOR)).status_code == 409
        for account in (cny, usd):
            for year in ("2026", "2027"):  # last year's (scorecards) and this year's (the board)
                t = await create_target(client, account_id=account, metric="revenue", period=year, target_value="100")
                await approve(client, t["id"])
        # Li's book is in two currencies: nothing adds them up.
        for url, params in (
            ("/goals/team-targets", {"period": "2026", "owner_id": "am-li"}),
            ("/goals/scorecards", {"period": "2026"}),
        ):
            response = await client.get(url, params=params, headers=SUPERVISOR)
            assert response.status_code == 422, (url, response.text)
            assert response.json()["field"] == "currency" and "CNY, USD" in response.json()["detail"]
        board = await client.get("/goals/views/portfolio", headers=SUPERVISOR)
        assert board.status_code == 422 and board.json()["field"] == "currency"
        view = (await client.get(f"/goals/views/accounts/{usd}", headers=SUPERVISOR)).json()
        assert view["currency"] == "USD"


async def test_roll_ups_and_scorecards_in_one_currency_say_which(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"), now=datetime(2027, 1, 15, tzinfo=UTC))
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="甲", owner_id="am-li")
        await record(client, sale(a, "2026-05-01", "100"))
        t = await create_target(client, account_id=a, metric="revenue", period="2026", target_value="100")
        await approve(client, t["id"])
        rows = (await client.get("/goals/team-targets", params={"period": "2026"}, headers=SUPERVISOR)).json()
        assert [(r["metric"], r["currency"], r["rolled_up"]) for r in rows] == [("revenue", "CNY", "100.00")]
        [card] = (await client.get("/goals/scorecards", params={"period": "2026"}, headers=SUPERVISOR)).json()
        assert (card["currency"], card["revenue_actual"]) == ("CNY", "100.00")
        assert (await client.get("/goals/views/portfolio", headers=SUPERVISOR)).json()["currency"] == "CNY"

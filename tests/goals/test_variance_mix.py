"""Variance with price, volume, mix, cost and new / lost effects: hand-computed examples, the property that the
effects add up to the delta exactly at every level, and the account / team / portfolio variance over the API
(read from the aggregates, one currency)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from services.goals.actuals.figures import SalesCell
from services.goals.analysis.effects import breakdown
from services.goals.variance import Sales, unit_effects
from tests.goals.helpers import LI, SUPERVISOR, goals_app, record, register_account, register_team, sale
from tests.goals.test_sales_aggregates import recorded_sql
from tests.support import running


def test_gross_profit_variance_splits_into_price_cost_volume_and_mix_by_hand():
    # X: 10 at 100 (cost 60) → 12 at 110 (cost 70); Y: 10 at 50 (cost 20) → 4 at 50 (cost 25). Q 20 → 16 (× 0.8).
    before = {"X": Sales(D(1000), D(600), D(10)), "Y": Sales(D(500), D(200), D(10))}
    now = {"X": Sales(D(1320), D(840), D(12)), "Y": Sales(D(200), D(100), D(4))}
    e = unit_effects(now, before, metric="gross_profit")
    # X: price 1320 − 100×12 = 120; cost −(840 − 60×12) = −120; volume −0.2 × 400 = −80; mix 12×40 − 0.8×400 = 160.
    assert (e["X"].price, e["X"].cost, e["X"].volume, e["X"].mix) == (120, -120, -80, 160)
    # Y: price 0; cost −(100 − 20×4) = −20; volume −0.2 × 300 = −60; mix 4×30 − 0.8×300 = −120.
    assert (e["Y"].price, e["Y"].cost, e["Y"].volume, e["Y"].mix) == (0, -20, -60, -120)
    assert e["X"].total + e["Y"].total == (480 + 100) - (400 + 300)
    revenue = unit_effects(now, before, metric="revenue")
    assert (revenue["X"].price, revenue["X"].volume, revenue["X"].mix, revenue["X"].cost) == (120, -200, 400, None)


money = st.decimals(min_value=-500, max_value=5000, places=4, allow_nan=False, allow_infinity=False)
quantity = st.one_of(st.none(), st.decimals(min_value=0, max_value=300, places=2))
cell = st.tuples(
    st.sampled_from(["a-1", "a-2", "a-3"]),
    st.sampled_from(["01", "02", "03"]),
    st.sampled_from(["工业网关", "PLC控制器", "运维服务"]),
    st.sampled_from(["华东", "", "华南"]),
    money,
    st.decimals(min_value=0, max_value=3000, places=4),
    quantity,
)


def _cells(rows: list[tuple], year: str) -> list[SalesCell]:
    merged: dict[tuple, SalesCell] = {}
    for account, month, line, region, revenue, cost, qty in rows:
        merged[(account, month, line, region)] = SalesCell(account, f"{year}-{month}", line, region, revenue, cost, qty)
    return list(merged.values())


@settings(max_examples=150, deadline=None)
@given(st.lists(cell, max_size=25), st.lists(cell, max_size=25), st.sampled_from(["revenue", "gross_profit"]))
def test_effects_add_up_to_the_delta_exactly_at_every_level(now_rows, before_rows, metric):
    current, baseline = _cells(now_rows, "2026"), _cells(before_rows, "2025")
    months = ["2026-01", "2026-02", "2026-03"]
    label = {f"2025-{m[-2:]}": m for m in months}
    owners = {"a-1": "am-li", "a-2": "am-li", "a-3": "am-zhang"}
    parts = breakdown(current, baseline, metric=metric, months=months, label=label, owners=owners)
    delta = parts.current_total - parts.baseline_total
    assert parts.effects.total == delta  # the portfolio
    assert (parts.effects.cost is None) == (metric == "revenue")
    levels = {
        "product": parts.by_product_line,
        "month": parts.by_month,
        "region": parts.by_region,
        "account": parts.by_account,
        "team": parts.by_owner,
    }
    for name, rows in levels.items():
        assert sum((r.delta for r in rows), D(0)) == delta, name
        for r in rows:
            effects = (r.price_effect, r.volume_effect, r.mix_effect, r.new_effect, r.lost_effect, r.cost_effect or 0)
            assert sum(effects, D(0)) == r.delta, (name, r)


async def test_portfolio_team_and_account_variance_match_hand_computation_from_the_aggregates(make_database):
    app, _ = goals_app(await make_database("goals"))  # 2026-07-01: January to June compared
    async with running(app) as client:
        await register_team(app)
        a = await register_account(app, name="客户A", owner_id="am-li")
        b = await register_account(app, name="客户B", owner_id="am-zhang")
        await record(
            client,
            sale(a, "2025-02-01", "1000", "600", quantity="10"),  # 工业网关 10 at 100
            sale(a, "2026-02-01", "1320", "840", quantity="12"),  # … 12 at 110
            sale(a, "2025-03-01", "500", "200", "智能传感器", quantity="10"),  # 10 at 50
            sale(a, "2026-03-01", "200", "100", "智能传感器", quantity="4"),  # 4 at 50
            sale(a, "2025-04-01", "300", "100", "运维服务", quantity="2"),  # lost
            sale(b, "2026-04-01", "800", "500", "PLC控制器", quantity="5"),  # new
            sale(b, "2025-05-01", "1000", "700", quantity="10"),  # 工业网关 10 at 100
            sale(b, "2026-05-01", "900", "700", quantity="10"),  # … 10 at 90
        )
        with recorded_sql(app.state.db) as statements:
            response = await client.get("/goals/variance", params={"period": "2026"}, headers=SUPERVISOR)
        assert response.status_code == 200, response.text
        assert any("sales_aggregates" in s for s in statements)
        assert not any("sales_records" in s for s in statements)
        v = response.json()
        assert (v["current_total"], v["baseline_total"], v["delta"], v["currency"]) == (
            "3220.00",
            "2800.00",
            "420.00",
            "CNY",
        )
        # Continuing units: Q 30 → 26 at a baseline average of 2,500 / 30. Volume (26/30 − 1) × R0 per unit:
        # −133.33 (A 网关), −66.67 (A 传感器), −133.33 (B 网关); price +120, 0, −100; mix the rest of each delta.
        assert v["effects"] == {
            "price": "20.00",
            "volume": "-333.33",
            "mix": "233.33",
            "new": "800.00",
            "lost": "-300.00",
            "cost": None,
        }
        # Which accounts explain the gap: B +700 (new PLC 800, cheaper 网关 −100 …), then A −280.
        assert [(r["key"], r["name"], r["delta"], r["share_pct"]) for r in v["by_account"]] == [
            (b, "客户B", "700.00", "166.67"),
            (a, "客户A", "-280.00", "-66.67"),
        ]
        rows = {r["key"]: r for r in v["by_account"]}
        assert [rows[b][f"{k}_effect"] for k in ("price", "volume", "mix", "new", "lost")] == [
            "-100.00",
            "-133.33",
            "133.33",
            "800.00",
            "0.00",
        ]
        assert [r["key"] for r in v["by_owner"]] == ["am-zhang", "am-li"]
        lines = {r["key"]: r for r in v["by_product_line"]}
        assert (lines["工业网关"]["delta"], lines["工业网关"]["price_effect"], lines["工业网关"]["mix_effect"]) == (
            "220.00",
            "20.00",
            "466.66",
        )
        months = {r["key"]: r for r in v["by_month"]}
        assert months["2026-04"]["new_effect"] == "800.00" and months["2026-04"]["lost_effect"] == "-300.00"

        team = (
            await client.get(
                "/goals/variance", params={"scope": "team", "owner_id": "am-li", "period": "2026"}, headers=SUPERVISOR
            )
        ).json()
        # Li's book alone: Q 20 → 16 (× 0.8): 网关 price 120, volume −200, mix 1200 − 800 = 400; 传感器 volume −100,
        # mix 200 − 400 = −200; 运维服务 lost −300.
        assert (team["delta"], team["accounts"], team["by_owner"]) == ("-280.00", 1, [])
        assert team["effects"] == {
            "price": "120.00",
            "volume": "-300.00",
            "mix": "200.00",
            "new": "0.00",
            "lost": "-300.00",
            "cost": None,
        }
        profit = (
            await client.get(
                "/goals/variance",
                params={"scope": "account", "account_id": a, "period": "2026", "metric": "gross_profit"},
                headers=SUPERVISOR,
            )
        ).json()
        # A's gross profit 480 + 100 − (400 + 300 + 200) = −320: price 120, cost −140, volume −140, mix 40, lost −200.
        assert profit["effects"] == {
            "price": "120.00",
            "volume": "-140.00",
            "mix": "40.00",
            "new": "0.00",
            "lost": "-200.00",
            "cost": "-140.00",
        }
        mine = (await client.get("/goals/variance", params={"period": "2026"}, headers=LI)).json()
        assert [r["key"] for r in mine["by_account"]] == [a]  # an account manager's portfolio is their own
        hidden = await client.get("/goals/variance", params={"scope": "account", "account_id": b}, headers=LI)
        assert hidden.status_code == 404


async def test_a_portfolio_in_several_currencies_is_refused_unless_one_is_chosen(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        cny = await register_account(app, name="人民币客户")
        usd = await register_account(app, name="Dollar Inc")
        put = await client.put(
            f"/goals/accounts/{usd}/reporting-currency", json={"currency": "USD"}, headers=SUPERVISOR
        )
        assert put.status_code == 200, put.text
        await record(client, sale(cny, "2026-01-05", "100"), sale(usd, "2026-01-05", "7"))
        mixed = await client.get("/goals/variance", params={"period": "2026"}, headers=SUPERVISOR)
        assert mixed.status_code == 422, mixed.text
        assert mixed.json()["errors"][0]["field"] == "currency" and mixed.json()["currencies"] == ["CNY", "USD"]
        dollars = (
            await client.get("/goals/variance", params={"period": "2026", "currency": "USD"}, headers=SUPERVISOR)
        ).json()
        assert (dollars["currency"], dollars["accounts"], dollars["current_total"]) == ("USD", 1, "7.00")

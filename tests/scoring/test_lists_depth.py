"""The scoring lists in depth: repeatable filters, score and purchase ranges (min > max a 422 naming the field),
search by name, credit code and ERP code with LIKE wildcards taken literally, pinyin name order, purchases order
paged in SQL, tier movers netted per account with totals, the tier distribution's shares of accounts and of
purchases per currency, and the score history of an account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import httpx
from sqlalchemy import func, select

from services.scoring.registry.models import ScorePoint
from services.scoring.registry.name_order import name_sort_key
from shared.clock import FrozenClock
from shared.events import ActualsRecorded
from tests.scoring.support import NOW, account_payload, credit_code, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")


async def _register(client: httpx.AsyncClient, name: str, **fields: Any) -> str:
    r = await client.post("/accounts", json=account_payload(name, **fields), headers=SUP)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _actuals(app: Any, account: str, revenue: str, currency: str = "CNY", period: str = "2026-11") -> None:
    data = {"period": period, "revenue": revenue, "cost": "0", "gross_profit": "0", "currency": currency}
    await app.state.consumer.process(ActualsRecorded(source="goals", account_id=account, data=data))


async def _override(client: httpx.AsyncClient, account: str, tier: str) -> None:
    r = await client.post(f"/accounts/{account}/tier-override", json={"tier": tier, "reason": "测试"}, headers=SUP)
    assert r.status_code == 201, r.text


async def _names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    r = await client.get("/accounts", params=params, headers=SUP)
    assert r.status_code == 200, r.text
    return [a["name"] for a in r.json()["items"]]


def _field(response: httpx.Response) -> Any:
    problem = response.json()
    return problem.get("field") or problem["errors"][0]["field"]


def test_names_sort_by_their_pinyin_with_latin_names_between() -> None:
    names = ["腾讯", "IBM", "百度", "Apple", "阿里巴巴", "重庆银行", "华为"]
    assert sorted(names, key=name_sort_key) == ["阿里巴巴", "Apple", "百度", "重庆银行", "华为", "IBM", "腾讯"]
    assert name_sort_key("ＩＢＭ（中国）") == "ibm zhong guo"


async def test_the_account_list_filters_by_many_values_ranges_and_searches_codes_literally(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        tencent = await _register(client, "腾讯", region="华南", credit_code=credit_code(1), erp_codes=["SAP-100_A"])
        baidu = await _register(client, "百度", region="华北", status="key_account")
        alibaba = await _register(client, "阿里巴巴", region="华东", name_en="Alibaba Group")
        await _register(client, "Apple", region="海外", status="former")
        await _register(client, "50%折扣商城", region="华东")
        await _register(client, "5000强商行", region="华东", erp_codes=["SAP-1000A"])
        await _override(client, tencent, "strategic")
        await _override(client, baidu, "key")
        for account, revenue in ((tencent, "3000000"), (baidu, "1000000"), (alibaba, "2000000")):
            await _actuals(app, account, revenue)
        assert await _names(client, sort="name") == ["50%折扣商城", "5000强商行", "阿里巴巴", "Apple", "百度", "腾讯"]
        assert (await _names(client, sort="-name"))[:2] == ["腾讯", "百度"]
        assert await _names(client, tier=["strategic", "key"]) == ["百度", "腾讯"]
        assert await _names(client, region=["华南", "华北"], status=["prospect", "key_account"]) == ["百度", "腾讯"]
        assert await _names(client, status=["former"]) == ["Apple"]
        assert await _names(client, q="50%") == ["50%折扣商城"]  # not 5000强商行: % is no wildcard
        assert await _names(client, q="SAP-100_") == ["腾讯"]  # not SAP-1000A: _ is no wildcard
        assert await _names(client, q=credit_code(1)[4:12].lower()) == ["腾讯"]
        assert await _names(client, q="alibaba") == ["阿里巴巴"]
        assert await _names(client, revenue_min="1000000", revenue_max="2000000") == ["阿里巴巴", "百度"]
        assert await _names(client, revenue_min="1000000", revenue_currency="CNY", sort="-purchases") == [
            "腾讯",
            "阿里巴巴",
            "百度",
        ]
        scores = {a["name"]: D(a["score"]) for a in (await client.get("/accounts", headers=SUP)).json()["items"]}
        low = sorted(set(scores.values()))[0]
        assert set(await _names(client, score_min=str(low + D("0.01")))) == {n for n, s in scores.items() if s > low}
        assert set(await _names(client, score_max=str(low))) == {n for n, s in scores.items() if s <= low}
        refused = {
            "score_min": {"score_min": "60", "score_max": "50"},
            "revenue_min": {"revenue_min": "10", "revenue_max": "5"},
            "revenue_currency": {"revenue_min": "10", "revenue_currency": "USD"},
        }
        for field, params in refused.items():
            r = await client.get("/accounts", params=params, headers=SUP)
            assert r.status_code == 422 and _field(r) == field, (field, r.text)


async def test_sorting_by_purchases_pages_in_sql_with_a_stable_tie_break(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        revenues = {"甲": "500", "乙": "900", "丙": "500", "丁": "100", "戊": "700"}
        ids = {name: await _register(client, name) for name in revenues}
        for name, revenue in revenues.items():
            await _actuals(app, ids[name], revenue)
        pages = [await _names(client, sort="-purchases", limit=2, offset=offset) for offset in (0, 2, 4)]
        ascending = [await _names(client, sort="purchases", limit=2, offset=offset) for offset in (0, 2, 4)]
    tie = sorted(["甲", "丙"], key=name_sort_key)  # equal purchases: by pinyin name (bing < jia)
    assert [n for page in pages for n in page] == ["乙", "戊", *tie, "丁"]
    assert [n for page in ascending for n in page] == ["丁", *tie, "戊", "乙"]


async def test_movers_are_netted_per_account_with_direction_and_totals(make_database):
    clock = FrozenClock(NOW)
    app = scoring_app(await make_database("scoring"), clock=clock)
    async with running_with_people(app) as client:
        back = await _register(client, "回到原级")
        up = await _register(client, "升级客户")
        down = await _register(client, "降级客户")
        await _override(client, down, "key")
        clock.set(NOW + timedelta(hours=1))
        since = clock.now().isoformat()
        await _override(client, back, "key")
        await _override(client, back, "growth")
        assert (await client.delete(f"/accounts/{back}/tier-override", headers=SUP)).status_code == 204
        await _override(client, up, "key")
        clock.set(NOW + timedelta(hours=2))
        await _override(client, up, "strategic")
        await _override(client, down, "maintain")
        clock.set(NOW + timedelta(hours=3))
        await _register(client, "新客户")
        net = (await client.get("/scoring/tiers/movers/net", params={"since": since}, headers=SUP)).json()
        page = (await client.get("/scoring/tiers/movers/net", params={"since": since, "limit": 1}, headers=SUP)).json()
        until = (NOW + timedelta(hours=1, minutes=30)).isoformat()
        early = await client.get("/scoring/tiers/movers/net", params={"since": since, "until": until}, headers=SUP)
        li = (await client.get("/scoring/tiers/movers/net", params={"since": since}, headers=ZHANG)).json()
        wrong = await client.get("/scoring/tiers/movers/net", params={"since": until, "until": since}, headers=SUP)
    moves = {m["account_name"]: (m["from_tier"], m["to_tier"], m["direction"], m["changes"]) for m in net["items"]}
    assert moves == {
        "升级客户": ("maintain", "strategic", "up", 2),
        "降级客户": ("key", "maintain", "down", 1),
        "新客户": (None, "maintain", "new", 1),
    }
    assert net["items"][0]["account_name"] == "新客户"  # latest move first
    assert net["totals"] == {"up": 1, "down": 0 + 1, "new": 1, "net": 0} and net["total"] == 3
    assert page["total"] == 3 and len(page["items"]) == 1
    assert {m["account_name"]: m["direction"] for m in early.json()["items"]} == {"升级客户": "up"}
    assert li["items"] == [] and li["totals"]["net"] == 0
    assert wrong.status_code == 422 and _field(wrong) == "since"
    assert back  # maintain → key → growth → maintain: no mover


async def test_the_distribution_shows_each_tiers_share_of_accounts_and_of_purchases_per_currency(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        strategic = await _register(client, "战略客户")
        key = await _register(client, "重点客户")
        maintain = await _register(client, "维护客户")
        former = await _register(client, "流失客户", status="former")
        await _override(client, strategic, "strategic")
        await _override(client, key, "key")
        await _actuals(app, strategic, "600.10")
        await _actuals(app, key, "300.20")
        await _actuals(app, key, "50", currency="USD", period="2026-10")  # one currency a month
        await _actuals(app, maintain, "99.70", period="2026-01")
        await _actuals(app, maintain, "1000", period="2025-11")  # outside the 12 months ending 2026-11
        await _actuals(app, former, "5000")  # former accounts are not in the distribution
        body = (await client.get("/scoring/tiers/distribution", headers=SUP)).json()
    tiers = {t["code"]: t for t in body["tiers"]}
    assert body["total"] == 3 and body["period"] == "2026-11"
    assert body["purchases"] == [{"currency": "CNY", "amount": "1000.0000"}, {"currency": "USD", "amount": "50.0000"}]
    assert {c: t["count"] for c, t in tiers.items()} == {"strategic": 1, "key": 1, "growth": 0, "maintain": 1}
    assert tiers["strategic"]["share_pct"] == "33.33" and tiers["growth"]["share_pct"] == "0.00"
    cny = {c: next(p for p in t["purchases"] if p["currency"] == "CNY") for c, t in tiers.items()}
    usd = {c: next(p for p in t["purchases"] if p["currency"] == "USD") for c, t in tiers.items()}
    # Hand computation: 600.10 / 1000.00, 300.20 / 1000.00, 99.70 / 1000.00; USD only the key account's 50.
    assert {c: (p["amount"], p["share_pct"]) for c, p in cny.items()} == {
        "strategic": ("600.1000", "60.01"),
        "key": ("300.2000", "30.02"),
        "growth": ("0.0000", "0.00"),
        "maintain": ("99.7000", "9.97"),
    }
    assert (usd["key"]["share_pct"], usd["strategic"]["share_pct"]) == ("100.00", "0.00")


async def _points(app: Any, account: str | None = None) -> int:
    async with app.state.db.transaction() as session:
        query = select(func.count()).select_from(ScorePoint)
        if account is not None:
            query = query.where(ScorePoint.account_id == account)
        return int(await session.scalar(query) or 0)


async def test_every_score_write_that_changes_something_adds_a_point_to_the_score_history(make_database):
    clock = FrozenClock(NOW)
    app = scoring_app(await make_database("scoring"), clock=clock)
    async with running_with_people(app) as client:
        account = await _register(client, "历史客户", owner_id="am-li")
        clock.set(NOW + timedelta(days=1))
        await _actuals(app, account, "8000000")
        clock.set(NOW + timedelta(days=2))
        await _override(client, account, "strategic")
        clock.set(NOW + timedelta(days=3))
        assert (await client.post(f"/accounts/{account}/rescore", headers=SUP)).status_code == 200
        series = (await client.get(f"/accounts/{account}/score-history", headers=LI)).json()
        later = (NOW + timedelta(hours=12)).isoformat()
        window = await client.get(f"/accounts/{account}/score-history", params={"from": later}, headers=SUP)
        paged = await client.get(f"/accounts/{account}/score-history", params={"limit": 1, "offset": 2}, headers=SUP)
        hidden = await client.get(f"/accounts/{account}/score-history", headers=ZHANG)
        wrong = await client.get(
            f"/accounts/{account}/score-history", params={"from": later, "to": NOW.isoformat()}, headers=SUP
        )
        batch = await client.post(
            "/accounts/batch", json={"accounts": [account_payload(f"导入{i}") for i in range(3)]}, headers=SUP
        )
        imported = [a["id"] for a in batch.json()["items"]]
        before_rescore = await _points(app)
        again = await client.post("/accounts/batch", json={"accounts": [account_payload("导入3")]}, headers=SUP)
    points = [(p["score"] is not None, p["tier"], p["model_version"]) for p in series["items"]]
    assert series["total"] == 3 and points[0] == (True, "maintain", 1) and points[2][1] == "strategic"
    assert D(series["items"][1]["score"]) > D(series["items"][0]["score"])  # the purchases raised the score
    assert series["items"][1]["score"] == series["items"][2]["score"]  # the override moved the tier only
    assert [p["recorded_at"][:10] for p in series["items"]] == ["2026-11-15", "2026-11-16", "2026-11-17"]
    assert window.json()["total"] == 2 and paged.json()["items"][0]["tier"] == "strategic"
    assert hidden.status_code == 404
    assert wrong.status_code == 422 and _field(wrong) == "from"
    assert [await _points(app, i) for i in imported] == [1, 1, 1]  # the bulk path records each account's first
    assert again.status_code == 201 and await _points(app) - before_rescore >= 1

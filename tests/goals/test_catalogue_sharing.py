"""One product catalogue, owned by goals: a change is announced (goals.catalogue_changed) and reaches scoring's white
space over a real NATS; a start-up announces it only when it changed; a sales line of a product line the catalogue
does not know is kept and flagged (in the answer, in a list of unknown lines, and in scoring's strategy, where it
never counts as coverage)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from services.goals.models import platform
from shared.bus.nats import NatsBus
from shared.clock import FrozenClock
from shared.events import CatalogueChanged
from tests.goals.helpers import LI, SUPERVISOR, goals_app, register_team
from tests.scoring.support import account_payload, running_with_people, scoring_app
from tests.support import auth, running, wait_until

DEFAULT = ["工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务"]


async def _announcements(app) -> list[dict]:
    async with app.state.db.transaction(write=False) as session:
        rows = await session.scalars(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))
        events = [json.loads(r) for r in rows]
    return [e for e in events if e["type"] == "goals.catalogue_changed"]


async def _subscribed(*apps) -> bool:
    return all(app.state.consumer.subscribed.is_set() for app in apps)


async def test_a_catalogue_change_reaches_scorings_white_space_and_unknown_lines_are_flagged(make_database, nats_url):
    streams = NatsBus(nats_url, name="streams-under-test")
    await streams.start()
    assert await streams.wait_connected(timeout=10)
    await streams.ensure_streams(["accounts", "goals"])
    await streams.close()
    clock = FrozenClock(datetime(2026, 7, 15, 2, 0, tzinfo=UTC))
    scoring = scoring_app(await make_database("scoring"), nats_url=nats_url, clock=clock)
    goals, _ = goals_app(await make_database("goals"), nats_url=nats_url, now=clock.now())
    async with running_with_people(scoring, headers=SUPERVISOR) as registry, running(goals) as client:
        await register_team(goals)
        await wait_until(lambda: _subscribed(scoring, goals), message="consumers subscribed")
        assert await _announcements(goals) == []  # the default catalogue: nothing to announce at start-up
        assert (await registry.get("/scoring/product-catalogue")).json()["source"] == "setting"
        created = await registry.post("/accounts", json=account_payload("厦门目录测试有限公司", owner_id="am-li"))
        assert created.status_code == 201, created.text
        account = created.json()["id"]

        async def projected() -> bool:
            return (await client.get(f"/goals/accounts/{account}/actuals", headers=LI)).status_code == 200

        await wait_until(projected, timeout=30, message="goals projected the account")
        added = await client.put("/goals/product-lines/机器视觉", json={"description": "新产品线"}, headers=SUPERVISOR)
        assert added.status_code == 200, added.text
        retired = await client.put("/goals/product-lines/运维服务", json={"active": False}, headers=SUPERVISOR)
        assert retired.status_code == 200, retired.text

        async def scoring_knows() -> dict | None:
            catalogue = (await registry.get("/scoring/product-catalogue")).json()
            lines = {line["name"]: line["active"] for line in catalogue["lines"]}
            return catalogue if lines.get("机器视觉") is True and lines.get("运维服务") is False else None

        catalogue = await wait_until(scoring_knows, timeout=30, message="scoring learnt the catalogue")
        assert catalogue["source"] == "goals" and [line["name"] for line in catalogue["lines"]] == [
            *DEFAULT,
            "机器视觉",
        ]

        sale = {"account_id": account, "date": "2026-07-03", "region": "华南", "quantity": "1", "cost": "40"}
        recorded = await client.post(
            "/goals/actuals",
            json={
                "records": [
                    {**sale, "product_line": "工业网关", "revenue": "100"},
                    {**sale, "product_line": "神秘产品", "revenue": "80"},
                ]
            },
            headers=LI,
        )
        assert recorded.status_code == 201, recorded.text
        body = recorded.json()
        assert body["recorded"] == 2 and body["unknown_product_line"] is True
        assert body["unknown_product_lines"] == [
            {"index": 1, "account_id": account, "product_line": "神秘产品", "unknown_product_line": True}
        ]
        listed = (await client.get("/goals/actuals/unknown-product-lines", headers=SUPERVISOR)).json()
        assert listed == [
            {
                "product_line": "神秘产品",
                "accounts": 1,
                "sales_lines": 1,
                "first_month": "2026-07",
                "last_month": "2026-07",
                "revenue": [{"currency": "CNY", "amount": "80.00"}],
            }
        ]

        async def strategy_counts_the_sale() -> dict | None:
            strategy = (await registry.get(f"/accounts/{account}/strategy")).json()
            return strategy if strategy["product_lines_bought"] else None

        strategy = await wait_until(strategy_counts_the_sale, timeout=30, message="the sale reached scoring")
        audit = await client.get("/goals/audit", params={"object_type": "product_line"}, headers=auth("admin"))
    assert strategy["catalogue_source"] == "goals"
    assert strategy["product_lines_bought"] == ["工业网关"] and strategy["unknown_product_lines"] == ["神秘产品"]
    assert strategy["white_space"] == ["智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "机器视觉"]
    assert sorted(e["object_id"] for e in audit.json()["items"]) == ["机器视觉", "运维服务"]


async def test_a_start_announces_a_changed_catalogue_once_and_scoring_keeps_the_newest(sqlite_database):
    url = await sqlite_database("goals")
    first, _ = goals_app(url, product_lines=["工业网关", "储能系统"])
    async with running(first):
        [announced] = await _announcements(first)
    again, _ = goals_app(url, product_lines=["工业网关", "储能系统"])
    async with running(again):
        assert len(await _announcements(again)) == 1  # unchanged since: not announced again
    assert [line["name"] for line in announced["data"]["product_lines"]] == ["工业网关", "储能系统"]

    scoring = scoring_app(await sqlite_database("scoring"))
    newer = CatalogueChanged.model_validate(announced)
    older = CatalogueChanged(
        source="goals", time=datetime(2020, 1, 1, tzinfo=UTC), data={"product_lines": [{"name": "旧产品"}]}
    )
    async with running_with_people(scoring, headers=SUPERVISOR) as client:
        await scoring.state.consumer.process(newer)
        await scoring.state.consumer.process(older)  # arrives late: the newer catalogue stays
        catalogue = (await client.get("/scoring/product-catalogue")).json()
    assert [line["name"] for line in catalogue["lines"]] == ["工业网关", "储能系统"]

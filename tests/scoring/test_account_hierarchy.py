"""Account hierarchies in the registry: a group and its subsidiaries (``parent_account_id``) set on registration and
by PATCH (If-Match, audited, published), refused when invalid, shown as a tree, and rolled up per currency."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.scoring.models import audit_log
from shared.events import ActualsRecorded
from tests.scoring.support import account_payload, outbox_events, running_with_people, scoring_app
from tests.support import auth, if_match

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
UNKNOWN = "6f1c2a9e-5d1b-4c1e-9a51-2f0f3b7d8c11"


async def _register(client: httpx.AsyncClient, name: str, headers: dict[str, str] = SUP, **fields: Any) -> str:
    r = await client.post("/accounts", json=account_payload(name, **fields), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _patch_parent(client: httpx.AsyncClient, account: str, parent: str | None) -> httpx.Response:
    current = await client.get(f"/accounts/{account}", headers=SUP)
    return await client.patch(
        f"/accounts/{account}", json={"parent_account_id": parent}, headers={**SUP, **if_match(current)}
    )


def _names(node: dict[str, Any]) -> Any:
    return {node["name"]: [_names(child) for child in node["children"]]} if node["children"] else node["name"]


async def test_a_group_is_built_on_registration_and_by_patch_shown_as_a_tree_audited_and_published(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        group = await _register(client, "华东控股集团")
        east = await _register(client, "华东精工", parent_account_id=group)
        west = await _register(client, "西部制造")
        plant = await _register(client, "华东精工苏州工厂", parent_account_id=east)
        moved = await _patch_parent(client, west, group)
        assert moved.status_code == 200 and moved.json()["parent_account_id"] == group, moved.text

        tree = (await client.get(f"/accounts/{group}/hierarchy", headers=SUP)).json()
        assert tree["ancestors"] == [] and tree["top_account_id"] == group and tree["hidden_accounts"] == 0
        assert _names(tree["tree"]) == {"华东控股集团": [{"华东精工": ["华东精工苏州工厂"]}, "西部制造"]}
        below = (await client.get(f"/accounts/{plant}/hierarchy", headers=SUP)).json()
        assert [a["name"] for a in below["ancestors"]] == ["华东控股集团", "华东精工"]
        assert [a["depth"] for a in below["ancestors"]] == [0, 1] and below["tree"]["depth"] == 2
        direct = (await client.get(f"/accounts/{group}/subsidiaries", headers=SUP)).json()
        every = (await client.get(f"/accounts/{group}/subsidiaries", params={"all": "true"}, headers=SUP)).json()
        assert [a["name"] for a in direct] == ["华东精工", "西部制造"]
        assert [a["name"] for a in every] == ["华东精工", "西部制造", "华东精工苏州工厂"]

        registered = {e["account_id"]: e["data"] for e in await outbox_events(app, "accounts.registered")}
        assert registered[east]["parent_account_id"] == group and registered[group]["parent_account_id"] is None
        updated = await outbox_events(app, "accounts.updated")
        assert [(e["account_id"], e["data"]["parent_account_id"]) for e in updated] == [(west, group)]
        detached = await _patch_parent(client, west, None)
        assert detached.status_code == 200 and detached.json()["parent_account_id"] is None
        async with app.state.db.transaction() as session:
            rows = (
                await session.execute(
                    select(audit_log.c.object_id, audit_log.c.before, audit_log.c.after, audit_log.c.actor_id)
                    .where(audit_log.c.action == "account.parent_changed")
                    .order_by(audit_log.c.id)
                )
            ).all()
        assert [(r[0], r[1]["parent_account_id"], r[2]["parent_account_id"], r[3]) for r in rows] == [
            (east, None, group, "sup-wang"),
            (plant, None, east, "sup-wang"),
            (west, None, group, "sup-wang"),
            (west, group, None, "sup-wang"),
        ]


async def test_a_parent_that_is_the_account_below_it_unknown_unseen_or_too_deep_is_a_422(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        chain = [await _register(client, "层级0")]
        for level in range(1, 6):  # five groups above the last one: the deepest allowed
            chain.append(await _register(client, f"层级{level}", parent_account_id=chain[-1]))
        others = await _register(client, "张经理的客户", owner_id="am-zhang")
        loose = await _register(client, "独立客户")
        with_child = await _register(client, "有子公司的客户")
        await _register(client, "子公司", parent_account_id=with_child)
        cases = [
            ("itself", await _patch_parent(client, chain[2], chain[2]), "own parent"),
            ("a cycle", await _patch_parent(client, chain[1], chain[3]), "cycle"),
            ("six groups above", await _patch_parent(client, loose, chain[5]), "6 levels"),
            ("its subsidiary six below", await _patch_parent(client, with_child, chain[4]), "6 levels"),
            ("unknown", await _patch_parent(client, loose, UNKNOWN), "not found"),
            ("not a UUID", await _patch_parent(client, loose, "华东集团"), "parent_account_id"),
            (
                "another manager's account",
                await client.post(
                    "/accounts", json=account_payload("李经理的子公司", parent_account_id=others), headers=LI
                ),
                "not found",
            ),
            (
                "unknown in an import",
                await client.post(
                    "/accounts/batch",
                    json={"accounts": [account_payload("甲"), account_payload("乙", parent_account_id=UNKNOWN)]},
                    headers=SUP,
                ),
                "not found",
            ),
        ]
        for case, response, detail in cases:
            assert response.status_code == 422, (case, response.text)
            problem = response.json()
            fields = [e["field"] for e in problem.get("errors", [])] + [problem.get("field")]
            assert any(str(f).endswith("parent_account_id") for f in fields), (case, problem)
            assert detail in problem["detail"], (case, problem["detail"])
        assert (await client.get(f"/accounts/{chain[1]}", headers=SUP)).json()["parent_account_id"] == chain[0]


async def _actuals(app: Any, account: str, period: str, revenue: str, currency: str, line: str) -> None:
    data = {"period": period, "revenue": revenue, "cost": "0", "gross_profit": str(D(revenue) / 4)}
    data |= {"currency": currency, "by_product_line": {line: revenue}}
    await app.state.consumer.process(ActualsRecorded(source="goals", account_id=account, data=data))


@pytest.mark.parametrize(
    ("viewer", "subsidiaries", "hidden", "purchases", "leadership"),
    [
        (SUP, 2, 0, {"CNY": "300.0000", "USD": "50.0000"}, "8.0000"),
        (LI, 1, 1, {"CNY": "300.0000"}, "8.0000"),  # the USD subsidiary is am-zhang's: not rolled up for am-li
    ],
)
async def test_the_group_summary_adds_purchases_per_currency_never_across(
    sqlite_database, viewer, subsidiaries, hidden, purchases, leadership
):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        ratings = {"rationale": "集团", "industry_leadership": "5"}
        group = await _register(client, "集团总部", ratings=ratings, cooperation_since="2020-01-01")
        east = await _register(
            client, "华东子公司", parent_account_id=group, ratings={**ratings, "industry_leadership": "8"}
        )
        west = await _register(client, "海外子公司", parent_account_id=group, owner_id="am-zhang")
        await _actuals(app, group, "2026-10", "100", "CNY", "工业网关")
        await _actuals(app, east, "2026-11", "200", "CNY", "PLC控制器")
        await _actuals(app, west, "2026-09", "50", "USD", "SCADA软件")
        r = await client.get(f"/accounts/{group}/group-summary", headers=viewer)
        assert r.status_code == 200, r.text
        summary = r.json()
        assert (await client.get(f"/accounts/{west}/group-summary", headers=LI)).status_code == 404
    assert summary["period"] == "2026-11" and summary["member_ids"][0] == group
    assert (summary["subsidiaries"], summary["hidden_subsidiaries"]) == (subsidiaries, hidden)
    assert sum(summary["subsidiary_tiers"].values()) == subsidiaries
    assert {p["currency"]: p["annual_purchases"] for p in summary["purchases"]} == purchases
    inputs = summary["score_inputs"]
    assert inputs["industry_leadership"] == leadership and inputs["cooperation_since"] == "2020-01-01"
    assert inputs["stability"] == len(purchases) + 1  # months with purchases by any member (in any currency)
    assert ("SCADA软件" in inputs["product_lines"]) == ("USD" in purchases)

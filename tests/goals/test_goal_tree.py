"""A goal tree you can maintain (issue 14, item 8): cancelling and deleting targets, one live target per key,
splitting again without losing action items, a parent's new value and stretch carried down its parts."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

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
from tests.support import auth, running

ADMIN = auth("admin", user_id="u-admin")


async def _item(client, target_id: str, title: str, status: str = "open") -> dict[str, Any]:
    body = {"title": title, "owner_id": "am-li", "due_date": "2026-12-01", "status": status}
    response = await client.post(f"/goals/targets/{target_id}/actions", json=body, headers=SUPERVISOR)
    assert response.status_code == 201, response.text
    return response.json()


async def _items_by_title(client, target_id: str) -> dict[str, str]:
    response = await client.get(f"/goals/targets/{target_id}/actions", headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return {i["title"]: i["status"] for i in response.json()}


async def _split(client, target_id: str, body: dict[str, Any]):
    return await client.post(f"/goals/targets/{target_id}/split", json=body, headers=SUPERVISOR)


async def _parts(client, target_id: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    rollup = (await client.get(f"/goals/targets/{target_id}/rollup", headers=SUPERVISOR)).json()
    return {(c["period"], c["product_line"]): c for c in rollup["children"]}


async def test_cancel_an_approved_target_delete_a_draft_and_one_live_target_per_key(make_database):
    app, _ = goals_app(await make_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="中联重科")
        year = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="400")
        assert (await _split(client, year["id"], {"into": "quarters"})).status_code == 201
        q1 = (await _parts(client, year["id"]))[("2026-Q1", None)]
        await _item(client, q1["id"], "open-item")
        await _item(client, q1["id"], "done-item", status="done")

        # The same account, metric, period and product line twice: 409 naming the live one (a part counts too).
        same = {"account_id": account, "metric": "revenue", "target_value": "1"}
        for period, holder in (("2026", year["id"]), ("2026-Q1", q1["id"])):
            response = await client.post("/goals/targets", json={**same, "period": period}, headers=SUPERVISOR)
            assert response.status_code == 409 and response.json()["existing_target_id"] == holder
        batch = {"targets": [{**same, "period": "2026-05"}, {**same, "period": "2026-05"}]}
        response = await client.post("/goals/targets/batch", json=batch, headers=SUPERVISOR)
        assert response.status_code == 409 and response.json()["field"] == "targets.1", response.text
        await create_target(client, **same, period="2026", product_line="工业网关")  # another line: its own key

        # A draft is deleted, not cancelled; an approved one is cancelled, not deleted.
        response = await client.post(f"/goals/targets/{year['id']}/cancel", json={"reason": "x"}, headers=SUPERVISOR)
        assert response.status_code == 409 and "delete" in response.json()["detail"]
        await approve(client, year["id"])
        refusals = [
            (client.delete(f"/goals/targets/{year['id']}", headers=SUPERVISOR), 409, "approved"),
            (client.post(f"/goals/targets/{year['id']}/cancel", json={"reason": "x"}, headers=LI), 403, None),
            (client.post(f"/goals/targets/{year['id']}/cancel", json={}, headers=SUPERVISOR), 422, None),
            (client.post(f"/goals/targets/{q1['id']}/cancel", json={"reason": "x"}, headers=SUPERVISOR), 409, None),
        ]
        for call, status, named in refusals:
            response = await call
            assert response.status_code == status, response.text
            if named:
                assert response.json()["target_status"] == named and named in response.json()["detail"]

        reason = "客户战略调整，年度目标作废"
        response = await client.post(f"/goals/targets/{year['id']}/cancel", json={"reason": reason}, headers=ADMIN)
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert (cancelled["status"], cancelled["cancel_reason"], cancelled["cancelled_by"]) == (
            "cancelled",
            reason,
            "u-admin",
        )
        assert {p["status"] for p in (await _parts(client, year["id"])).values()} == {"cancelled"}
        # Open items are cancelled with the target, a done one keeps its record.
        assert await _items_by_title(client, q1["id"]) == {"open-item": "cancelled", "done-item": "done"}
        audit = (await client.get("/goals/audit", params={"object_id": year["id"]}, headers=ADMIN)).json()["items"]
        assert [(e["action"], e["after"]["reason"], e["actor_id"]) for e in audit] == [
            ("target.cancelled", reason, "u-admin")
        ]
        # A cancelled target is final and no longer holds its key.
        for call, status in (
            (client.patch(f"/goals/targets/{year['id']}", json={"note": "n"}, headers=SUPERVISOR), 409),
            (client.delete(f"/goals/targets/{year['id']}", headers=SUPERVISOR), 409),
            (
                client.post(
                    f"/goals/targets/{q1['id']}/actions",
                    json={"title": "t", "owner_id": "am-li", "due_date": "2026-12-01"},
                    headers=SUPERVISOR,
                ),
                409,
            ),
        ):
            assert (await call).status_code == status
        again = await create_target(client, **same, period="2026")
        draft_parts = await _split(client, again["id"], {"into": "quarters"})
        assert draft_parts.status_code == 201, draft_parts.text
        await _item(client, draft_parts.json()[0]["id"], "plan")
        response = await client.delete(f"/goals/targets/{again['id']}", headers=SUPERVISOR)
        assert response.status_code == 204, response.text
        for part in [again, *draft_parts.json()]:
            assert (await client.get(f"/goals/targets/{part['id']}", headers=SUPERVISOR)).status_code == 404
        listed = (await client.get("/goals/targets", params={"status": "cancelled"}, headers=SUPERVISOR)).json()
        assert listed["total"] == 5  # the cancelled year and its quarters stay on record


async def test_splitting_again_keeps_matching_parts_and_moves_or_refuses_the_action_items(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="潍柴动力")
        year = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1200")
        assert (await _split(client, year["id"], {"into": "months"})).status_code == 201
        months = await _parts(client, year["id"])
        await _item(client, months[("2026-02", None)]["id"], "february")
        await _item(client, months[("2026-07", None)]["id"], "july", status="done")

        # Months → quarters: each month's items move to the quarter that holds the month.
        response = await _split(client, year["id"], {"into": "quarters"})
        assert response.status_code == 201, response.text
        quarters = await _parts(client, year["id"])
        assert await _items_by_title(client, quarters[("2026-Q1", None)]["id"]) == {"february": "open"}
        assert await _items_by_title(client, quarters[("2026-Q3", None)]["id"]) == {"july": "done"}

        # Quarters again, seasonal: the parts for the same periods are kept (same ids, items, new values).
        response = await _split(client, year["id"], {"into": "quarters", "method": "seasonal", "weights": [1, 1, 2, 2]})
        assert response.status_code == 201, response.text
        kept = await _parts(client, year["id"])
        assert {k: p["id"] for k, p in kept.items()} == {k: p["id"] for k, p in quarters.items()}
        assert [kept[(f"2026-Q{q}", None)]["target_value"] for q in (1, 2, 3, 4)] == [
            "200.00",
            "200.00",
            "400.00",
            "400.00",
        ]

        # By product line no part covers a quarter: refused, naming the items, and nothing changed …
        lines = {"by": "product_line", "method": "manual", "parts": {"工业网关": "700", "PLC控制器": "500"}}
        response = await _split(client, year["id"], lines)
        assert response.status_code == 409, response.text
        assert sorted(i["title"] for i in response.json()["action_items"]) == ["february", "july"]
        assert "february" in response.json()["detail"]
        assert set(await _parts(client, year["id"])) == set(quarters)
        # … or, asked for, the items move up to the split target.
        response = await _split(client, year["id"], {**lines, "unmatched_items": "parent"})
        assert response.status_code == 201, response.text
        assert await _items_by_title(client, year["id"]) == {"february": "open", "july": "done"}

        # Removing a split: refused while parts hold items (none now); the target is whole again.
        gateway = (await _parts(client, year["id"]))[("2026", "工业网关")]
        await _item(client, gateway["id"], "gateway-pilot")
        response = await client.delete(f"/goals/targets/{year['id']}/split", headers=SUPERVISOR)
        assert response.status_code == 409 and response.json()["action_items"][0]["title"] == "gateway-pilot"
        response = await client.delete(
            f"/goals/targets/{year['id']}/split", params={"unmatched_items": "parent"}, headers=SUPERVISOR
        )
        assert response.status_code == 200, response.text
        assert response.json()["split_by"] is None and await _parts(client, year["id"]) == {}
        assert set(await _items_by_title(client, year["id"])) == {"february", "july", "gateway-pilot"}


async def test_a_parents_new_value_and_stretch_are_carried_down_the_tree_in_proportion(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="三一重工")
        year = await create_target(
            client, account_id=account, metric="revenue", period="2026", target_value="1000", stretch_value="1200"
        )
        quarters = {"2026-Q1": "100", "2026-Q2": "200", "2026-Q3": "300", "2026-Q4": "400"}
        response = await _split(client, year["id"], {"into": "quarters", "method": "manual", "parts": quarters})
        assert response.status_code == 201, response.text
        q2 = next(p for p in response.json() if p["period"] == "2026-Q2")
        assert (await _split(client, q2["id"], {"into": "months"})).status_code == 201

        def values(parts: dict) -> list[tuple[str, str | None]]:
            return [(p["target_value"], p["stretch_value"]) for _, p in sorted(parts.items())]

        # The parent's stretch applies to the parts made from it, in proportion (adding up to the cent).
        assert values(await _parts(client, year["id"])) == [
            ("100.00", "120.00"),
            ("200.00", "240.00"),
            ("300.00", "360.00"),
            ("400.00", "480.00"),
        ]
        assert values(await _parts(client, q2["id"])) == [
            ("66.67", "80.00"),
            ("66.67", "80.00"),
            ("66.66", "80.00"),
        ]
        # A new value (and stretch) of the year re-distributes its parts in their current proportions, all the way
        # down; the tree still adds up.
        change = {"target_value": "2000", "stretch_value": "2500"}
        response = await client.patch(f"/goals/targets/{year['id']}", json=change, headers=SUPERVISOR)
        assert response.status_code == 200, response.text
        assert values(await _parts(client, year["id"])) == [
            ("200.00", "250.00"),
            ("400.00", "500.00"),
            ("600.00", "750.00"),
            ("800.00", "1000.00"),
        ]
        # Q2's months keep 66.67 : 66.67 : 66.66 of 400 and their even share of Q2's stretch of 500.
        assert values(await _parts(client, q2["id"])) == [
            ("133.34", "166.67"),
            ("133.34", "166.67"),
            ("133.32", "166.66"),
        ]
        for target in (year, q2):
            assert (await client.get(f"/goals/targets/{target['id']}/rollup", headers=SUPERVISOR)).json()["consistent"]
        # A part's stretch follows its parent's; removing the parent's stretch removes the parts'.
        response = await client.patch(f"/goals/targets/{q2['id']}", json={"stretch_value": "999"}, headers=SUPERVISOR)
        assert response.status_code == 422 and response.json()["field"] == "stretch_value"
        response = await client.patch(f"/goals/targets/{year['id']}", json={"stretch_value": None}, headers=SUPERVISOR)
        assert response.status_code == 200, response.text
        assert {p["stretch_value"] for p in (await _parts(client, q2["id"])).values()} == {None}
        assert sum(D(p["target_value"]) for p in (await _parts(client, q2["id"])).values()) == D(400)


async def test_seasonal_templates_and_the_product_catalogue_are_kept_through_the_api(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="美的集团")
        retail = [str(w) for w in range(1, 13)]  # Σ 78
        bad_weights = [["1"] * 11, ["0"] * 12, ["-1", *["1"] * 11]]
        for weights, headers, status in [
            *[(w, SUPERVISOR, 422) for w in bad_weights],
            (retail, LI, 403),
            (retail, SUPERVISOR, 200),
        ]:
            response = await client.put(
                "/goals/seasonal-templates/retail", json={"weights": weights, "description": "零售"}, headers=headers
            )
            assert response.status_code == status, response.text
        listed = {t["name"]: t["source"] for t in (await client.get("/goals/seasonal-templates", headers=LI)).json()}
        assert listed == {"even": "setting", "industrial": "setting", "retail": "api"}

        year = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="7800")
        split = {"into": "months", "method": "seasonal", "template": "retail"}
        response = await _split(client, year["id"], split)
        assert response.status_code == 201, response.text
        assert [p["target_value"] for p in response.json()][:3] == ["100.00", "200.00", "300.00"]
        assert (await client.delete("/goals/seasonal-templates/industrial", headers=SUPERVISOR)).status_code == 409
        assert (await client.delete("/goals/seasonal-templates/retail", headers=SUPERVISOR)).status_code == 204
        response = await _split(client, year["id"], split)
        assert response.status_code == 422 and response.json()["field"] == "template"

        # The catalogue: a new line counts in product penetration and in a default product-line split; a retired one
        # does not.
        await record(client, sale(account, "2026-03-05", "10"))
        reach = await create_target(
            client, account_id=account, metric="product_penetration", period="2026", target_value="50"
        )

        async def penetration() -> str:
            return (await client.get(f"/goals/targets/{reach['id']}", headers=SUPERVISOR)).json()["tracking"]["actual"]

        assert await penetration() == "16.67"  # 1 of 6
        assert (await client.put("/goals/product-lines/工业机器人", json={}, headers=SUPERVISOR)).status_code == 200
        assert await penetration() == "14.29"  # 1 of 7
        retire = {"active": False, "description": "停售"}
        assert (await client.put("/goals/product-lines/运维服务", json=retire, headers=SUPERVISOR)).status_code == 200
        assert await penetration() == "16.67"
        lines = {
            (r["name"], r["active"], r["source"]) for r in (await client.get("/goals/product-lines", headers=LI)).json()
        }
        assert {("工业机器人", True, "api"), ("运维服务", False, "api"), ("工业网关", True, "setting")} <= lines
        gp = await create_target(client, account_id=account, metric="gross_profit", period="2026", target_value="600")
        response = await _split(client, gp["id"], {"by": "product_line"})
        assert response.status_code == 201, response.text
        made = {p["product_line"] for p in response.json()}
        assert "工业机器人" in made and "运维服务" not in made and len(made) == 6
        response = await client.delete("/goals/product-lines/工业机器人", headers=SUPERVISOR)
        assert response.status_code == 409 and response.json()["targets"] == 1
        assert (await client.delete("/goals/product-lines/工业网关", headers=SUPERVISOR)).status_code == 409
        assert (await client.delete("/goals/product-lines/运维服务", headers=SUPERVISOR)).status_code == 204
        assert await penetration() == "14.29"  # the setting's line is offered again

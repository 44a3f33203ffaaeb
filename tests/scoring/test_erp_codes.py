"""External ERP customer codes of an account: set on registration (also in the bulk import) and replaced by PATCH
(If-Match, audited, published with the credit code), unique across accounts (409 naming ``erp_codes.N``), shown
on reads, filtered on, and resolved with credit codes by ``GET /accounts/by-code/{code}`` (404 when not visible)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from services.scoring.models import audit_log
from tests.scoring.support import account_payload, credit_code, outbox_events, running_with_people, scoring_app
from tests.support import auth, if_match

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")


async def _register(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    r = await client.post("/accounts", json=account_payload(name, **fields), headers=SUP)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _patch(client: httpx.AsyncClient, account: str, body: dict[str, Any]) -> httpx.Response:
    current = await client.get(f"/accounts/{account}", headers=SUP)
    return await client.patch(f"/accounts/{account}", json=body, headers={**SUP, **if_match(current)})


async def test_erp_codes_are_set_replaced_unique_filtered_resolved_audited_and_published(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        first = await _register(client, "苏州精工", erp_codes=["SAP:100200", "k3/0042"], credit_code=credit_code(1))
        other = await _register(client, "无锡电子", owner_id="am-zhang")
        assert first["erp_codes"] == ["SAP:100200", "k3/0042"] and other["erp_codes"] == []

        # Invalid codes are 422s naming the code; a code another account holds is a 409 naming it, not the account.
        for bad in (["has space"], [""], ["x" * 65], [f"c{i}" for i in range(11)]):
            assert (await _patch(client, other["id"], {"erp_codes": bad})).status_code == 422, bad
        taken = await _patch(client, other["id"], {"erp_codes": ["NEW-1", "k3/0042"]})
        assert taken.status_code == 409 and first["id"] not in taken.text, taken.text
        assert taken.json()["field"] == "erp_codes.1"
        batch = await client.post(
            "/accounts/batch",
            json={"accounts": [account_payload("常州机械"), account_payload("南通纺织", erp_codes=["SAP:100200"])]},
            headers=SUP,
        )
        assert batch.status_code == 409 and batch.json()["field"] == "accounts.1.erp_codes.0", batch.text

        # PATCH (If-Match, as every profile change) replaces the codes, audited and published.
        replaced = await _patch(client, first["id"], {"erp_codes": ["U8-77"]})
        assert replaced.status_code == 200 and replaced.json()["erp_codes"] == ["U8-77"], replaced.text
        moved = await _patch(client, other["id"], {"erp_codes": ["k3/0042"]})  # freed by the replace
        assert moved.status_code == 200 and moved.json()["erp_codes"] == ["k3/0042"]

        async def listed(**params: str) -> list[str]:
            page = (await client.get("/accounts", params=params, headers=SUP)).json()
            return [a["id"] for a in page["items"]]

        assert await listed(erp_code="U8-77") == [first["id"]]
        assert await listed(erp_code="SAP:100200") == []
        assert await listed(credit_code=credit_code(1)) == [first["id"]]

        # By code: an ERP code or a credit code; unknown or not visible → 404.
        cases = [("U8-77", SUP, first["id"]), (credit_code(1), SUP, first["id"]), ("k3/0042", ZHANG, other["id"])]
        for code, who, expected in cases:
            found = await client.get(f"/accounts/by-code/{code}", headers=who)
            assert found.status_code == 200 and found.json()["id"] == expected, (code, found.text)
        for code, who in (("U8-77", ZHANG), ("SAP:100200", SUP), ("NOPE", SUP)):
            assert (await client.get(f"/accounts/by-code/{code}", headers=who)).status_code == 404, code

        registered = {e["account_id"]: e["data"] for e in await outbox_events(app, "accounts.registered")}
        assert registered[first["id"]]["erp_codes"] == ["SAP:100200", "k3/0042"]
        assert registered[first["id"]]["credit_code"] == credit_code(1)
        updated = [(e["account_id"], e["data"]["erp_codes"]) for e in await outbox_events(app, "accounts.updated")]
        assert updated == [(first["id"], ["U8-77"]), (other["id"], ["k3/0042"])]
        async with app.state.db.transaction() as session:
            rows = (
                await session.execute(
                    select(audit_log.c.object_id, audit_log.c.before, audit_log.c.after)
                    .where(audit_log.c.action == "account.erp_codes_changed")
                    .order_by(audit_log.c.id)
                )
            ).all()
        assert [(r[0], r[1]["erp_codes"], r[2]["erp_codes"]) for r in rows] == [
            (first["id"], [], ["SAP:100200", "k3/0042"]),
            (first["id"], ["SAP:100200", "k3/0042"], ["U8-77"]),
            (other["id"], [], ["k3/0042"]),
        ]

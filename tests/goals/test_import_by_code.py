"""Imports name accounts by id, ERP code or credit code, over a real NATS with the real scoring app: the registry
publishes an account's codes, goals keeps them, and a CSV whose rows use the ERP code, the credit code and the id
books all three to the one account; an unknown code, a code of an account the importer cannot see and a code the
registry replaced are rejected as unknown accounts; ``POST /goals/actuals`` takes a code too."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from services.goals.actuals.models import AccountCode
from shared.bus.nats import NatsBus
from shared.clock import FrozenClock
from tests.goals.helpers import LI, SUPERVISOR, ZHANG, goals_app, register_team
from tests.scoring.support import account_payload, credit_code, running_with_people, scoring_app
from tests.support import if_match, running, wait_until

HEADER = "account_id,date,product_line,region,quantity,revenue,cost\n"


async def _codes(goals, account: str) -> set[tuple[str, str]]:
    async with goals.state.db.transaction(write=False) as session:
        rows = await session.execute(
            select(AccountCode.code, AccountCode.kind).where(AccountCode.account_id == account)
        )
        return {(code, kind) for code, kind in rows}


def _subscribed(*apps):
    async def check() -> bool:
        return all(app.state.consumer.subscribed.is_set() for app in apps)

    return check


async def _import(client, batch: str, text: str, headers) -> dict:
    r = await client.post(
        "/goals/imports",
        params={"batch_id": batch, "wait": "true"},
        content=text.encode(),
        headers={**headers, "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    reasons = (await client.get(f"/goals/imports/{batch}/rejections", headers=headers)).json()["items"]
    return {"accepted": r.json()["accepted"], "rejected": {x["line_no"]: x["reason"] for x in reasons}}


async def test_rows_name_the_account_by_erp_code_credit_code_or_id_over_nats(sqlite_database, nats_url):
    streams = NatsBus(nats_url, name="streams-under-test")
    await streams.start()
    assert await streams.wait_connected(timeout=10)
    await streams.ensure_streams(["accounts", "goals"])
    await streams.close()
    clock = FrozenClock(datetime(2026, 7, 15, 2, 0, tzinfo=UTC))
    scoring = scoring_app(await sqlite_database("scoring"), nats_url=nats_url, clock=clock)
    goals, _ = goals_app(await sqlite_database("goals"), nats_url=nats_url, now=clock.now())
    async with running_with_people(scoring, headers=SUPERVISOR) as registry, running(goals) as client:
        await register_team(goals)
        await wait_until(_subscribed(scoring, goals), message="consumers subscribed")
        payload = account_payload("苏州编码测试有限公司", owner_id="am-li", erp_codes=["SAP:4711"])
        created = await registry.post("/accounts", json={**payload, "credit_code": credit_code(7)})
        assert created.status_code == 201, created.text
        account = created.json()["id"]
        expected = {("SAP:4711", "erp"), (credit_code(7), "credit")}

        async def codes_are(wanted: set[tuple[str, str]]) -> bool:
            return await _codes(goals, account) == wanted

        await wait_until(lambda: codes_are(expected), timeout=30, message="goals kept the account's codes")

        rows = ["SAP:4711", credit_code(7), account, "SAP:9999"]
        text = HEADER + "".join(f"{key},2026-06-0{i + 1},工业网关,华东,1,100,40\n" for i, key in enumerate(rows))
        first = await _import(client, "by-code", text, LI)
        assert first["accepted"] == 3 and list(first["rejected"]) == [5], first
        assert "unknown account 'SAP:9999'" in first["rejected"][5]
        lines = (await client.get(f"/goals/accounts/{account}/sales-lines", headers=LI)).json()
        assert lines["total"] == 3 and {line["account_id"] for line in lines["items"]} == {account}
        # Another account manager's import cannot name the account by its code either.
        hidden = await _import(client, "zhang", HEADER + "SAP:4711,2026-06-05,工业网关,华东,1,100,40\n", ZHANG)
        assert hidden["accepted"] == 0 and "unknown account" in hidden["rejected"][2]
        recorded = await client.post(
            "/goals/actuals",
            json={
                "records": [
                    {
                        "account_id": "SAP:4711",
                        "date": "2026-06-09",
                        "product_line": "PLC",
                        "revenue": "50",
                        "cost": "10",
                    }
                ]
            },
            headers=LI,
        )
        assert recorded.status_code == 201, recorded.text
        assert [m["account_id"] for m in recorded.json()["account_months"]] == [account]

        # The registry replaces the ERP codes: the old code no longer names the account, the credit code still does.
        current = await registry.get(f"/accounts/{account}")
        patched = await registry.patch(f"/accounts/{account}", json={"erp_codes": ["U8-1"]}, headers=if_match(current))
        assert patched.status_code == 200, patched.text
        await wait_until(lambda: codes_are({("U8-1", "erp"), (credit_code(7), "credit")}), timeout=30, message="moved")
        again = HEADER + "SAP:4711,2026-06-10,工业网关,华东,1,1,1\nU8-1,2026-06-10,工业网关,华东,1,1,1\n"
        second = await _import(client, "after-patch", again, LI)
        assert second["accepted"] == 1 and list(second["rejected"]) == [2], second

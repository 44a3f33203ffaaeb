"""Contracts: a missing mandatory clause blocks approval; expiry reminders fire at 90/60/30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.risk.contracts.compliance import CLAUSES
from services.risk.jobs import contract_reminders_job
from tests.risk.support import add_account, make_app, outbox_events
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
LI = auth("account_manager", user_id="am-li")
ALL_BUT_PIPL = {code: code != "data_protection" for code in CLAUSES}


async def _approved_contract(client, account_id: str, end_on: str) -> str:
    created = await client.post(
        f"/risk/accounts/{account_id}/contracts",
        json={
            "title": "年度供货框架协议",
            "contract_type": "framework",
            "value": "12000000",
            "start_on": "2026-01-01",
            "end_on": end_on,
            "clauses": dict.fromkeys(CLAUSES, True),
        },
        headers=LI,
    )
    assert created.status_code == 201, created.text
    contract_id = created.json()["id"]
    for status, headers in (("legal_review", LI), ("approved", RISK)):
        response = await client.post(
            f"/risk/contracts/{contract_id}/transitions", json={"status": status, "note": "ok"}, headers=headers
        )
        assert response.status_code == 200, response.text
    return contract_id


async def test_a_contract_missing_a_mandatory_clause_cannot_be_approved(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "腾讯云")
        created = await client.post(
            f"/risk/accounts/{account_id}/contracts",
            json={
                "title": "云服务合同",
                "contract_type": "service",
                "start_on": "2026-01-01",
                "end_on": "2027-12-31",
                "clauses": ALL_BUT_PIPL,
            },
            headers=LI,
        )
        assert created.status_code == 201, created.text
        contract = created.json()
        assert contract["status"] == "draft"
        assert contract["missing_mandatory_clauses"] == ["data_protection"]
        url = f"/risk/contracts/{contract['id']}/transitions"
        skipped = await client.post(url, json={"status": "approved"}, headers=RISK)
        assert skipped.status_code == 409
        assert skipped.json()["allowed"] == ["legal_review"]
        assert (await client.post(url, json={"status": "legal_review"}, headers=LI)).status_code == 200
        # Account managers submit; only a risk officer or supervisor decides.
        assert (await client.post(url, json={"status": "approved"}, headers=LI)).status_code == 403
        blocked = await client.post(url, json={"status": "approved", "note": "looks fine"}, headers=RISK)
        assert blocked.status_code == 409
        assert blocked.json()["missing_clauses"] == ["data_protection"]
        assert "PIPL" in blocked.json()["detail"]
        assert (await client.get(f"/risk/contracts/{contract['id']}", headers=RISK)).json()["status"] == "legal_review"

        rejected = await client.post(url, json={"status": "rejected", "note": "缺少个人信息保护条款"}, headers=RISK)
        assert rejected.status_code == 200
        assert (await client.post(url, json={"status": "draft"}, headers=LI)).status_code == 200
        current = await client.get(f"/risk/contracts/{contract['id']}", headers=LI)
        stale = await client.patch(
            f"/risk/contracts/{contract['id']}",
            json={"clauses": {"data_protection": True}},
            headers={**LI, "If-Match": '"1"'},
        )
        assert stale.status_code == 412
        patched = await client.patch(
            f"/risk/contracts/{contract['id']}",
            json={"clauses": {"data_protection": True}},
            headers={**LI, "If-Match": current.headers["etag"]},
        )
        assert patched.json()["missing_mandatory_clauses"] == []
        await client.post(url, json={"status": "legal_review"}, headers=LI)
        approved = await client.post(url, json={"status": "approved", "note": "条款齐全"}, headers=RISK)
        assert approved.status_code == 200, approved.text
        body = approved.json()
        assert body["status"] == "approved"
        moves = [r for r in body["reviews"] if r["action"] == "transition"]  # clause ticks are in the trail too
        assert [(r["from_status"], r["to_status"], r["note"]) for r in moves][-3:] == [
            ("rejected", "draft", ""),
            ("draft", "legal_review", ""),
            ("legal_review", "approved", "条款齐全"),
        ]
        assert moves[1]["note"] == "缺少个人信息保护条款"
        edit = await client.patch(f"/risk/contracts/{contract['id']}", json={"title": "x"}, headers=LI)
        assert edit.status_code == 409


async def test_expiry_reminders_fire_at_90_60_and_30_days_on_the_injectable_clock(make_database):
    end = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "阿里巴巴")
        contract_id = await _approved_contract(client, account_id, end.date().isoformat())
        fired: dict[int, int] = {}
        # Walk the clock day by day from 100 days before the end until after it, running the job each day.
        for days_left in range(100, -3, -1):
            app.state.clock.set(end - timedelta(days=days_left))
            sent = await contract_reminders_job(app)
            if sent:
                fired[days_left] = sent
        assert fired == {90: 1, 60: 1, 30: 1}
        detail = (await client.get(f"/risk/contracts/{contract_id}", headers=RISK)).json()
        assert [(r["days_before"], r["due_on"]) for r in detail["reminders"]] == [
            (90, "2026-10-02"),
            (60, "2026-11-01"),
            (30, "2026-12-01"),
        ]
        # The stages raise and then escalate one contract-expiry alert: green at 90, yellow at 60, orange at 30.
        raised = [e["data"]["level"] for e in await outbox_events(app, "risk.alert_raised")]
        assert raised == ["green", "yellow", "orange"]
        alerts = (await client.get("/risk/alerts?rule_code=CONTRACT_EXPIRY", headers=RISK)).json()["items"]
        assert len(alerts) == 1


async def test_the_reminder_endpoint_uses_the_service_clock(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "京东")
        await _approved_contract(client, account_id, "2026-06-13")  # clock 2026-03-15: 90 days left
        first = await client.post("/risk/jobs/contract-reminders", headers=RISK)
        assert [r["days_before"] for r in first.json()] == [90]
        assert (await client.post("/risk/jobs/contract-reminders", headers=RISK)).json() == []
        assert (await client.post("/risk/jobs/contract-reminders", headers=LI)).status_code == 403
        expiring = (await client.get("/risk/contracts?expiring_within_days=90", headers=LI)).json()
        assert expiring["total"] == 1

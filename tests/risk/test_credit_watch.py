"""Credit early warning: overdue receivables and utilisation become alerts; temporary limits expire."""

from __future__ import annotations

from datetime import UTC, datetime

from services.risk.jobs import risk_watch_job
from tests.risk.support import add_account, make_app, outbox_events
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
CHECKER = auth("risk_officer", user_id="risk-liu")


async def _approved(client, account_id: str, body: dict) -> None:
    request = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=RISK)
    assert request.status_code == 201, request.text
    approved = await client.post(f"/risk/limit-requests/{request.json()['id']}/approve", headers=CHECKER)
    assert approved.status_code == 200, approved.text


async def test_an_overdue_invoice_escalates_its_alert_as_it_ages_and_stops_when_paid(sqlite_database):
    app = make_app(await sqlite_database("risk"))  # 2026-03-15
    async with running(app) as client:
        account_id = await add_account(app, "顺丰控股")
        await client.post(
            f"/risk/accounts/{account_id}/invoices",
            json={"number": "F-1", "amount": "800", "issued_on": "2026-02-01", "due_on": "2026-03-10"},
            headers=RISK,
        )  # 5 days past due
        levels = []
        for day in ("2026-03-15", "2026-04-01", "2026-04-09", "2026-04-10", "2026-06-08", "2026-06-09"):
            app.state.clock.set(datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC))
            await risk_watch_job(app)
            alerts = (await client.get(f"/risk/alerts?account_id={account_id}&status=open", headers=RISK)).json()
            levels.append([a["level"] for a in alerts["items"]])
        # 5 and 22 days → yellow; 30 days still yellow; 31 → orange; 90 still orange; 91 → red. One alert throughout.
        assert levels == [["yellow"], ["yellow"], ["yellow"], ["orange"], ["orange"], ["red"]]
        raised = [e["data"]["level"] for e in await outbox_events(app, "risk.alert_raised")]
        assert raised == ["yellow", "orange", "red"]


async def test_utilisation_over_the_limit_raises_an_alert_and_a_temporary_limit_expires_with_an_event(
    sqlite_database,
):
    app = make_app(await sqlite_database("risk"))  # 2026-03-15
    async with running(app) as client:
        account_id = await add_account(app, "立讯精密")
        await _approved(client, account_id, {"requested_limit": "1000", "reason": "base"})
        await _approved(
            client,
            account_id,
            {"kind": "temporary", "requested_limit": "2000", "expires_on": "2026-03-31", "reason": "旺季备货"},
        )
        await client.post(
            f"/risk/accounts/{account_id}/invoices",
            json={"number": "L-1", "amount": "1500", "issued_on": "2026-03-01", "due_on": "2026-05-01"},
            headers=RISK,
        )
        assert (await client.get("/risk/alerts?rule_code=CREDIT_UTILISATION", headers=RISK)).json()["total"] == 0
        app.state.clock.set(datetime(2026, 4, 1, 9, tzinfo=UTC))
        await risk_watch_job(app)
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK)).json()
        assert (profile["temporary_limit"], profile["effective_limit"]) == (None, "1000.0000")
        changes = await outbox_events(app, "risk.credit_limit_changed")
        assert [(c["data"]["old_limit"], c["data"]["new_limit"], c["data"]["approved_by"]) for c in changes] == [
            (None, "1000.0000", "risk-liu"),  # permanent limit set
            ("1000.0000", "2000.0000", "risk-liu"),  # temporary limit over the one in force
            ("2000.0000", "1000.0000", None),  # expired: back to the permanent limit
        ]
        alerts = (await client.get("/risk/alerts?rule_code=CREDIT_UTILISATION", headers=RISK)).json()["items"]
        assert [(a["account_id"], a["level"]) for a in alerts] == [(account_id, "red")]  # 150 %

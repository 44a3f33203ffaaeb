"""Business dates are the company's (KAM_TIMEZONE, Asia/Shanghai): at 00:30 there it is still the previous day
in UTC, at 23:30 it is the same UTC date — days past due, limit expiry, reminders and "last month" follow the
local date either way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.risk.contracts.compliance import CLAUSES
from services.risk.jobs import contract_reminders_job, risk_watch_job
from shared.events import ActualsRecorded
from tests.risk.support import add_account, deliver, make_app
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
CHECKER = auth("risk_officer", user_id="risk-liu")
LI = auth("account_manager", user_id="am-li")
# Both are 2026-03-16 in Shanghai; 00:30 there is 2026-03-15 16:30 UTC, 23:30 is 2026-03-16 15:30 UTC.
LOCAL_MOMENTS = {
    "00:30": datetime(2026, 3, 15, 16, 30, tzinfo=UTC),
    "23:30": datetime(2026, 3, 16, 15, 30, tzinfo=UTC),
}


async def _approved(client, account_id: str, body: dict) -> None:
    request = await client.post(f"/risk/accounts/{account_id}/limit-requests", json=body, headers=RISK)
    assert request.status_code == 201, request.text
    approved = await client.post(f"/risk/limit-requests/{request.json()['id']}/approve", headers=CHECKER)
    assert approved.status_code == 200, approved.text


@pytest.mark.parametrize("local_time", list(LOCAL_MOMENTS))
async def test_an_invoice_due_yesterday_is_one_day_past_due_and_a_limit_that_expired_yesterday_is_expired(
    sqlite_database, local_time
):
    app = make_app(await sqlite_database("risk"))  # START: 2026-03-15 17:00 in Shanghai
    async with running(app) as client:
        account_id = await add_account(app, "时区客户")
        await _approved(client, account_id, {"requested_limit": "1000", "reason": "base"})
        await _approved(
            client,
            account_id,
            {"kind": "temporary", "requested_limit": "5000", "expires_on": "2026-03-15", "reason": "到昨天为止"},
        )
        created = await client.post(
            f"/risk/accounts/{account_id}/invoices",
            json={"number": "T-1", "amount": "800", "issued_on": "2026-02-15", "due_on": "2026-03-15"},
            headers=RISK,
        )
        assert (created.json()["days_past_due"], created.json()["bucket"]) == (0, "current")  # due today

        app.state.clock.set(LOCAL_MOMENTS[local_time])
        [invoice] = (await client.get(f"/risk/accounts/{account_id}/invoices", headers=RISK)).json()["items"]
        assert (invoice["days_past_due"], invoice["bucket"]) == (1, "1_30")
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK)).json()
        assert exposure["as_of"] == "2026-03-16"
        assert (exposure["aging"]["1_30"], exposure["aging"]["overdue"]) == ("800.0000", "800.0000")
        assert exposure["effective_limit"] == "1000.0000"  # the temporary limit ended yesterday
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK)).json()
        assert (profile["temporary_limit"], profile["effective_limit"]) == ("5000.0000", "1000.0000")
        check = (
            await client.post(
                f"/risk/accounts/{account_id}/credit-check", json={"amount": "1", "record": False}, headers=RISK
            )
        ).json()
        assert check["limit"] == "1000.0000"
        assert [r["code"] for r in check["reasons"]] == ["overdue_receivables"]

        watch = await risk_watch_job(app)
        assert watch["temporary_limits_expired"] == 1
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=RISK)).json()
        assert (profile["temporary_limit"], profile["effective_limit"]) == (None, "1000.0000")
        alerts = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
        assert [(a["rule_code"], a["level"]) for a in alerts] == [("RECEIVABLES_OVERDUE", "yellow")]


@pytest.mark.parametrize("local_time", list(LOCAL_MOMENTS))
async def test_the_90_day_reminder_counts_days_to_the_contracts_end_in_the_company_zone(sqlite_database, local_time):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "合同客户")
        created = await client.post(
            f"/risk/accounts/{account_id}/contracts",
            json={
                "title": "年度协议",
                "contract_type": "framework",
                "start_on": "2026-01-01",
                "end_on": "2026-06-14",  # 90 days after 2026-03-16
                "clauses": dict.fromkeys(CLAUSES, True),
            },
            headers=LI,
        )
        contract_id = created.json()["id"]
        for status, headers in (("legal_review", LI), ("approved", RISK)):
            moved = await client.post(
                f"/risk/contracts/{contract_id}/transitions", json={"status": status}, headers=headers
            )
            assert moved.status_code == 200, moved.text
        app.state.clock.set(LOCAL_MOMENTS[local_time])
        assert await contract_reminders_job(app) == 1
        detail = (await client.get(f"/risk/contracts/{contract_id}", headers=RISK)).json()
        assert [(r["days_before"], r["due_on"]) for r in detail["reminders"]] == [(90, "2026-03-16")]
        expiring = (await client.get("/risk/contracts?expiring_within_days=90", headers=RISK)).json()
        assert expiring["total"] == 1


async def test_last_month_is_the_last_completed_month_in_the_company_zone(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "月末客户")
        # 2026-04-01 00:30 in Shanghai is still 2026-03-31 in UTC: March is complete locally.
        app.state.clock.set(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
        for period, revenue in (("2026-02", "100000"), ("2026-03", "50000")):
            await deliver(
                app,
                ActualsRecorded(
                    source="goals",
                    account_id=account_id,
                    data={"period": period, "revenue": revenue, "cost": "0", "gross_profit": revenue},
                ),
            )
        signals = (await client.get(f"/risk/accounts/{account_id}/signals", headers=RISK)).json()["items"]
        assert [(s["signal_type"], s["details"]["period"], s["value"]) for s in signals] == [
            ("sales_drop", "2026-03", "50.0000")
        ]

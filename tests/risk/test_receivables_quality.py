"""Receivables quality: credit notes, cancellations and payment reversals with a history per invoice; dates too far
ahead refused (in the company's zone); disputes out of dunning and overdue signals; dunning levels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.risk.app import create_app
from services.risk.config import RiskSettings
from services.risk.credit.exposure import ZERO, Receivable, credit_check, dunning_level
from services.risk.jobs import risk_watch_job
from shared.clock import FrozenClock
from tests.risk.support import START, add_account
from tests.support import auth, running, service_settings

RISK = auth("risk_officer", user_id="risk-chen")
AUDITOR = auth("admin", user_id="u-admin")


def _app(database_url: str, *, clock: FrozenClock | None = None, **settings: Any):
    values = service_settings(RiskSettings, database_url=database_url, nats_url=None, periodic_jobs=False, **settings)
    return create_app(values, clock=clock or FrozenClock(START))


async def _invoice(client, account_id: str, number: str, **fields: str) -> dict[str, Any]:
    body = {"number": number, "amount": "1000", "issued_on": "2026-03-01", "due_on": "2026-04-01", **fields}
    response = await client.post(f"/risk/accounts/{account_id}/invoices", json=body, headers=RISK)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_credit_notes_reversals_and_cancellation_change_the_open_balance_and_make_the_invoice_history(
    make_database,
):
    app = _app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "美的集团")
        invoice = await _invoice(client, account_id, "INV-1")
        path = f"/risk/invoices/{invoice['id']}"
        paid = await client.post(f"{path}/payments", json={"amount": "400", "paid_on": "2026-03-10"}, headers=RISK)
        assert paid.json()["outstanding"] == "600.0000"

        note = {"number": "CN-1", "amount": "250", "issued_on": "2026-03-12", "reason": "质量折让 quality rebate"}
        created = await client.post(f"{path}/credit-notes", json=note, headers=RISK)
        assert created.status_code == 201, created.text
        assert (created.json()["invoice_id"], created.json()["currency"]) == (invoice["id"], "CNY")
        after_note = (await client.get(path, headers=RISK)).json()
        assert (after_note["credited_amount"], after_note["outstanding"]) == ("250.0000", "350.0000")
        refused = [
            ({**note, "number": "CN-2", "amount": "350.01"}, 422, "amount"),  # more than is open
            ({**note, "number": "CN-2", "amount": "1", "currency": "USD"}, 422, "currency"),  # not the invoice's
            ({**note, "amount": "1"}, 409, None),  # the number is taken
        ]
        for body, status, field in refused:
            response = await client.post(f"{path}/credit-notes", json=body, headers=RISK)
            assert response.status_code == status, response.text
            assert field is None or response.json()["errors"][0]["field"] == field

        # A paid invoice is not cancelled before its payments are reversed; a reversal is made once.
        assert (await client.post(f"{path}/cancel", json={"reason": "开错"}, headers=RISK)).status_code == 409
        [payment] = (await client.get(f"{path}/payments", headers=RISK)).json()
        reverse = f"{path}/payments/{payment['id']}/reverse"
        reversed_ = await client.post(reverse, json={"reason": "退票 bounced"}, headers=RISK)
        assert (reversed_.status_code, reversed_.json()["outstanding"]) == (200, "750.0000")
        assert (await client.post(reverse, json={"reason": "again"}, headers=RISK)).status_code == 409
        cancelled = await client.post(f"{path}/cancel", json={"reason": "开错发票 issued in error"}, headers=RISK)
        assert (cancelled.json()["status"], cancelled.json()["bucket"], cancelled.json()["outstanding"]) == (
            "cancelled",
            "cancelled",
            "0.0000",
        )
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK)).json()
        assert exposure["receivables"] == "0.0000"
        late = await client.post(f"{path}/payments", json={"amount": "1", "paid_on": "2026-03-15"}, headers=RISK)
        assert late.status_code == 409

        history = (await client.get(f"{path}/history", headers=RISK)).json()
        assert [(e["action"], e["actor_id"]) for e in history] == [
            ("invoice.recorded", "risk-chen"),
            ("invoice.payment_recorded", "risk-chen"),
            ("invoice.credit_noted", "risk-chen"),
            ("invoice.payment_reversed", "risk-chen"),
            ("invoice.cancelled", "risk-chen"),
        ]
        assert history[3]["after"] == {"paid_amount": "0", "payment_id": payment["id"], "reason": "退票 bounced"}
        audited = (await client.get(f"/risk/audit?object_id={invoice['id']}", headers=AUDITOR)).json()["items"]
        assert {"invoice.credit_noted", "invoice.payment_reversed", "invoice.cancelled"} <= {
            e["action"] for e in audited
        }


async def test_dates_beyond_the_tolerance_are_refused_naming_the_field_counted_in_the_company_zone(sqlite_database):
    # 17:00 UTC on 15 March is already 16 March in Shanghai: with no tolerance the 16th is today, the 17th ahead.
    clock = FrozenClock(datetime(2026, 3, 15, 17, 0, tzinfo=UTC))
    app = _app(await sqlite_database("risk"), clock=clock, future_date_tolerance_days=0)
    async with running(app) as client:
        account_id = await add_account(app, "海尔智家")
        invoice = await _invoice(client, account_id, "T-1", issued_on="2026-03-16", due_on="2026-04-16")
        path = f"/risk/invoices/{invoice['id']}"
        ahead = [
            (
                f"/risk/accounts/{account_id}/invoices",
                {"number": "T-2", "amount": "1", "issued_on": "2026-03-17", "due_on": "2026-04-17"},
                "issued_on",
            ),
            (f"{path}/payments", {"amount": "1", "paid_on": "2026-03-17"}, "paid_on"),
            (
                f"{path}/credit-notes",
                {"number": "C-1", "amount": "1", "issued_on": "2026-03-17", "reason": "r"},
                "issued_on",
            ),
            (
                "/risk/invoices/import",
                {
                    "invoices": [
                        {
                            "account_id": account_id,
                            "number": "T-3",
                            "amount": "1",
                            "issued_on": "2026-03-17",
                            "due_on": "2026-04-17",
                        }
                    ]
                },
                "invoices.0",
            ),
        ]
        for url, body, field in ahead:
            response = await client.post(url, json=body, headers=RISK)
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["field"] == field
        today = await client.post(f"{path}/payments", json={"amount": "1", "paid_on": "2026-03-16"}, headers=RISK)
        assert today.status_code == 201, today.text


def test_the_dunning_level_counts_the_thresholds_reached():
    cases = [(0, 0), (1, 1), (14, 1), (15, 2), (31, 3), (60, 3), (61, 4), (400, 4)]
    assert [dunning_level(days) for days, _ in cases] == [level for _, level in cases]
    assert [dunning_level(days, (10, 20)) for days in (9, 10, 20)] == [0, 1, 2]


@pytest.mark.parametrize("disputed", [False, True])
def test_a_disputed_invoice_gives_no_overdue_verdict_but_still_counts_as_exposure(disputed):
    long_overdue = Receivable(Decimal("500"), ZERO, due_on=date(2025, 12, 1), disputed=disputed)  # 104 days
    result = credit_check(
        amount=Decimal("1"), limit=Decimal("1000"), receivables=[long_overdue], open_orders=[], as_of=date(2026, 3, 15)
    )
    codes = [r["code"] for r in result.reasons]
    assert (result.decision, codes) == (("pass", []) if disputed else ("block", ["overdue_beyond_limit"]))
    assert result.static_exposure == Decimal("500")


async def test_an_open_dispute_keeps_an_invoice_out_of_dunning_and_overdue_signals_until_resolved(sqlite_database):
    clock = FrozenClock(START)
    app = _app(await sqlite_database("risk"), clock=clock, dunning_level_days=[1, 30, 60])
    async with running(app) as client:
        account_id = await add_account(app, "格力电器")
        disputed = await _invoice(client, account_id, "D-1", due_on="2026-03-16")
        await _invoice(client, account_id, "U-1", due_on="2026-03-16", currency="USD")  # no USD rate: never summed
        path = f"/risk/invoices/{disputed['id']}"
        opened = await client.post(f"{path}/dispute", json={"reason": "数量不符 short delivery"}, headers=RISK)
        assert (opened.json()["dispute_status"], opened.json()["dispute_reason"]) == ("open", "数量不符 short delivery")
        assert (await client.post(f"{path}/dispute", json={"reason": "again"}, headers=RISK)).status_code == 409

        clock.advance(timedelta(days=40))  # 39 days past due: level 2 of 1/30/60
        await risk_watch_job(app)
        overdue_values = await _overdue_signals(client, account_id)
        assert overdue_values == {"U-1": 31}  # the disputed invoice raised nothing
        invoice = (await client.get(path, headers=RISK)).json()
        assert (invoice["days_past_due"], invoice["dunning_level"]) == (39, 0)
        listed = (await client.get(f"/risk/receivables/overdue?account_id={account_id}", headers=RISK)).json()
        assert [(i["number"], i["currency"], i["dunning_level"]) for i in listed["items"]] == [("U-1", "USD", 2)]
        with_disputed = await client.get(
            f"/risk/receivables/overdue?account_id={account_id}&include_disputed=true", headers=RISK
        )
        assert {i["number"] for i in with_disputed.json()["items"]} == {"D-1", "U-1"}

        resolved = await client.post(f"{path}/dispute/resolve", json={"resolution": "补货完成"}, headers=RISK)
        assert (resolved.json()["dispute_status"], resolved.json()["dunning_level"]) == ("resolved", 2)
        assert (await _overdue_signals(client, account_id)) == {"U-1": 31, "D-1": 31}
        level_3 = (await client.get("/risk/receivables/overdue?min_level=3", headers=RISK)).json()
        assert level_3["items"] == []
        history = [e["action"] for e in (await client.get(f"{path}/history", headers=RISK)).json()]
        assert history == ["invoice.recorded", "invoice.dispute_opened", "invoice.dispute_resolved"]


async def _overdue_signals(client, account_id: str) -> dict[str, int]:
    """The highest receivables_overdue signal value by invoice number."""
    invoices = (await client.get(f"/risk/accounts/{account_id}/invoices", headers=RISK)).json()["items"]
    numbers = {i["id"]: i["number"] for i in invoices}
    signals = (await client.get(f"/risk/accounts/{account_id}/signals", headers=RISK)).json()["items"]
    found: dict[str, int] = {}
    for signal in signals:
        if signal["signal_type"] == "receivables_overdue":
            number = numbers[signal["details"]["invoice_id"]]
            found[number] = max(found.get(number, 0), int(Decimal(signal["value"])))
    return found

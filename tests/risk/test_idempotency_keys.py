"""Idempotency-Key: the same key and body give the same answer and one effect; a bad key is a 422, on any backend."""

from __future__ import annotations

from sqlalchemy import func, select

from services.risk.credit.models import Invoice
from tests.risk.support import add_account, make_app
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")


def _invoice(number: str) -> dict[str, str]:
    return {"number": number, "amount": "1000", "currency": "CNY", "issued_on": "2026-03-01", "due_on": "2026-04-01"}


async def _invoices(app) -> int:
    async with app.state.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Invoice)) or 0)


async def test_a_key_that_is_too_long_or_not_printable_is_a_422_and_nothing_is_stored(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "幂等客户")
        path = f"/risk/accounts/{account_id}/invoices"
        for key in ("k" * 201, "two words"):
            response = await client.post(path, json=_invoice("INV-1"), headers={**RISK, "Idempotency-Key": key})
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await _invoices(app) == 0
        longest = {**RISK, "Idempotency-Key": "k" * 200}
        first = await client.post(path, json=_invoice("INV-1"), headers=longest)
        again = await client.post(path, json=_invoice("INV-1"), headers=longest)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        other = await client.post(path, json=_invoice("INV-2"), headers=longest)
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await _invoices(app) == 1

"""Orders in depth: a blocked order is rejected or cancelled (audited), a release re-runs the credit check and keeps
both results, a retried credit check books one order, and a temporary limit ending before the order is warned."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.risk.credit.models import CreditProfile, SalesOrder
from tests.risk.support import START, TODAY, add_account, make_app
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
OWNER = auth("account_manager", user_id="am-li")
AUDITOR = auth("admin", user_id="u-admin")


async def _set_limit(app, account_id: str, limit: str, *, temporary: str | None = None, until: date | None = None):
    """The account's limits as an approved limit request leaves them (the maker-checker flow is tested elsewhere)."""
    async with app.state.db.transaction() as session:
        profile = await session.get(CreditProfile, account_id)
        if profile is None:
            profile = CreditProfile(account_id=account_id, currency="CNY", version=1, updated_at=START)
            session.add(profile)
        profile.credit_limit, profile.temporary_limit, profile.temporary_limit_expires_on = (
            Decimal(limit),
            None if temporary is None else Decimal(temporary),
            until,
        )


async def _orders(app) -> int:
    async with app.state.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(SalesOrder)) or 0)


async def _book(client, account_id: str, reference: str, amount: str, **more: Any) -> dict[str, Any]:
    body = {"amount": amount, "order_reference": reference, **more}
    response = await client.post(f"/risk/accounts/{account_id}/credit-check", json=body, headers=RISK)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_blocked_order_is_rejected_or_cancelled_as_the_lifecycle_allows_and_each_move_is_audited(
    sqlite_database,
):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "宁德时代")
        await _set_limit(app, account_id, "1000")
        blocked = [(await _book(client, account_id, f"SO-{n}", "5000"))["order_id"] for n in (1, 2)]
        open_order = (await _book(client, account_id, "SO-3", "100"))["order_id"]
        moves = [  # (order, action, who, status, resulting status or allowed moves)
            (blocked[0], "reject", OWNER, 403, None),  # rejecting is credit management's
            (blocked[0], "reject", RISK, 200, "rejected"),
            (blocked[0], "release", RISK, 409, []),
            (blocked[0], "cancel", RISK, 409, []),
            (open_order, "reject", RISK, 409, ["closed", "cancelled"]),
            (open_order, "cancel", OWNER, 200, "cancelled"),
            (blocked[1], "cancel", OWNER, 200, "cancelled"),
        ]
        for order_id, action, who, status, outcome in moves:
            response = await client.post(f"/risk/orders/{order_id}/{action}", json={"reason": "信用不足"}, headers=who)
            assert response.status_code == status, (action, response.text)
            if status == 200:
                assert (response.json()["status"], response.json()["close_reason"]) == (outcome, "信用不足")
            elif status == 409:
                assert response.json()["allowed"] == outcome
        exposure = (await client.get(f"/risk/accounts/{account_id}/exposure", headers=RISK)).json()
        assert exposure["open_orders"] == "0.0000"
        rejected = (await client.get("/risk/orders?status=rejected", headers=RISK)).json()["items"]
        assert [(o["id"], o["closed_by"]) for o in rejected] == [(blocked[0], "risk-chen")]

        audit = (await client.get("/risk/audit?object_type=order", headers=AUDITOR)).json()["items"]
        trail = sorted((e["object_id"], e["action"], e["before"]["status"], e["after"]["status"]) for e in audit)
        assert trail == sorted(
            [
                (blocked[0], "order.rejected", "blocked", "rejected"),
                (open_order, "order.cancelled", "open", "cancelled"),
                (blocked[1], "order.cancelled", "blocked", "cancelled"),
            ]
        )


async def test_a_release_reruns_the_credit_check_and_keeps_the_blocking_and_the_release_time_results(
    sqlite_database,
):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "比亚迪")
        await _set_limit(app, account_id, "1000")
        order = await _book(client, account_id, "SO-9", "1500")
        assert [r["code"] for r in order["reasons"]] == ["static_exposure_exceeds_limit"]
        await _set_limit(app, account_id, "1600")  # raised meanwhile: 1500 of 1600 is 93.75 %
        released = await client.post(
            f"/risk/orders/{order['order_id']}/release", json={"reason": "额度已提高"}, headers=RISK
        )
        assert released.status_code == 200, released.text
        body = released.json()
        assert (body["decision"], [r["code"] for r in body["reasons"]]) == ("block", ["static_exposure_exceeds_limit"])
        assert (body["release_decision"], [r["code"] for r in body["release_reasons"]]) == (
            "warn",
            ["high_utilisation"],
        )
        [entry] = (await client.get(f"/risk/audit?object_id={order['order_id']}", headers=AUDITOR)).json()["items"]
        assert (entry["action"], entry["after"]["release_decision"]) == ("order.released", "warn")


async def test_a_retried_credit_check_books_one_order_by_idempotency_key_or_by_order_reference(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "华为技术有限公司")
        await _set_limit(app, account_id, "10000")
        path = f"/risk/accounts/{account_id}/credit-check"

        keyed = {**RISK, "Idempotency-Key": "check-SO-1"}
        first = await client.post(path, json={"amount": "1000", "order_reference": "SO-1"}, headers=keyed)
        again = await client.post(path, json={"amount": "1000", "order_reference": "SO-1"}, headers=keyed)
        assert (first.status_code, again.status_code, again.headers.get("idempotent-replayed")) == (201, 201, "true")
        assert again.json() == first.json()

        booked = await _book(client, account_id, "SO-2", "2000", expected_on="2026-04-30")
        retried = await client.post(
            path, json={"amount": "2000", "order_reference": "SO-2", "expected_on": "2026-04-30"}, headers=RISK
        )
        assert retried.status_code == 200, retried.text
        assert retried.json() == booked  # the first answer (a new check would count SO-2 itself as exposure)
        other = await client.post(path, json={"amount": "2500", "order_reference": "SO-2"}, headers=RISK)
        assert (other.status_code, other.json()["order_id"]) == (409, booked["order_id"])
        dry_run = await client.post(
            path, json={"amount": "1", "order_reference": "SO-2", "record": False}, headers=RISK
        )
        assert (dry_run.status_code, dry_run.json()["order_id"]) == (200, None)
        unnamed = [await client.post(path, json={"amount": "1"}, headers=RISK) for _ in range(2)]
        assert [r.status_code for r in unnamed] == [201, 201]  # no reference: each check books its own order
        assert await _orders(app) == 4


async def test_the_dynamic_check_warns_when_the_temporary_limit_ends_before_the_order_is_expected(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "立讯精密")
        await _set_limit(app, account_id, "1000", temporary="5000", until=TODAY + timedelta(days=10))
        cases = [  # expected_on, horizon → reason codes
            (TODAY + timedelta(days=30), TODAY + timedelta(days=30), ["temporary_limit_expires"]),
            (TODAY + timedelta(days=30), None, ["temporary_limit_expires"]),
            (TODAY + timedelta(days=10), TODAY + timedelta(days=30), []),  # expected on its last day
            (None, TODAY + timedelta(days=30), []),
        ]
        for expected_on, horizon, codes in cases:
            body = {"amount": "2000", "record": False}
            body |= {"expected_on": expected_on.isoformat()} if expected_on else {}
            body |= {"horizon": horizon.isoformat()} if horizon else {}
            check = (await client.post(f"/risk/accounts/{account_id}/credit-check", json=body, headers=RISK)).json()
            assert [r["code"] for r in check["reasons"]] == codes, (expected_on, horizon, check)
            assert check["decision"] == ("warn" if codes else "pass")
        await _set_limit(app, account_id, "5000")  # a permanent limit does not expire: nothing to warn
        body = {"amount": "2000", "record": False, "expected_on": (TODAY + timedelta(days=30)).isoformat()}
        check = (await client.post(f"/risk/accounts/{account_id}/credit-check", json=body, headers=RISK)).json()
        assert (check["decision"], check["reasons"]) == ("pass", [])

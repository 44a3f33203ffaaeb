"""Group exposure: risk keeps the group structure from the account events, a group's exposure is the sum per
currency of its own and every subsidiary's, a group limit is set through the limit requests, and the credit check of
a subsidiary checks the group's limit alongside its own (blocked naming the group) — also over a real NATS with the
real scoring app registering the group."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from services.risk.credit.models import AccountGroupLink
from shared.bus.nats import NatsBus
from shared.clock import FrozenClock
from shared.events import AccountRegistered, AccountUpdated
from tests.risk.support import PEOPLE, START, deliver, make_app
from tests.scoring.support import account_payload, running_with_people, scoring_app
from tests.support import auth, register_users, running, wait_until

RISK = auth("risk_officer", user_id="risk-chen")
CHECKER = auth("risk_officer", user_id="risk-liu")
LI = auth("account_manager", user_id="am-li")
SUP = auth("supervisor", user_id="sup-wang")


def _snapshot(name: str, parent: str | None, owner: str = "am-li", **extra: Any) -> dict[str, Any]:
    return {"name": name, "owner_id": owner, "tier": "key", "team_member_ids": [], "parent_account_id": parent} | extra


async def _limit(client: httpx.AsyncClient, account: str, amount: str, kind: str = "permanent") -> None:
    body = {"kind": kind, "requested_limit": amount, "currency": "CNY", "reason": "集团授信"}
    request = await client.post(f"/risk/accounts/{account}/limit-requests", json=body, headers=RISK)
    assert request.status_code == 201, request.text
    approved = await client.post(f"/risk/limit-requests/{request.json()['id']}/approve", headers=CHECKER)
    assert approved.status_code == 200, approved.text


async def _invoice(client: httpx.AsyncClient, account: str, number: str, amount: str, currency: str = "CNY") -> None:
    body = {"number": number, "amount": amount, "currency": currency, "issued_on": "2026-03-01", "due_on": "2026-04-30"}
    response = await client.post(f"/risk/accounts/{account}/invoices", json=body, headers=RISK)
    assert response.status_code == 201, response.text


def _by_currency(rows: list[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    return {r["currency"]: (r["receivables"], r["open_orders"], r["exposure"]) for r in rows}


async def test_group_exposure_is_the_hand_sum_and_an_order_over_the_group_limit_is_blocked_naming_it(make_database):
    app = make_app(await make_database("risk"))  # clock: 2026-03-15
    ids = {name: str(uuid.uuid4()) for name in ("集团总部", "华东子公司", "华南子公司", "苏州工厂", "无关客户")}
    structure = [("集团总部", None), ("华东子公司", "集团总部"), ("华南子公司", "集团总部"), ("苏州工厂", "华东子公司")]
    async with running(app) as client:
        await register_users(app, PEOPLE)
        for name, parent in [*structure, ("无关客户", None)]:
            owner = "am-zhang" if name == "华南子公司" else "am-li"
            data = _snapshot(name, ids[parent] if parent else None, owner)
            await deliver(app, AccountRegistered(source="scoring", account_id=ids[name], data=data))
        assert (await client.put("/risk/fx-rates/USD/2026-03-01", json={"rate": "7"}, headers=RISK)).status_code in (
            200,
            201,
        )
        for name in ids:
            await _limit(client, ids[name], "1000")
        invoices = [("集团总部", "100", "CNY"), ("华东子公司", "200", "CNY"), ("华东子公司", "10", "USD")]
        invoices += [("华南子公司", "300", "CNY"), ("苏州工厂", "40", "CNY"), ("无关客户", "999", "CNY")]
        for i, (name, amount, currency) in enumerate(invoices):
            await _invoice(client, ids[name], f"INV-{i}", amount, currency)
        order = {"amount": "50", "order_reference": "SO-SOUTH"}
        south = await client.post(f"/risk/accounts/{ids['华南子公司']}/credit-check", json=order, headers=RISK)
        assert south.json()["decision"] == "pass", south.text

        group = (await client.get(f"/risk/accounts/{ids['集团总部']}/group-exposure", headers=SUP)).json()
        # By hand: CNY 100 + 200 + 300 + 40 receivables and the 50 order; USD 10 apart (never added to CNY).
        assert _by_currency(group["exposure"]) == {
            "CNY": ("640.0000", "50.0000", "690.0000"),
            "USD": ("10.0000", "0.0000", "10.0000"),
        }
        members = {m["account_id"]: _by_currency(m["exposure"]) for m in group["members"]}
        assert set(members) == {ids[n] for n, _ in structure} and group["members_not_shown"] == 0
        for currency in ("CNY", "USD"):
            total = sum(float(m[currency][2]) for m in members.values() if currency in m)
            assert f"{total:.4f}" == _by_currency(group["exposure"])[currency][2]
        assert group["group_limit"] is None and group["over_limit"] is False

        await _limit(client, ids["集团总部"], "800", kind="group")
        profile = (await client.get(f"/risk/accounts/{ids['集团总部']}/credit", headers=SUP)).json()
        assert (profile["credit_limit"], profile["group_credit_limit"]) == ("1000.0000", "800.0000")
        group = (await client.get(f"/risk/accounts/{ids['集团总部']}/group-exposure", headers=SUP)).json()
        assert (group["exposure_in_limit_currency"], group["utilisation_pct"]) == ("760.0000", "95.00")  # 690 + 10 × 7
        assert [(c["figure"], c["currency"], c["converted_amount"]) for c in group["conversions"]] == [
            ("group_exposure", "USD", "70.0000")
        ]
        # am-li does not see the southern subsidiary: it counts in the sums but is not listed.
        seen = (await client.get(f"/risk/accounts/{ids['集团总部']}/group-exposure", headers=LI)).json()
        assert seen["members_not_shown"] == 1 and seen["exposure"] == group["exposure"]

        # Within the group limit (760 + 30 ≤ 800) and its own: passes; the plant's 20 is within its own limit
        # (40 + 20 ≤ 1000) but takes the group to 810 > 800: blocked, naming the group.
        east = await client.post(
            f"/risk/accounts/{ids['华东子公司']}/credit-check",
            json={"amount": "30", "order_reference": "SO-E"},
            headers=RISK,
        )
        assert east.json()["decision"] == "pass", east.text
        plant = await client.post(
            f"/risk/accounts/{ids['苏州工厂']}/credit-check",
            json={"amount": "20", "order_reference": "SO-P"},
            headers=RISK,
        )
        result = plant.json()
        assert result["decision"] == "block" and result["order_status"] == "blocked", result
        assert [r["code"] for r in result["reasons"]] == ["group_exposure_exceeds_limit"]
        assert "集团总部" in result["reasons"][0]["message"] and "810.0000" in result["reasons"][0]["message"]
        alone = await client.post(
            f"/risk/accounts/{ids['无关客户']}/credit-check", json={"amount": "20", "record": False}, headers=RISK
        )
        assert "group_exposure_exceeds_limit" not in [r["code"] for r in alone.json()["reasons"]]


async def test_the_newest_account_event_decides_the_group_and_an_event_without_the_field_changes_nothing(
    sqlite_database,
):
    app = make_app(await sqlite_database("risk"))
    group, sub = str(uuid.uuid4()), str(uuid.uuid4())
    later = START + timedelta(minutes=5)
    steps: list[tuple[Any, str | None]] = [
        (AccountRegistered(source="scoring", account_id=group, time=START, data=_snapshot("集团", None)), None),
        (AccountRegistered(source="scoring", account_id=sub, time=START, data=_snapshot("子", group)), group),
        (AccountUpdated(source="scoring", account_id=sub, time=later, data=_snapshot("子", None)), None),
        # an older snapshot arriving late does not undo the newer one
        (AccountUpdated(source="scoring", account_id=sub, time=START, data=_snapshot("子", group)), None),
        # a snapshot of a publisher that does not know hierarchies yet leaves the group as it is
        (
            AccountUpdated(source="scoring", account_id=sub, time=later + timedelta(minutes=1), data={"name": "子"}),
            None,
        ),
    ]
    async with running(app):
        for event, expected in steps:
            await deliver(app, event)
            async with app.state.db.transaction() as session:
                parent = await session.scalar(
                    select(AccountGroupLink.parent_account_id).where(AccountGroupLink.account_id == sub)
                )
            assert parent == expected, (event.type, event.time)


async def _subscribed(*apps: Any) -> bool:
    return all(app.state.consumer.subscribed.is_set() for app in apps)


async def test_over_nats_scoring_registers_a_group_and_two_subsidiaries_and_risk_group_exposure_follows(
    sqlite_database, nats_url
):
    streams = NatsBus(nats_url, name="streams-under-test")
    await streams.start()
    assert await streams.wait_connected(timeout=10)
    await streams.ensure_streams(["accounts"])
    await streams.close()
    clock = FrozenClock(START)
    scoring = scoring_app(await sqlite_database("scoring"), nats_url=nats_url, clock=clock)
    risk = make_app(await sqlite_database("risk"), nats_url=nats_url, clock=clock)
    async with running_with_people(scoring, headers=SUP) as registry, running(risk) as client:
        await register_users(risk, PEOPLE)
        await wait_until(lambda: _subscribed(scoring, risk), message="consumers subscribed")
        created = await registry.post("/accounts", json=account_payload("华东控股集团"))
        assert created.status_code == 201, created.text
        group = created.json()["id"]
        subs = []
        for name in ("华东精工", "华东电子"):
            r = await registry.post("/accounts", json=account_payload(name, parent_account_id=group))
            assert r.status_code == 201, r.text
            subs.append(r.json()["id"])

        async def members() -> list[str] | None:
            r = await client.get(f"/risk/accounts/{group}/group-exposure", headers=SUP)
            listed = [m["account_id"] for m in r.json()["members"]] if r.status_code == 200 else []
            return listed if len(listed) == 3 else None

        assert sorted(await wait_until(members, timeout=30, message="risk holds the group")) == sorted([group, *subs])
        for i, (account, amount) in enumerate([(group, "100"), (subs[0], "250.5"), (subs[1], "49.5")]):
            await _invoice(client, account, f"N-{i}", amount)
        exposure = (await client.get(f"/risk/accounts/{group}/group-exposure", headers=SUP)).json()
        assert _by_currency(exposure["exposure"]) == {"CNY": ("400.0000", "0.0000", "400.0000")}

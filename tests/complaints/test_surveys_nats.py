"""Acceptance over a real NATS, with the real scoring, complaints and gateway apps: a survey schedule for a strategic
account asks its contacts by level; the customer answers through the link (HTTP, no token header) and scoring's
relationship score of the account changes; the same link again is refused; a tampered link reveals nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from gateway.app import create_app as create_gateway
from services.complaints.models import platform as complaints_tables
from services.complaints.surveys.models import SurveyContact
from shared.bus.nats import NatsBus
from shared.clock import FrozenClock
from shared.nats_server import free_port
from tests.complaints.helpers import STAFF, make_app
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.gateway.test_survey_pages import serving
from tests.scoring.support import NOW, account_payload, running_with_people, scoring_app
from tests.support import auth, register_users, running, wait_until

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
CONTACTS = [
    {"name": "曾总", "title": "董事长", "level": "executive", "language": "zh-CN"},
    {"name": "Li Wei", "title": "采购总监", "level": "decision", "language": "en"},
    {"name": "周工", "title": "设备工程师", "level": "execution"},
]


async def _projected(complaints, account_id: str) -> bool:
    accounts = complaints_tables.accounts
    async with complaints.state.db.transaction() as session:
        tier = await session.scalar(select(accounts.c.tier).where(accounts.c.account_id == account_id))
        contacts = (
            await session.execute(select(SurveyContact.level).where(SurveyContact.account_id == account_id))
        ).scalars()
        return tier == "strategic" and sorted(contacts) == ["decision", "execution", "executive"]


def _relationship(score: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    dimension = next(d for d in score["dimensions"] if d["dimension"] == "relationship")
    satisfaction = next(i for i in score["indicators"] if i["code"] == "satisfaction")
    return dimension["score"], satisfaction


async def test_a_customer_answer_through_the_link_moves_the_relationship_score_over_nats(
    tmp_path, sqlite_database, nats_url
):
    streams = NatsBus(nats_url, name="streams-under-test")
    await streams.start()
    assert await streams.wait_connected(timeout=10)
    await streams.ensure_streams(["accounts", "complaints"])
    await streams.close()
    clock = FrozenClock(NOW)
    port = free_port()
    scoring = scoring_app(await sqlite_database("scoring"), nats_url=nats_url, clock=clock)
    complaints = make_app(await sqlite_database("complaints"), clock, nats_url=nats_url, survey_schedule_enabled=False)
    gateway = create_gateway(offline_gateway_settings(tmp_path, complaints_url=f"http://127.0.0.1:{port}"), clock=clock)
    async with (
        running_with_people(scoring, headers=SUP) as registry,
        serving(complaints, port),
        running(gateway) as web,
    ):
        await register_users(complaints, STAFF)
        await seed_users(gateway, {"sup-wang": ["supervisor"], "am-li": ["account_manager"]})
        await wait_until(lambda: _subscribed(scoring, complaints), message="both consumers subscribed")
        created = await registry.post(
            "/accounts", json=account_payload("宁德时代新能源科技股份有限公司", contacts=CONTACTS)
        )
        assert created.status_code == 201, created.text
        account = created.json()["id"]
        override = {"tier": "strategic", "reason": "年度战略客户评审"}
        assert (await registry.post(f"/accounts/{account}/tier-override", json=override)).status_code == 201
        await wait_until(
            lambda: _projected(complaints, account), timeout=60, message="tier and contacts projected over NATS"
        )
        before, satisfaction_before = _relationship((await registry.get(f"/accounts/{account}/score")).json())
        assert satisfaction_before["raw"] is None

        api = "/api/v1/complaints/surveys"
        for level, cadence in (("executive", "yearly"), ("decision", "quarterly"), ("execution", "after_delivery")):
            body = {"name": f"战略客户 {level}", "tier": "strategic", "contact_level": level, "cadence": cadence,
                    "template_code": "relationship"}  # fmt: skip
            assert (await web.post(f"{api}/schedules", json=body, headers=SUP)).status_code == 201
        run = (await web.post(f"{api}/schedules/run", headers=SUP)).json()
        delivered = await web.post(
            f"{api}/deliveries", json={"account_id": account, "delivery_ref": "DN-2026-118"}, headers=LI
        )
        assert run["by_level"] == {"decision": 1, "executive": 1} and delivered.json()["by_level"] == {"execution": 1}
        assert (await web.post(f"{api}/schedules/run", headers=SUP)).json()["created"] == 0  # once per period
        asked = (await web.get(f"{api}/requests", params={"account_id": account}, headers=LI)).json()["items"]
        by_level = {r["contact_level"]: r for r in asked}
        assert sorted(by_level) == ["decision", "execution", "executive"] and by_level["decision"]["language"] == "en"
        link = (await web.post(f"{api}/requests/{by_level['decision']['id']}/link", headers=LI)).json()

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://customer"
        ) as customer:
            page = await customer.get(link["path"])
            assert page.status_code == 200 and "How likely are you to recommend us" in page.text
            answered = await customer.post(link["path"], data={"nps": "2", "csat": "1", "comment": "交付太慢"})
            assert answered.status_code == 200, answered.text
            assert "authorization" not in answered.request.headers

            async def moved() -> tuple[str, dict[str, Any]] | None:
                after, satisfaction = _relationship((await registry.get(f"/accounts/{account}/score")).json())
                return (after, satisfaction) if satisfaction["raw"] is not None else None

            after, satisfaction = await wait_until(moved, message="the relationship score moved by the survey")
            again = await customer.post(link["path"], data={"nps": "10", "csat": "5"})
            tampered = await customer.get("/s/" + link["token"][:-2] + ("xy" if link["token"][-2:] != "xy" else "yz"))
            unknown = await customer.get("/s/" + "Z" * 43)
        follow_ups = (await web.get(f"{api}/follow-ups", params={"account_id": account}, headers=LI)).json()
    assert satisfaction["raw"] == "1.40"  # CSAT 1 and NPS 2 → 1 + 2 × 0.4 = 1.8: their mean
    assert satisfaction["source"]["surveys"]["count"] == 1 and satisfaction["source"]["complaints"]["count"] == 0
    assert float(after) < float(before)
    assert again.status_code == 410 and "already been answered" in again.text
    assert tampered.status_code == unknown.status_code == 404 and tampered.content == unknown.content
    assert account not in tampered.text and "宁德" not in tampered.text
    assert [(f["owner_id"], f["state"]) for f in follow_ups["items"]] == [("am-li", "open")]


async def _subscribed(*apps) -> bool:
    return all(app.state.consumer.subscribed.is_set() for app in apps)

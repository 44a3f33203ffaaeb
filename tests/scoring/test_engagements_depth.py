"""Engagements in depth (issue 13, item 2): planned engagements that fall overdue unheld, edits and deletions with
If-Match in the audit log, and both overdue lists ranked by tier, then contact level, then days overdue — checked
against hand-written orders — and paginated."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.scoring.engagement import planned
from services.scoring.engagement import service as engagement
from services.scoring.engagement.schemas import EngagementCreate
from services.scoring.models import platform
from shared.api import PageParams
from shared.clock import FrozenClock
from tests.scoring.support import CAST, NOW, account_payload, actor, domain_database, scoring_app
from tests.scoring.test_domain_engagement import TODAY, account_of_tier, log
from tests.support import auth, if_match, register_users, running

SUP = actor()
SUP_HTTP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ADMIN = auth("admin", user_id="u-admin")


@pytest.fixture
async def domain(make_database):
    """The scoring domain database on each backend (the ranking is SQL on the planned list)."""
    async with domain_database(await make_database("scoring")) as prepared:
        yield prepared


async def test_the_cadence_overdue_list_ranks_tier_then_level_then_days_and_pages(domain):
    # (name, tier, {level: days since the last contact}); the cadence: strategic 90/30/14, key 180/60/30,
    # maintain execution 90.
    portfolio = [
        ("维护甲", "maintain", {"execution": 400}),  # execution 310 days overdue
        ("战略乙", "strategic", {"executive": 10, "decision": 202, "execution": 3}),  # decision 172 days
        ("战略丙", "strategic", {"executive": 10, "decision": 10, "execution": 20}),  # execution 6 days
        ("重点丁", "key", {"executive": 100, "decision": 70, "execution": 3}),  # decision 10 days
        ("战略戊", "strategic", {"executive": 100, "decision": 10, "execution": 3}),  # executive 10 days
        ("战略己", "strategic", {"executive": 10, "decision": 40, "execution": 3}),  # decision 10 days
    ]
    async with domain.db.transaction() as session:
        for name, tier, contacts in portfolio:
            account = await account_of_tier(domain, session, name, tier=tier)
            for level, days_ago in contacts.items():
                await log(domain, session, account, level, days_ago)
        ranked = await engagement.overdue_accounts(session, platform, actor=SUP, today=TODAY)
        second_page = await engagement.overdue_page(
            session, platform, actor=SUP, today=TODAY, page=PageParams(limit=2, offset=2)
        )
    assert [item.account_name for item in ranked] == ["战略戊", "战略乙", "战略己", "战略丙", "重点丁", "维护甲"]
    assert [item.account_name for item in second_page.items] == ["战略己", "战略丙"] and second_page.total == 6


async def test_planned_engagements_fall_overdue_unheld_and_their_list_ranks_like_the_cadence(domain):
    # (account, tier, level, due in days from today); judged 200 days later.
    plans = [
        ("维护甲", "maintain", "execution", 0),  # 200 days overdue
        ("战略乙", "strategic", "decision", 28),  # 172 days overdue
        ("战略乙", "strategic", "decision", 190),  # 10 days overdue
        ("战略丙", "strategic", "executive", 195),  # 5 days overdue
        ("重点丁", "key", "executive", 0),  # 200 days overdue
        ("战略丙", "strategic", "execution", 250),  # not due yet
    ]
    accounts = {}
    async with domain.db.transaction() as session:
        for name, tier, level, due_in in plans:
            if name not in accounts:
                accounts[name] = await account_of_tier(domain, session, name, tier=tier)
            body = EngagementCreate(kind="visit", level=level, planned_on=TODAY + timedelta(days=due_in))
            await engagement.log_engagement(
                session,
                platform,
                publisher=domain.publisher,
                account=accounts[name],
                body=body,
                actor=SUP,
                at=domain.at(),
            )
        later = TODAY + timedelta(days=200)
        ranked = await planned.planned_overdue(session, platform, actor=SUP, today=later, page=PageParams())
        first = await planned.planned_overdue(session, platform, actor=SUP, today=later, page=PageParams(limit=1))
        today = await planned.planned_overdue(session, platform, actor=SUP, today=TODAY, page=PageParams())
        status = await engagement.engagement_status(session, account=accounts["维护甲"], today=TODAY)
    expected = [
        ("战略丙", "executive", 5),
        ("战略乙", "decision", 172),
        ("战略乙", "decision", 10),
        ("重点丁", "executive", 200),
        ("维护甲", "execution", 200),
    ]
    assert [(i.account_name, i.level, i.days_overdue) for i in ranked.items] == expected and ranked.total == 5
    assert [i.days_overdue for i in first.items] == [5] and first.total == 5
    assert today.total == 0
    assert status.levels[0].last_contact_on is None  # a plan is no contact: the cadence ignores it


async def test_a_planned_engagement_is_held_edited_and_deleted_with_if_match_and_an_audit_trail(make_database):
    clock = FrozenClock(NOW)
    app = scoring_app(await make_database("scoring"), clock=clock)
    async with running(app, reads_etag_first=False) as client:
        await register_users(app, CAST)
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP_HTTP)).json()["id"]
        base = f"/accounts/{account_id}/engagements"
        due = (TODAY + timedelta(days=3)).isoformat()
        plan = {"kind": "visit", "level": "execution", "planned_on": due, "next_step": "准备方案"}
        refused = [
            await client.post(base, json=body, headers=LI)
            for body in ({"kind": "visit", "level": "execution"}, {**plan, "planned_on": "2026-11-01"})
        ]
        made = await client.post(base, json=plan, headers=LI)
        path = f"{base}/{made.json()['id']}"
        clock.advance(timedelta(days=5))
        overdue = (await client.get(path, headers=LI)).json()
        listed = (await client.get("/scoring/engagements/planned-overdue", headers=SUP_HTTP)).json()
        no_etag = await client.patch(path, json={"notes": "x"}, headers=LI)
        held_on = (TODAY + timedelta(days=4)).isoformat()
        held = await client.patch(
            path, json={"occurred_on": held_on, "notes": "见到董事长"}, headers={**LI, **if_match(made)}
        )
        status = (await client.get(f"/accounts/{account_id}/engagement-status", headers=LI)).json()
        stale_delete = await client.delete(path, params={"reason": "重复录入"}, headers={**LI, **if_match(made)})
        no_reason = await client.delete(path, headers={**LI, **if_match(held)})
        deleted = await client.delete(path, params={"reason": "重复录入"}, headers={**LI, **if_match(held)})
        gone = await client.get(path, headers=LI)
        audit = (await client.get("/scoring/audit", params={"object_id": made.json()["id"]}, headers=ADMIN)).json()
    assert [(r.status_code, r.json()["field"]) for r in refused] == [(422, "occurred_on"), (422, "planned_on")]
    assert made.status_code == 201 and made.json()["status"] == "planned" and not made.json()["overdue"]
    assert (overdue["overdue"], overdue["days_overdue"], overdue["next_step"]) == (True, 2, "准备方案")
    assert [i["id"] for i in listed["items"]] == [made.json()["id"]] and listed["total"] == 1
    assert no_etag.status_code == 428
    assert held.status_code == 200 and (held.json()["status"], held.json()["overdue"]) == ("held", False)
    assert held.json()["version"] == 2 and held.json()["updated_by"] == "am-li"
    assert [lv["last_contact_on"] for lv in status["levels"]] == [
        held_on
    ]  # maintain: execution only; held: the cadence counts it now
    assert (stale_delete.status_code, no_reason.status_code, deleted.status_code, gone.status_code) == (
        412,
        422,
        204,
        404,
    )
    entries = {e["action"]: e for e in audit["items"]}
    assert entries["engagement.updated"]["before"]["status"] == "planned"
    assert entries["engagement.updated"]["after"]["occurred_on"] == held_on
    assert entries["engagement.deleted"]["after"] == {"deleted": True, "reason": "重复录入"}
    assert entries["engagement.deleted"]["before"]["notes"] == "见到董事长"

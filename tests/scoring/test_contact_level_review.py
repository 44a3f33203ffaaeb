"""The contact level an account manager reports (a contact at a level, a held engagement) counts for the score once a
KA supervisor confirmed it (issue 13, point 3): pending until then, rejected with a note, audited, re-scored on the
decision; a supervisor's own entries count at once."""

from __future__ import annotations

from typing import Any

from tests.scoring.support import account_payload, outbox_events, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
DAY = "2026-11-10"


def _level(score: dict[str, Any]) -> str | None:
    return next(i for i in score["indicators"] if i["code"] == "highest_contact_level")["raw"]


async def _account(client, name: str = "上海汽车集团股份有限公司", **fields: Any) -> str:
    created = await client.post("/accounts", json=account_payload(name, **fields), headers=SUP)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def _score(client, account_id: str) -> dict[str, Any]:
    return (await client.get(f"/accounts/{account_id}/score", headers=SUP)).json()


async def test_a_contact_an_account_manager_adds_counts_once_a_supervisor_confirms_it(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await _account(client)
        before = await _score(client, account_id)
        added = await client.post(
            f"/accounts/{account_id}/contacts", json={"name": "陈总", "level": "executive"}, headers=LI
        )
        assert added.status_code == 201, added.text
        contact = added.json()
        assert (contact["level_review"], contact["level_reported_by"]) == ("pending", "am-li")
        assert contact["level_review_label"]["label_zh"] == "待主管确认"
        pending_score = await _score(client, account_id)
        queue = (await client.get("/accounts/level-reviews", headers=SUP)).json()
        url = f"/accounts/{account_id}/contacts/{contact['id']}/level-review"
        by_manager = await client.post(url, json={"decision": "confirmed"}, headers=LI)
        confirmed = await client.post(url, json={"decision": "confirmed"}, headers=SUP)
        again = await client.post(url, json={"decision": "confirmed"}, headers=SUP)
        after = await _score(client, account_id)
        after_queue = (await client.get("/accounts/level-reviews", headers=SUP)).json()
        history = (await client.get(f"/accounts/{account_id}/contacts/{contact['id']}/history", headers=SUP)).json()
        lower = await client.post(
            f"/accounts/{account_id}/contacts", json={"name": "周主管", "level": "execution"}, headers=LI
        )
        announced = await outbox_events(app, "accounts.review_requested")
    assert _level(before) == _level(pending_score) == "0"  # pending: the score is as it was
    assert pending_score["total"] == before["total"]
    [item] = queue["items"]
    assert queue["total"] == 1
    assert (item["kind"], item["id"], item["account_id"], item["level"]) == (
        "contact",
        contact["id"],
        account_id,
        "executive",
    )
    assert (item["account_name"], item["would_raise"], item["counted_level"]) == (
        "上海汽车集团股份有限公司",
        True,
        None,
    )
    assert by_manager.status_code == 403
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["level_review"], confirmed.json()["level_reviewed_by"]) == ("confirmed", "sup-wang")
    assert again.status_code == 409 and again.json()["field"] == "decision"
    assert _level(after) == "3" and float(after["total"]) > float(before["total"])
    assert after_queue["total"] == 0
    assert "contact.level_confirmed" in [entry["action"] for entry in history]
    # the supervisor is told of the report that would raise the level, not of a lower one once executive counts
    assert lower.json()["level_review"] == "pending"
    assert [(e["account_id"], e["data"]) for e in announced] == [
        (
            account_id,
            {
                "review_kind": "contact_level",
                "review_id": contact["id"],
                "object_type": "contact",
                "requested_by": "am-li",
                "owner_id": "am-li",
                "fields": [],
                "level": "executive",
            },
        )
    ]


async def test_a_change_request_tells_the_supervisor_which_fields_wait(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await _account(client)
        proposed = await client.post(
            f"/accounts/{account_id}/change-requests",
            json={"industry_leadership": "4", "product_fit": "3", "rationale": "行业龙头"},
            headers=LI,
        )
        assert proposed.status_code == 201, proposed.text
        [announced] = await outbox_events(app, "accounts.review_requested")
    assert announced["data"]["review_kind"] == "change_request"
    assert announced["data"]["review_id"] == proposed.json()["id"]
    assert announced["data"]["fields"] == ["industry_leadership", "product_fit"]


async def test_a_held_engagement_rejected_with_a_note_never_counts_and_a_rejection_needs_a_note(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await _account(client)
        logged = await client.post(
            f"/accounts/{account_id}/engagements",
            json={"kind": "visit", "level": "execution", "occurred_on": DAY},
            headers=LI,
        )
        assert logged.status_code == 201, logged.text
        engagement = logged.json()
        url = f"/accounts/{account_id}/engagements/{engagement['id']}/level-review"
        without_note = await client.post(url, json={"decision": "rejected"}, headers=SUP)
        unknown = await client.post(url, json={"decision": "maybe"}, headers=SUP)
        rejected = await client.post(url, json={"decision": "rejected", "note": "会议纪要显示为执行层"}, headers=SUP)
        rejected_queue = (await client.get("/accounts/level-reviews?status=rejected", headers=SUP)).json()
        score = await _score(client, account_id)
        status = (await client.get(f"/accounts/{account_id}/engagement-status", headers=SUP)).json()
    assert engagement["level_review"] == "pending"
    assert without_note.status_code == 422 and without_note.json()["errors"][0]["field"] == "note"
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "decision"
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["level_review"], rejected.json()["level_review_note"]) == (
        "rejected",
        "会议纪要显示为执行层",
    )
    assert [(i["kind"], i["id"]) for i in rejected_queue["items"]] == [("engagement", engagement["id"])]
    assert _level(score) == "0"
    # the meeting still took place: the cadence counts it
    assert {s["level"]: s["last_contact_on"] for s in status["levels"]}.get("execution") == DAY, status


async def test_a_supervisors_own_entries_count_at_once_and_a_managers_level_change_waits_again(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = await _account(client)
        added = await client.post(
            f"/accounts/{account_id}/contacts", json={"name": "刘经理", "level": "decision"}, headers=SUP
        )
        contact = added.json()
        confirmed_score = await _score(client, account_id)
        moved = await client.patch(
            f"/accounts/{account_id}/contacts/{contact['id']}",
            json={"level": "executive"},
            headers={**LI, "If-Match": added.headers["ETag"]},
        )
        moved_score = await _score(client, account_id)
        renamed = await client.patch(
            f"/accounts/{account_id}/contacts/{contact['id']}",
            json={"title": "副总经理"},
            headers={**LI, "If-Match": moved.headers["ETag"]},
        )
    assert (contact["level_review"], contact["level_reviewed_by"]) == ("confirmed", "sup-wang")
    assert _level(confirmed_score) == "2"
    assert moved.status_code == 200 and moved.json()["level_review"] == "pending"
    assert _level(moved_score) == "0"  # its new level awaits the supervisor; its old one is no longer reported
    assert renamed.json()["level_review"] == "pending"  # a title change neither confirms nor re-opens it


async def test_an_account_an_account_manager_registers_with_contacts_waits_for_their_levels(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        body = account_payload(
            "杭州海康威视数字技术股份有限公司",
            contacts=[{"name": "胡总", "level": "executive"}],
            engagements=[{"kind": "visit", "level": "execution", "occurred_on": DAY}],
        )
        created = await client.post("/accounts", json=body, headers=LI)
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        score = await _score(client, account_id)
        queue = (await client.get(f"/accounts/level-reviews?account_id={account_id}", headers=SUP)).json()
        mine = (await client.get("/accounts/level-reviews?reported_by=am-li&kind=engagement", headers=LI)).json()
    assert _level(score) == "0"
    assert sorted((i["kind"], i["level"]) for i in queue["items"]) == [
        ("contact", "executive"),
        ("engagement", "execution"),
    ]
    assert [(i["kind"], i["level"]) for i in mine["items"]] == [("engagement", "execution")]

"""Contacts in depth (issue 13, item 1), over HTTP: edited with If-Match and a history, retired with a reason (kept,
hidden by default), no duplicate name and level in an account, a role in the buying decision and an attitude with
their labels, a reporting line without loops giving an org chart, and engagements naming the contacts who took
part."""

from __future__ import annotations

from typing import Any

from services.scoring.contacts.org_chart import Person, build_tree, makes_cycle
from tests.scoring.support import CAST, account_payload, outbox_events, running_with_people, scoring_app
from tests.support import auth, if_match, register_users, running

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")


def test_a_reporting_line_may_not_loop_and_the_tree_puts_each_contact_under_its_manager() -> None:
    manager_of = {"ceo": None, "cfo": "ceo", "buyer": "cfo", "engineer": None}
    cases = [("ceo", "buyer", True), ("ceo", "ceo", True), ("cfo", "buyer", True), ("engineer", "buyer", False)]
    assert [makes_cycle(contact, manager, manager_of) for contact, manager, _ in cases] == [c[2] for c in cases]
    people = [
        Person("buyer", "cfo", "execution", "采购"),
        Person("cfo", "ceo", "decision", "财务总监"),
        Person("ceo", None, "executive", "董事长"),
        Person("engineer", "retired-boss", "execution", "工程师"),  # manager retired: at the top
    ]
    tree = build_tree(people)
    assert [(b.contact_id, [c.contact_id for c in b.reports]) for b in tree] == [("ceo", ["cfo"]), ("engineer", [])]
    assert tree[0].reports[0].reports[0].contact_id == "buyer"


async def _contact(client: Any, account_id: str, **body: Any) -> Any:
    return await client.post(f"/accounts/{account_id}/contacts", json=body, headers=LI)


async def test_contacts_are_edited_with_history_retired_not_deleted_unique_and_form_an_org_chart(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running(app, reads_etag_first=False) as client:
        await register_users(app, CAST)
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        other_id = (await client.post("/accounts", json=account_payload("另一家"), headers=SUP)).json()["id"]
        boss = await _contact(client, account_id, name="王总", level="executive", role="decision_maker")
        duplicate = await _contact(client, account_id, name=" 王总 ", level="executive")
        cfo = (
            await _contact(client, account_id, name="李总监", level="decision", reports_to_id=boss.json()["id"])
        ).json()
        stranger = (await _contact(client, other_id, name="赵经理", level="execution")).json()
        bad = {"name": "x", "level": "decision", "role": "sponsor"}
        refused_role = await client.post(f"/accounts/{account_id}/contacts", json=bad, headers=LI)
        path = f"/accounts/{account_id}/contacts/{boss.json()['id']}"
        no_etag = await client.patch(path, json={"attitude": "supporter"}, headers=LI)
        changed = await client.patch(
            path, json={"attitude": "supporter", "title": "董事长"}, headers={**LI, **if_match(boss)}
        )
        stale = await client.patch(path, json={"attitude": "neutral"}, headers={**LI, **if_match(boss)})
        loops = [
            await client.patch(path, json={"reports_to_id": target}, headers={**LI, **if_match(changed)})
            for target in (cfo["id"], boss.json()["id"], stranger["id"])
        ]
        chart = (await client.get(f"/accounts/{account_id}/org-chart", headers=LI)).json()
        cfo_path = f"/accounts/{account_id}/contacts/{cfo['id']}"
        retired = await client.post(f"{cfo_path}/retire", json={"reason": "离职"}, headers={**LI, **if_match(cfo)})
        listed = (await client.get(f"/accounts/{account_id}/contacts", headers=LI)).json()
        everyone = (await client.get(f"/accounts/{account_id}/contacts?include_retired=true", headers=LI)).json()
        readded = await _contact(client, account_id, name="李总监", level="decision")  # the retired one blocks nothing
        history = (await client.get(f"{path}/history", headers=LI)).json()
        cfo_history = (await client.get(f"{cfo_path}/history", headers=LI)).json()
        events = [e["data"] for e in await outbox_events(app, "accounts.contact_changed")]
    assert boss.status_code == 201 and boss.json()["role_label"] == {
        "code": "decision_maker",
        "label_zh": "决策者",
        "label_en": "Decision maker",
    }
    assert duplicate.status_code == 409 and duplicate.json()["contact_id"] == boss.json()["id"]
    assert refused_role.status_code == 422 and refused_role.json()["errors"][0]["field"] == "role"
    assert (no_etag.status_code, changed.status_code, stale.status_code) == (428, 200, 412)
    assert changed.json()["attitude_label"]["label_zh"] == "支持" and changed.json()["version"] == 2
    assert [(r.status_code, r.json().get("field")) for r in loops] == [(422, "reports_to_id")] * 3
    assert [n["contact"]["name"] for n in chart["roots"]] == ["王总"]
    assert [n["contact"]["name"] for n in chart["roots"][0]["reports"]] == ["李总监"]
    assert retired.status_code == 200 and retired.json()["active"] is False
    assert [c["name"] for c in listed] == ["王总"]
    assert {(c["name"], c["active"], c["retire_reason"]) for c in everyone} == {
        ("王总", True, None),
        ("李总监", False, "离职"),
    }
    assert readded.status_code == 201
    assert [(h["action"], h["actor_id"]) for h in history] == [
        ("contact.created", "am-li"),
        ("contact.updated", "am-li"),
    ]
    assert history[1]["before"] == {"attitude": None, "title": None}
    assert history[1]["after"] == {"attitude": "supporter", "title": "董事长"}
    assert cfo_history[-1]["action"] == "contact.retired" and cfo_history[-1]["after"]["retire_reason"] == "离职"
    retired_event = next(e for e in events if e["contact_id"] == cfo["id"] and not e["active"])
    assert retired_event["reports_to_id"] == boss.json()["id"] and events[0]["role"] == "decision_maker"


async def test_an_engagement_names_only_contacts_of_its_own_account(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        other_id = (await client.post("/accounts", json=account_payload("另一家"), headers=SUP)).json()["id"]
        mine = (await _contact(client, account_id, name="王总", level="executive")).json()["id"]
        theirs = (await _contact(client, other_id, name="赵总", level="executive")).json()["id"]
        visit = {"kind": "visit", "level": "executive", "occurred_on": "2026-11-10"}
        logged = await client.post(
            f"/accounts/{account_id}/engagements", json={**visit, "participant_contact_ids": [mine]}, headers=LI
        )
        refused = await client.post(
            f"/accounts/{account_id}/engagements", json={**visit, "participant_contact_ids": [mine, theirs]}, headers=LI
        )
    assert logged.status_code == 201 and logged.json()["participant_contact_ids"] == [mine]
    assert refused.status_code == 422 and refused.json()["field"] == "participant_contact_ids.1"

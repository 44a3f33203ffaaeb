"""Every person scoring is given is a known, active user fit for the job (issue 11, item 5).

Owners and team members (registration, import, team change) must be active account managers or supervisors; our
participants of an engagement must be active and able to see the account; the approver of a tier override must be
an active supervisor. Otherwise: 422 naming the field.
"""

from __future__ import annotations

import pytest

from tests.scoring.support import CAST, account_payload, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
PEOPLE = [*CAST, ("am-gone", ["account_manager"], False), ("sup-gone", ["supervisor"], False)]
# (who, what is wrong with them)
NOT_ASSIGNABLE = [
    ("nobody", "not known"),
    ("am-gone", "deactivated"),
    ("viewer-zhao", "roles"),
    ("risk-chen", "roles"),
]


@pytest.mark.parametrize(("user_id", "why"), NOT_ASSIGNABLE)
async def test_an_owner_or_team_member_who_cannot_own_is_refused_naming_the_field(sqlite_database, user_id, why):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app, people=PEOPLE) as client:
        as_owner = await client.post("/accounts", json=account_payload("甲", owner_id=user_id), headers=SUP)
        as_member = await client.post(
            "/accounts", json=account_payload("乙", team_member_ids=["am-zhang", user_id]), headers=SUP
        )
        imported = await client.post(
            "/accounts/batch",
            json={"accounts": [account_payload("丙"), account_payload("丁", owner_id=user_id)]},
            headers=SUP,
        )
        account = await client.post("/accounts", json=account_payload("戊"), headers=SUP)
        handover = await client.put(f"/accounts/{account.json()['id']}/team", json={"owner_id": user_id}, headers=SUP)
        member = await client.put(
            f"/accounts/{account.json()['id']}/team",
            json={"owner_id": "am-zhang", "team_member_ids": [user_id]},
            headers=SUP,
        )
        listed = (await client.get("/accounts", headers=SUP)).json()
    for response, field in (
        (as_owner, "owner_id"),
        (as_member, "team_member_ids.1"),
        (imported, "accounts.1.owner_id"),
        (handover, "owner_id"),
        (member, "team_member_ids.0"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field and why in response.json()["detail"]
    assert [a["name"] for a in listed["items"]] == ["戊"] and listed["items"][0]["owner_id"] == "am-li"


async def test_a_handover_to_an_active_manager_moves_the_account(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app, people=PEOPLE) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        moved = await client.put(
            f"/accounts/{account_id}/team",
            json={"owner_id": "am-zhang", "team_member_ids": ["sup-zhou"]},
            headers=SUP,
        )
        li_after = await client.get(f"/accounts/{account_id}", headers=LI)
    assert moved.status_code == 200 and moved.json()["owner_id"] == "am-zhang"
    assert moved.json()["team_member_ids"] == ["sup-zhou"] and li_after.status_code == 404


async def test_our_engagement_participants_must_be_active_and_see_the_account(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app, people=PEOPLE) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]

        async def log(*participants: str):
            body = {
                "kind": "visit",
                "level": "decision",
                "occurred_on": "2026-11-10",
                "participants": ["王总"],
                "our_participant_ids": list(participants),
            }
            return await client.post(f"/accounts/{account_id}/engagements", json=body, headers=LI)

        ok = await log("am-li", "sup-wang")
        blind = await log("am-li", "am-zhang")  # another manager's account: he cannot see it
        gone = await log("am-gone")
        unknown = await log("am-li", "sup-wang", "ghost")
        imported = await client.post(
            "/accounts",
            json=account_payload(
                "乙",
                engagements=[
                    {
                        "kind": "call",
                        "level": "execution",
                        "occurred_on": "2026-11-01",
                        "our_participant_ids": ["viewer-zhao"],
                    }
                ],
            ),
            headers=SUP,
        )
    assert ok.status_code == 201 and ok.json()["our_participant_ids"] == ["am-li", "sup-wang"]
    assert ok.json()["participants"] == ["王总"]
    for response, field, why in (
        (blind, "our_participant_ids.1", "cannot see"),
        (gone, "our_participant_ids.0", "deactivated"),
        (unknown, "our_participant_ids.2", "not known"),
        (imported, "engagements.0.our_participant_ids.0", "roles"),
    ):
        assert response.status_code == 422 and response.json()["field"] == field and why in response.json()["detail"]


async def test_the_approver_of_a_tier_override_must_be_an_active_supervisor(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app, people=PEOPLE) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        body = {"tier": "strategic", "reason": "集团战略"}
        gone = await client.post(
            f"/accounts/{account_id}/tier-override", json=body, headers=auth("supervisor", user_id="sup-gone")
        )
        unknown = await client.post(
            f"/accounts/{account_id}/tier-override", json=body, headers=auth("supervisor", user_id="sup-new")
        )
        approved = await client.post(f"/accounts/{account_id}/tier-override", json=body, headers=SUP)
    for response, why in ((gone, "deactivated"), (unknown, "not known")):
        assert response.status_code == 422 and response.json()["field"] == "approved_by"
        assert why in response.json()["detail"]
    assert approved.status_code == 201 and approved.json()["approved_by"] == "sup-wang"

"""People: action-item owners, team-target owners and approvers are known, active users fit for the job who can
see the account (otherwise 422 naming the field); a handover moves the open items to the new owner."""

import pytest

from shared.events import AccountOwnerChanged
from tests.goals.helpers import LI, SUPERVISOR, approve, create_target, goals_app, register_account, register_team
from tests.support import auth, register_users, running

# Who must be refused, and why (the detail says it).
REFUSED = [
    ("nobody", "is not known"),
    ("am-gone", "is deactivated"),
    ("viewer-zhao", "holds none of the roles"),
    ("am-zhang", "cannot see account"),
]


async def _start(app):
    await register_team(app)
    await register_users(app, [("am-gone", ["account_manager"], False), ("sup-gone", ["supervisor"], False)])
    account = await register_account(app, name="李的客户", owner_id="am-li")
    return account


@pytest.mark.parametrize(("owner_id", "why"), REFUSED)
async def test_an_action_item_owner_who_may_not_work_on_the_account_is_422_naming_owner_id(
    sqlite_database, owner_id, why
):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account = await _start(app)
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1")
        item = {"title": "拜访", "owner_id": owner_id, "due_date": "2026-08-01"}
        response = await client.post(f"/goals/targets/{target['id']}/actions", json=item, headers=SUPERVISOR)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "owner_id" and why in response.json()["detail"]
        good = await client.post(
            f"/goals/targets/{target['id']}/actions", json={**item, "owner_id": "am-li"}, headers=SUPERVISOR
        )
        assert good.status_code == 201
        changed = await client.patch(
            f"/goals/actions/{good.json()['id']}", json={"owner_id": owner_id}, headers=SUPERVISOR
        )
        assert changed.status_code == 422 and changed.json()["field"] == "owner_id"
        assert why in changed.json()["detail"]


@pytest.mark.parametrize(("owner_id", "why"), REFUSED[:3])
async def test_a_team_target_for_someone_who_is_not_an_active_account_manager_is_422(sqlite_database, owner_id, why):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await _start(app)
        body = {"owner_id": owner_id, "metric": "revenue", "period": "2026", "target_value": "100"}
        response = await client.post("/goals/targets", json=body, headers=SUPERVISOR)
        assert response.status_code == 422 and response.json()["field"] == "owner_id"
        assert why in response.json()["detail"]
        batch = await client.post("/goals/targets/batch", json={"targets": [body]}, headers=SUPERVISOR)
        assert batch.status_code == 422 and why in batch.json()["detail"]


async def test_an_approver_the_users_projection_does_not_know_as_an_active_supervisor_is_422(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account = await _start(app)
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="1")
        for user_id in ("sup-gone", "sup-unknown"):
            response = await client.post(
                f"/goals/targets/{target['id']}/approve", headers=auth("supervisor", user_id=user_id)
            )
            assert response.status_code == 422 and response.json()["field"] == "approved_by", response.text
        body = {"targets": [{"account_id": account, "metric": "revenue", "period": "2026-Q1", "target_value": "1"}]}
        batch = await client.post(
            "/goals/targets/batch", json={**body, "approve": True}, headers=auth("supervisor", user_id="sup-gone")
        )
        assert batch.status_code == 422 and batch.json()["field"] == "approved_by"
        assert (await approve(client, target["id"]))["approved_by"] == "sup-wang"


async def test_a_handover_moves_the_former_owners_open_items_and_running_targets_to_the_new_owner(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))  # 2026-07-01
    async with running(app) as client:
        account = await _start(app)
        year = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="9")
        past = await create_target(client, account_id=account, metric="revenue", period="2026-Q1", target_value="3")
        items = {}
        for title, owner, status in (
            ("进行中", "am-li", "in_progress"),
            ("待办", "am-li", "open"),
            ("已完成", "am-li", "done"),
            ("主管的", "sup-wang", "open"),
        ):
            body = {"title": title, "owner_id": owner, "due_date": "2026-08-01", "status": status}
            response = await client.post(f"/goals/targets/{year['id']}/actions", json=body, headers=SUPERVISOR)
            items[title] = response.json()
        await app.state.consumer.process(
            AccountOwnerChanged(
                source="scoring",
                account_id=account,
                data={"old_owner_id": "am-li", "new_owner_id": "am-zhang", "team_member_ids": []},
            )
        )
        plan = (await client.get(f"/goals/targets/{year['id']}/actions", headers=SUPERVISOR)).json()
        assert {i["title"]: i["owner_id"] for i in plan} == {
            "进行中": "am-zhang",
            "待办": "am-zhang",
            "已完成": "am-li",  # done work stays with whoever did it
            "主管的": "sup-wang",
        }
        moved = next(i for i in plan if i["title"] == "待办")
        assert moved["version"] == items["待办"]["version"] + 1
        owners = {
            t["period"]: t["owner_id"] for t in (await client.get("/goals/targets", headers=SUPERVISOR)).json()["items"]
        }
        assert owners == {"2026": "am-zhang", "2026-Q1": "am-li"}  # Q1 is over
        assert past["owner_id"] == "am-li"
        # The former owner no longer sees the account; the new one may now be given its items.
        assert (await client.get(f"/goals/targets/{year['id']}", headers=LI)).status_code == 404
        body = {"title": "交接后", "owner_id": "am-zhang", "due_date": "2026-08-01"}
        response = await client.post(f"/goals/targets/{year['id']}/actions", json=body, headers=SUPERVISOR)
        assert response.status_code == 201

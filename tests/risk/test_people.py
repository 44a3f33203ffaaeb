"""People: every owner, checker and approver risk accepts is a known, active user with a role fit for the job
who sees the account — otherwise a 422 naming the field; a handover moves the former owner's open work."""

from __future__ import annotations

import pytest

from services.risk.contracts.compliance import CLAUSES
from shared.events import AccountOwnerChanged
from tests.risk.support import PEOPLE, add_account, deliver, make_app
from tests.support import auth, register_users, running

RISK = auth("risk_officer", user_id="risk-chen")
LIU = auth("risk_officer", user_id="risk-liu")
LI = auth("account_manager", user_id="am-li")
USERS = [*PEOPLE, ("am-gone", ("account_manager",), False), ("risk-gone", ("risk_officer",), False)]
# Who is refused for work on an account owned by am-li (am-zhang is an account manager of other accounts).
NOT_ASSIGNABLE = {
    "unknown": "ghost",
    "inactive": "am-gone",
    "read-only": "viewer-zhao",
    "account-blind": "am-zhang",
}
NOT_DECIDERS = {**NOT_ASSIGNABLE, "inactive": "risk-gone"}


async def _setup(app, client) -> tuple[str, dict]:
    """An account of am-li's with an open alert whose plan made action items."""
    await register_users(app, USERS)
    account_id = await add_account(app, "人员客户", owner_id="am-li")
    signal = await client.post(
        f"/risk/accounts/{account_id}/signals", json={"value": 4, "title": "债务违约", "reference": "p-1"}, headers=RISK
    )
    assert signal.status_code == 201, signal.text
    [alert] = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
    return account_id, (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()


@pytest.mark.parametrize("why", list(NOT_ASSIGNABLE))
async def test_an_action_item_cannot_go_to_someone_who_cannot_take_it(sqlite_database, why):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        _, alert = await _setup(app, client)
        item = alert["action_items"][0]
        refused = await client.patch(
            f"/risk/action-items/{item['id']}", json={"owner_id": NOT_ASSIGNABLE[why]}, headers=LI
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "owner_id"
        assert NOT_ASSIGNABLE[why] in refused.json()["detail"]
        alert_owner = await client.patch(
            f"/risk/alerts/{alert['id']}", json={"owner_id": NOT_ASSIGNABLE[why]}, headers=LI
        )
        assert alert_owner.status_code == 422 and alert_owner.json()["errors"][0]["field"] == "owner_id"


async def test_an_action_item_is_reassigned_to_a_person_or_a_queue_and_a_done_one_stays_put(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        _, alert = await _setup(app, client)
        item = alert["action_items"][0]
        url = f"/risk/action-items/{item['id']}"
        moved = await client.patch(url, json={"owner_id": "sup-wang"}, headers=LI)
        assert moved.status_code == 200, moved.text
        assert (moved.json()["owner_id"], moved.json()["owner_role"], moved.json()["version"]) == ("sup-wang", None, 2)
        assert moved.headers["etag"] == '"2"'
        stale = await client.patch(url, json={"owner_role": "risk_officer"}, headers={**LI, "If-Match": '"1"'})
        assert stale.status_code == 412
        queued = await client.patch(url, json={"owner_role": "risk_officer"}, headers={**LI, "If-Match": '"2"'})
        assert (queued.json()["owner_id"], queued.json()["owner_role"]) == (None, "risk_officer")
        both = await client.patch(url, json={"owner_id": "am-li", "owner_role": "supervisor"}, headers=LI)
        assert both.status_code == 422
        assert (await client.post(f"{url}/complete", headers=LI)).status_code == 200
        assert (await client.patch(url, json={"owner_id": "am-li"}, headers=LI)).status_code == 409
        owned = await client.patch(f"/risk/alerts/{alert['id']}", json={"owner_id": "am-li"}, headers=RISK)
        assert (owned.status_code, owned.json()["owner_id"]) == (200, "am-li")


@pytest.mark.parametrize("why", list(NOT_DECIDERS))
async def test_a_contract_approver_must_be_a_known_active_decider_who_sees_the_account(sqlite_database, why):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id, _ = await _setup(app, client)
        body = {"title": "审批人合同", "start_on": "2026-01-01", "approver_id": NOT_DECIDERS[why]}
        refused = await client.post(f"/risk/accounts/{account_id}/contracts", json=body, headers=LI)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "approver_id"
        created = await client.post(
            f"/risk/accounts/{account_id}/contracts", json={**body, "approver_id": "risk-liu"}, headers=LI
        )
        assert created.status_code == 201, created.text
        edit = await client.patch(
            f"/risk/contracts/{created.json()['id']}", json={"approver_id": NOT_DECIDERS[why]}, headers=LI
        )
        assert edit.status_code == 422 and edit.json()["errors"][0]["field"] == "approver_id"


async def test_a_named_approver_decides_the_contract_and_nobody_else_but_an_admin(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id, _ = await _setup(app, client)
        created = await client.post(
            f"/risk/accounts/{account_id}/contracts",
            json={
                "title": "指定审批",
                "start_on": "2026-01-01",
                "clauses": dict.fromkeys(CLAUSES, True),
                "approver_id": "risk-liu",
            },
            headers=LI,
        )
        assert created.json()["approver_id"] == "risk-liu"
        url = f"/risk/contracts/{created.json()['id']}/transitions"
        assert (await client.post(url, json={"status": "legal_review"}, headers=LI)).status_code == 200
        other = await client.post(url, json={"status": "approved"}, headers=RISK)
        assert other.status_code == 403 and "risk-liu" in other.json()["detail"]
        approved = await client.post(url, json={"status": "approved"}, headers=LIU)
        assert approved.status_code == 200, approved.text
        assert approved.json()["reviews"][-1]["reviewer_id"] == "risk-liu"


@pytest.mark.parametrize(
    ("checker", "why"),
    [
        ("ghost", "not known"),
        ("risk-gone", "deactivated"),
        ("viewer-zhao", "roles"),
        ("am-li", "roles"),
        ("risk-chen", "maker"),
    ],
)
async def test_a_limit_requests_checker_is_a_known_active_risk_officer_who_is_not_the_maker(
    sqlite_database, checker, why
):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id, _ = await _setup(app, client)
        refused = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": "100", "reason": "x", "checker_id": checker},
            headers=RISK,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "checker_id" and why in refused.json()["detail"]


async def test_a_named_checker_decides_the_limit_request(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id, _ = await _setup(app, client)
        await register_users(app, [("risk-wu", ["risk_officer"])])
        created = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": "100", "reason": "x", "checker_id": "risk-liu"},
            headers=RISK,
        )
        assert created.json()["checker_id"] == "risk-liu"
        url = f"/risk/limit-requests/{created.json()['id']}/approve"
        other = await client.post(url, headers=auth("risk_officer", user_id="risk-wu"))
        assert other.status_code == 403 and "risk-liu" in other.json()["detail"]
        assert (await client.post(url, headers=LIU)).status_code == 200


async def test_a_plan_step_names_only_assignable_people_and_one_who_cannot_take_it_later_lands_in_a_queue(
    sqlite_database,
):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id, _ = await _setup(app, client)
        for owner in ("ghost", "am-gone", "viewer-zhao"):
            refused = await client.put(
                "/risk/plan-templates/industry_policy",
                json={"steps": [{"title": "ok", "owner": "supervisor"}, {"title": "x", "owner": owner}]},
                headers=RISK,
            )
            assert refused.status_code == 422, owner
            assert refused.json()["errors"][0]["field"] == "steps.1.owner"
        # am-zhang may own steps, but not on am-li's account: the step waits in the supervisors' queue there.
        plan = {
            "steps": [
                {"title": "张经理跟进", "owner": "am-zhang"},
                {"title": "客户负责人跟进", "owner": "account_owner"},
            ]
        }
        assert (await client.put("/risk/plan-templates/industry_policy", json=plan, headers=RISK)).status_code == 200
        await register_users(app, [("am-li", ["account_manager"], False)])  # the account owner left
        await client.post(
            "/risk/industry-policies", json={"industry": "制造业", "title": "新规", "impact": 1}, headers=RISK
        )
        [alert] = (
            await client.get(f"/risk/alerts?account_id={account_id}&rule_code=INDUSTRY_POLICY", headers=RISK)
        ).json()["items"]
        items = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()["action_items"]
        assert sorted((i["title"], i["owner_id"], i["owner_role"]) for i in items) == [
            ("客户负责人跟进", None, "account_manager"),
            ("张经理跟进", None, "supervisor"),
        ]


async def test_a_handover_moves_open_items_and_alerts_once_the_former_owner_no_longer_sees_the_account(
    sqlite_database,
):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id, alert = await _setup(app, client)
        for item in alert["action_items"]:  # both steps to am-li, then one of them done
            assert (
                await client.patch(f"/risk/action-items/{item['id']}", json={"owner_id": "am-li"}, headers=LI)
            ).status_code == 200
        done = alert["action_items"][0]["id"]
        assert (await client.post(f"/risk/action-items/{done}/complete", headers=LI)).status_code == 200
        await client.patch(f"/risk/alerts/{alert['id']}", json={"owner_id": "am-li"}, headers=LI)

        # Still on the team: nothing moves.
        await deliver(
            app,
            AccountOwnerChanged(
                source="scoring",
                account_id=account_id,
                data={"old_owner_id": "am-li", "new_owner_id": "am-zhang", "team_member_ids": ["am-li"]},
            ),
        )
        items = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()["action_items"]
        assert {i["owner_id"] for i in items if i["id"] != done} & {"am-li"}
        # Off the account: the open ones and the alert follow the new owner; the done one keeps its history.
        await deliver(
            app,
            AccountOwnerChanged(
                source="scoring",
                account_id=account_id,
                data={"old_owner_id": "am-li", "new_owner_id": "am-zhang", "team_member_ids": []},
            ),
        )
        detail = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()
        owners = {i["id"]: i["owner_id"] for i in detail["action_items"]}
        assert owners[done] == "am-li"
        assert [o for i, o in owners.items() if i != done and o == "am-li"] == []
        assert "am-zhang" in owners.values()
        assert detail["owner_id"] == "am-zhang"
        zhang = await client.get(
            "/risk/action-items?owner_id=am-zhang", headers=auth("account_manager", user_id="am-zhang")
        )
        assert zhang.json()["total"] >= 1

"""People: every owner, reassignment target, task assignee, action owner, remedy approver and escalation target is
a known, active user fit for the job who can see the account — otherwise 422 naming the field (or, for the
configured escalation ladder, the rung is skipped and flagged)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.complaints.jobs import run_sla_check
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    register_account,
)
from tests.support import auth, register_users, running

# (user, why they cannot take the job on an account owned by am-li with the task force on its team)
UNFIT = [
    ("ghost", "is not known"),
    ("am-gone", "is deactivated"),
    ("viewer-zhao", "holds none of the roles"),
    ("am-zhang", "cannot see account"),  # another manager's book: would get 404 on the complaint
]


async def _world(app: FastAPI) -> str:
    """An account owned by am-li (task force on its team) and a deactivated manager."""
    account_id = await register_account(app, owner_id="am-li")
    await register_users(app, [("am-gone", ["account_manager"], False)])
    return account_id


async def _create(client: httpx.AsyncClient, account_id: str, user: str) -> httpx.Response:
    body = {"account_id": account_id, "title": "t", "description": "d", "category": "other", "owner_id": user}
    return await client.post("/complaints", json=body)


async def _assign(client: httpx.AsyncClient, complaint: dict[str, Any], user: str) -> httpx.Response:
    return await client.post(f"/complaints/{complaint['id']}/assign", json={"owner_id": user, "reason": "轮岗"})


async def _task(client: httpx.AsyncClient, complaint: dict[str, Any], user: str) -> httpx.Response:
    body = {"department": "quality", "title": "失效分析", "assignee_id": user, "due_at": "2026-03-03T10:00:00+08:00"}
    return await client.post(f"/complaints/{complaint['id']}/tasks", json=body)


async def _action(client: httpx.AsyncClient, complaint: dict[str, Any], user: str) -> httpx.Response:
    body = {"kind": "corrective", "description": "更换供应商", "owner_id": user, "due_at": "2026-03-31T10:00:00Z"}
    return await client.post(f"/complaints/{complaint['id']}/actions", json=body)


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ("create", "owner_id"),
        ("assign", "owner_id"),
        ("task", "assignee_id"),
        ("action", "owner_id"),
    ],
)
async def test_an_unknown_inactive_read_only_or_account_blind_user_is_refused_naming_the_field(
    sqlite_database, route, field
):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await _world(app)
        complaint = await open_complaint(client, account_id)

        async def send(user: str) -> httpx.Response:
            if route == "create":
                return await _create(client, account_id, user)
            return await {"assign": _assign, "task": _task, "action": _action}[route](client, complaint, user)

        results = {user: await send(user) for user, _why in UNFIT}
        fit = await send("qa-sun")  # on the account's team
    for user, why in UNFIT:
        response = results[user]
        assert response.status_code == 422, (user, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], user
        assert why in response.json()["detail"], (user, response.json()["detail"])
    assert fit.status_code in (200, 201), fit.text


async def test_the_account_owner_who_cannot_own_it_gives_way_to_the_person_logging_it(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app, owner_id="am-left-the-company")
        complaint = await open_complaint(client, account_id)
        timeline = (await client.get(f"/complaints/{complaint['id']}/timeline")).json()
        by_integration = await client.post(
            "/complaints",
            json={"account_id": account_id, "title": "t", "description": "d", "category": "other"},
            headers=auth("service", user_id="erp-sync"),
        )
    assert complaint["owner_id"] == "sup-wang"
    assert timeline[0]["data"]["owner_source"] == "actor"
    # An integration key cannot own a complaint and the account's owner is unknown: name an owner.
    assert by_integration.status_code == 422
    assert by_integration.json()["errors"][0]["field"] == "owner_id"


async def test_a_remedy_approver_must_be_a_known_active_supervisor(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        await register_users(app, [("sup-gone", ["supervisor"], False)])
        complaint = await open_complaint(client, account_id)
        remedy = (
            await client.post(
                f"/complaints/{complaint['id']}/remedies",
                json={"kind": "discount", "description": "九五折", "value": "100.00"},
                headers=LI,
            )
        ).json()
        path = f"/complaints/{complaint['id']}/remedies/{remedy['id']}/decision"
        unknown = await client.post(path, json={"approve": True}, headers=auth("supervisor", user_id="sup-nobody"))
        gone = await client.post(path, json={"approve": True}, headers=auth("supervisor", user_id="sup-gone"))
        approved = await client.post(path, json={"approve": True})
    assert unknown.status_code == gone.status_code == 422
    assert unknown.json()["errors"][0]["field"] == gone.json()["errors"][0]["field"] == "approver"
    assert approved.status_code == 200 and approved.json()["decided_by"] == "sup-wang"


async def test_an_unfit_escalation_target_is_skipped_for_the_next_rung_and_flagged(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock, escalation_supervisor_id="sup-gone")
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        await register_users(app, [("sup-gone", ["supervisor"], False)])
        complaint = await open_complaint(client, account_id, severity="critical")
        clock.advance(timedelta(hours=25))
        await run_sla_check(app)
        detail = (await client.get(f"/complaints/{complaint['id']}")).json()
        timeline = (await client.get(f"/complaints/{complaint['id']}/timeline")).json()
    assert [(e["level"], e["escalated_to"]) for e in detail["escalations"]] == [(2, "director")]
    [unfit] = [e for e in timeline if e["kind"] == "escalation_target_unfit"]
    assert unfit["data"] == {"level": 1, "escalated_to": "sup-gone", "setting": "escalation_supervisor_id"}
    assert "deactivated" in unfit["body"]


async def test_with_no_fit_escalation_target_the_escalation_is_skipped_and_tried_again_later(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(
        await sqlite_database("complaints"),
        clock,
        escalation_supervisor_id="nobody",
        escalation_director_id="am-li",  # an account manager is no escalation target
    )
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="critical")
        clock.advance(timedelta(hours=25))
        await run_sla_check(app)
        detail = (await client.get(f"/complaints/{complaint['id']}")).json()
        timeline = (await client.get(f"/complaints/{complaint['id']}/timeline")).json()
    assert detail["escalation_level"] == 0 and detail["escalations"] == []
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("escalation_target_unfit") == 2
    [skipped] = [e for e in timeline if e["kind"] == "escalation_skipped"]
    assert skipped["data"] == {"reason": "first_response_breach", "why": "no fit escalation target"}

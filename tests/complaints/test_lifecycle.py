"""The closed loop over the API: state machine, revisits, reopen escalation, events once per transition."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from services.complaints.intake.states import STATES, TRANSITIONS
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    outbox_events,
    register_account,
)
from tests.support import running

# The closed loop, restated here on purpose: a change to the production table must fail these tests.
ALLOWED: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged",),
    "acknowledged": ("investigating", "solution_proposed", "resolved"),
    "investigating": ("solution_proposed", "resolved"),
    "solution_proposed": ("investigating", "resolved"),
    "resolved": ("revisited", "reopened"),
    "revisited": ("closed", "reopened"),
    "closed": ("reopened",),
    "reopened": ("investigating", "solution_proposed", "resolved"),
}
# Each target state and the request that asks for it.
MOVES: dict[str, tuple[str, dict[str, Any]]] = {
    "acknowledged": ("acknowledge", {"message": "已收到，我们将在今天内联系您。"}),
    "investigating": ("investigate", {"message": "质量部介入调查"}),
    "solution_proposed": ("propose-solution", {"message": "更换整批控制器"}),
    "resolved": ("resolve", {"message": "已完成更换"}),
    "revisited": ("revisit", {"satisfaction": 4, "comment": "处理及时"}),
    "closed": ("close", {"message": ""}),
    "reopened": ("reopen", {"reason": "问题再次出现"}),
}
# The shortest path from new to each state.
PATHS: dict[str, list[str]] = {
    "new": [],
    "acknowledged": ["acknowledged"],
    "investigating": ["acknowledged", "investigating"],
    "solution_proposed": ["acknowledged", "investigating", "solution_proposed"],
    "resolved": ["acknowledged", "resolved"],
    "revisited": ["acknowledged", "resolved", "revisited"],
    "closed": ["acknowledged", "resolved", "revisited", "closed"],
    "reopened": ["acknowledged", "resolved", "reopened"],
}


async def move(client: httpx.AsyncClient, complaint_id: str, target: str, **override: Any) -> httpx.Response:
    action, body = MOVES[target]
    return await client.post(f"/complaints/{complaint_id}/{action}", json={**body, **override}, headers=SUPERVISOR)


async def walk(client: httpx.AsyncClient, complaint_id: str, path: list[str]) -> None:
    for target in path:
        response = await move(client, complaint_id, target)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == target


async def test_state_machine_refuses_every_invalid_transition_with_409(make_database):
    assert TRANSITIONS == ALLOWED
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        refused = 0
        for state in STATES:
            complaint = await open_complaint(client, account_id)
            await walk(client, complaint["id"], PATHS[state])
            for target in MOVES:
                if target in ALLOWED[state]:
                    continue
                response = await move(client, complaint["id"], target)
                assert response.status_code == 409, (state, target, response.text)
                problem = response.json()
                assert response.headers["content-type"].startswith("application/problem+json")
                assert problem["current"] == state
                assert problem["allowed"] == list(ALLOWED[state])
                refused += 1
            after = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
            assert after["state"] == state  # nothing changed
            assert after["allowed_transitions"] == list(ALLOWED[state])
        assert refused == sum(len([t for t in MOVES if t not in ALLOWED[s]]) for s in STATES)


async def test_state_machine_accepts_every_listed_transition(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        accepted = 0
        for state, targets in ALLOWED.items():
            for target in targets:
                complaint = await open_complaint(client, account_id)
                await walk(client, complaint["id"], PATHS[state])
                response = await move(client, complaint["id"], target)
                assert response.status_code == 200, (state, target, response.text)
                assert response.json()["state"] == target
                accepted += 1
    assert accepted == sum(len(t) for t in ALLOWED.values())


async def test_every_transition_publishes_its_event_once_through_the_outbox(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        headers = {**SUPERVISOR, "Idempotency-Key": "intake-001"}
        body = {
            "account_id": account_id,
            "title": "交付延误",
            "description": "订单延误两周",
            "category": "delivery_timeliness",
            "severity": "high",
        }
        created = await client.post("/complaints", json=body, headers=headers)
        replayed = await client.post("/complaints", json=body, headers=headers)
        assert created.status_code == replayed.status_code == 201
        assert replayed.json()["id"] == created.json()["id"]
        complaint_id = created.json()["id"]
        for target, hours in (
            ("acknowledged", 2),
            ("investigating", 1),
            ("solution_proposed", 3),
            ("resolved", 20),
        ):
            clock.advance(timedelta(hours=hours))
            assert (await move(client, complaint_id, target)).status_code == 200
        clock.advance(timedelta(days=2))
        assert (await move(client, complaint_id, "revisited", satisfaction=5, comment="非常满意")).status_code == 200
        assert (await move(client, complaint_id, "closed")).status_code == 200
        listed = (await client.get("/complaints", headers=SUPERVISOR)).json()
    assert listed["total"] == 1
    events = await outbox_events(app, complaint_id)
    assert [e["type"] for e in events] == [
        "complaints.opened",
        "complaints.assigned",  # the owner it got at intake (for notifications)
        "complaints.acknowledged",
        "complaints.resolved",
        "complaints.closed",
    ]
    assert len({e["id"] for e in events}) == 5
    opened, assigned, acknowledged, resolved, closed = (e["data"] for e in events)
    assert opened["owner_id"] == "am-li"  # the account's owner becomes the one owner
    assert (assigned["owner_id"], assigned["previous_owner_id"]) == ("am-li", None)
    assert acknowledged["first_response_minutes"] == 120
    assert acknowledged["within_sla"] is True
    assert resolved["resolution_minutes"] == 26 * 60
    assert resolved["within_sla"] is True
    assert closed["satisfaction"] == 5
    assert closed["waived"] is False


async def test_low_satisfaction_revisit_reopens_and_the_nth_reopen_escalates(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)  # defaults: ≤ 2 reopens, 2nd reopen escalates
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        await walk(client, cid, ["acknowledged", "resolved"])
        first = await move(client, cid, "revisited", satisfaction=2, comment="问题没有根本解决")
        assert first.status_code == 200, first.text
        assert first.json()["state"] == "reopened"
        assert first.json()["reopen_count"] == 1
        assert first.json()["escalation_level"] == 0
        await walk(client, cid, ["investigating", "resolved"])
        second = await move(client, cid, "revisited", satisfaction=1, comment="仍然不满意")
        assert second.json()["state"] == "reopened"
        assert second.json()["reopen_count"] == 2
        assert second.json()["escalation_level"] == 1
        await walk(client, cid, ["resolved"])
        fine = await move(client, cid, "revisited", satisfaction=3, comment="基本满意")
        assert fine.json()["state"] == "revisited"
        closed = await move(client, cid, "closed")
        assert closed.json()["state"] == "closed"
        timeline = (await client.get(f"/complaints/{cid}/timeline", headers=SUPERVISOR)).json()
    types = Counter(e["type"] for e in await outbox_events(app, cid))
    assert types == {
        "complaints.opened": 1,
        "complaints.assigned": 1,
        "complaints.acknowledged": 1,
        "complaints.resolved": 3,
        "complaints.reopened": 2,
        "complaints.escalated": 1,
        "complaints.closed": 1,
    }
    escalated = [e for e in await outbox_events(app, cid) if e["type"] == "complaints.escalated"]
    assert escalated[0]["data"]["reason"] == "reopened"
    reopened = [e["data"] for e in await outbox_events(app, cid) if e["type"] == "complaints.reopened"]
    assert [r["reopen_count"] for r in reopened] == [1, 2]
    assert [e["kind"] for e in timeline].count("revisited") == 3


async def test_low_satisfaction_can_escalate_instead_of_reopening(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(
        await sqlite_database("complaints"), clock, low_satisfaction_action="escalate", low_satisfaction_threshold=3
    )
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        await walk(client, complaint["id"], ["acknowledged", "resolved"])
        body = (await move(client, complaint["id"], "revisited", satisfaction=3, comment="一般")).json()
    assert body["state"] == "revisited"
    assert body["escalation_level"] == 1
    escalated = [e for e in await outbox_events(app) if e["type"] == "complaints.escalated"]
    assert [e["data"]["reason"] for e in escalated] == ["low_satisfaction"]


async def test_closing_needs_a_revisit_or_a_waiver_with_reason(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        await walk(client, cid, ["acknowledged", "resolved"])
        too_early = await move(client, cid, "closed")
        empty = await client.post(f"/complaints/{cid}/revisit", json={}, headers=SUPERVISOR)
        no_comment = await client.post(f"/complaints/{cid}/revisit", json={"satisfaction": 5}, headers=SUPERVISOR)
        out_of_range = await client.post(
            f"/complaints/{cid}/revisit", json={"satisfaction": 6, "comment": "x"}, headers=SUPERVISOR
        )
        waived = await client.post(
            f"/complaints/{cid}/revisit",
            json={"waiver_reason": "contact_left", "comment": "客户联系人已离职，无法回访"},
            headers=SUPERVISOR,
        )
        closed = await move(client, cid, "closed")
    assert too_early.status_code == 409
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "satisfaction"
    assert no_comment.status_code == 422 and no_comment.json()["errors"][0]["field"] == "comment"
    assert out_of_range.status_code == 422
    assert waived.status_code == 200 and waived.json()["waived"] is True
    assert closed.json()["state"] == "closed"
    event = next(e for e in await outbox_events(app, cid) if e["type"] == "complaints.closed")
    assert event["data"]["waived"] is True and event["data"]["satisfaction"] is None


def test_api_state_names_match_the_state_machine():
    from typing import get_args

    from services.complaints.intake.schemas import StateName

    assert get_args(StateName) == STATES
    assert set(TRANSITIONS) == set(STATES)
    assert all(set(targets) <= set(STATES) for targets in TRANSITIONS.values())

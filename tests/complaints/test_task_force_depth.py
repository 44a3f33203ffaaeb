"""Task force and improvement in depth (issue 13 item 9): task due dates (also while paused), overdue tasks,
configurable departments, closing over open work only by a supervisor's audited override, the verification step
of actions, and goodwill approval limits by amount, role and currency (four eyes above the limit)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from services.complaints.models import audit_log
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    parse_time,
    register_account,
)
from tests.support import auth, running

DIRECTOR = auth("supervisor", user_id="director")


def task_body(due: Any, department: str = "quality") -> dict[str, Any]:
    due_at = due if isinstance(due, str) else due.isoformat()
    return {"department": department, "title": "失效分析", "assignee_id": "qa-sun", "due_at": due_at}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str] = SUPERVISOR):
    return await client.post(path, json=body, headers=headers)


async def walk(client: httpx.AsyncClient, cid: str, *moves: tuple[str, dict[str, Any]]) -> None:
    for action, body in moves:
        response = await post(client, f"/complaints/{cid}/{action}", body)
        assert response.status_code == 200, (action, response.text)


TO_REVISITED = (
    ("acknowledge", {"message": "已收到"}),
    ("resolve", {"message": "已更换"}),
    ("revisit", {"satisfaction": 5, "comment": "满意"}),
)


async def test_a_task_is_due_in_the_future_and_within_the_sla_even_while_paused(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)  # high, default tier: resolution in 120 calendar h
        cid, due = complaint["id"], parse_time(complaint["resolution_due_at"])
        tasks = f"/complaints/{cid}/tasks"
        refused_now = {
            "in the past": await post(client, tasks, task_body(clock.now() - timedelta(minutes=1))),
            "now": await post(client, tasks, task_body(clock.now())),
            "after the due time": await post(client, tasks, task_body(due + timedelta(hours=5))),
        }
        at_due = await post(client, tasks, task_body(due))
        await walk(client, cid, ("acknowledge", {"message": "收到"}), ("propose-solution", {"message": "更换"}))
        await walk(client, cid, ("pause", {"reason": "等待客户确认方案"}))
        clock.advance(timedelta(hours=10))  # paused 10 h so far: resumed now, the due time moves to due + 10 h
        paused = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
        within_moved = await post(client, tasks, task_body(due + timedelta(hours=9)))
        beyond_moved = await post(client, tasks, task_body(due + timedelta(hours=11)))
        paused_after = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
    for case, response in refused_now.items():
        assert response.status_code == 422, case
        assert response.json()["errors"][0]["field"] == "due_at", case
    assert at_due.status_code == 201
    assert paused["paused"] is True and paused["resolution_due_at"] is None
    assert within_moved.status_code == 201, within_moved.text
    assert beyond_moved.status_code == 422 and beyond_moved.json()["errors"][0]["field"] == "due_at"
    assert parse_time(beyond_moved.json()["resolution_due_at"]) == due + timedelta(hours=10)
    # the check leaves the paused clock as it was
    assert paused_after["paused"] is True and paused_after["resolution_due_at"] is None


async def test_overdue_tasks_are_flagged_and_counted_on_the_complaint_and_in_the_list(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        cid = (await open_complaint(client, account_id))["id"]
        other = (await open_complaint(client, account_id))["id"]
        soon = [
            await post(client, f"/complaints/{cid}/tasks", task_body(clock.now() + timedelta(hours=h))) for h in (1, 2)
        ]
        later = await post(client, f"/complaints/{other}/tasks", task_body(clock.now() + timedelta(hours=48)))
        done = soon[1].json()["id"]
        await client.patch(f"/complaints/{cid}/tasks/{done}", json={"status": "done"}, headers=SUPERVISOR)
        before = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
        clock.advance(timedelta(hours=3))
        detail = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
        overdue = (await client.get("/complaints/tasks", params={"overdue": "true"}, headers=SUPERVISOR)).json()
        everything = (await client.get("/complaints/tasks", headers=SUPERVISOR)).json()
        not_theirs = (await client.get("/complaints/tasks", headers=auth("account_manager", user_id="am-zhang"))).json()
    assert before["overdue_task_count"] == 0
    assert detail["overdue_task_count"] == 1
    assert [(t["id"], t["overdue"]) for t in detail["tasks"]] == [(soon[0].json()["id"], True), (done, False)]
    assert [t["id"] for t in overdue["items"]] == [soon[0].json()["id"]]
    assert overdue["items"][0]["complaint_id"] == cid and overdue["total"] == overdue["overdue_total"] == 1
    assert (everything["total"], everything["overdue_total"]) == (3, 1)
    assert later.json()["id"] in [t["id"] for t in everything["items"]]
    assert not_theirs["total"] == 0  # another manager's accounts' tasks are not listed


async def test_departments_are_a_configurable_list_with_marketing_by_default(make_database):
    results: dict[str, Any] = {}
    for name, overrides in (("default", {}), ("configured", {"task_departments": ["quality", "customer_success"]})):
        clock = FrozenClock(MONDAY_9AM_BEIJING)
        app = make_app(await make_database(f"complaints_{name}"), clock, **overrides)
        async with running(app) as client:
            cid = (await open_complaint(client, await register_account(app)))["id"]
            due = clock.now() + timedelta(hours=4)
            results[name] = {
                d: (await post(client, f"/complaints/{cid}/tasks", task_body(due, d))).status_code
                for d in ("marketing", "customer_success", "weather")
            }
            results[name]["list"] = (await client.get("/complaints/departments", headers=LI)).json()["items"]
    assert results["default"]["marketing"] == 201
    assert results["default"]["customer_success"] == results["default"]["weather"] == 422
    assert "marketing" in results["default"]["list"]
    assert results["configured"]["marketing"] == 422 and results["configured"]["customer_success"] == 201
    assert results["configured"]["list"] == ["quality", "customer_success"]


async def _audit(app, action: str) -> list[dict[str, Any]]:
    async with app.state.db.transaction() as session:
        rows = (await session.execute(select(audit_log).where(audit_log.c.action == action))).mappings().all()
    return [dict(r) for r in rows]


async def test_closing_over_open_work_needs_a_supervisors_audited_override(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    due = (MONDAY_9AM_BEIJING + timedelta(hours=24)).isoformat()
    open_work: dict[str, tuple[str, dict[str, Any]]] = {
        "tasks": ("tasks", task_body(due)),
        "actions": ("actions", {"kind": "corrective", "description": "换供应商", "owner_id": "qa-sun", "due_at": due}),
        "remedies": ("remedies", {"kind": "discount", "description": "九五折", "value": "500"}),
    }
    async with running(app) as client:
        account_id = await register_account(app)
        outcomes = {}
        for kind, (path, body) in open_work.items():
            cid = (await open_complaint(client, account_id))["id"]
            made = await post(client, f"/complaints/{cid}/{path}", body, headers=LI)
            assert made.status_code == 201, made.text
            await walk(client, cid, *TO_REVISITED)
            refused = await post(client, f"/complaints/{cid}/close", {"message": "结案"})
            by_manager = await post(client, f"/complaints/{cid}/close", {"override": {"reason": "客户确认"}}, LI)
            overridden = await post(client, f"/complaints/{cid}/close", {"override": {"reason": "客户书面确认结案"}})
            outcomes[kind] = (cid, made.json()["id"], refused, by_manager, overridden)
        clean = (await open_complaint(client, account_id))["id"]
        await walk(client, clean, *TO_REVISITED)
        closed_clean = await post(client, f"/complaints/{clean}/close", {"message": "结案"}, LI)
        audited = await _audit(app, "complaint.closed_over_open_work")
    for kind, (cid, item_id, refused, by_manager, overridden) in outcomes.items():
        assert refused.status_code == 409, kind
        assert refused.json()["open"][kind] == [item_id], kind
        assert all(refused.json()["open"][k] == [] for k in open_work if k != kind), kind
        assert by_manager.status_code == 403, kind
        assert overridden.status_code == 200 and overridden.json()["state"] == "closed", kind
    assert closed_clean.status_code == 200
    assert sorted(a["object_id"] for a in audited) == sorted(o[0] for o in outcomes.values())
    entry = next(a for a in audited if a["object_id"] == outcomes["tasks"][0])
    assert entry["actor_id"] == "sup-wang"
    assert entry["before"]["open"]["tasks"] == [outcomes["tasks"][1]]
    assert entry["after"] == {"state": "closed", "override_reason": "客户书面确认结案"}


async def test_an_action_counts_as_done_only_once_verified_effective_by_someone_else(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    qa_sun = auth("account_manager", user_id="qa-sun")
    async with running(app) as client:
        cid = (await open_complaint(client, await register_account(app)))["id"]
        body = {
            "kind": "preventive",
            "description": "来料抽检",
            "owner_id": "qa-sun",
            "due_at": "2026-03-09T18:00:00+08:00",
        }
        action = (await post(client, f"/complaints/{cid}/actions", body, headers=LI)).json()
        path = f"/complaints/{cid}/actions/{action['id']}"
        too_early = await post(client, f"{path}/verification", {"effective": True, "note": "x"})
        await client.patch(path, json={"status": "done"}, headers=qa_sun)
        await walk(client, cid, *TO_REVISITED)
        done_unverified = await post(client, f"/complaints/{cid}/close", {"message": ""})
        by_owner = await post(client, f"{path}/verification", {"effective": True, "note": "我自己看过"}, qa_sun)
        clock.advance(timedelta(days=1))
        ineffective = await post(client, f"{path}/verification", {"effective": False, "note": "抽检仍有不良"}, LI)
        await client.patch(path, json={"status": "done"}, headers=qa_sun)
        clock.advance(timedelta(days=1))
        effective = await post(client, f"{path}/verification", {"effective": True, "note": "连续三批合格"}, LI)
        reopened = await client.patch(path, json={"status": "open"}, headers=qa_sun)
        closed = await post(client, f"/complaints/{cid}/close", {"message": ""})
    assert too_early.status_code == 409 and too_early.json()["current"] == "open"
    assert done_unverified.status_code == 409 and done_unverified.json()["open"]["actions"] == [action["id"]]
    assert by_owner.status_code == 409
    assert (ineffective.json()["status"], ineffective.json()["effective"], ineffective.json()["done_at"]) == (
        "open",
        False,
        None,
    )
    verified = effective.json()
    assert (verified["status"], verified["effective"], verified["verified_by"]) == ("verified", True, "am-li")
    assert parse_time(verified["verified_at"]) == MONDAY_9AM_BEIJING + timedelta(days=2)
    assert verified["verification_note"] == "连续三批合格"
    assert reopened.status_code == 409  # verified is final
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


async def test_goodwill_above_the_approvers_limit_needs_a_second_approver_and_currencies_never_add(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    limits = {"supervisor": {"CNY": "10000", "USD": "10000"}}
    app = make_app(await make_database("complaints"), clock, remedy_approval_limits=limits)
    async with running(app) as client:
        cid = (await open_complaint(client, await register_account(app)))["id"]

        async def propose(value: str, currency: str = "CNY") -> str:
            body = {"kind": "discount", "description": "折让", "value": value, "currency": currency}
            return str((await post(client, f"/complaints/{cid}/remedies", body, headers=LI)).json()["id"])

        async def decide(remedy_id: str, headers: dict[str, str], approve: bool = True) -> httpx.Response:
            return await post(client, f"/complaints/{cid}/remedies/{remedy_id}/decision", {"approve": approve}, headers)

        first = await decide(await propose("8000"), SUPERVISOR)  # 8,000 ≤ 10,000: one approver
        second_id = await propose("5000")  # 8,000 + 5,000 = 13,000 CNY > 10,000: four eyes
        needs_second = await decide(second_id, SUPERVISOR)
        same_again = await decide(second_id, SUPERVISOR)
        by_director = await decide(second_id, DIRECTOR)
        usd = await decide(await propose("9000", "USD"), SUPERVISOR)  # 9,000 USD alone: CNY is never added
        no_limit = await decide(await propose("1", "EUR"), SUPERVISOR)  # no EUR limit: always a second approver
        rejected = await decide(no_limit.json()["id"], DIRECTOR, approve=False)
        first_approvals = await _audit(app, "remedy.first_approved")
    assert first.json()["status"] == "approved"
    assert needs_second.status_code == 200
    assert (needs_second.json()["status"], needs_second.json()["first_approved_by"]) == ("awaiting_second", "sup-wang")
    assert needs_second.json()["decided_by"] is None
    assert same_again.status_code == 409
    assert (by_director.json()["status"], by_director.json()["decided_by"]) == ("approved", "director")
    assert usd.json()["status"] == "approved"
    assert no_limit.json()["status"] == "awaiting_second"
    assert rejected.json()["status"] == "rejected"
    assert {a["object_id"] for a in first_approvals} == {second_id, no_limit.json()["id"]}
    assert Decimal(
        next(a for a in first_approvals if a["object_id"] == second_id)["after"]["total_with_this"]
    ) == Decimal(13000)

"""Access, ownership, pauses, task force, improvement, timeline visibility, views and analytics over the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.clock import FrozenClock
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    TASK_FORCE,
    VIEWER,
    ZHANG,
    make_app,
    open_complaint,
    parse_time,
    register_account,
)
from tests.support import auth, running


async def test_account_managers_see_and_act_only_on_their_accounts(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        li_account = await register_account(app, name="华为技术有限公司", owner_id="am-li")
        zhang_account = await register_account(app, name="比亚迪股份有限公司", owner_id="am-zhang")
        mine = await open_complaint(client, li_account, headers=LI)
        theirs = await open_complaint(client, zhang_account)
        listed = (await client.get("/complaints", headers=LI)).json()
        hidden = await client.get(f"/complaints/{theirs['id']}", headers=LI)
        act = await client.post(f"/complaints/{theirs['id']}/acknowledge", json={"message": "hi"}, headers=LI)
        open_elsewhere = await client.post(
            "/complaints",
            json={"account_id": zhang_account, "title": "t", "description": "d", "category": "other"},
            headers=LI,
        )
        view = await client.get(f"/complaints/views/accounts/{zhang_account}", headers=LI)
        board = (await client.get("/complaints/views/portfolio", headers=ZHANG)).json()
        viewer_list = (await client.get("/complaints", headers=VIEWER)).json()
        viewer_write = await client.post(
            f"/complaints/{mine['id']}/acknowledge", json={"message": "hi"}, headers=VIEWER
        )
        unauthenticated = await client.get("/complaints")
    assert [c["id"] for c in listed["items"]] == [mine["id"]]
    assert hidden.status_code == act.status_code == open_elsewhere.status_code == view.status_code == 404
    assert board["open_total"] == 1
    assert viewer_list["total"] == 2
    assert viewer_write.status_code == 403
    assert unauthenticated.status_code == 401


async def test_reassignment_keeps_one_owner_and_is_audited(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app, team=(*TASK_FORCE, "am-zhang"))  # the new owner sees the account
        complaint = await open_complaint(client, account_id)
        stale = await client.post(
            f"/complaints/{complaint['id']}/assign",
            json={"owner_id": "am-zhang", "reason": "x"},
            headers={**SUPERVISOR, "If-Match": '"999"'},
        )
        moved = await client.post(
            f"/complaints/{complaint['id']}/assign",
            json={"owner_id": "am-zhang", "reason": "李经理休假，张经理接手"},
            headers={**SUPERVISOR, "If-Match": f'"{complaint["version"]}"'},
        )
        timeline = (await client.get(f"/complaints/{complaint['id']}/timeline", headers=SUPERVISOR)).json()
    assert stale.status_code == 412
    assert moved.status_code == 200 and moved.json()["owner_id"] == "am-zhang"
    audit = [e for e in timeline if e["kind"] == "owner_changed"]
    assert audit == [
        {
            **audit[0],
            "actor_id": "sup-wang",
            "body": "李经理休假，张经理接手",
            "data": {"from": "am-li", "to": "am-zhang"},
        }
    ]


async def test_sla_pauses_only_while_waiting_on_the_customer_and_moves_the_due_time(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="critical")  # resolution 72 h
        cid = complaint["id"]
        due = parse_time(complaint["resolution_due_at"])
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "收到"}, headers=SUPERVISOR)
        await client.post(f"/complaints/{cid}/investigate", json={}, headers=SUPERVISOR)
        not_waiting = await client.post(f"/complaints/{cid}/pause", json={"reason": "等待"}, headers=SUPERVISOR)
        no_reason = await client.post(f"/complaints/{cid}/pause", json={"reason": ""}, headers=SUPERVISOR)
        await client.post(f"/complaints/{cid}/propose-solution", json={"message": "方案A"}, headers=SUPERVISOR)
        paused = await client.post(f"/complaints/{cid}/pause", json={"reason": "等待客户确认方案"}, headers=SUPERVISOR)
        clock.advance(timedelta(hours=5, minutes=30))
        resumed = await client.post(f"/complaints/{cid}/resume", headers=SUPERVISOR)
        clock.advance(timedelta(hours=1))
        resolved = await client.post(f"/complaints/{cid}/resolve", json={"message": "完成"}, headers=SUPERVISOR)
        detail = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
    assert not_waiting.status_code == 409
    assert no_reason.status_code == 422
    assert paused.status_code == 200
    assert paused.json()["resolution_due_at"] is None and paused.json()["sla"]["state"] == "paused"
    assert parse_time(resumed.json()["resolution_due_at"]) == due + timedelta(hours=5, minutes=30)
    assert resolved.json()["resolution_minutes"] == 60  # the 5 h 30 paused are not counted
    assert [(p["reason"], p["started_by"]) for p in detail["pauses"]] == [("等待客户确认方案", "sup-wang")]
    assert detail["pauses"][0]["ended_at"] is not None


async def test_task_force_due_dates_are_checked_against_the_customer_sla(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app, tier="strategic")
        complaint = await open_complaint(client, account_id, severity="critical")  # strategic: resolve in 24 h
        cid = complaint["id"]
        due = parse_time(complaint["resolution_due_at"])
        assert due == MONDAY_9AM_BEIJING + timedelta(hours=24)
        late = await client.post(
            f"/complaints/{cid}/tasks",
            json={
                "department": "logistics",
                "title": "补发货物",
                "assignee_id": "wl-zhou",
                "due_at": (due + timedelta(minutes=1)).isoformat(),
            },
            headers=SUPERVISOR,
        )
        ok = await client.post(
            f"/complaints/{cid}/tasks",
            json={"department": "quality", "title": "失效分析", "assignee_id": "qa-sun", "due_at": due.isoformat()},
            headers=SUPERVISOR,
        )
        done = await client.patch(f"/complaints/{cid}/tasks/{ok.json()['id']}", json={"status": "done"}, headers=LI)
        bad_department = await client.post(
            f"/complaints/{cid}/tasks",
            json={"department": "marketing", "title": "x", "assignee_id": "y", "due_at": due.isoformat()},
            headers=SUPERVISOR,
        )
    assert late.status_code == 422
    assert late.json()["errors"][0]["field"] == "due_at"
    assert ok.status_code == 201
    assert done.json()["status"] == "done"
    assert bad_department.status_code == 422


async def test_improvement_root_cause_actions_and_remedy_approval(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        root = await client.put(
            f"/complaints/{cid}/root-cause",
            json={"category": "product_quality", "description": "供应商来料不良，进货检验漏检"},
            headers=LI,
        )
        action = await client.post(
            f"/complaints/{cid}/actions",
            json={
                "kind": "preventive",
                "description": "来料检验增加抽检比例",
                "owner_id": "qa-sun",
                "due_at": "2026-03-31T10:00:00Z",
            },
            headers=LI,
        )
        done = await client.patch(
            f"/complaints/{cid}/actions/{action.json()['id']}", json={"status": "done"}, headers=LI
        )
        remedy = await client.post(
            f"/complaints/{cid}/remedies",
            json={"kind": "discount", "description": "下批订单九五折", "value": "12500.50"},
            headers=LI,
        )
        by_manager = await client.post(
            f"/complaints/{cid}/remedies/{remedy.json()['id']}/decision", json={"approve": True}, headers=LI
        )
        approved = await client.post(
            f"/complaints/{cid}/remedies/{remedy.json()['id']}/decision", json={"approve": True}, headers=SUPERVISOR
        )
        twice = await client.post(
            f"/complaints/{cid}/remedies/{remedy.json()['id']}/decision", json={"approve": False}, headers=SUPERVISOR
        )
        detail = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
    assert root.json()["root_cause_category"] == "product_quality"
    assert done.json()["status"] == "done" and done.json()["done_at"] is not None
    assert Decimal(remedy.json()["value"]) == Decimal("12500.50") and remedy.json()["currency"] == "CNY"
    assert by_manager.status_code == 403
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "sup-wang"
    assert twice.status_code == 409
    assert detail["remedies"][0]["description"] == "下批订单九五折"
    assert Decimal(detail["remedies"][0]["value"]) == Decimal("12500.50")
    assert detail["root_cause_description"] == "供应商来料不良，进货检验漏检"


async def test_timeline_separates_internal_notes_from_customer_updates(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "您好，已收到投诉"}, headers=LI)
        await client.post(f"/complaints/{cid}/notes", json={"body": "内部：怀疑是固件问题"}, headers=LI)
        clock.advance(timedelta(hours=3))
        update = await client.post(
            f"/complaints/{cid}/notes", json={"body": "进展：已安排工程师上门", "visibility": "customer"}, headers=LI
        )
        customer = (await client.get(f"/complaints/{cid}/timeline?visibility=customer", headers=LI)).json()
        internal = (await client.get(f"/complaints/{cid}/timeline?visibility=internal", headers=LI)).json()
        detail = (await client.get(f"/complaints/{cid}", headers=LI)).json()
    assert update.status_code == 201
    assert [e["body"] for e in customer] == ["您好，已收到投诉", "进展：已安排工程师上门"]
    assert "内部：怀疑是固件问题" in [e["body"] for e in internal]
    assert all(e["visibility"] == "internal" for e in internal)
    # The customer update restarted the update timer (default high: every 48 h).
    assert parse_time(detail["update_due_at"]) == clock.now() + timedelta(hours=48)


async def test_account_and_portfolio_views_show_open_complaints_with_sla_state(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        strategic = await register_account(app, name="宁德时代", tier="strategic")
        other = await register_account(app, name="美的集团", owner_id="am-zhang")
        late = await open_complaint(client, strategic, severity="critical")  # first response within 4 h
        await open_complaint(client, other, severity="low")
        done = await open_complaint(client, other, severity="medium")
        await client.post(f"/complaints/{done['id']}/acknowledge", json={"message": "收到"}, headers=SUPERVISOR)
        await client.post(f"/complaints/{done['id']}/resolve", json={"message": "已解决"}, headers=SUPERVISOR)
        clock.advance(timedelta(hours=4, minutes=1))
        account = (await client.get(f"/complaints/views/accounts/{strategic}", headers=SUPERVISOR)).json()
        board = (await client.get("/complaints/views/portfolio", headers=SUPERVISOR)).json()
        breached_list = (await client.get("/complaints?sla=breached", headers=SUPERVISOR)).json()
        analytics = (await client.get("/complaints/analytics", headers=SUPERVISOR)).json()
        csv_export = await client.get("/complaints/analytics/export.csv", headers=SUPERVISOR)
    assert account["name"] == "宁德时代" and account["tier"] == "strategic"
    assert account["counts"]["open"] == 1 and account["counts"]["breached"] == 1
    item = account["open_complaints"][0]
    assert item["owner_id"] == "am-li" and item["state"] == "new"
    assert item["sla"]["breached"] is True
    assert parse_time(item["sla"]["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=4)
    assert board["open_total"] == 2
    assert board["open_by_severity"] == {"critical": 1, "high": 0, "medium": 0, "low": 1}
    assert board["breached_count"] == 1
    assert board["breached"][0]["complaint_id"] == late["id"]
    assert board["breached"][0]["tier"] == "strategic" and board["breached"][0]["account_name"] == "宁德时代"
    assert [c["id"] for c in breached_list["items"]] == [late["id"]]
    assert analytics["total"] == 3
    assert analytics["first_response_compliance"] == {"met": 1, "judged": 1, "rate": 1.0}
    assert csv_export.headers["content-type"].startswith("text/csv")
    assert "summary,total,3" in csv_export.text


async def test_intake_validates_category_and_fields_and_round_trips_chinese(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        unknown = await client.post(
            "/complaints",
            json={"account_id": account_id, "title": "t", "description": "d", "category": "weather"},
            headers=SUPERVISOR,
        )
        bad_severity = await client.post(
            "/complaints",
            json={"account_id": account_id, "title": "t", "description": "d", "category": "other", "severity": "x"},
            headers=SUPERVISOR,
        )
        added = await client.put(
            "/complaints/categories/installation",
            json={"label_zh": "安装调试", "label_en": "Installation"},
            headers=SUPERVISOR,
        )
        created = await open_complaint(
            client,
            account_id,
            category="installation",
            attachments=[{"filename": "现场照片.jpg", "content_type": "image/jpeg", "size_bytes": 2048}],
        )
        categories = (await client.get("/complaints/categories", headers=VIEWER)).json()
        by_risk = await client.put(
            "/complaints/categories/x", json={"label_zh": "x", "label_en": "x"}, headers=auth("risk_officer")
        )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "category"
    assert bad_severity.status_code == 422 and "severity" in bad_severity.json()["detail"]
    assert added.status_code == 200
    assert created["attachments"][0]["filename"] == "现场照片.jpg"
    assert created["description"].startswith("第三季度交付")
    codes = [c["code"] for c in categories]
    assert codes[:3] == ["product_quality", "delivery_timeliness", "communication_efficiency"]
    assert {"label_zh": "交付时效", "label_en": "Delivery timeliness"}.items() <= categories[1].items()
    assert by_risk.status_code == 403


async def test_a_complaint_received_earlier_runs_its_sla_from_then_and_may_breach_at_intake(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        received = MONDAY_9AM_BEIJING - timedelta(hours=25)
        late = await open_complaint(client, account_id, received_at=received.isoformat())
        future = await client.post(
            "/complaints",
            json={
                "account_id": account_id,
                "title": "t",
                "description": "d",
                "category": "other",
                "received_at": (MONDAY_9AM_BEIJING + timedelta(hours=1)).isoformat(),
            },
            headers=SUPERVISOR,
        )
    assert parse_time(late["opened_at"]) == received
    assert parse_time(late["first_response_due_at"]) == received + timedelta(hours=24)
    assert late["sla"]["breached"] is True and late["escalation_level"] == 1
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "received_at"


async def test_list_filters_and_refuses_unknown_filter_values(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        critical = await open_complaint(client, account_id, severity="critical")
        await open_complaint(client, account_id, severity="low", category="billing_pricing")
        await client.post(f"/complaints/{critical['id']}/acknowledge", json={"message": "收到"})
        acknowledged = (await client.get("/complaints?state=acknowledged")).json()
        billing = (await client.get("/complaints?category=billing_pricing")).json()
        oldest_first = (await client.get("/complaints?sort=opened_at&limit=1")).json()
        bad_state = await client.get("/complaints?state=lost")
        bad_sort = await client.get("/complaints?sort=-colour")
    assert [c["id"] for c in acknowledged["items"]] == [critical["id"]]
    assert billing["total"] == 1 and billing["items"][0]["severity"] == "low"
    assert oldest_first["total"] == 2 and len(oldest_first["items"]) == 1
    assert bad_state.status_code == 422
    assert bad_sort.status_code == 422 and bad_sort.json()["errors"][0]["field"] == "sort"


async def test_open_complaints_follow_the_account_to_its_new_owner(sqlite_database):
    from shared.events import AccountOwnerChanged

    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app, owner_id="am-li")
        open_one = await open_complaint(client, account_id)
        handled_by_other = await open_complaint(client, account_id, owner_id="qa-sun")
        # A finished complaint (revisited and closed) keeps its owner; one awaiting its revisit still needs one.
        done = await open_complaint(client, account_id)
        awaiting = await open_complaint(client, account_id)
        for step, body in (
            ("acknowledge", {"message": "收到"}),
            ("resolve", {"message": "已解决"}),
            ("revisit", {"satisfaction": 5, "comment": "满意"}),
            ("close", {"message": "结案"}),
        ):
            await client.post(f"/complaints/{done['id']}/{step}", json=body, headers=SUPERVISOR)
        await client.post(f"/complaints/{awaiting['id']}/acknowledge", json={"message": "收到"}, headers=SUPERVISOR)
        await client.post(f"/complaints/{awaiting['id']}/resolve", json={"message": "已解决"}, headers=SUPERVISOR)
        task = await client.post(
            f"/complaints/{open_one['id']}/tasks",
            json={
                "department": "quality",
                "title": "失效分析",
                "assignee_id": "am-li",
                "due_at": "2026-03-03T01:00:00Z",
            },
            headers=SUPERVISOR,
        )
        event = AccountOwnerChanged(
            source="scoring",
            account_id=account_id,
            data={"old_owner_id": "am-li", "new_owner_id": "am-zhang"},
        )
        await app.state.consumer.process(event)
        owners = {c["id"]: c["owner_id"] for c in (await client.get("/complaints", headers=ZHANG)).json()["items"]}
        li_sees = (await client.get("/complaints", headers=LI)).json()["total"]
        audit = (await client.get(f"/complaints/{open_one['id']}/timeline", headers=ZHANG)).json()
        detail = (await client.get(f"/complaints/{open_one['id']}", headers=ZHANG)).json()
    assert owners == {
        open_one["id"]: "am-zhang",
        handled_by_other["id"]: "qa-sun",
        done["id"]: "am-li",
        awaiting["id"]: "am-zhang",
    }
    assert li_sees == 0
    assert [e["data"] for e in audit if e["kind"] == "owner_changed"] == [{"from": "am-li", "to": "am-zhang"}]
    # The former owner lost sight of the account: their open task follows the account too.
    assert task.status_code == 201
    assert [t["assignee_id"] for t in detail["tasks"]] == ["am-zhang"]
    assert [e["data"]["to"] for e in audit if e["kind"] == "task_reassigned"] == ["am-zhang"]

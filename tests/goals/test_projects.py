"""Cross-department projects (跨部门协同): parts per department with a real owner, due date, status and acceptance;
progress from the parts' state; an overdue part in its owner's queue, in the account 360 and announced once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from decimal import Decimal as D

import nats
from sqlalchemy import select

from services.goals.jobs import JOBS, project_part_reminders
from services.goals.models import platform
from services.goals.projects.progress import progress_of
from services.goals.projects.service import ACCOUNT_SIDE_MOVES, OWNER_MOVES, PART_TRANSITIONS
from shared.events import AccountRegistered, UserData, UserRegistered
from tests.goals.helpers import LI, SUPERVISOR, TEAM, ZHANG, goals_app, register_account
from tests.notifications.helpers import inbox_of, notifications_app, publish
from tests.support import auth, register_users, running, wait_until

MARKETING = auth("department_owner", user_id="mk-zhou")
PRODUCT = auth("department_owner", user_id="pd-sun")
AFTER_SALES = auth("department_owner", user_id="as-qian")
OWNERS = [("mk-zhou", ["department_owner"]), ("pd-sun", ["department_owner"]), ("as-qian", ["department_owner"])]
TODAY = date(2026, 7, 1)  # the goals test clock's business date


def test_the_part_state_machine_and_who_moves_it_are_these_tables():
    assert PART_TRANSITIONS == {
        "open": frozenset({"in_progress", "cancelled"}),
        "in_progress": frozenset({"delivered", "cancelled"}),
        "delivered": frozenset({"accepted", "rejected"}),
        "rejected": frozenset({"in_progress", "cancelled"}),
        "accepted": frozenset(),
        "cancelled": frozenset(),
    }
    assert (OWNER_MOVES, ACCOUNT_SIDE_MOVES) == ({"in_progress", "delivered"}, {"accepted", "rejected", "cancelled"})
    assert "project-part-reminders" in [job.name for job in JOBS]


def test_progress_is_accepted_parts_over_parts_not_cancelled_and_overdue_means_still_worked_on_late():
    late, soon = date(2026, 6, 1), date(2026, 8, 1)
    done = progress_of([("accepted", late), ("delivered", late), ("rejected", late), ("cancelled", late)], TODAY)
    assert (done.parts, done.accepted, done.overdue, done.progress_pct) == (3, 1, 1, D("33.33"))
    assert progress_of([("cancelled", soon)], TODAY).progress_pct is None
    assert progress_of([("open", soon), ("in_progress", late)], TODAY).overdue == 1


def _project(account_id: str, **over) -> dict:
    body = {
        "account_id": account_id,
        "title": "新产线智能化改造",
        "customer_project": "云启二期",
        "description": "客户新建产线，需要定制推广、功能迭代和专属服务",
        "parts": [
            {"department": "marketing", "title": "定制化推广方案", "owner_id": "mk-zhou", "due_on": "2026-06-20"},
            {"department": "product", "title": "网关协议功能迭代", "owner_id": "pd-sun", "due_on": "2026-07-20"},
            {"department": "after_sales", "title": "专属驻场服务", "owner_id": "as-qian", "due_on": "2026-08-01"},
        ],
    }
    return body | over


async def _move(client, project_id: str, part: dict, status: str, headers, **extra):
    response = await client.patch(
        f"/goals/projects/{project_id}/parts/{part['id']}", json={"status": status, **extra}, headers=headers
    )
    return response


async def _world(client, app):
    await register_users(app, [*TEAM, *OWNERS, ("mk-old", ["department_owner"], False)])
    account = await register_account(app, name="深圳云启科技股份有限公司")
    created = await client.post("/goals/projects", json=_project(account), headers=LI)
    assert created.status_code == 201, created.text
    project = created.json()
    return account, project, {p["department"]: p for p in project["parts"]}


async def test_three_parts_progress_follows_their_state_and_each_side_makes_only_its_moves(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        _, project, parts = await _world(client, app)
        pid = project["id"]
        assert (project["progress_pct"], project["parts_total"], project["parts_overdue"]) == ("0.00", 3, 1)
        assert (await _move(client, pid, parts["product"], "in_progress", PRODUCT)).status_code == 200
        assert (await _move(client, pid, parts["product"], "delivered", PRODUCT)).status_code == 200
        assert (await _move(client, pid, parts["product"], "accepted", PRODUCT)).status_code == 403  # not theirs
        assert (await _move(client, pid, parts["marketing"], "in_progress", PRODUCT)).status_code == 404
        assert (
            await _move(client, pid, parts["product"], "accepted", LI, acceptance_note="验收通过")
        ).status_code == 200
        assert (await _move(client, pid, parts["after_sales"], "delivered", AFTER_SALES)).status_code == 409
        await _move(client, pid, parts["after_sales"], "in_progress", AFTER_SALES)
        await _move(client, pid, parts["after_sales"], "delivered", AFTER_SALES)
        no_note = await _move(client, pid, parts["after_sales"], "rejected", LI)
        assert no_note.status_code == 422 and "acceptance_note" in no_note.text
        rejected = await _move(client, pid, parts["after_sales"], "rejected", LI, acceptance_note="服务范围不全")
        assert rejected.json()["status"] == "rejected"
        shown = (await client.get(f"/goals/projects/{pid}", headers=LI)).json()
        states = sorted(p["status"] for p in shown["parts"])
        assert states == ["accepted", "open", "rejected"]
        accepted = sum(s == "accepted" for s in states)
        counted = sum(s != "cancelled" for s in states)
        assert D(shown["progress_pct"]) == (D(accepted) / D(counted) * 100).quantize(D("0.01")) == D("33.33")
        await _move(client, pid, parts["after_sales"], "cancelled", LI)
        shown = (await client.get(f"/goals/projects/{pid}", headers=LI)).json()
        assert (shown["progress_pct"], shown["parts_total"]) == ("50.00", 2)


async def test_an_overdue_part_is_in_its_owners_queue_and_the_account_360_and_owners_see_only_their_parts(
    sqlite_database,
):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, project, parts = await _world(client, app)
        queue = (await client.get("/goals/projects/parts/mine", headers=MARKETING)).json()
        assert [(p["id"], p["overdue"], p["project_title"]) for p in queue["items"]] == [
            (parts["marketing"]["id"], True, "新产线智能化改造")
        ]
        assert (await client.get("/goals/projects/parts/mine", params={"overdue": "true"}, headers=PRODUCT)).json()[
            "total"
        ] == 0
        view = (await client.get(f"/goals/views/accounts/{account}", headers=LI)).json()
        [line] = view["projects"]
        assert (line["id"], line["progress_pct"], line["parts_total"]) == (project["id"], "0.00", 3)
        assert [(p["id"], p["owner_id"], p["due_on"]) for p in line["overdue_parts"]] == [
            (parts["marketing"]["id"], "mk-zhou", "2026-06-20")
        ]
        as_owner = (await client.get(f"/goals/projects/{project['id']}", headers=MARKETING)).json()
        assert [p["department"] for p in as_owner["parts"]] == ["marketing"] and as_owner["parts_total"] == 3
        listed = (await client.get("/goals/projects", headers=MARKETING)).json()
        assert [len(p["parts"]) for p in listed["items"]] == [1]
        assert (await client.get(f"/goals/views/accounts/{account}", headers=MARKETING)).status_code == 404
        assert (await client.get("/goals/plans", headers=MARKETING)).json()["total"] == 0
        assert (await client.get(f"/goals/projects/{project['id']}", headers=ZHANG)).status_code == 404
        assert (await client.get("/goals/projects", headers=ZHANG)).json()["total"] == 0
        plan = await client.post(
            "/goals/plans", json={"account_id": account, "year": 2026, "title": "年度计划"}, headers=LI
        )
        assert [(p["id"], p["progress_pct"], p["overdue_parts"]) for p in plan.json()["projects"]] == [
            (project["id"], "0.00", 1)
        ]
        assert view["plan"] is None
        view = (await client.get(f"/goals/views/accounts/{account}", headers=LI)).json()
        assert (view["plan"]["id"], view["plan"]["status"]) == (plan.json()["id"], "draft")


async def test_owners_must_be_real_active_users_departments_known_and_unknown_fields_refused(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, project, parts = await _world(client, app)
        body = _project(account)
        body["parts"][1]["owner_id"] = "nobody"
        refused = await client.post("/goals/projects", json=body, headers=LI)
        assert refused.status_code == 422 and "parts.1.owner_id" in refused.text
        body["parts"][1]["owner_id"] = "mk-old"  # deactivated
        assert "deactivated" in (await client.post("/goals/projects", json=body, headers=LI)).text
        body = _project(account)
        body["parts"][0]["department"] = "legal"
        assert "parts.0.department" in (await client.post("/goals/projects", json=body, headers=LI)).text
        assert (await client.post("/goals/projects", json=_project(account, budget="1"), headers=LI)).status_code == 422
        bad = await _move(client, project["id"], parts["product"], "in_progress", PRODUCT, priority="high")
        assert bad.status_code == 422 and "priority" in bad.text
        assert (await client.post("/goals/projects", json=_project(account), headers=ZHANG)).status_code == 404
        edit = await client.patch(
            f"/goals/projects/{project['id']}/parts/{parts['product']['id']}", json={"due_on": "2026-09-01"},
            headers=PRODUCT,
        )  # fmt: skip
        assert edit.status_code == 403  # the account side changes due dates
        added = await client.post(
            f"/goals/projects/{project['id']}/parts",
            json={"department": "product", "title": "固件升级", "owner_id": "am-li", "due_on": "2026-09-01"},
            headers=LI,
        )
        assert added.status_code == 201, added.text
        assert (
            await client.post(f"/goals/projects/{project['id']}/parts", json=added.json() | {}, headers=PRODUCT)
        ).status_code == 403


async def _outbox(app, event_type: str) -> list[dict]:
    async with app.state.db.transaction() as session:
        rows = await session.scalars(select(platform.outbox.c.payload).order_by(platform.outbox.c.seq))
        return [e for e in (json.loads(p) for p in rows) if e["type"] == event_type]


async def test_the_overdue_part_is_announced_once_even_across_runs(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, _, parts = await _world(client, app)
        assert await project_part_reminders(app) == 1
        assert await project_part_reminders(app) == 0
        [event] = await _outbox(app, "goals.project_part_overdue")
        assert (event["account_id"], event["data"]["part_id"], event["data"]["owner_id"]) == (
            account,
            parts["marketing"]["id"],
            "mk-zhou",
        )
        assert event["data"]["account_owner_id"] == "am-li"


def _people_events() -> list[UserRegistered]:
    at = datetime(2026, 6, 30, tzinfo=UTC)
    return [
        UserRegistered(source="gateway", time=at, data=UserData(user_id=u, display_name=u, roles=r))
        for u, r in [*TEAM, *OWNERS]
    ]


async def _knows(app, account_id: str) -> bool:
    async with app.state.db.transaction(write=False) as session:
        users = set((await session.execute(select(platform.users.c.user_id))).scalars())
        account = await session.scalar(
            select(platform.accounts.c.account_id).where(platform.accounts.c.account_id == account_id)
        )
    return account is not None and {"mk-zhou", "am-li"} <= users


async def test_the_overdue_notice_goes_over_nats_to_the_part_owner_and_the_account_owner(sqlite_database, nats_url):
    goals, _ = goals_app(await sqlite_database("goals"), nats_url=nats_url)
    notifications = notifications_app(await sqlite_database("notifications"), nats_url=nats_url)
    account = AccountRegistered(
        source="scoring",
        data={
            "name": "深圳云启科技股份有限公司",
            "industry": "制造业",
            "region": "华南",
            "tier": "key",
            "owner_id": "am-li",
        },
        account_id="acc-yunqi",
    )
    async with running(goals) as client, running(notifications) as inbox:
        await publish(nats_url, *_people_events(), account)
        await wait_until(lambda: _knows(goals, "acc-yunqi"), message="goals projected people and account")
        await wait_until(lambda: _knows(notifications, "acc-yunqi"), message="notifications projected them")
        created = await client.post("/goals/projects", json=_project("acc-yunqi"), headers=LI)
        assert created.status_code == 201, created.text
        nc = await nats.connect(nats_url)
        seen: asyncio.Queue[bytes] = asyncio.Queue()

        async def _got(msg) -> None:
            await seen.put(msg.data)

        await nc.subscribe("kam.goals.project_part_overdue", cb=_got)
        try:
            assert await project_part_reminders(goals) == 1
            published = json.loads(await asyncio.wait_for(seen.get(), timeout=15))
            assert (published["data"]["title"], published["account_id"]) == ("定制化推广方案", "acc-yunqi")
        finally:
            await nc.close()

        async def told(headers) -> list[dict]:
            items = await inbox_of(inbox, headers, kind="goals.project_part_overdue")
            return [i for i in items if i.get("kind") == "goals.project_part_overdue"]

        for headers in (MARKETING, LI):
            [item] = await wait_until(lambda h=headers: told(h), message="the overdue part in the inbox")
            assert "定制化推广方案" in json.dumps(item, ensure_ascii=False)
        assert await told(SUPERVISOR) == []

"""Routing on a real database without HTTP: who each recipient token names, who is never told, rules by tier and
level, the escalation ladder, role queues, and which group robots post."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.notifications.config import NotificationsSettings
from services.notifications.handlers import account_of
from services.notifications.kinds.service import facts_of
from services.notifications.robots.schemas import RobotCreate
from services.notifications.robots.service import create_robot
from services.notifications.routing.models import RoutingRule
from services.notifications.routing.schemas import RuleCreate, RuleUpdate
from services.notifications.routing.service import create_rule, plan_recipients, update_rule
from services.notifications.teams.schemas import TeamCreate
from services.notifications.teams.service import create_team
from shared.auth import Principal
from shared.events import ComplaintEscalated, EventBase, GoalsActionItemOverdue, TargetMissed
from tests.notifications.helpers import (
    MORNING,
    account_event,
    apply,
    limit_request_event,
    notifications_app,
    user_events,
)
from tests.support import running

ADMIN = Principal(user_id="u-admin", roles=frozenset({"admin"}))


async def _plan(app, event: EventBase, settings: NotificationsSettings | None = None):
    async with app.state.db.transaction() as session:
        facts = facts_of(event)
        account = await account_of(session, facts.account_id)
        return await plan_recipients(session, facts=facts, account=account, settings=settings or app.state.settings)


def _people(plan) -> list[str]:
    return [p.user_id for p in plan.people]


async def _world(app, *, tier: str = "strategic", team_members: list[str] | None = None):
    account = account_event(MORNING, tier=tier)
    if team_members:
        account = account.model_copy(update={"data": account.data.model_copy(update={"team_member_ids": team_members})})
    await apply(app, *user_events(MORNING), account)
    return account.account_id


def _escalated(account_id: str, level: int) -> ComplaintEscalated:
    data = {
        "complaint_id": str(uuid.uuid4()),
        "level": level,
        "escalated_to": "sup-wang",
        "reason": "resolution_breach",
        "owner_id": "am-li",
    }
    return ComplaintEscalated(source="complaints", account_id=account_id, time=MORNING, data=data)


def _overdue_item(account_id: str, owner: str = "am-li") -> GoalsActionItemOverdue:
    data = {"item_id": "i-1", "title": "季度业务回顾", "owner_id": owner, "due_on": "2026-03-01"}
    return GoalsActionItemOverdue(source="goals", account_id=account_id, time=MORNING, data=data)


async def test_the_owners_supervisor_is_their_teams_else_every_supervisor_else_nobody(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        account_id = await _world(app)
        event = _overdue_item(account_id)  # the default rule: assignee and supervisor
        assert _people(await _plan(app, event)) == ["am-li", "sup-wang", "sup-zhao"]  # no team yet: every supervisor
        none = app.state.settings.model_copy(update={"supervisor_fallback": "none"})
        assert _people(await _plan(app, event, none)) == ["am-li"]
        async with app.state.db.transaction() as session:
            body = TeamCreate(code="east-ka", name="华东KA组", supervisor_id="sup-zhao", member_ids=["am-li"])
            await create_team(session, body=body, actor=ADMIN, now=MORNING)
        assert _people(await _plan(app, event)) == ["am-li", "sup-zhao"]


async def test_a_role_names_only_active_holders_who_can_see_the_account_and_never_the_maker(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        account_id = await _world(app)
        async with app.state.db.transaction() as session:
            body = RuleCreate(
                code="managers-see-limits",
                event_kind="risk.limit_request_submitted",
                recipients=["role:account_manager", "queue"],
            )
            await create_rule(session, body=body, actor=ADMIN, now=MORNING)
        plan = await _plan(app, limit_request_event(account_id, at=MORNING, maker="ro-maker"))
        # am-zhang holds the role but cannot see the account; ro-gone is deactivated; ro-maker made the request.
        assert _people(plan) == ["am-li", "ro-chen", "ro-liu"]
        assert plan.names["ro-maker"] == "孙强"  # still named in the message


async def test_the_escalation_ladder_per_level_and_the_team_token(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        account_id = await _world(app, team_members=["am-zhang"])
        async with app.state.db.transaction() as session:
            director = RuleCreate(
                code="ladder-level-2",
                event_kind="complaints.escalated",
                levels=["2"],
                recipients=["user:sup-zhao", "team"],
                channels=["in_app"],
            )
            await create_rule(session, body=director, actor=ADMIN, now=MORNING)
        level_1 = await _plan(app, _escalated(account_id, 1))
        level_2 = await _plan(app, _escalated(account_id, 2))
        assert _people(level_1) == ["am-li", "sup-wang"]  # the rung the event names, and the owner
        assert _people(level_2) == ["am-li", "am-zhang", "sup-wang", "sup-zhao"]
        channels = {p.user_id: sorted(p.channels) for p in level_2.people}
        assert channels["am-zhang"] == ["in_app"] and channels["am-li"] == ["email", "in_app"]


async def test_rules_by_tier_and_a_rule_that_makes_a_kind_critical(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        strategic = await _world(app)
        growth = account_event(MORNING, name="成长客户乙", tier="growth")
        await apply(app, growth)
        async with app.state.db.transaction() as session:
            body = RuleCreate(
                code="missed-key-accounts",
                event_kind="goals.target_missed",
                tiers=["strategic", "key"],
                recipients=["robots", "user:u-admin"],
                critical=True,
            )
            await create_rule(session, body=body, actor=ADMIN, now=MORNING)
            robot = RobotCreate(
                name="公司群",
                provider="feishu",
                webhook_url="https://open.feishu.cn/hook/x",
                scope="all",
                kinds=["goals.target_missed"],
            )
            await create_robot(session, body=robot, actor=ADMIN, now=MORNING)

        def missed(account_id: str) -> TargetMissed:
            data = {"target_id": "t", "metric": "revenue", "period": "2026-Q1", "target_value": "100", "actual": "80"}
            return TargetMissed(source="goals", account_id=account_id, time=MORNING, data=data)

        on_strategic, on_growth = await _plan(app, missed(strategic)), await _plan(app, missed(growth.account_id))
        assert "u-admin" in _people(on_strategic) and [r.name for r in on_strategic.robots] == ["公司群"]
        assert on_strategic.facts.critical is True
        assert "u-admin" not in _people(on_growth) and on_growth.robots == () and not on_growth.facts.critical


async def test_a_disabled_rule_tells_nobody_and_robots_post_only_their_scope_and_kinds(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        account_id = await _world(app)
        other = account_event(MORNING, name="别的客户")
        await apply(app, other)
        async with app.state.db.transaction() as session:
            for scope, scope_id, kinds in (
                ("account", account_id, ["*"]),
                ("account", other.account_id, ["*"]),
                ("all", None, ["risk.alert_raised"]),
            ):
                body = RobotCreate(
                    name=f"{scope}-{scope_id}",
                    provider="dingtalk",
                    webhook_url="https://oapi.x/robot",
                    scope=scope,
                    scope_id=scope_id,
                    kinds=kinds,
                )
                await create_robot(session, body=body, actor=ADMIN, now=MORNING)
        escalated = await _plan(app, _escalated(account_id, 1))
        assert [r.scope_id for r in escalated.robots] == [account_id]  # its account's robot, not the other's
        async with app.state.db.transaction() as session:
            rule = await session.get(RoutingRule, "complaint-escalated")
            assert rule is not None and rule.builtin
            await update_rule(session, rule=rule, body=RuleUpdate(enabled=False), actor=ADMIN, now=datetime.now(UTC))
        silenced = await _plan(app, _escalated(account_id, 1))
        assert silenced.people == () and silenced.robots == ()

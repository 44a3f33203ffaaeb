"""Routing: the rules (seeded defaults, admin changes) and the plan of who hears of one event, on which channels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.audit import AuditedKind
from services.notifications.config import NotificationsSettings
from services.notifications.kinds.schemas import Facts
from services.notifications.memo import ACTIVE_ROLES_KEY, access_key, memo, remembered, rules_key, user_key
from services.notifications.models import platform
from services.notifications.robots.service import robots_for
from services.notifications.routing.models import RoutingRule
from services.notifications.routing.schemas import ANY_KIND, Person, Plan, RuleCreate, RuleUpdate
from services.notifications.teams.service import teams_of
from services.notifications.webhooks.service import subscriptions_for
from shared.audit import snapshot
from shared.auth import SUPERVISOR, Principal, can_access_account
from shared.errors import Conflict
from shared.people import as_principal

IN_APP, EMAIL = "in_app", "email"
# (code, event kind, tiers, levels, recipients, channels, description): what a fresh installation starts with.
DEFAULT_RULES: tuple[tuple[str, str, list[str], list[str], list[str], list[str], str], ...] = (
    ("complaint-sla-warning", "complaints.sla_warning", [], [], ["owner"], [IN_APP, EMAIL], "SLA 预警告诉负责人"),
    ("complaint-sla-breached", "complaints.sla_breached", [], [], ["owner", "supervisor", "robots"], [IN_APP, EMAIL],
     "SLA 超时告诉负责人、其主管和团队群"),
    ("complaint-escalated", "complaints.escalated", [], [], ["escalated_to", "owner", "robots"], [IN_APP, EMAIL],
     "升级告诉升级对象和负责人"),
    ("complaint-assigned", "complaints.assigned", [], [], ["owner", "previous_owner"], [IN_APP, EMAIL],
     "指派告诉新旧负责人（不告诉操作人）"),
    ("complaint-task-assigned", "complaints.task_assigned", [], [], ["assignee"], [IN_APP, EMAIL], "任务告诉执行人"),
    ("complaint-task-overdue", "complaints.task_overdue", [], [], ["assignee", "account_owner"], [IN_APP, EMAIL],
     "任务逾期告诉执行人和客户负责人"),
    ("complaint-revisit-due", "complaints.revisit_due", [], [], ["owner"], [IN_APP, EMAIL], "回访到期告诉负责人"),
    ("survey-low-score", "complaints.survey_answered", [], ["low"], ["owner"], [IN_APP, EMAIL],
     "低分满意度调研告诉客户负责人（跟进任务）"),
    ("risk-alert-raised", "risk.alert_raised", [], [], ["account_owner", "role:risk_officer"], [IN_APP, EMAIL],
     "预警告诉客户负责人和风控"),
    ("risk-alert-red", "risk.alert_raised", [], ["red"], ["supervisor", "robots"], [IN_APP, EMAIL],
     "红色预警另告诉主管和团队群"),
    ("risk-alert-level-raised", "risk.alert_level_raised", [], [], ["account_owner", "role:risk_officer"],
     [IN_APP, EMAIL], "预警升级告诉客户负责人和风控"),
    ("risk-alert-level-red", "risk.alert_level_raised", [], ["red"], ["supervisor", "robots"], [IN_APP, EMAIL],
     "升至红色另告诉主管和团队群"),
    ("risk-action-item-assigned", "risk.action_item_assigned", [], [], ["assignee", "queue"], [IN_APP, EMAIL],
     "预案任务告诉执行人或角色队列"),
    ("risk-action-item-overdue", "risk.action_item_overdue", [], [], ["assignee", "queue", "supervisor"],
     [IN_APP, EMAIL], "预案任务逾期另告诉主管"),
    ("risk-limit-request", "risk.limit_request_submitted", [], [], ["queue"], [IN_APP, EMAIL],
     "额度申请进入复核角色队列（从不告诉申请人）"),
    ("risk-contract-expiring", "risk.contract_expiring", [], [], ["owner"], [IN_APP, EMAIL], "合同到期提醒负责人"),
    ("risk-contract-expiring-30", "risk.contract_expiring", [], ["30"], ["supervisor", "role:risk_officer"],
     [IN_APP, EMAIL], "到期前 30 天另告诉主管和风控"),
    ("risk-review-due", "risk.review_due", [], [], ["owner", "role:risk_officer"], [IN_APP, EMAIL],
     "信用复核到期告诉负责人和风控"),
    ("goals-target-at-risk", "goals.target_at_risk", [], [], ["owner", "supervisor"], [IN_APP, EMAIL],
     "目标风险告诉负责人和主管"),
    ("goals-target-achieved", "goals.target_achieved", [], [], ["owner"], [IN_APP], "目标达成告诉负责人（站内）"),
    ("goals-target-missed", "goals.target_missed", [], [], ["owner", "supervisor"], [IN_APP, EMAIL],
     "目标未达成告诉负责人和主管"),
    ("goals-action-item-due", "goals.action_item_due", [], [], ["assignee"], [IN_APP, EMAIL], "行动计划到期告诉负责人"),
    ("goals-action-item-overdue", "goals.action_item_overdue", [], [], ["assignee", "supervisor"], [IN_APP, EMAIL],
     "行动计划逾期另告诉主管"),
    ("goals-project-part-overdue", "goals.project_part_overdue", [], [], ["assignee", "account_owner"],
     [IN_APP, EMAIL], "跨部门项目任务逾期告诉部门负责人和客户负责人"),
    ("engagement-overdue", "accounts.engagement_overdue", [], [], ["owner"], [IN_APP, EMAIL], "沟通逾期告诉负责人"),
    ("engagement-overdue-executive", "accounts.engagement_overdue", ["strategic", "key"], ["executive"],
     ["supervisor"], [IN_APP, EMAIL], "重点客户高层沟通逾期另告诉主管"),
    ("account-review-requested", "accounts.review_requested", [], [], ["supervisor"], [IN_APP],
     "客户经理填报的评分输入（变更申请、联系层级）待主管确认（从不告诉填报人）"),
)  # fmt: skip


# ---------------------------------------------------------------- rules


async def seed_default_rules(session: AsyncSession, *, now: datetime) -> int:
    """Create the default rules that do not exist yet (never overwrites an edit; a disabled one stays disabled)."""
    have = set((await session.execute(select(RoutingRule.code))).scalars())
    added = 0
    for code, kind, tiers, levels, recipients, channels, description in DEFAULT_RULES:
        if code in have:
            continue
        session.add(
            RoutingRule(
                code=code,
                description=description,
                event_kind=kind,
                tiers=tiers,
                levels=levels,
                recipients=recipients,
                channels=channels,
                critical=None,
                enabled=True,
                builtin=True,
                version=1,
                updated_at=now,
                updated_by="system",
            )
        )
        added += 1
    await session.flush()
    return added


async def list_rules(
    session: AsyncSession, *, event_kind: str | None = None, enabled: bool | None = None
) -> list[RoutingRule]:
    """Rules by code, optionally those that apply to one kind (its own and the "*" rules) or only enabled ones."""
    query = select(RoutingRule).order_by(RoutingRule.code)
    if event_kind is not None:
        query = query.where(RoutingRule.event_kind.in_([event_kind, ANY_KIND]))
    if enabled is not None:
        query = query.where(RoutingRule.enabled.is_(enabled))
    return list((await session.execute(query)).scalars())


async def create_rule(session: AsyncSession, *, body: RuleCreate, actor: Principal, now: datetime) -> RoutingRule:
    """A new rule (409 when the code is taken)."""
    if await session.get(RoutingRule, body.code) is not None:
        raise Conflict(f"Routing rule {body.code} exists already")
    rule = RoutingRule(**body.model_dump(), builtin=False, version=1, updated_at=now, updated_by=actor.user_id[:100])
    session.add(rule)
    await session.flush()
    await RULE_AUDIT.created(session, rule, actor=actor, now=now)
    return rule


AUDITED_RULE_FIELDS = ("description", "event_kind", "tiers", "levels", "recipients", "channels", "critical", "enabled")
RULE_AUDIT = AuditedKind[RoutingRule](
    "routing_rule", lambda rule: rule.code, lambda rule: snapshot(rule, AUDITED_RULE_FIELDS)
)


async def update_rule(
    session: AsyncSession, *, rule: RoutingRule, body: RuleUpdate, actor: Principal, now: datetime
) -> RoutingRule:
    """Change a rule; what the body leaves out stays ("critical": null returns to the kind's own urgency; audited)."""
    before = RULE_AUDIT.state(rule)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None and name != "critical":
            continue
        setattr(rule, name, value)
    rule.version += 1
    rule.updated_at, rule.updated_by = now, actor.user_id[:100]
    await session.flush()
    await RULE_AUDIT.updated(session, rule, before=before, actor=actor, now=now)
    return rule


async def delete_rule(session: AsyncSession, *, rule: RoutingRule, actor: Principal, now: datetime) -> None:
    """Remove a rule an admin made; a built-in rule is disabled instead (409; audited)."""
    if rule.builtin:
        raise Conflict(f"Routing rule {rule.code} is a built-in default: disable it (enabled: false) instead")
    await RULE_AUDIT.deleted(session, rule, actor=actor, now=now)
    await session.delete(rule)
    await session.flush()


def rule_matches(rule: RoutingRule, facts: Facts) -> bool:
    """Pure: whether an enabled rule applies to the event (kind, then tier, then level; empty lists match all)."""
    return (
        rule.enabled
        and rule.event_kind in (facts.kind, ANY_KIND)
        and (not rule.tiers or facts.tier in rule.tiers)
        and (not rule.levels or facts.level in rule.levels)
    )


# ---------------------------------------------------------------- the directory


async def _users(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The projected rows of these users (those not projected are left out); remembered per user in a consumer
    transaction."""
    users = platform.users
    wanted = sorted({u for u in user_ids if u})
    kept = memo(session)
    missing = [u for u in wanted if kept is None or user_key(u) not in kept]
    found: dict[str, dict[str, Any]] = {}
    if missing:
        rows = (await session.execute(select(users).where(users.c.user_id.in_(missing)))).mappings().all()
        found = {row["user_id"]: dict(row) for row in rows}
        if kept is not None:
            kept.update({user_key(u): found.get(u) for u in missing})
    if kept is not None:
        found = {u: kept[user_key(u)] for u in wanted if kept[user_key(u)] is not None}
    return found


async def _with_role(session: AsyncSession, role: str) -> set[str]:
    """Active users holding ``role`` (roles are a JSON list: read the active users, match here)."""
    users = platform.users

    async def load() -> list[tuple[str, list[str]]]:
        rows = await session.execute(select(users.c.user_id, users.c.roles).where(users.c.active.is_(True)))
        return [(row.user_id, list(row.roles or [])) for row in rows]

    holders = await remembered(session, ACTIVE_ROLES_KEY, load)
    return {user_id for user_id, roles in holders if role in roles}


async def supervisors_of(session: AsyncSession, *, owner_id: str | None, settings: NotificationsSettings) -> set[str]:
    """The owner's supervisor: the supervisors of the owner's teams; none configured → every active supervisor
    (``supervisor_fallback=role``) or nobody (``none``)."""
    configured = {team.supervisor_id for team in await teams_of(session, owner_id) if team.supervisor_id}
    if configured:
        return configured
    return await _with_role(session, SUPERVISOR) if settings.supervisor_fallback == "role" else set()


async def _resolve(
    session: AsyncSession,
    token: str,
    *,
    facts: Facts,
    account: dict[str, Any] | None,
    settings: NotificationsSettings,
) -> set[str]:
    """The user ids one recipient token names for this event."""
    account_owner = account["owner_id"] if account else None
    owner = facts.owner_id or account_owner
    prefix, _, rest = token.partition(":")
    named: dict[str, Sequence[str | None]] = {
        "owner": [owner],
        "account_owner": [account_owner],
        "team": [account_owner, *(account["team_member_ids"] or [] if account else [])],
        "assignee": [facts.assignee_id],
        "escalated_to": [facts.escalated_to],
        "previous_owner": [facts.previous_owner_id],
    }
    if token in named:
        return {user for user in named[token] if user}
    if token == "supervisor":
        return await supervisors_of(session, owner_id=owner, settings=settings)
    if token == "queue":
        return await _with_role(session, facts.queue_role) if facts.queue_role else set()
    if prefix == "role":
        return await _with_role(session, rest)
    if prefix == "user":
        return {rest}
    return set()  # "robots" names no person


async def _may_be_told(session: AsyncSession, user: dict[str, Any], facts: Facts) -> bool:
    """Active, not excluded (the maker), and — unless the event itself names them — able to see the account."""
    if not user["active"] or user["user_id"] in facts.excluded:
        return False
    if facts.account_id is None or user["user_id"] in facts.named_people.values():
        return True
    principal, account_id = as_principal(user), facts.account_id

    async def load() -> bool:
        return await can_access_account(session, platform, principal, account_id)

    return await remembered(session, access_key(account_id, user["user_id"]), load)


def _person(user: dict[str, Any], channels: set[str]) -> Person:
    ims = {k: str(v) for k, v in (user["channels"] or {}).items() if k != "email" and v}
    email = user["email"] or (user["channels"] or {}).get("email")
    return Person(user["user_id"], user["display_name"] or user["user_id"], email, ims, frozenset(channels))


async def plan_recipients(
    session: AsyncSession, *, facts: Facts, account: dict[str, Any] | None, settings: NotificationsSettings
) -> Plan:
    """Who hears of ``facts``: the people every matching rule names (with the union of their channels), the group
    robots when a rule names "robots", and the webhook subscriptions of the kind. An event that names no tier is
    routed by its account's tier."""
    if facts.tier is None and account is not None and account["tier"]:
        facts = replace(facts, tier=account["tier"])
    kind = facts.kind
    enabled = await remembered(session, rules_key(kind), lambda: list_rules(session, event_kind=kind, enabled=True))
    rules = [rule for rule in enabled if rule_matches(rule, facts)]
    if any(rule.critical is not None for rule in rules):
        facts = _with_critical(facts, any(rule.critical for rule in rules))
    wanted: dict[str, set[str]] = {}
    for rule in rules:
        for token in rule.recipients:
            for user_id in await _resolve(session, token, facts=facts, account=account, settings=settings):
                wanted.setdefault(user_id, set()).update(rule.channels)
    users = await _users(session, [*wanted, *facts.named_people.values()])
    people = [
        _person(users[user_id], channels)
        for user_id, channels in sorted(wanted.items())
        if user_id in users and await _may_be_told(session, users[user_id], facts)
    ]
    robots: list[Any] = []
    if any("robots" in rule.recipients for rule in rules):
        owner = facts.owner_id or (account["owner_id"] if account else None)
        team_codes = [team.code for team in await teams_of(session, owner)]
        robots = await robots_for(session, account_id=facts.account_id, team_codes=team_codes, kind=facts.kind)
    return Plan(
        facts=facts,
        account_name=account["name"] if account and account["name"] else None,
        people=tuple(people),
        robots=tuple(robots),
        webhooks=tuple(await subscriptions_for(session, kind=facts.kind, tier=facts.tier)),
        names={user_id: user["display_name"] or user_id for user_id, user in users.items()},
    )


def _with_critical(facts: Facts, critical: bool) -> Facts:
    return replace(facts, critical=critical)

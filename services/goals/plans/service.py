"""Account plans: one per account per year; draft → submitted → approved (by a supervisor) → revised into a new
version (the approved one kept unchanged) or archived. Content is checked against the account's targets and the
product catalogue (flush only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.catalogue.service import offered_lines
from services.goals.config import GoalsSettings
from services.goals.currencies.service import reporting_currency_of
from services.goals.models import platform
from services.goals.plans.models import AccountPlan, AccountPlanReview, AccountPlanVersion
from services.goals.plans.schemas import PlanContent, PlanCreate, PlanTransition, PlanUpdate
from services.goals.targets.models import Target
from shared.auth import ADMIN, SUPERVISOR, Principal, ensure_account_access
from shared.errors import Conflict, Forbidden, InvalidTransition, Unprocessable
from shared.people import require_assignable

# The plan's state machine: from each status, the statuses it may move to.
PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "archived"}),
    "submitted": frozenset({"approved", "draft"}),
    "approved": frozenset({"draft", "archived"}),
    "archived": frozenset(),
}
# Each action's target status and the one status it starts from (None: any the table allows).
ACTIONS: dict[str, tuple[str, str | None]] = {
    "submit": ("submitted", "draft"),
    "return": ("draft", "submitted"),  # the supervisor sends a submitted plan back
    "revise": ("draft", "approved"),  # a new version of an approved plan; the approved one stays in the history
    "archive": ("archived", None),
    "approve": ("approved", "submitted"),
}
APPROVER_ROLES = frozenset({SUPERVISOR, ADMIN})
SECTIONS: tuple[str, ...] = tuple(PlanContent.model_fields)


async def _check_targets(session: AsyncSession, content: PlanContent, account_id: str) -> None:
    wanted = {t for o in content.objectives for t in o.target_ids}
    found = set()
    if wanted:
        found = set(
            await session.scalars(select(Target.id).where(Target.id.in_(wanted), Target.account_id == account_id))
        )
    for i, objective in enumerate(content.objectives):
        for j, target_id in enumerate(objective.target_ids):
            if target_id not in found:
                field = f"objectives.{i}.target_ids.{j}"
                raise Unprocessable(f"{field}: no target {target_id} of this account", field=field)


def _check_product_line(value: str | None, offered: list[str], field: str) -> None:
    if value is not None and value not in offered:
        raise Unprocessable(f"{field}: {value!r} is not an offered product line ({', '.join(offered)})", field=field)


async def check_content(
    session: AsyncSession, *, content: PlanContent, account_id: str, settings: GoalsSettings
) -> None:
    """Refuse (422 naming the field) targets of other accounts, product lines the catalogue does not offer (the
    one catalogue goals keeps and announces to scoring; retired lines refused) and repeated lines."""
    await _check_targets(session, content, account_id)
    offered = await offered_lines(session, settings)
    seen: set[str] = set()
    for i, line in enumerate(content.product_mix):
        _check_product_line(line.product_line, offered, f"product_mix.{i}.product_line")
        if line.product_line in seen:
            raise Unprocessable(f"product_mix.{i}.product_line: {line.product_line} twice", field="product_mix")
        seen.add(line.product_line)
    for i, floor in enumerate(content.pricing.floor_prices):
        _check_product_line(floor.product_line, offered, f"pricing.floor_prices.{i}.product_line")
    for i, promotion in enumerate(content.promotions):
        _check_product_line(promotion.product_line, offered, f"promotions.{i}.product_line")


async def _replace_reviews(session: AsyncSession, plan: AccountPlan, content: PlanContent) -> None:
    await session.execute(delete(AccountPlanReview).where(AccountPlanReview.plan_id == plan.id))
    for day in sorted(set(content.review_dates)):
        session.add(AccountPlanReview(plan_id=plan.id, review_on=day))


def _stored(content: PlanContent) -> dict[str, Any]:
    data = content.model_dump(mode="json")
    data["review_dates"] = sorted(set(data["review_dates"]))
    return data


async def create_plan(
    session: AsyncSession, *, body: PlanCreate, actor: Principal, settings: GoalsSettings, now: datetime
) -> AccountPlan:
    """A new draft plan (409 when the account has one for that year already)."""
    await ensure_account_access(session, platform, actor, body.account_id, write=True)
    taken = await session.scalar(
        select(AccountPlan.id).where(AccountPlan.account_id == body.account_id, AccountPlan.year == body.year)
    )
    if taken is not None:
        raise Conflict(f"Account {body.account_id} has a plan for {body.year} already ({taken}): revise that one")
    content = PlanContent.model_validate(body.model_dump(include=set(SECTIONS)))
    await check_content(session, content=content, account_id=body.account_id, settings=settings)
    plan = AccountPlan(
        id=str(uuid.uuid4()),
        account_id=body.account_id,
        year=body.year,
        title=body.title,
        currency=await reporting_currency_of(session, body.account_id, settings=settings),
        status="draft",
        plan_version=1,
        content=_stored(content),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(plan)
    await session.flush()
    await _replace_reviews(session, plan, content)
    await session.flush()
    return plan


async def update_plan(
    session: AsyncSession, *, plan: AccountPlan, body: PlanUpdate, settings: GoalsSettings, now: datetime
) -> AccountPlan:
    """Change a draft: each given section replaces the old one (a submitted, approved or archived plan is not
    changed: 409; revise an approved plan to get a new draft version)."""
    if plan.status != "draft":
        raise Conflict(f"The plan is {plan.status}: only a draft changes (revise an approved plan first)")
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise Unprocessable(f"{key} cannot be null", field=key)
    merged = {**plan.content, **{k: v for k, v in changes.items() if k in SECTIONS}}
    content = PlanContent.model_validate(merged)
    await check_content(session, content=content, account_id=plan.account_id, settings=settings)
    plan.content = _stored(content)
    if "title" in changes:
        plan.title = changes["title"]
    await _replace_reviews(session, plan, content)
    plan.version += 1
    plan.updated_at = now
    await session.flush()
    return plan


def _move(plan: AccountPlan, action: str) -> str:
    target, start = ACTIONS[action]
    if (start is not None and plan.status != start) or target not in PLAN_TRANSITIONS[plan.status]:
        allowed = sorted(
            a for a, (t, s) in ACTIONS.items() if t in PLAN_TRANSITIONS[plan.status] and s in (None, plan.status)
        )
        raise InvalidTransition(f"a {plan.status} plan cannot be {action}d", current=plan.status, allowed=allowed)
    return target


async def transition_plan(
    session: AsyncSession, *, plan: AccountPlan, body: PlanTransition, actor: Principal, now: datetime
) -> AccountPlan:
    """Submit, return (supervisor), revise (a new draft version of an approved plan) or archive."""
    target = _move(plan, body.action)
    if body.action == "return" and not actor.has_any(APPROVER_ROLES):
        raise Forbidden("Only a supervisor returns a submitted plan")
    if body.action == "submit":
        plan.submitted_by, plan.submitted_at = actor.user_id, now
    if body.action == "revise":
        plan.plan_version += 1
        plan.submitted_by = plan.submitted_at = plan.approved_by = plan.approved_at = None
    plan.status = target
    plan.version += 1
    plan.updated_at = now
    await session.flush()
    return plan


async def approve_plan(session: AsyncSession, *, plan: AccountPlan, actor: Principal, now: datetime) -> AccountPlan:
    """A supervisor approves a submitted plan (403 for anyone else): the version is kept unchanged in the history
    and the version it replaces is marked superseded."""
    if not actor.has_any(APPROVER_ROLES):
        raise Forbidden("Only a KA supervisor approves an account plan")
    _move(plan, "approve")
    await require_assignable(
        session, platform, user_id=actor.user_id, field="approved_by", account_id=plan.account_id, roles=APPROVER_ROLES
    )
    await session.execute(
        update(AccountPlanVersion)
        .where(AccountPlanVersion.plan_id == plan.id, AccountPlanVersion.superseded_at.is_(None))
        .values(superseded_at=now)
    )
    session.add(
        AccountPlanVersion(
            id=str(uuid.uuid4()),
            plan_id=plan.id,
            plan_version=plan.plan_version,
            title=plan.title,
            content=dict(plan.content),
            submitted_by=plan.submitted_by,
            approved_by=actor.user_id,
            approved_at=now,
        )
    )
    plan.status, plan.approved_by, plan.approved_at = "approved", actor.user_id, now
    plan.version += 1
    plan.updated_at = now
    await session.flush()
    return plan

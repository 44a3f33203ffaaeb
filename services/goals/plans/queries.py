"""Read side of account plans: a plan as the API shows it (product-mix sales and white space from goals' own
actuals, promotions' measured uplift, the relationship map, the account's projects), lists, the version history
and due reviews."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import SalesCell, month_figures, sales_cells
from services.goals.config import GoalsSettings, calendar_of
from services.goals.forecast import attainment_pct
from services.goals.models import platform
from services.goals.periods import add_months
from services.goals.plans.models import AccountPlan, AccountPlanReview, AccountPlanVersion
from services.goals.plans.relationships import relationship_map
from services.goals.plans.schemas import (
    PlanContent,
    PlanListItem,
    PlanProjectLine,
    PlanRead,
    PlanStatus,
    PlanVersionRead,
    ProductMixLineRead,
    PromotionRead,
    ReviewDue,
    UpliftRead,
)
from services.goals.plans.uplift import baseline_months, measure_uplift, promotion_months
from services.goals.projects.service import account_projects
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause

# "Not bought yet": no sale of the line in the plan's fiscal year or the 24 months before it.
WHITE_SPACE_LOOKBACK_MONTHS = 24


def _months_needed(content: PlanContent, year_months: tuple[str, ...]) -> tuple[set[str], tuple[str, ...]]:
    lookback = tuple(add_months(year_months[0], -i) for i in range(WHITE_SPACE_LOOKBACK_MONTHS, 0, -1))
    months = set(year_months) | set(lookback)
    for promotion in content.promotions:
        covered = promotion_months(promotion.starts_on, promotion.ends_on)
        months |= set(covered) | set(baseline_months(covered, promotion.baseline))
    return months, lookback + year_months


def _product_mix(
    content: PlanContent,
    cells: list[SalesCell],
    *,
    account_id: str,
    year_months: tuple[str, ...],
    window: tuple[str, ...],
) -> list[ProductMixLineRead]:
    every_month = month_figures(cells, account_id=account_id)
    bought = {line for m in window if m in every_month for line in every_month[m].product_lines}
    out = []
    for line in content.product_mix:
        figures = month_figures(cells, account_id=account_id, product_line=line.product_line)
        actual = sum((figures[m].revenue for m in year_months if m in figures), Decimal(0))
        out.append(
            ProductMixLineRead(
                product_line=line.product_line,
                target_amount=line.target_amount,
                actual=actual,
                attainment_pct=attainment_pct(actual, line.target_amount),
                not_bought_yet=line.product_line not in bought,
                note=line.note,
            )
        )
    return out


def _promotions(content: PlanContent, cells: list[SalesCell], *, account_id: str, today: date) -> list[PromotionRead]:
    out = []
    for p in content.promotions:
        figures = month_figures(cells, account_id=account_id, product_line=p.product_line)
        revenue = {m: f.revenue for m, f in figures.items()}
        u = measure_uplift(
            starts_on=p.starts_on, ends_on=p.ends_on, baseline=p.baseline, revenue_by_month=revenue, today=today
        )
        measurement = UpliftRead(
            status=u.status,
            months=list(u.months),
            baseline_months=list(u.baseline_months),
            promotion_sales=u.promotion_sales,
            baseline_sales=u.baseline_sales,
            measured_uplift_pct=u.uplift_pct,
        )
        out.append(PromotionRead(**p.model_dump(), measurement=measurement))
    return out


async def plan_project_lines(session: AsyncSession, *, account_id: str, today: date) -> list[PlanProjectLine]:
    """The account's cross-department projects and their progress (as the plan shows them)."""
    return [
        PlanProjectLine(
            id=project.id,
            title=project.title,
            progress_pct=done.progress_pct,
            parts=done.parts,
            accepted_parts=done.accepted,
            overdue_parts=done.overdue,
        )
        for project, _, done in await account_projects(session, account_id=account_id, today=today)
    ]


async def _account_name(session: AsyncSession, account_id: str) -> str:
    accounts = platform.accounts
    name = await session.scalar(select(accounts.c.name).where(accounts.c.account_id == account_id))
    return str(name or account_id)


async def read_plan(session: AsyncSession, plan: AccountPlan, *, settings: GoalsSettings, today: date) -> PlanRead:
    """The plan's working version with everything it links to, as of ``today``."""
    content = PlanContent.model_validate(plan.content)
    year_months = calendar_of(settings).year_months(plan.year)
    months, window = _months_needed(content, year_months)
    cells = await sales_cells(session, account_ids=[plan.account_id], months=months)
    upcoming = [d for d in content.review_dates if d >= today]
    data: dict[str, Any] = {c: getattr(plan, c) for c in PlanRead.model_fields if hasattr(plan, c)}
    data.pop("content", None)
    return PlanRead(
        **data,
        account_name=await _account_name(session, plan.account_id),
        objectives=content.objectives,
        swot=content.swot,
        product_mix=_product_mix(content, cells, account_id=plan.account_id, year_months=year_months, window=window),
        pricing=content.pricing,
        channel_support=content.channel_support,
        promotions=_promotions(content, cells, account_id=plan.account_id, today=today),
        review_dates=content.review_dates,
        next_review_on=min(upcoming) if upcoming else None,
        relationship_map=await relationship_map(session, account_id=plan.account_id),
        projects=await plan_project_lines(session, account_id=plan.account_id, today=today),
    )


async def list_plans(
    session: AsyncSession,
    *,
    actor: Principal,
    page: PageParams,
    account_id: str | None = None,
    year: int | None = None,
    status: PlanStatus | None = None,
) -> tuple[list[PlanListItem], int]:
    """Plans of the accounts the actor sees (newest year first), filtered, and their total."""
    query = select(AccountPlan).where(visible_accounts_clause(platform, actor, AccountPlan.account_id))
    if account_id is not None:
        query = query.where(AccountPlan.account_id == account_id)
    if year is not None:
        query = query.where(AccountPlan.year == year)
    if status is not None:
        query = query.where(AccountPlan.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(AccountPlan.year.desc(), AccountPlan.account_id).limit(page.limit).offset(page.offset)
    )
    items = [PlanListItem.model_validate({c: getattr(p, c) for c in PlanListItem.model_fields}) for p in rows]
    return items, int(total or 0)


async def plan_versions(session: AsyncSession, *, plan: AccountPlan) -> list[PlanVersionRead]:
    """Every approved version (unchanged since its approval), then the working one if it is not approved yet."""
    kept = await session.scalars(
        select(AccountPlanVersion)
        .where(AccountPlanVersion.plan_id == plan.id)
        .order_by(AccountPlanVersion.plan_version)
    )
    out = [
        PlanVersionRead(
            plan_version=v.plan_version,
            state="superseded" if v.superseded_at is not None else "approved",
            title=v.title,
            content=PlanContent.model_validate(v.content),
            approved_by=v.approved_by,
            approved_at=v.approved_at,
            superseded_at=v.superseded_at,
        )
        for v in kept
    ]
    if plan.status != "approved" and all(v.plan_version != plan.plan_version for v in out):
        out.append(
            PlanVersionRead(
                plan_version=plan.plan_version,
                state="working",
                title=plan.title,
                content=PlanContent.model_validate(plan.content),
                approved_by=None,
                approved_at=None,
                superseded_at=None,
            )
        )
    return out


async def due_reviews(
    session: AsyncSession, *, actor: Principal, today: date, within_days: int, page: PageParams
) -> tuple[list[ReviewDue], int]:
    """Review dates of plans not archived from ``today`` to ``within_days`` days later, soonest first."""
    query = (
        select(AccountPlan.id, AccountPlan.account_id, AccountPlan.title, AccountPlanReview.review_on)
        .join(AccountPlanReview, AccountPlanReview.plan_id == AccountPlan.id)
        .where(
            AccountPlan.status != "archived",
            AccountPlanReview.review_on >= today,
            AccountPlanReview.review_on <= today + timedelta(days=within_days),
            visible_accounts_clause(platform, actor, AccountPlan.account_id),
        )
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(AccountPlanReview.review_on, AccountPlan.id).limit(page.limit).offset(page.offset)
    )
    items = [ReviewDue(plan_id=r[0], account_id=r[1], title=r[2], review_on=r[3]) for r in rows.all()]
    return items, int(total or 0)

"""The goals sections the gateway composes (account overview, portfolio board) and their two routes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.models import ActionItem
from services.goals.actions.service import OPEN_STATUSES
from services.goals.actuals.aggregates import year_start_month
from services.goals.actuals.figures import sales_by_account
from services.goals.actuals.models import SalesYearTotal
from services.goals.config import GoalsSettings, calendar_of
from services.goals.currencies.service import reporting_currency_of
from services.goals.deps import AccountForRead, Actor, SettingsDep, TodayDep
from services.goals.forecast import Tracking, attainment_pct, q2
from services.goals.models import platform
from services.goals.money import money_str
from services.goals.periods import Period
from services.goals.plans.models import AccountPlan
from services.goals.projects.progress import is_overdue
from services.goals.projects.service import account_projects
from services.goals.targets.models import Target
from services.goals.targets.tracking import red_alert_accounts, track_many
from shared.auth import Principal, visible_accounts_clause
from shared.errors import PROBLEM_RESPONSES
from shared.money import one_currency
from shared.service import SessionDep
from shared.views.goals import (
    GoalsAccountView,
    GoalsAtRiskTarget,
    GoalsManagerAttainment,
    GoalsOverdueActionItem,
    GoalsPlanSummary,
    GoalsPortfolioView,
    GoalsProjectLine,
    GoalsProjectPartLine,
    GoalsTargetLine,
    GoalsTierAttainment,
)

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
# Target and actual revenue per tier or per account manager.
Attainment = dict[str, list[Decimal]]

# ---------------------------------------------------------------- account overview


def _target_line(target: Target, tracking: Tracking, red: bool) -> GoalsTargetLine:
    return GoalsTargetLine(
        id=target.id,
        metric=target.metric if target.metric != "custom" else f"custom:{target.custom_metric}",
        period=target.period,
        product_line=target.product_line,
        status=target.status,
        target_value=money_str(target.target_value),
        stretch_value=money_str(target.stretch_value),
        unit=target.unit,
        actual=money_str(tracking.actual),
        forecast=money_str(tracking.forecast),
        forecast_method=tracking.forecast_method,
        attainment_pct=money_str(tracking.attainment_pct),
        forecast_attainment_pct=money_str(tracking.forecast_attainment_pct),
        gap=money_str(tracking.gap),
        at_risk=target.at_risk,
        achieved=target.achieved_at is not None,
        red_alert=red,
    )


async def _plan_summary(session: AsyncSession, *, account_id: str, year: int, today: date) -> GoalsPlanSummary | None:
    plan = await session.scalar(
        select(AccountPlan).where(AccountPlan.account_id == account_id, AccountPlan.year == year)
    )
    if plan is None:
        return None
    upcoming = [d for d in (date.fromisoformat(x) for x in plan.content.get("review_dates", [])) if d >= today]
    return GoalsPlanSummary(
        id=plan.id,
        year=plan.year,
        title=plan.title,
        status=plan.status,
        plan_version=plan.plan_version,
        approved_at=plan.approved_at.isoformat() if plan.approved_at else None,
        next_review_on=min(upcoming) if upcoming else None,
    )


async def _project_lines(session: AsyncSession, *, account_id: str, today: date) -> list[GoalsProjectLine]:
    lines = []
    for project, parts, done in await account_projects(session, account_id=account_id, today=today, limit=20):
        overdue = [
            GoalsProjectPartLine(
                id=p.id, department=p.department, title=p.title, owner_id=p.owner_id, due_on=p.due_on, status=p.status
            )
            for p in parts
            if is_overdue(p.status, p.due_on, today)
        ]
        lines.append(
            GoalsProjectLine(
                id=project.id,
                title=project.title,
                progress_pct=money_str(done.progress_pct),
                parts_total=done.parts,
                parts_accepted=done.accepted,
                overdue_parts=overdue,
            )
        )
    return lines


async def build_account_view(
    session: AsyncSession, *, account: dict[str, Any], settings: GoalsSettings, today: date
) -> GoalsAccountView:
    """This period's targets of one account with attainment, forecast, gap and flags; overdue action items; the
    year's account plan and the account's cross-department projects with their progress and overdue parts."""
    cal = calendar_of(settings)
    account_id = account["account_id"]
    current = {cal.current(today, k).text for k in ("year", "quarter", "month")}
    targets = list(
        await session.scalars(
            select(Target)
            .where(Target.account_id == account_id, Target.period.in_(sorted(current)), Target.status != "cancelled")
            .order_by(Target.period, Target.metric, Target.product_line)
        )
    )
    tracked = await track_many(session, targets, settings=settings, today=today)
    red = bool(await red_alert_accounts(session, [account_id]))
    overdue = await session.scalars(
        select(ActionItem)
        .where(ActionItem.account_id == account_id, ActionItem.status.in_(OPEN_STATUSES), ActionItem.due_date < today)
        .order_by(ActionItem.due_date)
        .limit(50)
    )
    return GoalsAccountView(
        account_id=account_id,
        name=account["name"],
        tier=account["tier"],
        owner_id=account["owner_id"],
        periods=sorted(current),
        red_alert=red,
        currency=await reporting_currency_of(session, account_id, settings=settings),
        targets=[_target_line(t, tracked[t.id], red) for t in targets],
        overdue_action_items=[
            GoalsOverdueActionItem(
                id=i.id,
                target_id=i.target_id,
                title=i.title,
                owner_id=i.owner_id,
                due_date=i.due_date,
                status=i.status,
            )
            for i in overdue
        ],
        plan=await _plan_summary(
            session, account_id=account_id, year=cal.current(today, "year").fiscal_year, today=today
        ),
        projects=await _project_lines(session, account_id=account_id, today=today),
    )


# ---------------------------------------------------------------- portfolio board


async def _revenue_attainment(
    session: AsyncSession, *, visible: ColumnElement[bool], year: Period, start_month: int
) -> tuple[Attainment, Attainment, str | None]:
    """Approved top-level revenue targets of the year and the revenue so far, by tier and by account manager, and
    the one currency they are in (a mix is a 422 naming currency: amounts are never added across currencies).

    One row per target with its account's sales of the fiscal year beside it (``sales_year_totals``, one row per
    account and year, kept on every write and void); only when those years are counted in another fiscal calendar
    than this one (never after start-up aligned them) are the months added up instead."""
    accounts = platform.accounts
    years = await year_start_month(session) == start_month
    t, sales = Target.__table__.c, SalesYearTotal.__table__.c  # Core columns: thousands of rows, no ORM loading
    query = (
        select(t.account_id, t.target_value, accounts.c.tier, accounts.c.owner_id, t.currency)
        .join(accounts, accounts.c.account_id == t.account_id)
        .where(
            t.scope == "account",
            t.metric == "revenue",
            t.period == year.text,
            t.parent_id.is_(None),
            t.product_line.is_(None),
            t.status == "approved",
            visible,
        )
    )
    if years:
        query = query.add_columns(sales.revenue, sales.currency).outerjoin(
            SalesYearTotal.__table__, (sales.account_id == t.account_id) & (sales.fiscal_year == year.fiscal_year)
        )
    rows: list[Any] = list((await session.execute(query)).all())  # with the year's sales when ``years``
    actual: dict[str, Decimal] = defaultdict(Decimal)
    if years:
        currencies = [*(r[4] for r in rows), *(r[6] for r in rows if r[6] is not None)]
        for r in rows:
            if r[5] is not None:
                actual[r[0]] = Decimal(str(r[5]))
    else:
        sums = await sales_by_account(session, account_ids={r[0] for r in rows}, months=year.months)
        currencies = [*(r[4] for r in rows), *(s.currency for s in sums)]
        for s in sums:
            actual[s.account_id] += s.revenue
    currency = one_currency(currencies, field="currency")
    by_tier: Attainment = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_owner: Attainment = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for account_id, value, tier, owner, *_ in rows:
        for bucket, key in ((by_tier, tier or "-"), (by_owner, owner or "-")):
            bucket[key][0] += Decimal(str(value))
            bucket[key][1] += actual[account_id] if account_id else Decimal(0)
    return by_tier, by_owner, currency


async def _at_risk_targets(session: AsyncSession, *, visible: ColumnElement[bool]) -> list[GoalsAtRiskTarget]:
    """The 20 targets most recently at risk."""
    accounts = platform.accounts
    rows = (
        await session.execute(
            select(Target, accounts.c.name)
            .join(accounts, accounts.c.account_id == Target.account_id)
            .where(Target.at_risk.is_(True), visible)
            .order_by(Target.at_risk_since.desc())
            .limit(20)
        )
    ).all()
    return [
        GoalsAtRiskTarget(
            id=t.id,
            account_id=t.account_id,
            account_name=name,
            metric=t.metric,
            period=t.period,
            target_value=money_str(t.target_value),
            forecast=money_str(t.last_forecast),
            at_risk_since=t.at_risk_since.isoformat() if t.at_risk_since else None,
        )
        for t, name in rows
    ]


async def build_portfolio_view(
    session: AsyncSession, *, actor: Principal, settings: GoalsSettings, today: date
) -> GoalsPortfolioView:
    """Revenue attainment by tier and by account manager this fiscal year, at-risk targets, overdue items."""
    year = calendar_of(settings).current(today, "year")
    visible = visible_accounts_clause(platform, actor, Target.account_id)
    by_tier, by_owner, currency = await _revenue_attainment(
        session, visible=visible, year=year, start_month=settings.fiscal_year_start_month
    )
    at_risk_total = await session.scalar(
        select(func.count()).select_from(Target).where(Target.at_risk.is_(True), visible)
    )
    overdue = await session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(
            ActionItem.status.in_(OPEN_STATUSES),
            ActionItem.due_date < today,
            visible_accounts_clause(platform, actor, ActionItem.account_id),
        )
    )
    return GoalsPortfolioView(
        period=year.text,
        currency=currency or settings.reporting_currency,
        revenue_attainment_by_tier=[
            GoalsTierAttainment(
                tier=k, target=money_str(t), actual=money_str(q2(a)), attainment_pct=money_str(attainment_pct(a, t))
            )
            for k, (t, a) in sorted(by_tier.items())
        ],
        revenue_attainment_by_account_manager=[
            GoalsManagerAttainment(
                owner_id=k, target=money_str(t), actual=money_str(q2(a)), attainment_pct=money_str(attainment_pct(a, t))
            )
            for k, (t, a) in sorted(by_owner.items())
        ],
        at_risk_targets_count=int(at_risk_total or 0),
        at_risk_targets=await _at_risk_targets(session, visible=visible),
        overdue_action_items_count=int(overdue or 0),
    )


# ---------------------------------------------------------------- routes


@router.get("/goals/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(
    account: AccountForRead, session: SessionDep, today: TodayDep, settings: SettingsDep
) -> GoalsAccountView:
    """The goals section of the account 360 (composed by the gateway); shape in docs/goals.md."""
    return await build_account_view(session, account=account, settings=settings, today=today)


@router.get("/goals/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(
    session: SessionDep, actor: Actor, today: TodayDep, settings: SettingsDep
) -> GoalsPortfolioView:
    """The goals section of the supervisor's board (composed by the gateway); shape in docs/goals.md."""
    return await build_portfolio_view(session, actor=actor, settings=settings, today=today)

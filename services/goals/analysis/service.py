"""Analyses: why a target's figure moved (variance) and the team scorecards (绩效考核)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import SalesCell, sales_by_account, sales_cells
from services.goals.analysis.schemas import ScorecardRead, VarianceBaseline, VarianceRead
from services.goals.config import GoalsSettings, calendar_of
from services.goals.currencies.service import reporting_currencies
from services.goals.forecast import ADDITIVE_METRICS, attainment_pct, q2
from services.goals.models import ComplaintFact, platform
from services.goals.periods import FiscalCalendar, Period, elapsed_fractions
from services.goals.scorecard import ScorecardInputs, component_scores, kpi_score
from services.goals.targets.models import Target
from services.goals.targets.tracking import children_of
from services.goals.variance import Cell, VarianceRow, compare
from shared.auth import Principal
from shared.clock import start_of_business_day
from shared.errors import Unprocessable
from shared.money import one_currency

Comparison = tuple[list[VarianceRow], list[VarianceRow], list[VarianceRow]]  # by month, product line, region

# ---------------------------------------------------------------- variance


def _amount(cell: SalesCell, metric: str) -> Decimal:
    return cell.revenue if metric == "revenue" else cell.revenue - cell.cost


def _fold(
    cells: list[SalesCell], metric: str, key_of: Callable[[SalesCell], str], with_quantity: bool
) -> dict[str, Cell]:
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    quantities: dict[str, Decimal | None] = {}
    for cell in cells:
        key = key_of(cell)
        amounts[key] += _amount(cell, metric)
        if with_quantity:
            if cell.quantity is None:
                quantities[key] = None
            elif quantities.get(key, Decimal(0)) is not None:
                quantities[key] = (quantities.get(key) or Decimal(0)) + cell.quantity
    return {k: Cell(v, quantities.get(k) if with_quantity and k in quantities else None) for k, v in amounts.items()}


async def _target_cells(session: AsyncSession, target: Target, months: list[str]) -> list[SalesCell]:
    """The target's account's sales in ``months`` (only its product line when it has one)."""
    assert target.account_id is not None
    return [
        c
        for c in await sales_cells(session, account_ids=[target.account_id], months=months)
        if target.product_line is None or c.product_line == target.product_line
    ]


async def _against_history(
    session: AsyncSession, target: Target, months: list[str], current_cells: list[SalesCell], baseline: Period
) -> Comparison:
    """The started months against the same months of the baseline period (a year or a period earlier)."""
    with_quantity = target.metric == "revenue"
    base_months = [baseline.months[i] for i in range(len(months))]
    label = {b: months[i] for i, b in enumerate(base_months)}
    base_cells = await _target_cells(session, target, base_months)
    empty = {m: Cell(Decimal(0), Decimal(0) if with_quantity else None) for m in months}
    by_month = compare(
        {**empty, **_fold(current_cells, target.metric, lambda c: c.month, with_quantity)},
        {**empty, **_fold(base_cells, target.metric, lambda c: label[c.month], with_quantity)},
    )
    by_line = compare(
        _fold(current_cells, target.metric, lambda c: c.product_line, with_quantity),
        _fold(base_cells, target.metric, lambda c: c.product_line, with_quantity),
    )
    by_region = compare(
        _fold(current_cells, target.metric, lambda c: c.region or "-", with_quantity),
        _fold(base_cells, target.metric, lambda c: c.region or "-", with_quantity),
    )
    return by_month, by_line, by_region


async def _against_plan(
    session: AsyncSession,
    target: Target,
    months: list[str],
    current_cells: list[SalesCell],
    period: Period,
    settings: GoalsSettings,
) -> Comparison:
    """The started months against the plan: the period split if any (else even), product-line parts if split."""
    kids = (await children_of(session, [target.id])).get(target.id, [])
    month_plan = _planned_by_month(target, kids, period, settings)
    month_base = {m: Cell(month_plan[m]) for m in months}
    line_base = {
        k.product_line: Cell(k.target_value) for k in kids if k.product_line and target.split_by == "product_line"
    }
    scale = Decimal(len(months)) / Decimal(len(period.months))
    line_base = {k: Cell(q2(v.amount * scale)) for k, v in line_base.items() if k}
    by_month = compare(
        {**{m: Cell(Decimal(0)) for m in months}, **_fold(current_cells, target.metric, lambda c: c.month, False)},
        month_base,
    )
    by_line = (
        compare(_fold(current_cells, target.metric, lambda c: c.product_line, False), line_base)
        if line_base
        else compare(_fold(current_cells, target.metric, lambda c: c.product_line, False), {})
    )
    by_region = compare(_fold(current_cells, target.metric, lambda c: c.region or "-", False), {})
    return by_month, by_line, by_region


def _baseline_period(cal: FiscalCalendar, period: Period, compare_to: VarianceBaseline) -> Period:
    return cal.shifted(period, years=-1) if compare_to == "previous_year" else cal.shifted(period, periods=-1)


async def variance(
    session: AsyncSession, *, target: Target, compare_to: VarianceBaseline, settings: GoalsSettings, today: date
) -> VarianceRead:
    """Which product lines, months and regions explain the difference to target, last period or last year."""
    if target.metric not in ("revenue", "gross_profit") or target.account_id is None:
        raise Unprocessable("variance analysis needs an account target on revenue or gross_profit", field="target_id")
    cal = calendar_of(settings)
    period = cal.parse(target.period)
    started = [m for m, f in zip(period.months, elapsed_fractions(period, today), strict=True) if f > 0]
    months = started or list(period.months)
    current_cells = await _target_cells(session, target, months)
    baseline_period: Period | None = None
    if compare_to in ("previous_period", "previous_year"):
        baseline_period = _baseline_period(cal, period, compare_to)
        by_month, by_line, by_region = await _against_history(session, target, months, current_cells, baseline_period)
    elif compare_to == "target":
        by_month, by_line, by_region = await _against_plan(session, target, months, current_cells, period, settings)
    else:
        raise Unprocessable("compare must be target, previous_period or previous_year", field="compare")
    current_total = sum((r.current for r in by_month), Decimal(0))
    baseline_total = sum((r.baseline for r in by_month), Decimal(0))
    return VarianceRead.model_validate(
        {
            "target_id": target.id,
            "metric": target.metric,
            "period": target.period,
            "compare": compare_to,
            "baseline_period": baseline_period.text if baseline_period else None,
            "currency": one_currency([target.currency, *(c.currency for c in current_cells)]),
            "current_total": current_total,
            "baseline_total": baseline_total,
            "delta": current_total - baseline_total,
            "by_product_line": [r.__dict__ for r in by_line],
            "by_month": [r.__dict__ for r in by_month],
            "by_region": [r.__dict__ for r in by_region],
        }
    )


def _planned_by_month(
    target: Target, kids: list[Target], period: Period, settings: GoalsSettings
) -> dict[str, Decimal]:
    """The target spread over its months: by the period split if there is one, else evenly."""
    cal = calendar_of(settings)
    per_month: dict[str, Decimal] = {}
    if target.split_by == "period":
        for child in kids:
            child_months = cal.parse(child.period).months
            for m in child_months:
                per_month[m] = q2(child.target_value / len(child_months))
    if any(m not in per_month for m in period.months):
        per_month = {m: q2(target.target_value / len(period.months)) for m in period.months}
    return per_month


# ---------------------------------------------------------------- scorecards


def _period_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a period begins and ends at in the company's zone."""
    return start_of_business_day(period.start, zone), start_of_business_day(period.end, zone)


@dataclass(frozen=True)
class _Figures:
    """What every scorecard of a period is computed from."""

    period: Period
    targets: list[Target]
    revenue: dict[str, Decimal]
    profit: dict[str, Decimal]
    currencies: dict[str, str]  # account → reporting currency
    facts: list[ComplaintFact]
    start: datetime
    end: datetime


async def _book_of_owners(session: AsyncSession, *, actor: Principal, owner_id: str | None) -> dict[str, list[str]]:
    """The accounts of each account manager the actor may see scorecards of."""
    accounts = platform.accounts
    query = select(accounts.c.account_id, accounts.c.owner_id).where(accounts.c.owner_id.is_not(None))
    if not actor.sees_whole_portfolio:
        query = query.where(accounts.c.owner_id == actor.user_id)
    if owner_id is not None:
        query = query.where(accounts.c.owner_id == owner_id)
    book: dict[str, list[str]] = defaultdict(list)
    for account_id, owner in await session.execute(query):
        book[owner].append(account_id)
    return book


async def scorecards(
    session: AsyncSession,
    *,
    period_text: str,
    actor: Principal,
    settings: GoalsSettings,
    owner_id: str | None = None,
) -> list[ScorecardRead]:
    """Per account manager: attainment, complaint SLA and satisfaction, at-risk targets, and the weighted KPI."""
    cal = calendar_of(settings)
    try:
        period = cal.parse(period_text)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="period") from exc
    book = await _book_of_owners(session, actor=actor, owner_id=owner_id)
    if not book:
        return []
    all_ids = [a for ids in book.values() for a in ids]
    currencies = await reporting_currencies(session, all_ids, settings=settings)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    profit: dict[str, Decimal] = defaultdict(Decimal)
    for sales in await sales_by_account(session, account_ids=all_ids, months=period.months):
        one_currency([currencies[sales.account_id], sales.currency])
        revenue[sales.account_id] += sales.revenue
        profit[sales.account_id] += sales.revenue - sales.cost
    sub_periods = {period.text} | {cal.quarter_of(m) for m in period.months} | set(period.months)
    targets = list(
        await session.scalars(
            select(Target).where(
                Target.status == "approved",
                Target.period.in_(sorted(sub_periods)),
                ((Target.account_id.in_(all_ids)) | (Target.scope == "team")),
            )
        )
    )
    start, end = _period_bounds(period, settings.zone)
    facts = list(await session.scalars(select(ComplaintFact).where(ComplaintFact.account_id.in_(all_ids))))
    figures = _Figures(period, targets, revenue, profit, currencies, facts, start, end)
    return [_scorecard_for(owner, set(book[owner]), figures, settings) for owner in sorted(book)]


def _team_or_rollup(targets: list[Target], owner: str, ids: set[str], period: Period, metric: str) -> Decimal | None:
    """The owner's explicit team target for ``metric``, else the sum of their top-level account targets."""
    explicit = [
        t
        for t in targets
        if t.scope == "team" and t.owner_id == owner and t.metric == metric and t.period == period.text
    ]
    if explicit:
        return explicit[0].target_value
    parts = [
        t.target_value
        for t in targets
        if t.scope == "account"
        and t.account_id in ids
        and t.metric == metric
        and t.period == period.text
        and t.parent_id is None
        and t.product_line is None
    ]
    return sum(parts, Decimal(0)) if parts else None


def _book_currency(owner: str, ids: set[str], figures: _Figures) -> str | None:
    """The one currency an account manager's money figures are in (422 naming currency for a mixed book)."""
    amounts = [
        t.currency
        for t in figures.targets
        if t.metric in ADDITIVE_METRICS and (t.account_id in ids or (t.scope == "team" and t.owner_id == owner))
    ]
    return one_currency([*(figures.currencies[a] for a in ids), *amounts], field="currency")


def _scorecard_for(owner: str, ids: set[str], figures: _Figures, settings: GoalsSettings) -> ScorecardRead:
    """One account manager's scorecard."""
    currency = _book_currency(owner, ids, figures)
    period, targets, revenue, profit = figures.period, figures.targets, figures.revenue, figures.profit
    facts, start, end = figures.facts, figures.start, figures.end
    revenue_target = _team_or_rollup(targets, owner, ids, period, "revenue")
    margin_target = _team_or_rollup(targets, owner, ids, period, "gross_profit")
    revenue_actual = sum((revenue[a] for a in ids), Decimal(0))
    margin_actual = sum((profit[a] for a in ids), Decimal(0))
    acknowledged = [
        f for f in facts if f.account_id in ids and f.acknowledged_at is not None and start <= f.acknowledged_at < end
    ]
    within = [f for f in acknowledged if f.within_sla]
    rated = [
        f
        for f in facts
        if f.account_id in ids and f.satisfaction is not None and f.closed_at and start <= f.closed_at < end
    ]
    at_risk = sum(1 for t in targets if t.scope == "account" and t.account_id in ids and t.at_risk)
    inputs = ScorecardInputs(
        revenue_attainment_pct=attainment_pct(revenue_actual, revenue_target) if revenue_target else None,
        margin_attainment_pct=attainment_pct(margin_actual, margin_target) if margin_target else None,
        sla_compliance_pct=q2(Decimal(len(within)) / Decimal(len(acknowledged)) * 100) if acknowledged else None,
        satisfaction_avg=q2(Decimal(sum(f.satisfaction or 0 for f in rated)) / Decimal(len(rated))) if rated else None,
        at_risk_targets=at_risk,
    )
    scores = component_scores(
        inputs, attainment_cap_pct=settings.attainment_cap_pct, at_risk_penalty_points=settings.at_risk_penalty_points
    )
    total, breakdown = kpi_score(scores, settings.scorecard_weights)
    return ScorecardRead.model_validate(
        {
            "owner_id": owner,
            "period": period.text,
            "accounts": len(ids),
            "currency": currency,
            "revenue_target": revenue_target,
            "revenue_actual": revenue_actual,
            "margin_target": margin_target,
            "margin_actual": margin_actual,
            "complaints_acknowledged": len(acknowledged),
            "complaints_within_sla": len(within),
            "complaints_rated": len(rated),
            "at_risk_targets": at_risk,
            "kpi_score": total,
            "breakdown": [b.__dict__ for b in breakdown],
        }
    )

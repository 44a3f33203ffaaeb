"""Read models: variance analysis, team scorecards, and the account and portfolio sections for the gateway."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals import SalesCell, sales_cells
from services.goals.config import GoalsSettings
from services.goals.forecast import SALES_METRICS, attainment_pct, q2
from services.goals.models import ActionItem, ComplaintFact, Target, platform
from services.goals.periods import Period, add_months, elapsed_fractions
from services.goals.schemas import cents
from services.goals.scorecard import ScorecardInputs, component_scores, kpi_score
from services.goals.tracking import calendar_of, children_of, red_alert_accounts, track_many
from services.goals.variance import Cell, compare
from shared.auth import Principal, visible_accounts_clause
from shared.errors import Unprocessable

# ---------------------------------------------------------------- variance


def _amount(cell: SalesCell, metric: str) -> Decimal:
    return cell.revenue if metric == "revenue" else cell.revenue - cell.cost


def _fold(cells: list[SalesCell], metric: str, key_of: Any, with_quantity: bool) -> dict[str, Cell]:
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


async def variance(
    session: AsyncSession, *, target: Target, compare_to: str, settings: GoalsSettings, today: date
) -> dict[str, Any]:
    """Which product lines, months and regions explain the difference to target, last period or last year."""
    if target.metric not in ("revenue", "gross_profit") or target.account_id is None:
        raise Unprocessable("variance analysis needs an account target on revenue or gross_profit", field="target_id")
    cal = calendar_of(settings)
    period = cal.parse(target.period)
    started = [m for m, f in zip(period.months, elapsed_fractions(period, today), strict=True) if f > 0]
    months = started or list(period.months)
    with_quantity = target.metric == "revenue"
    current_cells = [
        c
        for c in await sales_cells(session, account_ids=[target.account_id], months=months)
        if target.product_line is None or c.product_line == target.product_line
    ]
    baseline_period: Period | None = None
    if compare_to in ("previous_period", "previous_year"):
        baseline_period = (
            cal.shifted(period, years=-1) if compare_to == "previous_year" else cal.shifted(period, periods=-1)
        )
        base_months = [baseline_period.months[i] for i in range(len(months))]
        label = {b: months[i] for i, b in enumerate(base_months)}
        base_cells = [
            c
            for c in await sales_cells(session, account_ids=[target.account_id], months=base_months)
            if target.product_line is None or c.product_line == target.product_line
        ]
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
    elif compare_to == "target":
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
    else:
        raise Unprocessable("compare must be target, previous_period or previous_year", field="compare")
    current_total = sum((r.current for r in by_month), Decimal(0))
    baseline_total = sum((r.baseline for r in by_month), Decimal(0))
    return {
        "target_id": target.id,
        "metric": target.metric,
        "period": target.period,
        "compare": compare_to,
        "baseline_period": baseline_period.text if baseline_period else None,
        "current_total": current_total,
        "baseline_total": baseline_total,
        "delta": current_total - baseline_total,
        "by_product_line": by_line,
        "by_month": by_month,
        "by_region": by_region,
    }


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


def _period_bounds(period: Period) -> tuple[datetime, datetime]:
    return datetime.combine(period.start, time(), UTC), datetime.combine(period.end, time(), UTC)


async def scorecards(
    session: AsyncSession,
    *,
    period_text: str,
    principal: Principal,
    settings: GoalsSettings,
    owner_id: str | None = None,
) -> list[dict[str, Any]]:
    """Per account manager: attainment, complaint SLA and satisfaction, at-risk targets, and the weighted KPI."""
    cal = calendar_of(settings)
    try:
        period = cal.parse(period_text)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="period") from exc
    accounts = platform.accounts
    query = select(accounts.c.account_id, accounts.c.owner_id).where(accounts.c.owner_id.is_not(None))
    if not principal.sees_whole_portfolio:
        query = query.where(accounts.c.owner_id == principal.user_id)
    if owner_id is not None:
        query = query.where(accounts.c.owner_id == owner_id)
    book: dict[str, list[str]] = defaultdict(list)
    for account_id, owner in await session.execute(query):
        book[owner].append(account_id)
    if not book:
        return []
    all_ids = [a for ids in book.values() for a in ids]
    cells = await sales_cells(session, account_ids=all_ids, months=period.months)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    profit: dict[str, Decimal] = defaultdict(Decimal)
    for cell in cells:
        revenue[cell.account_id] += cell.revenue
        profit[cell.account_id] += cell.revenue - cell.cost
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
    start, end = _period_bounds(period)
    facts = list(await session.scalars(select(ComplaintFact).where(ComplaintFact.account_id.in_(all_ids))))
    out = []
    for owner in sorted(book):
        ids = set(book[owner])
        out.append(_scorecard_for(owner, ids, period, targets, revenue, profit, facts, start, end, settings))
    return out


def _scorecard_for(
    owner: str,
    ids: set[str],
    period: Period,
    targets: list[Target],
    revenue: dict[str, Decimal],
    profit: dict[str, Decimal],
    facts: list[ComplaintFact],
    start: datetime,
    end: datetime,
    settings: GoalsSettings,
) -> dict[str, Any]:
    def team_or_rollup(metric: str) -> Decimal | None:
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

    revenue_target, margin_target = team_or_rollup("revenue"), team_or_rollup("gross_profit")
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
    return {
        "owner_id": owner,
        "period": period.text,
        "accounts": len(ids),
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


# ---------------------------------------------------------------- gateway sections


def _tracking_dict(t: Any) -> dict[str, Any]:
    return {
        "actual": t.actual,
        "forecast": t.forecast,
        "forecast_method": t.forecast_method,
        "attainment_pct": t.attainment_pct,
        "forecast_attainment_pct": t.forecast_attainment_pct,
        "gap": t.gap,
    }


def _s(value: Decimal | None) -> str | None:
    """Money as the API writes it everywhere (two places when exact in cents)."""
    return None if value is None else format(cents(Decimal(value)), "f")


async def account_section(
    session: AsyncSession, *, account: dict[str, Any], settings: GoalsSettings, today: date
) -> dict[str, Any]:
    """This period's targets of one account with attainment, forecast, gap and flags; overdue action items."""
    cal = calendar_of(settings)
    account_id = account["account_id"]
    current = {cal.current(today, k).text for k in ("year", "quarter", "month")}
    targets = list(
        await session.scalars(
            select(Target)
            .where(Target.account_id == account_id, Target.period.in_(sorted(current)))
            .order_by(Target.period, Target.metric, Target.product_line)
        )
    )
    tracked = await track_many(session, targets, settings=settings, today=today)
    red = bool(await red_alert_accounts(session, [account_id]))
    overdue = list(
        await session.scalars(
            select(ActionItem)
            .where(
                ActionItem.account_id == account_id,
                ActionItem.status.in_(("open", "in_progress")),
                ActionItem.due_date < today,
            )
            .order_by(ActionItem.due_date)
            .limit(50)
        )
    )
    return {
        "account_id": account_id,
        "name": account["name"],
        "tier": account["tier"],
        "owner_id": account["owner_id"],
        "periods": sorted(current),
        "red_alert": red,
        "currency": "CNY",
        "targets": [
            {
                "id": t.id,
                "metric": t.metric if t.metric != "custom" else f"custom:{t.custom_metric}",
                "period": t.period,
                "product_line": t.product_line,
                "status": t.status,
                "target_value": _s(t.target_value),
                "stretch_value": _s(t.stretch_value),
                "unit": t.unit,
                **{k: (_s(v) if isinstance(v, Decimal) else v) for k, v in _tracking_dict(tracked[t.id]).items()},
                "at_risk": t.at_risk,
                "achieved": t.achieved_at is not None,
                "red_alert": red,
            }
            for t in targets
        ],
        "overdue_action_items": [
            {
                "id": i.id,
                "target_id": i.target_id,
                "title": i.title,
                "owner_id": i.owner_id,
                "due_date": i.due_date.isoformat(),
                "status": i.status,
            }
            for i in overdue
        ],
    }


async def portfolio_section(
    session: AsyncSession, *, principal: Principal, settings: GoalsSettings, today: date
) -> dict[str, Any]:
    """Revenue attainment by tier and by account manager this fiscal year, at-risk targets, overdue items."""
    cal = calendar_of(settings)
    year = cal.current(today, "year")
    accounts = platform.accounts
    visible = visible_accounts_clause(platform, principal, Target.account_id)
    rows = (
        await session.execute(
            select(Target.account_id, Target.target_value, accounts.c.tier, accounts.c.owner_id)
            .join(accounts, accounts.c.account_id == Target.account_id)
            .where(
                Target.scope == "account",
                Target.metric == "revenue",
                Target.period == year.text,
                Target.parent_id.is_(None),
                Target.product_line.is_(None),
                Target.status == "approved",
                visible,
            )
        )
    ).all()
    ids = {r[0] for r in rows}
    cells = await sales_cells(session, account_ids=ids, months=year.months)
    actual: dict[str, Decimal] = defaultdict(Decimal)
    for cell in cells:
        actual[cell.account_id] += cell.revenue
    by_tier: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_owner: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for account_id, value, tier, owner in rows:
        for bucket, key in ((by_tier, tier or "-"), (by_owner, owner or "-")):
            bucket[key][0] += Decimal(str(value))
            bucket[key][1] += actual[account_id] if account_id else Decimal(0)

    def table(bucket: dict[str, list[Decimal]], name: str) -> list[dict[str, Any]]:
        return [
            {
                name: key,
                "target": _s(t),
                "actual": _s(q2(a)),
                "attainment_pct": _s(attainment_pct(a, t)),
            }
            for key, (t, a) in sorted(bucket.items())
        ]

    at_risk_rows = (
        await session.execute(
            select(Target, accounts.c.name)
            .join(accounts, accounts.c.account_id == Target.account_id)
            .where(Target.at_risk.is_(True), visible)
            .order_by(Target.at_risk_since.desc())
            .limit(20)
        )
    ).all()
    at_risk_total = await session.scalar(
        select(func.count()).select_from(Target).where(Target.at_risk.is_(True), visible)
    )
    overdue = await session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(
            ActionItem.status.in_(("open", "in_progress")),
            ActionItem.due_date < today,
            visible_accounts_clause(platform, principal, ActionItem.account_id),
        )
    )
    return {
        "period": year.text,
        "currency": "CNY",
        "revenue_attainment_by_tier": table(by_tier, "tier"),
        "revenue_attainment_by_account_manager": table(by_owner, "owner_id"),
        "at_risk_targets_count": int(at_risk_total or 0),
        "at_risk_targets": [
            {
                "id": t.id,
                "account_id": t.account_id,
                "account_name": name,
                "metric": t.metric,
                "period": t.period,
                "target_value": _s(t.target_value),
                "forecast": _s(t.last_forecast),
                "at_risk_since": t.at_risk_since.isoformat() if t.at_risk_since else None,
            }
            for t, name in at_risk_rows
        ],
        "overdue_action_items_count": int(overdue or 0),
    }


def months_back(key: str, n: int) -> list[str]:
    """The ``n`` months ending with ``key``."""
    return [add_months(key, -i) for i in range(n - 1, -1, -1)]


__all__ = ["SALES_METRICS", "account_section", "portfolio_section", "scorecards", "variance"]

"""Variance: why a target's figure moved, and why an account's, a team's or the portfolio's did."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import SalesCell, sales_cells
from services.goals.analysis.effects import breakdown
from services.goals.analysis.schemas import (
    ScopeVarianceRead,
    VarianceBaseline,
    VarianceMetric,
    VarianceRead,
    VarianceScope,
)
from services.goals.config import GoalsSettings, calendar_of
from services.goals.currencies.service import reporting_currencies
from services.goals.forecast import q2
from services.goals.models import platform
from services.goals.periods import FiscalCalendar, InvalidPeriod, Period, elapsed_fractions
from services.goals.targets.models import Target
from services.goals.targets.tracking import children_of
from services.goals.variance import Cell, Effects, VarianceRow, compare
from shared.auth import Principal, ensure_account_access, visible_account_ids
from shared.errors import NotFound, Unprocessable
from shared.money import one_currency

Comparison = tuple[list[VarianceRow], list[VarianceRow], list[VarianceRow]]  # by month, product line, region

# ---------------------------------------------------------------- variance


def _amount(cell: SalesCell, metric: str) -> Decimal:
    return cell.revenue if metric == "revenue" else cell.revenue - cell.cost


def _fold(cells: list[SalesCell], metric: str, key_of: Callable[[SalesCell], str]) -> dict[str, Cell]:
    """Amounts summed per key (no quantities: a plan has none to compare with)."""
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for cell in cells:
        amounts[key_of(cell)] += _amount(cell, metric)
    return {k: Cell(v) for k, v in amounts.items()}


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
) -> tuple[Comparison, Effects]:
    """The started months against the same months of the baseline period (a year or a period earlier), with the
    price, volume, mix (cost) and new / lost effects."""
    base_months = [baseline.months[i] for i in range(len(months))]
    label = {b: months[i] for i, b in enumerate(base_months)}
    base_cells = await _target_cells(session, target, base_months)
    parts = breakdown(current_cells, base_cells, metric=target.metric, months=months, label=label)
    return (parts.by_month, parts.by_product_line, parts.by_region), parts.effects


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
        {**{m: Cell(Decimal(0)) for m in months}, **_fold(current_cells, target.metric, lambda c: c.month)},
        month_base,
    )
    by_line = (
        compare(_fold(current_cells, target.metric, lambda c: c.product_line), line_base)
        if line_base
        else compare(_fold(current_cells, target.metric, lambda c: c.product_line), {})
    )
    by_region = compare(_fold(current_cells, target.metric, lambda c: c.region or "-"), {})
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
    effects: Effects | None = None
    if compare_to in ("previous_period", "previous_year"):
        baseline_period = _baseline_period(cal, period, compare_to)
        (by_month, by_line, by_region), effects = await _against_history(
            session, target, months, current_cells, baseline_period
        )
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
            "effects": effects.__dict__ if effects else None,
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


# ---------------------------------------------------------------- accounts, teams, the portfolio


async def _scope_accounts(
    session: AsyncSession, *, actor: Principal, scope: VarianceScope, account_id: str | None, owner_id: str | None
) -> dict[str, dict[str, Any]]:
    """The accounts of the scope the actor may see (account id → its projection row)."""
    accounts = platform.accounts
    if scope == "account":
        if account_id is None:
            raise Unprocessable("scope=account needs an account_id", field="account_id")
        row = await ensure_account_access(session, platform, actor, account_id)
        return {account_id: row}
    query = select(accounts)
    if scope == "team":
        if owner_id is None:
            raise Unprocessable("scope=team needs the owner_id of the account manager", field="owner_id")
        query = query.where(accounts.c.owner_id == owner_id)
    visible = visible_account_ids(platform, actor)
    if visible is not None:
        query = query.where(accounts.c.account_id.in_(visible))
    found = {r["account_id"]: dict(r) for r in (await session.execute(query)).mappings()}
    if scope == "team" and not found and not actor.sees_whole_portfolio and owner_id != actor.user_id:
        raise NotFound(f"Team of {owner_id} not found")
    return found


async def _in_one_currency(
    session: AsyncSession, rows: dict[str, dict[str, Any]], *, currency: str | None, settings: GoalsSettings
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The accounts reporting in one currency: the one asked for, else the only one (422 naming currency when
    the scope holds several: amounts in different currencies are never added)."""
    currencies = await reporting_currencies(session, list(rows), settings=settings)
    held = sorted(set(currencies.values()))
    if currency is None:
        if len(held) > 1:
            raise Unprocessable(
                f"these accounts report in {', '.join(held)}; amounts in different currencies are not added: "
                "ask for one with currency=",
                field="currency",
                currencies=held,
            )
        currency = held[0] if held else None
    return {a: r for a, r in rows.items() if currencies[a] == currency}, currency


async def scope_variance(
    session: AsyncSession,
    *,
    actor: Principal,
    scope: VarianceScope,
    period_text: str,
    compare_to: VarianceBaseline,
    metric: VarianceMetric,
    settings: GoalsSettings,
    today: date,
    account_id: str | None = None,
    owner_id: str | None = None,
    currency: str | None = None,
) -> ScopeVarianceRead:
    """Why an account's, a team's or the portfolio's revenue or gross profit moved against the same months a year
    or a period earlier: effects of the whole, and rows by product line, month, region, account and team."""
    if compare_to == "target":
        raise Unprocessable("compare must be previous_period or previous_year for a scope", field="compare")
    cal = calendar_of(settings)
    try:
        period = cal.parse(period_text)
    except (InvalidPeriod, ValueError) as exc:
        raise Unprocessable(str(exc), field="period") from exc
    rows, currency = await _in_one_currency(
        session,
        await _scope_accounts(session, actor=actor, scope=scope, account_id=account_id, owner_id=owner_id),
        currency=currency,
        settings=settings,
    )
    started = [m for m, f in zip(period.months, elapsed_fractions(period, today), strict=True) if f > 0]
    months = started or list(period.months)
    baseline = _baseline_period(cal, period, compare_to)
    label = {baseline.months[i]: m for i, m in enumerate(months)}
    ids = sorted(rows)
    current = await sales_cells(session, account_ids=ids, months=months)
    before = await sales_cells(session, account_ids=ids, months=list(label))
    one_currency([*(c.currency for c in [*current, *before]), *([currency] if currency else [])], field="currency")
    owners = {a: r.get("owner_id") or "-" for a, r in rows.items()}
    parts = breakdown(current, before, metric=metric, months=months, label=label, owners=owners)
    names = {a: r.get("name") for a, r in rows.items()}
    return ScopeVarianceRead.model_validate(
        {
            "scope": scope,
            "account_id": account_id if scope == "account" else None,
            "owner_id": owner_id if scope == "team" else None,
            "metric": metric,
            "period": period.text,
            "compare": compare_to,
            "baseline_period": baseline.text,
            "months": months,
            "accounts": len(ids),
            "currency": currency,
            "current_total": parts.current_total,
            "baseline_total": parts.baseline_total,
            "delta": parts.current_total - parts.baseline_total,
            "effects": parts.effects.__dict__,
            "by_product_line": [r.__dict__ for r in parts.by_product_line],
            "by_month": [r.__dict__ for r in parts.by_month],
            "by_region": [r.__dict__ for r in parts.by_region],
            "by_account": [{**r.__dict__, "name": names.get(r.key)} for r in parts.by_account],
            "by_owner": [r.__dict__ for r in parts.by_owner] if scope == "portfolio" else [],
        }
    )

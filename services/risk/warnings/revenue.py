"""Revenue signals: monthly totals (from goals.actuals_recorded) → sales drop; the portfolio → concentration."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.fx.conversion import BASE_CURRENCY, convert
from services.risk.fx.service import rate_table
from services.risk.warnings.early_warning import (
    concentration_pct,
    current_period,
    evaluate_conditions,
    parse_conditions,
    period_end,
    previous_period,
    sales_drop_pct,
    trailing_periods,
)
from services.risk.warnings.models import MonthlyRevenue, WarningRule
from services.risk.warnings.service import record_signal
from shared.bus import Publisher

log = logging.getLogger("kam.risk")


async def in_base_currency(session: AsyncSession, *, amount: Decimal, currency: str, period: str) -> Decimal | None:
    """A month's amount in the base currency at the rate in force on the month's last day (None without one)."""
    if currency == BASE_CURRENCY:
        return amount
    table = await rate_table(session, currencies={currency}, day=period_end(period))
    if table.missing([currency], BASE_CURRENCY):
        return None
    rate, _ = table.rate(currency, BASE_CURRENCY)
    return convert(amount, rate)


async def record_monthly_revenue(
    session: AsyncSession,
    *,
    account_id: str,
    period: str,
    revenue: Decimal,
    currency: str,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> None:
    """Store a month's revenue total and re-derive the account's sales-drop signal.

    "Last month" is the last completed month of ``today``, the business date. Only last month counts (versus
    the month before): the running month is a partial total, and older months — e.g. a history replayed by an
    import — are not a current risk. Totals replace earlier figures, so re-delivery is harmless and either
    month may arrive first.
    """
    row = await session.get(MonthlyRevenue, (account_id, period))
    if row is None:
        session.add(
            MonthlyRevenue(account_id=account_id, period=period, revenue=revenue, currency=currency, updated_at=now)
        )
    else:
        row.revenue, row.currency, row.updated_at = revenue, currency, now
    await session.flush()
    last_month = previous_period(current_period(today))
    if period in (last_month, previous_period(last_month)):
        await _sales_drop_signal(
            session, account_id=account_id, period=last_month, publisher=publisher, now=now, today=today
        )


async def _sales_drop_signal(
    session: AsyncSession, *, account_id: str, period: str, publisher: Publisher, now: datetime, today: date
) -> None:
    """Last month against the month before; two months in different currencies are compared in the base
    currency, each at its month-end rate (no signal while a rate is missing)."""
    current_row = await session.get(MonthlyRevenue, (account_id, period))
    before_row = await session.get(MonthlyRevenue, (account_id, previous_period(period)))
    if current_row is None or before_row is None:
        return
    current: Decimal | None = current_row.revenue
    before: Decimal | None = before_row.revenue
    if current_row.currency != before_row.currency:
        current = await in_base_currency(
            session, amount=current_row.revenue, currency=current_row.currency, period=period
        )
        before = await in_base_currency(
            session, amount=before_row.revenue, currency=before_row.currency, period=before_row.period
        )
        if current is None or before is None:
            log.warning("sales drop of %s for %s not computed: an FX rate is missing", account_id, period)
            return
    assert current is not None and before is not None
    drop = sales_drop_pct(before, current)
    if drop is None or drop <= 0:
        return
    await record_signal(
        session,
        account_id=account_id,
        signal_type="sales_drop",
        value=drop,
        source="event",
        source_ref=f"sales:{period}",
        title=f"{period} 销售额环比下降 {drop:f}% (revenue down {drop:f}% vs {previous_period(period)})",
        details={"period": period, "previous": str(before), "current": str(current)},
        publisher=publisher,
        now=now,
        today=today,
    )


async def refresh_concentration(session: AsyncSession, *, publisher: Publisher, now: datetime, today: date) -> int:
    """Each account's share of our revenue over the 12 completed months to the latest one (portfolio-wide).

    Run by the watch job rather than per event: a share computed while other accounts' figures are still
    arriving would overstate it. Months in other currencies count in the base currency at their month-end
    rate; while one is missing nothing is concluded (logged). Returns how many accounts were evaluated.
    """
    latest = await session.scalar(
        select(func.max(MonthlyRevenue.period)).where(MonthlyRevenue.period < current_period(today))
    )
    if latest is None:
        return 0
    totals = await _revenue_in_base(session, trailing_periods(latest, 12))
    if totals is None:
        return 0
    grand_total = sum(totals.values(), Decimal(0))
    rules = [
        parse_conditions(rule.conditions)
        for rule in (
            await session.execute(
                select(WarningRule).where(
                    WarningRule.signal_type == "revenue_concentration", WarningRule.enabled.is_(True)
                )
            )
        ).scalars()
    ]
    for account_id, total in totals.items():
        share = concentration_pct(total, grand_total)
        if share is None or not any(evaluate_conditions(conditions, share) for conditions in rules):
            continue  # only shares that some rule cares about become signals
        await record_signal(
            session,
            account_id=account_id,
            signal_type="revenue_concentration",
            value=share,
            source="job",
            source_ref=f"concentration:{latest}",
            title=f"占近12个月收入 {share:f}% (share of our revenue over the 12 months to {latest})",
            details={
                "period": latest,
                "account_revenue": str(total),
                "total_revenue": str(grand_total),
                "currency": BASE_CURRENCY,
            },
            publisher=publisher,
            now=now,
            today=today,
        )
    return len(totals)


async def _revenue_in_base(session: AsyncSession, window: list[str]) -> dict[str, Decimal] | None:
    """Each account's revenue over ``window`` in the base currency (None when some month has no rate)."""
    rows = (
        await session.execute(
            select(MonthlyRevenue.account_id, MonthlyRevenue.period, MonthlyRevenue.currency, MonthlyRevenue.revenue)
            .where(MonthlyRevenue.period.in_(window))
            .order_by(MonthlyRevenue.account_id, MonthlyRevenue.period)
        )
    ).all()
    totals: dict[str, Decimal] = {}
    for account_id, period, currency, amount in rows:
        converted = await in_base_currency(session, amount=Decimal(amount), currency=currency, period=period)
        if converted is None:
            log.warning("revenue concentration not computed: no %s rate for %s", currency, period)
            return None
        totals[account_id] = totals.get(account_id, Decimal(0)) + converted
    return totals

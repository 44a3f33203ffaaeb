"""Revenue signals: monthly totals (from goals.actuals_recorded) → sales drop; the portfolio → concentration."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.warnings.early_warning import (
    concentration_pct,
    current_period,
    evaluate_conditions,
    parse_conditions,
    previous_period,
    sales_drop_pct,
    trailing_periods,
)
from services.risk.warnings.models import MonthlyRevenue, WarningRule
from services.risk.warnings.service import record_signal
from shared.bus import Publisher


async def record_monthly_revenue(
    session: AsyncSession,
    *,
    account_id: str,
    period: str,
    revenue: Decimal,
    currency: str,
    publisher: Publisher,
    now: datetime,
) -> None:
    """Store a month's revenue total and re-derive the account's sales-drop signal.

    Only last month counts (versus the month before): the running month is a partial total, and older
    months — e.g. a history replayed by an import — are not a current risk. Totals replace earlier
    figures, so re-delivery is harmless and either month may arrive first.
    """
    row = await session.get(MonthlyRevenue, (account_id, period))
    if row is None:
        session.add(
            MonthlyRevenue(account_id=account_id, period=period, revenue=revenue, currency=currency, updated_at=now)
        )
    else:
        row.revenue, row.currency, row.updated_at = revenue, currency, now
    await session.flush()
    last_month = previous_period(current_period(now))
    if period in (last_month, previous_period(last_month)):
        await _sales_drop_signal(session, account_id=account_id, period=last_month, publisher=publisher, now=now)


async def _revenue(session: AsyncSession, account_id: str, period: str) -> Decimal | None:
    row = await session.get(MonthlyRevenue, (account_id, period))
    return row.revenue if row is not None else None


async def _sales_drop_signal(
    session: AsyncSession, *, account_id: str, period: str, publisher: Publisher, now: datetime
) -> None:
    current = await _revenue(session, account_id, period)
    before = await _revenue(session, account_id, previous_period(period))
    if current is None or before is None:
        return
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
    )


async def refresh_concentration(session: AsyncSession, *, publisher: Publisher, now: datetime) -> int:
    """Each account's share of our revenue over the 12 completed months to the latest one (portfolio-wide).

    Run by the watch job rather than per event: a share computed while other accounts' figures are still
    arriving would overstate it. Returns how many accounts were evaluated.
    """
    latest = await session.scalar(
        select(func.max(MonthlyRevenue.period)).where(MonthlyRevenue.period < current_period(now))
    )
    if latest is None:
        return 0
    window = trailing_periods(latest, 12)
    rows = (
        await session.execute(
            select(MonthlyRevenue.account_id, func.sum(MonthlyRevenue.revenue))
            .where(MonthlyRevenue.period.in_(window))
            .group_by(MonthlyRevenue.account_id)
        )
    ).all()
    grand_total = sum((Decimal(total or 0) for _, total in rows), Decimal(0))
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
    for account_id, total in rows:
        share = concentration_pct(Decimal(total or 0), grand_total)
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
            details={"period": latest, "account_revenue": str(total), "total_revenue": str(grand_total)},
            publisher=publisher,
            now=now,
        )
    return len(rows)

"""Revenue signals: monthly totals (from goals.actuals_recorded) → sales drop; the portfolio → concentration."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.fx.conversion import BASE_CURRENCY, convert
from services.risk.fx.service import rate_table
from services.risk.warnings.early_warning import (
    OPEN_ALERT_STATUSES,
    concentration_pct,
    current_period,
    evaluate_conditions,
    parse_conditions,
    period_end,
    previous_period,
    seasonal_drop,
    trailing_periods,
)
from services.risk.warnings.models import Alert, ConcentrationState, MonthlyRevenue, WarningRule
from services.risk.warnings.service import record_signal, rule_matches, settle_alerts
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
    year_before = _year_before(last_month)
    if period in (last_month, previous_period(last_month), year_before, previous_period(year_before)):
        await _sales_drop_signal(
            session, account_id=account_id, period=last_month, publisher=publisher, now=now, today=today
        )


def _year_before(period: str) -> str:
    """``2026-02`` → ``2025-02``."""
    year, month = period.split("-")
    return f"{int(year) - 1}-{month}"


async def _months_in_base(session: AsyncSession, account_id: str, periods: list[str]) -> list[Decimal | None] | None:
    """The account's revenue of each period in the base currency (None for a month without a figure); None
    altogether while a month's rate is missing (logged)."""
    amounts: list[Decimal | None] = []
    for period in periods:
        row = await session.get(MonthlyRevenue, (account_id, period))
        if row is None:
            amounts.append(None)
            continue
        amount = await in_base_currency(session, amount=row.revenue, currency=row.currency, period=period)
        if amount is None:
            log.warning("sales drop of %s for %s not computed: no %s rate", account_id, period, row.currency)
            return None
        amounts.append(amount)
    return amounts


async def _sales_drop_signal(
    session: AsyncSession, *, account_id: str, period: str, publisher: Publisher, now: datetime, today: date
) -> None:
    """Last month against the same month a year before and a seasonal baseline (``seasonal_drop``; without a
    year of history, against the month before), every month in the base currency at its month-end rate (no
    signal while a rate is missing). A base below the SALES_DROP rule's ``min_amount`` raises nothing; a drop no
    rule cares about any more proposes clearing the open sales-drop alert."""
    year_before = _year_before(period)
    months = await _months_in_base(
        session, account_id, [period, previous_period(period), year_before, previous_period(year_before)]
    )
    if months is None:
        return
    last, before, last_year, before_last_year = months
    if last is None:
        return
    drop = seasonal_drop(last, before, last_year, before_last_year)
    value = drop["value"]
    base = last_year if drop["yoy"] is not None else before
    minimum = await session.scalar(
        select(func.max(WarningRule.min_amount)).where(
            WarningRule.signal_type == "sales_drop", WarningRule.enabled.is_(True)
        )
    )
    small = minimum is not None and base is not None and base < minimum
    if value is None or value <= 0 or small:
        if base is not None:
            reason = f"{period}: no drop against a base of at least the minimum"
            await settle_alerts(
                session, account_id=account_id, signal_type="sales_drop", reason=reason, publisher=publisher, now=now
            )
        return
    if not await rule_matches(session, signal_type="sales_drop", value=value):
        reason = f"{period}: revenue down {value:f}%, under every threshold"
        await settle_alerts(
            session, account_id=account_id, signal_type="sales_drop", reason=reason, publisher=publisher, now=now
        )
    await record_signal(
        session,
        account_id=account_id,
        signal_type="sales_drop",
        value=value,
        source="event",
        source_ref=f"sales:{period}",
        title=f"{period} 销售额下降 {value:f}% (revenue down {value:f}%: "
        + ", ".join(f"{k} {v:f}%" for k, v in drop.items() if k != "value" and v is not None)
        + ")",
        details={
            "period": period,
            "previous": None if before is None else str(before),
            "current": str(last),
            "same_month_last_year": None if last_year is None else str(last_year),
            "drop_yoy_pct": None if drop["yoy"] is None else str(drop["yoy"]),
            "drop_seasonal_pct": None if drop["seasonal"] is None else str(drop["seasonal"]),
            "drop_mom_pct": None if drop["mom"] is None else str(drop["mom"]),
            "currency": BASE_CURRENCY,
        },
        publisher=publisher,
        now=now,
        today=today,
    )


async def refresh_concentration(session: AsyncSession, *, publisher: Publisher, now: datetime, today: date) -> int:
    """Each account's share of our revenue over the 12 completed months to the latest one (portfolio-wide).

    Run on every monthly total that arrives (``goals.actuals_recorded``/``voided``) and by the watch job; the
    signal of a month is keyed by the latest month, so a share corrected as other accounts' figures arrive
    replaces the earlier value (the alert's level only goes up; a share under every threshold proposes
    clearing); fewer than two accounts with revenue in the window conclude nothing. Months in other currencies
    count in the base currency at their month-end rate; while one is missing nothing is concluded (logged).
    Returns how many accounts were evaluated.
    """
    latest = await session.scalar(
        select(func.max(MonthlyRevenue.period)).where(MonthlyRevenue.period < current_period(today))
    )
    if latest is None:
        return 0
    totals = await _revenue_in_base(session, trailing_periods(latest, 12))
    if totals is None or len(totals) < 2:
        return 0  # one account that reported is no portfolio: its 100 % says nothing yet
    grand_total = sum(totals.values(), Decimal(0))
    open_alerts = set(  # only these can need clearing: settling the others is a query each that finds nothing
        await session.scalars(
            select(Alert.account_id).where(
                Alert.signal_type == "revenue_concentration", Alert.status.in_(OPEN_ALERT_STATUSES)
            )
        )
    )
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
            if account_id not in open_alerts:
                continue
            reason = f"share of our revenue to {latest} is {share}%, under every threshold"
            await settle_alerts(  # only shares some rule cares about become signals; a fallen one proposes clearing
                session,
                account_id=account_id,
                signal_type="revenue_concentration",
                reason=reason,
                publisher=publisher,
                now=now,
            )
            continue
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


async def mark_concentration_stale(session: AsyncSession, *, now: datetime) -> None:
    """A monthly total came in on a large portfolio: the shares are stale (since the first such total) until the
    concentration job evaluates them once for all of them."""
    dialect = (await session.connection()).dialect.name
    table: Table = ConcentrationState.__table__  # type: ignore[assignment]
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(id=1, stale_since=now)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.id], set_={"stale_since": func.coalesce(table.c.stale_since, now)}
        )
    )


async def refresh_stale_concentration(
    session: AsyncSession, *, publisher: Publisher, now: datetime, today: date
) -> int | None:
    """Evaluate the shares when totals came in since they last were (None: they had not). The mark is cleared
    first, holding its row: a total committed meanwhile waits, marks them again, and the next run sees it."""
    cleared = await session.execute(
        update(ConcentrationState)
        .where(ConcentrationState.id == 1, ConcentrationState.stale_since.is_not(None))
        .values(stale_since=None)
    )
    if not cleared.rowcount:  # type: ignore[attr-defined]
        return None
    return await refresh_concentration(session, publisher=publisher, now=now, today=today)


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

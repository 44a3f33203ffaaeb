"""Measured features of accounts, kept from events (actuals, complaints, credit) and engagement."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.engagement.models import Engagement
from services.scoring.features import LEVEL_RANK, period_of, summarise_actuals
from services.scoring.registry.models import Contact
from services.scoring.scores.models import AccountFeatures, ComplaintFeedback, MonthlyActual


async def features_for(session: AsyncSession, *, account_id: str, now: datetime) -> AccountFeatures:
    """The account's feature row (created empty when missing)."""
    features = await session.get(AccountFeatures, account_id)
    if features is None:
        features = AccountFeatures(
            account_id=account_id,
            annual_purchases=Decimal(0),
            annual_profit=Decimal(0),
            previous_year_purchases=Decimal(0),
            active_months=0,
            product_lines=[],
            satisfaction_count=0,
            escalations=0,
            highest_contact_level=0,
            updated_at=now,
        )
        session.add(features)
        await session.flush()
    return features


async def record_actuals(
    session: AsyncSession,
    *,
    account_id: str,
    period: str,
    revenue: Decimal,
    cost: Decimal,
    gross_profit: Decimal,
    by_product_line: Mapping[str, Decimal],
    reported_at: datetime,
) -> bool:
    """Replace one month's totals unless a later report is already stored; True if stored."""
    row = await session.get(MonthlyActual, (account_id, period))
    lines = {k: str(v) for k, v in by_product_line.items()}
    if row is None:
        session.add(
            MonthlyActual(
                account_id=account_id,
                period=period,
                revenue=revenue,
                cost=cost,
                gross_profit=gross_profit,
                by_product_line=lines,
                reported_at=reported_at,
            )
        )
    elif row.reported_at > reported_at:
        return False  # an older report arriving late must not overwrite a newer one
    else:
        row.revenue, row.cost, row.gross_profit, row.by_product_line = revenue, cost, gross_profit, lines
        row.reported_at = reported_at
    await session.flush()
    return True


async def refresh_actuals_features(session: AsyncSession, *, account_id: str, now: datetime) -> AccountFeatures:
    """Recompute purchases, profit, growth, stability and product lines from the stored months."""
    rows = (
        await session.execute(
            select(
                MonthlyActual.period, MonthlyActual.revenue, MonthlyActual.gross_profit, MonthlyActual.by_product_line
            ).where(MonthlyActual.account_id == account_id)
        )
    ).all()
    summary = summarise_actuals(((r[0], r[1], r[2], r[3] or {}) for r in rows), current_period=period_of(now))
    features = await features_for(session, account_id=account_id, now=now)
    features.annual_purchases = summary.annual_purchases
    features.annual_profit = summary.annual_profit
    features.previous_year_purchases = summary.previous_year_purchases
    features.active_months = summary.active_months
    features.product_lines = summary.product_lines
    features.updated_at = now
    await session.flush()
    return features


async def refresh_complaint_features(session: AsyncSession, *, account_id: str, now: datetime) -> None:
    """Average satisfaction of closed complaints and escalations of the last 12 months."""
    since = now - timedelta(days=365)
    satisfaction = (
        await session.execute(
            select(func.avg(ComplaintFeedback.satisfaction), func.count(ComplaintFeedback.satisfaction)).where(
                ComplaintFeedback.account_id == account_id, ComplaintFeedback.satisfaction.is_not(None)
            )
        )
    ).one()
    escalations = await session.scalar(
        select(func.coalesce(func.sum(ComplaintFeedback.escalations), 0)).where(
            ComplaintFeedback.account_id == account_id, ComplaintFeedback.last_escalated_at >= since
        )
    )
    features = await features_for(session, account_id=account_id, now=now)
    average, count = satisfaction
    features.satisfaction_avg = None if average is None else Decimal(str(average)).quantize(Decimal("0.01"))
    features.satisfaction_count = int(count or 0)
    features.escalations = int(escalations or 0)
    features.updated_at = now
    await session.flush()


async def record_complaint_closed(
    session: AsyncSession, *, account_id: str, complaint_id: str, satisfaction: int | None, closed_at: datetime
) -> None:
    """Remember the satisfaction of the latest closing of a complaint."""
    row = await session.get(ComplaintFeedback, complaint_id)
    if row is None:
        session.add(
            ComplaintFeedback(
                complaint_id=complaint_id,
                account_id=account_id,
                satisfaction=satisfaction,
                closed_at=closed_at,
                escalations=0,
            )
        )
    elif row.closed_at is None or row.closed_at <= closed_at:
        row.satisfaction, row.closed_at = satisfaction, closed_at
    await session.flush()


async def record_escalation(
    session: AsyncSession, *, account_id: str, complaint_id: str, level: int, escalated_at: datetime
) -> None:
    """Remember the highest escalation level a complaint reached (order-tolerant)."""
    row = await session.get(ComplaintFeedback, complaint_id)
    if row is None:
        session.add(
            ComplaintFeedback(
                complaint_id=complaint_id, account_id=account_id, escalations=level, last_escalated_at=escalated_at
            )
        )
    else:
        row.escalations = max(row.escalations, level)
        if row.last_escalated_at is None or row.last_escalated_at < escalated_at:
            row.last_escalated_at = escalated_at
    await session.flush()


async def record_credit_grade(
    session: AsyncSession, *, account_id: str, grade: str, assessed_at: datetime, now: datetime
) -> bool:
    """Keep the latest credit grade; True if it changed."""
    features = await features_for(session, account_id=account_id, now=now)
    if features.credit_assessed_at is not None and features.credit_assessed_at > assessed_at:
        return False
    changed = features.credit_grade != grade
    features.credit_grade, features.credit_assessed_at, features.updated_at = grade, assessed_at, now
    await session.flush()
    return changed


async def refresh_contact_level(session: AsyncSession, *, account_id: str, now: datetime) -> bool:
    """The highest level reached: by contacts on record or logged engagements (execution 1 … executive 3).

    True when it changed (only then does the score move).
    """
    levels = set((await session.execute(select(Contact.level).where(Contact.account_id == account_id))).scalars())
    levels |= set(
        (await session.execute(select(Engagement.level).where(Engagement.account_id == account_id).distinct()))
        .scalars()
        .all()
    )
    features = await features_for(session, account_id=account_id, now=now)
    highest = max((LEVEL_RANK.get(level, 0) for level in levels), default=0)
    if highest == features.highest_contact_level:
        return False
    features.highest_contact_level = highest
    features.updated_at = now
    await session.flush()
    return True

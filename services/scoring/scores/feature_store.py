"""Measured features of accounts, kept from events (actuals, complaints, surveys, credit) and engagement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.engagement.models import Engagement
from services.scoring.features import (
    LEVEL_RANK,
    WINDOW_MONTHS,
    AsOf,
    combined_satisfaction,
    month_index,
    summarise_actuals,
    survey_rating,
)
from services.scoring.registry.models import Contact
from services.scoring.scores.models import AccountFeatures, ComplaintFeedback, MonthlyActual, SurveyResult
from shared.events.catalogue import ActualsRecordedData
from shared.money import DEFAULT_CURRENCY

# The currency of the money indicators (purchases, profit): months reported in another one are not added.
SCORING_CURRENCY = DEFAULT_CURRENCY
CHUNK = 500


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
    data: ActualsRecordedData,
    reported_at: datetime,
    report_id: str,
) -> bool:
    """Replace one month's totals unless a later report is already stored; True if stored.

    "Later" is by report time, then report id: two reports of a month end the same whatever order they arrive in.
    """
    row = await session.get(MonthlyActual, (account_id, period))
    lines = {k: str(v) for k, v in data.by_product_line.items()}
    if row is None:
        row = MonthlyActual(account_id=account_id, period=period)
        session.add(row)
    elif (row.reported_at, row.report_id or "") > (reported_at, report_id):
        return False  # an older report arriving late must not overwrite a newer one
    row.revenue, row.cost, row.gross_profit = data.revenue, data.cost, data.gross_profit
    row.currency, row.by_product_line = data.currency, lines
    row.reported_at, row.report_id = reported_at, report_id
    await session.flush()
    return True


async def record_months(
    session: AsyncSession,
    *,
    account_id: str,
    months: Sequence[ActualsRecordedData],
    reported_at: datetime,
    report_id: str,
) -> int:
    """``record_actuals`` for many months of one account at once (an import's ``goals.actuals_imported``): one read
    of the stored months, each replaced unless a later report is stored; returns how many were stored."""
    periods = sorted({m.period for m in months})
    if not periods:
        return 0
    rows = await session.scalars(
        select(MonthlyActual).where(MonthlyActual.account_id == account_id, MonthlyActual.period.in_(periods))
    )
    stored = {row.period: row for row in rows}
    count = 0
    for data in months:
        row = stored.get(data.period)
        if row is None:
            row = stored[data.period] = MonthlyActual(account_id=account_id, period=data.period)
            session.add(row)
        elif (row.reported_at, row.report_id or "") > (reported_at, report_id):
            continue  # an older report arriving late must not overwrite a newer one
        row.revenue, row.cost, row.gross_profit = data.revenue, data.cost, data.gross_profit
        row.currency, row.by_product_line = data.currency, {k: str(v) for k, v in data.by_product_line.items()}
        row.reported_at, row.report_id = reported_at, report_id
        count += 1
    await session.flush()
    return count


def _windows_start_period(at: AsOf) -> str:
    """The first month the features read: the window and the 12 months before it (for growth)."""
    first = month_index(at.period) - 2 * WINDOW_MONTHS + 1
    return f"{first // 12:04d}-{first % 12 + 1:02d}"


async def _facts(
    session: AsyncSession, account_ids: Sequence[str], at: AsOf
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    months: dict[str, list[Any]] = defaultdict(list)
    feedback: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(account_ids), CHUNK):
        chunk = account_ids[start : start + CHUNK]
        for row in await session.execute(
            select(
                MonthlyActual.account_id,
                MonthlyActual.period,
                MonthlyActual.revenue,
                MonthlyActual.gross_profit,
                MonthlyActual.by_product_line,
            ).where(
                MonthlyActual.account_id.in_(chunk),
                MonthlyActual.currency == SCORING_CURRENCY,
                MonthlyActual.period >= _windows_start_period(at),
            )
        ):
            months[row[0]].append((row[1], row[2], row[3], row[4] or {}))
        for feedback_row in await session.execute(
            select(
                ComplaintFeedback.account_id,
                ComplaintFeedback.satisfaction,
                ComplaintFeedback.escalations,
                ComplaintFeedback.last_escalated_at,
            ).where(ComplaintFeedback.account_id.in_(chunk))
        ):
            feedback[feedback_row[0]].append(feedback_row[1:])
    return months, feedback


async def _survey_ratings(session: AsyncSession, account_ids: Sequence[str], at: AsOf) -> dict[str, list[Decimal]]:
    """Each account's survey answers of the 12-month window, on the satisfaction scale 1–5."""
    ratings: dict[str, list[Decimal]] = defaultdict(list)
    for start in range(0, len(account_ids), CHUNK):
        chunk = account_ids[start : start + CHUNK]
        rows = await session.execute(
            select(SurveyResult.account_id, SurveyResult.nps, SurveyResult.csat).where(
                SurveyResult.account_id.in_(chunk), SurveyResult.answered_at >= at.window_starts_at
            )
        )
        for account_id, nps, csat in rows:
            rating = survey_rating(nps, csat)
            if rating is not None:
                ratings[account_id].append(rating)
    return ratings


async def refresh_features(session: AsyncSession, *, account_ids: Sequence[str], at: AsOf) -> None:
    """Recompute every feature derived from stored facts as of ``at``: the 12-month window of actuals (purchases,
    profit, the year before, stability, product lines), satisfaction (closed complaints and the window's survey
    answers), and escalations within the window.

    Months reported in another currency than the scoring currency are kept but not added (no sum across
    currencies).
    """
    ids = list(dict.fromkeys(account_ids))
    months, feedback = await _facts(session, ids, at)
    surveys = await _survey_ratings(session, ids, at)
    loaded: dict[str, AccountFeatures] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = await session.execute(select(AccountFeatures).where(AccountFeatures.account_id.in_(chunk)))
        loaded.update((f.account_id, f) for f in rows.scalars())
    since = at.window_starts_at
    for account_id in ids:
        features = loaded.get(account_id) or await features_for(session, account_id=account_id, now=at.now)
        summary = summarise_actuals(months.get(account_id, ()), current_period=at.period)
        rows_of = feedback.get(account_id, ())
        satisfaction = combined_satisfaction((r[0] for r in rows_of if r[0] is not None), surveys.get(account_id, ()))
        features.annual_purchases = summary.annual_purchases
        features.annual_profit = summary.annual_profit
        features.previous_year_purchases = summary.previous_year_purchases
        features.active_months = summary.active_months
        features.product_lines = summary.product_lines
        features.satisfaction_avg, features.satisfaction_count = satisfaction.value, satisfaction.complaint_count
        features.complaint_satisfaction_avg = satisfaction.complaint_average
        features.survey_satisfaction_avg, features.survey_count = satisfaction.survey_average, satisfaction.survey_count
        features.escalations = sum(int(r[1] or 0) for r in rows_of if r[2] is not None and r[2] >= since)
        features.window_period = at.period
        features.updated_at = at.now
    await session.flush()


def _stale(at: AsOf) -> ColumnElement[bool]:
    return or_(AccountFeatures.window_period.is_(None), AccountFeatures.window_period != at.period)


async def refresh_stale_windows(session: AsyncSession, *, at: AsOf) -> int:
    """Move every account's windowed features to the business month of ``at`` (after a month began); returns how
    many accounts had facts to recompute. Accounts without stored facts keep their features."""
    has_facts = or_(
        exists().where(MonthlyActual.account_id == AccountFeatures.account_id),
        exists().where(ComplaintFeedback.account_id == AccountFeatures.account_id),
        exists().where(SurveyResult.account_id == AccountFeatures.account_id),
    )
    ids = list((await session.execute(select(AccountFeatures.account_id).where(_stale(at), has_facts))).scalars())
    if ids:
        await refresh_features(session, account_ids=ids, at=at)
    await session.execute(update(AccountFeatures).where(_stale(at)).values(window_period=at.period))
    return len(ids)


def _closing(closed_at: datetime, satisfaction: int | None) -> tuple[datetime, int]:
    return closed_at, -1 if satisfaction is None else satisfaction


async def record_complaint_closed(
    session: AsyncSession, *, account_id: str, complaint_id: str, satisfaction: int | None, closed_at: datetime
) -> None:
    """Remember the satisfaction of the latest closing of a complaint (ties: the higher rating, so the arrival order
    never decides)."""
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
    elif row.closed_at is None or _closing(row.closed_at, row.satisfaction) < _closing(closed_at, satisfaction):
        row.satisfaction, row.closed_at = satisfaction, closed_at
    await session.flush()


async def record_survey_answer(
    session: AsyncSession,
    *,
    account_id: str,
    survey_request_id: str,
    contact_level: str | None,
    nps: int | None,
    csat: int | None,
    answered_at: datetime,
    answered_by: str,
) -> bool:
    """Keep one answered survey (a request is answered once: a repeat changes nothing); True if new."""
    if await session.get(SurveyResult, survey_request_id) is not None:
        return False
    session.add(
        SurveyResult(
            survey_request_id=survey_request_id,
            account_id=account_id,
            contact_level=contact_level,
            nps=nps,
            csat=csat,
            answered_at=answered_at,
            answered_by=answered_by,
        )
    )
    await session.flush()
    return True


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
    """Keep the latest credit grade (ties: the worse grade, so the arrival order never decides); True if it changed."""
    features = await features_for(session, account_id=account_id, now=now)
    stored = features.credit_assessed_at
    if stored is not None and (stored, features.credit_grade or "") >= (assessed_at, grade):
        return False
    changed = features.credit_grade != grade
    features.credit_grade, features.credit_assessed_at, features.updated_at = grade, assessed_at, now
    await session.flush()
    return changed


async def refresh_contact_level(session: AsyncSession, *, account_id: str, now: datetime) -> bool:
    """The highest level reached: by active contacts or held engagements (execution 1 … executive 3) whose level a
    supervisor confirmed (contacts/level_review.py: an account manager's report counts once confirmed).

    True when it changed (only then does the score move).
    """
    contacts = select(Contact.level).where(
        Contact.account_id == account_id, Contact.retired_at.is_(None), Contact.level_review == "confirmed"
    )
    levels = set((await session.execute(contacts)).scalars())
    held = select(Engagement.level).where(
        Engagement.account_id == account_id,
        Engagement.occurred_on.is_not(None),
        Engagement.level_review == "confirmed",
    )
    levels |= set((await session.execute(held.distinct())).scalars().all())
    features = await features_for(session, account_id=account_id, now=now)
    highest = max((LEVEL_RANK.get(level, 0) for level in levels), default=0)
    if highest == features.highest_contact_level:
        return False
    features.highest_contact_level = highest
    features.updated_at = now
    await session.flush()
    return True

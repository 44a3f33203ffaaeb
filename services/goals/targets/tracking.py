"""Where targets stand: tracking from sales, at-risk, achieved and missed transitions and their events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import SalesCell, month_figures, sales_cells
from services.goals.config import GoalsSettings, calendar_of
from services.goals.forecast import (
    ADDITIVE_METRICS,
    SALES_METRICS,
    Tracking,
    is_achieved,
    is_at_risk,
    metric_actual,
    track,
)
from services.goals.models import RiskAlert
from services.goals.periods import FiscalCalendar, Period, add_months, elapsed_fractions, month_start
from services.goals.targets.models import Target
from shared.bus import Publisher
from shared.clock import business_date
from shared.events import TargetAchieved, TargetAtRisk, TargetMissed
from shared.events.catalogue import TargetAchievedData, TargetAtRiskData, TargetMissedData


def months_needed(periods: Iterable[Period]) -> set[str]:
    """Months whose sales a set of periods needs: the periods, the year before (seasonality, new business)."""
    months: set[str] = set()
    for period in periods:
        months.update(period.months)
        months.update(add_months(period.months[0], -i) for i in range(1, 13))
        months.update(add_months(m, -12) for m in period.months)
    return months


def _weights_from_last_year(figures: dict[str, object], period: Period, metric: str) -> list[Decimal] | None:
    """Last year's monthly shape, if the account bought in every month of it."""
    weights = []
    for month in period.months:
        fig = figures.get(add_months(month, -12))
        value = getattr(fig, "revenue" if metric == "revenue" else "gross_profit", None) if fig else None
        if value is None or value <= 0:
            return None
        weights.append(value)
    return weights


def track_target(
    target: Target,
    *,
    cells: Sequence[SalesCell],
    settings: GoalsSettings,
    today: date,
    children: Sequence[Target] = (),
) -> Tracking:
    """Tracking of one target from its account's sales cells (team targets and unknown periods: no actual)."""
    cal = calendar_of(settings)
    period = cal.parse(target.period)
    fractions = elapsed_fractions(period, today)
    if target.metric not in SALES_METRICS:
        return track(
            metric=target.metric,
            target_value=target.target_value,
            months=period.months,
            fractions=fractions,
            actual=target.manual_actual,
        )
    if target.account_id is None:
        return track(
            metric=target.metric,
            target_value=target.target_value,
            months=period.months,
            fractions=fractions,
            actual=None,
        )
    figures = month_figures(cells, account_id=target.account_id, product_line=target.product_line)
    history = {
        m: f
        for m, f in figures.items()
        if period.start > month_start(m) >= month_start(add_months(period.months[0], -12))
    }
    actual = metric_actual(target.metric, period.months, figures, offered_lines=settings.product_lines, history=history)
    weights = None
    if target.metric in ADDITIVE_METRICS:
        weights = _planned_weights(target, children, period, cal) or _weights_from_last_year(
            dict(figures), period, target.metric
        )
    return track(
        metric=target.metric,
        target_value=target.target_value,
        months=period.months,
        fractions=fractions,
        actual=actual,
        seasonal_weights=weights,
    )


def _planned_weights(
    target: Target, children: Sequence[Target], period: Period, cal: FiscalCalendar
) -> list[Decimal] | None:
    """Monthly weights from a non-even split of the target over periods."""
    if target.split_by != "period" or target.split_method in (None, "even") or not children:
        return None
    per_month: dict[str, Decimal] = {}
    for child in children:
        child_months = cal.parse(child.period).months
        for month in child_months:
            per_month[month] = child.target_value / len(child_months)
    if any(m not in per_month for m in period.months):
        return None
    return [per_month[m] for m in period.months]


async def red_alert_accounts(session: AsyncSession, account_ids: Iterable[str]) -> set[str]:
    """Accounts with an active red risk alert."""
    ids = sorted(set(account_ids))
    if not ids:
        return set()
    rows = await session.scalars(
        select(RiskAlert.account_id).where(
            RiskAlert.account_id.in_(ids), RiskAlert.active.is_(True), RiskAlert.level == "red"
        )
    )
    return set(rows)


async def children_of(session: AsyncSession, parent_ids: Iterable[str]) -> dict[str, list[Target]]:
    """Children of targets, by parent id."""
    ids = sorted(set(parent_ids))
    out: dict[str, list[Target]] = {}
    if not ids:
        return out
    for child in await session.scalars(select(Target).where(Target.parent_id.in_(ids))):
        out.setdefault(child.parent_id or "", []).append(child)
    return out


async def track_many(
    session: AsyncSession, targets: Sequence[Target], *, settings: GoalsSettings, today: date
) -> dict[str, Tracking]:
    """Tracking of several targets with one sales query."""
    cal = calendar_of(settings)
    periods = [cal.parse(t.period) for t in targets]
    accounts = {t.account_id for t in targets if t.account_id}
    cells = await sales_cells(session, account_ids=accounts, months=months_needed(periods)) if accounts else []
    kids = await children_of(session, [t.id for t in targets if t.split_by == "period"])
    return {
        t.id: track_target(t, cells=cells, settings=settings, today=today, children=kids.get(t.id, ())) for t in targets
    }


async def evaluate_accounts(
    session: AsyncSession,
    *,
    account_ids: Iterable[str],
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> list[Target]:
    """Re-track the approved account targets of ``account_ids``; publish at-risk, achieved and missed transitions
    (missed: once, when the period is over — the business date today is after its last day — unachieved)."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    targets = list(
        await session.scalars(
            select(Target)
            .where(Target.account_id.in_(ids), Target.scope == "account", Target.status == "approved")
            .with_for_update()  # two evaluations of one target must not both see the transition
        )
    )
    today = business_date(now, settings.zone)
    tracked = await track_many(session, targets, settings=settings, today=today)
    changed = []
    for target in targets:
        tracking = tracked[target.id]
        target.last_actual = tracking.actual
        target.last_forecast = tracking.forecast
        at_risk = is_at_risk(tracking, settings.at_risk_threshold_pct)
        achieved = is_achieved(tracking, target.target_value)
        if achieved:
            at_risk = False
        if at_risk and not target.at_risk:
            target.at_risk, target.at_risk_since = True, now
            if target.product_line is None:  # the event contract has no product line: totals only
                await _publish_at_risk(session, publisher, target, tracking, settings)
            changed.append(target)
        elif not at_risk and target.at_risk:
            target.at_risk, target.at_risk_since = False, None
            changed.append(target)
        if achieved and target.achieved_at is None:
            target.achieved_at = now
            if target.product_line is None:
                data = TargetAchievedData.model_validate({**target_data(target), "actual": tracking.actual})
                await publisher.publish(session, TargetAchieved, data, account_id=target.account_id)
            changed.append(target)
        if await _missed(session, publisher, target, tracking, settings=settings, today=today, now=now):
            changed.append(target)
    await session.flush()
    return changed


async def _missed(
    session: AsyncSession,
    publisher: Publisher,
    target: Target,
    tracking: Tracking,
    *,
    settings: GoalsSettings,
    today: date,
    now: datetime,
) -> bool:
    """Mark a target whose period is over without it achieved (``missed_at``) and publish ``goals.target_missed``
    once (totals only, like the other target events). Without an actual nothing is concluded."""
    if target.missed_at is not None or target.achieved_at is not None or tracking.actual is None:
        return False
    if today < calendar_of(settings).parse(target.period).end:
        return False
    target.missed_at = now
    if target.product_line is None:
        data = TargetMissedData.model_validate({**target_data(target), "actual": tracking.actual})
        await publisher.publish(session, TargetMissed, data, account_id=target.account_id)
    return True


async def retrack_recent_targets(
    session: AsyncSession, *, settings: GoalsSettings, publisher: Publisher, now: datetime
) -> list[Target]:
    """Re-evaluate the accounts with approved targets of this or last year (a run-rate falls without sales)."""
    recent = str(business_date(now, settings.zone).year - 1)
    account_ids = set(
        await session.scalars(
            select(Target.account_id)
            .where(Target.status == "approved", Target.account_id.is_not(None), Target.period >= recent)
            .distinct()
        )
    )
    return await evaluate_accounts(
        session, account_ids={a for a in account_ids if a}, settings=settings, publisher=publisher, now=now
    )


def target_data(target: Target) -> dict[str, object]:
    """The ``TargetData`` fields of a target's events."""
    return {
        "target_id": target.id,
        "metric": target.metric,
        "period": target.period,
        "target_value": target.target_value,
        "stretch_value": target.stretch_value,
        "owner_id": target.owner_id,
    }


async def _publish_at_risk(
    session: AsyncSession, publisher: Publisher, target: Target, tracking: Tracking, settings: GoalsSettings
) -> None:
    data = TargetAtRiskData.model_validate(
        {
            **target_data(target),
            "forecast": tracking.forecast,
            "attainment_pct": tracking.attainment_pct or Decimal(0),
            "threshold_pct": settings.at_risk_threshold_pct,
        }
    )
    await publisher.publish(session, TargetAtRisk, data, account_id=target.account_id)

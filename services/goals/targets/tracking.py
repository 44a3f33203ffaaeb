"""Where targets stand: tracking from sales, at-risk, achieved and missed transitions and their events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import SalesCell, month_figures, sales_cells
from services.goals.catalogue.service import offered_lines
from services.goals.config import GoalsSettings, calendar_of
from services.goals.forecast import (
    ADDITIVE_METRICS,
    SALES_METRICS,
    MonthFigures,
    Tracking,
    attainment_pct,
    is_achieved,
    is_at_risk,
    metric_actual,
    q2,
    track,
)
from services.goals.models import RiskAlert, platform
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


# Metrics whose figures are amounts in one currency: a team's accounts are summed only within one currency.
_AMOUNT_METRICS = frozenset({"revenue", "gross_profit", "gross_margin_pct"})


def _team_figures(
    cells: Sequence[SalesCell], *, account_ids: Iterable[str], product_line: str | None, currency: str, metric: str
) -> dict[str, MonthFigures] | None:
    """A team's figures per month: the sales of the accounts its owner owns, folded together (None when an amount
    metric would add accounts kept in different currencies)."""
    owned = set(account_ids)
    mine = [c for c in cells if c.account_id in owned]
    if metric in _AMOUNT_METRICS and any(c.currency != currency for c in mine):
        return None
    out: dict[str, MonthFigures] = {}
    for cell in mine:
        if product_line is not None and cell.product_line != product_line:
            continue
        fig = out.setdefault(cell.month, MonthFigures())
        fig.revenue += cell.revenue
        fig.cost += cell.cost
        fig.quantity += cell.quantity or Decimal(0)
        if cell.revenue > 0:
            fig.product_lines.add(cell.product_line)
            if cell.region:
                fig.regions.add(cell.region)
    return out


def track_target(
    target: Target,
    *,
    cells: Sequence[SalesCell],
    settings: GoalsSettings,
    today: date,
    children: Sequence[Target] = (),
    team_accounts: Iterable[str] = (),
    offered: Sequence[str] | None = None,
) -> Tracking:
    """Tracking of one target from its account's sales cells (a team target: the cells of the accounts its owner
    owns, ``team_accounts``; ``offered``: the product lines we offer, default the setting's). A period that has not
    started yet is forecast at plan (its target value)."""
    cal = calendar_of(settings)
    period = cal.parse(target.period)
    fractions = elapsed_fractions(period, today)

    def tracked(actual: Decimal | None, weights: list[Decimal] | None = None) -> Tracking:
        return track(
            metric=target.metric,
            target_value=target.target_value,
            months=period.months,
            fractions=fractions,
            actual=actual,
            seasonal_weights=weights,
        )

    if target.metric not in SALES_METRICS:
        return _plan_if_not_started(tracked(target.manual_actual), target, today, cal)
    if target.account_id is not None:
        figures: dict[str, MonthFigures] | None = month_figures(
            cells, account_id=target.account_id, product_line=target.product_line
        )
    else:
        figures = _team_figures(
            cells,
            account_ids=team_accounts,
            product_line=target.product_line,
            currency=target.currency,
            metric=target.metric,
        )
    if figures is None:
        return tracked(None)
    history = {
        m: f
        for m, f in figures.items()
        if period.start > month_start(m) >= month_start(add_months(period.months[0], -12))
    }
    actual = metric_actual(
        target.metric,
        period.months,
        figures,
        offered_lines=settings.product_lines if offered is None else offered,
        history=history,
    )
    weights = None
    if target.metric in ADDITIVE_METRICS:
        weights = _planned_weights(target, children, period, cal) or _weights_from_last_year(
            dict(figures), period, target.metric
        )
    return _plan_if_not_started(tracked(actual, weights), target, today, cal)


def _plan_if_not_started(tracking: Tracking, target: Target, today: date, cal: FiscalCalendar) -> Tracking:
    """An amount target whose period has not started has nothing to extrapolate: its forecast is the plan."""
    if target.metric not in ADDITIVE_METRICS or tracking.actual is None or today > cal.parse(target.period).start:
        return tracking
    return _with_forecast(tracking, target, target.target_value, "plan")


def _with_forecast(tracking: Tracking, target: Target, forecast: Decimal, method: str) -> Tracking:
    return replace(
        tracking,
        forecast=forecast,
        forecast_method=method,
        forecast_attainment_pct=attainment_pct(forecast, target.target_value),
        gap=q2(target.target_value - forecast),
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


async def accounts_of_owners(session: AsyncSession, owner_ids: Iterable[str]) -> dict[str, set[str]]:
    """The accounts each account manager owns now (the accounts projection)."""
    ids = sorted(set(owner_ids))
    out: dict[str, set[str]] = {o: set() for o in ids}
    if not ids:
        return out
    accounts = platform.accounts
    rows = await session.execute(select(accounts.c.owner_id, accounts.c.account_id).where(accounts.c.owner_id.in_(ids)))
    for owner, account in rows:
        out[owner].add(account)
    return out


async def _period_parts_below(session: AsyncSession, targets: Sequence[Target]) -> dict[str, list[Target]]:
    """Every period part below the targets split by period (all levels), by parent id."""
    out: dict[str, list[Target]] = {}
    todo = [t.id for t in targets if t.split_by == "period"]
    while todo:
        found = await children_of(session, todo)
        out.update(found)
        todo = [c.id for kids in found.values() for c in kids if c.split_by == "period"]
    return out


def _projected_total(part: Target, tracking: Tracking, today: date, cal: FiscalCalendar) -> Decimal | None:
    """What a period part is expected to end at: its actual once over, else its forecast (the plan before it
    starts, see ``_plan_if_not_started``)."""
    if today >= cal.parse(part.period).end:
        return tracking.actual
    return tracking.forecast


def _rolled_up(
    target: Target,
    tracked: dict[str, Tracking],
    parts: dict[str, list[Target]],
    today: date,
    cal: FiscalCalendar,
) -> Tracking:
    """A target split by period is forecast from its parts: Σ over the parts of (the actual if the part's period is
    over, else its actual to date plus the forecast of its rest), bottom up — so a year agrees with its quarters."""
    own = tracked[target.id]
    kids = parts.get(target.id, [])
    if target.split_by != "period" or not kids or target.metric not in ADDITIVE_METRICS or own.actual is None:
        return own
    if today >= cal.parse(target.period).end:
        return own  # over: the forecast is the actual
    totals = [_projected_total(k, _rolled_up(k, tracked, parts, today, cal), today, cal) for k in kids]
    if any(t is None for t in totals):
        return own
    return _with_forecast(own, target, q2(sum((t for t in totals if t is not None), Decimal(0))), "parts")


async def track_many(
    session: AsyncSession, targets: Sequence[Target], *, settings: GoalsSettings, today: date
) -> dict[str, Tracking]:
    """Tracking of several targets with one sales query (with the period parts below them, for the roll-up)."""
    cal = calendar_of(settings)
    parts = await _period_parts_below(session, targets)
    every = {t.id: t for t in targets} | {c.id: c for kids in parts.values() for c in kids}
    owned = await accounts_of_owners(session, {t.owner_id for t in every.values() if t.scope == "team" and t.owner_id})
    accounts = {t.account_id for t in every.values() if t.account_id} | set().union(*owned.values())
    periods = [cal.parse(t.period) for t in every.values()]
    cells = await sales_cells(session, account_ids=accounts, months=months_needed(periods)) if accounts else []
    offered = await offered_lines(session, settings)
    tracked = {
        t.id: track_target(
            t,
            cells=cells,
            settings=settings,
            today=today,
            children=parts.get(t.id, ()),
            team_accounts=owned.get(t.owner_id or "", ()) if t.scope == "team" else (),
            offered=offered,
        )
        for t in every.values()
    }
    return {t.id: _rolled_up(t, tracked, parts, today, cal) for t in targets}


async def evaluate_accounts(
    session: AsyncSession,
    *,
    account_ids: Iterable[str],
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
    owner_ids: Iterable[str] = (),
) -> list[Target]:
    """Re-track the approved targets of ``account_ids`` and the team targets of their owners (and of
    ``owner_ids``); publish at-risk, achieved and missed transitions.

    While the period runs, achieved and at-risk follow the figures both ways (a voided or lowered actual or a
    raised target turns achieved off again). Once the period is over (the business date today is after its last
    day) the target is final — achieved or missed by its period's figures, never at risk again (``_conclude``)."""
    ids = sorted(set(account_ids))
    owners = set(owner_ids)
    if ids:
        owners |= {
            o
            for o in await session.scalars(
                select(platform.accounts.c.owner_id).where(platform.accounts.c.account_id.in_(ids))
            )
            if o
        }
    if not ids and not owners:
        return []
    scope = (Target.account_id.in_(ids) & (Target.scope == "account")) if ids else None
    if owners:
        team = (Target.scope == "team") & Target.owner_id.in_(sorted(owners))
        scope = team if scope is None else scope | team
    targets = list(
        await session.scalars(
            select(Target)
            .where(scope, Target.status == "approved")  # type: ignore[arg-type]
            .order_by(Target.id)
            .with_for_update()  # two evaluations of one target must not both see the transition
        )
    )
    today = business_date(now, settings.zone)
    cal = calendar_of(settings)
    tracked = await track_many(session, targets, settings=settings, today=today)
    changed = []
    for target in targets:
        tracking = tracked[target.id]
        target.last_actual = tracking.actual
        target.last_forecast = tracking.forecast
        if await _evaluate(session, publisher, target, tracking, settings=settings, cal=cal, today=today, now=now):
            changed.append(target)
    await session.flush()
    return changed


async def _evaluate(
    session: AsyncSession,
    publisher: Publisher,
    target: Target,
    tracking: Tracking,
    *,
    settings: GoalsSettings,
    cal: FiscalCalendar,
    today: date,
    now: datetime,
) -> bool:
    """Apply one target's flags from its tracking; whether any changed."""
    over = today >= cal.parse(target.period).end
    changed = False
    if over and target.at_risk:
        target.at_risk, target.at_risk_since = False, None
        changed = True
    if over:
        return await _conclude(session, publisher, target, tracking, now) or changed
    achieved = is_achieved(tracking, target.target_value)
    at_risk = not over and not achieved and is_at_risk(tracking, settings.at_risk_threshold_pct)
    if at_risk and not target.at_risk:
        target.at_risk, target.at_risk_since = True, now
        if target.product_line is None:  # the event contract has no product line: totals only
            await _publish_at_risk(session, publisher, target, tracking, settings)
        changed = True
    elif not at_risk and target.at_risk:
        target.at_risk, target.at_risk_since = False, None
        changed = True
    if achieved and target.achieved_at is None:
        target.achieved_at = now
        if target.product_line is None:
            data = TargetAchievedData.model_validate({**target_data(target), "actual": tracking.actual})
            await publisher.publish(session, TargetAchieved, data, account_id=target.account_id)
        changed = True
    elif not achieved and target.achieved_at is not None:
        target.achieved_at = None  # the period still runs: a lower actual or a higher target takes it back
        changed = True
    return changed


async def _conclude(
    session: AsyncSession, publisher: Publisher, target: Target, tracking: Tracking, now: datetime
) -> bool:
    """A target whose period is over is final: achieved or missed, never at risk. The outcome is the period's own
    figures against the target, so sales of the period that arrive late (a back-filled history, a correction) or a
    void still settle it right; each outcome is published when it is reached (totals only, like the other target
    events), so a correction after the end publishes the corrected outcome once. Without an actual nothing is
    concluded."""
    if tracking.actual is None:
        return False
    if is_achieved(tracking, target.target_value):
        if target.achieved_at is not None:
            return False
        target.achieved_at, target.missed_at = now, None
        if target.product_line is None:
            data = TargetAchievedData.model_validate({**target_data(target), "actual": tracking.actual})
            await publisher.publish(session, TargetAchieved, data, account_id=target.account_id)
        return True
    if target.missed_at is not None:
        return False
    target.missed_at, target.achieved_at = now, None
    if target.product_line is None:
        missed = TargetMissedData.model_validate({**target_data(target), "actual": tracking.actual})
        await publisher.publish(session, TargetMissed, missed, account_id=target.account_id)
    return True


async def retrack_recent_targets(
    session: AsyncSession, *, settings: GoalsSettings, publisher: Publisher, now: datetime
) -> list[Target]:
    """Re-evaluate the accounts and teams with approved targets of this or last year (a run-rate falls without
    sales, a period ends)."""
    recent = str(business_date(now, settings.zone).year - 1)
    account_ids = set(
        await session.scalars(
            select(Target.account_id)
            .where(Target.status == "approved", Target.account_id.is_not(None), Target.period >= recent)
            .distinct()
        )
    )
    owner_ids = set(
        await session.scalars(
            select(Target.owner_id)
            .where(Target.status == "approved", Target.scope == "team", Target.period >= recent)
            .distinct()
        )
    )
    return await evaluate_accounts(
        session,
        account_ids={a for a in account_ids if a},
        owner_ids={o for o in owner_ids if o},
        settings=settings,
        publisher=publisher,
        now=now,
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

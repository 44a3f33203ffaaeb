"""Live scorecards: per account manager, attainment against the period's own (decomposed) targets, complaint SLA
and satisfaction, shortfalls at risk (each once), action-plan completion and the supervisor's ratings, weighted
by the scheme of the person's role."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.models import ActionItem
from services.goals.actuals.figures import sales_by_account
from services.goals.config import GoalsSettings, calendar_of
from services.goals.currencies.service import reporting_currencies
from services.goals.forecast import ADDITIVE_METRICS, attainment_pct, q2
from services.goals.models import ComplaintFact, platform
from services.goals.periods import FiscalCalendar, Period
from services.goals.scorecard import Component, ScorecardInputs, component_scores, kpi_score
from services.goals.scorecards.models import ScorecardRating
from services.goals.targets.models import Target
from shared.clock import business_date, start_of_business_day
from shared.money import one_currency


@dataclass(frozen=True)
class Figures:
    """What every scorecard of a period is computed from."""

    period: Period
    targets: list[Target]  # approved, of the period and the periods inside it
    revenue: dict[str, Decimal]
    profit: dict[str, Decimal]
    currencies: dict[str, str]  # account → reporting currency
    facts: list[ComplaintFact]
    items: list[ActionItem]  # due in the period, not cancelled
    ratings: dict[str, dict[str, ScorecardRating]]  # person → component → rating
    start: datetime
    end: datetime
    today: date


def inner_periods(period: Period, cal: FiscalCalendar) -> set[str]:
    """The period and the periods inside it (a year: its quarters and months; a quarter: its months)."""
    return {period.text} | {cal.quarter_of(m) for m in period.months if period.kind == "year"} | set(period.months)


async def gather(
    session: AsyncSession, *, period: Period, book: dict[str, list[str]], settings: GoalsSettings, today: date
) -> Figures:
    """Sales, targets, complaints, action items and ratings of the people in ``book`` over ``period``."""
    cal = calendar_of(settings)
    all_ids = [a for ids in book.values() for a in ids]
    currencies = await reporting_currencies(session, all_ids, settings=settings)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    profit: dict[str, Decimal] = defaultdict(Decimal)
    for sales in await sales_by_account(session, account_ids=all_ids, months=period.months):
        one_currency([currencies[sales.account_id], sales.currency])
        revenue[sales.account_id] += sales.revenue
        profit[sales.account_id] += sales.revenue - sales.cost
    targets = list(
        await session.scalars(
            select(Target).where(
                Target.status == "approved",
                Target.period.in_(sorted(inner_periods(period, cal))),
                Target.account_id.in_(all_ids) | ((Target.scope == "team") & Target.owner_id.in_(sorted(book))),
            )
        )
    )
    start = start_of_business_day(period.start, settings.zone)
    end = start_of_business_day(period.end, settings.zone)
    facts = list(await session.scalars(select(ComplaintFact).where(ComplaintFact.account_id.in_(all_ids))))
    items = list(
        await session.scalars(
            select(ActionItem).where(
                ActionItem.owner_id.in_(sorted(book)),
                ActionItem.due_date >= period.start,
                ActionItem.due_date < period.end,
                ActionItem.status != "cancelled",
            )
        )
    )
    ratings: dict[str, dict[str, ScorecardRating]] = defaultdict(dict)
    for rating in await session.scalars(
        select(ScorecardRating).where(
            ScorecardRating.person_id.in_(sorted(book)), ScorecardRating.period == period.text
        )
    ):
        ratings[rating.person_id][rating.component] = rating
    return Figures(period, targets, revenue, profit, currencies, facts, items, ratings, start, end, today)


def period_target(
    targets: list[Target], keep: Callable[[Target], bool], period: Period, cal: FiscalCalendar
) -> Decimal | None:
    """The target of ``period`` among ``targets`` that ``keep`` selects: the one set for the period itself (a part
    of a longer target's split, or its own), else the parts of every sub-period added up (never a longer target
    pro rata); None when the period has no target of its own."""
    mine = [t for t in targets if keep(t) and t.product_line is None]
    exact = [t.target_value for t in mine if t.period == period.text]
    if exact:
        return sum(exact, Decimal(0))
    for into in ("quarters", "months"):
        if period.kind == "month" or (into == "quarters" and period.kind != "year"):
            continue
        parts = [[t.target_value for t in mine if t.period == sub.text] for sub in cal.children(period, into)]
        if all(parts):
            return sum((v for values in parts for v in values), Decimal(0))
    return None


def team_target(figures: Figures, owner: str, ids: set[str], metric: str, cal: FiscalCalendar) -> Decimal | None:
    """The owner's explicit team target of the period for ``metric``, else their accounts' period targets summed."""
    period = figures.period

    def team(t: Target) -> bool:
        return t.scope == "team" and t.owner_id == owner and t.metric == metric

    explicit = period_target(figures.targets, team, period, cal)
    if explicit is not None:
        return explicit
    by_account: dict[str, list[Target]] = defaultdict(list)
    for t in figures.targets:
        if t.scope == "account" and t.account_id in ids and t.metric == metric:
            by_account[t.account_id].append(t)
    values = [period_target(by_account[a], lambda t: True, period, cal) for a in sorted(by_account)]
    found = [v for v in values if v is not None]
    return sum(found, Decimal(0)) if found else None


def shortfalls(targets: list[Target], ids: set[str], *, today: date, cal: FiscalCalendar) -> int | None:
    """How many goals of the person's accounts fall short — at risk while their period runs, below target once it
    is over — each once however many levels of its tree (year, quarter, month, product line) fall short; None when
    they have no approved target in the period."""
    mine = {t.id: t for t in targets if t.scope == "account" and t.account_id in ids}
    if not mine:
        return None

    def short(t: Target) -> bool:
        if cal.parse(t.period).end > today:
            return t.at_risk
        return t.last_actual is not None and t.last_actual < t.target_value

    roots = set()
    for target in mine.values():
        if not short(target):
            continue
        top = target
        while top.parent_id is not None and top.parent_id in mine:
            top = mine[top.parent_id]
        roots.add(top.id)
    return len(roots)


def action_completion(items: list[ActionItem], owner: str, settings: GoalsSettings) -> tuple[int, int]:
    """The person's action items due in the period, and how many were done on time (by their due date)."""
    due = [i for i in items if i.owner_id == owner]
    on_time = [
        i
        for i in due
        if i.status == "done"
        and i.completed_at is not None
        and business_date(i.completed_at, settings.zone) <= i.due_date
    ]
    return len(due), len(on_time)


def book_currency(owner: str, ids: set[str], figures: Figures) -> str | None:
    """The one currency an account manager's money figures are in (422 naming currency for a mixed book)."""
    amounts = [
        t.currency
        for t in figures.targets
        if t.metric in ADDITIVE_METRICS and (t.account_id in ids or (t.scope == "team" and t.owner_id == owner))
    ]
    return one_currency([*(figures.currencies[a] for a in ids), *amounts], field="currency")


def scorecard_for(
    owner: str, ids: set[str], figures: Figures, *, role: str, components: list[Component], settings: GoalsSettings
) -> dict[str, Any]:
    """One person's live scorecard (as the ScorecardRead fields)."""
    cal = calendar_of(settings)
    currency = book_currency(owner, ids, figures)
    revenue_target = team_target(figures, owner, ids, "revenue", cal)
    margin_target = team_target(figures, owner, ids, "gross_profit", cal)
    revenue_actual = sum((figures.revenue[a] for a in ids), Decimal(0))
    margin_actual = sum((figures.profit[a] for a in ids), Decimal(0))
    start, end = figures.start, figures.end
    mine = [f for f in figures.facts if f.account_id in ids]
    acknowledged = [f for f in mine if f.acknowledged_at is not None and start <= f.acknowledged_at < end]
    within = [f for f in acknowledged if f.within_sla]
    rated = [f for f in mine if f.satisfaction is not None and f.closed_at and start <= f.closed_at < end]
    at_risk = shortfalls(figures.targets, ids, today=figures.today, cal=cal)
    due, on_time = action_completion(figures.items, owner, settings)
    ratings = figures.ratings.get(owner, {})
    inputs = ScorecardInputs(
        revenue_attainment_pct=attainment_pct(revenue_actual, revenue_target) if revenue_target else None,
        margin_attainment_pct=attainment_pct(margin_actual, margin_target) if margin_target else None,
        sla_compliance_pct=q2(Decimal(len(within)) / Decimal(len(acknowledged)) * 100) if acknowledged else None,
        satisfaction_avg=q2(Decimal(sum(f.satisfaction or 0 for f in rated)) / Decimal(len(rated))) if rated else None,
        at_risk_targets=at_risk,
        action_plan_completion_pct=q2(Decimal(on_time) / Decimal(due) * 100) if due else None,
        ratings={
            k: r.score for k, r in ratings.items() if any(c.key == k and c.kind == "qualitative" for c in components)
        },
    )
    scores = component_scores(inputs, at_risk_penalty_points=settings.at_risk_penalty_points)
    total, breakdown = kpi_score(scores, components)
    return {
        "owner_id": owner,
        "period": figures.period.text,
        "role": role,
        "status": "live",
        "card_version": None,
        "signed_by": None,
        "signed_at": None,
        "note": None,
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
        "action_items_due": due,
        "action_items_done_on_time": on_time,
        "kpi_score": total,
        "no_data_components": [b.component for b in breakdown if not b.has_data],
        "breakdown": [
            {**b.__dict__, "comment": ratings[b.component].comment if b.component in ratings else None}
            for b in breakdown
        ],
    }


async def book_of_owners(session: AsyncSession, *, owners: list[str] | None, only: str | None) -> dict[str, list[str]]:
    """The accounts of each account manager (``only``: just that one; ``owners``: just those)."""
    accounts = platform.accounts
    query = select(accounts.c.account_id, accounts.c.owner_id).where(accounts.c.owner_id.is_not(None))
    if only is not None:
        query = query.where(accounts.c.owner_id == only)
    if owners is not None:
        query = query.where(accounts.c.owner_id.in_(owners))
    book: dict[str, list[str]] = defaultdict(list)
    for account_id, owner in await session.execute(query):
        book[owner].append(account_id)
    return book

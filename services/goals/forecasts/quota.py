"""What a forecast is shown against: the person's quota (their decomposed revenue targets of the period, found as
the scorecards find them) and the system's run-rate and seasonal forecasts of their book's sales."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import SalesCell, sales_cells
from services.goals.config import GoalsSettings, calendar_of
from services.goals.currencies.service import reporting_currencies
from services.goals.forecast import track
from services.goals.periods import FiscalCalendar, Period, add_months, elapsed_fractions
from services.goals.scorecards.cards import inner_periods, period_target
from services.goals.targets.models import Target
from services.goals.targets.tracking import accounts_of_owners
from shared.money import one_currency

METRIC = "revenue"  # forecasts are of revenue, as a sales team calls them


@dataclass(frozen=True)
class Standing:
    """A person's quota and the system's forecasts for a period, each in ``currency`` (None: not known, or the
    person's figures are kept in several currencies and cannot be added)."""

    currency: str | None  # the one reporting currency of the person's book
    quota: Decimal | None
    quota_currency: str | None
    actual_to_date: Decimal | None
    run_rate_forecast: Decimal | None
    seasonal_forecast: Decimal | None


async def book_currency(session: AsyncSession, *, owner_id: str, settings: GoalsSettings) -> str:
    """The currency a person forecasts in: the one reporting currency of the accounts they own (the goals
    setting's when they own none); a book in several currencies is a 422 naming ``currency``."""
    ids = (await accounts_of_owners(session, [owner_id]))[owner_id]
    currencies = await reporting_currencies(session, ids, settings=settings)
    return one_currency(currencies.values(), field="currency") or settings.reporting_currency


def quota_of(
    targets: list[Target], owner: str, ids: set[str], period: Period, cal: FiscalCalendar
) -> tuple[Decimal | None, str | None]:
    """The person's revenue quota of the period and its currency: their explicit team target of the period, else
    their accounts' period targets summed (as the scorecards' revenue target); None when there is none or the
    targets are kept in several currencies."""

    def team(t: Target) -> bool:
        return t.scope == "team" and t.owner_id == owner

    explicit = period_target([t for t in targets if team(t)], lambda t: True, period, cal)
    if explicit is not None:
        used = [t for t in targets if team(t)]
    else:
        used = [t for t in targets if t.scope == "account" and t.account_id in ids]
    currencies = {t.currency for t in used}
    if len(currencies) != 1:
        return None, None
    if explicit is not None:
        return explicit, currencies.pop()
    by_account: dict[str, list[Target]] = defaultdict(list)
    for t in used:
        by_account[t.account_id or ""].append(t)
    values = [period_target(by_account[a], lambda t: True, period, cal) for a in sorted(by_account)]
    found = [v for v in values if v is not None]
    return (sum(found, Decimal(0)), currencies.pop()) if found else (None, None)


async def _period_targets(
    session: AsyncSession, period: Period, cal: FiscalCalendar, *, owners: set[str], accounts: set[str]
) -> list[Target]:
    """Approved revenue targets of the period and the periods inside it: the accounts' and the owners' team ones."""
    scope = (Target.scope == "team") & Target.owner_id.in_(sorted(owners))
    if accounts:
        scope = scope | ((Target.scope == "account") & Target.account_id.in_(sorted(accounts)))
    rows = await session.scalars(
        select(Target).where(
            Target.status == "approved",
            Target.metric == METRIC,
            Target.period.in_(sorted(inner_periods(period, cal))),
            scope,
        )
    )
    return list(rows)


def _monthly_revenue(cells: Iterable[SalesCell], ids: set[str]) -> tuple[dict[str, Decimal], set[str]]:
    """The book's revenue per month and the currencies it is kept in."""
    monthly: dict[str, Decimal] = defaultdict(Decimal)
    currencies = set()
    for cell in cells:
        if cell.account_id in ids:
            monthly[cell.month] += cell.revenue
            currencies.add(cell.currency)
    return monthly, currencies


def system_forecasts(
    monthly: dict[str, Decimal], period: Period, *, quota: Decimal | None, today: date
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """Actual to date, run-rate and seasonal forecast of the book's revenue (``forecast.track``: the seasonal shape
    is last year's months of the book, when it sold in every one of them)."""
    last_year = [monthly.get(add_months(m, -12), Decimal(0)) for m in period.months]
    tracking = track(
        metric=METRIC,
        target_value=quota or Decimal(0),
        months=period.months,
        fractions=elapsed_fractions(period, today),
        actual=sum((monthly.get(m, Decimal(0)) for m in period.months), Decimal(0)),
        seasonal_weights=last_year if all(w > 0 for w in last_year) else None,
    )
    return tracking.actual or Decimal(0), tracking.run_rate_forecast, tracking.seasonal_forecast


async def standings(
    session: AsyncSession, *, keys: Iterable[tuple[str, str]], settings: GoalsSettings, today: date
) -> dict[tuple[str, str], Standing]:
    """The standing of each (person, period): one query for the books, one for the sales, one per period for the
    targets."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    cal = calendar_of(settings)
    owners = {o for o, _ in wanted}
    books = await accounts_of_owners(session, owners)
    accounts = set().union(*books.values())
    currencies = await reporting_currencies(session, accounts, settings=settings)
    periods = {p: cal.parse(p) for p in {p for _, p in wanted}}
    months = {add_months(m, k) for period in periods.values() for m in period.months for k in (0, -12)}
    cells = await sales_cells(session, account_ids=accounts, months=months) if accounts else []
    targets = {p: await _period_targets(session, periods[p], cal, owners=owners, accounts=accounts) for p in periods}
    out = {}
    for owner, text in wanted:
        ids, period = books.get(owner, set()), periods[text]
        book = {currencies[a] for a in ids} or {settings.reporting_currency}
        quota, quota_currency = quota_of(targets[text], owner, ids, period, cal)
        monthly, sold_in = _monthly_revenue(cells, ids)
        if len(book) > 1 or not sold_in <= book:
            out[(owner, text)] = Standing(None, quota, quota_currency, None, None, None)
            continue
        actual, run_rate, seasonal = system_forecasts(monthly, period, quota=quota, today=today)
        out[(owner, text)] = Standing(next(iter(book)), quota, quota_currency, actual, run_rate, seasonal)
    return out

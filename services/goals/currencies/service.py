"""Currencies: each account's reporting currency, the FX rate projection and the rate books conversions use
(keyword-only, flush only)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.models import SalesRecord
from services.goals.config import GoalsSettings
from services.goals.currencies.models import AccountCurrency, FxRate
from services.goals.currencies.schemas import ReportingCurrencyRead, ReportingCurrencySet
from services.goals.fx import Pair, Rate, RateBook
from services.goals.targets.models import Target
from shared.api import PageParams
from shared.auth import ADMIN, SUPERVISOR, Principal
from shared.clock import ensure_aware
from shared.errors import Conflict, Forbidden
from shared.events import FxRateSetData
from shared.money import CURRENCY_CODES

log = logging.getLogger("kam.goals.fx")
CURRENCY_SETTERS = frozenset({ADMIN, SUPERVISOR})
# The rate column keeps 12 digits before the point and 12 after.
MAX_RATE = Decimal(10) ** 12


async def reporting_currencies(
    session: AsyncSession, account_ids: Iterable[str], *, settings: GoalsSettings
) -> dict[str, str]:
    """The reporting currency of each account (its own if set, else the goals setting), in one query."""
    ids = sorted(set(account_ids))
    currencies = dict.fromkeys(ids, settings.reporting_currency)
    if ids:
        rows = await session.execute(
            select(AccountCurrency.account_id, AccountCurrency.currency).where(AccountCurrency.account_id.in_(ids))
        )
        currencies.update({account_id: currency for account_id, currency in rows})
    return currencies


async def reporting_currency_of(session: AsyncSession, account_id: str | None, *, settings: GoalsSettings) -> str:
    """One account's reporting currency; team targets (no account) report in the goals setting's."""
    if account_id is None:
        return settings.reporting_currency
    return (await reporting_currencies(session, [account_id], settings=settings))[account_id]


async def reporting_currency_read(
    session: AsyncSession, *, account_id: str, settings: GoalsSettings
) -> ReportingCurrencyRead:
    """An account's reporting currency as the API shows it."""
    own = await session.get(AccountCurrency, account_id)
    if own is None:
        return ReportingCurrencyRead(account_id=account_id, currency=settings.reporting_currency, source="setting")
    return ReportingCurrencyRead(
        account_id=account_id, currency=own.currency, source="account", set_by=own.set_by, set_at=own.set_at
    )


async def set_reporting_currency(
    session: AsyncSession,
    *,
    account_id: str,
    body: ReportingCurrencySet,
    actor: Principal,
    settings: GoalsSettings,
    now: datetime,
) -> ReportingCurrencyRead:
    """Set the currency an account reports in (supervisor or admin); refused (409) once it has figures, since
    stored figures are never re-converted."""
    if not actor.has_any(CURRENCY_SETTERS):
        raise Forbidden("only a supervisor or an admin sets an account's reporting currency")
    current = await reporting_currency_of(session, account_id, settings=settings)
    if body.currency != current:
        targets = await session.scalar(select(func.count()).select_from(Target).where(Target.account_id == account_id))
        sales = await session.scalar(
            select(func.count()).select_from(SalesRecord).where(SalesRecord.account_id == account_id)
        )
        if targets or sales:
            raise Conflict(
                f"the account already has figures in {current} ({targets or 0} targets, {sales or 0} sales lines); "
                "its reporting currency can only change while it has none",
                currency=current,
            )
    own = await session.get(AccountCurrency, account_id)
    if body.currency == settings.reporting_currency:
        if own is not None:
            await session.delete(own)
    elif own is None:
        session.add(AccountCurrency(account_id=account_id, currency=body.currency, set_by=actor.user_id, set_at=now))
    else:
        own.currency, own.set_by, own.set_at = body.currency, actor.user_id, now
    await session.flush()
    return await reporting_currency_read(session, account_id=account_id, settings=settings)


async def load_rates(session: AsyncSession, book: RateBook, pairs: Iterable[Pair]) -> None:
    """Load the dated rates of the pairs the book does not hold yet, with one query."""
    missing = sorted({p for p in pairs if not book.has(p)})
    if not missing:
        return
    rows = await session.scalars(
        select(FxRate).where(or_(*(and_(FxRate.currency == c, FxRate.base_currency == b) for c, b in missing)))
    )
    found: dict[Pair, list[Rate]] = {p: [] for p in missing}
    for row in rows:
        rate = Decimal(str(row.rate)).normalize()  # without the column's trailing zeros
        found[(row.currency, row.base_currency)].append(Rate(row.currency, row.base_currency, rate, row.valid_on))
    for pair, rates in found.items():
        book.add(pair, rates)


async def rate_book(session: AsyncSession, pairs: Iterable[Pair]) -> RateBook:
    """A rate book holding the given pairs."""
    book = RateBook()
    await load_rates(session, book, pairs)
    return book


async def apply_fx_rate(session: AsyncSession, *, data: FxRateSetData, event_time: datetime) -> bool:
    """Keep a published rate unless a newer event for the same pair and day was applied already."""
    if data.currency == data.base_currency or not {data.currency, data.base_currency} <= CURRENCY_CODES:
        log.warning("ignoring an FX rate that is not between two ISO 4217 currencies", extra=data.model_dump())
        return False
    if data.rate >= MAX_RATE:
        log.warning("ignoring an FX rate too large to keep", extra=data.model_dump())
        return False
    when = ensure_aware(event_time)
    row = await session.get(FxRate, (data.currency, data.base_currency, data.valid_on))
    if row is None:
        session.add(
            FxRate(
                currency=data.currency,
                base_currency=data.base_currency,
                valid_on=data.valid_on,
                rate=data.rate,
                event_time=when,
            )
        )
    elif when >= ensure_aware(row.event_time):
        row.rate, row.event_time = data.rate, when
    else:
        return False
    await session.flush()
    return True


async def list_rates(
    session: AsyncSession, *, currency: str | None, base_currency: str | None, page: PageParams
) -> tuple[list[FxRate], int]:
    """The projected rates (newest first), optionally of one currency or base."""
    query = select(FxRate)
    if currency is not None:
        query = query.where(FxRate.currency == currency)
    if base_currency is not None:
        query = query.where(FxRate.base_currency == base_currency)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(FxRate.valid_on.desc(), FxRate.currency, FxRate.base_currency)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(rows), int(total or 0)

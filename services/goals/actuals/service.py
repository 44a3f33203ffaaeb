"""Actuals: recording sales lines, publishing the touched account-months, monthly totals (flush only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.account_codes import resolve_codes
from services.goals.actuals.aggregates import apply_line_deltas
from services.goals.actuals.conversion import CONVERSION_COLUMNS, convert_line, foreign_pair
from services.goals.actuals.figures import sales_cells, totals_by_account_month
from services.goals.actuals.models import SalesAggregate, SalesRecord
from services.goals.actuals.schemas import (
    ActualsIn,
    ActualsRecordedRead,
    ConvertedLineRead,
    CurrencyAmount,
    MonthTotals,
    SalesRecordIn,
    UnknownLineFlag,
    UnknownProductLineRead,
)
from services.goals.catalogue.service import known_lines
from services.goals.config import GoalsSettings
from services.goals.currencies.schemas import ConversionRead
from services.goals.currencies.service import rate_book, reporting_currencies
from services.goals.models import platform
from services.goals.periods import add_months
from services.goals.targets.tracking import evaluate_accounts
from shared.api import check_range
from shared.auth import Principal, ensure_account_access, require_writer, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Unprocessable
from shared.events import ActualsRecorded
from shared.events.catalogue import ActualsRecordedData


async def publish_account_months(
    session: AsyncSession, *, pairs: set[tuple[str, str]], publisher: Publisher, batch_id: str | None = None
) -> list[dict[str, Any]]:
    """Publish ``goals.actuals_recorded`` once per touched (account, month) with its new totals."""
    if not pairs:
        return []
    cells = await sales_cells(session, account_ids={a for a, _ in pairs}, months={m for _, m in pairs})
    totals = totals_by_account_month(cells)
    published = []
    events: list[tuple[str | None, ActualsRecordedData]] = []
    for account_id, month in sorted(pairs):
        entry = totals.get((account_id, month))
        if entry is None:
            continue
        data = ActualsRecordedData(
            period=month,
            revenue=entry["revenue"],
            cost=entry["cost"],
            gross_profit=entry["gross_profit"],
            quantity=entry["quantity"],
            by_product_line=entry["by_product_line"],
            currency=entry["currency"],
            batch_id=batch_id,
        )
        events.append((account_id, data))
        published.append({"account_id": account_id, "period": month, **entry})
    await publisher.publish_many(session, ActualsRecorded, events)
    return published


def _line(record: SalesRecordIn, reporting: str) -> dict[str, Any]:
    """A sales line as stored; ``original_currency`` is set when it was given in another currency."""
    row: dict[str, Any] = {
        "account_id": record.account_id,
        "sale_date": record.date,
        "month": f"{record.date.year:04d}-{record.date.month:02d}",
        "product_line": record.product_line,
        "region": record.region,
        "quantity": record.quantity,
        "revenue": record.revenue,
        "cost": record.cost,
        "currency": reporting,
        "batch_id": None,
        "line_no": None,
    }
    row.update(dict.fromkeys(CONVERSION_COLUMNS))
    if record.currency is not None and record.currency != reporting:
        row["original_currency"] = record.currency
    return row


async def sales_lines(
    session: AsyncSession, *, records: Sequence[SalesRecordIn], settings: GoalsSettings
) -> tuple[list[dict[str, Any]], list[ConvertedLineRead]]:
    """The lines in their accounts' reporting currencies (one query for the currencies, one for the rates);
    a line in a currency without a rate on or before its date is a 422 naming ``records.<n>.currency``."""
    currencies = await reporting_currencies(session, {r.account_id for r in records}, settings=settings)
    rows = [_line(r, currencies[r.account_id]) for r in records]
    book = await rate_book(session, {foreign_pair(r) for r in rows if r["original_currency"]})
    converted = []
    for index, row in enumerate(rows):
        if row["original_currency"] is None:
            continue
        try:
            rate = convert_line(row, book)
        except ValueError as exc:
            field = f"records.{index}.currency"
            raise Unprocessable(f"{field}: {exc}", field=field, currency=row["original_currency"]) from exc
        conversion = ConversionRead(
            from_currency=rate.currency, to_currency=rate.base_currency, rate=rate.rate, rate_valid_on=rate.valid_on
        )
        line = {**row, "index": index, "date": row["sale_date"], "conversion": conversion}
        converted.append(ConvertedLineRead.model_validate(line))
    return rows, converted


async def record_actuals(
    session: AsyncSession,
    *,
    body: ActualsIn,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> ActualsRecordedRead:
    """Record sales lines of accounts the actor may change, publish per account-month, re-track their targets."""
    require_writer(actor)
    # An ERP code or a credit code names its account (actuals/account_codes.py); ids and unknown keys stay as given.
    codes = await resolve_codes(session, {r.account_id for r in body.records})
    records = [
        r.model_copy(update={"account_id": codes[r.account_id]}) if r.account_id in codes else r for r in body.records
    ]
    for account_id in sorted({r.account_id for r in records}):
        await ensure_account_access(session, platform, actor, account_id, write=True)
    rows, converted = await sales_lines(session, records=records, settings=settings)
    await session.execute(insert(SalesRecord), rows)
    await apply_line_deltas(session, rows)
    pairs = {(str(r["account_id"]), str(r["month"])) for r in rows}
    published = await publish_account_months(session, pairs=pairs, publisher=publisher)
    await evaluate_accounts(session, account_ids={a for a, _ in pairs}, settings=settings, publisher=publisher, now=now)
    known = await known_lines(session, settings)
    unknown = [
        UnknownLineFlag(index=i, account_id=r.account_id, product_line=r.product_line)
        for i, r in enumerate(records)
        if r.product_line not in known
    ]
    return ActualsRecordedRead(
        recorded=len(rows),
        account_months=[MonthTotals.model_validate(p) for p in published],
        converted=converted,
        unknown_product_line=bool(unknown),
        unknown_product_lines=unknown,
    )


async def unknown_product_lines(
    session: AsyncSession, *, actor: Principal, settings: GoalsSettings
) -> list[UnknownProductLineRead]:
    """Product lines of the visible sales (from the pre-aggregated sums) that the catalogue does not know, with
    how many accounts and sales lines carry them, the months they span and their revenue per currency."""
    known = await known_lines(session, settings)
    agg = SalesAggregate
    rows = await session.execute(
        select(
            agg.product_line,
            agg.currency,
            func.count(func.distinct(agg.account_id)),
            func.sum(agg.line_count),
            func.min(agg.month),
            func.max(agg.month),
            func.sum(agg.revenue),
        )
        .where(
            agg.line_count > 0, agg.product_line.not_in(known), visible_accounts_clause(platform, actor, agg.account_id)
        )
        .group_by(agg.product_line, agg.currency)
        .order_by(agg.product_line, agg.currency)
    )
    out: dict[str, UnknownProductLineRead] = {}
    for line, currency, accounts, lines, first, last, revenue in rows:
        entry = out.setdefault(
            line,
            UnknownProductLineRead(
                product_line=line, accounts=0, sales_lines=0, first_month=first, last_month=last, revenue=[]
            ),
        )
        entry.accounts += int(accounts)  # an account reports in one currency: the counts do not overlap
        entry.sales_lines += int(lines or 0)
        entry.first_month, entry.last_month = min(entry.first_month, first), max(entry.last_month, last)
        entry.revenue.append(CurrencyAmount(currency=currency, amount=revenue))
    return list(out.values())


async def account_month_totals(
    session: AsyncSession, *, account_id: str, from_month: str | None, to_month: str | None, today: date
) -> list[MonthTotals]:
    """An account's totals per month from ``from_month`` to ``to_month`` (default: the 12 months to today)."""
    end = to_month or f"{today.year:04d}-{today.month:02d}"
    start = from_month or add_months(end, -11)
    check_range(start, end)
    months: list[str] = []
    m = start
    while m <= end and len(months) < 240:
        months.append(m)
        m = add_months(m, 1)
    totals = totals_by_account_month(await sales_cells(session, account_ids=[account_id], months=months))
    return [
        MonthTotals.model_validate({"account_id": a, "period": month, **entry})
        for (a, month), entry in sorted(totals.items())
    ]

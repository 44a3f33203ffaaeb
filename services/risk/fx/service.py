"""FX domain: the rate in force on a day, converters for the figures that add amounts, and rate maintenance
(one rate, a JSON batch or a CSV file; all or nothing; every change audited and published as risk.fx_rate_set)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.fx.conversion import BASE_CURRENCY, Converter, Quote, RateTable
from services.risk.fx.models import FxRate, FxRateChange
from services.risk.fx.schemas import FxRateRow
from services.risk.paging import paged
from shared.api import PageParams
from shared.auth import Principal
from shared.bus import Publisher
from shared.errors import Unprocessable
from shared.events import FxRateSet, FxRateSetData

CSV_COLUMNS = ("currency", "valid_on", "rate")
MAX_CSV_ROWS = 5000
MAX_REPORTED_ERRORS = 20


# ---------------------------------------------------------------- the rates in force


async def rate_table(session: AsyncSession, *, currencies: Iterable[str], day: date) -> RateTable:
    """The latest rate on or before ``day`` of each of ``currencies`` (the base needs none)."""
    wanted = sorted(set(currencies) - {BASE_CURRENCY})
    if not wanted:
        return RateTable(day=day, quotes={})
    latest = (
        select(FxRate.currency, func.max(FxRate.valid_on).label("valid_on"))
        .where(FxRate.base_currency == BASE_CURRENCY, FxRate.currency.in_(wanted), FxRate.valid_on <= day)
        .group_by(FxRate.currency)
        .subquery()
    )
    rows = await session.execute(
        select(FxRate)
        .join(latest, and_(FxRate.currency == latest.c.currency, FxRate.valid_on == latest.c.valid_on))
        .where(FxRate.base_currency == BASE_CURRENCY)
    )
    quotes = {r.currency: Quote(r.currency, r.rate, r.valid_on) for r in rows.scalars()}
    return RateTable(day=day, quotes=quotes)


async def converter_for(
    session: AsyncSession, *, target: str, currencies: Iterable[str], day: date, field: str = "currency"
) -> Converter:
    """A converter into ``target`` at the rates in force on ``day``; 422 naming any currency without a rate."""
    wanted = set(currencies)
    table = await rate_table(session, currencies=wanted | {target}, day=day)
    table.require(wanted, target, field=field)
    return Converter(table=table, target=target)


async def rate_in_force(session: AsyncSession, *, currency: str, on: date) -> FxRate | None:
    """The stored rate used for ``on``: the latest on or before it."""
    return await session.scalar(
        select(FxRate)
        .where(FxRate.base_currency == BASE_CURRENCY, FxRate.currency == currency, FxRate.valid_on <= on)
        .order_by(FxRate.valid_on.desc())
        .limit(1)
    )


async def list_rates(
    session: AsyncSession, *, currency: str | None, valid_from: date | None, valid_to: date | None, page: PageParams
) -> tuple[list[FxRate], int]:
    """Stored rates by currency, newest date first (``valid_from`` ≤ date ≤ ``valid_to``; from > to is a 422)."""
    if valid_from is not None and valid_to is not None and valid_from > valid_to:
        raise Unprocessable("valid_from is after valid_to", field="valid_from")
    stmt = select(FxRate).where(FxRate.base_currency == BASE_CURRENCY)
    if currency:
        stmt = stmt.where(FxRate.currency == currency)
    if valid_from is not None:
        stmt = stmt.where(FxRate.valid_on >= valid_from)
    if valid_to is not None:
        stmt = stmt.where(FxRate.valid_on <= valid_to)
    return await paged(session, stmt, page, FxRate.currency, FxRate.valid_on.desc())


async def list_changes(
    session: AsyncSession, *, currency: str | None, page: PageParams
) -> tuple[list[FxRateChange], int]:
    """The audit trail of rate changes, newest first."""
    stmt = select(FxRateChange)
    if currency:
        stmt = stmt.where(FxRateChange.currency == currency)
    return await paged(session, stmt, page, FxRateChange.id.desc())


# ---------------------------------------------------------------- maintenance


def _check_row(row: FxRateRow, prefix: str = "") -> None:
    """A rate of the base currency itself, or against another base, is refused (422 naming the field)."""
    if row.currency == BASE_CURRENCY:
        field = f"{prefix}currency"
        raise Unprocessable(f"{field}: {BASE_CURRENCY} is the base currency (its rate is 1 by definition)", field=field)
    if row.base_currency is not None and row.base_currency != BASE_CURRENCY:
        field = f"{prefix}base_currency"
        raise Unprocessable(f"{field}: rates are kept against {BASE_CURRENCY}, not {row.base_currency}", field=field)


async def _store(
    session: AsyncSession, row: FxRateRow, *, source: str, actor: Principal, now: datetime
) -> FxRate | None:
    """Create or change one rate and audit it; None when the stored rate is the same already."""
    stored = await session.get(FxRate, (BASE_CURRENCY, row.currency, row.valid_on))
    if stored is not None and stored.rate == row.rate:
        return None
    old = stored.rate if stored is not None else None
    if stored is None:
        stored = FxRate(base_currency=BASE_CURRENCY, currency=row.currency, valid_on=row.valid_on, version=0)
        session.add(stored)
    stored.rate, stored.set_by, stored.set_at = row.rate, actor.user_id, now
    stored.version += 1
    session.add(
        FxRateChange(
            base_currency=BASE_CURRENCY,
            currency=row.currency,
            valid_on=row.valid_on,
            old_rate=old,
            new_rate=row.rate,
            source=source,
            changed_by=actor.user_id,
            changed_at=now,
        )
    )
    return stored


def _event_data(rate: FxRate) -> FxRateSetData:
    return FxRateSetData(
        currency=rate.currency, base_currency=rate.base_currency, rate=rate.rate, valid_on=rate.valid_on
    )


async def set_rate(
    session: AsyncSession, *, row: FxRateRow, actor: Principal, publisher: Publisher, now: datetime
) -> FxRate:
    """Create or change one rate (audited; published as risk.fx_rate_set unless it was unchanged)."""
    _check_row(row)
    stored = await _store(session, row, source="api", actor=actor, now=now)
    await session.flush()
    if stored is None:
        unchanged = await session.get(FxRate, (BASE_CURRENCY, row.currency, row.valid_on))
        assert unchanged is not None
        return unchanged
    await publisher.publish(session, FxRateSet, _event_data(stored), account_id=None)
    return stored


async def import_rates(
    session: AsyncSession,
    *,
    rows: Sequence[FxRateRow],
    source: str,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
) -> tuple[int, int]:
    """Set a batch of rates, all or nothing (a bad or repeated row is a 422 naming ``rates.<n>``).

    Returns how many rates were set and how many rows were equal to the stored rate.
    """
    seen: dict[tuple[str, date], int] = {}
    for index, row in enumerate(rows):
        _check_row(row, f"rates.{index}.")
        key = (row.currency, row.valid_on)
        if key in seen:
            raise Unprocessable(
                f"rates.{index}: {row.currency} on {row.valid_on} is already in rates.{seen[key]}",
                field=f"rates.{index}",
            )
        seen[key] = index
    changed = [s for row in rows if (s := await _store(session, row, source=source, actor=actor, now=now))]
    await session.flush()
    await publisher.publish_many(session, FxRateSet, [(None, _event_data(rate)) for rate in changed])
    return len(changed), len(rows) - len(changed)


def parse_csv(data: bytes) -> list[FxRateRow]:
    """The rows of a CSV file with the columns ``currency,valid_on,rate`` (``base_currency`` optional).

    Every bad line is reported (up to 20) as ``rates.<n>.<column>`` with its line number; nothing is kept.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("The CSV file is not UTF-8 text", field="file") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise Unprocessable(
            f"file: the CSV header lacks {', '.join(missing)} (needs currency,valid_on,rate)", field="file"
        )
    rows: list[FxRateRow] = []
    errors: list[dict[str, str]] = []
    for index, record in enumerate(reader):
        if index >= MAX_CSV_ROWS:
            raise Unprocessable(f"file: more than {MAX_CSV_ROWS} rows; split the file", field="file")
        if None in record:  # more values on the line than columns in the header
            errors.append({"field": f"rates.{index}", "message": f"line {reader.line_num}: more values than columns"})
            continue
        values = {k: (v or "").strip() or None for k, v in record.items()}
        try:
            rows.append(FxRateRow.model_validate(values))
        except ValidationError as exc:
            for error in exc.errors():
                column = ".".join(str(part) for part in error["loc"]) or "row"
                errors.append(
                    {"field": f"rates.{index}.{column}", "message": f"line {reader.line_num}: {error['msg']}"}
                )
    if not rows and not errors:
        raise Unprocessable("file: the CSV file has no rows", field="file")
    if errors:
        first = errors[0]
        raise Unprocessable(
            f"{len(errors)} bad value(s) in the CSV file; {first['field']}: {first['message']}",
            field=first["field"],
            errors=errors[:MAX_REPORTED_ERRORS],
        )
    return rows

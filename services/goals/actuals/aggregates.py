"""Pre-aggregated sales: sums per account × month × product line × region, per account × month and per account ×
fiscal year, kept from signed deltas in the same transaction as every sales line written (API, CSV import) or
voided.

Every write of sales lines calls ``apply_line_deltas`` (``sign=-1`` takes lines off) or ``void_lines``; the
reads in ``figures.py`` use these tables and never scan the lines, so their cost does not grow with history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, case, cast, delete, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.models import SalesAggregate, SalesMonthTotal, SalesRecord, SalesYearBasis, SalesYearTotal

CELL_KEY = ("account_id", "month", "product_line", "region", "currency")
TOTAL_KEY = ("account_id", "month", "currency")
YEAR_KEY = ("account_id", "fiscal_year", "currency")
MEASURES = ("revenue", "cost", "quantity", "quantity_lines", "line_count")
Key = tuple[Any, ...]  # (account_id, month or fiscal year, …)
Sums = dict[Key, list[Any]]  # key → [revenue, cost, quantity, quantity_lines, line_count]
_CELLS: Table = SalesAggregate.__table__  # type: ignore[assignment]
_TOTALS: Table = SalesMonthTotal.__table__  # type: ignore[assignment]
_YEARS: Table = SalesYearTotal.__table__  # type: ignore[assignment]
_UPSERT_CHUNK = 2_000


def _num(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def line_deltas(lines: Iterable[Mapping[str, Any]], *, sign: int = 1) -> tuple[Sums, Sums]:
    """The signed sums of ``lines`` per cell and per account-month (``sign=-1`` for lines taken off)."""
    if sign not in (1, -1):
        raise ValueError("sign must be 1 or -1")
    cells: Sums = {}
    totals: Sums = {}
    for line in lines:
        key = (line["account_id"], line["month"], line["product_line"], line["region"] or "", line["currency"])
        quantity = line.get("quantity")
        for bucket, k in ((cells, key), (totals, (key[0], key[1], key[4]))):
            entry = bucket.get(k)
            if entry is None:
                entry = bucket[k] = [Decimal(0), Decimal(0), Decimal(0), 0, 0]
            entry[0] += sign * _num(line["revenue"])
            entry[1] += sign * _num(line["cost"])
            if quantity is not None:
                entry[2] += sign * _num(quantity)
                entry[3] += sign
            entry[4] += sign
    return cells, totals


async def _upsert(session: AsyncSession, table: Table, key: tuple[str, ...], sums: Sums) -> None:
    """Add ``sums`` to the rows of ``table`` (created when missing) with one INSERT … ON CONFLICT per chunk."""
    if not sums:
        return
    conn = await session.connection()
    if conn.dialect.name == "sqlite":  # driver-level: amounts bound as floats, as SQLAlchemy binds them on SQLite
        rows = [(*k, float(v[0]), float(v[1]), float(v[2]), v[3], v[4]) for k, v in sorted(sums.items())]
        await conn.exec_driver_sql(_sqlite_upsert_sql(table, key), rows)
    else:
        stmt = postgresql.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES}
        )
        params = [dict(zip(key + MEASURES, (*k, *v), strict=True)) for k, v in sorted(sums.items())]
        for start in range(0, len(params), _UPSERT_CHUNK):
            await session.execute(stmt, params[start : start + _UPSERT_CHUNK])
    if any(v[4] < 0 for v in sums.values()):  # a void emptied cells: drop them, a recomputation has none
        touched = sorted({k[0] for k in sums})
        for start in range(0, len(touched), _UPSERT_CHUNK):
            chunk = touched[start : start + _UPSERT_CHUNK]
            await session.execute(delete(table).where(table.c.account_id.in_(chunk), table.c.line_count <= 0))


async def apply_line_deltas(session: AsyncSession, lines: Iterable[Mapping[str, Any]], *, sign: int = 1) -> None:
    """Add lines just written (``sign=1``) to the aggregates, or take lines being voided off them (``sign=-1``):
    the one place every write of sales lines keeps the aggregates in step, in the caller's transaction."""
    cells, totals = line_deltas(lines, sign=sign)
    await _upsert(session, _CELLS, CELL_KEY, cells)
    await _upsert_totals(session, totals)


async def apply_sums(session: AsyncSession, cells: Sums) -> None:
    """Add per-cell sums of lines just written (the import sums them while parsing) to both tables: one upsert
    row per cell and per account-month, whatever the number of lines."""
    if not cells:
        return
    await _upsert(session, _CELLS, CELL_KEY, cells)
    await _upsert_totals(session, _roll_up(cells))


async def _upsert_totals(session: AsyncSession, totals: Sums) -> None:
    """Add per account-month sums to the month totals and, rolled up by the fiscal year, to the year totals."""
    if not totals:
        return
    await _upsert(session, _TOTALS, TOTAL_KEY, totals)
    await _upsert(session, _YEARS, YEAR_KEY, year_roll_up(totals, start_month=await year_start_month(session)))


def fiscal_year_of(month: str, start_month: int) -> int:
    """The fiscal year a ``YYYY-MM`` month falls in when fiscal year N starts in ``start_month`` of year N (as
    ``FiscalCalendar.fiscal_year_of``)."""
    year = int(month[:4])
    return year if int(month[5:7]) >= start_month else year - 1


def year_roll_up(totals: Sums, *, start_month: int) -> Sums:
    """Account-month sums added up per account and fiscal year."""
    years: Sums = {}
    for (account_id, month, currency), sums in totals.items():
        key = (account_id, fiscal_year_of(month, start_month), currency)
        entry = years.setdefault(key, [Decimal(0), Decimal(0), Decimal(0), 0, 0])
        for i, value in enumerate(sums):
            entry[i] += value
    return years


async def year_start_month(session: AsyncSession) -> int:
    """The first month of the fiscal year the year totals are counted in (1 until a calendar was aligned)."""
    return int(await session.scalar(select(SalesYearBasis.start_month).where(SalesYearBasis.id == 1)) or 1)


async def align_years(session: AsyncSession, *, start_month: int) -> bool:
    """Make the year totals count fiscal years starting in ``start_month`` — a no-op when they already do (every
    start-up), else rebuilt from the month totals in SQL and the basis recorded; returns whether it rebuilt."""
    basis = await session.get(SalesYearBasis, 1, with_for_update=True)
    if basis is not None and basis.start_month == start_month:
        return False
    t = _TOTALS
    fiscal_year = cast(func.substr(t.c.month, 1, 4), Integer) - case(
        (cast(func.substr(t.c.month, 6, 2), Integer) < start_month, 1), else_=0
    )
    await session.execute(delete(_YEARS))
    grouped = select(
        t.c.account_id,
        fiscal_year,
        t.c.currency,
        *(func.sum(t.c[m]) for m in MEASURES),
    ).group_by(t.c.account_id, fiscal_year, t.c.currency)
    await session.execute(insert(_YEARS).from_select([*YEAR_KEY, *MEASURES], grouped))
    if basis is None:
        session.add(SalesYearBasis(id=1, start_month=start_month))
    else:
        basis.start_month = start_month
    await session.flush()
    return True


def _sqlite_upsert_sql(table: Table, key: tuple[str, ...]) -> str:
    columns = key + MEASURES
    updates = ", ".join(f"{m} = {m} + excluded.{m}" for m in MEASURES)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


def _grouped_lines(where: ColumnElement[bool] | None) -> Any:
    """The lines (optionally those matching ``where``) summed per cell, in SQL."""
    s = SalesRecord
    region = func.coalesce(s.region, "")
    query = select(
        s.account_id,
        s.month,
        s.product_line,
        region,
        s.currency,
        func.sum(s.revenue),
        func.sum(s.cost),
        func.coalesce(func.sum(s.quantity), 0),
        func.count(s.quantity),
        func.count(),
    ).group_by(s.account_id, s.month, s.product_line, region, s.currency)
    return query if where is None else query.where(where)


def _roll_up(cells: Sums) -> Sums:
    """Cell sums added up per account-month."""
    totals: Sums = {}
    for (account_id, month, _line, _region, currency), sums in cells.items():
        entry = totals.setdefault((account_id, month, currency), [Decimal(0), Decimal(0), Decimal(0), 0, 0])
        for i, value in enumerate(sums):
            entry[i] += value
    return totals


async def recompute(session: AsyncSession, where: ColumnElement[bool] | None = None) -> Sums:
    """The cell sums recomputed from the lines themselves (what the aggregates must equal)."""
    rows = await session.execute(_grouped_lines(where))
    return {tuple(r[:5]): [_num(r[5]), _num(r[6]), _num(r[7]), int(r[8]), int(r[9])] for r in rows}


async def void_lines(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Delete the sales lines matching ``where`` and take their sums off the aggregates, in one transaction;
    returns how many lines were voided."""
    cells = await recompute(session, where)
    if not cells:
        return 0
    negative: Sums = {k: [-v for v in sums] for k, sums in cells.items()}
    await _upsert(session, _CELLS, CELL_KEY, negative)
    await _upsert_totals(session, _roll_up(negative))
    await session.execute(delete(SalesRecord).where(where))
    return sum(-v[4] for v in negative.values())


async def rebuild(session: AsyncSession) -> None:
    """Recompute the three tables from every line (a repair)."""
    await session.execute(delete(_CELLS))
    await session.execute(delete(_TOTALS))
    await session.execute(delete(_YEARS))
    cells = await recompute(session)
    await _upsert(session, _CELLS, CELL_KEY, cells)
    await _upsert_totals(session, _roll_up(cells))

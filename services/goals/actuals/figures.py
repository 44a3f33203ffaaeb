"""Sales figures read from the pre-aggregated sales (never the lines): cells by account, month, product line and
region, sums per account, monthly figures of an account, and totals per account-month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.models import SalesAggregate, SalesMonthTotal
from services.goals.forecast import MonthFigures
from shared.money import one_currency

A = SalesAggregate
T = SalesMonthTotal
_IDS_PER_QUERY = 5_000


@dataclass(frozen=True)
class SalesCell:
    """Sales of one account, month, product line and region (in the account's reporting currency)."""

    account_id: str
    month: str
    product_line: str
    region: str
    revenue: Decimal
    cost: Decimal
    quantity: Decimal | None
    currency: str = "CNY"


def _dec(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def _chunks(ids: list[str]) -> list[list[str]]:
    """Account ids in slices a bound IN list can hold on every backend."""
    return [ids[i : i + _IDS_PER_QUERY] for i in range(0, len(ids), _IDS_PER_QUERY)] or [[]]


async def sales_cells(session: AsyncSession, *, account_ids: Iterable[str], months: Iterable[str]) -> list[SalesCell]:
    """Sales grouped by account, month, product line and region for the given accounts and months (read from the
    pre-aggregated cells, never from the lines)."""
    ids, keys = sorted(set(account_ids)), sorted(set(months))
    if not ids or not keys:
        return []
    cells: list[SalesCell] = []
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(A.account_id, A.month, A.product_line, A.region, A.revenue, A.cost, A.quantity)
            .add_columns(A.quantity_lines, A.currency)
            .where(A.account_id.in_(chunk), A.month.in_(keys))
        )
        cells += [
            SalesCell(
                account_id=r[0],
                month=r[1],
                product_line=r[2],
                region=r[3] or "",
                revenue=_dec(r[4]),
                cost=_dec(r[5]),
                quantity=_dec(r[6]) if r[7] else None,
                currency=r[8],
            )
            for r in rows
        ]
    return cells


@dataclass(frozen=True)
class AccountSales:
    """An account's sales over some months, summed (in its reporting currency)."""

    account_id: str
    currency: str
    revenue: Decimal
    cost: Decimal


async def sales_by_account(
    session: AsyncSession, *, account_ids: Iterable[str], months: Iterable[str]
) -> list[AccountSales]:
    """Revenue and cost per account over ``months``, summed from the pre-aggregated account-month totals (one
    row per account and currency; what boards add up across thousands of accounts)."""
    ids, keys = sorted(set(account_ids)), sorted(set(months))
    if not ids or not keys:
        return []
    out: list[AccountSales] = []
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(T.account_id, T.currency, func.sum(T.revenue), func.sum(T.cost))
            .where(T.account_id.in_(chunk), T.month.in_(keys))
            .group_by(T.account_id, T.currency)
        )
        out += [AccountSales(r[0], r[1], _dec(r[2]), _dec(r[3])) for r in rows]
    return out


def month_figures(
    cells: Iterable[SalesCell], *, account_id: str, product_line: str | None = None
) -> dict[str, MonthFigures]:
    """Fold an account's cells into figures per month (narrowed to one product line if given)."""
    out: dict[str, MonthFigures] = {}
    mine = [c for c in cells if c.account_id == account_id]
    one_currency(c.currency for c in mine)  # an account's figures are all in its reporting currency
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


def totals_by_account_month(cells: Iterable[SalesCell]) -> dict[tuple[str, str], dict[str, Any]]:
    """Totals per (account, month): revenue, cost, gross profit, quantity and revenue by product line, and the
    currency they are in."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in cells:
        entry = totals.setdefault(
            (cell.account_id, cell.month),
            {
                "revenue": Decimal(0),
                "cost": Decimal(0),
                "quantity": None,
                "by_product_line": defaultdict(Decimal),
                "currency": cell.currency,
            },
        )
        entry["currency"] = one_currency([entry["currency"], cell.currency])
        entry["revenue"] += cell.revenue
        entry["cost"] += cell.cost
        if cell.quantity is not None:
            entry["quantity"] = (entry["quantity"] or Decimal(0)) + cell.quantity
        entry["by_product_line"][cell.product_line] += cell.revenue
    for entry in totals.values():
        entry["gross_profit"] = entry["revenue"] - entry["cost"]
        entry["by_product_line"] = dict(sorted(entry["by_product_line"].items()))
    return totals

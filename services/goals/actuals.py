"""Sales actuals: recording lines, monthly figures, and the per account-month totals that are published."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.forecast import MonthFigures
from services.goals.models import SalesRecord, platform
from services.goals.schemas import SalesRecordIn
from shared.bus import add_event
from shared.bus.outbox import OUTBOX_FLAG
from shared.events import ActualsRecorded, EventBase

S = SalesRecord


@dataclass(frozen=True)
class SalesCell:
    """Sales of one account, month, product line and region."""

    account_id: str
    month: str
    product_line: str
    region: str
    revenue: Decimal
    cost: Decimal
    quantity: Decimal | None


def _dec(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


async def sales_cells(session: AsyncSession, *, account_ids: Iterable[str], months: Iterable[str]) -> list[SalesCell]:
    """Sales grouped by account, month, product line and region for the given accounts and months."""
    ids, keys = sorted(set(account_ids)), sorted(set(months))
    if not ids or not keys:
        return []
    rows = await session.execute(
        select(
            S.account_id,
            S.month,
            S.product_line,
            S.region,
            func.sum(S.revenue),
            func.sum(S.cost),
            func.sum(S.quantity),
            func.count(S.quantity),
        )
        .where(S.account_id.in_(ids), S.month.in_(keys))
        .group_by(S.account_id, S.month, S.product_line, S.region)
    )
    return [
        SalesCell(
            account_id=r[0],
            month=r[1],
            product_line=r[2],
            region=r[3] or "",
            revenue=_dec(r[4]),
            cost=_dec(r[5]),
            quantity=_dec(r[6]) if r[7] else None,
        )
        for r in rows
    ]


def month_figures(
    cells: Iterable[SalesCell], *, account_id: str, product_line: str | None = None
) -> dict[str, MonthFigures]:
    """Fold an account's cells into figures per month (narrowed to one product line if given)."""
    out: dict[str, MonthFigures] = {}
    for cell in cells:
        if cell.account_id != account_id or (product_line is not None and cell.product_line != product_line):
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
    """Totals per (account, month): revenue, cost, gross profit, quantity and revenue by product line."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in cells:
        entry = totals.setdefault(
            (cell.account_id, cell.month),
            {"revenue": Decimal(0), "cost": Decimal(0), "quantity": None, "by_product_line": defaultdict(Decimal)},
        )
        entry["revenue"] += cell.revenue
        entry["cost"] += cell.cost
        if cell.quantity is not None:
            entry["quantity"] = (entry["quantity"] or Decimal(0)) + cell.quantity
        entry["by_product_line"][cell.product_line] += cell.revenue
    for entry in totals.values():
        entry["gross_profit"] = entry["revenue"] - entry["cost"]
        entry["by_product_line"] = dict(sorted(entry["by_product_line"].items()))
    return totals


async def publish_account_months(
    session: AsyncSession, *, pairs: set[tuple[str, str]], batch_id: str | None = None
) -> list[dict[str, Any]]:
    """Publish ``goals.actuals_recorded`` once per touched (account, month) with its new totals."""
    if not pairs:
        return []
    cells = await sales_cells(session, account_ids={a for a, _ in pairs}, months={m for _, m in pairs})
    totals = totals_by_account_month(cells)
    published, events = [], []
    for account_id, month in sorted(pairs):
        entry = totals.get((account_id, month))
        if entry is None:
            continue
        events.append(
            ActualsRecorded(
                source="goals",
                account_id=account_id,
                data={
                    "period": month,
                    "revenue": entry["revenue"],
                    "cost": entry["cost"],
                    "gross_profit": entry["gross_profit"],
                    "quantity": entry["quantity"],
                    "by_product_line": entry["by_product_line"],
                    "currency": "CNY",
                    "batch_id": batch_id,
                },
            )
        )
        published.append({"account_id": account_id, "period": month, **entry})
    await add_events(session, events)
    return published


async def add_events(session: AsyncSession, events: Sequence[EventBase]) -> None:
    """Write many events into the outbox with one statement (same rows as ``shared.bus.add_event``)."""
    if len(events) == 1:
        await add_event(session, platform.outbox, events[0])
        return
    if not events:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(platform.outbox),
        [
            {"event_id": e.id, "subject": e.subject, "payload": e.model_dump_json(), "created_at": now, "attempts": 0}
            for e in events
        ],
    )
    session.sync_session.info[OUTBOX_FLAG] = True


async def record_sales(
    session: AsyncSession, *, records: Sequence[SalesRecordIn], batch_id: str | None = None
) -> set[tuple[str, str]]:
    """Insert sales lines; return the (account, month) pairs touched."""
    rows = [
        {
            "account_id": r.account_id,
            "sale_date": r.date,
            "month": f"{r.date.year:04d}-{r.date.month:02d}",
            "product_line": r.product_line,
            "region": r.region,
            "quantity": r.quantity,
            "revenue": r.revenue,
            "cost": r.cost,
            "batch_id": batch_id,
            "line_no": None,
        }
        for r in records
    ]
    await session.execute(insert(SalesRecord), rows)
    return {(str(r["account_id"]), str(r["month"])) for r in rows}

"""Actuals: recording sales lines, publishing the touched account-months, monthly totals (flush only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.figures import sales_cells, totals_by_account_month
from services.goals.actuals.models import SalesRecord
from services.goals.actuals.schemas import ActualsIn, MonthTotals, SalesRecordIn
from services.goals.config import GoalsSettings
from services.goals.models import platform
from services.goals.periods import add_months
from services.goals.targets.tracking import evaluate_accounts
from shared.auth import Principal, ensure_account_access, require_writer
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
            currency="CNY",
            batch_id=batch_id,
        )
        events.append((account_id, data))
        published.append({"account_id": account_id, "period": month, **entry})
    await publisher.publish_many(session, ActualsRecorded, events)
    return published


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


async def record_actuals(
    session: AsyncSession,
    *,
    body: ActualsIn,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> list[dict[str, Any]]:
    """Record sales lines of accounts the actor may change, publish per account-month, re-track their targets."""
    require_writer(actor)
    for account_id in sorted({r.account_id for r in body.records}):
        await ensure_account_access(session, platform, actor, account_id, write=True)
    pairs = await record_sales(session, records=body.records)
    published = await publish_account_months(session, pairs=pairs, publisher=publisher)
    await evaluate_accounts(session, account_ids={a for a, _ in pairs}, settings=settings, publisher=publisher, now=now)
    return published


async def account_month_totals(
    session: AsyncSession, *, account_id: str, from_month: str | None, to_month: str | None, today: date
) -> list[MonthTotals]:
    """An account's totals per month from ``from_month`` to ``to_month`` (default: the 12 months to today)."""
    end = to_month or f"{today.year:04d}-{today.month:02d}"
    start = from_month or add_months(end, -11)
    if start > end:
        raise Unprocessable("from must not be after to", field="from")
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

"""Voiding sales lines and whole import batches: the lines are taken off (aggregates in the same transaction),
every account-month touched is published again with its new totals (``goals.actuals_voided``, zeros when nothing
is left) so scoring and risk follow, the targets are re-tracked, and the batch keeps who voided it and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.aggregates import void_lines
from services.goals.actuals.figures import sales_cells, totals_by_account_month
from services.goals.actuals.models import ImportBatch, SalesRecord
from services.goals.config import GoalsSettings
from services.goals.currencies.service import reporting_currencies
from services.goals.models import audit_log, platform
from services.goals.targets.tracking import evaluate_accounts
from shared.api import PageParams
from shared.audit import record_audit
from shared.auth import Principal, ensure_account_access, require_writer
from shared.bus import Publisher
from shared.errors import Conflict, NotFound
from shared.events import ActualsVoided
from shared.events.catalogue import ActualsVoidedData


async def publish_voided(
    session: AsyncSession,
    *,
    pairs: set[tuple[str, str]],
    lines: dict[tuple[str, str], int],
    reason: str,
    actor_id: str,
    batch_id: str | None,
    settings: GoalsSettings,
    publisher: Publisher,
) -> list[dict[str, Any]]:
    """One ``goals.actuals_voided`` per account-month with its totals after the void (zeros when none are left)."""
    cells = await sales_cells(session, account_ids={a for a, _ in pairs}, months={m for _, m in pairs})
    totals = totals_by_account_month(cells)
    currencies = await reporting_currencies(session, {a for a, _ in pairs}, settings=settings)
    zero = Decimal(0)
    events: list[tuple[str | None, ActualsVoidedData]] = []
    published = []
    for account_id, month in sorted(pairs):
        entry = totals.get((account_id, month)) or {
            "revenue": zero,
            "cost": zero,
            "gross_profit": zero,
            "quantity": None,
            "by_product_line": {},
            "currency": currencies[account_id],
        }
        events.append(
            (
                account_id,
                ActualsVoidedData(
                    period=month,
                    revenue=entry["revenue"],
                    cost=entry["cost"],
                    gross_profit=entry["gross_profit"],
                    quantity=entry["quantity"],
                    by_product_line=entry["by_product_line"],
                    currency=entry["currency"],
                    batch_id=batch_id,
                    voided_lines=lines.get((account_id, month), 0),
                    reason=reason,
                    voided_by=actor_id,
                ),
            )
        )
        published.append({"account_id": account_id, "period": month, **entry})
    await publisher.publish_many(session, ActualsVoided, events)
    return published


async def _lines_per_month(session: AsyncSession, where: ColumnElement[bool]) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(SalesRecord.account_id, SalesRecord.month, func.count())
        .where(where)
        .group_by(SalesRecord.account_id, SalesRecord.month)
    )
    return {(str(a), str(m)): int(n) for a, m, n in rows}


async def _void(
    session: AsyncSession,
    where: ColumnElement[bool],
    *,
    reason: str,
    actor: Principal,
    batch_id: str | None,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> tuple[int, list[dict[str, Any]]]:
    lines = await _lines_per_month(session, where)
    voided = await void_lines(session, where)
    pairs = set(lines)
    published = await publish_voided(
        session,
        pairs=pairs,
        lines=lines,
        reason=reason,
        actor_id=actor.user_id,
        batch_id=batch_id,
        settings=settings,
        publisher=publisher,
    )
    await evaluate_accounts(session, account_ids={a for a, _ in pairs}, settings=settings, publisher=publisher, now=now)
    return voided, published


async def void_batch(
    session: AsyncSession,
    *,
    batch: ImportBatch,
    reason: str,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> tuple[ImportBatch, list[dict[str, Any]]]:
    """Void every line of a completed or failed batch (a running one is a 409); the batch id may be imported
    again afterwards (a corrected file)."""
    require_writer(actor)
    if batch.status == "running":
        raise Conflict(f"import {batch.batch_id} is still running; void it once it has finished", field="batch_id")
    if batch.status == "voided":
        raise Conflict(f"import {batch.batch_id} was already voided", field="batch_id")
    where = SalesRecord.batch_id == batch.batch_id
    if not actor.sees_whole_portfolio:
        for (account_id,) in (await session.execute(select(SalesRecord.account_id).where(where).distinct())).all():
            await ensure_account_access(session, platform, actor, str(account_id), write=True)
    _, published = await _void(
        session,
        where,
        reason=reason,
        actor=actor,
        batch_id=batch.batch_id,
        settings=settings,
        publisher=publisher,
        now=now,
    )
    before = {"status": batch.status, "accepted": batch.accepted}
    batch.status = "voided"
    batch.voided_at, batch.voided_by, batch.void_reason = now, actor.user_id, reason
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="sales.batch_voided",
        object_type="import_batch",
        object_id=batch.batch_id,
        before=before,
        after={"status": "voided", "reason": reason, "account_months": len(published)},
        at=now,
    )
    return batch, published


async def void_sales_lines(
    session: AsyncSession,
    *,
    line_ids: Sequence[int],
    reason: str,
    actor: Principal,
    settings: GoalsSettings,
    publisher: Publisher,
    now: datetime,
) -> tuple[int, list[dict[str, Any]]]:
    """Void the given lines (all or none): an id that does not exist or whose account the actor cannot change is
    a 404 naming it, and nothing is voided."""
    require_writer(actor)
    ids = sorted(set(line_ids))
    rows = (await session.execute(select(SalesRecord.id, SalesRecord.account_id).where(SalesRecord.id.in_(ids)))).all()
    found = {int(i): str(a) for i, a in rows}
    for account_id in sorted(set(found.values())):
        try:
            await ensure_account_access(session, platform, actor, account_id, write=True)
        except NotFound:
            found = {i: a for i, a in found.items() if a != account_id}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"sales lines not found: {', '.join(map(str, missing[:20]))}", field="line_ids", ids=missing)
    voided, published = await _void(
        session,
        SalesRecord.id.in_(ids),
        reason=reason,
        actor=actor,
        batch_id=None,
        settings=settings,
        publisher=publisher,
        now=now,
    )
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="sales.lines_voided",
        object_type="sales_lines",
        object_id=",".join(map(str, ids))[:200],
        after={
            "line_ids": ids,
            "reason": reason,
            "account_months": [(p["account_id"], p["period"]) for p in published],
        },
        at=now,
    )
    return voided, published


async def list_sales_lines(
    session: AsyncSession, *, account_id: str, month: str | None, batch_id: str | None, page: PageParams
) -> tuple[list[SalesRecord], int]:
    """An account's sales lines (newest sale first), to find the ones to void."""
    where = [SalesRecord.account_id == account_id]
    if month is not None:
        where.append(SalesRecord.month == month)
    if batch_id is not None:
        where.append(SalesRecord.batch_id == batch_id)
    total = await session.scalar(select(func.count()).select_from(SalesRecord).where(*where))
    rows = await session.scalars(
        select(SalesRecord)
        .where(*where)
        .order_by(SalesRecord.sale_date.desc(), SalesRecord.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(rows), int(total or 0)

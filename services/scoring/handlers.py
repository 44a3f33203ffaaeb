"""Consumed events of the scoring service: ``HANDLERS = {event class: [handler, ...]}``.

Scoring is the source of ``accounts.*`` so it keeps no projection handlers; it learns features from the
other domains and re-scores the account each event touches.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account
from services.scoring.scores.feature_store import (
    record_actuals,
    record_complaint_closed,
    record_credit_grade,
    record_escalation,
    refresh_actuals_features,
    refresh_complaint_features,
)
from services.scoring.scores.service import rescore_account
from shared.bus import HandlerContext, Handlers
from shared.events import ActualsRecorded, ComplaintClosed, ComplaintEscalated, CreditAssessed


async def _rescore_if_registered(
    session: AsyncSession, ctx: HandlerContext[None], account_id: str, reason: str
) -> None:
    if await session.get(Account, account_id) is not None:
        await rescore_account(
            session, ctx.tables, publisher=ctx.publisher, account_id=account_id, now=ctx.clock.now(), reason=reason
        )


async def on_actuals_recorded(session: AsyncSession, event: ActualsRecorded, ctx: HandlerContext[None]) -> None:
    """Store the month's totals (replacing an older report), refresh purchases/profit/growth, re-score."""
    if event.account_id is None:
        return
    d = event.data
    stored = await record_actuals(
        session,
        account_id=event.account_id,
        period=d.period,
        revenue=d.revenue,
        cost=d.cost,
        gross_profit=d.gross_profit,
        by_product_line=d.by_product_line,
        reported_at=event.time,
    )
    if stored:
        await refresh_actuals_features(session, account_id=event.account_id, now=ctx.clock.now())
        await _rescore_if_registered(session, ctx, event.account_id, f"actuals {d.period} recorded")


async def on_complaint_closed(session: AsyncSession, event: ComplaintClosed, ctx: HandlerContext[None]) -> None:
    """Satisfaction of a closed complaint feeds the relationship dimension."""
    if event.account_id is None:
        return
    d = event.data
    await record_complaint_closed(
        session,
        account_id=event.account_id,
        complaint_id=d.complaint_id,
        satisfaction=d.satisfaction,
        closed_at=d.closed_at,
    )
    await refresh_complaint_features(session, account_id=event.account_id, now=ctx.clock.now())
    await _rescore_if_registered(session, ctx, event.account_id, "complaint closed")


async def on_complaint_escalated(session: AsyncSession, event: ComplaintEscalated, ctx: HandlerContext[None]) -> None:
    """Escalations weigh on the relationship dimension."""
    if event.account_id is None:
        return
    await record_escalation(
        session,
        account_id=event.account_id,
        complaint_id=event.data.complaint_id,
        level=event.data.level,
        escalated_at=event.time,
    )
    await refresh_complaint_features(session, account_id=event.account_id, now=ctx.clock.now())
    await _rescore_if_registered(session, ctx, event.account_id, "complaint escalated")


async def on_credit_assessed(session: AsyncSession, event: CreditAssessed, ctx: HandlerContext[None]) -> None:
    """Keep the latest credit grade."""
    if event.account_id is None:
        return
    changed = await record_credit_grade(
        session,
        account_id=event.account_id,
        grade=event.data.grade,
        assessed_at=event.data.assessed_at,
        now=ctx.clock.now(),
    )
    if changed:
        await _rescore_if_registered(session, ctx, event.account_id, f"credit grade {event.data.grade}")


HANDLERS: Handlers = {
    ActualsRecorded: [on_actuals_recorded],
    ComplaintClosed: [on_complaint_closed],
    ComplaintEscalated: [on_complaint_escalated],
    CreditAssessed: [on_credit_assessed],
}

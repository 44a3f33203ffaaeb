"""Consumed events of the goals service: ``HANDLERS = {event class: [handler, ...]}``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.models import ComplaintFact, RiskAlert
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.clock import ensure_aware
from shared.events import AlertCleared, AlertRaised, ComplaintAcknowledged, ComplaintClosed
from shared.projection import PROJECTION_HANDLERS


async def on_alert(session: AsyncSession, event: AlertRaised | AlertCleared, ctx: HandlerContext[None]) -> None:
    """Keep the account's risk alerts; only the newest event per alert counts (order-tolerant)."""
    assert event.account_id is not None
    active = event.type == "risk.alert_raised"
    when = ensure_aware(event.time)
    alert = await session.get(RiskAlert, event.data.alert_id)
    if alert is None:
        session.add(
            RiskAlert(
                alert_id=event.data.alert_id,
                account_id=event.account_id,
                level=event.data.level,
                title=event.data.title[:300],
                active=active,
                event_time=when,
            )
        )
    elif when >= ensure_aware(alert.event_time):
        alert.active, alert.level, alert.event_time = active, event.data.level, when
        alert.title = event.data.title[:300]
    await session.flush()


async def _complaint(session: AsyncSession, complaint_id: str, account_id: str) -> ComplaintFact:
    fact = await session.get(ComplaintFact, complaint_id)
    if fact is None:
        fact = ComplaintFact(complaint_id=complaint_id, account_id=account_id)
        session.add(fact)
    return fact


async def on_complaint_acknowledged(
    session: AsyncSession, event: ComplaintAcknowledged, ctx: HandlerContext[None]
) -> None:
    """Remember whether the first response was within SLA (scorecards)."""
    assert event.account_id is not None
    fact = await _complaint(session, event.data.complaint_id, event.account_id)
    if fact.acknowledged_at is None:
        fact.acknowledged_at, fact.within_sla = ensure_aware(event.data.acknowledged_at), event.data.within_sla
    await session.flush()


async def on_complaint_closed(session: AsyncSession, event: ComplaintClosed, ctx: HandlerContext[None]) -> None:
    """Remember the satisfaction a closed complaint got (the latest close counts)."""
    assert event.account_id is not None
    fact = await _complaint(session, event.data.complaint_id, event.account_id)
    fact.closed_at = ensure_aware(event.data.closed_at)
    if event.data.satisfaction is not None:
        fact.satisfaction = event.data.satisfaction
    await session.flush()


GOALS_HANDLERS: Handlers = {
    AlertRaised: [on_alert],
    AlertCleared: [on_alert],
    ComplaintAcknowledged: [on_complaint_acknowledged],
    ComplaintClosed: [on_complaint_closed],
}

HANDLERS: Handlers = merge_handlers(PROJECTION_HANDLERS, GOALS_HANDLERS)

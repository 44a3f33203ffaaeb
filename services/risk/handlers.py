"""Consumed events of the risk service: ``HANDLERS = {event class: [handler, ...]}``."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.warnings.policies import apply_industry_policies
from services.risk.warnings.revenue import record_monthly_revenue
from services.risk.warnings.service import record_signal
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.events import AccountRegistered, AccountUpdated, ActualsRecorded, ComplaintEscalated
from shared.projection import PROJECTION_HANDLERS


async def on_account_snapshot(
    session: AsyncSession, event: AccountRegistered | AccountUpdated, ctx: HandlerContext[None]
) -> None:
    """An account that is (now) in an industry gets that industry's policy signals."""
    assert event.account_id is not None
    await apply_industry_policies(
        session,
        account_id=event.account_id,
        industry=event.data.industry,
        publisher=ctx.publisher,
        now=ctx.clock.now(),
    )


async def on_complaint_escalated(session: AsyncSession, event: ComplaintEscalated, ctx: HandlerContext[None]) -> None:
    """An escalated complaint is a relationship-risk signal (one per complaint and escalation level)."""
    assert event.account_id is not None
    d = event.data
    await record_signal(
        session,
        account_id=event.account_id,
        signal_type="complaint_escalation",
        value=Decimal(d.level),
        source="event",  # the signal's own origin column, not an event envelope
        source_ref=f"complaint:{d.complaint_id}:{d.level}",
        title=f"投诉升级至第{d.level}级 Complaint escalated to level {d.level} ({d.reason})",
        details={"complaint_id": d.complaint_id, "reason": d.reason, "severity": d.severity, "event_id": event.id},
        publisher=ctx.publisher,
        now=ctx.clock.now(),
    )


async def on_actuals_recorded(session: AsyncSession, event: ActualsRecorded, ctx: HandlerContext[None]) -> None:
    """Monthly revenue totals feed the sales-drop and revenue-concentration signals."""
    assert event.account_id is not None
    d = event.data
    await record_monthly_revenue(
        session,
        account_id=event.account_id,
        period=d.period,
        revenue=d.revenue,
        currency=d.currency,
        publisher=ctx.publisher,
        now=ctx.clock.now(),
    )


RISK_HANDLERS: Handlers = {
    AccountRegistered: [on_account_snapshot],
    AccountUpdated: [on_account_snapshot],
    ComplaintEscalated: [on_complaint_escalated],
    ActualsRecorded: [on_actuals_recorded],
}

HANDLERS: Handlers = merge_handlers(PROJECTION_HANDLERS, RISK_HANDLERS)

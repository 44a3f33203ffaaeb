"""Consumed events of the goals service: ``HANDLERS = {event class: [handler, ...]}``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actions.service import hand_over_open_items
from services.goals.actuals.account_codes import apply_account_codes
from services.goals.config import GoalsSettings
from services.goals.currencies.service import apply_fx_rate
from services.goals.models import ComplaintFact, RiskAlert
from services.goals.plans.relationships import upsert_contact
from services.goals.targets.service import hand_over_running_targets
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.clock import business_date, ensure_aware
from shared.events import (
    AccountOwnerChanged,
    AccountRegistered,
    AccountUpdated,
    AlertCleared,
    AlertRaised,
    ComplaintAcknowledged,
    ComplaintClosed,
    ContactChanged,
    FxRateSet,
)
from shared.projection import PROJECTION_HANDLERS

# Goals handlers get the goals settings (zone, fiscal calendar) as their extra.
Ctx = HandlerContext[GoalsSettings]


async def on_alert(session: AsyncSession, event: AlertRaised | AlertCleared, ctx: Ctx) -> None:
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


async def on_complaint_acknowledged(session: AsyncSession, event: ComplaintAcknowledged, ctx: Ctx) -> None:
    """Remember whether the first response was within SLA (scorecards)."""
    assert event.account_id is not None
    fact = await _complaint(session, event.data.complaint_id, event.account_id)
    if fact.acknowledged_at is None:
        fact.acknowledged_at, fact.within_sla = ensure_aware(event.data.acknowledged_at), event.data.within_sla
    await session.flush()


async def on_complaint_closed(session: AsyncSession, event: ComplaintClosed, ctx: Ctx) -> None:
    """Remember the satisfaction a closed complaint got (the latest close counts)."""
    assert event.account_id is not None
    fact = await _complaint(session, event.data.complaint_id, event.account_id)
    fact.closed_at = ensure_aware(event.data.closed_at)
    if event.data.satisfaction is not None:
        fact.satisfaction = event.data.satisfaction
    await session.flush()


async def on_fx_rate_set(session: AsyncSession, event: FxRateSet, ctx: Ctx) -> None:
    """Keep the dated rate (the newest event per currency pair and day wins): conversions use it."""
    await apply_fx_rate(session, data=event.data, event_time=event.time)


async def on_owner_changed(session: AsyncSession, event: AccountOwnerChanged, ctx: Ctx) -> None:
    """A handover: the former owner's open action items and the account's targets of running periods follow the
    new owner (the accounts projection itself is updated by the shared projection handler)."""
    assert event.account_id is not None
    old, new = event.data.old_owner_id, event.data.new_owner_id
    if old is None or old == new:
        return
    now = ctx.clock.now()
    await hand_over_open_items(session, account_id=event.account_id, old_owner_id=old, new_owner_id=new, now=now)
    await hand_over_running_targets(
        session,
        account_id=event.account_id,
        old_owner_id=old,
        new_owner_id=new,
        settings=ctx.extra,
        today=business_date(now, ctx.extra.zone),
    )


async def on_contact_changed(session: AsyncSession, event: ContactChanged, ctx: Ctx) -> None:
    """Keep the account's contact for the plans' relationship map (the newest event per contact wins)."""
    assert event.account_id is not None
    await upsert_contact(session, account_id=event.account_id, data=event.data, event_time=event.time)


async def on_account_codes(session: AsyncSession, event: AccountRegistered | AccountUpdated, ctx: Ctx) -> None:
    """Keep the codes imports may name the account by (its ERP codes and credit code; None leaves them as they are)."""
    await apply_account_codes(session, event)


GOALS_HANDLERS: Handlers = {
    AccountRegistered: [on_account_codes],
    AccountUpdated: [on_account_codes],
    ContactChanged: [on_contact_changed],
    FxRateSet: [on_fx_rate_set],
    AccountOwnerChanged: [on_owner_changed],
    AlertRaised: [on_alert],
    AlertCleared: [on_alert],
    ComplaintAcknowledged: [on_complaint_acknowledged],
    ComplaintClosed: [on_complaint_closed],
}

HANDLERS: Handlers = merge_handlers(PROJECTION_HANDLERS, GOALS_HANDLERS)

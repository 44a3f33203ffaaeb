"""Consumed events of the risk service: ``HANDLERS = {event class: [handler, ...]}``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.groups import record_group_link
from services.risk.models import platform
from services.risk.warnings.policies import apply_industry_policies
from services.risk.warnings.revenue import mark_concentration_stale, record_monthly_revenue, refresh_concentration
from services.risk.warnings.service import hand_over_account, record_signal
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.clock import business_date
from shared.events import (
    AccountOwnerChanged,
    AccountRegistered,
    AccountUpdated,
    ActualsImported,
    ActualsRecorded,
    ActualsVoided,
    ComplaintEscalated,
)
from shared.projection import PROJECTION_HANDLERS


@dataclass(frozen=True)
class RiskExtra:
    """What the risk handlers are given besides the session: the company's zone (business dates) and the
    portfolio size above which a monthly total leaves the revenue shares to the concentration job."""

    zone: ZoneInfo
    concentration_event_max_accounts: int


RiskContext = HandlerContext[RiskExtra]


async def on_account_snapshot(
    session: AsyncSession, event: AccountRegistered | AccountUpdated, ctx: RiskContext
) -> None:
    """An account that is (now) in an industry gets that industry's policy signals."""
    assert event.account_id is not None
    await apply_industry_policies(
        session,
        account_id=event.account_id,
        industry=event.data.industry,
        publisher=ctx.publisher,
        now=ctx.clock.now(),
        today=business_date(ctx.clock.now(), ctx.extra.zone),
    )


async def on_account_group(session: AsyncSession, event: AccountRegistered | AccountUpdated, ctx: RiskContext) -> None:
    """The account's group (``parent_account_id``), kept in risk's own table, newest event first; a snapshot
    without the field (published before hierarchies existed) leaves what is known."""
    assert event.account_id is not None
    if "parent_account_id" in event.data.model_fields_set:
        await record_group_link(
            session,
            account_id=event.account_id,
            parent_account_id=event.data.parent_account_id,
            event_time=event.time,
            event_id=event.id,
        )


async def on_complaint_escalated(session: AsyncSession, event: ComplaintEscalated, ctx: RiskContext) -> None:
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
        today=business_date(ctx.clock.now(), ctx.extra.zone),
    )


async def _record_months(session: AsyncSession, account_id: str, months: Sequence[Any], ctx: RiskContext) -> None:
    """Store each month's revenue total, then re-evaluate the revenue concentration once for them all."""
    now, today = ctx.clock.now(), business_date(ctx.clock.now(), ctx.extra.zone)
    for d in months:
        await record_monthly_revenue(
            session,
            account_id=account_id,
            period=d.period,
            revenue=d.revenue,
            currency=d.currency,
            publisher=ctx.publisher,
            now=now,
            today=today,
        )
    accounts = await session.scalar(select(func.count()).select_from(platform.accounts))
    if (accounts or 0) > ctx.extra.concentration_event_max_accounts:
        await mark_concentration_stale(session, now=now)
    else:
        await refresh_concentration(session, publisher=ctx.publisher, now=now, today=today)


async def on_actuals_recorded(session: AsyncSession, event: ActualsRecorded | ActualsVoided, ctx: RiskContext) -> None:
    """Monthly revenue totals feed the sales-drop and revenue-concentration signals ("last month" is the last
    completed month of the business date today); concentration is re-evaluated on every total that arrives (and
    hourly by the risk watch), a share that fell proposes clearing."""
    assert event.account_id is not None
    await _record_months(session, event.account_id, [event.data], ctx)


async def on_actuals_imported(session: AsyncSession, event: ActualsImported, ctx: RiskContext) -> None:
    """An import's months of one account: each month's total stored as ``goals.actuals_recorded`` stores it, the
    revenue concentration re-evaluated once for them all."""
    assert event.account_id is not None
    await _record_months(session, event.account_id, event.data.months, ctx)


async def on_owner_changed(session: AsyncSession, event: AccountOwnerChanged, ctx: RiskContext) -> None:
    """Handover: open action items and alerts of the former owner follow the new owner once the former no
    longer sees the account (runs after the projection handler has updated who sees it); each moved plan step
    publishes ``risk.action_item_assigned``."""
    assert event.account_id is not None
    await hand_over_account(
        session,
        account_id=event.account_id,
        old_owner_id=event.data.old_owner_id,
        new_owner_id=event.data.new_owner_id,
        publisher=ctx.publisher,
        zone=ctx.extra.zone,
    )


RISK_HANDLERS: Handlers = {
    AccountRegistered: [on_account_snapshot, on_account_group],
    AccountUpdated: [on_account_snapshot, on_account_group],
    ComplaintEscalated: [on_complaint_escalated],
    ActualsRecorded: [on_actuals_recorded],
    ActualsVoided: [on_actuals_recorded],  # the month's totals after a void: stored the same way
    ActualsImported: [on_actuals_imported],  # an import's months of one account, applied together
    AccountOwnerChanged: [on_owner_changed],
}

HANDLERS: Handlers = merge_handlers(PROJECTION_HANDLERS, RISK_HANDLERS)

"""Consumed events of the notifications service: ``HANDLERS = {event class: [handler, ...]}``.

The identity and accounts projections (who exists, their roles and contact channels; each account's name, tier,
owner and team), and every notifiable event: routed, rendered and queued in the consumer's one transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.config import NotificationsSettings
from services.notifications.delivery.service import enqueue
from services.notifications.kinds.service import FACTS, facts_of
from services.notifications.memo import account_key, forget_directory, open_memo, remembered
from services.notifications.models import platform
from services.notifications.routing.service import plan_recipients
from shared.bus import HandlerContext, Handlers, merge_handlers
from shared.clock import ensure_aware
from shared.events import EventBase
from shared.projection import PROJECTION_HANDLERS

log = logging.getLogger("kam.notifications")

# Notifications handlers get the notifications settings (zone, console link, channels) as their extra.
Ctx = HandlerContext[NotificationsSettings]


async def account_of(session: AsyncSession, account_id: str | None) -> dict[str, Any] | None:
    """The account's projection row (None for an event about no account, or one not projected yet)."""
    if account_id is None:
        return None
    accounts = platform.accounts

    async def load() -> dict[str, Any] | None:
        row = (await session.execute(select(accounts).where(accounts.c.account_id == account_id))).mappings().first()
        return dict(row) if row is not None else None

    return await remembered(session, account_key(account_id), load)


def _stale(occurred_at: datetime, now: datetime, settings: NotificationsSettings) -> bool:
    limit = settings.stale_event_hours
    return bool(limit) and now - ensure_aware(occurred_at) > timedelta(hours=limit)


async def on_notifiable_event(session: AsyncSession, event: EventBase, ctx: Ctx) -> None:
    """Route the event to its recipients and queue one delivery per recipient and channel (none for a stale
    event: a fresh installation reading the streams from their start tells nobody about last quarter)."""
    settings, now = ctx.extra, ctx.clock.now()
    open_memo(session)
    facts = facts_of(event)
    if _stale(facts.occurred_at, now, settings):
        log.info("stale event not notified", extra={"event_id": event.id, "event_type": event.type})
        return
    account = await account_of(session, facts.account_id)
    plan = await plan_recipients(session, facts=facts, account=account, settings=settings)
    deliveries = await enqueue(session, plan=plan, settings=settings, now=now)  # written at the commit
    log.info(
        "event notified",
        extra={
            "event_id": event.id,
            "event_type": event.type,
            "people": len(plan.people),
            "deliveries": deliveries,
        },
    )


async def on_projection_event(session: AsyncSession, event: EventBase, ctx: Ctx) -> None:
    """A user or account projection changed in this transaction: routing reads those rows again."""
    forget_directory(session)


NOTIFICATION_HANDLERS: Handlers = {event_class: [on_notifiable_event] for event_class in FACTS}

HANDLERS: Handlers = merge_handlers(
    PROJECTION_HANDLERS,
    {event_class: [on_projection_event] for event_class in PROJECTION_HANDLERS},
    NOTIFICATION_HANDLERS,
)

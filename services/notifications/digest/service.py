"""The daily digest: held email deliveries whose digest time has come, bundled into one email per user."""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.config import NotificationsSettings
from services.notifications.delivery.models import Delivery, Notification
from services.notifications.delivery.service import move
from services.notifications.models import platform
from services.notifications.preferences.service import preferences_of
from services.notifications.templates.service import render_digest

DIGEST_KIND = "digest"


async def _address(session: AsyncSession, user_id: str, fallback: str) -> tuple[str, bool]:
    users = platform.users
    row = (await session.execute(select(users).where(users.c.user_id == user_id))).mappings().first()
    if row is None:
        return fallback, True
    return row["email"] or (row["channels"] or {}).get("email") or fallback, bool(row["active"])


async def _digest_for(
    session: AsyncSession, *, user_id: str, held: list[Delivery], settings: NotificationsSettings, now: datetime
) -> Delivery:
    """One user's digest: a notification listing the held ones and an email delivery in the queue."""
    prefs = await preferences_of(session, user_id=user_id, settings=settings)
    ids = [d.notification_id for d in held]
    notes = {n.id: n for n in (await session.execute(select(Notification).where(Notification.id.in_(ids)))).scalars()}
    items = [(notes[d.notification_id].subject, notes[d.notification_id].link) for d in held]
    message = render_digest(items, language=prefs.language, console_base_url=settings.console_base_url)
    slot = max(d.held_until or now for d in held)
    event_id = f"digest:{slot.isoformat()}:{held[0].id[:8]}"  # one digest per user and slot (and batch)
    notification = Notification(
        id=str(uuid.uuid4()),
        event_id=event_id,
        kind=DIGEST_KIND,
        account_id=None,
        account_name=None,
        recipient=user_id,
        user_id=user_id,
        language=message.language,
        subject=message.subject,
        body=message.body,
        link=message.link,
        due="",
        due_at=None,
        critical=False,
        level=None,
        tier=None,
        object_type="digest",
        object_id=event_id,
        in_inbox=False,
        occurred_at=now,
        created_at=now,
        mentions={},
        payload={},
    )
    address, active = await _address(session, user_id, held[-1].target)
    digest = Delivery(
        id=str(uuid.uuid4()),
        notification_id=notification.id,
        event_id=event_id,
        kind=DIGEST_KIND,
        account_id=None,
        recipient=user_id,
        user_id=user_id,
        channel="email",
        target=address,
        status="pending" if active else "skipped",
        critical=False,
        attempts=0,
        next_attempt_at=now,
        last_error=None if active else "the user is deactivated",
        created_at=now,
        updated_at=now,
    )
    session.add(notification)
    await session.flush()  # before its delivery (no ORM relationship orders the two inserts)
    session.add(digest)
    for delivery in held:
        move(delivery, "digested")
        delivery.digest_id, delivery.updated_at = digest.id, now
    return digest


async def collect_digests(session: AsyncSession, *, now: datetime, settings: NotificationsSettings) -> list[Delivery]:
    """Bundle every held delivery whose digest time has come into its user's digest (once: they become
    ``digested`` in the same transaction)."""
    query = (
        select(Delivery)
        .where(Delivery.status == "held", Delivery.held_until <= now, Delivery.user_id.is_not(None))
        .order_by(Delivery.user_id, Delivery.created_at, Delivery.id)
        .limit(5000)
        .with_for_update(skip_locked=True)
    )
    held = list((await session.execute(query)).scalars())
    digests = []
    for user_id, group in groupby(held, key=lambda d: d.user_id or ""):
        digests.append(await _digest_for(session, user_id=user_id, held=list(group), settings=settings, now=now))
    await session.flush()
    return digests

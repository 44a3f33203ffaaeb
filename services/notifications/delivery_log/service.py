"""The delivery log: deliveries filtered and paged, one delivery's attempts, replaying dead ones, queue counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.delivery.models import Delivery, DeliveryAttempt, Notification
from services.notifications.delivery.service import move
from services.notifications.delivery_log.schemas import DeliveryFilters, DeliveryStats
from shared.api import PageParams
from shared.errors import Conflict


def _filtered(query: Any, filters: DeliveryFilters) -> Any:
    for name in ("status", "channel", "kind", "user_id", "recipient", "event_id", "account_id"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Delivery, name) == value)
    if filters.since is not None:
        query = query.where(Delivery.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(Delivery.created_at < filters.until)
    return query


async def list_deliveries(
    session: AsyncSession, *, filters: DeliveryFilters, page: PageParams
) -> tuple[list[Delivery], int]:
    """Deliveries, newest first, with the total of the filter."""
    query = _filtered(select(Delivery), filters).order_by(Delivery.created_at.desc(), Delivery.id)
    total = await session.scalar(_filtered(select(func.count()).select_from(Delivery), filters))
    rows = (await session.execute(query.limit(page.limit).offset(page.offset))).scalars()
    return list(rows), int(total or 0)


async def attempts_of(session: AsyncSession, *, delivery: Delivery) -> list[DeliveryAttempt]:
    """Every attempt of a delivery, first first."""
    query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id).order_by(DeliveryAttempt.number)
    return list((await session.execute(query.order_by(DeliveryAttempt.id))).scalars())


async def subject_of(session: AsyncSession, *, delivery: Delivery) -> str:
    """The subject of the delivery's message."""
    return str(await session.scalar(select(Notification.subject).where(Notification.id == delivery.notification_id)))


def _requeue(delivery: Delivery, now: datetime) -> None:
    move(delivery, "pending")
    delivery.attempts, delivery.next_attempt_at, delivery.claimed_until, delivery.updated_at = 0, now, None, now


async def replay_delivery(session: AsyncSession, *, delivery: Delivery, now: datetime) -> Delivery:
    """Put a dead delivery back in the queue with a fresh round of attempts (the earlier ones stay in the log);
    anything but a dead delivery is a 409."""
    if delivery.status != "dead":
        raise Conflict(f"Only dead deliveries are replayed; this one is {delivery.status}")
    _requeue(delivery, now)
    await session.flush()
    return delivery


async def replay_dead(
    session: AsyncSession, *, filters: DeliveryFilters, now: datetime, limit: int = 500
) -> list[Delivery]:
    """Put every dead delivery matching the filters back in the queue (up to ``limit``)."""
    query = _filtered(select(Delivery), filters.model_copy(update={"status": "dead"})).order_by(Delivery.created_at)
    deliveries = list((await session.execute(query.limit(limit))).scalars())
    for delivery in deliveries:
        _requeue(delivery, now)
    await session.flush()
    return deliveries


async def queue_counts(session: AsyncSession) -> DeliveryStats:
    """Deliveries by status and by channel × status."""
    rows = (
        await session.execute(
            select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)
        )
    ).all()
    by_status: dict[str, int] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        by_status[status] = by_status.get(status, 0) + int(count)
        by_channel.setdefault(channel, {})[status] = int(count)
    return DeliveryStats(by_status=by_status, by_channel=by_channel)

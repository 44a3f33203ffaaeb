"""HTTP routes of the delivery log (supervisors read it) and replays (admin)."""

from __future__ import annotations

from fastapi import APIRouter

from services.notifications.delivery_log import service
from services.notifications.delivery_log.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryRead,
    DeliveryStats,
    ReplayResult,
)
from services.notifications.deps import Admin, DeliveryFiltersDep, DeliveryForRead, DeliveryForReplay, Overseer, PageDep
from shared.api import Page
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["notifications: delivery log"], responses=PROBLEM_RESPONSES)


@router.get("/notifications/deliveries", summary="The delivery log (filter status, channel, kind, recipient …)")
async def list_deliveries(
    _: Overseer, filters: DeliveryFiltersDep, session: SessionDep, page: PageDep
) -> Page[DeliveryRead]:
    """Every delivery, newest first: in-app, email, webhook and robot, with status, attempts and last error."""
    rows, total = await service.list_deliveries(session, filters=filters, page=page)
    items = [DeliveryRead.model_validate(d) for d in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/notifications/deliveries/stats", summary="The queue by status and channel")
async def delivery_stats(_: Overseer, session: SessionDep) -> DeliveryStats:
    """Counts by status and by channel × status (the same numbers as the metrics)."""
    return await service.queue_counts(session)


@router.get("/notifications/deliveries/{delivery_id}", summary="One delivery and its attempts")
async def get_delivery(delivery: DeliveryForRead, session: SessionDep) -> DeliveryDetail:
    """A delivery, its message subject and every attempt (when, how long, what the other side answered)."""
    attempts = [AttemptRead.model_validate(a) for a in await service.attempts_of(session, delivery=delivery)]
    subject = await service.subject_of(session, delivery=delivery)
    base = DeliveryRead.model_validate(delivery).model_dump()
    return DeliveryDetail(**base, subject=subject, attempt_log=attempts)


@router.post("/notifications/admin/deliveries/{delivery_id}/replay", summary="Replay a dead delivery")
async def replay_delivery(delivery: DeliveryForReplay, session: SessionDep, clock: ClockDep) -> DeliveryRead:
    """Put a dead delivery back in the queue with a fresh round of attempts (409 unless it is dead)."""
    return DeliveryRead.model_validate(await service.replay_delivery(session, delivery=delivery, now=clock.now()))


@router.post("/notifications/admin/deliveries/replay", summary="Replay the dead deliveries a filter selects")
async def replay_deliveries(
    _: Admin, filters: DeliveryFiltersDep, session: SessionDep, clock: ClockDep
) -> ReplayResult:
    """Put up to 500 dead deliveries matching the filters (channel, kind, recipient …) back in the queue."""
    replayed = await service.replay_dead(session, filters=filters, now=clock.now())
    return ReplayResult(replayed=len(replayed), ids=[d.id for d in replayed])

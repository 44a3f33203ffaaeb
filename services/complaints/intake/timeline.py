"""The complaint's timeline: every action recorded once, and the version bump of a changed complaint."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint, TimelineEntry


def record(
    session: AsyncSession,
    complaint: Complaint,
    *,
    at: datetime,
    actor_id: str,
    kind: str,
    body: str = "",
    visibility: str = "internal",
    data: dict[str, Any] | None = None,
) -> None:
    """Add one entry to the complaint's timeline (flushed with the caller's next flush)."""
    session.add(
        TimelineEntry(
            complaint_id=complaint.id,
            at=at,
            actor_id=actor_id,
            kind=kind,
            visibility=visibility,
            body=body,
            data=data or {},
        )
    )


def touch(complaint: Complaint, now: datetime) -> None:
    """A new version of the complaint (its ETag changes)."""
    complaint.version += 1
    complaint.updated_at = now


async def timeline(session: AsyncSession, *, complaint_id: str, visibility: str | None) -> Sequence[TimelineEntry]:
    """The complaint's actions in order (optionally only customer-visible or internal ones)."""
    query = select(TimelineEntry).where(TimelineEntry.complaint_id == complaint_id)
    if visibility is not None:
        query = query.where(TimelineEntry.visibility == visibility)
    return (await session.execute(query.order_by(TimelineEntry.at, TimelineEntry.id))).scalars().all()

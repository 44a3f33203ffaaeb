"""The revisit timer (回访): when a resolved complaint's revisit falls due, and the periodic check that announces
it once (``complaints.revisit_due``) while the complaint still waits for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import sla
from services.complaints.intake.models import Complaint
from services.complaints.intake.timeline import record
from services.complaints.rules import Rules
from shared.bus import Publisher
from shared.events import ComplaintRevisitDue, ComplaintRevisitDueData

# The one state in which a complaint waits for its revisit.
AWAITING_REVISIT = "resolved"


def revisit_due_time(resolved_at: datetime, rules: Rules) -> datetime:
    """When the revisit of a complaint resolved at ``resolved_at`` falls due: ``revisit_after_minutes`` later, in
    calendar or business hours (``revisit_hours_mode``) on the business calendar."""
    return sla.add_minutes(resolved_at, rules.revisit_after_minutes, rules.revisit_hours_mode, rules.calendar)


async def check_due_revisits(
    session: AsyncSession, *, now: datetime, rules: Rules, publisher: Publisher, batch_size: int = 1000
) -> int:
    """Publish ``complaints.revisit_due`` once for every resolved complaint whose revisit came due by ``now``; the
    mark (``revisit_notified_at``) and the event share the caller's transaction, so no pass or restart repeats it.

    A complaint resolved before the revisit timer was stored (no ``revisit_due_at``) gets it from ``resolved_at``
    here first. Returns how many came due.
    """
    query = (
        select(Complaint)
        .where(
            Complaint.state == AWAITING_REVISIT,
            Complaint.revisit_notified_at.is_(None),
            or_(Complaint.revisit_due_at <= now, Complaint.revisit_due_at.is_(None)),
        )
        .order_by(Complaint.resolved_at)
        .limit(batch_size)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # replicas share the work
    due = 0
    for complaint in (await session.execute(query)).scalars().all():
        if complaint.revisit_due_at is None:
            if complaint.resolved_at is None:
                continue
            complaint.revisit_due_at = revisit_due_time(complaint.resolved_at, rules)
        if complaint.revisit_due_at > now:
            continue
        complaint.revisit_notified_at = now
        data = {"due_at": complaint.revisit_due_at.isoformat(), "owner_id": complaint.owner_id}
        record(session, complaint, at=now, actor_id="system", kind="revisit_due", data=data)
        payload = ComplaintRevisitDueData(
            complaint_id=complaint.id,
            owner_id=complaint.owner_id,
            due_at=complaint.revisit_due_at,
            title=complaint.title,
        )
        await publisher.publish(session, ComplaintRevisitDue, payload, account_id=complaint.account_id, time=now)
        due += 1
    await session.flush()
    return due

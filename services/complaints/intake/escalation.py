"""The escalation ladder: owner → KA supervisor (level 1) → director (level 2), each level reached once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint, Escalation
from services.complaints.intake.schemas import ReasonBody
from services.complaints.intake.states import OPEN_STATES
from services.complaints.intake.timeline import record, touch
from services.complaints.rules import Rules
from shared.auth import Principal
from shared.bus import Publisher
from shared.errors import Conflict
from shared.events.catalogue import (
    ComplaintEscalated,
    ComplaintEscalatedData,
)


async def escalate(
    session: AsyncSession,
    *,
    complaint: Complaint,
    reason: str,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
    actor_id: str = "system",
) -> Escalation | None:
    """Move the complaint one rung up the ladder (owner → KA supervisor → director); None at the top."""
    level = complaint.escalation_level + 1
    if level > len(rules.ladder):
        record(session, complaint, at=now, actor_id=actor_id, kind="escalation_skipped", data={"reason": reason})
        return None
    taken = await session.scalar(
        select(Escalation.id).where(Escalation.complaint_id == complaint.id, Escalation.level == level)
    )
    if taken is not None:  # once per level, whatever raced us here
        complaint.escalation_level = level
        return None
    escalated_to = rules.ladder[level - 1]
    escalation = Escalation(complaint_id=complaint.id, level=level, escalated_to=escalated_to, reason=reason, at=now)
    session.add(escalation)
    complaint.escalation_level = level
    touch(complaint, now)
    record(
        session,
        complaint,
        at=now,
        actor_id=actor_id,
        kind="escalated",
        body=f"escalated to level {level}: {escalated_to}",
        data={"level": level, "escalated_to": escalated_to, "reason": reason},
    )
    data = ComplaintEscalatedData(
        complaint_id=complaint.id,
        level=level,
        escalated_to=escalated_to,
        reason=reason,
        severity=complaint.severity,
        owner_id=complaint.owner_id,
    )
    await publisher.publish(session, ComplaintEscalated, data, account_id=complaint.account_id, time=now)
    await session.flush()
    return escalation


async def escalate_by_hand(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: ReasonBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> Escalation | None:
    """A manual escalation of an open complaint (one level up, reason logged)."""
    if complaint.state not in OPEN_STATES:
        raise Conflict(f"Only open complaints can be escalated, not in {complaint.state!r}")
    record(session, complaint, at=now, actor_id=actor.user_id, kind="escalation_requested", body=body.reason)
    return await escalate(
        session,
        complaint=complaint,
        reason="manual",
        now=now,
        rules=rules,
        publisher=publisher,
        actor_id=actor.user_id,
    )


async def escalations_of(session: AsyncSession, *, complaint_id: str) -> Sequence[Escalation]:
    """The ladder rungs reached."""
    query = select(Escalation).where(Escalation.complaint_id == complaint_id).order_by(Escalation.level)
    return (await session.execute(query)).scalars().all()

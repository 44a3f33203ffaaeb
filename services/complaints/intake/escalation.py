"""The escalation ladder: owner → KA supervisor (level 1) → director (level 2), each level reached once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint, Escalation
from services.complaints.intake.schemas import ReasonBody
from services.complaints.intake.states import OPEN_STATES
from services.complaints.intake.timeline import record, touch
from services.complaints.people import DECIDER_ROLES, fitness_problem
from services.complaints.rules import Rules
from shared.auth import Principal
from shared.bus import Publisher
from shared.errors import Conflict
from shared.events.catalogue import (
    ComplaintEscalated,
    ComplaintEscalatedData,
)

log = logging.getLogger("kam.complaints")


# The setting that names each rung (what an unfit target's problem names).
LADDER_SETTINGS = ("escalation_supervisor_id", "escalation_director_id")


def _setting_of(level: int) -> str:
    return LADDER_SETTINGS[level - 1] if level <= len(LADDER_SETTINGS) else f"ladder[{level}]"


async def fit_rung(
    session: AsyncSession, *, complaint: Complaint, level: int, rules: Rules, now: datetime, actor_id: str
) -> tuple[int, str] | None:
    """The first rung from ``level`` up whose configured person is fit (known, active, supervisor or admin);
    each unfit one is skipped, with a timeline entry and a log line naming the setting to fix."""
    for candidate in range(level, len(rules.ladder) + 1):
        target = rules.ladder[candidate - 1]
        problem = await fitness_problem(
            session, user_id=target, account_id=complaint.account_id, field=_setting_of(candidate), roles=DECIDER_ROLES
        )
        if problem is not None:
            record(
                session,
                complaint,
                at=now,
                actor_id=actor_id,
                kind="escalation_target_unfit",
                body=problem,
                data={"level": candidate, "escalated_to": target, "setting": _setting_of(candidate)},
            )
            log.warning("escalation target skipped", extra={"complaint_id": complaint.id, "problem": problem})
            continue
        return candidate, target
    return None


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
    """Move the complaint one rung up the ladder (owner → KA supervisor → director); None at the top.

    A rung whose configured person is not fit is skipped for the next one up; when no rung above is fit, the
    escalation is recorded as skipped and the level stays, so a later trigger tries again once it is fixed.
    """
    if complaint.escalation_level + 1 > len(rules.ladder):
        record(session, complaint, at=now, actor_id=actor_id, kind="escalation_skipped", data={"reason": reason})
        return None
    rung = await fit_rung(
        session, complaint=complaint, level=complaint.escalation_level + 1, rules=rules, now=now, actor_id=actor_id
    )
    if rung is None:
        skipped = {"reason": reason, "why": "no fit escalation target"}
        record(session, complaint, at=now, actor_id=actor_id, kind="escalation_skipped", data=skipped)
        return None
    level, escalated_to = rung
    taken = await session.scalar(
        select(Escalation.id).where(Escalation.complaint_id == complaint.id, Escalation.level == level)
    )
    if taken is not None:  # once per level, whatever raced us here
        complaint.escalation_level = level
        return None
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

"""The escalation ladder: owner → the tier's rungs (named users or roles; by default KA supervisor, director), each
level reached once."""

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
from services.complaints.reference.ladders import Rung, ladder_for, role_holder, settings_ladder
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


async def _rung_target(
    session: AsyncSession, *, complaint: Complaint, rung: Rung, level: int, stored: bool
) -> tuple[str, str | None]:
    """Who a rung names for this complaint, and why they are unfit (None when fit)."""
    field = f"rungs.{level - 1}" if stored else _setting_of(level)
    if rung.role is not None:
        holder = await role_holder(session, role=rung.role, account_id=complaint.account_id)
        return (holder, None) if holder is not None else (rung.name, f"{field}: no active {rung.role} sees the account")
    assert rung.user_id is not None
    problem = await fitness_problem(
        session, user_id=rung.user_id, account_id=complaint.account_id, field=field, roles=DECIDER_ROLES
    )
    return rung.user_id, problem


async def fit_rung(
    session: AsyncSession, *, complaint: Complaint, level: int, rules: Rules, now: datetime, actor_id: str
) -> tuple[int, str] | None:
    """The first rung from ``level`` up whose person is fit (known, active, supervisor or admin; a role rung: its
    first active holder who sees the account); each unfit one is skipped, with a timeline entry and a log line
    naming the setting (or the stored rung) to fix."""
    ladder = await ladder_for(session, account_id=complaint.account_id, rules=rules)
    stored = ladder != settings_ladder(rules)
    for candidate in range(level, len(ladder) + 1):
        rung = ladder[candidate - 1]
        target, problem = await _rung_target(session, complaint=complaint, rung=rung, level=candidate, stored=stored)
        if problem is not None:
            setting = f"escalation-ladders rungs.{candidate - 1}" if stored else _setting_of(candidate)
            record(
                session,
                complaint,
                at=now,
                actor_id=actor_id,
                kind="escalation_target_unfit",
                body=problem,
                data={"level": candidate, "escalated_to": target, "setting": setting},
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
    if complaint.escalation_level + 1 > len(await ladder_for(session, account_id=complaint.account_id, rules=rules)):
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
    """A manual escalation of an open complaint (one level up, reason logged); at the top of the ladder, or with no
    fit rung above, a 409 (nothing happens)."""
    if complaint.state not in OPEN_STATES:
        raise Conflict(f"Only open complaints can be escalated, not in {complaint.state!r}")
    top = len(await ladder_for(session, account_id=complaint.account_id, rules=rules))
    if complaint.escalation_level >= top:
        raise Conflict(
            f"Already at the top of the escalation ladder (level {complaint.escalation_level} of {top})",
            level=complaint.escalation_level,
            top=top,
        )
    record(session, complaint, at=now, actor_id=actor.user_id, kind="escalation_requested", body=body.reason)
    escalation = await escalate(
        session,
        complaint=complaint,
        reason="manual",
        now=now,
        rules=rules,
        publisher=publisher,
        actor_id=actor.user_id,
    )
    if escalation is None:
        raise Conflict("No fit escalation target above this level; fix the ladder", level=complaint.escalation_level)
    return escalation


async def escalations_of(session: AsyncSession, *, complaint_id: str) -> Sequence[Escalation]:
    """The ladder rungs reached."""
    query = select(Escalation).where(Escalation.complaint_id == complaint_id).order_by(Escalation.level)
    return (await session.execute(query)).scalars().all()

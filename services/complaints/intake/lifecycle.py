"""The closed loop (闭环管理): acknowledge, investigate, propose, pause, resolve, revisit, close, reopen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import sla
from services.complaints.improvement import closing
from services.complaints.intake.escalation import escalate
from services.complaints.intake.models import Complaint, PauseRecord, Revisit
from services.complaints.intake.revisits import revisit_due_time
from services.complaints.intake.schemas import AcknowledgeBody, CloseOverride, MessageBody, ReasonBody, RevisitBody
from services.complaints.intake.states import PAUSABLE_STATES, ensure_transition
from services.complaints.intake.timeline import record, touch
from services.complaints.intake.timers import pauses_of_clock, recompute_timers
from services.complaints.models import audit_log
from services.complaints.people import DECIDER_ROLES
from services.complaints.rules import Rules
from shared.audit import record_audit
from shared.auth import Principal
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, Unprocessable
from shared.events.catalogue import (
    ComplaintAcknowledged,
    ComplaintAcknowledgedData,
    ComplaintClosed,
    ComplaintClosedData,
    ComplaintReopened,
    ComplaintReopenedData,
    ComplaintResolved,
    ComplaintResolvedData,
)

# The customer-visible history's entry for a reopen.
REOPENED_NOTICE = "您的投诉已重新打开，我们将继续处理。 / Your complaint was reopened; we are working on it again."


async def _end_pause(session: AsyncSession, complaint: Complaint, now: datetime) -> None:
    if not complaint.paused:
        return
    open_pause = await session.scalar(
        select(PauseRecord).where(PauseRecord.complaint_id == complaint.id, PauseRecord.ended_at.is_(None))
    )
    if open_pause is not None:
        open_pause.ended_at = now
    complaint.paused = False
    await session.flush()


async def _move(
    session: AsyncSession,
    complaint: Complaint,
    target: str,
    *,
    now: datetime,
    actor_id: str,
    body: str = "",
    visibility: str = "internal",
    data: dict[str, Any] | None = None,
) -> None:
    ensure_transition(complaint.state, target)
    await _end_pause(session, complaint, now)
    previous = complaint.state
    complaint.state = target
    touch(complaint, now)
    record(
        session,
        complaint,
        at=now,
        actor_id=actor_id,
        kind=target,
        body=body,
        visibility=visibility,
        data={"from": previous, "to": target, **(data or {})},
    )


def _minutes(value: float) -> int:
    return round(value)


async def acknowledge(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: AcknowledgeBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> Complaint:
    """First response to the customer; stops the first-response timer."""
    await _move(
        session, complaint, "acknowledged", now=now, actor_id=actor.user_id, body=body.message, visibility="customer"
    )
    complaint.acknowledged_at = now
    complaint.last_customer_update_at = now
    complaint.first_response_minutes = _minutes(
        sla.running_minutes(complaint.opened_at, now, mode="calendar", calendar=rules.calendar)
    )
    due = complaint.first_response_due_at
    complaint.first_response_within_sla = complaint.first_response_breached_at is None and (due is None or now <= due)
    await recompute_timers(session, complaint=complaint, rules=rules)
    data = ComplaintAcknowledgedData(
        complaint_id=complaint.id,
        owner_id=complaint.owner_id,
        acknowledged_at=now,
        first_response_minutes=complaint.first_response_minutes,
        within_sla=complaint.first_response_within_sla,
    )
    await publisher.publish(session, ComplaintAcknowledged, data, account_id=complaint.account_id, time=now)
    await session.flush()
    return complaint


async def start_investigation(
    session: AsyncSession, *, complaint: Complaint, body: MessageBody, actor: Principal, now: datetime, rules: Rules
) -> Complaint:
    """Work on the root cause (also the way back from a proposed solution or a reopen)."""
    await _move(session, complaint, "investigating", now=now, actor_id=actor.user_id, body=body.message)
    await recompute_timers(session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def propose_solution(
    session: AsyncSession, *, complaint: Complaint, body: AcknowledgeBody, actor: Principal, now: datetime, rules: Rules
) -> Complaint:
    """Share a proposed solution with the customer (a customer-visible update)."""
    await _move(
        session,
        complaint,
        "solution_proposed",
        now=now,
        actor_id=actor.user_id,
        body=body.message,
        visibility="customer",
    )
    complaint.last_customer_update_at = now
    complaint.update_breached_at = complaint.update_warned_at = None
    await recompute_timers(session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def pause(
    session: AsyncSession, *, complaint: Complaint, body: ReasonBody, actor: Principal, now: datetime, rules: Rules
) -> Complaint:
    """Stop the SLA clock while waiting on the customer (only in such states), logging the reason."""
    if complaint.state not in PAUSABLE_STATES:
        raise Conflict(
            f"The SLA can only be paused while waiting on the customer ({', '.join(PAUSABLE_STATES)}), "
            f"not in {complaint.state!r}",
            current=complaint.state,
        )
    if complaint.paused:
        raise Conflict("The SLA clock is already paused")
    session.add(PauseRecord(complaint_id=complaint.id, started_at=now, reason=body.reason, started_by=actor.user_id))
    complaint.paused = True
    touch(complaint, now)
    record(session, complaint, at=now, actor_id=actor.user_id, kind="sla_paused", body=body.reason)
    await session.flush()
    await recompute_timers(session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def resume(
    session: AsyncSession, *, complaint: Complaint, actor: Principal, now: datetime, rules: Rules
) -> Complaint:
    """Restart a paused SLA clock (the due times move by the paused time)."""
    if not complaint.paused:
        raise Conflict("The SLA clock is not paused")
    await _end_pause(session, complaint, now)
    touch(complaint, now)
    record(session, complaint, at=now, actor_id=actor.user_id, kind="sla_resumed")
    await recompute_timers(session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def resolve(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: AcknowledgeBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> Complaint:
    """Mark the problem solved (customer-visible); measures resolution time without paused time."""
    await _move(
        session, complaint, "resolved", now=now, actor_id=actor.user_id, body=body.message, visibility="customer"
    )
    await recompute_timers(session, complaint=complaint, rules=rules)
    pauses = await pauses_of_clock(session, complaint.id)
    complaint.resolved_at = now
    complaint.last_customer_update_at = now
    complaint.resolution_minutes = _minutes(
        sla.running_minutes(
            complaint.resolution_started_at, now, mode="calendar", calendar=rules.calendar, pauses=pauses
        )
    )
    due = complaint.resolution_due_at
    complaint.resolution_within_sla = complaint.resolution_breached_at is None and (due is None or now <= due)
    # Every leg counts: MTTR sums the legs' minutes, SLA compliance judges each leg.
    complaint.resolution_legs = (complaint.resolution_legs or 0) + 1
    complaint.resolution_legs_met = (complaint.resolution_legs_met or 0) + int(complaint.resolution_within_sla)
    complaint.resolution_minutes_total = (complaint.resolution_minutes_total or 0) + complaint.resolution_minutes
    complaint.update_due_at = None
    # The revisit timer starts: ``complaints.revisit_due`` once it comes due while still resolved.
    complaint.revisit_due_at, complaint.revisit_notified_at = revisit_due_time(now, rules), None
    data = ComplaintResolvedData(
        complaint_id=complaint.id,
        owner_id=complaint.owner_id,
        resolved_at=now,
        resolution_minutes=complaint.resolution_minutes,
        within_sla=complaint.resolution_within_sla,
    )
    await publisher.publish(session, ComplaintResolved, data, account_id=complaint.account_id, time=now)
    await session.flush()
    return complaint


async def _reopen(
    session: AsyncSession,
    complaint: Complaint,
    *,
    reason: str,
    actor_id: str,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> None:
    await _move(session, complaint, "reopened", now=now, actor_id=actor_id, body=reason)
    complaint.reopen_count += 1
    # What the customer's history shows (the reason itself may be internal).
    record(
        session,
        complaint,
        at=now,
        actor_id=actor_id,
        kind="case_reopened",
        body=REOPENED_NOTICE,
        visibility="customer",
        data={"reopen_count": complaint.reopen_count},
    )
    complaint.resolution_started_at = now
    complaint.resolved_at = None
    complaint.resolution_minutes = None
    complaint.resolution_within_sla = None
    complaint.resolution_warned_at = None
    complaint.resolution_breached_at = None
    complaint.update_breached_at = complaint.update_warned_at = None
    complaint.closed_at = None
    complaint.revisit_due_at, complaint.revisit_notified_at = None, None  # no revisit awaited until resolved again
    complaint.last_customer_update_at = now
    await recompute_timers(session, complaint=complaint, rules=rules)
    data = ComplaintReopenedData(complaint_id=complaint.id, reopen_count=complaint.reopen_count, reason=reason)
    await publisher.publish(session, ComplaintReopened, data, account_id=complaint.account_id, time=now)
    await session.flush()
    if complaint.reopen_count >= rules.reopen_escalation_count:
        await escalate(
            session,
            complaint=complaint,
            reason="reopened",
            now=now,
            rules=rules,
            publisher=publisher,
            actor_id=actor_id,
        )


async def reopen(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: ReasonBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> Complaint:
    """Reopen after resolution, revisit or closure; the resolution clock restarts; the Nth reopen escalates."""
    await _reopen(
        session, complaint, reason=body.reason, actor_id=actor.user_id, now=now, rules=rules, publisher=publisher
    )
    return complaint


async def record_revisit(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: RevisitBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
    answered_by: str = "owner",
) -> Complaint:
    """Revisit after resolution (回访): satisfaction 1–5 and comment, or a waiver; low satisfaction acts.

    ``answered_by`` marks who gave it: the owner entering it, or the customer through a revisit survey link."""
    satisfaction, comment, waiver_reason = body.satisfaction, body.comment, body.waiver_reason
    if satisfaction is None and not waiver_reason:
        raise Unprocessable("A revisit needs a satisfaction (1–5) or a waiver reason", field="satisfaction")
    if satisfaction is not None and waiver_reason is not None:
        raise Unprocessable("A revisit has a satisfaction or a waiver, never both", field="waiver_reason")
    if waiver_reason is not None and not DECIDER_ROLES & actor.roles:
        raise Forbidden("Waiving the revisit needs a supervisor's approval: a supervisor records the waiver")
    if satisfaction is not None and not (comment or "").strip():
        raise Unprocessable("A satisfaction rating needs the customer's comment", field="comment")
    waived = satisfaction is None
    state_before = complaint.state
    await _move(
        session,
        complaint,
        "revisited",
        now=now,
        actor_id=actor.user_id,
        body=comment or waiver_reason or "",
        data={"satisfaction": satisfaction, "waived": waived, "answered_by": answered_by},
    )
    session.add(
        Revisit(
            complaint_id=complaint.id,
            at=now,
            by=actor.user_id,
            satisfaction=satisfaction,
            comment=comment,
            waived=waived,
            waiver_reason=waiver_reason if waived else None,
            answered_by=answered_by,
        )
    )
    complaint.satisfaction = satisfaction
    complaint.waived = waived
    await session.flush()
    if waived:  # closing the loop without the customer's word is the sensitive case (a rating is the norm)
        await record_audit(
            session,
            audit_log,
            actor_id=actor.user_id,
            action="revisit.waived",
            object_type="complaint",
            object_id=complaint.id,
            before={"state": state_before, "waived": False},
            after={"state": complaint.state, "waived": True, "waiver_reason": waiver_reason},
            at=now,
        )
    if satisfaction is not None and satisfaction <= rules.low_satisfaction_threshold:
        if rules.low_satisfaction_action == "reopen":
            reason = f"low satisfaction ({satisfaction}/5): {comment}"
            await _reopen(
                session, complaint, reason=reason, actor_id=actor.user_id, now=now, rules=rules, publisher=publisher
            )
        else:
            await escalate(
                session,
                complaint=complaint,
                reason="low_satisfaction",
                now=now,
                rules=rules,
                publisher=publisher,
                actor_id=actor.user_id,
            )
    return complaint


async def close(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: MessageBody,
    actor: Principal,
    now: datetime,
    publisher: Publisher,
    override: CloseOverride | None = None,
) -> Complaint:
    """Close the loop after the revisit (satisfaction confirmed or waived). Open tasks, actions not verified
    effective or undecided remedies refuse it (409 naming them) unless a supervisor overrides with a reason."""
    ensure_transition(complaint.state, "closed")
    work = await closing.open_work(session, complaint_id=complaint.id)
    reason = override.reason if override is not None else None
    closing.require_override(work, actor=actor, override_reason=reason)
    state_before = complaint.state
    await _move(session, complaint, "closed", now=now, actor_id=actor.user_id, body=body.message)
    complaint.closed_at = now
    if work and reason is not None:
        await closing.record_override(
            session, complaint=complaint, work=work, actor=actor, reason=reason, state_before=state_before, now=now
        )
    data = ComplaintClosedData(
        complaint_id=complaint.id,
        owner_id=complaint.owner_id,
        closed_at=now,
        satisfaction=complaint.satisfaction,
        waived=complaint.waived,
    )
    await publisher.publish(session, ComplaintClosed, data, account_id=complaint.account_id, time=now)
    await session.flush()
    return complaint


async def revisits_of(session: AsyncSession, *, complaint_id: str) -> Sequence[Revisit]:
    """The revisits made."""
    query = select(Revisit).where(Revisit.complaint_id == complaint_id).order_by(Revisit.at, Revisit.id)
    return (await session.execute(query)).scalars().all()


async def pauses_of(session: AsyncSession, *, complaint_id: str) -> Sequence[PauseRecord]:
    """The SLA pauses with their reasons."""
    query = select(PauseRecord).where(PauseRecord.complaint_id == complaint_id).order_by(PauseRecord.started_at)
    return (await session.execute(query)).scalars().all()

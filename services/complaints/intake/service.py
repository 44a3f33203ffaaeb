"""Intake and ownership: register a complaint with its one owner and timers, hand it over, add notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from services.complaints.intake.models import Complaint, TimelineEntry
from services.complaints.intake.schemas import AssignBody, ComplaintCreate, NoteBody
from services.complaints.intake.states import OWNED_STATES
from services.complaints.intake.timeline import record, touch
from services.complaints.intake.timers import evaluate_timers, recompute_timers
from services.complaints.models import new_id, platform
from services.complaints.people import fitness_problem, require_worker
from services.complaints.reference.matrix import intake_severity
from services.complaints.reference.models import Category
from services.complaints.reference.service import DEFAULT_TIER
from services.complaints.rules import Rules
from shared.auth import Principal, ensure_account_access
from shared.bus import Publisher
from shared.errors import Conflict, Unprocessable
from shared.events import ComplaintAssigned, ComplaintAssignedData, ComplaintOpened, ComplaintOpenedData

MAX_BACKDATE_DAYS = 90


def _check_received_at(received_at: datetime | None, now: datetime) -> None:
    if received_at is not None and received_at > now + timedelta(minutes=5):
        raise Unprocessable("received_at cannot be in the future", field="received_at")
    if received_at is not None and received_at < now - timedelta(days=MAX_BACKDATE_DAYS):
        raise Unprocessable(f"received_at is more than {MAX_BACKDATE_DAYS} days ago", field="received_at")


async def choose_owner(
    session: AsyncSession, *, body: ComplaintCreate, account: dict[str, Any], actor: Principal
) -> tuple[str, str]:
    """The one owner and where it came from: the named ``owner_id`` (refused with 422 when unfit), else the
    account's owner, else the actor who logs it — the first of these two who is fit (known, active, may work
    complaints and sees the account); neither fit is a 422 asking for an ``owner_id``."""
    account_id = account["account_id"]
    if body.owner_id is not None:
        await require_worker(session, user_id=body.owner_id, field="owner_id", account_id=account_id)
        return body.owner_id, "named"
    problems = []
    tried: set[str] = set()
    for candidate, source in ((account.get("owner_id"), "account_owner"), (actor.user_id, "actor")):
        if candidate is None or candidate in tried:
            continue
        tried.add(candidate)
        problem = await fitness_problem(session, user_id=candidate, account_id=account_id)
        if problem is None:
            return candidate, source
        problems.append(problem)
    raise Unprocessable(
        "owner_id: no fit owner for this complaint; name one (" + "; ".join(problems) + ")", field="owner_id"
    )


async def open_complaint(
    session: AsyncSession,
    *,
    body: ComplaintCreate,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> Complaint:
    """Register a complaint: one fit owner (the account's owner unless named), timers from the tier's policy.

    The account must be one the actor may see (404 otherwise). ``received_at`` (when the customer actually
    complained) starts the SLA clocks if given.
    """
    account = await ensure_account_access(session, platform, actor, body.account_id, write=True)
    _check_received_at(body.received_at, now)
    opened_at = body.received_at.astimezone(UTC) if body.received_at is not None else now
    known = await session.get(Category, body.category)
    if known is None or not known.active:
        raise Unprocessable(f"Unknown complaint category {body.category!r}", field="category")
    severity = await intake_severity(session, severity=body.severity, impact=body.impact, urgency=body.urgency)
    owner_id, owner_source = await choose_owner(session, body=body, account=account, actor=actor)
    complaint = Complaint(
        id=new_id(),
        account_id=account["account_id"],
        title=body.title,
        description=body.description,
        channel=body.channel,
        category=body.category,
        severity=severity,
        impact=body.impact,
        urgency=body.urgency,
        reporter_name=body.reporter_name,
        reporter_contact=body.reporter_contact,
        attachments=[a.model_dump() for a in body.attachments],
        state="new",
        owner_id=owner_id,
        opened_by=actor.user_id,
        opened_at=opened_at,
        policy_tier=DEFAULT_TIER,
        hours_mode="calendar",
        resolution_started_at=opened_at,
        reopen_count=0,
        escalation_level=0,
        paused=False,
        waived=False,
        version=1,
        updated_at=now,
    )
    session.add(complaint)
    set_committed_value(complaint, "category_entry", known)  # its labels, as a loaded complaint has them
    await session.flush()
    await recompute_timers(session, complaint=complaint, rules=rules)
    record(
        session,
        complaint,
        at=opened_at,
        actor_id=actor.user_id,
        kind="opened",
        body=body.description,
        data={"owner_id": complaint.owner_id, "owner_source": owner_source, "policy_tier": complaint.policy_tier},
    )
    await _announce_intake(session, complaint=complaint, actor=actor, now=now, publisher=publisher)
    await session.flush()
    # A complaint logged late may already be past its targets: breach and escalate at once.
    await evaluate_timers(session, complaint=complaint, now=now, rules=rules, publisher=publisher)
    return complaint


async def _announce_intake(
    session: AsyncSession, *, complaint: Complaint, actor: Principal, now: datetime, publisher: Publisher
) -> None:
    """``complaints.opened`` and the first ``complaints.assigned`` (the owner it got at intake)."""
    data = ComplaintOpenedData(
        complaint_id=complaint.id,
        category=complaint.category,
        severity=complaint.severity,
        owner_id=complaint.owner_id,
        opened_at=complaint.opened_at,
        first_response_due_at=complaint.first_response_due_at,
        resolution_due_at=complaint.resolution_due_at,
    )
    await publisher.publish(session, ComplaintOpened, data, account_id=complaint.account_id, time=now)
    await publish_assigned(
        session, complaint=complaint, previous_owner_id=None, assigned_by=actor.user_id, now=now, publisher=publisher
    )


async def publish_assigned(
    session: AsyncSession,
    *,
    complaint: Complaint,
    previous_owner_id: str | None,
    assigned_by: str,
    now: datetime,
    publisher: Publisher,
) -> None:
    """``complaints.assigned``: the complaint got its (new) owner, in the transaction that gave it."""
    if complaint.owner_id is None:
        return
    data = ComplaintAssignedData(
        complaint_id=complaint.id,
        owner_id=complaint.owner_id,
        previous_owner_id=previous_owner_id,
        assigned_by=assigned_by,
        severity=complaint.severity,
        title=complaint.title,
    )
    await publisher.publish(session, ComplaintAssigned, data, account_id=complaint.account_id, time=now)


async def _hand_over(
    session: AsyncSession,
    complaint: Complaint,
    *,
    owner_id: str,
    reason: str,
    actor_id: str,
    now: datetime,
    publisher: Publisher,
    warning: str | None = None,
) -> None:
    if owner_id == complaint.owner_id:
        raise Conflict(f"{owner_id} already owns this complaint")
    previous = complaint.owner_id
    complaint.owner_id = owner_id
    touch(complaint, now)
    data: dict[str, Any] = {"from": previous, "to": owner_id}
    if warning is not None:
        data["warning"] = warning
    record(session, complaint, at=now, actor_id=actor_id, kind="owner_changed", body=reason, data=data)
    await publish_assigned(
        session, complaint=complaint, previous_owner_id=previous, assigned_by=actor_id, now=now, publisher=publisher
    )
    await session.flush()


async def reassign(
    session: AsyncSession,
    *,
    complaint: Complaint,
    body: AssignBody,
    actor: Principal,
    now: datetime,
    publisher: Publisher,
) -> Complaint:
    """Hand the complaint to a new single owner (audited in the timeline, ``complaints.assigned`` published): a fit
    user who sees the account."""
    await require_worker(session, user_id=body.owner_id, field="owner_id", account_id=complaint.account_id)
    await _hand_over(
        session,
        complaint,
        owner_id=body.owner_id,
        reason=body.reason,
        actor_id=actor.user_id,
        now=now,
        publisher=publisher,
    )
    return complaint


async def follow_account_owner(
    session: AsyncSession,
    *,
    account_id: str,
    old_owner_id: str | None,
    new_owner_id: str,
    now: datetime,
    publisher: Publisher,
) -> int:
    """Hand the account's complaints that still need their owner (open, resolved awaiting the revisit, revisited
    awaiting closing) from its former owner to the new one; the account's owner is authoritative, so an unfit
    new owner (e.g. not yet in the users projection) still takes them, with a warning in the timeline."""
    if old_owner_id is None or old_owner_id == new_owner_id:
        return 0
    query = select(Complaint).where(
        Complaint.account_id == account_id,
        Complaint.state.in_(OWNED_STATES),
        Complaint.owner_id == old_owner_id,
    )
    complaints = (await session.execute(query)).scalars().all()
    warning = await fitness_problem(session, user_id=new_owner_id, account_id=account_id) if complaints else None
    for complaint in complaints:
        await _hand_over(
            session,
            complaint,
            owner_id=new_owner_id,
            reason="account owner changed",
            actor_id="system",
            now=now,
            publisher=publisher,
            warning=warning,
        )
    return len(complaints)


async def add_note(
    session: AsyncSession, *, complaint: Complaint, body: NoteBody, actor: Principal, now: datetime, rules: Rules
) -> TimelineEntry:
    """An internal note, or an update shared with the customer (which restarts the update timer)."""
    entry = TimelineEntry(
        complaint_id=complaint.id,
        at=now,
        actor_id=actor.user_id,
        kind="note",
        visibility=body.visibility,
        body=body.body,
        data={},
    )
    session.add(entry)
    if body.visibility == "customer":
        complaint.last_customer_update_at = now
        complaint.update_breached_at = complaint.update_warned_at = None
        await recompute_timers(session, complaint=complaint, rules=rules)
    touch(complaint, now)
    await session.flush()
    return entry

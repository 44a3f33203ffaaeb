"""Improvement (价值提升): the root cause, corrective and preventive actions, goodwill remedies, analytics facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.config import DEFAULT_REMEDY_APPROVAL_LIMITS
from services.complaints.improvement.analytics import AnalyticsNames, ComplaintFacts
from services.complaints.improvement.models import ImprovementAction, Remedy
from services.complaints.improvement.report import report_names
from services.complaints.improvement.schemas import (
    ActionCreate,
    ActionStatusBody,
    ActionVerification,
    RemedyCreate,
    RemedyDecision,
    RootCauseBody,
)
from services.complaints.intake.models import Complaint
from services.complaints.intake.queries import visible_complaints
from services.complaints.intake.schemas import ComplaintFilters
from services.complaints.intake.timeline import record, touch
from services.complaints.models import audit_log, new_id, platform
from services.complaints.people import DECIDER_ROLES, fitness_problem, require_worker
from services.complaints.reference.models import Category
from shared.audit import record_audit, snapshot
from shared.auth import Principal
from shared.errors import Conflict, InvalidTransition, Unprocessable

# An action's status moves: open ⇄ done at any time (marking it again restamps it).
# A done action counts only once verified effective (the verification step: ``verify_action``); verified is final.
ACTION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("open", "done"),
    "done": ("open", "done"),
    "verified": (),
}
# A remedy is decided once: approved or rejected, and stays so; above the approver's limit the first approval
# waits for a second approver (four eyes).
REMEDY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("approved", "rejected", "awaiting_second"),
    "awaiting_second": ("approved", "rejected"),
    "approved": (),
    "rejected": (),
}
# The audit log's name of each remedy decision.
REMEDY_AUDIT_ACTIONS = {
    "approved": "remedy.approved",
    "rejected": "remedy.rejected",
    "awaiting_second": "remedy.first_approved",
}


async def set_root_cause(
    session: AsyncSession, *, complaint: Complaint, body: RootCauseBody, actor: Principal, now: datetime
) -> Complaint:
    """Record the root cause (a taxonomy category and a description)."""
    if await session.get(Category, body.category) is None:
        raise Unprocessable(f"Unknown root-cause category {body.category!r}", field="category")
    complaint.root_cause_category, complaint.root_cause_description = body.category, body.description
    touch(complaint, now)
    record(
        session,
        complaint,
        at=now,
        actor_id=actor.user_id,
        kind="root_cause",
        body=body.description,
        data={"category": body.category},
    )
    await session.flush()
    return complaint


async def add_action(
    session: AsyncSession, *, complaint: Complaint, body: ActionCreate, actor: Principal, now: datetime
) -> ImprovementAction:
    """A corrective or preventive action with its owner (a fit user who sees the account) and due date."""
    await require_worker(session, user_id=body.owner_id, field="owner_id", account_id=complaint.account_id)
    action = ImprovementAction(
        id=new_id(),
        complaint_id=complaint.id,
        kind=body.kind,
        description=body.description,
        owner_id=body.owner_id,
        due_at=body.due_at.astimezone(UTC),
        status="open",
        created_at=now,
    )
    session.add(action)
    record(
        session,
        complaint,
        at=now,
        actor_id=actor.user_id,
        kind=f"{body.kind}_action",
        body=body.description,
        data={"id": action.id},
    )
    await session.flush()
    return action


async def set_action_status(
    session: AsyncSession,
    *,
    complaint: Complaint,
    action: ImprovementAction,
    body: ActionStatusBody,
    actor: Principal,
    now: datetime,
) -> ImprovementAction:
    """Track an improvement action to done."""
    allowed = ACTION_TRANSITIONS[action.status]
    if body.status not in allowed:
        raise InvalidTransition(
            f"An action {action.status} cannot become {body.status}", current=action.status, allowed=allowed
        )
    action.status = body.status
    action.done_at = now if body.status == "done" else None
    record(session, complaint, at=now, actor_id=actor.user_id, kind=f"action_{body.status}", data={"id": action.id})
    await session.flush()
    return action


async def verify_action(
    session: AsyncSession,
    *,
    complaint: Complaint,
    action: ImprovementAction,
    body: ActionVerification,
    actor: Principal,
    now: datetime,
) -> ImprovementAction:
    """The verification step of a done action, by someone other than its owner: effective → ``verified`` (only
    now it counts as done); not effective → open again for rework. Who judged it, when and why stay on it."""
    if action.status != "done":
        raise InvalidTransition(
            f"Only a done action is verified; this one is {action.status}",
            current=action.status,
            allowed=ACTION_TRANSITIONS[action.status],
        )
    if action.owner_id == actor.user_id:
        raise Conflict("An action is verified by someone other than its owner")
    action.effective, action.verification_note = body.effective, body.note
    action.verified_by, action.verified_at = actor.user_id, now
    action.status = "verified" if body.effective else "open"
    if not body.effective:
        action.done_at = None
    kind = "action_verified" if body.effective else "action_ineffective"
    record(session, complaint, at=now, actor_id=actor.user_id, kind=kind, body=body.note, data={"id": action.id})
    await session.flush()
    return action


async def actions_of(session: AsyncSession, *, complaint_id: str) -> Sequence[ImprovementAction]:
    """The improvement actions of a complaint."""
    query = select(ImprovementAction).where(ImprovementAction.complaint_id == complaint_id)
    return (await session.execute(query.order_by(ImprovementAction.due_at))).scalars().all()


async def add_remedy(
    session: AsyncSession, *, complaint: Complaint, body: RemedyCreate, actor: Principal, now: datetime
) -> Remedy:
    """Propose a goodwill remedy (awaits approval)."""
    remedy = Remedy(
        id=new_id(),
        complaint_id=complaint.id,
        kind=body.kind,
        description=body.description,
        value=body.value,
        currency=body.currency,
        status="proposed",
        proposed_by=actor.user_id,
        created_at=now,
    )
    session.add(remedy)
    record(
        session,
        complaint,
        at=now,
        actor_id=actor.user_id,
        kind="remedy_proposed",
        body=body.description,
        data={"id": remedy.id, "value": str(body.value), "currency": body.currency},
    )
    await session.flush()
    return remedy


ApprovalLimits = Mapping[str, Mapping[str, Decimal]]


def single_approver_limit(actor: Principal, currency: str, limits: ApprovalLimits) -> Decimal | None:
    """The most goodwill in ``currency`` the actor's roles may approve alone (None: no limit configured, so
    always a second approver)."""
    own = [limits[role][currency] for role in actor.roles if currency in limits.get(role, {})]
    return max(own) if own else None


async def approved_total(session: AsyncSession, *, complaint_id: str, currency: str) -> Decimal:
    """The complaint's approved goodwill in one currency (amounts of different currencies are never added)."""
    total = await session.scalar(
        select(func.sum(Remedy.value)).where(
            Remedy.complaint_id == complaint_id, Remedy.status == "approved", Remedy.currency == currency
        )
    )
    return Decimal(total or 0)


async def _decision_target(
    session: AsyncSession, *, remedy: Remedy, approve: bool, actor: Principal, limits: ApprovalLimits
) -> tuple[str, dict[str, str | None]]:
    """Where the decision takes the remedy, and the limit check behind it (for the audit log)."""
    if not approve:
        return "rejected", {}
    if remedy.status != "proposed":
        return "approved", {}
    limit = single_approver_limit(actor, remedy.currency, limits)
    total = await approved_total(session, complaint_id=remedy.complaint_id, currency=remedy.currency) + remedy.value
    check = {"limit": None if limit is None else str(limit), "total_with_this": str(total)}
    return ("approved" if limit is not None and total <= limit else "awaiting_second"), check


async def decide_remedy(
    session: AsyncSession,
    *,
    complaint: Complaint,
    remedy: Remedy,
    body: RemedyDecision,
    actor: Principal,
    now: datetime,
    limits: ApprovalLimits | None = None,
) -> Remedy:
    """Approve or reject a proposed remedy (once, and never by its proposer). Approval within the approver's limit
    for the currency (by role, over the complaint's approved total in that currency with this one) is final;
    above it the remedy awaits a second, different approver (four eyes)."""
    limits = DEFAULT_REMEDY_APPROVAL_LIMITS if limits is None else limits
    target, check = await _decision_target(session, remedy=remedy, approve=body.approve, actor=actor, limits=limits)
    allowed = REMEDY_TRANSITIONS[remedy.status]
    if target not in allowed:
        raise InvalidTransition(f"The remedy is already {remedy.status}", current=remedy.status, allowed=allowed)
    if remedy.proposed_by == actor.user_id:
        raise Conflict("A remedy must be approved by someone other than its proposer")
    if remedy.first_approved_by == actor.user_id:
        raise Conflict("The second approval must come from someone other than the first approver")
    await require_worker(
        session, user_id=actor.user_id, field="approver", account_id=complaint.account_id, roles=DECIDER_ROLES
    )
    before = snapshot(remedy, REMEDY_AUDIT)
    remedy.status = target
    if target == "awaiting_second":
        remedy.first_approved_by, remedy.first_approved_at = actor.user_id, now
    else:
        remedy.decided_by, remedy.decided_at = actor.user_id, now
    record(
        session,
        complaint,
        at=now,
        actor_id=actor.user_id,
        kind=f"remedy_{remedy.status}",
        data={"id": remedy.id, **check},
    )
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=REMEDY_AUDIT_ACTIONS[target],
        object_type="remedy",
        object_id=remedy.id,
        before={**before, "complaint_id": complaint.id},
        after={**snapshot(remedy, REMEDY_AUDIT), **check},
        at=now,
    )
    return remedy


# What the audit log shows of a remedy decision.
REMEDY_AUDIT = (
    "status",
    "kind",
    "value",
    "currency",
    "proposed_by",
    "first_approved_by",
    "first_approved_at",
    "decided_by",
    "decided_at",
)


async def remedies_of(session: AsyncSession, *, complaint_id: str) -> Sequence[Remedy]:
    """The goodwill remedies of a complaint."""
    query = select(Remedy).where(Remedy.complaint_id == complaint_id).order_by(Remedy.created_at)
    return (await session.execute(query)).scalars().all()


async def analytics_facts(
    session: AsyncSession, *, actor: Principal, filters: ComplaintFilters
) -> list[ComplaintFacts]:
    """The facts of every visible complaint opened in the period (``filters``: account and opened_at range)."""
    accounts = platform.accounts
    subquery = visible_complaints(actor, filters).subquery()
    joined = select(subquery, accounts.c.name.label("account_name")).outerjoin(
        accounts, accounts.c.account_id == subquery.c.account_id
    )
    rows = (await session.execute(joined)).mappings().all()
    return [
        ComplaintFacts(
            complaint_id=r["id"],
            account_id=r["account_id"],
            account_name=r["account_name"] or "",
            owner_id=r["owner_id"],
            category=r["category"],
            severity=r["severity"],
            opened_at=r["opened_at"],
            first_response_minutes=r["first_response_minutes"],
            first_response_within_sla=r["first_response_within_sla"],
            first_response_breached=r["first_response_breached_at"] is not None,
            resolved_at=r["resolved_at"],
            resolution_minutes=r["resolution_minutes"],
            resolution_within_sla=r["resolution_within_sla"],
            resolution_breached=r["resolution_breached_at"] is not None,
            closed_at=r["closed_at"],
            reopen_count=r["reopen_count"],
            satisfaction=r["satisfaction"],
            root_cause_category=r["root_cause_category"],
            title=r["title"],
            state=r["state"],
            tier=r["policy_tier"],
            resolution_legs=r["resolution_legs"],
            resolution_legs_met=r["resolution_legs_met"],
            resolution_minutes_total=r["resolution_minutes_total"],
        )
        for r in rows
    ]


async def analytics_names(session: AsyncSession, facts: Sequence[ComplaintFacts]) -> AnalyticsNames:
    """The 中文 category labels and the owners' display names the per-complaint export shows."""
    return await report_names(session, {f.owner_id for f in facts if f.owner_id})


async def follow_account_owner_actions(
    session: AsyncSession, *, account_id: str, old_owner_id: str | None, new_owner_id: str, now: datetime
) -> int:
    """Hand the former account owner's open improvement actions on the account's complaints to the new owner —
    only when the former owner can no longer work on the account; returns how many moved."""
    if old_owner_id is None or old_owner_id == new_owner_id:
        return 0
    if await fitness_problem(session, user_id=old_owner_id, account_id=account_id) is None:
        return 0
    rows = (
        await session.execute(
            select(ImprovementAction, Complaint)
            .join(Complaint, Complaint.id == ImprovementAction.complaint_id)
            .where(
                Complaint.account_id == account_id,
                ImprovementAction.status == "open",
                ImprovementAction.owner_id == old_owner_id,
            )
        )
    ).all()
    for action, complaint in rows:
        action.owner_id = new_owner_id
        data = {"id": action.id, "from": old_owner_id, "to": new_owner_id}
        record(session, complaint, at=now, actor_id="system", kind="action_reassigned", data=data)
    await session.flush()
    return len(rows)

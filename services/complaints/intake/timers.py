"""Stored SLA timers: recomputed from the policy in force, judged at a moment, woken by the periodic check."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import sla
from services.complaints.intake.escalation import escalate
from services.complaints.intake.models import Complaint, PauseRecord
from services.complaints.intake.states import OPEN_STATES
from services.complaints.intake.timeline import record, touch
from services.complaints.models import platform
from services.complaints.reference.models import ANY, Category, SlaPolicy
from services.complaints.reference.schemas import PolicyBody
from services.complaints.reference.service import DEFAULT_TIER, policy_for, save_policy
from services.complaints.rules import Rules
from shared.auth import Principal
from shared.bus import Publisher
from shared.events import ComplaintSlaBreached, ComplaintSlaData, ComplaintSlaWarning
from shared.events.catalogue import SlaTimer


async def pauses_of_clock(session: AsyncSession, complaint_id: str) -> list[sla.Pause]:
    """The complaint's SLA pauses as (started, ended or None) for the arithmetic."""
    rows = (
        await session.execute(
            select(PauseRecord).where(PauseRecord.complaint_id == complaint_id).order_by(PauseRecord.started_at)
        )
    ).scalars()
    return [(p.started_at, p.ended_at) for p in rows]


def policy_targets(policy: SlaPolicy) -> sla.Targets:
    """A stored policy's targets for the arithmetic."""
    return sla.Targets(
        first_response_minutes=policy.first_response_minutes,
        update_interval_minutes=policy.update_interval_minutes,
        resolution_minutes=policy.resolution_minutes,
        mode="business" if policy.hours_mode == "business" else "calendar",
        warning_ratio=float(policy.warning_ratio),
    )


async def account_tier(session: AsyncSession, account_id: str) -> str | None:
    """The account's current tier in the projection."""
    accounts = platform.accounts
    return await session.scalar(select(accounts.c.tier).where(accounts.c.account_id == account_id))


async def recompute_timers(session: AsyncSession, *, complaint: Complaint, rules: Rules) -> SlaPolicy:
    """Recompute the stored due and warning times from the policy of the account's current tier."""
    tier = await account_tier(session, complaint.account_id)
    policy = await policy_for(
        session, tier=tier, severity=complaint.severity, category=complaint.category, channel=complaint.channel
    )
    complaint.policy_tier = policy.tier
    complaint.policy_category, complaint.policy_channel = policy.category, policy.channel
    complaint.hours_mode = policy.hours_mode
    update_since = None
    if complaint.state in OPEN_STATES and complaint.state != "new":
        update_since = complaint.last_customer_update_at or complaint.acknowledged_at or complaint.opened_at
    due = sla.deadlines(
        policy_targets(policy),
        opened_at=complaint.opened_at,
        resolution_started_at=complaint.resolution_started_at,
        update_since=update_since,
        calendar=rules.calendar,
        pauses=await pauses_of_clock(session, complaint.id),
    )
    complaint.first_response_due_at = due.first_response.due_at
    complaint.first_response_warning_at = due.first_response.warning_at
    complaint.resolution_due_at, complaint.resolution_warning_at = due.resolution.due_at, due.resolution.warning_at
    update = due.customer_update
    complaint.update_due_at = update.due_at if update is not None else None
    complaint.update_warning_at = update.warning_at if update is not None else None
    return policy


async def preview_deadlines(
    session: AsyncSession,
    *,
    tier: str | None,
    severity: str,
    received_at: datetime,
    rules: Rules,
    category: str | None = None,
    channel: str | None = None,
) -> tuple[SlaPolicy, sla.Deadlines]:
    """What intake would store for a complaint of this tier and severity received at ``received_at`` (the same
    policy lookup and arithmetic; the customer-update timer as if the customer were updated at ``received_at``)."""
    policy = await policy_for(session, tier=tier, severity=severity, category=category, channel=channel)
    due = sla.deadlines(
        policy_targets(policy),
        opened_at=received_at,
        resolution_started_at=received_at,
        update_since=received_at,
        calendar=rules.calendar,
    )
    return policy, due


def timer_states(complaint: Complaint, now: datetime) -> dict[str, Any]:
    """The SLA state of a complaint at ``now``: each timer and an overall state (breached > warning > ok)."""
    open_ = complaint.state in OPEN_STATES
    first = sla.sla_state(
        now=now,
        due=complaint.first_response_due_at,
        warning=complaint.first_response_warning_at,
        met_at=complaint.acknowledged_at,
        breached=complaint.first_response_breached_at is not None,
    )
    resolution = sla.sla_state(
        now=now,
        due=complaint.resolution_due_at,
        warning=complaint.resolution_warning_at,
        met_at=complaint.resolved_at,
        breached=complaint.resolution_breached_at is not None,
        paused=complaint.paused,
    )
    update: sla.SlaState = "none"
    if open_ and complaint.state != "new":
        update = sla.sla_state(
            now=now,
            due=complaint.update_due_at,
            warning=complaint.update_warning_at,
            breached=complaint.update_breached_at is not None,
            paused=complaint.paused,
        )
    running = [
        s
        for s, active in (
            (first, complaint.acknowledged_at is None),
            (resolution, complaint.resolved_at is None),
            (update, True),
        )
        if active
    ]
    if not open_:
        overall = "met" if "breached" not in (first, resolution) else "breached"
    elif "breached" in running:
        overall = "breached"
    elif "warning" in running:
        overall = "warning"
    elif complaint.paused:
        overall = "paused"
    else:
        overall = "ok"
    candidates = [
        d
        for d, active in (
            (complaint.first_response_due_at, complaint.acknowledged_at is None),
            (complaint.resolution_due_at, complaint.resolved_at is None),
            (complaint.update_due_at, True),
        )
        if active and d is not None
    ]
    return {
        "state": overall,
        "first_response": first,
        "resolution": resolution,
        "customer_update": update,
        "next_due_at": min(candidates) if open_ and candidates else None,
        "warning": overall == "warning",
        "breached": overall == "breached",
        "paused": complaint.paused,
    }


def _system_entry(session: AsyncSession, complaint: Complaint, now: datetime, kind: str, timer: str) -> None:
    record(session, complaint, at=now, actor_id="system", kind=kind, data={"timer": timer})


# The timeline names the update timer ``customer_update``; the events (and notifications) call it ``update``.
_ENTRY_TIMER: dict[SlaTimer, str] = {"update": "customer_update"}
_BREACH_REASON: dict[SlaTimer, str] = {
    "first_response": "first_response_breach",
    "resolution": "resolution_breach",
    "update": "update_breach",
}


def due_time(complaint: Complaint, timer: SlaTimer) -> datetime | None:
    """The stored due time of one of the complaint's timers."""
    if timer == "first_response":
        return complaint.first_response_due_at
    return complaint.resolution_due_at if timer == "resolution" else complaint.update_due_at


@dataclass
class _Judgement:
    """One judgement of a complaint's timers at ``now``: what it records, publishes and escalates (each once)."""

    session: AsyncSession
    complaint: Complaint
    now: datetime
    rules: Rules
    publisher: Publisher
    happened: list[str] = field(default_factory=list)

    async def publish(self, event_type: type[ComplaintSlaWarning | ComplaintSlaBreached], timer: SlaTimer) -> None:
        """``complaints.sla_warning`` / ``sla_breached`` for ``timer`` (in the transaction of its mark)."""
        complaint = self.complaint
        data = ComplaintSlaData(
            complaint_id=complaint.id,
            timer=timer,
            due_at=due_time(complaint, timer),
            severity=complaint.severity,
            tier=await account_tier(self.session, complaint.account_id),
            owner_id=complaint.owner_id,
            title=complaint.title,
        )
        await self.publisher.publish(self.session, event_type, data, account_id=complaint.account_id, time=self.now)

    async def warn(self, timer: SlaTimer) -> None:
        """The warning point passed: recorded once; published unless the timer is already due (the breach the
        same pass records says more)."""
        _system_entry(self.session, self.complaint, self.now, "sla_warning", _ENTRY_TIMER.get(timer, timer))
        self.happened.append(f"{timer}_warning")
        due_at = due_time(self.complaint, timer)
        if due_at is not None and self.now < due_at:
            await self.publish(ComplaintSlaWarning, timer)

    async def breach(self, timer: SlaTimer) -> None:
        """The due time passed: recorded and published once, and the complaint goes one rung up the ladder."""
        _system_entry(self.session, self.complaint, self.now, "sla_breached", _ENTRY_TIMER.get(timer, timer))
        await self.publish(ComplaintSlaBreached, timer)
        await escalate(
            self.session,
            complaint=self.complaint,
            reason=_BREACH_REASON[timer],
            now=self.now,
            rules=self.rules,
            publisher=self.publisher,
        )
        self.happened.append(f"{timer}_breach")


def _reached(moment: datetime | None, mark: datetime | None, now: datetime) -> bool:
    return moment is not None and mark is None and now >= moment


async def evaluate_timers(
    session: AsyncSession, *, complaint: Complaint, now: datetime, rules: Rules, publisher: Publisher
) -> list[str]:
    """Record warnings and breaches that are due at ``now`` (each once, its mark and its event in the caller's
    transaction, so a second pass or a restart never repeats them); a breach escalates one level."""
    if complaint.state not in OPEN_STATES or complaint.paused:
        return []
    c, judge = complaint, _Judgement(session, complaint, now, rules, publisher)
    if c.acknowledged_at is None:
        if _reached(c.first_response_warning_at, c.first_response_warned_at, now):
            c.first_response_warned_at = now
            await judge.warn("first_response")
        if _reached(c.first_response_due_at, c.first_response_breached_at, now):
            c.first_response_breached_at = now
            await judge.breach("first_response")
    if _reached(c.resolution_warning_at, c.resolution_warned_at, now):
        c.resolution_warned_at = now
        await judge.warn("resolution")
    if _reached(c.resolution_due_at, c.resolution_breached_at, now):
        c.resolution_breached_at = now
        await judge.breach("resolution")
    if c.state != "new" and _reached(c.update_warning_at, c.update_warned_at, now):
        c.update_warned_at = now
        await judge.warn("update")
    if c.state != "new" and _reached(c.update_due_at, c.update_breached_at, now):
        c.update_breached_at = now
        await judge.breach("update")
    if judge.happened:
        touch(complaint, now)
    await session.flush()
    return judge.happened


async def check_sla_timers(
    session: AsyncSession, *, now: datetime, rules: Rules, publisher: Publisher, batch_size: int = 1000
) -> dict[str, int]:
    """Compare every stored timer with ``now``: record warnings and breaches, escalate (the periodic job)."""
    c = Complaint
    due = or_(
        and_(c.acknowledged_at.is_(None), c.first_response_warned_at.is_(None), c.first_response_warning_at <= now),
        and_(c.acknowledged_at.is_(None), c.first_response_breached_at.is_(None), c.first_response_due_at <= now),
        and_(c.resolution_warned_at.is_(None), c.resolution_warning_at <= now),
        and_(c.resolution_breached_at.is_(None), c.resolution_due_at <= now),
        and_(c.update_warned_at.is_(None), c.update_warning_at <= now),
        and_(c.update_breached_at.is_(None), c.update_due_at <= now),
    )
    query = (
        select(Complaint)
        .where(Complaint.state.in_(OPEN_STATES), Complaint.paused.is_(False), due)
        .order_by(Complaint.opened_at)
        .limit(batch_size)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Several replicas may run the job at once: each takes the complaints no other pass holds.
        query = query.with_for_update(skip_locked=True)
    counts: dict[str, int] = {}
    for complaint in (await session.execute(query)).scalars().all():
        for what in await evaluate_timers(session, complaint=complaint, now=now, rules=rules, publisher=publisher):
            counts[what] = counts.get(what, 0) + 1
    return counts


def _for_recompute(session: AsyncSession, query: Select[Complaint]) -> Select[Complaint]:
    """Complaints to recompute and judge, in id order; on PostgreSQL locked, so that a periodic pass holding one
    finishes first and its warnings and breaches are seen here as marked (never published twice)."""
    query = query.order_by(Complaint.id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return query


async def apply_tier_change(
    session: AsyncSession, *, account_id: str, now: datetime, rules: Rules, publisher: Publisher
) -> int:
    """Put the account's open complaints on the policy of its current tier; returns how many changed."""
    query = select(Complaint).where(Complaint.account_id == account_id, Complaint.state.in_(OPEN_STATES))
    query = _for_recompute(session, query)
    changed = 0
    for complaint in (await session.execute(query)).scalars().all():
        before = (complaint.policy_tier, complaint.first_response_due_at, complaint.resolution_due_at)
        await recompute_timers(session, complaint=complaint, rules=rules)
        if (complaint.policy_tier, complaint.first_response_due_at, complaint.resolution_due_at) == before:
            continue
        changed += 1
        record(
            session,
            complaint,
            at=now,
            actor_id="system",
            kind="policy_changed",
            data={"from": before[0], "to": complaint.policy_tier, "why": "tier_changed"},
        )
        touch(complaint, now)
        await evaluate_timers(session, complaint=complaint, now=now, rules=rules, publisher=publisher)
    await session.flush()
    return changed


def _due_times(complaint: Complaint) -> tuple[datetime | None, ...]:
    return (
        complaint.first_response_due_at,
        complaint.first_response_warning_at,
        complaint.resolution_due_at,
        complaint.resolution_warning_at,
        complaint.update_due_at,
    )


async def apply_calendar_change(session: AsyncSession, *, now: datetime, rules: Rules, publisher: Publisher) -> int:
    """Recompute the timers of every open complaint on business hours (the calendar changed); returns how many
    moved (each of those gets a new version and a ``calendar_changed`` timeline entry, and is judged at once)."""
    query = select(Complaint).where(Complaint.state.in_(OPEN_STATES), Complaint.hours_mode == "business")
    query = _for_recompute(session, query)
    moved = 0
    for complaint in (await session.execute(query)).scalars().all():
        before = _due_times(complaint)
        await recompute_timers(session, complaint=complaint, rules=rules)
        if _due_times(complaint) == before:
            continue
        moved += 1
        data = {"calendar": rules.calendar.code, "first_response_due_at": _iso(complaint.first_response_due_at)}
        data["resolution_due_at"] = _iso(complaint.resolution_due_at)
        record(session, complaint, at=now, actor_id="system", kind="calendar_changed", data=data)
        touch(complaint, now)
        await evaluate_timers(session, complaint=complaint, now=now, rules=rules, publisher=publisher)
    await session.flush()
    return moved


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def update_policy(
    session: AsyncSession,
    *,
    tier: str,
    severity: str,
    body: PolicyBody,
    actor: Principal,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
    category: str = ANY,
    channel: str = ANY,
) -> tuple[SlaPolicy, int]:
    """Change one policy and recompute the timers of every open complaint it governs (or may now govern)."""
    policy = await save_policy(
        session, tier=tier, severity=severity, body=body, actor=actor, now=now, category=category, channel=channel
    )
    accounts = platform.accounts
    query = select(Complaint).where(Complaint.state.in_(OPEN_STATES), Complaint.severity == severity)
    if channel != ANY:
        query = query.where((Complaint.channel == channel) | (Complaint.policy_channel == channel))
    if category != ANY:
        family = select(Category.code).where((Category.code == category) | (Category.parent_code == category))
        query = query.where(Complaint.category.in_(family) | (Complaint.policy_category == category))
    if tier != DEFAULT_TIER:
        query = query.where(
            Complaint.account_id.in_(select(accounts.c.account_id).where(accounts.c.tier == tier))
            | (Complaint.policy_tier == tier)
        )
    recomputed = 0
    for complaint in (await session.execute(_for_recompute(session, query))).scalars().all():
        await recompute_timers(session, complaint=complaint, rules=rules)
        touch(complaint, now)
        await evaluate_timers(session, complaint=complaint, now=now, rules=rules, publisher=publisher)
        recomputed += 1
    await session.flush()
    return policy, recomputed

"""The complaints domain: intake, one owner, closed-loop states, SLA timers, escalation, task force, improvement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints import sla
from services.complaints.config import ComplaintsSettings
from services.complaints.models import (
    Category,
    Complaint,
    Escalation,
    ImprovementAction,
    PauseRecord,
    Remedy,
    Revisit,
    SlaPolicy,
    TaskForceTask,
    TimelineEntry,
    platform,
)
from shared.bus import add_event
from shared.errors import Conflict, InvalidTransition, NotFound, Unprocessable
from shared.events import (
    ComplaintAcknowledged,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintReopened,
    ComplaintResolved,
    EventBase,
)

SEVERITIES = ("low", "medium", "high", "critical")
TIERS = ("strategic", "key", "growth", "maintain")
DEFAULT_TIER = "default"
DEPARTMENTS = ("after_sales", "product", "quality", "logistics", "legal", "finance")
MAX_BACKDATE_DAYS = 90
CHANNELS = ("phone", "email", "wechat", "visit", "portal", "letter", "other")

STATES = (
    "new",
    "acknowledged",
    "investigating",
    "solution_proposed",
    "resolved",
    "revisited",
    "closed",
    "reopened",
)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged",),
    "acknowledged": ("investigating", "solution_proposed", "resolved"),
    "investigating": ("solution_proposed", "resolved"),
    "solution_proposed": ("investigating", "resolved"),
    "resolved": ("revisited", "reopened"),
    "revisited": ("closed", "reopened"),
    "closed": ("reopened",),
    "reopened": ("investigating", "solution_proposed", "resolved"),
}
OPEN_STATES = ("new", "acknowledged", "investigating", "solution_proposed", "reopened")
# The SLA clock may stop only while we wait on the customer (to accept the proposed solution).
PAUSABLE_STATES = ("solution_proposed",)

DEFAULT_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("product_quality", "产品质量", "Product quality"),
    ("delivery_timeliness", "交付时效", "Delivery timeliness"),
    ("communication_efficiency", "沟通效率", "Communication efficiency"),
    ("billing_pricing", "账单与价格", "Billing and pricing"),
    ("service_attitude", "服务态度", "Service attitude"),
    ("contract_compliance", "合同与合规", "Contract and compliance"),
    ("other", "其他", "Other"),
)

_H = 60
# (first response, customer update interval, resolution) in minutes, per tier and severity.
DEFAULT_POLICIES: dict[str, dict[str, tuple[int, int, int]]] = {
    DEFAULT_TIER: {
        "critical": (24 * _H, 24 * _H, 72 * _H),
        "high": (24 * _H, 48 * _H, 120 * _H),
        "medium": (24 * _H, 72 * _H, 168 * _H),
        "low": (24 * _H, 120 * _H, 240 * _H),
    },
    "strategic": {
        "critical": (4 * _H, 8 * _H, 24 * _H),
        "high": (8 * _H, 12 * _H, 48 * _H),
        "medium": (12 * _H, 24 * _H, 96 * _H),
        "low": (24 * _H, 48 * _H, 168 * _H),
    },
    "key": {
        "critical": (8 * _H, 12 * _H, 48 * _H),
        "high": (12 * _H, 24 * _H, 72 * _H),
        "medium": (24 * _H, 48 * _H, 120 * _H),
        "low": (24 * _H, 72 * _H, 240 * _H),
    },
}
for _tier in ("growth", "maintain"):
    DEFAULT_POLICIES[_tier] = dict(DEFAULT_POLICIES[DEFAULT_TIER])


@dataclass(frozen=True)
class Rules:
    """The configurable rules of the closed loop and the SLA calendar."""

    calendar: sla.BusinessCalendar
    low_satisfaction_threshold: int = 2
    low_satisfaction_action: str = "reopen"
    reopen_escalation_count: int = 2
    ladder: tuple[str, ...] = ("sup-wang", "director")


def rules_from_settings(settings: ComplaintsSettings) -> Rules:
    """Build the rules (and the business calendar) from settings."""
    files: list[Path | str] = list(settings.holiday_files) or list(sla.DEFAULT_HOLIDAY_FILES)
    calendar = sla.load_calendar(
        files,
        timezone=settings.business_timezone,
        day_start=settings.business_day_start,
        day_end=settings.business_day_end,
        extra_holidays=settings.extra_holidays,
        extra_workdays=settings.extra_workdays,
    )
    return Rules(
        calendar=calendar,
        low_satisfaction_threshold=settings.low_satisfaction_threshold,
        low_satisfaction_action=settings.low_satisfaction_action,
        reopen_escalation_count=settings.reopen_escalation_count,
        ladder=(settings.escalation_supervisor_id, settings.escalation_director_id),
    )


def new_id() -> str:
    """A fresh identifier."""
    return str(uuid.uuid4())


# ---------------------------------------------------------------- reference data


async def seed_reference_data(*, session: AsyncSession, now: datetime) -> None:
    """Insert the default taxonomy and SLA policies that are missing (never overwrites edits)."""
    existing = set((await session.execute(select(Category.code))).scalars())
    for position, (code, zh, en) in enumerate(DEFAULT_CATEGORIES):
        if code not in existing:
            session.add(Category(code=code, label_zh=zh, label_en=en, active=True, position=position))
    have = {(p.tier, p.severity) for p in (await session.execute(select(SlaPolicy))).scalars()}
    for tier, by_severity in DEFAULT_POLICIES.items():
        for severity, (first, update, resolution) in by_severity.items():
            if (tier, severity) not in have:
                session.add(
                    SlaPolicy(
                        tier=tier,
                        severity=severity,
                        first_response_minutes=first,
                        update_interval_minutes=update,
                        resolution_minutes=resolution,
                        hours_mode="calendar",
                        warning_ratio=Decimal("0.75"),
                        version=1,
                        updated_at=now,
                        updated_by="system",
                    )
                )
    await session.flush()


async def list_categories(*, session: AsyncSession, include_inactive: bool = False) -> Sequence[Category]:
    """The complaint taxonomy in display order."""
    query = select(Category).order_by(Category.position, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return (await session.execute(query)).scalars().all()


async def upsert_category(*, session: AsyncSession, code: str, label_zh: str, label_en: str, active: bool) -> Category:
    """Add or relabel a category."""
    category = await session.get(Category, code)
    if category is None:
        position = len((await session.execute(select(Category.code))).scalars().all())
        category = Category(code=code, label_zh=label_zh, label_en=label_en, active=active, position=position)
        session.add(category)
    else:
        category.label_zh, category.label_en, category.active = label_zh, label_en, active
    await session.flush()
    return category


async def list_policies(*, session: AsyncSession) -> Sequence[SlaPolicy]:
    """Every SLA policy (tier × severity)."""
    return (await session.execute(select(SlaPolicy).order_by(SlaPolicy.tier, SlaPolicy.severity))).scalars().all()


async def policy_for(*, session: AsyncSession, tier: str | None, severity: str) -> SlaPolicy:
    """The policy for an account tier and severity (the default tier's when the tier has none)."""
    for candidate in (tier or DEFAULT_TIER, DEFAULT_TIER):
        policy = await session.get(SlaPolicy, (candidate, severity))
        if policy is not None:
            return policy
    raise NotFound(f"No SLA policy for severity {severity}")


# ---------------------------------------------------------------- timeline, events


def _log(
    session: AsyncSession,
    complaint: Complaint,
    *,
    at: datetime,
    actor: str,
    kind: str,
    body: str = "",
    visibility: str = "internal",
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        TimelineEntry(
            complaint_id=complaint.id,
            at=at,
            actor_id=actor,
            kind=kind,
            visibility=visibility,
            body=body,
            data=data or {},
        )
    )


async def _publish(session: AsyncSession, event: EventBase) -> None:
    await add_event(session, platform.outbox, event)


def _touch(complaint: Complaint, now: datetime) -> None:
    complaint.version += 1
    complaint.updated_at = now


def ensure_transition(complaint: Complaint, target: str) -> None:
    """Refuse a state change the state machine does not allow (409 with the allowed targets)."""
    allowed = TRANSITIONS[complaint.state]
    if target not in allowed:
        raise InvalidTransition(
            f"A complaint in state {complaint.state!r} cannot move to {target!r}",
            current=complaint.state,
            allowed=allowed,
        )


# ---------------------------------------------------------------- SLA timers


async def _pauses(session: AsyncSession, complaint_id: str) -> list[sla.Pause]:
    rows = (
        await session.execute(
            select(PauseRecord).where(PauseRecord.complaint_id == complaint_id).order_by(PauseRecord.started_at)
        )
    ).scalars()
    return [(p.started_at, p.ended_at) for p in rows]


async def recompute_timers(*, session: AsyncSession, complaint: Complaint, rules: Rules) -> SlaPolicy:
    """Recompute the stored due and warning times from the policy of the account's current tier."""
    accounts = platform.accounts
    tier = await session.scalar(select(accounts.c.tier).where(accounts.c.account_id == complaint.account_id))
    policy = await policy_for(session=session, tier=tier, severity=complaint.severity)
    complaint.policy_tier = policy.tier
    complaint.hours_mode = policy.hours_mode
    mode: sla.HoursMode = "business" if policy.hours_mode == "business" else "calendar"
    ratio = float(policy.warning_ratio)
    pauses = await _pauses(session, complaint.id)
    first = sla.deadline(
        complaint.opened_at,
        policy.first_response_minutes,
        warning_ratio=ratio,
        mode=mode,
        calendar=rules.calendar,
        pauses=pauses,
    )
    complaint.first_response_due_at, complaint.first_response_warning_at = first.due_at, first.warning_at
    resolution_pauses = [p for p in pauses if p[1] is None or p[1] > complaint.resolution_started_at]
    resolution = sla.deadline(
        complaint.resolution_started_at,
        policy.resolution_minutes,
        warning_ratio=ratio,
        mode=mode,
        calendar=rules.calendar,
        pauses=resolution_pauses,
    )
    complaint.resolution_due_at, complaint.resolution_warning_at = resolution.due_at, resolution.warning_at
    if complaint.state in OPEN_STATES and complaint.state != "new":
        since = complaint.last_customer_update_at or complaint.acknowledged_at or complaint.opened_at
        complaint.update_due_at = sla.due_at(
            since,
            policy.update_interval_minutes,
            mode=mode,
            calendar=rules.calendar,
            pauses=[p for p in pauses if p[1] is None or p[1] > since],
        )
    else:
        complaint.update_due_at = None
    return policy


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
            warning=None,
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


async def escalate(
    *, session: AsyncSession, complaint: Complaint, reason: str, now: datetime, rules: Rules, actor: str = "system"
) -> Escalation | None:
    """Move the complaint one rung up the ladder (owner → KA supervisor → director); None at the top."""
    level = complaint.escalation_level + 1
    if level > len(rules.ladder):
        _log(session, complaint, at=now, actor=actor, kind="escalation_skipped", data={"reason": reason})
        return None
    taken = await session.scalar(
        select(Escalation.id).where(Escalation.complaint_id == complaint.id, Escalation.level == level)
    )
    if taken is not None:  # once per level, whatever raced us here
        complaint.escalation_level = level
        return None
    escalated_to = rules.ladder[level - 1]
    record = Escalation(complaint_id=complaint.id, level=level, escalated_to=escalated_to, reason=reason, at=now)
    session.add(record)
    complaint.escalation_level = level
    _touch(complaint, now)
    _log(
        session,
        complaint,
        at=now,
        actor=actor,
        kind="escalated",
        body=f"escalated to level {level}: {escalated_to}",
        data={"level": level, "escalated_to": escalated_to, "reason": reason},
    )
    await _publish(
        session,
        ComplaintEscalated(
            source="complaints",
            time=now,
            account_id=complaint.account_id,
            data={
                "complaint_id": complaint.id,
                "level": level,
                "escalated_to": escalated_to,
                "reason": reason,
                "severity": complaint.severity,
                "owner_id": complaint.owner_id,
            },
        ),
    )
    await session.flush()
    return record


async def evaluate_timers(*, session: AsyncSession, complaint: Complaint, now: datetime, rules: Rules) -> list[str]:
    """Record warnings and breaches that are due at ``now`` (each once); a breach escalates one level."""
    happened: list[str] = []
    if complaint.state not in OPEN_STATES or complaint.paused:
        return happened
    if complaint.acknowledged_at is None:
        if (
            complaint.first_response_warning_at is not None
            and complaint.first_response_warned_at is None
            and now >= complaint.first_response_warning_at
        ):
            complaint.first_response_warned_at = now
            _log(session, complaint, at=now, actor="system", kind="sla_warning", data={"timer": "first_response"})
            happened.append("first_response_warning")
        if (
            complaint.first_response_due_at is not None
            and complaint.first_response_breached_at is None
            and now >= complaint.first_response_due_at
        ):
            complaint.first_response_breached_at = now
            _log(session, complaint, at=now, actor="system", kind="sla_breached", data={"timer": "first_response"})
            await escalate(session=session, complaint=complaint, reason="first_response_breach", now=now, rules=rules)
            happened.append("first_response_breach")
    if (
        complaint.resolution_warning_at is not None
        and complaint.resolution_warned_at is None
        and now >= complaint.resolution_warning_at
    ):
        complaint.resolution_warned_at = now
        _log(session, complaint, at=now, actor="system", kind="sla_warning", data={"timer": "resolution"})
        happened.append("resolution_warning")
    if (
        complaint.resolution_due_at is not None
        and complaint.resolution_breached_at is None
        and now >= complaint.resolution_due_at
    ):
        complaint.resolution_breached_at = now
        _log(session, complaint, at=now, actor="system", kind="sla_breached", data={"timer": "resolution"})
        await escalate(session=session, complaint=complaint, reason="resolution_breach", now=now, rules=rules)
        happened.append("resolution_breach")
    if (
        complaint.state != "new"
        and complaint.update_due_at is not None
        and complaint.update_breached_at is None
        and now >= complaint.update_due_at
    ):
        complaint.update_breached_at = now
        _log(session, complaint, at=now, actor="system", kind="sla_breached", data={"timer": "customer_update"})
        await escalate(session=session, complaint=complaint, reason="update_breach", now=now, rules=rules)
        happened.append("update_breach")
    if happened:
        _touch(complaint, now)
    await session.flush()
    return happened


async def check_sla_timers(
    *, session: AsyncSession, now: datetime, rules: Rules, batch_size: int = 1000
) -> dict[str, int]:
    """Compare every stored timer with ``now``: record warnings and breaches, escalate (the periodic job)."""
    c = Complaint
    due = or_(
        and_(c.acknowledged_at.is_(None), c.first_response_warned_at.is_(None), c.first_response_warning_at <= now),
        and_(c.acknowledged_at.is_(None), c.first_response_breached_at.is_(None), c.first_response_due_at <= now),
        and_(c.resolution_warned_at.is_(None), c.resolution_warning_at <= now),
        and_(c.resolution_breached_at.is_(None), c.resolution_due_at <= now),
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
        for what in await evaluate_timers(session=session, complaint=complaint, now=now, rules=rules):
            counts[what] = counts.get(what, 0) + 1
    return counts


async def apply_tier_change(*, session: AsyncSession, account_id: str, now: datetime, rules: Rules) -> int:
    """Put the account's open complaints on the policy of its current tier; returns how many changed."""
    complaints = (
        (
            await session.execute(
                select(Complaint).where(Complaint.account_id == account_id, Complaint.state.in_(OPEN_STATES))
            )
        )
        .scalars()
        .all()
    )
    changed = 0
    for complaint in complaints:
        before = (complaint.policy_tier, complaint.first_response_due_at, complaint.resolution_due_at)
        await recompute_timers(session=session, complaint=complaint, rules=rules)
        if (complaint.policy_tier, complaint.first_response_due_at, complaint.resolution_due_at) == before:
            continue
        changed += 1
        _log(
            session,
            complaint,
            at=now,
            actor="system",
            kind="policy_changed",
            data={"from": before[0], "to": complaint.policy_tier, "why": "tier_changed"},
        )
        _touch(complaint, now)
        await evaluate_timers(session=session, complaint=complaint, now=now, rules=rules)
    await session.flush()
    return changed


async def follow_account_owner(
    *, session: AsyncSession, account_id: str, old_owner_id: str | None, new_owner_id: str, now: datetime
) -> int:
    """Hand the account's open complaints owned by its former owner to the new owner (who can see them)."""
    if old_owner_id is None or old_owner_id == new_owner_id:
        return 0
    query = select(Complaint).where(
        Complaint.account_id == account_id,
        Complaint.state.in_(OPEN_STATES),
        Complaint.owner_id == old_owner_id,
    )
    complaints = (await session.execute(query)).scalars().all()
    for complaint in complaints:
        await reassign(
            session=session,
            complaint=complaint,
            actor="system",
            now=now,
            owner_id=new_owner_id,
            reason="account owner changed",
        )
    return len(complaints)


async def update_policy(
    *,
    session: AsyncSession,
    tier: str,
    severity: str,
    first_response_minutes: int,
    update_interval_minutes: int,
    resolution_minutes: int,
    hours_mode: str,
    warning_ratio: Decimal,
    actor: str,
    now: datetime,
    rules: Rules,
) -> tuple[SlaPolicy, int]:
    """Change one policy and recompute the timers of every open complaint it governs."""
    policy = await session.get(SlaPolicy, (tier, severity))
    if policy is None:
        policy = SlaPolicy(tier=tier, severity=severity, version=0)
        session.add(policy)
    policy.first_response_minutes = first_response_minutes
    policy.update_interval_minutes = update_interval_minutes
    policy.resolution_minutes = resolution_minutes
    policy.hours_mode = hours_mode
    policy.warning_ratio = warning_ratio
    policy.version = (policy.version or 0) + 1
    policy.updated_at, policy.updated_by = now, actor
    await session.flush()
    accounts = platform.accounts
    query = select(Complaint).where(Complaint.state.in_(OPEN_STATES), Complaint.severity == severity)
    if tier != DEFAULT_TIER:
        query = query.where(
            Complaint.account_id.in_(select(accounts.c.account_id).where(accounts.c.tier == tier))
            | (Complaint.policy_tier == tier)
        )
    recomputed = 0
    for complaint in (await session.execute(query)).scalars().all():
        await recompute_timers(session=session, complaint=complaint, rules=rules)
        _touch(complaint, now)
        await evaluate_timers(session=session, complaint=complaint, now=now, rules=rules)
        recomputed += 1
    await session.flush()
    return policy, recomputed


# ---------------------------------------------------------------- intake and transitions


async def open_complaint(
    *,
    session: AsyncSession,
    account: dict[str, Any],
    actor: str,
    now: datetime,
    rules: Rules,
    title: str,
    description: str,
    channel: str,
    category: str,
    severity: str,
    reporter_name: str | None = None,
    reporter_contact: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    owner_id: str | None = None,
    received_at: datetime | None = None,
) -> Complaint:
    """Register a complaint: one owner (the account's owner unless named), timers from the tier's policy.

    ``received_at`` (when the customer actually complained) starts the SLA clocks if given.
    """
    if received_at is not None and received_at > now + timedelta(minutes=5):
        raise Unprocessable("received_at cannot be in the future", field="received_at")
    if received_at is not None and received_at < now - timedelta(days=MAX_BACKDATE_DAYS):
        raise Unprocessable(f"received_at is more than {MAX_BACKDATE_DAYS} days ago", field="received_at")
    opened_at = received_at or now
    known = await session.get(Category, category)
    if known is None or not known.active:
        raise Unprocessable(f"Unknown complaint category {category!r}", field="category")
    complaint = Complaint(
        id=new_id(),
        account_id=account["account_id"],
        title=title,
        description=description,
        channel=channel,
        category=category,
        severity=severity,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
        attachments=attachments or [],
        state="new",
        owner_id=owner_id or account.get("owner_id") or actor,
        opened_by=actor,
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
    await session.flush()
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    _log(
        session,
        complaint,
        at=opened_at,
        actor=actor,
        kind="opened",
        body=description,
        data={"owner_id": complaint.owner_id, "policy_tier": complaint.policy_tier},
    )
    await _publish(
        session,
        ComplaintOpened(
            source="complaints",
            time=now,
            account_id=complaint.account_id,
            data={
                "complaint_id": complaint.id,
                "category": category,
                "severity": severity,
                "owner_id": complaint.owner_id,
                "opened_at": opened_at,
                "first_response_due_at": complaint.first_response_due_at,
                "resolution_due_at": complaint.resolution_due_at,
            },
        ),
    )
    await session.flush()
    # A complaint logged late may already be past its targets: breach and escalate at once.
    await evaluate_timers(session=session, complaint=complaint, now=now, rules=rules)
    return complaint


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
    actor: str,
    body: str = "",
    visibility: str = "internal",
    data: dict[str, Any] | None = None,
) -> None:
    ensure_transition(complaint, target)
    await _end_pause(session, complaint, now)
    previous = complaint.state
    complaint.state = target
    _touch(complaint, now)
    _log(
        session,
        complaint,
        at=now,
        actor=actor,
        kind=target,
        body=body,
        visibility=visibility,
        data={"from": previous, "to": target, **(data or {})},
    )


def _minutes(value: float) -> int:
    return round(value)


async def acknowledge(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, message: str
) -> Complaint:
    """First response to the customer; stops the first-response timer."""
    await _move(session, complaint, "acknowledged", now=now, actor=actor, body=message, visibility="customer")
    complaint.acknowledged_at = now
    complaint.last_customer_update_at = now
    complaint.first_response_minutes = _minutes(
        sla.running_minutes(complaint.opened_at, now, mode="calendar", calendar=rules.calendar)
    )
    due = complaint.first_response_due_at
    complaint.first_response_within_sla = complaint.first_response_breached_at is None and (due is None or now <= due)
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    await _publish(
        session,
        ComplaintAcknowledged(
            source="complaints",
            time=now,
            account_id=complaint.account_id,
            data={
                "complaint_id": complaint.id,
                "owner_id": complaint.owner_id,
                "acknowledged_at": now,
                "first_response_minutes": complaint.first_response_minutes,
                "within_sla": complaint.first_response_within_sla,
            },
        ),
    )
    await session.flush()
    return complaint


async def start_investigation(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, note: str = ""
) -> Complaint:
    """Work on the root cause (also the way back from a proposed solution or a reopen)."""
    await _move(session, complaint, "investigating", now=now, actor=actor, body=note)
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def propose_solution(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, solution: str
) -> Complaint:
    """Share a proposed solution with the customer (a customer-visible update)."""
    await _move(session, complaint, "solution_proposed", now=now, actor=actor, body=solution, visibility="customer")
    complaint.last_customer_update_at = now
    complaint.update_breached_at = None
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def pause(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, reason: str
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
    session.add(PauseRecord(complaint_id=complaint.id, started_at=now, reason=reason, started_by=actor))
    complaint.paused = True
    _touch(complaint, now)
    _log(session, complaint, at=now, actor=actor, kind="sla_paused", body=reason)
    await session.flush()
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def resume(*, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules) -> Complaint:
    """Restart a paused SLA clock (the due times move by the paused time)."""
    if not complaint.paused:
        raise Conflict("The SLA clock is not paused")
    await _end_pause(session, complaint, now)
    _touch(complaint, now)
    _log(session, complaint, at=now, actor=actor, kind="sla_resumed")
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    await session.flush()
    return complaint


async def resolve(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, summary: str
) -> Complaint:
    """Mark the problem solved (customer-visible); measures resolution time without paused time."""
    await _move(session, complaint, "resolved", now=now, actor=actor, body=summary, visibility="customer")
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    pauses = await _pauses(session, complaint.id)
    complaint.resolved_at = now
    complaint.last_customer_update_at = now
    complaint.resolution_minutes = _minutes(
        sla.running_minutes(
            complaint.resolution_started_at, now, mode="calendar", calendar=rules.calendar, pauses=pauses
        )
    )
    due = complaint.resolution_due_at
    complaint.resolution_within_sla = complaint.resolution_breached_at is None and (due is None or now <= due)
    complaint.update_due_at = None
    await _publish(
        session,
        ComplaintResolved(
            source="complaints",
            time=now,
            account_id=complaint.account_id,
            data={
                "complaint_id": complaint.id,
                "owner_id": complaint.owner_id,
                "resolved_at": now,
                "resolution_minutes": complaint.resolution_minutes,
                "within_sla": complaint.resolution_within_sla,
            },
        ),
    )
    await session.flush()
    return complaint


async def reopen(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, reason: str
) -> Complaint:
    """Reopen after resolution, revisit or closure; the resolution clock restarts; the Nth reopen escalates."""
    await _move(session, complaint, "reopened", now=now, actor=actor, body=reason)
    complaint.reopen_count += 1
    complaint.resolution_started_at = now
    complaint.resolved_at = None
    complaint.resolution_minutes = None
    complaint.resolution_within_sla = None
    complaint.resolution_warned_at = None
    complaint.resolution_breached_at = None
    complaint.update_breached_at = None
    complaint.closed_at = None
    complaint.last_customer_update_at = now
    await recompute_timers(session=session, complaint=complaint, rules=rules)
    await _publish(
        session,
        ComplaintReopened(
            source="complaints",
            time=now,
            account_id=complaint.account_id,
            data={"complaint_id": complaint.id, "reopen_count": complaint.reopen_count, "reason": reason},
        ),
    )
    await session.flush()
    if complaint.reopen_count >= rules.reopen_escalation_count:
        await escalate(session=session, complaint=complaint, reason="reopened", now=now, rules=rules, actor=actor)
    return complaint


async def record_revisit(
    *,
    session: AsyncSession,
    complaint: Complaint,
    actor: str,
    now: datetime,
    rules: Rules,
    satisfaction: int | None,
    comment: str | None,
    waiver_reason: str | None,
) -> Complaint:
    """Revisit after resolution (回访): satisfaction 1–5 and comment, or a waiver; low satisfaction acts."""
    if satisfaction is None and not waiver_reason:
        raise Unprocessable("A revisit needs a satisfaction (1–5) or a waiver reason", field="satisfaction")
    if satisfaction is not None and not (comment or "").strip():
        raise Unprocessable("A satisfaction rating needs the customer's comment", field="comment")
    waived = satisfaction is None
    await _move(
        session,
        complaint,
        "revisited",
        now=now,
        actor=actor,
        body=comment or waiver_reason or "",
        data={"satisfaction": satisfaction, "waived": waived},
    )
    session.add(
        Revisit(
            complaint_id=complaint.id,
            at=now,
            by=actor,
            satisfaction=satisfaction,
            comment=comment,
            waived=waived,
            waiver_reason=waiver_reason if waived else None,
        )
    )
    complaint.satisfaction = satisfaction
    complaint.waived = waived
    await session.flush()
    if satisfaction is not None and satisfaction <= rules.low_satisfaction_threshold:
        if rules.low_satisfaction_action == "reopen":
            await reopen(
                session=session,
                complaint=complaint,
                actor=actor,
                now=now,
                rules=rules,
                reason=f"low satisfaction ({satisfaction}/5): {comment}",
            )
        else:
            await escalate(
                session=session, complaint=complaint, reason="low_satisfaction", now=now, rules=rules, actor=actor
            )
    return complaint


async def close(*, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, note: str = "") -> Complaint:
    """Close the loop after the revisit (satisfaction confirmed or waived)."""
    await _move(session, complaint, "closed", now=now, actor=actor, body=note)
    complaint.closed_at = now
    await _publish(
        session,
        ComplaintClosed(
            source="complaints",
            time=now,
            account_id=complaint.account_id,
            data={
                "complaint_id": complaint.id,
                "owner_id": complaint.owner_id,
                "closed_at": now,
                "satisfaction": complaint.satisfaction,
                "waived": complaint.waived,
            },
        ),
    )
    await session.flush()
    return complaint


async def reassign(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, owner_id: str, reason: str
) -> Complaint:
    """Hand the complaint to a new single owner (audited in the timeline)."""
    if owner_id == complaint.owner_id:
        raise Conflict(f"{owner_id} already owns this complaint")
    previous = complaint.owner_id
    complaint.owner_id = owner_id
    _touch(complaint, now)
    _log(
        session,
        complaint,
        at=now,
        actor=actor,
        kind="owner_changed",
        body=reason,
        data={"from": previous, "to": owner_id},
    )
    await session.flush()
    return complaint


async def add_note(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, body: str, visibility: str
) -> TimelineEntry:
    """An internal note, or an update shared with the customer (which restarts the update timer)."""
    entry = TimelineEntry(
        complaint_id=complaint.id, at=now, actor_id=actor, kind="note", visibility=visibility, body=body, data={}
    )
    session.add(entry)
    if visibility == "customer":
        complaint.last_customer_update_at = now
        complaint.update_breached_at = None
        await recompute_timers(session=session, complaint=complaint, rules=rules)
    _touch(complaint, now)
    await session.flush()
    return entry


async def timeline(*, session: AsyncSession, complaint_id: str, visibility: str | None) -> Sequence[TimelineEntry]:
    """The complaint's actions in order (optionally only customer-visible or internal ones)."""
    query = select(TimelineEntry).where(TimelineEntry.complaint_id == complaint_id)
    if visibility is not None:
        query = query.where(TimelineEntry.visibility == visibility)
    return (await session.execute(query.order_by(TimelineEntry.at, TimelineEntry.id))).scalars().all()


# ---------------------------------------------------------------- task force and improvement


async def add_task(
    *,
    session: AsyncSession,
    complaint: Complaint,
    actor: str,
    now: datetime,
    department: str,
    title: str,
    assignee_id: str,
    due_at: datetime,
) -> TaskForceTask:
    """Give a department its task; the due date must fall within the customer's resolution SLA."""
    if complaint.state not in OPEN_STATES:
        raise Conflict(f"Tasks can only be added to open complaints, not in {complaint.state!r}")
    if complaint.resolution_due_at is not None and due_at > complaint.resolution_due_at:
        raise Unprocessable(
            f"due_at {due_at.isoformat()} is after the customer's resolution due time "
            f"{complaint.resolution_due_at.isoformat()}",
            field="due_at",
        )
    task = TaskForceTask(
        id=new_id(),
        complaint_id=complaint.id,
        department=department,
        title=title,
        assignee_id=assignee_id,
        due_at=due_at,
        status="open",
        created_at=now,
    )
    session.add(task)
    _touch(complaint, now)
    _log(
        session,
        complaint,
        at=now,
        actor=actor,
        kind="task_added",
        body=title,
        data={"department": department, "assignee_id": assignee_id, "task_id": task.id},
    )
    await session.flush()
    return task


async def tasks_of(*, session: AsyncSession, complaint_id: str) -> Sequence[TaskForceTask]:
    """The task force of a complaint."""
    query = select(TaskForceTask).where(TaskForceTask.complaint_id == complaint_id).order_by(TaskForceTask.due_at)
    return (await session.execute(query)).scalars().all()


async def set_task_status(
    *, session: AsyncSession, complaint: Complaint, task_id: str, status: str, actor: str, now: datetime
) -> TaskForceTask:
    """Mark a task done (or open again)."""
    task = await session.get(TaskForceTask, task_id)
    if task is None or task.complaint_id != complaint.id:
        raise NotFound(f"Task {task_id} not found")
    task.status = status
    task.done_at = now if status == "done" else None
    _log(session, complaint, at=now, actor=actor, kind=f"task_{status}", body=task.title, data={"task_id": task.id})
    await session.flush()
    return task


async def set_root_cause(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, category: str, description: str
) -> Complaint:
    """Record the root cause (a taxonomy category and a description)."""
    if await session.get(Category, category) is None:
        raise Unprocessable(f"Unknown root-cause category {category!r}", field="category")
    complaint.root_cause_category, complaint.root_cause_description = category, description
    _touch(complaint, now)
    _log(session, complaint, at=now, actor=actor, kind="root_cause", body=description, data={"category": category})
    await session.flush()
    return complaint


async def add_action(
    *,
    session: AsyncSession,
    complaint: Complaint,
    actor: str,
    now: datetime,
    kind: str,
    description: str,
    owner_id: str,
    due_at: datetime,
) -> ImprovementAction:
    """A corrective or preventive action with its owner and due date."""
    action = ImprovementAction(
        id=new_id(),
        complaint_id=complaint.id,
        kind=kind,
        description=description,
        owner_id=owner_id,
        due_at=due_at,
        status="open",
        created_at=now,
    )
    session.add(action)
    _log(session, complaint, at=now, actor=actor, kind=f"{kind}_action", body=description, data={"id": action.id})
    await session.flush()
    return action


async def set_action_status(
    *, session: AsyncSession, complaint: Complaint, action_id: str, status: str, actor: str, now: datetime
) -> ImprovementAction:
    """Track an improvement action to done."""
    action = await session.get(ImprovementAction, action_id)
    if action is None or action.complaint_id != complaint.id:
        raise NotFound(f"Action {action_id} not found")
    action.status = status
    action.done_at = now if status == "done" else None
    _log(session, complaint, at=now, actor=actor, kind=f"action_{status}", data={"id": action.id})
    await session.flush()
    return action


async def actions_of(*, session: AsyncSession, complaint_id: str) -> Sequence[ImprovementAction]:
    """The improvement actions of a complaint."""
    query = select(ImprovementAction).where(ImprovementAction.complaint_id == complaint_id)
    return (await session.execute(query.order_by(ImprovementAction.due_at))).scalars().all()


async def add_remedy(
    *,
    session: AsyncSession,
    complaint: Complaint,
    actor: str,
    now: datetime,
    kind: str,
    description: str,
    value: Decimal,
    currency: str,
) -> Remedy:
    """Propose a goodwill remedy (awaits approval)."""
    remedy = Remedy(
        id=new_id(),
        complaint_id=complaint.id,
        kind=kind,
        description=description,
        value=value,
        currency=currency,
        status="proposed",
        proposed_by=actor,
        created_at=now,
    )
    session.add(remedy)
    _log(
        session,
        complaint,
        at=now,
        actor=actor,
        kind="remedy_proposed",
        body=description,
        data={"id": remedy.id, "value": str(value), "currency": currency},
    )
    await session.flush()
    return remedy


async def decide_remedy(
    *, session: AsyncSession, complaint: Complaint, remedy_id: str, approve: bool, actor: str, now: datetime
) -> Remedy:
    """Approve or reject a proposed remedy (once)."""
    remedy = await session.get(Remedy, remedy_id)
    if remedy is None or remedy.complaint_id != complaint.id:
        raise NotFound(f"Remedy {remedy_id} not found")
    if remedy.status != "proposed":
        raise InvalidTransition(f"The remedy is already {remedy.status}", current=remedy.status, allowed=[])
    if remedy.proposed_by == actor:
        raise Conflict("A remedy must be approved by someone other than its proposer")
    remedy.status = "approved" if approve else "rejected"
    remedy.decided_by, remedy.decided_at = actor, now
    _log(session, complaint, at=now, actor=actor, kind=f"remedy_{remedy.status}", data={"id": remedy.id})
    await session.flush()
    return remedy


async def remedies_of(*, session: AsyncSession, complaint_id: str) -> Sequence[Remedy]:
    """The goodwill remedies of a complaint."""
    query = select(Remedy).where(Remedy.complaint_id == complaint_id).order_by(Remedy.created_at)
    return (await session.execute(query)).scalars().all()


async def escalations_of(*, session: AsyncSession, complaint_id: str) -> Sequence[Escalation]:
    """The ladder rungs reached."""
    query = select(Escalation).where(Escalation.complaint_id == complaint_id).order_by(Escalation.level)
    return (await session.execute(query)).scalars().all()


async def revisits_of(*, session: AsyncSession, complaint_id: str) -> Sequence[Revisit]:
    """The revisits made."""
    query = select(Revisit).where(Revisit.complaint_id == complaint_id).order_by(Revisit.at, Revisit.id)
    return (await session.execute(query)).scalars().all()


async def pauses_of(*, session: AsyncSession, complaint_id: str) -> Sequence[PauseRecord]:
    """The SLA pauses with their reasons."""
    query = select(PauseRecord).where(PauseRecord.complaint_id == complaint_id).order_by(PauseRecord.started_at)
    return (await session.execute(query)).scalars().all()


async def escalate_by_hand(
    *, session: AsyncSession, complaint: Complaint, actor: str, now: datetime, rules: Rules, reason: str
) -> Escalation | None:
    """A manual escalation of an open complaint (one level up, reason logged)."""
    if complaint.state not in OPEN_STATES:
        raise Conflict(f"Only open complaints can be escalated, not in {complaint.state!r}")
    _log(session, complaint, at=now, actor=actor, kind="escalation_requested", body=reason)
    return await escalate(session=session, complaint=complaint, reason="manual", now=now, rules=rules, actor=actor)

"""Reference data: the default taxonomy and SLA policies, their upkeep, and the policy for a tier and severity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.models import audit_log
from services.complaints.reference.models import Category, SlaPolicy
from services.complaints.reference.schemas import CategoryBody, PolicyBody
from shared.audit import record_audit, snapshot
from shared.auth import Principal
from shared.errors import NotFound

DEFAULT_TIER = "default"

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


async def seed_reference_data(session: AsyncSession, *, now: datetime) -> None:
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


async def list_categories(session: AsyncSession, *, include_inactive: bool = False) -> Sequence[Category]:
    """The complaint taxonomy in display order."""
    query = select(Category).order_by(Category.position, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return (await session.execute(query)).scalars().all()


async def upsert_category(session: AsyncSession, *, code: str, body: CategoryBody) -> Category:
    """Add or relabel a category."""
    category = await session.get(Category, code)
    if category is None:
        position = len((await session.execute(select(Category.code))).scalars().all())
        category = Category(
            code=code, label_zh=body.label_zh, label_en=body.label_en, active=body.active, position=position
        )
        session.add(category)
    else:
        category.label_zh, category.label_en, category.active = body.label_zh, body.label_en, body.active
    await session.flush()
    return category


async def list_policies(session: AsyncSession) -> Sequence[SlaPolicy]:
    """Every SLA policy (tier × severity)."""
    return (await session.execute(select(SlaPolicy).order_by(SlaPolicy.tier, SlaPolicy.severity))).scalars().all()


async def policy_for(session: AsyncSession, *, tier: str | None, severity: str) -> SlaPolicy:
    """The policy for an account tier and severity (the default tier's when the tier has none)."""
    for candidate in (tier or DEFAULT_TIER, DEFAULT_TIER):
        policy = await session.get(SlaPolicy, (candidate, severity))
        if policy is not None:
            return policy
    raise NotFound(f"No SLA policy for severity {severity}")


async def save_policy(
    session: AsyncSession, *, tier: str, severity: str, body: PolicyBody, actor: Principal, now: datetime
) -> SlaPolicy:
    """Write one policy's targets (a new version); the caller recomputes the timers it governs."""
    policy = await session.get(SlaPolicy, (tier, severity))
    before = snapshot(policy, POLICY_AUDIT) if policy is not None else None
    if policy is None:
        policy = SlaPolicy(tier=tier, severity=severity, version=0)
        session.add(policy)
    policy.first_response_minutes = body.first_response_minutes
    policy.update_interval_minutes = body.update_interval_minutes
    policy.resolution_minutes = body.resolution_minutes
    policy.hours_mode = body.hours_mode
    policy.warning_ratio = body.warning_ratio
    policy.version = (policy.version or 0) + 1
    policy.updated_at, policy.updated_by = now, actor.user_id
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="sla_policy.saved",
        object_type="sla_policy",
        object_id=f"{tier}/{severity}",
        before=before,
        after=snapshot(policy, POLICY_AUDIT),
        at=now,
    )
    return policy


# What the audit log shows of an SLA policy.
POLICY_AUDIT = (
    "first_response_minutes",
    "update_interval_minutes",
    "resolution_minutes",
    "hours_mode",
    "warning_ratio",
    "version",
)

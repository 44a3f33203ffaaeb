"""Reference data: the default taxonomy and SLA policies, their upkeep, and the policy for a tier and severity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.models import audit_log
from services.complaints.reference.matrix import seed_matrix
from services.complaints.reference.models import ANY, Category, SlaPolicy
from services.complaints.reference.schemas import CategoryBody, PolicyBody
from shared.audit import record_audit, snapshot
from shared.auth import Principal
from shared.errors import NotFound, Unprocessable

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
    plain = select(SlaPolicy).where(SlaPolicy.category == ANY, SlaPolicy.channel == ANY)
    have = {(p.tier, p.severity) for p in (await session.execute(plain)).scalars()}
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
    await seed_matrix(session, now=now)


async def list_categories(session: AsyncSession, *, include_inactive: bool = False) -> Sequence[Category]:
    """The complaint taxonomy in display order."""
    query = select(Category).order_by(Category.position, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return (await session.execute(query)).scalars().all()


async def _check_parent(session: AsyncSession, *, code: str, parent_code: str | None) -> None:
    """A sub-category's parent: another, known, active, top-level category; a category with sub-categories stays
    top-level (one level deep)."""
    if parent_code is None:
        return
    parent = await session.get(Category, parent_code)
    if parent_code == code or parent is None or not parent.active:
        raise Unprocessable(f"parent_code: {parent_code!r} is not another active category", field="parent_code")
    if parent.parent_code is not None:
        raise Unprocessable(f"parent_code: {parent_code!r} is itself a sub-category", field="parent_code")
    if await session.scalar(select(Category.code).where(Category.parent_code == code).limit(1)) is not None:
        raise Unprocessable(f"parent_code: {code!r} has sub-categories of its own", field="parent_code")


async def upsert_category(session: AsyncSession, *, code: str, body: CategoryBody) -> Category:
    """Add or relabel a category (a sub-category when ``parent_code`` names a top-level one)."""
    await _check_parent(session, code=code, parent_code=body.parent_code)
    category = await session.get(Category, code)
    if category is None:
        position = len((await session.execute(select(Category.code))).scalars().all())
        category = Category(code=code, position=position)
        session.add(category)
    category.label_zh, category.label_en, category.active = body.label_zh, body.label_en, body.active
    category.parent_code = body.parent_code
    await session.flush()
    return category


async def list_policies(session: AsyncSession) -> Sequence[SlaPolicy]:
    """Every SLA policy (tier × severity, and those narrowed by category and channel)."""
    order = (SlaPolicy.tier, SlaPolicy.severity, SlaPolicy.category, SlaPolicy.channel)
    return (await session.execute(select(SlaPolicy).order_by(*order))).scalars().all()


def specificity(policy: SlaPolicy, *, category: str | None) -> tuple[int, int, int, int]:
    """How specific a matching policy is (larger wins): the number of conditions it sets (tier other than
    ``default``, category, channel), then category (the complaint's own over its parent's) over channel over tier."""
    category_rank = 0 if policy.category == ANY else (2 if policy.category == category else 1)
    channel_rank = 0 if policy.channel == ANY else 1
    tier_rank = 0 if policy.tier == DEFAULT_TIER else 1
    return (bool(category_rank) + channel_rank + tier_rank, category_rank, channel_rank, tier_rank)


async def policy_for(
    session: AsyncSession, *, tier: str | None, severity: str, category: str | None = None, channel: str | None = None
) -> SlaPolicy:
    """The most specific policy matching a complaint: its severity; its tier or ``default``; its category, its
    parent category or any; its channel or any (``specificity`` orders them)."""
    categories = [ANY]
    if category is not None:
        entry = await session.get(Category, category)
        categories += [category] + ([entry.parent_code] if entry is not None and entry.parent_code else [])
    query = select(SlaPolicy).where(
        SlaPolicy.severity == severity,
        SlaPolicy.tier.in_({tier or DEFAULT_TIER, DEFAULT_TIER}),
        SlaPolicy.category.in_(categories),
        SlaPolicy.channel.in_([ANY] if channel is None else [ANY, channel]),
    )
    candidates = (await session.execute(query)).scalars().all()
    if not candidates:
        raise NotFound(f"No SLA policy for severity {severity}")
    return max(candidates, key=lambda p: specificity(p, category=category))


def policy_key(tier: str, severity: str, category: str = ANY, channel: str = ANY) -> str:
    """A policy's id in the audit log: ``tier/severity`` for a plain one, else ``tier/severity/category/channel``."""
    return f"{tier}/{severity}" if category == channel == ANY else f"{tier}/{severity}/{category}/{channel}"


async def save_policy(
    session: AsyncSession,
    *,
    tier: str,
    severity: str,
    body: PolicyBody,
    actor: Principal,
    now: datetime,
    category: str = ANY,
    channel: str = ANY,
) -> SlaPolicy:
    """Write one policy's targets (a new version, audited); the caller recomputes the timers it governs."""
    if category != ANY and await session.get(Category, category) is None:
        raise Unprocessable(f"category: unknown category {category!r}", field="category")
    policy = await session.get(SlaPolicy, (tier, severity, category, channel))
    before = snapshot(policy, POLICY_AUDIT) if policy is not None else None
    if policy is None:
        policy = SlaPolicy(tier=tier, severity=severity, category=category, channel=channel, version=0)
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
        object_id=policy_key(tier, severity, category, channel),
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


async def policy_history(session: AsyncSession, *, key: str) -> list[dict[str, object]]:
    """Every recorded change of one policy, newest first: who, when, before and after (the audit log's entries)."""
    log = audit_log.c
    query = (
        select(log.at, log.actor_id, log.before, log.after, log.request_id)
        .where(log.object_type == "sla_policy", log.object_id == key)
        .order_by(log.at.desc(), log.id.desc())
    )
    return [dict(row) for row in (await session.execute(query)).mappings()]

"""Effective tiers: moves with history and one ``tier_changed`` each, manual overrides and their expiry."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import Account, TierChange, TierOverride
from services.scoring.scoring_model import TIERS, effective_tier, override_is_active
from shared.bus import add_event
from shared.db import PlatformTables
from shared.errors import NotFound, Unprocessable
from shared.events import AccountTierChanged
from shared.projection import set_account_tier


async def active_override(session: AsyncSession, *, account_id: str, now: datetime) -> TierOverride | None:
    """The override in force for an account, if any."""
    candidates = (
        await session.execute(
            select(TierOverride)
            .where(TierOverride.account_id == account_id, TierOverride.ended_at.is_(None))
            .order_by(TierOverride.created_at.desc())
        )
    ).scalars()
    for override in candidates:
        if override_is_active(override.expires_at, override.ended_at, now):
            return override
    return None


async def apply_tier(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account: Account,
    computed_tier: str | None,
    score: Decimal | None,
    model_version: int | None,
    reason: str,
    now: datetime,
    actor: str | None = None,
    override: TierOverride | bool | None = True,
) -> bool:
    """Store the score fields and, when the effective tier moves, record it and publish one ``tier_changed``.

    ``override=True`` looks the active override up; pass an override or None to decide it here.
    """
    if override is True:
        override = await active_override(session, account_id=account.id, now=now)
    chosen = override if isinstance(override, TierOverride) else None
    account.computed_tier = computed_tier
    account.score = score
    account.model_version = model_version
    account.scored_at = now if score is not None else account.scored_at
    if chosen is not None:
        tier, overridden = effective_tier(computed_tier or chosen.tier, chosen.tier, True)
        reason = f"override by {chosen.approved_by}: {chosen.reason}"
    elif computed_tier is None:
        await session.flush()
        return False
    else:
        tier, overridden = computed_tier, False
    old = account.tier
    if tier == old:
        await session.flush()
        return False
    account.tier = tier
    account.updated_at = now
    await session.flush()
    session.add(
        TierChange(
            account_id=account.id,
            old_tier=old,
            new_tier=tier,
            score=score,
            reason=reason,
            model_version=model_version,
            overridden=overridden,
            changed_by=actor,
            changed_at=now,
        )
    )
    await set_account_tier(session, tables, account_id=account.id, tier=tier)
    await add_event(
        session,
        tables.outbox,
        AccountTierChanged(
            source="scoring",
            account_id=account.id,
            time=now,
            data={
                "old_tier": old,
                "new_tier": tier,
                "score": score,
                "reason": reason,
                "model_version": model_version,
                "overridden": overridden,
            },
        ),
    )
    await session.flush()
    return True


async def set_override(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account: Account,
    tier: str,
    reason: str,
    expires_at: datetime | None,
    user_id: str,
    now: datetime,
) -> TierOverride:
    """Replace any active override with a new one and apply it."""
    if expires_at is not None and expires_at <= now:
        raise Unprocessable("expires_at must be in the future", field="expires_at")
    await _end_overrides(session, account_id=account.id, now=now, by=user_id, why="replaced")
    override = TierOverride(
        id=str(uuid.uuid4()),
        account_id=account.id,
        tier=tier,
        reason=reason,
        approved_by=user_id,
        created_by=user_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(override)
    await session.flush()
    await apply_tier(
        session,
        tables,
        account=account,
        computed_tier=account.computed_tier,
        score=account.score,
        model_version=account.model_version,
        reason="",
        now=now,
        actor=user_id,
        override=override,
    )
    return override


async def _end_overrides(session: AsyncSession, *, account_id: str, now: datetime, by: str, why: str) -> int:
    result = await session.execute(
        update(TierOverride)
        .where(TierOverride.account_id == account_id, TierOverride.ended_at.is_(None))
        .values(ended_at=now, ended_by=by, end_reason=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _fall_back_to_computed(
    session: AsyncSession, tables: PlatformTables, *, account: Account, now: datetime, reason: str, actor: str | None
) -> None:
    await apply_tier(
        session,
        tables,
        account=account,
        computed_tier=account.computed_tier,
        score=account.score,
        model_version=account.model_version,
        reason=f"{reason}; computed tier applies (score {account.score})",
        now=now,
        actor=actor,
        override=None,
    )


async def revoke_override(
    session: AsyncSession, tables: PlatformTables, *, account: Account, user_id: str, now: datetime
) -> None:
    """End the active override; the computed tier applies again."""
    if not await _end_overrides(session, account_id=account.id, now=now, by=user_id, why="revoked"):
        raise NotFound(f"Account {account.id} has no active tier override")
    await _fall_back_to_computed(
        session, tables, account=account, now=now, reason=f"override revoked by {user_id}", actor=user_id
    )


async def expire_overrides(session: AsyncSession, tables: PlatformTables, *, now: datetime) -> int:
    """End overrides whose expiry has passed and fall back to each account's computed tier."""
    due = (
        (
            await session.execute(
                select(TierOverride).where(
                    TierOverride.ended_at.is_(None),
                    TierOverride.expires_at.is_not(None),
                    TierOverride.expires_at <= now,
                )
            )
        )
        .scalars()
        .all()
    )
    for override in due:
        override.ended_at, override.ended_by, override.end_reason = override.expires_at, "system", "expired"
        await session.flush()
        account = await session.get(Account, override.account_id)
        if account is not None and await active_override(session, account_id=account.id, now=now) is None:
            await _fall_back_to_computed(
                session, tables, account=account, now=now, reason="override expired", actor="system"
            )
    return len(due)


async def list_overrides(session: AsyncSession, *, account_id: str) -> list[TierOverride]:
    """Every override of an account, newest first (the audit trail)."""
    rows = await session.execute(
        select(TierOverride).where(TierOverride.account_id == account_id).order_by(TierOverride.created_at.desc())
    )
    return list(rows.scalars())


async def tier_history(session: AsyncSession, *, account_id: str) -> list[TierChange]:
    """Every tier change of an account, newest first."""
    rows = await session.execute(
        select(TierChange)
        .where(TierChange.account_id == account_id)
        .order_by(TierChange.changed_at.desc(), TierChange.id.desc())
    )
    return list(rows.scalars())


def tier_label(code: str | None) -> dict[str, str] | None:
    """``{"code", "label_zh", "label_en"}`` of a tier code."""
    if code is None or code not in TIERS:
        return None
    return {"code": code, "label_zh": TIERS[code][0], "label_en": TIERS[code][1]}

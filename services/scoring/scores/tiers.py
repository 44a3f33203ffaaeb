"""Effective tiers: moves with history and one ``tier_changed`` each, manual overrides and their expiry,
and the portfolio's tier distribution and movers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, case, cast, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import WINDOW_MONTHS, AsOf, month_index
from services.scoring.models import audit_log
from services.scoring.registry.models import Account
from services.scoring.scores.history import record_account
from services.scoring.scores.list_schemas import (
    CurrencyTotal,
    MoverTotals,
    NetMover,
    NetMovers,
    TierDistributionRead,
    TierPurchases,
    TierShare,
)
from services.scoring.scores.models import MonthlyActual, TierChange, TierOverride
from services.scoring.scores.schemas import MoverRead, OverrideCreate, TierChangeRead, TierDistribution
from services.scoring.scoring_model import effective_tier, override_is_active
from shared.api import PageParams
from shared.audit import record_audit
from shared.auth import ADMIN, SUPERVISOR, Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.clock import start_of_business_day
from shared.db import PlatformTables
from shared.errors import NotFound, Unprocessable
from shared.events import AccountTierChanged
from shared.events.catalogue import TierChangedData
from shared.people import require_assignable
from shared.projection import set_account_tier
from shared.vocabulary import TIER_CODES, TIER_LABELS, tier_rank

# A tier's purchases in a currency it has none in (at the stored scale, as every amount is written).
NO_PURCHASES = Decimal("0.0000")
# Who may approve a manual tier.
APPROVER_ROLES = frozenset({SUPERVISOR, ADMIN})


def tier_label(code: str | None) -> dict[str, str] | None:
    """``{"code", "label_zh", "label_en"}`` of a tier code."""
    for tier, (label_zh, label_en) in TIER_LABELS.items():
        if tier == code:
            return {"code": tier, "label_zh": label_zh, "label_en": label_en}
    return None


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


async def overridden_accounts(session: AsyncSession, ids: Sequence[str], now: datetime) -> dict[str, str]:
    """The tier of each override in force among ``ids`` (account id → tier)."""
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(TierOverride.account_id, TierOverride.tier).where(
                TierOverride.account_id.in_(ids),
                TierOverride.ended_at.is_(None),
                or_(TierOverride.expires_at.is_(None), TierOverride.expires_at > now),
            )
        )
    ).all()
    return {account_id: tier for account_id, tier in rows}


async def apply_tier(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    computed_tier: str | None,
    score: Decimal | None,
    model_version: int | None,
    reason: str,
    now: datetime,
    actor_id: str | None = None,
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
        await record_account(session, account=account, now=now)
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
            changed_by=actor_id,
            changed_at=now,
        )
    )
    await set_account_tier(session, tables, account_id=account.id, tier=tier)
    data = TierChangedData(
        old_tier=old, new_tier=tier, score=score, reason=reason, model_version=model_version, overridden=overridden
    )
    await publisher.publish(session, AccountTierChanged, data, account_id=account.id, time=now)
    await session.flush()
    await record_account(session, account=account, now=now)
    return True


def override_expiry(body: OverrideCreate, at: AsOf) -> datetime | None:
    """The instant an override ends: ``expires_at`` as given, or the end of the business day ``expires_on`` in the
    company zone (it is in force through that whole day). An end already past is a 422 naming the field."""
    if body.expires_on is not None:
        if body.expires_at is not None:
            raise Unprocessable("Give expires_at or expires_on, not both", field="expires_on")
        if body.expires_on < at.today:
            raise Unprocessable(f"expires_on {body.expires_on} is before today ({at.today})", field="expires_on")
        return start_of_business_day(body.expires_on + timedelta(days=1), at.zone)
    if body.expires_at is not None and body.expires_at <= at.now:
        raise Unprocessable("expires_at must be in the future", field="expires_at")
    return body.expires_at


async def set_override(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: OverrideCreate,
    actor: Principal,
    at: AsOf,
) -> TierOverride:
    """Replace any active override with a new one (the actor approves it) and apply it."""
    expires_at = override_expiry(body, at)
    await require_assignable(session, tables, user_id=actor.user_id, field="approved_by", roles=APPROVER_ROLES)
    now = at.now
    before = await _override_state(session, account=account, now=now)
    await _end_overrides(session, account_id=account.id, now=now, actor_id=actor.user_id, why="replaced")
    override = TierOverride(
        id=str(uuid.uuid4()),
        account_id=account.id,
        tier=body.tier,
        reason=body.reason,
        approved_by=actor.user_id,
        created_by=actor.user_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(override)
    await session.flush()
    await apply_tier(
        session,
        tables,
        publisher=publisher,
        account=account,
        computed_tier=account.computed_tier,
        score=account.score,
        model_version=account.model_version,
        reason="",
        now=now,
        actor_id=actor.user_id,
        override=override,
    )
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="tier_override.set",
        object_type="account",
        object_id=account.id,
        before=before,
        after=await _override_state(session, account=account, now=now),
        at=now,
    )
    return override


async def _override_state(session: AsyncSession, *, account: Account, now: datetime) -> dict[str, Any]:
    """What the audit log shows of an account's manual tier: the effective tier and the override in force."""
    override = await active_override(session, account_id=account.id, now=now)
    return {
        "tier": account.tier,
        "override_id": override.id if override else None,
        "override_tier": override.tier if override else None,
        "reason": override.reason if override else None,
        "expires_at": override.expires_at if override else None,
    }


async def _end_overrides(session: AsyncSession, *, account_id: str, now: datetime, actor_id: str, why: str) -> int:
    result = await session.execute(
        update(TierOverride)
        .where(TierOverride.account_id == account_id, TierOverride.ended_at.is_(None))
        .values(ended_at=now, ended_by=actor_id, end_reason=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _fall_back_to_computed(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    now: datetime,
    reason: str,
    actor_id: str | None,
) -> None:
    await apply_tier(
        session,
        tables,
        publisher=publisher,
        account=account,
        computed_tier=account.computed_tier,
        score=account.score,
        model_version=account.model_version,
        reason=f"{reason}; computed tier applies (score {account.score})",
        now=now,
        actor_id=actor_id,
        override=None,
    )


async def revoke_override(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    actor: Principal,
    now: datetime,
) -> None:
    """End the active override; the computed tier applies again."""
    before = await _override_state(session, account=account, now=now)
    if not await _end_overrides(session, account_id=account.id, now=now, actor_id=actor.user_id, why="revoked"):
        raise NotFound(f"Account {account.id} has no active tier override")
    await _fall_back_to_computed(
        session,
        tables,
        publisher=publisher,
        account=account,
        now=now,
        reason=f"override revoked by {actor.user_id}",
        actor_id=actor.user_id,
    )
    after = await _override_state(session, account=account, now=now)
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="tier_override.revoked",
        object_type="account",
        object_id=account.id,
        before=before,
        after=after,
        at=now,
    )


async def expire_overrides(
    session: AsyncSession, tables: PlatformTables, *, publisher: Publisher, now: datetime
) -> int:
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
                session,
                tables,
                publisher=publisher,
                account=account,
                now=now,
                reason="override expired",
                actor_id="system",
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


async def tier_distribution(session: AsyncSession, tables: PlatformTables, *, actor: Principal) -> TierDistribution:
    """How many active accounts of the actor's visible portfolio each tier holds, with their average score."""
    rows = (
        await session.execute(
            select(Account.tier, func.count(), func.avg(Account.score))
            .where(visible_accounts_clause(tables, actor, Account.id), Account.status != "former")
            .group_by(Account.tier)
        )
    ).all()
    counts = {tier: (int(n), avg) for tier, n, avg in rows}
    items: list[dict[str, Any]] = []
    for code in (*TIER_CODES, None):
        n, avg = counts.get(code, (0, None))
        if code is None and not n:
            continue
        label: dict[str, Any] = tier_label(code) or {
            "code": None,
            "label_zh": "未分级",
            "label_en": "Unscored",
        }
        items.append(
            {
                **label,
                "count": n,
                "average_score": None if avg is None else str(Decimal(str(avg)).quantize(Decimal("0.01"))),
            }
        )
    return TierDistribution(total=sum(n for n, _ in counts.values()), tiers=items)


async def tier_movers(
    session: AsyncSession, tables: PlatformTables, *, actor: Principal, since: datetime, limit: int
) -> list[MoverRead]:
    """Tier changes of the actor's visible portfolio since a moment, newest first (new = an account's first tier)."""
    rows = (
        await session.execute(
            select(TierChange, Account.name)
            .join(Account, Account.id == TierChange.account_id)
            .where(TierChange.changed_at >= since, visible_accounts_clause(tables, actor, TierChange.account_id))
            .order_by(TierChange.changed_at.desc(), TierChange.id.desc())
            .limit(limit)
        )
    ).all()
    movers = []
    for change, name in rows:
        if change.old_tier is None:
            direction = "new"
        else:
            direction = "up" if tier_rank(change.new_tier) < tier_rank(change.old_tier) else "down"
        movers.append(
            MoverRead.model_validate(
                {**TierChangeRead.model_validate(change).model_dump(), "account_name": name, "direction": direction}
            )
        )
    return movers


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part`` as % of ``whole`` to two places (half up), None when the whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def tier_purchases(
    session: AsyncSession, tables: PlatformTables, *, actor: Principal, at: AsOf
) -> dict[tuple[str | None, str], Decimal]:
    """Purchases of the 12 months ending with the business month of ``at`` per (tier, currency) over the active
    accounts the actor sees. Summed in whole ten-thousandths (integers), so the sums are exact on every backend."""
    first = month_index(at.period) - (WINDOW_MONTHS - 1)
    units = func.sum(cast(func.round(MonthlyActual.revenue * 10_000), BigInteger))
    rows = await session.execute(
        select(Account.tier, MonthlyActual.currency, units)
        .join(MonthlyActual, MonthlyActual.account_id == Account.id)
        .where(
            visible_accounts_clause(tables, actor, Account.id),
            Account.status != "former",
            MonthlyActual.period >= f"{first // 12:04d}-{first % 12 + 1:02d}",
            MonthlyActual.period <= at.period,
        )
        .group_by(Account.tier, MonthlyActual.currency)
    )
    return {(tier, currency): Decimal(int(total or 0)).scaleb(-4) for tier, currency, total in rows}


async def tier_shares(
    session: AsyncSession, tables: PlatformTables, *, actor: Principal, at: AsOf
) -> TierDistributionRead:
    """The tier distribution with each tier's share of the active accounts and, per currency (never added
    across), its purchases of the last 12 months and their share of that currency's total."""
    distribution = await tier_distribution(session, tables, actor=actor)
    amounts = await tier_purchases(session, tables, actor=actor, at=at)
    totals: dict[str, Decimal] = {}
    for (_, currency), amount in amounts.items():
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    tiers = [
        TierShare(
            **row,
            share_pct=_percent(row["count"], distribution.total),
            purchases=[
                TierPurchases(
                    currency=currency,
                    amount=amounts.get((row["code"], currency), NO_PURCHASES),
                    share_pct=_percent(amounts.get((row["code"], currency), NO_PURCHASES), total),
                )
                for currency, total in sorted(totals.items())
            ],
        )
        for row in distribution.tiers
    ]
    return TierDistributionRead(
        total=distribution.total,
        period=at.period,
        purchases=[CurrencyTotal(currency=c, amount=a) for c, a in sorted(totals.items())],
        tiers=tiers,
    )


def _direction(from_tier: Any, to_tier: Any) -> Any:
    """``new`` without a tier before, else ``up`` towards strategic, ``down`` away from it (a SQL expression)."""
    ranks = {code: tier_rank(code) for code in TIER_CODES}
    return case(
        (from_tier.is_(None), "new"),
        (case(ranks, value=to_tier) < case(ranks, value=from_tier), "up"),
        else_="down",
    )


def _net_moves(tables: PlatformTables, *, actor: Principal, since: datetime, until: datetime | None) -> Any:
    """Each visible account's first and last tier change of the period joined: (account, from, to, direction,
    changes, last change), only where the tier at the end differs from the one at the start."""
    key = TierChange.account_id
    ranked = (
        select(
            key.label("account_id"),
            TierChange.old_tier,
            TierChange.new_tier,
            TierChange.changed_at,
            func.row_number().over(partition_by=key, order_by=(TierChange.changed_at, TierChange.id)).label("first"),
            func.row_number()
            .over(partition_by=key, order_by=(TierChange.changed_at.desc(), TierChange.id.desc()))
            .label("last"),
            func.count().over(partition_by=key).label("changes"),
        )
        .where(
            TierChange.changed_at >= since,
            TierChange.changed_at < until if until is not None else true(),
            visible_accounts_clause(tables, actor, TierChange.account_id),
        )
        .cte("ranked")
    )
    start, end = ranked.alias("start"), ranked.alias("end")
    return (
        select(
            start.c.account_id,
            start.c.old_tier.label("from_tier"),
            end.c.new_tier.label("to_tier"),
            _direction(start.c.old_tier, end.c.new_tier).label("direction"),
            start.c.changes,
            end.c.changed_at.label("last_changed_at"),
        )
        .join(end, end.c.account_id == start.c.account_id)
        .where(
            start.c.first == 1,
            end.c.last == 1,
            or_(start.c.old_tier.is_(None), start.c.old_tier != end.c.new_tier),
        )
        .subquery("moves")
    )


async def net_movers(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    actor: Principal,
    since: datetime,
    until: datetime | None,
    page: PageParams,
) -> NetMovers:
    """Tier movers of [``since``, ``until``) (None: up to now) netted per account: from its tier at the start to
    its tier at the end (an account back where it started is no mover), latest move first, paged in SQL, with the
    totals."""
    moves = _net_moves(tables, actor=actor, since=since, until=until)
    grouped = await session.execute(select(moves.c.direction, func.count()).group_by(moves.c.direction))
    counts: dict[str, int] = {direction: int(n) for direction, n in grouped.all()}
    up, down, new = (counts.get(d, 0) for d in ("up", "down", "new"))
    rows = await session.execute(
        select(moves, Account.name)
        .join(Account, Account.id == moves.c.account_id)
        .order_by(moves.c.last_changed_at.desc(), moves.c.account_id)
        .limit(page.limit)
        .offset(page.offset)
    )
    items = [NetMover.model_validate({**row._mapping, "account_name": row.name}) for row in rows]
    return NetMovers(
        since=since,
        until=until,
        totals=MoverTotals(up=up, down=down, new=new, net=up - down),
        total=up + down + new,
        limit=page.limit,
        offset=page.offset,
        items=items,
    )

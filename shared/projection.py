"""The accounts projection every service keeps from ``accounts.*`` events (names, tier, owner, team)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.consumer import HandlerContext, Handlers
from shared.db import PlatformTables
from shared.events import AccountOwnerChanged, AccountRegistered, AccountTierChanged, AccountUpdated


async def upsert_account(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account_id: str,
    name: str,
    name_en: str | None = None,
    industry: str | None = None,
    region: str | None = None,
    status: str | None = None,
    tier: str | None = None,
    owner_id: str | None = None,
    team_member_ids: Iterable[str] = (),
    keep_tier: bool = False,
) -> None:
    """Insert or update one account in the projection and its access list."""
    accounts = tables.accounts
    team = sorted({m for m in team_member_ids if m and m != owner_id})
    values: dict[str, Any] = {
        "name": name,
        "name_en": name_en,
        "industry": industry,
        "region": region,
        "status": status,
        "owner_id": owner_id,
        "team_member_ids": team,
        "updated_at": datetime.now(UTC),
        "active": status != "former",
    }
    if not keep_tier or tier is not None:
        values["tier"] = tier
    exists = await session.scalar(select(accounts.c.account_id).where(accounts.c.account_id == account_id))
    if exists is None:
        await session.execute(insert(accounts).values(account_id=account_id, **values))
    else:
        await session.execute(update(accounts).where(accounts.c.account_id == account_id).values(**values))
    await set_account_access(session, tables, account_id=account_id, owner_id=owner_id, team_member_ids=team)


async def set_account_access(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    account_id: str,
    owner_id: str | None,
    team_member_ids: Iterable[str],
) -> None:
    """Replace who may see an account."""
    access = tables.account_access
    await session.execute(delete(access).where(access.c.account_id == account_id))
    rows = [{"account_id": account_id, "user_id": owner_id, "relation": "owner"}] if owner_id else []
    rows += [
        {"account_id": account_id, "user_id": m, "relation": "member"}
        for m in sorted(set(team_member_ids))
        if m != owner_id
    ]
    if rows:
        await session.execute(insert(access), rows)


async def set_account_tier(session: AsyncSession, tables: PlatformTables, *, account_id: str, tier: str) -> None:
    """Record a tier change in the projection (creating a placeholder row if the account is not known yet)."""
    accounts = tables.accounts
    result = await session.execute(
        update(accounts).where(accounts.c.account_id == account_id).values(tier=tier, updated_at=datetime.now(UTC))
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            insert(accounts).values(
                account_id=account_id, name="", tier=tier, team_member_ids=[], updated_at=datetime.now(UTC), active=True
            )
        )


async def _on_snapshot(
    session: AsyncSession, event: AccountRegistered | AccountUpdated, ctx: HandlerContext[Any]
) -> None:
    assert event.account_id is not None
    d = event.data
    await upsert_account(
        session,
        ctx.tables,
        account_id=event.account_id,
        name=d.name,
        name_en=d.name_en,
        industry=d.industry,
        region=d.region,
        status=d.status,
        tier=d.tier,
        owner_id=d.owner_id,
        team_member_ids=d.team_member_ids,
        keep_tier=True,
    )


async def _on_tier_changed(session: AsyncSession, event: AccountTierChanged, ctx: HandlerContext[Any]) -> None:
    assert event.account_id is not None
    await set_account_tier(session, ctx.tables, account_id=event.account_id, tier=event.data.new_tier)


async def _on_owner_changed(session: AsyncSession, event: AccountOwnerChanged, ctx: HandlerContext[Any]) -> None:
    assert event.account_id is not None
    accounts = ctx.tables.accounts
    team = sorted(set(event.data.team_member_ids) - {event.data.new_owner_id})
    result = await session.execute(
        update(accounts)
        .where(accounts.c.account_id == event.account_id)
        .values(owner_id=event.data.new_owner_id, team_member_ids=team, updated_at=datetime.now(UTC))
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            insert(accounts).values(
                account_id=event.account_id,
                name="",
                owner_id=event.data.new_owner_id,
                team_member_ids=team,
                updated_at=datetime.now(UTC),
                active=True,
            )
        )
    await set_account_access(
        session, ctx.tables, account_id=event.account_id, owner_id=event.data.new_owner_id, team_member_ids=team
    )


PROJECTION_HANDLERS: Handlers = {
    AccountRegistered: [_on_snapshot],
    AccountUpdated: [_on_snapshot],
    AccountTierChanged: [_on_tier_changed],
    AccountOwnerChanged: [_on_owner_changed],
}

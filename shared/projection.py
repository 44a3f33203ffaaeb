"""The projections every service keeps: accounts from ``accounts.*`` (names, tier, owner, team) and users from
``identity.*`` (roles, active, contact channels)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.consumer import HandlerContext, Handlers
from shared.clock import ensure_aware
from shared.db import PlatformTables
from shared.events import (
    AccountOwnerChanged,
    AccountRegistered,
    AccountTierChanged,
    AccountUpdated,
    UserData,
    UserDeactivated,
    UserRegistered,
    UserUpdated,
)


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


async def upsert_user(session: AsyncSession, tables: PlatformTables, *, user: UserData, event_time: datetime) -> bool:
    """Apply one identity event to the users projection unless a newer one was applied already."""
    users = tables.users
    current = await session.scalar(select(users.c.event_time).where(users.c.user_id == user.user_id))
    if current is not None and ensure_aware(current) > ensure_aware(event_time):
        return False
    values: dict[str, Any] = {
        "display_name": user.display_name,
        "roles": list(user.roles),
        "active": user.active,
        "email": user.email,
        "channels": dict(user.channels),
        "event_time": event_time,
    }
    if current is None:
        await session.execute(insert(users).values(user_id=user.user_id, **values))
    else:
        await session.execute(update(users).where(users.c.user_id == user.user_id).values(**values))
    return True


async def _on_user(
    session: AsyncSession, event: UserRegistered | UserUpdated | UserDeactivated, ctx: HandlerContext[Any]
) -> None:
    user = event.data if event.type != "identity.user_deactivated" else event.data.model_copy(update={"active": False})
    await upsert_user(session, ctx.tables, user=user, event_time=event.time)


PROJECTION_HANDLERS: Handlers = {
    UserRegistered: [_on_user],
    UserUpdated: [_on_user],
    UserDeactivated: [_on_user],
    AccountRegistered: [_on_snapshot],
    AccountUpdated: [_on_snapshot],
    AccountTierChanged: [_on_tier_changed],
    AccountOwnerChanged: [_on_owner_changed],
}

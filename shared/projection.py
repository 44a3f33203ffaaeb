"""The projections every service keeps: accounts from ``accounts.*`` (names, tier, owner, team) and users from
``identity.*`` (roles, active, contact channels)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.consumer import HandlerContext, Handlers
from shared.clock import ensure_aware
from shared.db import PlatformTables
from shared.events import (
    AccountOwnerChanged,
    AccountRegistered,
    AccountTierChanged,
    AccountUpdated,
    EventBase,
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


async def set_account_tier(
    session: AsyncSession, tables: PlatformTables, *, account_id: str, tier: str, version: str | None = None
) -> None:
    """Record a tier change in the projection (creating a placeholder row if the account is not known yet).

    ``version`` (an event's, see ``event_version``): applied only if newer than the tier applied so far; ``None``:
    the owning service's own write, applied as is."""
    if version is not None:
        await _apply_group(session, tables, account_id, "tier_version", version, {"tier": tier})
        return
    accounts = tables.accounts
    result = await session.execute(
        update(accounts).where(accounts.c.account_id == account_id).values(tier=tier, updated_at=datetime.now(UTC))
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await _ensure_row(session, tables, account_id)
        await session.execute(update(accounts).where(accounts.c.account_id == account_id).values(tier=tier))


def event_version(event: EventBase) -> str:
    """An event's place in the order of one account's events: ``"<UTC time, µs> <event id>"`` (sorts as text;
    events of the same instant are ordered by id, so every replica and every arrival order agree)."""
    return f"{ensure_aware(event.time).astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ} {event.id}"


async def _ensure_row(session: AsyncSession, tables: PlatformTables, account_id: str) -> None:
    """A placeholder row for an account heard of before its snapshot (two replicas racing: one insert wins)."""
    accounts = tables.accounts
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(accounts).values(
        account_id=account_id, name="", team_member_ids=[], updated_at=datetime.now(UTC), active=True
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[accounts.c.account_id]))


async def _apply_group(
    session: AsyncSession, tables: PlatformTables, account_id: str, column: str, version: str, values: dict[str, Any]
) -> bool:
    """Set one group of an account's fields if ``version`` is newer than the group's; True if it was applied.

    Three groups, each last-writer-wins on its own version: the description (snapshots), the tier (snapshots
    carrying one, tier changes) and the owner and team (snapshots, owner changes). So any arrival order of the
    same events gives the same row. One conditional UPDATE: replicas applying concurrently cannot go backwards.
    """
    accounts = tables.accounts
    await _ensure_row(session, tables, account_id)
    current = accounts.c[column]
    result = await session.execute(
        update(accounts)
        .where(accounts.c.account_id == account_id, current.is_(None) | (current < version))
        .values(**values, **{column: version}, updated_at=datetime.now(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def apply_account_event(
    session: AsyncSession, tables: PlatformTables, event: AccountRegistered | AccountUpdated | AccountOwnerChanged
) -> None:
    """Apply a snapshot or an owner change to the projection, each group only if the event is newer."""
    assert event.account_id is not None
    version, account_id = event_version(event), event.account_id
    owner_id: str | None
    if isinstance(event, AccountOwnerChanged):
        owner_id, members = event.data.new_owner_id, event.data.team_member_ids
    else:
        d = event.data
        owner_id, members = d.owner_id, d.team_member_ids
        info = {"name": d.name, "name_en": d.name_en, "industry": d.industry, "region": d.region, "status": d.status}
        await _apply_group(
            session, tables, account_id, "info_version", version, {**info, "active": d.status != "former"}
        )
        if d.tier is not None:
            await _apply_group(session, tables, account_id, "tier_version", version, {"tier": d.tier})
    team = sorted({m for m in members if m and m != owner_id})
    if await _apply_group(
        session, tables, account_id, "owner_version", version, {"owner_id": owner_id, "team_member_ids": team}
    ):
        await set_account_access(session, tables, account_id=account_id, owner_id=owner_id, team_member_ids=team)


async def _on_account(
    session: AsyncSession, event: AccountRegistered | AccountUpdated | AccountOwnerChanged, ctx: HandlerContext[Any]
) -> None:
    await apply_account_event(session, ctx.tables, event)


async def _on_tier_changed(session: AsyncSession, event: AccountTierChanged, ctx: HandlerContext[Any]) -> None:
    assert event.account_id is not None
    await set_account_tier(
        session, ctx.tables, account_id=event.account_id, tier=event.data.new_tier, version=event_version(event)
    )


async def upsert_user(
    session: AsyncSession, tables: PlatformTables, *, user: UserData, event_time: datetime, event_id: str = ""
) -> bool:
    """Apply one identity event to the users projection unless a newer one was applied already (events of the same
    instant are ordered by event id, so every arrival order gives the same row)."""
    users = tables.users
    row = (
        await session.execute(select(users.c.event_time, users.c.event_id).where(users.c.user_id == user.user_id))
    ).first()
    current = None if row is None else row.event_time
    if row is not None and (ensure_aware(row.event_time), row.event_id or "") > (ensure_aware(event_time), event_id):
        return False
    values: dict[str, Any] = {
        "display_name": user.display_name,
        "roles": list(user.roles),
        "active": user.active,
        "email": user.email,
        "channels": dict(user.channels),
        "event_time": event_time,
        "event_id": event_id or None,
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
    await upsert_user(session, ctx.tables, user=user, event_time=event.time, event_id=event.id)


PROJECTION_HANDLERS: Handlers = {
    UserRegistered: [_on_user],
    UserUpdated: [_on_user],
    UserDeactivated: [_on_user],
    AccountRegistered: [_on_account],
    AccountUpdated: [_on_account],
    AccountTierChanged: [_on_tier_changed],
    AccountOwnerChanged: [_on_account],
}

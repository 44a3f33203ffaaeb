"""Object-level access from the gateway's accounts projection, kept in memory for the hot path."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.schemas import MyAccount
from shared.auth import Principal
from shared.db import Database, PlatformTables
from shared.views import AccountSummary

Visibility = Literal["visible", "hidden", "unknown"]
VISIBLE: Final = "visible"
HIDDEN: Final = "hidden"
UNKNOWN: Final = "unknown"


class AccessIndex:
    """Projection rows by account id (cached ``ttl_seconds``; cleared when an ``accounts.*`` event arrives)."""

    def __init__(
        self,
        db: Database,
        tables: PlatformTables,
        *,
        ttl_seconds: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.tables = tables
        self.ttl = ttl_seconds
        self.now = now
        self.rows: dict[str, tuple[float, AccountSummary]] = {}

    def clear(self) -> None:
        """Forget cached rows (an account's owner or team may have changed)."""
        self.rows.clear()

    async def account(self, account_id: str) -> AccountSummary | None:
        """The projection row of an account, or None if the gateway has not heard of it."""
        cached = self.rows.get(account_id)
        if cached is not None and self.now() - cached[0] <= self.ttl:
            return cached[1]
        accounts = self.tables.accounts
        async with self.db.transaction(write=False) as session:
            row = (
                (await session.execute(select(accounts).where(accounts.c.account_id == account_id))).mappings().first()
            )
        if row is None:
            return None
        summary = AccountSummary.model_validate(dict(row))
        self.rows[account_id] = (self.now(), summary)
        return summary

    async def check(self, principal: Principal, account_id: str) -> tuple[Visibility, AccountSummary | None]:
        """VISIBLE/HIDDEN for accounts the gateway knows, UNKNOWN otherwise (then the services decide)."""
        row = await self.account(account_id)
        if row is None:
            return UNKNOWN, None
        return (VISIBLE if may_see(principal, row) else HIDDEN), row


def may_see(principal: Principal, row: AccountSummary) -> bool:
    """Whole-portfolio roles see every account; account managers their own and their teams'."""
    if principal.sees_whole_portfolio:
        return True
    return principal.user_id == row.owner_id or principal.user_id in row.team_member_ids


async def list_book(
    session: AsyncSession, tables: PlatformTables, *, user_id: str, limit: int, offset: int
) -> tuple[list[MyAccount], int]:
    """The accounts a user owns or is a team member of (one page, by name) and how many there are."""
    accounts, access = tables.accounts, tables.account_access
    mine = (
        select(accounts, access.c.relation)
        .join(access, access.c.account_id == accounts.c.account_id)
        .where(access.c.user_id == user_id)
    )
    total = int(await session.scalar(select(func.count()).select_from(mine.subquery())) or 0)
    rows = (
        await session.execute(mine.order_by(accounts.c.name, accounts.c.account_id).limit(limit).offset(offset))
    ).mappings()
    items = [MyAccount.model_validate({**row, "team_member_ids": row["team_member_ids"] or []}) for row in rows]
    return items, total

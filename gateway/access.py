"""Object-level access from the gateway's accounts projection, kept in memory for the hot path."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from shared.auth import Principal
from shared.db import Database, PlatformTables

VISIBLE, HIDDEN, UNKNOWN = "visible", "hidden", "unknown"
PUBLIC_FIELDS = ("account_id", "name", "name_en", "industry", "region", "status", "tier", "owner_id", "team_member_ids")


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
        self.rows: dict[str, tuple[float, dict[str, Any]]] = {}

    def clear(self) -> None:
        """Forget cached rows (an account's owner or team may have changed)."""
        self.rows.clear()

    async def account(self, account_id: str) -> dict[str, Any] | None:
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
        value = {field: row[field] for field in PUBLIC_FIELDS}
        self.rows[account_id] = (self.now(), value)
        return value

    async def check(self, principal: Principal, account_id: str) -> tuple[str, dict[str, Any] | None]:
        """VISIBLE/HIDDEN for accounts the gateway knows, UNKNOWN otherwise (then the services decide)."""
        row = await self.account(account_id)
        if row is None:
            return UNKNOWN, None
        return (VISIBLE if may_see(principal, row) else HIDDEN), row


def may_see(principal: Principal, row: dict[str, Any]) -> bool:
    """Whole-portfolio roles see every account; account managers their own and their teams'."""
    if principal.sees_whole_portfolio:
        return True
    return principal.user_id == row.get("owner_id") or principal.user_id in (row.get("team_member_ids") or [])

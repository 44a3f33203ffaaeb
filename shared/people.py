"""People (DESIGN §4): every owner, assignee, approver and team member is a known, active user fit for the job.

The users come from the ``identity.*`` projection every service keeps (``shared.projection``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import ACCOUNT_MANAGER, ADMIN, RISK_OFFICER, SUPERVISOR, VIEWER, Principal, can_access_account
from shared.db import PlatformTables
from shared.errors import Unprocessable

# Who may own or do the work on an account by default: anyone who may change data but integration keys.
WORKER_ROLES: frozenset[str] = frozenset({ADMIN, SUPERVISOR, ACCOUNT_MANAGER, RISK_OFFICER})
READ_ONLY_ROLES: frozenset[str] = frozenset({VIEWER})


async def known_user(session: AsyncSession, tables: PlatformTables, user_id: str) -> dict[str, Any] | None:
    """The user's projection row, or None."""
    users = tables.users
    row = (await session.execute(select(users).where(users.c.user_id == user_id))).mappings().first()
    return dict(row) if row is not None else None


async def require_assignable(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    user_id: str | None,
    field: str,
    account_id: str | None = None,
    roles: Collection[str] = WORKER_ROLES,
) -> dict[str, Any] | None:
    """Refuse (422 naming ``field``) a user who is unknown, inactive, without a fitting role, or account-blind.

    ``account_id`` given: the user must be able to see that account (supervisors and other portfolio roles see
    every account; an account manager only the accounts they own or are on the team of). None passes (no one).
    """
    if user_id is None:
        return None
    user = await known_user(session, tables, user_id)
    if user is None:
        raise Unprocessable(f"{field}: user {user_id!r} is not known", field=field)
    if not user["active"]:
        raise Unprocessable(f"{field}: user {user_id!r} is deactivated", field=field)
    held = frozenset(user["roles"] or ())
    if held.isdisjoint(roles):
        allowed = ", ".join(sorted(roles))
        raise Unprocessable(f"{field}: user {user_id!r} holds none of the roles this needs ({allowed})", field=field)
    # The same visibility the user gets on their own requests (shared.auth): would they get a 404 on it?
    if account_id is not None and not await can_access_account(session, tables, as_principal(user), account_id):
        raise Unprocessable(f"{field}: user {user_id!r} cannot see account {account_id}", field=field)
    return user


def as_principal(user: dict[str, Any]) -> Principal:
    """A projection row as a Principal (for visibility checks made on someone else's behalf)."""
    return Principal(user_id=user["user_id"], roles=frozenset(user["roles"] or ()), name=user["display_name"])

"""Who may do which job on a complaint (DESIGN §4, people): the roles each job needs, checked against the users
projection — known, active, holding such a role, and able to see the account (else 422 naming the field)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.models import platform
from shared.auth import ACCOUNT_MANAGER, ADMIN, SUPERVISOR
from shared.errors import Unprocessable
from shared.people import require_assignable

# Owners, reassignment targets, task assignees and improvement-action owners: people who may change complaints —
# not a viewer, a risk officer (read-only here) or an integration key.
OWNER_ROLES: frozenset[str] = frozenset({ADMIN, SUPERVISOR, ACCOUNT_MANAGER})
# Escalation targets and remedy approvers: people who see every account and decide.
DECIDER_ROLES: frozenset[str] = frozenset({ADMIN, SUPERVISOR})


async def require_worker(
    session: AsyncSession, *, user_id: str, field: str, account_id: str, roles: Collection[str] = OWNER_ROLES
) -> None:
    """Refuse (422 naming ``field``) a user who cannot do this job on the account."""
    await require_assignable(session, platform, user_id=user_id, field=field, account_id=account_id, roles=roles)


async def fitness_problem(
    session: AsyncSession,
    *,
    user_id: str,
    account_id: str,
    field: str = "owner_id",
    roles: Collection[str] = OWNER_ROLES,
) -> str | None:
    """Why the user cannot do this job on the account (unknown, inactive, wrong role, blind), or None."""
    try:
        await require_worker(session, user_id=user_id, field=field, account_id=account_id, roles=roles)
    except Unprocessable as unfit:
        return unfit.detail
    return None

"""Escalation ladders per tier: rungs of named users or roles, validated on save; the ladder of a complaint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.models import audit_log, platform
from services.complaints.people import DECIDER_ROLES
from services.complaints.reference.models import EscalationLadder
from services.complaints.reference.schemas import LadderBody
from services.complaints.rules import Rules
from shared.audit import record_audit
from shared.auth import Principal, can_access_account
from shared.errors import Unprocessable
from shared.people import as_principal, require_assignable

DEFAULT_TIER = "default"


@dataclass(frozen=True)
class Rung:
    """One level of a ladder: a named user, or whoever active holds a role and sees the account."""

    user_id: str | None = None
    role: str | None = None

    @property
    def name(self) -> str:
        """How the rung reads in the timeline and the problems it raises."""
        return self.user_id if self.user_id is not None else f"role:{self.role}"


async def _active_holders(session: AsyncSession, role: str) -> list[dict[str, object]]:
    users = platform.users
    rows = (await session.execute(select(users).where(users.c.active.is_(True)).order_by(users.c.user_id))).mappings()
    return [dict(r) for r in rows if role in (r["roles"] or ())]


async def check_rungs(session: AsyncSession, body: LadderBody) -> list[dict[str, str]]:
    """Every rung real: a known, active supervisor or admin, or a role someone active holds (422 naming it)."""
    rungs: list[dict[str, str]] = []
    for index, rung in enumerate(body.rungs):
        field = f"rungs.{index}"
        if rung.user_id is not None:
            await require_assignable(
                session, platform, user_id=rung.user_id, field=f"{field}.user_id", roles=DECIDER_ROLES
            )
            rungs.append({"user_id": rung.user_id})
        else:
            assert rung.role is not None
            if not await _active_holders(session, rung.role):
                raise Unprocessable(f"{field}.role: no active user holds {rung.role!r}", field=f"{field}.role")
            rungs.append({"role": rung.role})
    return rungs


async def save_ladder(
    session: AsyncSession, *, tier: str, body: LadderBody, actor: Principal, now: datetime
) -> EscalationLadder:
    """Write one tier's ladder (a new version, audited)."""
    rungs = await check_rungs(session, body)
    ladder = await session.get(EscalationLadder, tier)
    before = {"rungs": ladder.rungs, "version": ladder.version} if ladder is not None else None
    if ladder is None:
        ladder = EscalationLadder(tier=tier, version=0)
        session.add(ladder)
    ladder.rungs, ladder.version = rungs, (ladder.version or 0) + 1
    ladder.updated_at, ladder.updated_by = now, actor.user_id
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="escalation_ladder.saved",
        object_type="escalation_ladder",
        object_id=tier,
        before=before,
        after={"rungs": rungs, "version": ladder.version},
        at=now,
    )
    return ladder


def settings_ladder(rules: Rules) -> tuple[Rung, ...]:
    """The ladder of the settings (``ESCALATION_SUPERVISOR_ID``, ``ESCALATION_DIRECTOR_ID``): used where no tier's
    nor the default ladder is stored."""
    return tuple(Rung(user_id=user_id) for user_id in rules.ladder)


async def ladder_for(session: AsyncSession, *, account_id: str, rules: Rules) -> tuple[Rung, ...]:
    """The ladder of the account's tier, else the stored ``default`` one, else the settings'."""
    accounts = platform.accounts
    tier = await session.scalar(select(accounts.c.tier).where(accounts.c.account_id == account_id))
    for candidate in (tier, DEFAULT_TIER):
        stored = await session.get(EscalationLadder, candidate) if candidate else None
        if stored is not None:
            return tuple(Rung(user_id=r.get("user_id"), role=r.get("role")) for r in stored.rungs)
    return settings_ladder(rules)


async def role_holder(session: AsyncSession, *, role: str, account_id: str) -> str | None:
    """The first active user (by id) holding ``role`` who sees the account, or None."""
    for user in await _active_holders(session, role):
        if await can_access_account(session, platform, as_principal(user), account_id):
            return str(user["user_id"])
    return None

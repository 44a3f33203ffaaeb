"""Teams: kept by admins; read by routing to find an owner's supervisor and the robots of an owner's team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.audit import AuditedKind
from services.notifications.memo import TEAMS_KEY, remembered
from services.notifications.models import platform
from services.notifications.teams.models import Team
from services.notifications.teams.schemas import TeamCreate, TeamUpdate
from shared.audit import snapshot
from shared.auth import ADMIN, SUPERVISOR, Principal
from shared.errors import Conflict
from shared.people import WORKER_ROLES, require_assignable

SUPERVISOR_ROLES = frozenset({SUPERVISOR, ADMIN})


async def _check_people(session: AsyncSession, *, supervisor_id: str | None, member_ids: list[str]) -> None:
    await require_assignable(session, platform, user_id=supervisor_id, field="supervisor_id", roles=SUPERVISOR_ROLES)
    for index, member in enumerate(member_ids):
        await require_assignable(session, platform, user_id=member, field=f"member_ids.{index}", roles=WORKER_ROLES)


async def list_teams(session: AsyncSession) -> list[Team]:
    """Every team, by code."""
    return list((await session.execute(select(Team).order_by(Team.code))).scalars())


AUDITED_TEAM_FIELDS = ("name", "supervisor_id", "member_ids")
TEAM_AUDIT = AuditedKind[Team]("team", lambda team: team.code, lambda team: snapshot(team, AUDITED_TEAM_FIELDS))


async def create_team(session: AsyncSession, *, body: TeamCreate, actor: Principal, now: datetime) -> Team:
    """A new team; its supervisor and members must be known, active users fit for the job (422 naming the field)."""
    if await session.get(Team, body.code) is not None:
        raise Conflict(f"Team {body.code} exists already")
    members = sorted(set(body.member_ids))
    await _check_people(session, supervisor_id=body.supervisor_id, member_ids=members)
    team = Team(
        code=body.code, name=body.name, supervisor_id=body.supervisor_id, member_ids=members, version=1, updated_at=now
    )
    session.add(team)
    await session.flush()
    await TEAM_AUDIT.created(session, team, actor=actor, now=now)
    return team


async def update_team(session: AsyncSession, *, team: Team, body: TeamUpdate, actor: Principal, now: datetime) -> Team:
    """Change a team's name, supervisor or members (audited)."""
    before = TEAM_AUDIT.state(team)
    changes = body.model_dump(exclude_unset=True)
    members = sorted(set(body.member_ids)) if body.member_ids is not None else list(team.member_ids)
    supervisor = changes.get("supervisor_id", team.supervisor_id)
    await _check_people(
        session,
        supervisor_id=supervisor if "supervisor_id" in changes else None,
        member_ids=members if "member_ids" in changes else [],
    )
    if body.name is not None:
        team.name = body.name
    team.supervisor_id, team.member_ids = supervisor, members
    team.version += 1
    team.updated_at = now
    await session.flush()
    await TEAM_AUDIT.updated(session, team, before=before, actor=actor, now=now)
    return team


async def delete_team(session: AsyncSession, *, team: Team, actor: Principal, now: datetime) -> None:
    """Remove a team (its robots stay, bound to a code no account uses until a team takes it again; audited)."""
    await TEAM_AUDIT.deleted(session, team, actor=actor, now=now)
    await session.delete(team)
    await session.flush()


async def teams_of(session: AsyncSession, user_id: str | None) -> list[Team]:
    """The teams a user is a member of (few rows: read whole, matched here, on every backend alike)."""
    if user_id is None:
        return []
    teams = await remembered(session, TEAMS_KEY, lambda: list_teams(session))
    return [team for team in teams if user_id in (team.member_ids or [])]

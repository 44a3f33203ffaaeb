"""HTTP routes of teams: supervisors read them, admins keep them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.notifications.deps import Admin, Overseer, TeamForRead, TeamForUpdate
from services.notifications.teams import service
from services.notifications.teams.schemas import TeamCreate, TeamRead, TeamUpdate
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(prefix="/notifications/teams", tags=["notifications: teams"], responses=PROBLEM_RESPONSES)


@router.get("", summary="Account teams (members, supervisor)")
async def list_teams(_: Overseer, session: SessionDep) -> list[TeamRead]:
    """Every team: an owner's supervisor is their team's supervisor; robots bind to team codes."""
    return [TeamRead.model_validate(team) for team in await service.list_teams(session)]


@router.get("/{code}", summary="One team")
async def get_team(team: TeamForRead, response: Response) -> TeamRead:
    """A team with its version as ETag."""
    set_etag(response, team.version)
    return TeamRead.model_validate(team)


@router.post("", status_code=201, summary="Add a team", response_model=TeamRead)
async def create_team(actor: Admin, body: TeamCreate, session: SessionDep, clock: ClockDep) -> TeamRead:
    """A new team; its supervisor and members must be known, active users (422 naming the field)."""
    read = TeamRead.model_validate(await service.create_team(session, body=body, actor=actor, now=clock.now()))
    return read


@router.patch("/{code}", summary="Change a team (If-Match)")
async def update_team(
    actor: Admin,
    team: TeamForUpdate,
    body: TeamUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
) -> TeamRead:
    """Change a team's name, supervisor or members."""
    check_if_match(request, team.version)
    team = await service.update_team(session, team=team, body=body, actor=actor, now=clock.now())
    set_etag(response, team.version)
    return TeamRead.model_validate(team)


@router.delete("/{code}", status_code=204, summary="Remove a team")
async def delete_team(
    actor: Admin, team: TeamForUpdate, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    """Remove a team (``If-Match`` with its ETag)."""
    check_if_match(request, team.version)
    await service.delete_team(session, team=team, actor=actor, now=clock.now())
    return Response(status_code=204)

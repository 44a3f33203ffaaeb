"""HTTP routes of preferences: the caller's own."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.notifications.deps import Actor, SettingsDep
from services.notifications.preferences import service
from services.notifications.preferences.schemas import PreferencesRead, PreferencesUpdate
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(
    prefix="/notifications/preferences", tags=["notifications: preferences"], responses=PROBLEM_RESPONSES
)


@router.get("/me", summary="My notification preferences")
async def my_preferences(
    actor: Actor, session: SessionDep, settings: SettingsDep, response: Response
) -> PreferencesRead:
    """Language, channels per kind, quiet hours and digest time (local times in the company's zone)."""
    row = await service.stored_preference(session, user_id=actor.user_id)
    read = service.read_preferences(actor.user_id, row, settings)
    set_etag(response, read.version)
    return read


@router.put("/me", summary="Replace my notification preferences (If-Match)")
async def put_preferences(
    actor: Actor,
    body: PreferencesUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> PreferencesRead:
    """Store the whole of the caller's preferences; what the body leaves out returns to its default."""
    row = await service.stored_preference(session, user_id=actor.user_id)
    check_if_match(request, row.version if row is not None else 0)
    row = await service.replace_preferences(
        session, user_id=actor.user_id, row=row, body=body, settings=settings, now=clock.now()
    )
    set_etag(response, row.version)
    return service.read_preferences(actor.user_id, row, settings)

"""Request dependencies of the scoring service: the acting user, settings, and objects loaded and checked once.

An account another manager owns is a 404 here (never a 403), before any route body runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from services.scoring.config import ScoringSettings
from services.scoring.engagement.models import Engagement
from services.scoring.features import AsOf
from services.scoring.models import platform
from services.scoring.registry.models import Account, Contact
from services.scoring.registry.service import get_account
from services.scoring.scores.model_versions import get_model
from services.scoring.scores.models import RescoreJob, ScoringModelVersion
from services.scoring.scores.rescore_jobs import get_job
from shared.api import PageParams, page_params
from shared.auth import (
    ACCOUNT_MANAGER,
    SERVICE,
    SUPERVISOR,
    CurrentPrincipal,
    Principal,
    ensure_account_access,
    require_roles,
)
from shared.errors import NotFound
from shared.service import ClockDep, SessionDep

Actor = CurrentPrincipal
Supervisor = Annotated[Principal, Depends(require_roles(SUPERVISOR))]
Registrar = Annotated[Principal, Depends(require_roles(SUPERVISOR, ACCOUNT_MANAGER, SERVICE))]
Paging = Annotated[PageParams, Depends(page_params)]
UserFilter = Annotated[str | None, Query(max_length=100, description="A user id")]
# Accounts and jobs are identified by UUIDs: anything else in the path is a 422 naming it, never a lookup.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
AccountId = Annotated[str, Path(pattern=UUID_PATTERN, description="The account's id (a UUID)")]
JobId = Annotated[str, Path(pattern=UUID_PATTERN, description="The job's id (a UUID)")]
ContactId = Annotated[str, Path(pattern=UUID_PATTERN, description="The contact's id (a UUID)")]
EngagementId = Annotated[str, Path(pattern=UUID_PATTERN, description="The engagement's id (a UUID)")]
ModelVersionNumber = Annotated[int, Path(ge=1, le=1_000_000, description="The model version")]


def get_settings(request: Request) -> ScoringSettings:
    """The app's settings."""
    settings: ScoringSettings = request.app.state.settings
    return settings


Settings = Annotated[ScoringSettings, Depends(get_settings)]


async def as_of(clock: ClockDep, settings: Settings) -> AsOf:
    """Now, and what it means as a business date and month in the company's zone (``KAM_TIMEZONE``)."""
    return AsOf(clock.now(), settings.zone)


At = Annotated[AsOf, Depends(as_of)]


async def account_for_read(account_id: AccountId, session: SessionDep, actor: Actor) -> Account:
    """The account of the path if the actor may see it; 404 otherwise."""
    await ensure_account_access(session, platform, actor, account_id)
    return await get_account(session, account_id=account_id)


async def account_for_update(account_id: AccountId, session: SessionDep, actor: Actor) -> Account:
    """The account of the path if the actor may change it; 404 if they may not see it."""
    await ensure_account_access(session, platform, actor, account_id, write=True)
    return await get_account(session, account_id=account_id)


AccountForUpdateDep = Annotated[Account, Depends(account_for_update)]
AccountForReadDep = Annotated[Account, Depends(account_for_read)]


async def model_version(version: ModelVersionNumber, session: SessionDep, _actor: Actor) -> ScoringModelVersion:
    """The scoring model version of the path (for an authenticated caller); 404 if there is none."""
    return await get_model(session, version=version)


async def rescore_job(job_id: JobId, session: SessionDep, _actor: Actor) -> RescoreJob:
    """The re-score job of the path (for an authenticated caller); 404 if there is none."""
    return await get_job(session, job_id=job_id)


async def _contact_of(session: SessionDep, account: Account, contact_id: str) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.account_id != account.id:
        raise NotFound(f"Contact {contact_id} not found")
    return contact


async def contact_for_update(contact_id: ContactId, account: AccountForUpdateDep, session: SessionDep) -> Contact:
    """A contact of the account in the path (404 for another account's contact)."""
    return await _contact_of(session, account, contact_id)


async def contact_for_read(contact_id: ContactId, account: AccountForReadDep, session: SessionDep) -> Contact:
    """A contact of the account in the path the actor may see (404 otherwise)."""
    return await _contact_of(session, account, contact_id)


async def _engagement_of(session: SessionDep, account: Account, engagement_id: str) -> Engagement:
    engagement = await session.get(Engagement, engagement_id)
    if engagement is None or engagement.account_id != account.id:
        raise NotFound(f"Engagement {engagement_id} not found")
    return engagement


async def engagement_for_read(
    engagement_id: EngagementId, account: AccountForReadDep, session: SessionDep
) -> Engagement:
    """An engagement of the account in the path the actor may see (404 otherwise)."""
    return await _engagement_of(session, account, engagement_id)


async def engagement_for_update(
    engagement_id: EngagementId, account: AccountForUpdateDep, session: SessionDep
) -> Engagement:
    """An engagement of the account in the path the actor may change (404 otherwise)."""
    return await _engagement_of(session, account, engagement_id)


AccountForRead = Annotated[Account, Depends(account_for_read)]
AccountForUpdate = Annotated[Account, Depends(account_for_update)]
ModelVersion = Annotated[ScoringModelVersion, Depends(model_version)]
Job = Annotated[RescoreJob, Depends(rescore_job)]
ContactForUpdate = Annotated[Contact, Depends(contact_for_update)]
ContactForRead = Annotated[Contact, Depends(contact_for_read)]
EngagementForRead = Annotated[Engagement, Depends(engagement_for_read)]
EngagementForUpdate = Annotated[Engagement, Depends(engagement_for_update)]

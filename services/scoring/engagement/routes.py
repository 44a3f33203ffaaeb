"""HTTP routes of layered engagement: log and list engagements, cadence status, overdue accounts, the policy."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.scoring.contacts import level_review
from services.scoring.contacts.schemas import LevelReviewDecision
from services.scoring.deps import (
    AccountForRead,
    AccountForUpdate,
    Actor,
    At,
    EngagementForRead,
    EngagementForUpdate,
    Paging,
    Supervisor,
    UserFilter,
)
from services.scoring.engagement import edits, planned, service
from services.scoring.engagement.planned import engagement_read
from services.scoring.engagement.schemas import (
    CadencePolicy,
    EngagementCreate,
    EngagementRead,
    EngagementStatus,
    EngagementStatusRead,
    EngagementUpdate,
    PlannedOverdueRead,
)
from services.scoring.models import platform
from shared.api import Page, check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import PublisherDep, SessionDep
from shared.vocabulary import TierCode

router = APIRouter(responses=PROBLEM_RESPONSES)
ACCOUNTS: list[str | Enum] = ["accounts"]
SCORING: list[str | Enum] = ["scoring"]
DeleteReason = Annotated[str, Query(min_length=1, max_length=2000, description="Why it is deleted (audit log)")]


@router.post(
    "/accounts/{account_id}/engagements",
    status_code=201,
    response_model=EngagementRead,
    tags=ACCOUNTS,
    summary="Log or plan an engagement",
)
async def post_engagement(
    actor: Actor,
    account: AccountForUpdate,
    body: EngagementCreate,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> EngagementRead:
    """Log a held engagement (``occurred_on``) or plan one (``planned_on``): level, participants, notes, next step."""
    engagement = await service.log_engagement(
        session, platform, publisher=publisher, account=account, body=body, actor=actor, at=at
    )
    set_etag(response, engagement.version)
    response.headers["Location"] = f"/accounts/{account.id}/engagements/{engagement.id}"
    return engagement_read(engagement, today=at.today)


@router.get(
    "/accounts/{account_id}/engagements", response_model=list[EngagementRead], tags=ACCOUNTS, summary="Engagements"
)
async def get_engagements(
    account: AccountForRead, session: SessionDep, page: Paging, at: At, status: EngagementStatus | None = None
) -> list[EngagementRead]:
    """The account's engagements, latest first (``status``: only held or only planned ones)."""
    rows = await service.list_engagements(
        session, account_id=account.id, limit=page.limit, offset=page.offset, status=status
    )
    return [engagement_read(e, today=at.today) for e in rows]


@router.get(
    "/accounts/{account_id}/engagements/{engagement_id}",
    response_model=EngagementRead,
    tags=ACCOUNTS,
    summary="An engagement",
)
async def get_engagement(engagement: EngagementForRead, response: Response, at: At) -> EngagementRead:
    """One engagement with its ETag (and whether a planned one is overdue)."""
    set_etag(response, engagement.version)
    return engagement_read(engagement, today=at.today)


@router.patch(
    "/accounts/{account_id}/engagements/{engagement_id}",
    response_model=EngagementRead,
    tags=ACCOUNTS,
    summary="Change an engagement",
)
async def patch_engagement(
    actor: Actor,
    engagement: EngagementForUpdate,
    body: EngagementUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> EngagementRead:
    """Change fields (``If-Match``); ``occurred_on`` on a planned one marks it held; audited with from/to."""
    check_if_match(request, engagement.version)
    await edits.update_engagement(
        session, platform, publisher=publisher, engagement=engagement, body=body, actor=actor, at=at
    )
    set_etag(response, engagement.version)
    return engagement_read(engagement, today=at.today)


@router.post(
    "/accounts/{account_id}/engagements/{engagement_id}/level-review",
    response_model=EngagementRead,
    tags=ACCOUNTS,
    summary="Confirm or reject the level of a held engagement an account manager logged",
)
async def review_engagement_level(
    actor: Supervisor,
    engagement: EngagementForUpdate,
    body: LevelReviewDecision,
    response: Response,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> EngagementRead:
    """A supervisor other than the reporter decides a pending level: confirmed, it counts for the contact level
    and the score (re-scored); rejected (with a note), it never does — the engagement still counts for the
    cadence. Audited; 409 unless pending and held."""
    await level_review.decide(
        session, platform, publisher=publisher, kind="engagement", record=engagement, body=body, actor=actor, at=at
    )
    set_etag(response, engagement.version)
    return engagement_read(engagement, today=at.today)


@router.delete(
    "/accounts/{account_id}/engagements/{engagement_id}",
    status_code=204,
    tags=ACCOUNTS,
    summary="Delete an engagement",
)
async def delete_engagement(
    actor: Actor,
    engagement: EngagementForUpdate,
    reason: DeleteReason,
    request: Request,
    session: SessionDep,
    at: At,
    publisher: PublisherDep,
) -> Response:
    """Delete one logged by mistake or a dropped plan (``If-Match``, ``reason``): the audit log keeps it all."""
    check_if_match(request, engagement.version)
    await edits.delete_engagement(
        session, platform, publisher=publisher, engagement=engagement, reason=reason, actor=actor, at=at
    )
    return Response(status_code=204)


@router.get(
    "/accounts/{account_id}/engagement-status",
    response_model=EngagementStatusRead,
    tags=ACCOUNTS,
    summary="Cadence status of an account",
)
async def get_engagement_status(account: AccountForRead, session: SessionDep, at: At) -> EngagementStatusRead:
    """Last contact per level, when the next is due and whether it is overdue (business dates, company zone)."""
    return await service.engagement_status(session, account=account, today=at.today)


@router.get(
    "/scoring/engagements/overdue",
    response_model=Page[EngagementStatusRead],
    tags=SCORING,
    summary="Accounts overdue on their cadence",
)
async def get_overdue(
    session: SessionDep,
    at: At,
    actor: Actor,
    page: Paging,
    owner_id: UserFilter = None,
    tier: TierCode | None = None,
) -> Page[EngagementStatusRead]:
    """Visible accounts that missed their tier's cadence at some level: tier first, then the level of the most
    urgent gap, then its days overdue."""
    return await service.overdue_page(
        session, platform, actor=actor, today=at.today, page=page, owner_id=owner_id, tier=tier
    )


@router.get(
    "/scoring/engagements/planned-overdue",
    response_model=Page[PlannedOverdueRead],
    tags=SCORING,
    summary="Planned engagements past their due date",
)
async def get_planned_overdue(
    session: SessionDep,
    at: At,
    actor: Actor,
    page: Paging,
    owner_id: UserFilter = None,
    tier: TierCode | None = None,
) -> Page[PlannedOverdueRead]:
    """Visible planned engagements not held by their due date: tier first, then contact level, then days overdue."""
    return await planned.planned_overdue(
        session, platform, actor=actor, today=at.today, page=page, owner_id=owner_id, tier=tier
    )


@router.get("/scoring/cadence", response_model=CadencePolicy, tags=SCORING, summary="Cadence policy per tier")
async def get_cadence(session: SessionDep, actor: Actor) -> CadencePolicy:
    """Days between contacts per tier and level."""
    return await service.cadence_policy(session)


@router.put("/scoring/cadence", response_model=CadencePolicy, tags=SCORING, summary="Replace the cadence policy")
async def put_cadence(body: CadencePolicy, session: SessionDep, actor: Supervisor) -> CadencePolicy:
    """Replace the whole cadence policy (supervisor)."""
    await service.replace_cadence_rules(session, body=body)
    return body

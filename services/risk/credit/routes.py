"""Credit routes: the credit profile, the scorecard and assessments, maker-checker limit requests."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit import service
from services.risk.credit.models import LimitRequest
from services.risk.credit.profiles import effective_limit_of
from services.risk.credit.schemas import (
    AssessmentCreate,
    AssessmentRead,
    LimitDecision,
    LimitRequestCreate,
    LimitRequestRead,
    ProfileRead,
    ScorecardPut,
)
from services.risk.credit.scorecard import scorecard_to_dict
from services.risk.deps import (
    AccountForRead,
    AccountForUpdate,
    AccountIdFilter,
    AccountProfile,
    Actor,
    CreditManager,
    LimitRequestForUpdate,
    Paging,
    ProfileForRead,
    RiskOfficer,
    Today,
)
from services.risk.paging import page_of
from services.risk.schemas import ConversionRead
from shared.api import Page, check_if_match, set_etag
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import Clock
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- credit profile and scorecard


async def _profile_read(session: AsyncSession, found: AccountProfile, today: date) -> ProfileRead:
    account, profile = found.account, found.profile
    limit, conversions = await effective_limit_of(session, profile=profile, today=today)
    return ProfileRead(
        account_id=account["account_id"],
        name=account["name"],
        tier=account["tier"],
        industry=account["industry"],
        currency=profile.currency if profile else "CNY",
        credit_limit=profile.credit_limit if profile else None,
        temporary_limit=profile.temporary_limit if profile else None,
        temporary_limit_currency=(profile.temporary_limit_currency or profile.currency)
        if profile and profile.temporary_limit is not None
        else None,
        temporary_limit_expires_on=profile.temporary_limit_expires_on if profile else None,
        effective_limit=limit,
        conversions=[ConversionRead.model_validate(c) for c in conversions],
        score=profile.score if profile else None,
        grade=profile.grade if profile else None,
        risk_class=profile.risk_class if profile else None,
        assessed_at=profile.assessed_at if profile else None,
        version=profile.version if profile else 0,
    )


@router.get("/risk/accounts/{account_id}/credit", summary="Credit profile: limit, temporary limit, score, grade")
async def get_credit_profile(
    found: ProfileForRead, session: SessionDep, today: Today, response: Response
) -> ProfileRead:
    """The account's credit profile (empty until assessed or given a limit); the limit in force is today's."""
    profile = await _profile_read(session, found, today)
    set_etag(response, profile.version)
    return profile


@router.post(
    "/risk/accounts/{account_id}/assessments",
    summary="Score the account's credit (publishes risk.credit_assessed)",
    status_code=201,
)
async def create_assessment(
    actor: CreditManager,
    account: AccountForUpdate,
    body: AssessmentCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> AssessmentRead:
    """Run the scorecard; payment behaviour not supplied is derived from the receivables."""
    assessment = await service.assess_credit(
        session,
        account_id=account["account_id"],
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
    )
    return AssessmentRead.model_validate(assessment)


@router.get("/risk/accounts/{account_id}/assessments", summary="Credit assessment history")
async def list_assessments(account: AccountForRead, session: SessionDep, page: Paging) -> Page[AssessmentRead]:
    """Every scoring of the account, newest first."""
    rows, total = await service.list_assessments(session, account_id=account["account_id"], page=page)
    return Page[AssessmentRead](**page_of([AssessmentRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/scorecard", summary="The credit scorecard (factors, weights, bands, grade cut-offs)")
async def get_scorecard(session: SessionDep, actor: Actor, response: Response) -> dict[str, Any]:
    """The scorecard in force (ETag = its version)."""
    scorecard = await service.get_scorecard(session)
    set_etag(response, scorecard.version)
    return scorecard_to_dict(scorecard)


@router.put("/risk/scorecard", summary="Replace the credit scorecard")
async def put_scorecard(
    body: ScorecardPut, request: Request, response: Response, session: SessionDep, actor: RiskOfficer, clock: ClockDep
) -> dict[str, Any]:
    """Replace the scorecard (If-Match with the current version refuses stale edits)."""
    check_if_match(request, (await service.get_scorecard(session)).version)
    scorecard = await service.set_scorecard(session, body=body, actor=actor, now=clock.now())
    set_etag(response, scorecard.version)
    return scorecard_to_dict(scorecard)


# ---------------------------------------------------------------- limit requests (maker-checker)


@router.post(
    "/risk/accounts/{account_id}/limit-requests",
    summary="Request a credit limit change (applied only after a second risk officer approves)",
    status_code=201,
)
async def create_limit_request(
    actor: CreditManager,
    account: AccountForUpdate,
    body: LimitRequestCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> LimitRequestRead:
    """File a permanent or temporary limit request (accepts an Idempotency-Key); ``checker_id`` names its checker.
    Publishes ``risk.limit_request_submitted`` for the checkers."""
    created = await service.request_limit_change(
        session,
        account_id=account["account_id"],
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
    )
    result = LimitRequestRead.model_validate(created)
    return result


@router.get("/risk/limit-requests", summary="Limit requests (filter by status or account)")
async def list_limit_requests(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    account_id: AccountIdFilter = None,
) -> Page[LimitRequestRead]:
    """Limit requests the caller may see, newest first."""
    rows, total = await service.list_limit_requests(
        session, actor=actor, status=status, account_id=account_id, page=page
    )
    return Page[LimitRequestRead](**page_of([LimitRequestRead.model_validate(r) for r in rows], total, page))


async def _decide(
    session: AsyncSession,
    request: LimitRequest,
    body: LimitDecision | None,
    approve: bool,
    actor: Principal,
    publisher: Publisher,
    clock: Clock,
    today: date,
) -> LimitRequestRead:
    decided = await service.decide_limit_request(
        session,
        request=request,
        approve=approve,
        body=body or LimitDecision(),
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
    )
    return LimitRequestRead.model_validate(decided)


@router.post(
    "/risk/limit-requests/{request_id}/approve",
    summary="Approve a limit request (not by its maker; publishes risk.credit_limit_changed)",
)
async def approve_limit_request(
    actor: RiskOfficer,
    limit_request: LimitRequestForUpdate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    body: LimitDecision | None = None,
) -> LimitRequestRead:
    """The checker applies the requested limit; the maker (and anyone but a named checker) gets 403."""
    return await _decide(session, limit_request, body, True, actor, publisher, clock, today)


@router.post("/risk/limit-requests/{request_id}/reject", summary="Reject a limit request (not by its maker)")
async def reject_limit_request(
    actor: RiskOfficer,
    limit_request: LimitRequestForUpdate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    body: LimitDecision | None = None,
) -> LimitRequestRead:
    """The checker turns the request down; the limit stays."""
    return await _decide(session, limit_request, body, False, actor, publisher, clock, today)

"""Credit routes: the credit profile, the scorecard and assessments, maker-checker limit requests (with their
case history, withdrawal, four eyes above the threshold), the periodic review due list."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit import service
from services.risk.credit.models import LimitRequest
from services.risk.credit.policy import DEFAULT_CASE_POLICY, CasePolicy
from services.risk.credit.profiles import effective_limit_of
from services.risk.credit.reviews import list_due_reviews as list_reviews
from services.risk.credit.schemas import (
    AssessmentCreate,
    AssessmentRead,
    DueReviewRead,
    LimitDecision,
    LimitRequestCreate,
    LimitRequestDetail,
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
    CreditCasePolicy,
    CreditManager,
    LimitRequestForRead,
    LimitRequestForUpdate,
    Paging,
    ProfileForRead,
    RiskOfficer,
    Today,
)
from services.risk.paging import page_of
from services.risk.schemas import CaseHistoryRead, ConversionRead
from shared.api import Page, check_if_match, set_etag
from shared.auth import Principal
from shared.bus import Publisher
from shared.clock import Clock
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- credit profile and scorecard


async def _profile_read(
    session: AsyncSession, found: AccountProfile, today: date, policy: CasePolicy = DEFAULT_CASE_POLICY
) -> ProfileRead:
    account, profile = found.account, found.profile
    limit, conversions = await effective_limit_of(session, profile=profile, today=today)
    suggested = policy.suggested_limit(profile.grade if profile else None)
    history = await service.account_case_history(session, account_id=account["account_id"])
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
        group_credit_limit=profile.group_credit_limit if profile else None,
        group_limit_currency=profile.group_limit_currency if profile else None,
        version=profile.version if profile else 0,
        review_on=profile.review_on if profile else None,
        suggested_limit=suggested,
        suggested_limit_currency=policy.suggested_limit_currency if suggested is not None else None,
        history=[CaseHistoryRead.model_validate(step) for step in history],
    )


@router.get("/risk/accounts/{account_id}/credit", summary="Credit profile: limit, temporary limit, score, grade")
async def get_credit_profile(
    found: ProfileForRead, session: SessionDep, today: Today, response: Response, policy: CreditCasePolicy
) -> ProfileRead:
    """The account's credit profile (empty until assessed or given a limit); the limit in force is today's; with
    its review date, the limit suggested for its grade and the latest steps of its credit case."""
    profile = await _profile_read(session, found, today, policy)
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
    policy: CreditCasePolicy,
) -> AssessmentRead:
    """Run the scorecard (at least the policy's number of factors, else 422 naming the missing ones); payment
    behaviour not supplied is derived from the receivables. Sets the review date; a downgrade raises an alert."""
    assessment = await service.assess_credit(
        session,
        account_id=account["account_id"],
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
        policy=policy,
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
    check_if_match(request, await service.scorecard_version(session))
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
    policy: CreditCasePolicy,
) -> LimitRequestRead:
    """File a permanent or temporary limit request (accepts an Idempotency-Key); ``checker_id`` names its checker.
    Above the approval threshold it needs two approvals (``approvals_needed``); it shows the limit suggested for
    the account's grade. Publishes ``risk.limit_request_submitted`` for the checkers."""
    created = await service.request_limit_change(
        session,
        account_id=account["account_id"],
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
        policy=policy,
    )
    result = LimitRequestRead.model_validate(created)
    return result


@router.get("/risk/limit-requests", summary="Limit requests (filter by status or account)")
async def list_limit_requests(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected|withdrawn)$")] = None,
    account_id: AccountIdFilter = None,
) -> Page[LimitRequestRead]:
    """Limit requests the caller may see, newest first."""
    rows, total = await service.list_limit_requests(
        session, actor=actor, status=status, account_id=account_id, page=page
    )
    return Page[LimitRequestRead](**page_of([LimitRequestRead.model_validate(r) for r in rows], total, page))


async def _detail(session: AsyncSession, request: LimitRequest) -> LimitRequestDetail:
    history = await service.limit_request_history(session, request_id=request.id)
    return LimitRequestDetail.model_validate(request).model_copy(
        update={"history": [CaseHistoryRead.model_validate(h) for h in history]}
    )


@router.get("/risk/limit-requests/{request_id}", summary="A limit request with its case history")
async def get_limit_request(limit_request: LimitRequestForRead, session: SessionDep) -> LimitRequestDetail:
    """The request, the approvals it still needs and every step of its case (who, when, from/to, note)."""
    return await _detail(session, limit_request)


@router.post("/risk/limit-requests/{request_id}/withdraw", summary="Withdraw a pending limit request (its maker only)")
async def withdraw_limit_request(
    actor: CreditManager,
    limit_request: LimitRequestForUpdate,
    session: SessionDep,
    clock: ClockDep,
    body: LimitDecision | None = None,
) -> LimitRequestDetail:
    """Only the maker may withdraw (403 otherwise; a decided request is 409); kept in the history and audit log."""
    await service.withdraw_limit_request(
        session, request=limit_request, body=body or LimitDecision(), actor=actor, now=clock.now()
    )
    return await _detail(session, limit_request)


@router.get("/risk/credit-reviews/due", summary="Credit profiles due for their periodic review, most overdue first")
async def list_due_reviews(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    today: Today,
    within_days: Annotated[int, Query(ge=0, le=366, description="Also those due within this many days")] = 0,
) -> Page[DueReviewRead]:
    """Profiles the caller may see whose review date is today + ``within_days`` or earlier."""
    rows, total = await list_reviews(session, actor=actor, today=today, within_days=within_days, page=page)
    return Page[DueReviewRead](**page_of([DueReviewRead.model_validate(r) for r in rows], total, page))


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
    actor: CreditManager,
    limit_request: LimitRequestForUpdate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    body: LimitDecision | None = None,
) -> LimitRequestRead:
    """The checker applies the requested limit; the maker (and anyone but a named checker) gets 403. Above the
    threshold the first approval is kept and a second approver (a risk officer other than the first, or a
    supervisor) applies it."""
    return await _decide(session, limit_request, body, True, actor, publisher, clock, today)


@router.post("/risk/limit-requests/{request_id}/reject", summary="Reject a limit request (not by its maker)")
async def reject_limit_request(
    actor: CreditManager,
    limit_request: LimitRequestForUpdate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    body: LimitDecision | None = None,
) -> LimitRequestRead:
    """The checker turns the request down; the limit stays."""
    return await _decide(session, limit_request, body, False, actor, publisher, clock, today)

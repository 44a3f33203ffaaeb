"""Credit domain: the scorecard and assessments, maker-checker limit requests and temporary-limit expiry."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import payment_behaviour as derive_payment_behaviour
from services.risk.credit.models import CreditAssessment, CreditProfile, Invoice, LimitRequest, ScorecardConfig
from services.risk.credit.profiles import effective_limit, ensure_profile
from services.risk.credit.receivables import load_receivables, refresh_credit_signals
from services.risk.credit.schemas import AssessmentCreate, LimitDecision, LimitRequestCreate, ScorecardPut
from services.risk.credit.scorecard import (
    DEFAULT_SCORECARD,
    Scorecard,
    score_credit,
    scorecard_from_dict,
    scorecard_to_dict,
)
from services.risk.models import platform
from services.risk.paging import paged
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, InvalidTransition, Unprocessable
from shared.events import CreditAssessed, CreditLimitChanged
from shared.events.catalogue import CreditAssessedData, CreditLimitChangedData

# Limit request lifecycle (maker-checker): a pending request is approved or rejected once, by someone else.
LIMIT_REQUEST_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("approved", "rejected"),
    "approved": (),
    "rejected": (),
}


# ---------------------------------------------------------------- scorecard and assessment


async def get_scorecard(session: AsyncSession) -> Scorecard:
    """The configured scorecard, or the default one."""
    row = await session.get(ScorecardConfig, 1)
    return scorecard_from_dict(row.config) if row is not None else DEFAULT_SCORECARD


async def set_scorecard(session: AsyncSession, *, body: ScorecardPut, actor: Principal, now: datetime) -> Scorecard:
    """Replace the scorecard (validated); its version goes up by one."""
    row = await session.get(ScorecardConfig, 1)
    version = (row.version if row is not None else DEFAULT_SCORECARD.version) + 1
    try:
        scorecard = scorecard_from_dict({**body.model_dump(), "version": version})
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise Unprocessable(f"Invalid scorecard: {exc}", field="factors") from exc
    stored = scorecard_to_dict(scorecard)
    if row is None:
        session.add(ScorecardConfig(id=1, config=stored, version=version, updated_by=actor.user_id, updated_at=now))
    else:
        row.config, row.version, row.updated_by, row.updated_at = stored, version, actor.user_id, now
    await session.flush()
    return scorecard


async def assess_credit(
    session: AsyncSession,
    *,
    account_id: str,
    body: AssessmentCreate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
) -> CreditAssessment:
    """Score an account; payment behaviour not supplied is derived from its receivables. Publishes credit_assessed."""
    derived = derive_payment_behaviour(await load_receivables(session, account_id=account_id), now.date())
    has_invoices = await session.scalar(select(func.count()).where(Invoice.account_id == account_id))
    merged: dict[str, Any] = {k: v for k, v in body.model_dump().items() if v is not None}
    if has_invoices:
        for key, value in derived.items():
            merged.setdefault(key, value)
    scorecard = await get_scorecard(session)
    try:
        result = score_credit(merged, scorecard)
    except ValueError as exc:
        raise Unprocessable(f"Cannot score: {exc}", field="external_rating" if "rating" in str(exc) else None) from exc
    assessment = CreditAssessment(
        account_id=account_id,
        inputs={k: str(v) for k, v in merged.items()},
        breakdown=result.breakdown,
        score=result.score,
        grade=result.grade,
        risk_class=result.risk_class,
        scorecard_version=scorecard.version,
        assessed_by=actor.user_id,
        assessed_at=now,
    )
    session.add(assessment)
    profile = await ensure_profile(session, account_id=account_id, now=now)
    profile.score, profile.grade, profile.risk_class = result.score, result.grade, result.risk_class
    profile.assessed_at, profile.updated_at = now, now
    profile.version += 1
    await session.flush()
    data = CreditAssessedData(score=result.score, grade=result.grade, risk_class=result.risk_class, assessed_at=now)
    await publisher.publish(session, CreditAssessed, data, account_id=account_id)
    return assessment


async def list_assessments(
    session: AsyncSession, *, account_id: str, page: PageParams
) -> tuple[list[CreditAssessment], int]:
    """The account's assessment history, newest first."""
    stmt = select(CreditAssessment).where(CreditAssessment.account_id == account_id)
    return await paged(session, stmt, page, CreditAssessment.assessed_at.desc())


# ---------------------------------------------------------------- limit changes (maker-checker)


async def request_limit_change(
    session: AsyncSession, *, account_id: str, body: LimitRequestCreate, actor: Principal, now: datetime
) -> LimitRequest:
    """File a limit change request; nothing changes until someone else approves it."""
    kind = body.kind
    if kind == "temporary" and (body.expires_on is None or body.expires_on < now.date()):
        raise Unprocessable("A temporary limit needs an expiry date that is not in the past", field="expires_on")
    if kind == "permanent" and body.expires_on is not None:
        raise Unprocessable("A permanent limit has no expiry date", field="expires_on")
    profile = await ensure_profile(session, account_id=account_id, now=now)
    if profile.credit_limit is not None and body.currency != profile.currency:
        raise Unprocessable(f"The account's limit is kept in {profile.currency}", field="currency")
    pending = await session.scalar(
        select(LimitRequest.id).where(
            LimitRequest.account_id == account_id, LimitRequest.kind == kind, LimitRequest.status == "pending"
        )
    )
    if pending is not None:
        raise Conflict(f"A {kind} limit request is already pending for this account", request_id=pending)
    request = LimitRequest(
        account_id=account_id,
        kind=kind,
        requested_limit=body.requested_limit,
        currency=body.currency,
        expires_on=body.expires_on,
        reason=body.reason,
        status="pending",
        previous_limit=profile.credit_limit if kind == "permanent" else profile.temporary_limit,
        requested_by=actor.user_id,
        requested_at=now,
    )
    session.add(request)
    await session.flush()
    return request


async def decide_limit_request(
    session: AsyncSession,
    *,
    request: LimitRequest,
    approve: bool,
    body: LimitDecision,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
) -> LimitRequest:
    """Approve (apply the limit, publish credit_limit_changed once) or reject a pending request; maker ≠ checker."""
    target = "approved" if approve else "rejected"
    allowed = LIMIT_REQUEST_TRANSITIONS[request.status]
    if target not in allowed:
        raise InvalidTransition(f"The request is already {request.status}", current=request.status, allowed=allowed)
    if actor.user_id == request.requested_by:
        raise Forbidden("The maker of a limit request cannot approve or reject it; a second risk officer must")
    request.status = target
    request.decided_by, request.decided_at, request.decision_note = actor.user_id, now, body.note
    if approve:
        await _apply_limit(session, request=request, publisher=publisher, now=now)
        await session.flush()
        await refresh_credit_signals(session, account_id=request.account_id, publisher=publisher, now=now)
    await session.flush()
    return request


async def _apply_limit(session: AsyncSession, *, request: LimitRequest, publisher: Publisher, now: datetime) -> None:
    """Put an approved request's limit on the profile and publish the change."""
    profile = await ensure_profile(session, account_id=request.account_id, now=now)
    # Permanent: the permanent limit before → after; temporary: the limit in force before → the temporary one.
    if request.kind == "permanent":
        old_limit = profile.credit_limit
        profile.credit_limit = request.requested_limit
        profile.currency = request.currency
    else:
        old_limit = effective_limit(profile, now.date())
        profile.temporary_limit = request.requested_limit
        profile.temporary_limit_expires_on = request.expires_on
    profile.version += 1
    profile.updated_at = now
    data = CreditLimitChangedData(
        old_limit=old_limit,
        new_limit=request.requested_limit,
        currency=profile.currency,
        request_id=request.id,
        approved_by=request.decided_by,
    )
    await publisher.publish(session, CreditLimitChanged, data, account_id=request.account_id)


async def list_limit_requests(
    session: AsyncSession, *, actor: Principal, status: str | None, account_id: str | None, page: PageParams
) -> tuple[list[LimitRequest], int]:
    """Limit requests the actor may see, newest first."""
    stmt = select(LimitRequest).where(visible_accounts_clause(platform, actor, LimitRequest.account_id))
    if status:
        stmt = stmt.where(LimitRequest.status == status)
    if account_id:
        stmt = stmt.where(LimitRequest.account_id == account_id)
    return await paged(session, stmt, page, LimitRequest.requested_at.desc())


async def expire_temporary_limits(session: AsyncSession, *, publisher: Publisher, now: datetime) -> list[str]:
    """Drop temporary limits past their expiry and publish the change back to the permanent limit."""
    today = now.date()
    expired = (
        await session.execute(
            select(CreditProfile).where(
                CreditProfile.temporary_limit.is_not(None), CreditProfile.temporary_limit_expires_on < today
            )
        )
    ).scalars()
    accounts = []
    for profile in list(expired):
        old = profile.temporary_limit
        profile.temporary_limit, profile.temporary_limit_expires_on = None, None
        profile.version += 1
        profile.updated_at = now
        data = CreditLimitChangedData(
            old_limit=old,
            new_limit=profile.credit_limit if profile.credit_limit is not None else Decimal(0),
            currency=profile.currency,
            request_id=None,
            approved_by=None,
        )
        await publisher.publish(session, CreditLimitChanged, data, account_id=profile.account_id)
        accounts.append(profile.account_id)
    await session.flush()
    return accounts

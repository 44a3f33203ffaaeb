"""Credit domain: the scorecard and assessments, maker-checker limit requests (four eyes above a threshold,
withdrawal by the maker, each step kept in the case history) and temporary-limit expiry."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import payment_behaviour as derive_payment_behaviour
from services.risk.credit.groups import check_group_request, set_group_limit
from services.risk.credit.models import (
    CreditAssessment,
    CreditProfile,
    Invoice,
    LimitRequest,
    LimitRequestHistory,
    ScorecardConfig,
)
from services.risk.credit.policy import DEFAULT_CASE_POLICY, GRADE_RANK, CasePolicy, is_downgrade
from services.risk.credit.profiles import (
    effective_limit,
    ensure_profile,
    get_profile,
    limit_currencies,
    limit_currency,
)
from services.risk.credit.receivables import invoice_currencies, load_receivables, refresh_credit_signals
from services.risk.credit.schemas import AssessmentCreate, LimitDecision, LimitRequestCreate, ScorecardPut
from services.risk.credit.scorecard import (
    DEFAULT_SCORECARD,
    Scorecard,
    missing_factors,
    score_credit,
    scorecard_from_dict,
    scorecard_to_dict,
)
from services.risk.fx.conversion import MissingRate
from services.risk.fx.service import converter_for
from services.risk.models import audit_log, platform
from services.risk.paging import paged
from services.risk.warnings.models import AlertHistory
from services.risk.warnings.service import record_signal
from shared.api import PageParams
from shared.audit import record_audit, snapshot
from shared.auth import ADMIN, RISK_OFFICER, SUPERVISOR, Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, InvalidTransition, Unprocessable
from shared.events import CreditAssessed, CreditLimitChanged, LimitRequestSubmitted
from shared.events.catalogue import CreditAssessedData, CreditLimitChangedData, LimitRequestData
from shared.people import require_assignable

log = logging.getLogger("kam.risk")

# Limit request lifecycle (maker-checker): a pending request is approved or rejected once, by someone else.
# The maker may withdraw it while pending. Above the approval threshold "approved" takes two approvals.
LIMIT_REQUEST_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("approved", "rejected", "withdrawn"),
    "approved": (),
    "rejected": (),
    "withdrawn": (),
}
# Who may be named as the checker of a limit request (the approve route needs the risk-officer role too).
CHECKER_ROLES = (RISK_OFFICER, ADMIN)


# ---------------------------------------------------------------- scorecard and assessment


async def get_scorecard(session: AsyncSession) -> Scorecard:
    """The configured scorecard, or the default one; a stored one that no longer validates (say a NaN bound
    written before validation existed) is a 409 asking for a valid PUT, never a 500 on every assessment."""
    row = await session.get(ScorecardConfig, 1)
    if row is None:
        return DEFAULT_SCORECARD
    try:
        return scorecard_from_dict({**row.config, "version": row.version})
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        log.error("stored scorecard version %s is invalid: %s", row.version, exc)
        raise Conflict(
            f"The stored scorecard (version {row.version}) is invalid: {exc}; replace it with PUT /risk/scorecard",
            current_version=row.version,
        ) from exc


async def scorecard_version(session: AsyncSession) -> int:
    """The version of the scorecard in force (the ETag), valid or not."""
    row = await session.get(ScorecardConfig, 1)
    return row.version if row is not None else DEFAULT_SCORECARD.version


async def set_scorecard(session: AsyncSession, *, body: ScorecardPut, actor: Principal, now: datetime) -> Scorecard:
    """Replace the scorecard (validated); its version goes up by one."""
    row = await session.get(ScorecardConfig, 1)
    before = dict(row.config) if row is not None else scorecard_to_dict(DEFAULT_SCORECARD)
    version = (row.version if row is not None else DEFAULT_SCORECARD.version) + 1
    try:
        scorecard = scorecard_from_dict({**body.model_dump(), "version": version})
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise Unprocessable(f"Invalid scorecard: {exc}", field="factors") from exc
    stored = scorecard_to_dict(scorecard)
    if row is None:
        session.add(ScorecardConfig(id=1, config=stored, version=version, updated_by=actor.user_id, updated_at=now))
    else:
        row.config, row.version, row.updated_by, row.updated_at = stored, version, actor.user_id, now
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="credit_scorecard.replaced",
        object_type="credit_scorecard",
        object_id="1",
        before=before,
        after=stored,
        at=now,
    )
    return scorecard


async def assess_credit(
    session: AsyncSession,
    *,
    account_id: str,
    body: AssessmentCreate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
    policy: CasePolicy = DEFAULT_CASE_POLICY,
) -> CreditAssessment:
    """Score an account; payment behaviour not supplied is derived from its receivables. Publishes credit_assessed.

    The derivation counts days from ``today`` (the business date) and converts invoices in other currencies into
    the limit's currency at the rates in force today (a missing rate is a 422 naming the currency). A grade needs
    ``policy.min_scoring_factors`` factors (422 naming the missing ones); it sets the periodic review date, and a
    downgrade records a ``credit_downgrade`` signal (the CREDIT_DOWNGRADE rule raises the alert).
    """
    profile = await ensure_profile(session, account_id=account_id, now=now)
    converter = await converter_for(
        session,
        target=limit_currency(profile),
        currencies=await invoice_currencies(session, account_id=account_id),
        day=today,
    )
    receivables = await load_receivables(session, account_id=account_id, converter=converter)
    derived = derive_payment_behaviour(receivables, today)
    has_invoices = await session.scalar(select(func.count()).where(Invoice.account_id == account_id))
    merged: dict[str, Any] = {k: v for k, v in body.model_dump().items() if v is not None}
    if has_invoices:
        for key, value in derived.items():
            merged.setdefault(key, value)
    scorecard = await get_scorecard(session)
    _require_factors(merged, scorecard, policy.min_scoring_factors)
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
    previous_grade = profile.grade
    profile.score, profile.grade, profile.risk_class = result.score, result.grade, result.risk_class
    profile.assessed_at, profile.updated_at = now, now
    profile.review_on = policy.review_on(result.grade, today)
    profile.version += 1
    await session.flush()
    data = CreditAssessedData(score=result.score, grade=result.grade, risk_class=result.risk_class, assessed_at=now)
    await publisher.publish(session, CreditAssessed, data, account_id=account_id)
    if is_downgrade(previous_grade, result.grade):
        await _downgrade_signal(session, assessment, previous_grade, publisher=publisher, now=now, today=today)
    return assessment


def _require_factors(inputs: dict[str, Any], scorecard: Scorecard, minimum: int) -> None:
    """Too few factors to grade on is a 422 naming each factor that could still be supplied."""
    missing = missing_factors(inputs, scorecard, minimum)
    if not missing:
        return
    supplied = [f.name for f in scorecard.factors if inputs.get(f.name) is not None]
    detail = (
        f"Grading needs at least {minimum} scorecard factors; {len(supplied)} supplied "
        f"({', '.join(supplied) or 'none'}). Supply more of: {', '.join(missing)}"
    )
    errors = [{"field": name, "message": f"{name} is missing (grading needs {minimum} factors)"} for name in missing]
    raise Unprocessable(detail, errors=errors, missing_factors=missing)


async def _downgrade_signal(
    session: AsyncSession,
    assessment: CreditAssessment,
    previous_grade: str | None,
    *,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> None:
    """A worse grade is a ``credit_downgrade`` signal valued by the new grade's rank (A 1 … E 5)."""
    await record_signal(
        session,
        account_id=assessment.account_id,
        signal_type="credit_downgrade",
        value=Decimal(GRADE_RANK[assessment.grade]),
        source="manual",
        source_ref=f"assessment:{assessment.id}",
        title=f"信用评级下调 Credit grade {previous_grade} → {assessment.grade} (score {assessment.score:f})",
        details={"previous_grade": previous_grade, "grade": assessment.grade, "assessment_id": assessment.id},
        publisher=publisher,
        now=now,
        today=today,
    )


async def list_assessments(
    session: AsyncSession, *, account_id: str, page: PageParams
) -> tuple[list[CreditAssessment], int]:
    """The account's assessment history, newest first."""
    stmt = select(CreditAssessment).where(CreditAssessment.account_id == account_id)
    return await paged(session, stmt, page, CreditAssessment.assessed_at.desc())


# ---------------------------------------------------------------- limit changes (maker-checker)


async def request_limit_change(
    session: AsyncSession,
    *,
    account_id: str,
    body: LimitRequestCreate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
    policy: CasePolicy = DEFAULT_CASE_POLICY,
) -> LimitRequest:
    """File a limit change request; nothing changes until someone else (the named checker, if any) approves it.

    A permanent limit is kept in the limit's currency; a temporary one may be in another currency when a rate
    is in force ``today`` (it is converted whenever it counts). The checker must be a risk officer who can see
    the account, and not the maker. Above the policy's threshold it needs a second approval (four eyes). The
    request keeps the limit the policy suggests for the account's grade. Publishes ``risk.limit_request_submitted``
    (the maker as ``requested_by``) for the checkers' queue.
    """
    kind = body.kind
    if kind == "temporary" and (body.expires_on is None or body.expires_on < today):
        raise Unprocessable("A temporary limit needs an expiry date that is not in the past", field="expires_on")
    if kind == "permanent" and body.expires_on is not None:
        raise Unprocessable("A permanent limit has no expiry date", field="expires_on")
    profile = await ensure_profile(session, account_id=account_id, now=now)
    if kind == "permanent" and profile.credit_limit is not None and body.currency != profile.currency:
        raise Unprocessable(f"The account's limit is kept in {profile.currency}", field="currency")
    if kind == "temporary":
        await converter_for(session, target=profile.currency, currencies={body.currency}, day=today)
    if kind == "group":  # the limit of the group this account heads (credit/groups.py)
        check_group_request(profile, body)
    await _check_checker(session, account_id=account_id, body=body, actor=actor)
    pending = await session.scalar(
        select(LimitRequest.id).where(
            LimitRequest.account_id == account_id, LimitRequest.kind == kind, LimitRequest.status == "pending"
        )
    )
    if pending is not None:
        raise Conflict(f"A {kind} limit request is already pending for this account", request_id=pending)
    approvals, threshold = await _approvals_required(session, body=body, policy=policy, today=today)
    suggested = policy.suggested_limit(profile.grade)
    request = LimitRequest(
        account_id=account_id,
        kind=kind,
        requested_limit=body.requested_limit,
        currency=body.currency,
        expires_on=body.expires_on,
        reason=body.reason,
        status="pending",
        previous_limit={"permanent": profile.credit_limit, "group": profile.group_credit_limit}.get(
            kind, profile.temporary_limit
        ),
        requested_by=actor.user_id,
        checker_id=body.checker_id,
        requested_at=now,
        approvals_required=approvals,
        threshold_amount=threshold[0] if threshold else None,
        threshold_currency=threshold[1] if threshold else None,
        suggested_limit=suggested,
        suggested_limit_currency=policy.suggested_limit_currency if suggested is not None else None,
    )
    session.add(request)
    await session.flush()
    await _keep_step(session, request, "submitted", None, actor.user_id, now, body.reason)
    data = LimitRequestData(
        request_id=request.id,
        requested_by=request.requested_by,
        requested_limit=request.requested_limit,
        currency=request.currency,
        checker_role=RISK_OFFICER,
        checker_id=request.checker_id,
    )
    await publisher.publish(session, LimitRequestSubmitted, data, account_id=account_id)
    return request


async def _approvals_required(
    session: AsyncSession, *, body: LimitRequestCreate, policy: CasePolicy, today: date
) -> tuple[int, tuple[Decimal, str] | None]:
    """Two approvals when the requested limit is above the threshold of its currency — or, without one, above the
    reporting currency's, the limit converted at today's rate (422 naming the currency without a rate)."""
    threshold = policy.threshold_for(body.currency)
    if threshold is None:
        return 1, None
    amount = body.requested_limit
    if threshold[1] != body.currency:
        converter = await converter_for(session, target=threshold[1], currencies={body.currency}, day=today)
        amount = converter.to_target(amount, body.currency, figure="requested_limit")
    return (2 if amount > threshold[0] else 1), threshold


async def _check_checker(session: AsyncSession, *, account_id: str, body: LimitRequestCreate, actor: Principal) -> None:
    """A named checker is a known, active risk officer who sees the account and is not the maker (422)."""
    if body.checker_id is None:
        return
    if body.checker_id == actor.user_id:
        raise Unprocessable("checker_id: the maker of a limit request cannot check it", field="checker_id")
    await require_assignable(
        session, platform, user_id=body.checker_id, field="checker_id", account_id=account_id, roles=CHECKER_ROLES
    )


def _check_decider(request: LimitRequest, actor: Principal, *, second: bool) -> None:
    """Maker ≠ checker; the first (or only) decision is a risk officer's — the named checker's, if any; the second
    approval is a risk officer's or a supervisor's other than the first approver (admin: any but the maker's)."""
    if actor.user_id == request.requested_by:
        raise Forbidden("The maker of a limit request cannot approve or reject it; a second risk officer must")
    if second and actor.user_id == request.first_approved_by:
        raise Forbidden("Four eyes: the second approval must come from someone other than the first approver")
    if actor.has_any([ADMIN]):
        return
    if second:
        if not actor.has_any([RISK_OFFICER, SUPERVISOR]):
            raise Forbidden("The second approval of a limit request needs a risk officer or a supervisor")
        return
    if not actor.has_any([RISK_OFFICER]):
        raise Forbidden("Approving or rejecting a limit request needs a risk officer")
    if request.checker_id not in (None, actor.user_id):
        raise Forbidden(f"This limit request is to be checked by {request.checker_id}")


async def decide_limit_request(
    session: AsyncSession,
    *,
    request: LimitRequest,
    approve: bool,
    body: LimitDecision,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> LimitRequest:
    """Approve (apply the limit, publish credit_limit_changed once) or reject a pending request; maker ≠ checker,
    and a request with a named checker is decided by that checker (or an admin). Above the threshold the first
    approval is kept and the request stays pending for the second (four eyes; see ``_check_decider``)."""
    target = "approved" if approve else "rejected"
    allowed = LIMIT_REQUEST_TRANSITIONS[request.status]
    if target not in allowed:
        raise InvalidTransition(f"The request is already {request.status}", current=request.status, allowed=allowed)
    second = request.approvals_required >= 2 and request.first_approved_by is not None
    _check_decider(request, actor, second=second)
    before = {**snapshot(request, LIMIT_REQUEST_AUDIT), **await _limits_of(session, request.account_id)}
    if approve and request.approvals_required >= 2 and not second:
        request.first_approved_by, request.first_approved_at = actor.user_id, now
        action = "first_approval"
    else:
        request.status = target
        request.decided_by, request.decided_at, request.decision_note = actor.user_id, now, body.note
        action = target
    if request.status == "approved":
        await _apply_limit(session, request=request, publisher=publisher, now=now, today=today)
        await session.flush()
        await refresh_credit_signals(session, account_id=request.account_id, publisher=publisher, now=now, today=today)
    await session.flush()
    await _keep_step(session, request, action, "pending", actor.user_id, now, body.note)
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=f"credit_limit.{'first_approved' if action == 'first_approval' else action}",
        object_type="limit_request",
        object_id=request.id,
        before=before,
        after={**snapshot(request, LIMIT_REQUEST_AUDIT), **await _limits_of(session, request.account_id)},
        at=now,
    )
    return request


async def withdraw_limit_request(
    session: AsyncSession, *, request: LimitRequest, body: LimitDecision, actor: Principal, now: datetime
) -> LimitRequest:
    """The maker takes back a pending request (anyone else 403; a decided one 409); kept in history and audit."""
    allowed = LIMIT_REQUEST_TRANSITIONS[request.status]
    if "withdrawn" not in allowed:
        raise InvalidTransition(f"The request is already {request.status}", current=request.status, allowed=allowed)
    if actor.user_id != request.requested_by:
        raise Forbidden(f"Only the maker of a limit request ({request.requested_by}) may withdraw it")
    before = snapshot(request, LIMIT_REQUEST_AUDIT)
    request.status = "withdrawn"
    request.decided_by, request.decided_at, request.decision_note = actor.user_id, now, body.note
    await session.flush()
    await _keep_step(session, request, "withdrawn", "pending", actor.user_id, now, body.note)
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="credit_limit.withdrawn",
        object_type="limit_request",
        object_id=request.id,
        before=before,
        after=snapshot(request, LIMIT_REQUEST_AUDIT),
        at=now,
    )
    return request


# ---------------------------------------------------------------- the case history


async def _keep_step(
    session: AsyncSession,
    request: LimitRequest,
    action: str,
    from_state: str | None,
    actor_id: str,
    at: datetime,
    note: str | None,
) -> None:
    """One step of the request's case (to: its status after the step)."""
    session.add(
        LimitRequestHistory(
            request_id=request.id,
            account_id=request.account_id,
            action=action,
            from_state=from_state,
            to_state=request.status,
            actor_id=actor_id,
            at=at,
            note=note,
        )
    )
    await session.flush()


async def limit_request_history(session: AsyncSession, *, request_id: str) -> list[LimitRequestHistory]:
    """A limit request's case, oldest first."""
    rows = await session.execute(
        select(LimitRequestHistory)
        .where(LimitRequestHistory.request_id == request_id)
        .order_by(LimitRequestHistory.at, LimitRequestHistory.id)
    )
    return list(rows.scalars())


async def account_case_history(session: AsyncSession, *, account_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest ``limit`` steps of the account's credit case — its limit requests and alerts — newest first."""
    steps: list[tuple[Any, str, str]] = []
    for model, object_type, key in (
        (LimitRequestHistory, "limit_request", "request_id"),
        (AlertHistory, "alert", "alert_id"),
    ):
        query = select(model).where(model.account_id == account_id).order_by(model.at.desc(), model.id.desc())
        for row in (await session.execute(query.limit(limit))).scalars():
            steps.append((row, object_type, getattr(row, key)))
    steps.sort(key=lambda s: (s[0].at, s[1] == "limit_request", s[0].id), reverse=True)
    fields = ("action", "from_state", "to_state", "actor_id", "at", "note")
    return [
        {"object_type": kind, "object_id": object_id, **{f: getattr(row, f) for f in fields}}
        for row, kind, object_id in steps[:limit]
    ]


# What the audit log shows of a limit decision: the request's state and the account's limits around it.
LIMIT_REQUEST_AUDIT = (
    "account_id",
    "kind",
    "requested_limit",
    "currency",
    "status",
    "approvals_required",
    "first_approved_by",
    "decided_by",
    "decision_note",
)
PROFILE_LIMITS_AUDIT = (
    "credit_limit",
    "temporary_limit",
    "temporary_limit_currency",
    "temporary_limit_expires_on",
    "group_credit_limit",
    "group_limit_currency",
)


async def _limits_of(session: AsyncSession, account_id: str) -> dict[str, Any]:
    profile = await get_profile(session, account_id=account_id)
    return {f"profile.{name}": getattr(profile, name) if profile else None for name in PROFILE_LIMITS_AUDIT}


async def _limit_now(session: AsyncSession, profile: CreditProfile, today: date) -> Decimal | None:
    """The limit in force ``today`` in the limit's currency (a temporary one converted at today's rate)."""
    converter = await converter_for(
        session, target=limit_currency(profile), currencies=limit_currencies(profile, today), day=today
    )
    return effective_limit(profile, today, converter)


async def _in_limit_currency(
    session: AsyncSession, profile: CreditProfile, amount: Decimal, currency: str, today: date
) -> Decimal:
    """``amount`` of ``currency`` in the limit's currency at the rate in force ``today`` (422 without one)."""
    converter = await converter_for(session, target=profile.currency, currencies={currency}, day=today)
    return converter.to_target(amount, currency, figure="temporary_limit")


async def _apply_limit(
    session: AsyncSession, *, request: LimitRequest, publisher: Publisher, now: datetime, today: date
) -> None:
    """Put an approved request's limit on the profile and publish the change (in the limit's currency)."""
    profile = await ensure_profile(session, account_id=request.account_id, now=now)
    if request.kind == "group":  # over the group's subsidiaries, not the account's own limit: no credit_limit_changed
        set_group_limit(profile, request, now=now)
        return
    # Permanent: the permanent limit before → after; temporary: the limit in force before → the temporary one.
    if request.kind == "permanent":
        old_limit = profile.credit_limit
        profile.credit_limit = request.requested_limit
        profile.currency = request.currency
        new_limit = request.requested_limit
    else:
        old_limit = await _limit_now(session, profile, today)
        profile.temporary_limit = request.requested_limit
        profile.temporary_limit_currency = request.currency
        profile.temporary_limit_expires_on = request.expires_on
        new_limit = await _in_limit_currency(session, profile, request.requested_limit, request.currency, today)
    profile.version += 1
    profile.updated_at = now
    data = CreditLimitChangedData(
        old_limit=old_limit,
        new_limit=new_limit,
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


async def expire_temporary_limits(
    session: AsyncSession, *, publisher: Publisher, now: datetime, today: date
) -> list[str]:
    """Drop temporary limits whose expiry date is before ``today`` (the business date) and publish the change
    back to the permanent limit (the old limit in the limit's currency, converted at today's rate if need be)."""
    expired = (
        await session.execute(
            select(CreditProfile).where(
                CreditProfile.temporary_limit.is_not(None), CreditProfile.temporary_limit_expires_on < today
            )
        )
    ).scalars()
    accounts = []
    for profile in list(expired):
        old = await _expiring_limit(session, profile, today)
        profile.temporary_limit, profile.temporary_limit_expires_on = None, None
        profile.temporary_limit_currency = None
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


async def _expiring_limit(session: AsyncSession, profile: CreditProfile, today: date) -> Decimal | None:
    """The temporary limit being dropped, in the limit's currency (null when its rate has gone missing)."""
    currency = profile.temporary_limit_currency or profile.currency
    amount = profile.temporary_limit
    if amount is None or currency == profile.currency:
        return amount
    try:
        return await _in_limit_currency(session, profile, amount, currency, today)
    except MissingRate as exc:
        log.warning("expiring temporary limit of %s not converted: %s", profile.account_id, exc.detail)
        return None

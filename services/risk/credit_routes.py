"""Credit routes: profiles, scorecard, maker-checker limits, receivables, exposure, credit check, orders."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk import service
from services.risk.exposure import bucket_for
from services.risk.models import Invoice, LimitRequest, SalesOrder, platform
from services.risk.routing import (
    CreditFeeder,
    CreditManager,
    Paging,
    RiskOfficer,
    page_of,
    paged,
    remember_response,
    replay_idempotent,
)
from services.risk.schemas import (
    AssessmentCreate,
    AssessmentRead,
    CreditCheckCreate,
    CreditCheckRead,
    ExposureRead,
    InvoiceCreate,
    InvoiceImport,
    InvoiceImportResult,
    InvoiceRead,
    LimitDecision,
    LimitRequestCreate,
    LimitRequestRead,
    OrderRead,
    OrderRelease,
    PaymentCreate,
    ProfileRead,
    Reason,
    ScorecardPut,
)
from services.risk.scorecard import scorecard_to_dict
from shared.api import Page, check_if_match, set_etag
from shared.auth import CurrentPrincipal, Principal, ensure_account_access, visible_accounts_clause
from shared.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- credit profile and scorecard


async def _profile_read(session: AsyncSession, account: dict[str, Any], today: date) -> ProfileRead:
    profile = await service.get_profile(session, account_id=account["account_id"])
    return ProfileRead(
        account_id=account["account_id"],
        name=account["name"],
        tier=account["tier"],
        industry=account["industry"],
        currency=profile.currency if profile else "CNY",
        credit_limit=profile.credit_limit if profile else None,
        temporary_limit=profile.temporary_limit if profile else None,
        temporary_limit_expires_on=profile.temporary_limit_expires_on if profile else None,
        effective_limit=service.effective_limit(profile, today),
        score=profile.score if profile else None,
        grade=profile.grade if profile else None,
        risk_class=profile.risk_class if profile else None,
        assessed_at=profile.assessed_at if profile else None,
        version=profile.version if profile else 0,
    )


@router.get("/risk/accounts/{account_id}/credit", summary="Credit profile: limit, temporary limit, score, grade")
async def get_credit_profile(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep, response: Response
) -> ProfileRead:
    """The account's credit profile (empty until assessed or given a limit)."""
    account = await ensure_account_access(session, platform, principal, account_id)
    profile = await _profile_read(session, account, clock.now().date())
    set_etag(response, profile.version)
    return profile


@router.post(
    "/risk/accounts/{account_id}/assessments",
    summary="Score the account's credit (publishes risk.credit_assessed)",
    status_code=201,
)
async def create_assessment(
    account_id: str, body: AssessmentCreate, session: SessionDep, principal: CreditManager, clock: ClockDep
) -> AssessmentRead:
    """Run the scorecard; payment behaviour not supplied is derived from the receivables."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    assessment = await service.assess_credit(
        session, account_id=account_id, inputs=body.model_dump(), by=principal.user_id, now=clock.now()
    )
    return AssessmentRead.model_validate(assessment)


@router.get("/risk/accounts/{account_id}/assessments", summary="Credit assessment history")
async def list_assessments(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, page: Paging
) -> Page[AssessmentRead]:
    """Every scoring of the account, newest first."""
    await ensure_account_access(session, platform, principal, account_id)
    rows, total = await service.list_assessments(session, account_id=account_id, limit=page.limit, offset=page.offset)
    return Page[AssessmentRead](**page_of([AssessmentRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/scorecard", summary="The credit scorecard (factors, weights, bands, grade cut-offs)")
async def get_scorecard(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The scorecard in force."""
    return scorecard_to_dict(await service.get_scorecard(session))


@router.put("/risk/scorecard", summary="Replace the credit scorecard")
async def put_scorecard(
    body: ScorecardPut, request: Request, session: SessionDep, principal: RiskOfficer, clock: ClockDep
) -> dict[str, Any]:
    """Replace the scorecard (If-Match with the current version refuses stale edits)."""
    current = await service.get_scorecard(session)
    check_if_match(request, current.version)
    scorecard = await service.set_scorecard(session, config=body.model_dump(), by=principal.user_id, now=clock.now())
    return scorecard_to_dict(scorecard)


# ---------------------------------------------------------------- limit requests (maker-checker)


@router.post(
    "/risk/accounts/{account_id}/limit-requests",
    summary="Request a credit limit change (applied only after a second risk officer approves)",
    status_code=201,
)
async def create_limit_request(
    account_id: str,
    body: LimitRequestCreate,
    request: Request,
    session: SessionDep,
    principal: CreditManager,
    clock: ClockDep,
) -> LimitRequestRead:
    """File a permanent or temporary limit request (accepts an Idempotency-Key)."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    payload = body.model_dump(mode="json")
    if (replayed := await replay_idempotent(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    created = await service.request_limit_change(
        session,
        account_id=account_id,
        kind=body.kind,
        requested_limit=body.requested_limit,
        currency=body.currency,
        expires_on=body.expires_on,
        reason=body.reason,
        by=principal.user_id,
        now=clock.now(),
    )
    result = LimitRequestRead.model_validate(created)
    await remember_response(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.get("/risk/limit-requests", summary="Limit requests (filter by status or account)")
async def list_limit_requests(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    account_id: str | None = None,
) -> Page[LimitRequestRead]:
    """Limit requests the caller may see, newest first."""
    stmt = select(LimitRequest).where(visible_accounts_clause(platform, principal, LimitRequest.account_id))
    if status:
        stmt = stmt.where(LimitRequest.status == status)
    if account_id:
        stmt = stmt.where(LimitRequest.account_id == account_id)
    rows, total = await paged(session, stmt, page, LimitRequest.requested_at.desc())
    return Page[LimitRequestRead](**page_of([LimitRequestRead.model_validate(r) for r in rows], total, page))


async def _decide(
    request_id: str, body: LimitDecision, approve: bool, session: AsyncSession, principal: Principal, now: Any
) -> LimitRequestRead:
    limit_request = await service.get_limit_request(session, request_id=request_id)
    await ensure_account_access(session, platform, principal, limit_request.account_id, write=True)
    decided = await service.decide_limit_request(
        session, request=limit_request, approve=approve, note=body.note, by=principal.user_id, now=now
    )
    return LimitRequestRead.model_validate(decided)


@router.post(
    "/risk/limit-requests/{request_id}/approve",
    summary="Approve a limit request (not by its maker; publishes risk.credit_limit_changed)",
)
async def approve_limit_request(
    request_id: str, session: SessionDep, principal: RiskOfficer, clock: ClockDep, body: LimitDecision | None = None
) -> LimitRequestRead:
    """The checker applies the requested limit; the maker gets 403."""
    return await _decide(request_id, body or LimitDecision(), True, session, principal, clock.now())


@router.post("/risk/limit-requests/{request_id}/reject", summary="Reject a limit request (not by its maker)")
async def reject_limit_request(
    request_id: str, session: SessionDep, principal: RiskOfficer, clock: ClockDep, body: LimitDecision | None = None
) -> LimitRequestRead:
    """The checker turns the request down; the limit stays."""
    return await _decide(request_id, body or LimitDecision(), False, session, principal, clock.now())


# ---------------------------------------------------------------- receivables, exposure, credit check


def _invoice_read(invoice: Invoice, today: date) -> InvoiceRead:
    outstanding = invoice.amount - invoice.paid_amount
    days = (today - invoice.due_on).days
    return InvoiceRead(
        id=invoice.id,
        account_id=invoice.account_id,
        number=invoice.number,
        amount=invoice.amount,
        paid_amount=invoice.paid_amount,
        outstanding=outstanding,
        currency=invoice.currency,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        days_past_due=max(days, 0) if outstanding > 0 else 0,
        bucket=bucket_for(days) if outstanding > 0 else "paid",
    )


@router.post("/risk/accounts/{account_id}/invoices", summary="Record a receivable (invoice)", status_code=201)
async def create_invoice(
    account_id: str,
    body: InvoiceCreate,
    request: Request,
    session: SessionDep,
    principal: CreditFeeder,
    clock: ClockDep,
) -> InvoiceRead:
    """Record an invoice with amount, due date and what is already paid (accepts an Idempotency-Key)."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    payload = body.model_dump(mode="json")
    if (replayed := await replay_idempotent(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    invoice = await service.add_invoice(session, account_id=account_id, now=clock.now(), **body.model_dump())
    result = _invoice_read(invoice, clock.now().date())
    await remember_response(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.post(
    "/risk/invoices/import",
    summary="Import a batch of receivables (ERP / finance feed, all or nothing)",
    status_code=201,
)
async def import_invoices(
    body: InvoiceImport, session: SessionDep, principal: CreditFeeder, clock: ClockDep
) -> InvoiceImportResult:
    """Up to 1000 invoices across accounts in one transaction; a bad row is a 422 naming it."""
    for index, row in enumerate(body.invoices):
        try:
            await ensure_account_access(session, platform, principal, row.account_id, write=True)
        except NotFound as exc:
            raise Unprocessable(f"invoices[{index}]: {exc.detail}", field=f"invoices.{index}.account_id") from exc
    accounts = await service.import_invoices(session, rows=[row.model_dump() for row in body.invoices], now=clock.now())
    return InvoiceImportResult(imported=len(body.invoices), accounts=accounts)


@router.get("/risk/accounts/{account_id}/invoices", summary="Receivables of an account")
async def list_invoices(
    account_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    page: Paging,
    open_only: bool = False,
) -> Page[InvoiceRead]:
    """Invoices by due date, with days past due and aging bucket."""
    await ensure_account_access(session, platform, principal, account_id)
    stmt = select(Invoice).where(Invoice.account_id == account_id)
    if open_only:
        stmt = stmt.where(Invoice.amount > Invoice.paid_amount)
    rows, total = await paged(session, stmt, page, Invoice.due_on, Invoice.number)
    today = clock.now().date()
    return Page[InvoiceRead](**page_of([_invoice_read(r, today) for r in rows], total, page))


@router.post("/risk/invoices/{invoice_id}/payments", summary="Record a payment against an invoice", status_code=201)
async def create_payment(
    invoice_id: str, body: PaymentCreate, session: SessionDep, principal: CreditFeeder, clock: ClockDep
) -> InvoiceRead:
    """Reduce the invoice's open balance."""
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"Invoice {invoice_id} not found")
    await ensure_account_access(session, platform, principal, invoice.account_id, write=True)
    await service.record_payment(
        session, invoice=invoice, amount=body.amount, paid_on=body.paid_on, by=principal.user_id, now=clock.now()
    )
    return _invoice_read(invoice, clock.now().date())


@router.get("/risk/accounts/{account_id}/exposure", summary="Exposure, aging buckets and utilisation")
async def get_exposure(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> ExposureRead:
    """Receivables by aging bucket, open orders, exposure and utilisation of the limit in force."""
    await ensure_account_access(session, platform, principal, account_id)
    return ExposureRead(**await service.exposure_summary(session, account_id=account_id, today=clock.now().date()))


@router.post(
    "/risk/accounts/{account_id}/credit-check",
    summary="Credit check of an order: pass / warn / block with reasons",
)
async def credit_check(
    account_id: str, body: CreditCheckCreate, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> CreditCheckRead:
    """Static exposure (and dynamic exposure up to ``horizon``) against the limit; blocked orders wait for release."""
    await ensure_account_access(session, platform, principal, account_id, write=body.record)
    result, order = await service.check_order(
        session,
        account_id=account_id,
        amount=body.amount,
        reference=body.order_reference,
        currency=body.currency,
        expected_on=body.expected_on,
        horizon=body.horizon,
        record=body.record,
        by=principal.user_id,
        now=clock.now(),
    )
    return CreditCheckRead(
        account_id=account_id,
        decision=result.decision,
        reasons=[Reason(**r) for r in result.reasons],
        amount=body.amount,
        currency=body.currency,
        limit=result.limit,
        static_exposure=result.static_exposure,
        dynamic_exposure=result.dynamic_exposure,
        utilisation_after_pct=result.utilisation_after_pct,
        order_id=order.id if order else None,
        order_status=order.status if order else None,
    )


@router.get("/risk/orders", summary="Orders (filter by status: open, blocked, released, closed)")
async def list_orders(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(open|blocked|released|closed)$")] = None,
    account_id: str | None = None,
) -> Page[OrderRead]:
    """Credit-checked orders the caller may see, newest first; ``status=blocked`` is the release queue."""
    stmt = select(SalesOrder).where(visible_accounts_clause(platform, principal, SalesOrder.account_id))
    if status:
        stmt = stmt.where(SalesOrder.status == status)
    if account_id:
        stmt = stmt.where(SalesOrder.account_id == account_id)
    rows, total = await paged(session, stmt, page, SalesOrder.checked_at.desc())
    return Page[OrderRead](**page_of([OrderRead.model_validate(r) for r in rows], total, page))


@router.post("/risk/orders/{order_id}/release", summary="Release a blocked order (authorised roles, with a reason)")
async def release_order(
    order_id: str, body: OrderRelease, session: SessionDep, principal: CreditManager, clock: ClockDep
) -> OrderRead:
    """A credit manager releases a blocked order; the reason is kept."""
    order = await service.get_order(session, order_id=order_id)
    await ensure_account_access(session, platform, principal, order.account_id, write=True)
    released = await service.release_order(
        session, order=order, reason=body.reason, by=principal.user_id, now=clock.now()
    )
    return OrderRead.model_validate(released)


@router.post("/risk/orders/{order_id}/close", summary="Close an open order (invoiced or cancelled)")
async def close_order(order_id: str, session: SessionDep, principal: CurrentPrincipal) -> OrderRead:
    """The order no longer counts as an open order."""
    order = await service.get_order(session, order_id=order_id)
    await ensure_account_access(session, platform, principal, order.account_id, write=True)
    return OrderRead.model_validate(await service.close_order(session, order=order))

"""Receivable routes: invoices and payments, exposure, the credit check of an order, the release queue and the
order's lifecycle (corrections, disputes, history and the overdue list: ``invoice_routes``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.risk.credit import receivables
from services.risk.credit.receivable_quality import invoice_read
from services.risk.credit.receivables import OrderCheck
from services.risk.credit.schemas import (
    ActionReason,
    CreditCheckCreate,
    CreditCheckRead,
    ExposureRead,
    InvoiceCreate,
    InvoiceImport,
    InvoiceImportResult,
    InvoiceRead,
    OrderRead,
    OrderRelease,
    PaymentCreate,
    Reason,
)
from services.risk.deps import (
    AccountForRead,
    AccountForUpdate,
    AccountIdFilter,
    Actor,
    CreditCasePolicy,
    CreditFeeder,
    CreditManager,
    InvoiceForUpdate,
    OrderForUpdate,
    Paging,
    Receivables,
    Today,
    ensure_import_access,
)
from services.risk.paging import page_of
from services.risk.schemas import ConversionRead
from shared.api import Page
from shared.auth import require_writer
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- receivables


@router.post("/risk/accounts/{account_id}/invoices", summary="Record a receivable (invoice)", status_code=201)
async def create_invoice(
    actor: CreditFeeder,
    account: AccountForUpdate,
    body: InvoiceCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> InvoiceRead:
    """Record an invoice with amount, due date and what is already paid (accepts an Idempotency-Key); issued at
    most the configured tolerance after today (422 naming ``issued_on``)."""
    invoice = await receivables.add_invoice(
        session,
        account_id=account["account_id"],
        body=body,
        publisher=publisher,
        now=clock.now(),
        today=today,
        actor_id=actor.user_id,
        tolerance_days=policy.future_tolerance_days,
    )
    return invoice_read(invoice, today, policy)


@router.post(
    "/risk/invoices/import",
    summary="Import a batch of receivables (ERP / finance feed, all or nothing)",
    status_code=201,
)
async def import_invoices(
    body: InvoiceImport,
    session: SessionDep,
    actor: CreditFeeder,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> InvoiceImportResult:
    """Up to 1000 invoices across accounts in one transaction; a bad row is a 422 naming it."""
    await ensure_import_access(session, actor, [row.account_id for row in body.invoices])
    accounts = await receivables.import_invoices(
        session,
        body=body,
        publisher=publisher,
        now=clock.now(),
        today=today,
        actor_id=actor.user_id,
        tolerance_days=policy.future_tolerance_days,
    )
    return InvoiceImportResult(imported=len(body.invoices), accounts=accounts)


@router.get("/risk/accounts/{account_id}/invoices", summary="Receivables of an account")
async def list_invoices(
    account: AccountForRead,
    session: SessionDep,
    today: Today,
    page: Paging,
    policy: Receivables,
    open_only: bool = False,
) -> Page[InvoiceRead]:
    """Invoices by due date, with days past due, aging bucket and dunning level (each in its own currency)."""
    rows, total = await receivables.list_invoices(
        session, account_id=account["account_id"], open_only=open_only, page=page
    )
    return Page[InvoiceRead](**page_of([invoice_read(r, today, policy) for r in rows], total, page))


@router.post("/risk/invoices/{invoice_id}/payments", summary="Record a payment against an invoice", status_code=201)
async def create_payment(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    body: PaymentCreate,
    session: SessionDep,
    clock: ClockDep,
    today: Today,
    publisher: PublisherDep,
    policy: Receivables,
) -> InvoiceRead:
    """Reduce the invoice's open balance (a payment is in the invoice's currency, ``paid_on`` at most the
    configured tolerance after today); the account's credit signals are refreshed (an overdue alert whose
    invoices are all paid clears itself)."""
    await receivables.record_payment(
        session,
        invoice=invoice,
        body=body,
        actor=actor,
        now=clock.now(),
        today=today,
        tolerance_days=policy.future_tolerance_days,
    )
    await receivables.refresh_credit_signals(
        session, account_id=invoice.account_id, publisher=publisher, now=clock.now(), today=today
    )
    return invoice_read(invoice, today, policy)


# ---------------------------------------------------------------- exposure, credit check, orders


@router.get("/risk/accounts/{account_id}/exposure", summary="Exposure, aging buckets and utilisation")
async def get_exposure(account: AccountForRead, session: SessionDep, today: Today) -> ExposureRead:
    """Receivables by aging bucket, open orders, exposure and utilisation of the limit in force, in the limit's
    currency; amounts in other currencies are converted at today's rates, listed in ``conversions`` (422 without)."""
    summary = await receivables.exposure_summary(session, account_id=account["account_id"], today=today)
    conversions = [ConversionRead.model_validate(c) for c in summary.pop("conversions")]
    return ExposureRead(**summary, conversions=conversions)


def _check_read(account_id: str, body: CreditCheckCreate, check: OrderCheck) -> CreditCheckRead:
    result, order = check.result, check.order
    return CreditCheckRead(
        account_id=account_id,
        decision=result.decision,
        reasons=[Reason(**r) for r in result.reasons],
        amount=body.amount,
        currency=body.currency,
        limit_currency=check.limit_currency,
        amount_in_limit_currency=check.amount_in_limit_currency,
        limit=result.limit,
        static_exposure=result.static_exposure,
        dynamic_exposure=result.dynamic_exposure,
        utilisation_after_pct=result.utilisation_after_pct,
        conversions=[ConversionRead.model_validate(c) for c in check.conversions],
        order_id=order.id if order else None,
        order_status=order.status if order else None,
    )


@router.post(
    "/risk/accounts/{account_id}/credit-check",
    summary="Credit check of an order: pass / warn / block with reasons",
    responses={201: {"model": CreditCheckRead, "description": "Checked, and the order booked"}},
)
async def credit_check(
    actor: Actor,
    account: AccountForRead,
    body: CreditCheckCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    response: Response,
    case_policy: CreditCasePolicy,
) -> CreditCheckRead:
    """Static exposure (and dynamic exposure up to ``horizon``) against the limit; blocked orders wait for release.
    An order or exposure in another currency is converted at today's rate (listed; 422 without a rate). 201 when
    the order is booked; 200 for a dry run and for a retry of a booked ``order_reference`` (its first answer; other
    terms under the same reference are a 409 naming the order)."""
    if body.record:
        require_writer(actor)  # keeping the order is a change; a dry run is a read
    check = await receivables.check_order(
        session,
        account_id=account["account_id"],
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
        policy=case_policy,
    )
    if check.created:
        response.status_code = 201
    return _check_read(account["account_id"], body, check)


@router.get("/risk/orders", summary="Orders (filter by status: open, blocked, released, rejected, cancelled, closed)")
async def list_orders(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(open|blocked|released|rejected|cancelled|closed)$")] = None,
    account_id: AccountIdFilter = None,
) -> Page[OrderRead]:
    """Credit-checked orders the caller may see, newest first; ``status=blocked`` is the release queue."""
    rows, total = await receivables.list_orders(session, actor=actor, status=status, account_id=account_id, page=page)
    return Page[OrderRead](**page_of([OrderRead.model_validate(r) for r in rows], total, page))


@router.post("/risk/orders/{order_id}/release", summary="Release a blocked order (authorised roles, with a reason)")
async def release_order(
    actor: CreditManager,
    order: OrderForUpdate,
    body: OrderRelease,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    case_policy: CreditCasePolicy,
) -> OrderRead:
    """A credit manager releases a blocked order; the reason is kept, the credit check is re-run and kept beside the
    blocking one (``release_decision``, ``release_reasons``); audited."""
    released = await receivables.release_order(
        session,
        order=order,
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
        policy=case_policy,
    )
    return OrderRead.model_validate(released)


@router.post("/risk/orders/{order_id}/reject", summary="Reject a blocked order (credit management, with a reason)")
async def reject_order(
    actor: CreditManager, order: OrderForUpdate, body: ActionReason, session: SessionDep, clock: ClockDep
) -> OrderRead:
    """The blocked order is refused for good (audited); anything but a blocked order is a 409."""
    rejected = await receivables.reject_order(session, order=order, reason=body.reason, actor=actor, now=clock.now())
    return OrderRead.model_validate(rejected)


@router.post("/risk/orders/{order_id}/cancel", summary="Cancel an order (blocked, open or released; with a reason)")
async def cancel_order(
    actor: Actor,
    order: OrderForUpdate,
    body: ActionReason,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> OrderRead:
    """The customer or sales withdrew it (audited): it no longer counts as exposure."""
    cancelled = await receivables.cancel_order(
        session, order=order, reason=body.reason, actor=actor, publisher=publisher, now=clock.now(), today=today
    )
    return OrderRead.model_validate(cancelled)


@router.post("/risk/orders/{order_id}/close", summary="Close an open or released order once invoiced")
async def close_order(actor: Actor, order: OrderForUpdate, session: SessionDep, clock: ClockDep) -> OrderRead:
    """The order no longer counts as an open order."""
    return OrderRead.model_validate(await receivables.close_order(session, order=order, actor=actor, now=clock.now()))

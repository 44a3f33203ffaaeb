"""Receivable routes: invoices and payments, exposure, the credit check of an order, the release queue."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.risk.credit import receivables
from services.risk.credit.exposure import CreditCheckResult, bucket_for
from services.risk.credit.models import Invoice, SalesOrder
from services.risk.credit.schemas import (
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
    Actor,
    CreditFeeder,
    CreditManager,
    IdempotencyDep,
    InvoiceForUpdate,
    OrderForUpdate,
    Paging,
    ensure_import_access,
)
from services.risk.paging import page_of
from shared.api import Page
from shared.auth import require_writer
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- receivables


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
    actor: CreditFeeder,
    account: AccountForUpdate,
    body: InvoiceCreate,
    session: SessionDep,
    idempotency: IdempotencyDep,
    publisher: PublisherDep,
    clock: ClockDep,
) -> InvoiceRead:
    """Record an invoice with amount, due date and what is already paid (accepts an Idempotency-Key)."""
    payload = body.model_dump(mode="json")
    if (replayed := await idempotency.replay(payload)) is not None:
        return replayed  # type: ignore[return-value]
    invoice = await receivables.add_invoice(
        session, account_id=account["account_id"], body=body, publisher=publisher, now=clock.now()
    )
    result = _invoice_read(invoice, clock.now().date())
    await idempotency.remember(payload, result.model_dump(mode="json"))
    return result


@router.post(
    "/risk/invoices/import",
    summary="Import a batch of receivables (ERP / finance feed, all or nothing)",
    status_code=201,
)
async def import_invoices(
    body: InvoiceImport, session: SessionDep, actor: CreditFeeder, publisher: PublisherDep, clock: ClockDep
) -> InvoiceImportResult:
    """Up to 1000 invoices across accounts in one transaction; a bad row is a 422 naming it."""
    await ensure_import_access(session, actor, [row.account_id for row in body.invoices])
    accounts = await receivables.import_invoices(session, body=body, publisher=publisher, now=clock.now())
    return InvoiceImportResult(imported=len(body.invoices), accounts=accounts)


@router.get("/risk/accounts/{account_id}/invoices", summary="Receivables of an account")
async def list_invoices(
    account: AccountForRead, session: SessionDep, clock: ClockDep, page: Paging, open_only: bool = False
) -> Page[InvoiceRead]:
    """Invoices by due date, with days past due and aging bucket."""
    rows, total = await receivables.list_invoices(
        session, account_id=account["account_id"], open_only=open_only, page=page
    )
    today = clock.now().date()
    return Page[InvoiceRead](**page_of([_invoice_read(r, today) for r in rows], total, page))


@router.post("/risk/invoices/{invoice_id}/payments", summary="Record a payment against an invoice", status_code=201)
async def create_payment(
    actor: CreditFeeder, invoice: InvoiceForUpdate, body: PaymentCreate, session: SessionDep, clock: ClockDep
) -> InvoiceRead:
    """Reduce the invoice's open balance."""
    await receivables.record_payment(session, invoice=invoice, body=body, actor=actor, now=clock.now())
    return _invoice_read(invoice, clock.now().date())


# ---------------------------------------------------------------- exposure, credit check, orders


@router.get("/risk/accounts/{account_id}/exposure", summary="Exposure, aging buckets and utilisation")
async def get_exposure(account: AccountForRead, session: SessionDep, clock: ClockDep) -> ExposureRead:
    """Receivables by aging bucket, open orders, exposure and utilisation of the limit in force."""
    summary = await receivables.exposure_summary(session, account_id=account["account_id"], today=clock.now().date())
    return ExposureRead(**summary)


def _check_read(
    account_id: str, body: CreditCheckCreate, result: CreditCheckResult, order: SalesOrder | None
) -> CreditCheckRead:
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


@router.post(
    "/risk/accounts/{account_id}/credit-check",
    summary="Credit check of an order: pass / warn / block with reasons",
)
async def credit_check(
    actor: Actor,
    account: AccountForRead,
    body: CreditCheckCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
) -> CreditCheckRead:
    """Static exposure (and dynamic exposure up to ``horizon``) against the limit; blocked orders wait for release."""
    if body.record:
        require_writer(actor)  # keeping the order is a change; a dry run is a read
    result, order = await receivables.check_order(
        session, account_id=account["account_id"], body=body, actor=actor, publisher=publisher, now=clock.now()
    )
    return _check_read(account["account_id"], body, result, order)


@router.get("/risk/orders", summary="Orders (filter by status: open, blocked, released, closed)")
async def list_orders(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(open|blocked|released|closed)$")] = None,
    account_id: str | None = None,
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
) -> OrderRead:
    """A credit manager releases a blocked order; the reason is kept."""
    released = await receivables.release_order(
        session, order=order, body=body, actor=actor, publisher=publisher, now=clock.now()
    )
    return OrderRead.model_validate(released)


@router.post("/risk/orders/{order_id}/close", summary="Close an open order (invoiced or cancelled)")
async def close_order(order: OrderForUpdate, session: SessionDep) -> OrderRead:
    """The order no longer counts as an open order."""
    return OrderRead.model_validate(await receivables.close_order(session, order=order))

"""Receivable routes: invoices and payments, exposure, the credit check of an order, the release queue."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.risk.credit import receivables
from services.risk.credit.exposure import bucket_for
from services.risk.credit.models import Invoice
from services.risk.credit.receivables import OrderCheck
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
    AccountIdFilter,
    Actor,
    CreditFeeder,
    CreditManager,
    InvoiceForUpdate,
    OrderForUpdate,
    Paging,
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


def _invoice_read(invoice: Invoice, today: date) -> InvoiceRead:
    """An invoice with its days past due and aging bucket counted from ``today`` (the business date)."""
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
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> InvoiceRead:
    """Record an invoice with amount, due date and what is already paid (accepts an Idempotency-Key)."""
    invoice = await receivables.add_invoice(
        session, account_id=account["account_id"], body=body, publisher=publisher, now=clock.now(), today=today
    )
    result = _invoice_read(invoice, today)
    return result


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
) -> InvoiceImportResult:
    """Up to 1000 invoices across accounts in one transaction; a bad row is a 422 naming it."""
    await ensure_import_access(session, actor, [row.account_id for row in body.invoices])
    accounts = await receivables.import_invoices(session, body=body, publisher=publisher, now=clock.now(), today=today)
    return InvoiceImportResult(imported=len(body.invoices), accounts=accounts)


@router.get("/risk/accounts/{account_id}/invoices", summary="Receivables of an account")
async def list_invoices(
    account: AccountForRead, session: SessionDep, today: Today, page: Paging, open_only: bool = False
) -> Page[InvoiceRead]:
    """Invoices by due date, with days past due and aging bucket (each in its own currency)."""
    rows, total = await receivables.list_invoices(
        session, account_id=account["account_id"], open_only=open_only, page=page
    )
    return Page[InvoiceRead](**page_of([_invoice_read(r, today) for r in rows], total, page))


@router.post("/risk/invoices/{invoice_id}/payments", summary="Record a payment against an invoice", status_code=201)
async def create_payment(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    body: PaymentCreate,
    session: SessionDep,
    clock: ClockDep,
    today: Today,
) -> InvoiceRead:
    """Reduce the invoice's open balance (a payment is in the invoice's currency)."""
    await receivables.record_payment(session, invoice=invoice, body=body, actor=actor, now=clock.now())
    return _invoice_read(invoice, today)


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
)
async def credit_check(
    actor: Actor,
    account: AccountForRead,
    body: CreditCheckCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> CreditCheckRead:
    """Static exposure (and dynamic exposure up to ``horizon``) against the limit; blocked orders wait for release.
    An order or exposure in another currency is converted at today's rate (listed; 422 without a rate)."""
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
    )
    return _check_read(account["account_id"], body, check)


@router.get("/risk/orders", summary="Orders (filter by status: open, blocked, released, closed)")
async def list_orders(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(open|blocked|released|closed)$")] = None,
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
) -> OrderRead:
    """A credit manager releases a blocked order; the reason is kept."""
    released = await receivables.release_order(
        session, order=order, body=body, actor=actor, publisher=publisher, now=clock.now(), today=today
    )
    return OrderRead.model_validate(released)


@router.post("/risk/orders/{order_id}/close", summary="Close an open order (invoiced or cancelled)")
async def close_order(order: OrderForUpdate, session: SessionDep) -> OrderRead:
    """The order no longer counts as an open order."""
    return OrderRead.model_validate(await receivables.close_order(session, order=order))

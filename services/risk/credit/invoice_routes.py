"""Invoice routes: one invoice, its payments (reversals), credit notes, cancellation, disputes and history; the
overdue list with dunning levels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.risk.credit import receivable_quality as quality
from services.risk.credit.receivable_quality import invoice_read
from services.risk.credit.schemas import (
    ActionReason,
    CreditNoteCreate,
    CreditNoteRead,
    DisputeResolution,
    InvoiceHistoryEntry,
    InvoiceRead,
    PaymentRead,
)
from services.risk.deps import (
    AccountIdFilter,
    Actor,
    CreditFeeder,
    InvoiceForRead,
    InvoiceForUpdate,
    ObjectId,
    Paging,
    Receivables,
    Today,
)
from services.risk.paging import page_of
from shared.api import Page
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: credit"], responses=PROBLEM_RESPONSES)


@router.get("/risk/invoices/{invoice_id}/payments", summary="The payments of an invoice (reversed ones marked)")
async def list_payments(invoice: InvoiceForRead, session: SessionDep) -> list[PaymentRead]:
    """Oldest first, with who reversed which and why."""
    return [PaymentRead.model_validate(p) for p in await quality.payments_of(session, invoice=invoice)]


@router.post(
    "/risk/invoices/{invoice_id}/payments/{payment_id}/reverse", summary="Reverse a payment (with a reason; audited)"
)
async def reverse_payment(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    payment_id: ObjectId,
    body: ActionReason,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> InvoiceRead:
    """The payment no longer counts: its amount is open again (reversing twice is a 409)."""
    await quality.reverse_payment(
        session,
        invoice=invoice,
        payment_id=payment_id,
        reason=body.reason,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
    )
    return invoice_read(invoice, today, policy)


@router.post(
    "/risk/invoices/{invoice_id}/credit-notes",
    summary="Issue a credit note against an invoice (reduces its open balance; audited)",
    status_code=201,
)
async def create_credit_note(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    body: CreditNoteCreate,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> CreditNoteRead:
    """Its own record, linked to the invoice, in the invoice's currency and at most its open balance."""
    note = await quality.add_credit_note(
        session,
        invoice=invoice,
        body=body,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
        policy=policy,
    )
    return CreditNoteRead.model_validate(note)


@router.get("/risk/invoices/{invoice_id}/credit-notes", summary="The credit notes against an invoice")
async def list_credit_notes(invoice: InvoiceForRead, session: SessionDep) -> list[CreditNoteRead]:
    """Oldest first."""
    return [CreditNoteRead.model_validate(n) for n in await quality.credit_notes_of(session, invoice=invoice)]


@router.post("/risk/invoices/{invoice_id}/cancel", summary="Cancel an invoice (with a reason; audited)")
async def cancel_invoice(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    body: ActionReason,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> InvoiceRead:
    """It no longer counts in receivables, aging, exposure or signals; payments on it must be reversed first (409)."""
    await quality.cancel_invoice(
        session, invoice=invoice, reason=body.reason, actor=actor, publisher=publisher, now=clock.now(), today=today
    )
    return invoice_read(invoice, today, policy)


@router.post("/risk/invoices/{invoice_id}/dispute", summary="Flag a dispute on an invoice (with a reason)")
async def open_dispute(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    body: ActionReason,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> InvoiceRead:
    """While open the invoice is out of dunning, overdue signals and the credit check's overdue verdicts."""
    await quality.open_dispute(
        session, invoice=invoice, reason=body.reason, actor=actor, publisher=publisher, now=clock.now(), today=today
    )
    return invoice_read(invoice, today, policy)


@router.post("/risk/invoices/{invoice_id}/dispute/resolve", summary="Resolve an invoice's open dispute")
async def resolve_dispute(
    actor: CreditFeeder,
    invoice: InvoiceForUpdate,
    body: DisputeResolution,
    session: SessionDep,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
    policy: Receivables,
) -> InvoiceRead:
    """The invoice is chased again (no open dispute: 409)."""
    await quality.resolve_dispute(
        session,
        invoice=invoice,
        resolution=body.resolution,
        actor=actor,
        publisher=publisher,
        now=clock.now(),
        today=today,
    )
    return invoice_read(invoice, today, policy)


@router.get("/risk/invoices/{invoice_id}", summary="One invoice (open balance, aging bucket, dunning level)")
async def get_invoice(invoice: InvoiceForRead, today: Today, policy: Receivables) -> InvoiceRead:
    """In its own currency."""
    return invoice_read(invoice, today, policy)


@router.get("/risk/invoices/{invoice_id}/history", summary="The history of an invoice: who did what, when")
async def invoice_history(invoice: InvoiceForRead, session: SessionDep) -> list[InvoiceHistoryEntry]:
    """Recorded, payments, reversals, credit notes, cancellation, disputes — oldest first (from the audit log)."""
    entries = await quality.invoice_history(session, invoice=invoice)
    return [InvoiceHistoryEntry.model_validate(e, from_attributes=True) for e in entries]


@router.get("/risk/receivables/overdue", summary="Overdue invoices with their dunning level, most overdue first")
async def list_overdue(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    today: Today,
    policy: Receivables,
    account_id: AccountIdFilter = None,
    min_level: Annotated[int, Query(ge=1, le=9, description="At this dunning level or above")] = 1,
    include_disputed: bool = False,
) -> Page[InvoiceRead]:
    """Each invoice in its own currency (no total across currencies); disputed ones only on request."""
    rows, total = await quality.list_overdue(
        session,
        actor=actor,
        account_id=account_id,
        min_level=min_level,
        include_disputed=include_disputed,
        today=today,
        policy=policy,
        page=page,
    )
    return Page[InvoiceRead](**page_of([invoice_read(r, today, policy) for r in rows], total, page))

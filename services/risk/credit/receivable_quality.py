"""Receivables quality: cancellations, credit notes, payment reversals, disputes, an invoice's history (from the
audit log), dunning levels and the overdue list — each invoice in its own currency, nothing added across them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import ReceivablesPolicy, bucket_for, dunning_level
from services.risk.credit.models import CreditNote, Invoice, Payment
from services.risk.credit.receivables import check_not_ahead, has_open_balance, refresh_credit_signals
from services.risk.credit.schemas import CreditNoteCreate, InvoiceRead
from services.risk.models import audit_log, platform
from services.risk.paging import paged
from shared.api import PageParams
from shared.audit import AuditEntry, record_audit, snapshot
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, NotFound, Unprocessable

# What the audit log (the invoice's history) shows of an invoice before and after a change.
INVOICE_AUDIT_FIELDS = ("status", "paid_amount", "credited_amount", "dispute_status", "dispute_reason")
MONEY_PLACES = Decimal("0.0001")  # money is shown with the 4 places it is stored with


def invoice_view(invoice: Invoice, today: date, policy: ReceivablesPolicy) -> dict[str, Any]:
    """An invoice as read: open balance, days past due, aging bucket and dunning level counted from ``today``."""
    outstanding = invoice.open_balance
    days = (today - invoice.due_on).days
    overdue = max(days, 0) if outstanding > 0 else 0
    chased = invoice.dispute_status != "open"
    if invoice.status == "cancelled":
        bucket = "cancelled"
    else:
        bucket = bucket_for(days) if outstanding > 0 else "paid"
    return {
        **snapshot(invoice, ("id", "account_id", "number", "amount", "paid_amount", "currency")),
        **snapshot(invoice, ("issued_on", "due_on", "status", "dispute_status", "dispute_reason")),
        "outstanding": outstanding.quantize(MONEY_PLACES),
        "credited_amount": invoice.credited_amount.quantize(MONEY_PLACES),
        "days_past_due": overdue,
        "bucket": bucket,
        "dunning_level": dunning_level(overdue, policy.dunning_level_days) if chased else 0,
    }


def invoice_read(invoice: Invoice, today: date, policy: ReceivablesPolicy) -> InvoiceRead:
    """The invoice's read model (``invoice_view``)."""
    return InvoiceRead(**invoice_view(invoice, today, policy))


def _ensure_open(invoice: Invoice) -> None:
    if invoice.status == "cancelled":
        raise Conflict(f"Invoice {invoice.number} is cancelled", invoice_id=invoice.id)


async def _audit(
    session: AsyncSession,
    invoice: Invoice,
    action: str,
    *,
    actor_id: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One entry of the invoice's history in the audit log (``object_type`` invoice)."""
    await record_audit(
        session,
        audit_log,
        actor_id=actor_id,
        action=action,
        object_type="invoice",
        object_id=invoice.id,
        before=before,
        after=after,
        at=now,
    )


# ---------------------------------------------------------------- corrections


async def cancel_invoice(
    session: AsyncSession,
    *,
    invoice: Invoice,
    reason: str,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> Invoice:
    """Cancel an invoice issued in error: it no longer counts anywhere. Payments on it are reversed first (409)."""
    _ensure_open(invoice)
    if invoice.paid_amount > 0:
        raise Conflict(
            f"Invoice {invoice.number} has payments of {invoice.paid_amount:f}; reverse them before cancelling",
            invoice_id=invoice.id,
        )
    before = snapshot(invoice, INVOICE_AUDIT_FIELDS)
    invoice.status, invoice.cancelled_by, invoice.cancelled_at, invoice.cancel_reason = (
        "cancelled",
        actor.user_id,
        now,
        reason,
    )
    await session.flush()
    after = {**snapshot(invoice, INVOICE_AUDIT_FIELDS), "reason": reason}
    await _audit(session, invoice, "invoice.cancelled", actor_id=actor.user_id, now=now, before=before, after=after)
    await refresh_credit_signals(session, account_id=invoice.account_id, publisher=publisher, now=now, today=today)
    return invoice


async def add_credit_note(
    session: AsyncSession,
    *,
    invoice: Invoice,
    body: CreditNoteCreate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
    policy: ReceivablesPolicy,
) -> CreditNote:
    """A credit note against an invoice (its own record, in the invoice's currency, at most its open balance):
    the invoice's open balance goes down by it. Its number is unique per account."""
    _ensure_open(invoice)
    check_not_ahead(body.issued_on, field="issued_on", today=today, tolerance_days=policy.future_tolerance_days)
    if body.currency is not None and body.currency != invoice.currency:
        raise Unprocessable(
            f"currency: a credit note is in the invoice's currency {invoice.currency}, not {body.currency}",
            field="currency",
        )
    if body.amount > invoice.open_balance:
        raise Unprocessable(f"The credit note exceeds the open balance {invoice.open_balance:f}", field="amount")
    taken = await session.scalar(
        select(CreditNote.id).where(CreditNote.account_id == invoice.account_id, CreditNote.number == body.number)
    )
    if taken is not None:
        raise Conflict(f"Credit note {body.number} already exists for this account", credit_note_id=taken)
    note = CreditNote(
        invoice_id=invoice.id,
        account_id=invoice.account_id,
        number=body.number,
        amount=body.amount,
        currency=invoice.currency,
        issued_on=body.issued_on,
        reason=body.reason,
        created_by=actor.user_id,
        created_at=now,
    )
    before = snapshot(invoice, INVOICE_AUDIT_FIELDS)
    invoice.credited_amount = invoice.credited_amount + body.amount
    session.add(note)
    await session.flush()
    after = {**snapshot(invoice, INVOICE_AUDIT_FIELDS), "credit_note_id": note.id, "credit_note_number": note.number}
    await _audit(session, invoice, "invoice.credit_noted", actor_id=actor.user_id, now=now, before=before, after=after)
    await refresh_credit_signals(session, account_id=invoice.account_id, publisher=publisher, now=now, today=today)
    return note


async def reverse_payment(
    session: AsyncSession,
    *,
    invoice: Invoice,
    payment_id: str,
    reason: str,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> Payment:
    """Reverse a payment of this invoice (bounced, misapplied): the amount is open again; twice is a 409."""
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        raise NotFound(f"Payment {payment_id} not found on invoice {invoice.number}")
    if payment.reversed_at is not None:
        raise Conflict(f"Payment {payment_id} was reversed already", payment_id=payment_id)
    before = snapshot(invoice, INVOICE_AUDIT_FIELDS)
    payment.reversed_by, payment.reversed_at, payment.reversal_reason = actor.user_id, now, reason
    invoice.paid_amount = invoice.paid_amount - payment.amount
    await session.flush()
    after = {**snapshot(invoice, INVOICE_AUDIT_FIELDS), "payment_id": payment.id, "reason": reason}
    await _audit(
        session, invoice, "invoice.payment_reversed", actor_id=actor.user_id, now=now, before=before, after=after
    )
    await refresh_credit_signals(session, account_id=invoice.account_id, publisher=publisher, now=now, today=today)
    return payment


# ---------------------------------------------------------------- disputes


async def open_dispute(
    session: AsyncSession,
    *,
    invoice: Invoice,
    reason: str,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> Invoice:
    """Flag the customer's dispute: while open the invoice is not dunned and raises no overdue signal (an overdue
    alert that rested on it alone settles)."""
    _ensure_open(invoice)
    if invoice.dispute_status == "open":
        raise Conflict(f"Invoice {invoice.number} is already in dispute", invoice_id=invoice.id)
    before = snapshot(invoice, INVOICE_AUDIT_FIELDS)
    invoice.dispute_status, invoice.dispute_reason, invoice.disputed_by, invoice.disputed_at = (
        "open",
        reason,
        actor.user_id,
        now,
    )
    invoice.dispute_resolution = invoice.dispute_resolved_by = invoice.dispute_resolved_at = None
    await session.flush()
    after = snapshot(invoice, INVOICE_AUDIT_FIELDS)
    await _audit(
        session, invoice, "invoice.dispute_opened", actor_id=actor.user_id, now=now, before=before, after=after
    )
    await refresh_credit_signals(session, account_id=invoice.account_id, publisher=publisher, now=now, today=today)
    return invoice


async def resolve_dispute(
    session: AsyncSession,
    *,
    invoice: Invoice,
    resolution: str,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> Invoice:
    """Close the dispute: the invoice is chased again (overdue signals and dunning resume)."""
    if invoice.dispute_status != "open":
        raise Conflict(f"Invoice {invoice.number} has no open dispute", invoice_id=invoice.id)
    before = snapshot(invoice, INVOICE_AUDIT_FIELDS)
    invoice.dispute_status, invoice.dispute_resolution = "resolved", resolution
    invoice.dispute_resolved_by, invoice.dispute_resolved_at = actor.user_id, now
    await session.flush()
    after = {**snapshot(invoice, INVOICE_AUDIT_FIELDS), "resolution": resolution}
    await _audit(
        session, invoice, "invoice.dispute_resolved", actor_id=actor.user_id, now=now, before=before, after=after
    )
    await refresh_credit_signals(session, account_id=invoice.account_id, publisher=publisher, now=now, today=today)
    return invoice


# ---------------------------------------------------------------- reads


async def invoice_history(session: AsyncSession, *, invoice: Invoice) -> list[AuditEntry]:
    """Everything that happened to the invoice, oldest first: who, when, what (its audit log entries)."""
    rows = await session.execute(
        select(audit_log)
        .where(audit_log.c.object_type == "invoice", audit_log.c.object_id == invoice.id)
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    return [AuditEntry.model_validate(dict(r)) for r in rows.mappings()]


async def payments_of(session: AsyncSession, *, invoice: Invoice) -> list[Payment]:
    """The invoice's payments (reversed ones included, marked), oldest first."""
    rows = await session.execute(
        select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.recorded_at, Payment.id)
    )
    return list(rows.scalars())


async def credit_notes_of(session: AsyncSession, *, invoice: Invoice) -> list[CreditNote]:
    """The credit notes against the invoice, oldest first."""
    rows = await session.execute(
        select(CreditNote).where(CreditNote.invoice_id == invoice.id).order_by(CreditNote.created_at, CreditNote.id)
    )
    return list(rows.scalars())


async def list_overdue(
    session: AsyncSession,
    *,
    actor: Principal,
    account_id: str | None,
    min_level: int,
    include_disputed: bool,
    today: date,
    policy: ReceivablesPolicy,
    page: PageParams,
) -> tuple[list[Invoice], int]:
    """Overdue invoices the actor may see, most overdue first (each in its own currency; no total across them).
    ``min_level`` keeps those at that dunning level or above; disputed ones only with ``include_disputed``."""
    level_days = list(policy.dunning_level_days)
    first_day = level_days[min_level - 1] if 1 <= min_level <= len(level_days) else 1
    stmt = select(Invoice).where(
        has_open_balance(),
        Invoice.due_on <= today - timedelta(days=first_day),
        visible_accounts_clause(platform, actor, Invoice.account_id),
    )
    if min_level > len(level_days):
        stmt = stmt.where(Invoice.id.is_(None))  # no such level: nothing reaches it
    if not include_disputed:
        stmt = stmt.where(Invoice.dispute_status.is_distinct_from("open"))
    if account_id:
        stmt = stmt.where(Invoice.account_id == account_id)
    return await paged(session, stmt, page, Invoice.due_on, Invoice.number, Invoice.id)

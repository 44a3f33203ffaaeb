"""Receivables and orders: invoices, payments, the credit check of an order, exposure, and their credit signals."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import (
    ZERO,
    CreditCheckResult,
    OpenOrder,
    Receivable,
    aging,
    bucket_for,
    credit_check,
    utilisation_pct,
)
from services.risk.credit.models import CreditProfile, Invoice, Payment, SalesOrder
from services.risk.credit.profiles import effective_limit, get_profile, limit_currencies, limit_currency
from services.risk.credit.schemas import CreditCheckCreate, InvoiceCreate, InvoiceImport, OrderRelease, PaymentCreate
from services.risk.fx.conversion import Conversion, Converter, MissingRate
from services.risk.fx.service import converter_for
from services.risk.models import platform
from services.risk.paging import paged
from services.risk.warnings.service import record_signal
from shared.api import PageParams
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, InvalidTransition, Unprocessable

log = logging.getLogger("kam.risk")
CENTS = Decimal("0.0001")  # money is shown with the 4 places it is stored with
# Orders that count as exposure; blocked orders do not until released.
EXPOSED_ORDER_STATUSES = ("open", "released")
# Order lifecycle: a checked order is open (passed or warned) or blocked; a blocked one waits for release;
# an open or released one is closed once invoiced or cancelled.
ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("closed",),
    "blocked": ("released",),
    "released": ("closed",),
    "closed": (),
}
# First day of each overdue bucket: the value of a receivables_overdue signal (stable while in the bucket).
BUCKET_START_DAYS = {"1_30": 1, "31_60": 31, "61_90": 61, "over_90": 91}
# Utilisation is recorded as a signal from this percentage on, once per 10-point band.
UTILISATION_WATCH_PCT = Decimal(50)


async def load_receivables(session: AsyncSession, *, account_id: str, converter: Converter) -> list[Receivable]:
    """The account's invoices (paid ones included, for DSO) with amounts in the converter's currency."""
    rows = (await session.execute(select(Invoice).where(Invoice.account_id == account_id))).scalars().all()
    return [
        Receivable(
            amount=converter.to_target(i.amount, i.currency, figure="invoiced"),
            paid=converter.to_target(i.paid_amount, i.currency, figure="paid"),
            due_on=i.due_on,
            issued_on=i.issued_on,
        )
        for i in rows
    ]


async def invoice_currencies(session: AsyncSession, *, account_id: str) -> set[str]:
    """The currencies the account's invoices are in."""
    rows = await session.execute(select(Invoice.currency).where(Invoice.account_id == account_id).distinct())
    return set(rows.scalars())


async def _open_invoices(session: AsyncSession, account_id: str) -> list[Invoice]:
    """The account's invoices with a balance left."""
    rows = await session.execute(
        select(Invoice).where(Invoice.account_id == account_id, Invoice.amount > Invoice.paid_amount)
    )
    return list(rows.scalars())


async def _exposed_orders(session: AsyncSession, account_id: str) -> list[SalesOrder]:
    """The account's orders that count as exposure."""
    rows = await session.execute(
        select(SalesOrder).where(SalesOrder.account_id == account_id, SalesOrder.status.in_(EXPOSED_ORDER_STATUSES))
    )
    return list(rows.scalars())


def _receivables(invoices: list[Invoice], converter: Converter) -> list[Receivable]:
    """Open balances in the converter's currency (each converted at the rate in force)."""
    return [
        Receivable(
            amount=converter.to_target(i.amount - i.paid_amount, i.currency, figure="receivables"),
            paid=ZERO,
            due_on=i.due_on,
            issued_on=i.issued_on,
        )
        for i in invoices
    ]


def _open_orders(orders: list[SalesOrder], converter: Converter) -> list[OpenOrder]:
    return [
        OpenOrder(amount=converter.to_target(o.amount, o.currency, figure="open_orders"), expected_on=o.expected_on)
        for o in orders
    ]


# ---------------------------------------------------------------- invoices and payments


async def add_invoice(
    session: AsyncSession,
    *,
    account_id: str,
    body: InvoiceCreate,
    publisher: Publisher,
    now: datetime,
    today: date,
    refresh: bool = True,
) -> Invoice:
    """Record a receivable (an invoice number is unique per account); ``refresh`` re-derives credit signals."""
    if body.due_on < body.issued_on:
        raise Unprocessable("due_on is before issued_on", field="due_on")
    if body.paid_amount > body.amount:
        raise Unprocessable("paid_amount exceeds amount", field="paid_amount")
    exists = await session.scalar(
        select(Invoice.id).where(Invoice.account_id == account_id, Invoice.number == body.number)
    )
    if exists is not None:
        raise Conflict(f"Invoice {body.number} already exists for this account", invoice_id=exists)
    invoice = Invoice(
        account_id=account_id,
        number=body.number,
        amount=body.amount,
        paid_amount=body.paid_amount,
        currency=body.currency,
        issued_on=body.issued_on,
        due_on=body.due_on,
        created_at=now,
    )
    session.add(invoice)
    await session.flush()
    if refresh:
        await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return invoice


async def import_invoices(
    session: AsyncSession, *, body: InvoiceImport, publisher: Publisher, now: datetime, today: date
) -> int:
    """Record a batch of receivables (all or nothing); credit signals are refreshed once per account."""
    accounts: list[str] = []
    for index, row in enumerate(body.invoices):
        try:
            await add_invoice(
                session, account_id=row.account_id, body=row, publisher=publisher, now=now, today=today, refresh=False
            )
        except (Conflict, Unprocessable) as exc:
            raise Unprocessable(f"invoices[{index}]: {exc.detail}", field=f"invoices.{index}") from exc
        if row.account_id not in accounts:
            accounts.append(row.account_id)
    for account_id in accounts:
        await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return len(accounts)


async def record_payment(
    session: AsyncSession, *, invoice: Invoice, body: PaymentCreate, actor: Principal, now: datetime
) -> Payment:
    """Record a payment against an invoice, in its currency (never more than the open balance)."""
    if body.currency is not None and body.currency != invoice.currency:
        raise Unprocessable(
            f"currency: a payment is recorded in the invoice's currency {invoice.currency}, not {body.currency}",
            field="currency",
        )
    if body.amount > invoice.amount - invoice.paid_amount:
        raise Unprocessable(
            f"The payment exceeds the open balance {invoice.amount - invoice.paid_amount:f}", field="amount"
        )
    payment = Payment(
        invoice_id=invoice.id, amount=body.amount, paid_on=body.paid_on, recorded_by=actor.user_id, recorded_at=now
    )
    invoice.paid_amount = invoice.paid_amount + body.amount
    session.add(payment)
    await session.flush()
    return payment


async def list_invoices(
    session: AsyncSession, *, account_id: str, open_only: bool, page: PageParams
) -> tuple[list[Invoice], int]:
    """An account's invoices by due date (``open_only``: those with a balance left)."""
    stmt = select(Invoice).where(Invoice.account_id == account_id)
    if open_only:
        stmt = stmt.where(Invoice.amount > Invoice.paid_amount)
    return await paged(session, stmt, page, Invoice.due_on, Invoice.number)


# ---------------------------------------------------------------- exposure and the credit check


async def exposure_summary(session: AsyncSession, *, account_id: str, today: date) -> dict[str, Any]:
    """Limit, receivables aging, open orders, exposure and utilisation of one account, in the limit's currency.

    Open balances, exposed orders and a temporary limit in other currencies are converted at the rates in
    force on ``today`` (the business date); ``conversions`` lists them. A currency without a rate is a 422.
    """
    profile = await get_profile(session, account_id=account_id)
    invoices = await _open_invoices(session, account_id)
    orders = await _exposed_orders(session, account_id)
    currencies = {i.currency for i in invoices} | {o.currency for o in orders} | limit_currencies(profile, today)
    converter = await converter_for(session, target=limit_currency(profile), currencies=currencies, day=today)
    buckets = {k: v.quantize(CENTS) for k, v in aging(_receivables(invoices, converter), today).items()}
    open_orders = sum((o.amount for o in _open_orders(orders, converter)), ZERO).quantize(CENTS)
    exposure = buckets["total"] + open_orders
    limit = effective_limit(profile, today, converter)
    return {
        "account_id": account_id,
        "currency": limit_currency(profile),
        "as_of": today,
        "credit_limit": profile.credit_limit if profile else None,
        "temporary_limit": profile.temporary_limit if profile else None,
        "temporary_limit_expires_on": profile.temporary_limit_expires_on if profile else None,
        "effective_limit": limit,
        "receivables": buckets["total"],
        "open_orders": open_orders,
        "exposure": exposure,
        "utilisation_pct": utilisation_pct(exposure, limit),
        "over_limit": limit is not None and exposure > limit,
        "aging": {k: buckets[k] for k in ("current", "1_30", "31_60", "61_90", "over_90", "overdue")},
        "conversions": converter.conversions(),
    }


@dataclass(frozen=True)
class OrderCheck:
    """A credit check: the decision, the order kept (if any) and the conversions into the limit's currency."""

    result: CreditCheckResult
    order: SalesOrder | None
    limit_currency: str
    amount_in_limit_currency: Decimal
    conversions: list[Conversion]


async def check_order(
    session: AsyncSession,
    *,
    account_id: str,
    body: CreditCheckCreate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> OrderCheck:
    """Credit-check an order; when ``body.record`` the order is kept (open, or blocked until released).

    The order, open balances, exposed orders and a temporary limit are converted into the limit's currency at
    the rates in force on ``today`` (the order's date); a currency without a rate is a 422 naming it.
    """
    profile = await get_profile(session, account_id=account_id)
    invoices = await _open_invoices(session, account_id)
    orders = await _exposed_orders(session, account_id)
    currencies = {body.currency} | {i.currency for i in invoices} | {o.currency for o in orders}
    converter = await converter_for(
        session, target=limit_currency(profile), currencies=currencies | limit_currencies(profile, today), day=today
    )
    amount = converter.to_target(body.amount, body.currency, figure="order")
    result = credit_check(
        amount=amount,
        limit=effective_limit(profile, today, converter),
        receivables=_receivables(invoices, converter),
        open_orders=_open_orders(orders, converter),
        as_of=today,
        horizon=body.horizon,
        grade=profile.grade if profile else None,
    )
    order = None
    if body.record:
        order = SalesOrder(
            account_id=account_id,
            reference=body.order_reference,
            amount=body.amount,
            currency=body.currency,
            expected_on=body.expected_on,
            status="blocked" if result.decision == "block" else "open",
            decision=result.decision,
            reasons=result.reasons,
            checked_by=actor.user_id,
            checked_at=now,
        )
        session.add(order)
        await session.flush()
        await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return OrderCheck(result, order, limit_currency(profile), amount, converter.conversions())


# ---------------------------------------------------------------- orders


async def release_order(
    session: AsyncSession,
    *,
    order: SalesOrder,
    body: OrderRelease,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> SalesOrder:
    """Release a blocked order (it then counts as exposure)."""
    if "released" not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"Only blocked orders can be released; this one is {order.status}", current=order.status, allowed=[]
        )
    order.status, order.released_by, order.released_at, order.release_reason = (
        "released",
        actor.user_id,
        now,
        body.reason,
    )
    await session.flush()
    await refresh_credit_signals(session, account_id=order.account_id, publisher=publisher, now=now, today=today)
    return order


async def close_order(session: AsyncSession, *, order: SalesOrder) -> SalesOrder:
    """Close an open or released order (invoiced or cancelled): it no longer counts as an open order."""
    if "closed" not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"Only open or released orders can be closed; this one is {order.status}",
            current=order.status,
            allowed=[],
        )
    order.status = "closed"
    await session.flush()
    return order


async def list_orders(
    session: AsyncSession, *, actor: Principal, status: str | None, account_id: str | None, page: PageParams
) -> tuple[list[SalesOrder], int]:
    """Credit-checked orders the actor may see, newest first."""
    stmt = select(SalesOrder).where(visible_accounts_clause(platform, actor, SalesOrder.account_id))
    if status:
        stmt = stmt.where(SalesOrder.status == status)
    if account_id:
        stmt = stmt.where(SalesOrder.account_id == account_id)
    return await paged(session, stmt, page, SalesOrder.checked_at.desc())


# ---------------------------------------------------------------- credit signals for early warning


async def refresh_credit_signals(
    session: AsyncSession, *, account_id: str, publisher: Publisher, now: datetime, today: date
) -> None:
    """Turn overdue invoices (one signal per invoice and aging bucket) and high utilisation into signals.

    Days past due count from ``today``, the business date. Utilisation needs every amount in the limit's
    currency: while a rate is missing it is left out (logged) rather than computed from a raw sum.
    """
    invoices = (
        await session.execute(
            select(Invoice).where(
                Invoice.account_id == account_id, Invoice.amount > Invoice.paid_amount, Invoice.due_on < today
            )
        )
    ).scalars()
    for invoice in list(invoices):
        await _overdue_signal(session, invoice=invoice, publisher=publisher, now=now, today=today)
    try:
        summary = await exposure_summary(session, account_id=account_id, today=today)
    except MissingRate as exc:
        log.warning("utilisation of account %s not refreshed: %s", account_id, exc.detail)
        return
    pct: Decimal | None = summary["utilisation_pct"]
    if pct is None or pct < UTILISATION_WATCH_PCT:
        return
    band = min(int(pct // 10) * 10, 200)
    await record_signal(
        session,
        account_id=account_id,
        signal_type="credit_utilisation",
        value=pct,
        source="job",
        source_ref=f"utilisation:{band}",
        title=f"额度占用 {pct:f}% (exposure {summary['exposure']:f} of {summary['effective_limit']:f} "
        f"{summary['currency']})",
        details={
            "exposure": str(summary["exposure"]),
            "limit": str(summary["effective_limit"]),
            "currency": summary["currency"],
        },
        publisher=publisher,
        now=now,
        today=today,
    )


async def _overdue_signal(
    session: AsyncSession, *, invoice: Invoice, publisher: Publisher, now: datetime, today: date
) -> None:
    """The receivables_overdue signal of one invoice in its aging bucket (its own currency, nothing added)."""
    days = (today - invoice.due_on).days
    bucket = bucket_for(days)
    await record_signal(
        session,
        account_id=invoice.account_id,
        signal_type="receivables_overdue",
        value=Decimal(BUCKET_START_DAYS[bucket]),
        source="job",
        source_ref=f"overdue:{invoice.id}:{bucket}",
        title=f"发票 {invoice.number} 逾期 {days} 天 (invoice {invoice.number} {days} days past due, "
        f"{invoice.amount - invoice.paid_amount:f} {invoice.currency} open)",
        details={"invoice_id": invoice.id, "days_past_due": days, "bucket": bucket},
        publisher=publisher,
        now=now,
        today=today,
    )


async def refresh_all_credit_signals(session: AsyncSession, *, publisher: Publisher, now: datetime, today: date) -> int:
    """Refresh the credit signals of every account with receivables or a limit (aging moves with time)."""
    with_invoices = set((await session.execute(select(Invoice.account_id).distinct())).scalars())
    with_limits = set(
        (
            await session.execute(select(CreditProfile.account_id).where(CreditProfile.credit_limit.is_not(None)))
        ).scalars()
    )
    accounts = sorted(with_invoices | with_limits)
    for account_id in accounts:
        await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return len(accounts)

"""Receivables and orders: invoices, payments, the credit check of an order, exposure, and their credit signals."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import (
    DEFAULT_FUTURE_TOLERANCE_DAYS,
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
from services.risk.credit.policy import DEFAULT_CASE_POLICY, CasePolicy
from services.risk.credit.profiles import (
    check_policy,
    effective_limit,
    get_profile,
    limit_currencies,
    limit_currency,
    limit_in_force,
    with_order_block_rule,
)
from services.risk.credit.schemas import CreditCheckCreate, InvoiceCreate, InvoiceImport, OrderRelease, PaymentCreate
from services.risk.fx.conversion import Conversion, Converter, MissingRate
from services.risk.fx.service import converter_for
from services.risk.models import audit_log, platform
from services.risk.paging import paged
from services.risk.warnings.service import record_signal, rule_matches, settle_alerts
from shared.api import PageParams
from shared.audit import record_audit, snapshot
from shared.auth import Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, InvalidTransition, Unprocessable

log = logging.getLogger("kam.risk")
CENTS = Decimal("0.0001")  # money is shown with the 4 places it is stored with
# Orders that count as exposure; blocked orders do not until released.
EXPOSED_ORDER_STATUSES = ("open", "released")
# Order lifecycle: a checked order is open (passed or warned) or blocked; a blocked one waits for release, or is
# rejected (credit management) or cancelled (sales); an open or released one is closed once invoiced, or cancelled.
ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("closed", "cancelled"),
    "blocked": ("released", "rejected", "cancelled"),
    "released": ("closed", "cancelled"),
    "rejected": (),
    "cancelled": (),
    "closed": (),
}
# First day of each overdue bucket: the value of a receivables_overdue signal (stable while in the bucket).
BUCKET_START_DAYS = {"1_30": 1, "31_60": 31, "61_90": 61, "over_90": 91}
# Utilisation is recorded as a signal from this percentage on, once per 10-point band.
UTILISATION_WATCH_PCT = Decimal(50)


def has_open_balance() -> ColumnElement[bool]:
    """An invoice not cancelled with something left to pay (amount − paid − credited > 0)."""
    return and_(Invoice.status == "open", Invoice.amount > Invoice.paid_amount + Invoice.credited_amount)


def check_not_ahead(value: date, *, field: str, today: date, tolerance_days: int) -> None:
    """A business date at most ``tolerance_days`` after today (422 naming ``field`` otherwise)."""
    latest = today + timedelta(days=tolerance_days)
    if value > latest:
        raise Unprocessable(
            f"{field} {value} lies more than {tolerance_days} day(s) after the business date {today}", field=field
        )


async def load_receivables(session: AsyncSession, *, account_id: str, converter: Converter) -> list[Receivable]:
    """The account's invoices (paid ones included, for DSO; cancelled ones not) in the converter's currency; credit
    notes reduce what was invoiced."""
    rows = (
        (await session.execute(select(Invoice).where(Invoice.account_id == account_id, Invoice.status == "open")))
        .scalars()
        .all()
    )
    return [
        Receivable(
            amount=converter.to_target(i.amount - i.credited_amount, i.currency, figure="invoiced"),
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
    rows = await session.execute(select(Invoice).where(Invoice.account_id == account_id, has_open_balance()))
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
            amount=converter.to_target(i.open_balance, i.currency, figure="receivables"),
            paid=ZERO,
            due_on=i.due_on,
            issued_on=i.issued_on,
            disputed=i.dispute_status == "open",
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
    actor_id: str = "system",
    tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS,
) -> Invoice:
    """Record a receivable (an invoice number is unique per account; issued at most ``tolerance_days`` ahead);
    ``refresh`` re-derives credit signals. The invoice's history starts with it."""
    check_not_ahead(body.issued_on, field="issued_on", today=today, tolerance_days=tolerance_days)
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
    await record_audit(
        session,
        audit_log,
        actor_id=actor_id,
        action="invoice.recorded",
        object_type="invoice",
        object_id=invoice.id,
        after={
            "number": body.number,
            "amount": body.amount,
            "paid_amount": body.paid_amount,
            "currency": body.currency,
            "issued_on": body.issued_on,
            "due_on": body.due_on,
        },
        at=now,
    )
    if refresh:
        await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return invoice


async def import_invoices(
    session: AsyncSession,
    *,
    body: InvoiceImport,
    publisher: Publisher,
    now: datetime,
    today: date,
    actor_id: str = "system",
    tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS,
) -> int:
    """Record a batch of receivables (all or nothing); credit signals are refreshed once per account."""
    accounts: list[str] = []
    for index, row in enumerate(body.invoices):
        try:
            await add_invoice(
                session,
                account_id=row.account_id,
                body=row,
                publisher=publisher,
                now=now,
                today=today,
                refresh=False,
                actor_id=actor_id,
                tolerance_days=tolerance_days,
            )
        except (Conflict, Unprocessable) as exc:
            raise Unprocessable(f"invoices[{index}]: {exc.detail}", field=f"invoices.{index}") from exc
        if row.account_id not in accounts:
            accounts.append(row.account_id)
    for account_id in accounts:
        await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return len(accounts)


async def record_payment(
    session: AsyncSession,
    *,
    invoice: Invoice,
    body: PaymentCreate,
    actor: Principal,
    now: datetime,
    today: date,
    tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS,
) -> Payment:
    """Record a payment against an invoice, in its currency (never more than the open balance; paid at most
    ``tolerance_days`` ahead); kept in the invoice's history."""
    check_not_ahead(body.paid_on, field="paid_on", today=today, tolerance_days=tolerance_days)
    if invoice.status == "cancelled":
        raise Conflict(f"Invoice {invoice.number} is cancelled", invoice_id=invoice.id)
    if body.currency is not None and body.currency != invoice.currency:
        raise Unprocessable(
            f"currency: a payment is recorded in the invoice's currency {invoice.currency}, not {body.currency}",
            field="currency",
        )
    if body.amount > invoice.open_balance:
        raise Unprocessable(f"The payment exceeds the open balance {invoice.open_balance:f}", field="amount")
    payment = Payment(
        invoice_id=invoice.id, amount=body.amount, paid_on=body.paid_on, recorded_by=actor.user_id, recorded_at=now
    )
    invoice.paid_amount = invoice.paid_amount + body.amount
    session.add(payment)
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action="invoice.payment_recorded",
        object_type="invoice",
        object_id=invoice.id,
        after={"payment_id": payment.id, "amount": body.amount, "paid_on": body.paid_on},
        at=now,
    )
    return payment


async def list_invoices(
    session: AsyncSession, *, account_id: str, open_only: bool, page: PageParams
) -> tuple[list[Invoice], int]:
    """An account's invoices by due date (``open_only``: those with a balance left)."""
    stmt = select(Invoice).where(Invoice.account_id == account_id)
    if open_only:
        stmt = stmt.where(has_open_balance())
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
    """A credit check: the decision, the order kept (if any) and the conversions into the limit's currency;
    ``created`` when this check booked the order (a retry with its reference answers the kept check again)."""

    result: CreditCheckResult
    order: SalesOrder | None
    limit_currency: str
    amount_in_limit_currency: Decimal
    conversions: list[Conversion]
    created: bool = False

    def record(self) -> dict[str, Any]:
        """The check as kept with the order (decimals as strings), to answer a retry with the same figures."""
        r = self.result
        return {
            "decision": r.decision,
            "reasons": r.reasons,
            "limit": _text(r.limit),
            "static_exposure": _text(r.static_exposure),
            "dynamic_exposure": _text(r.dynamic_exposure),
            "utilisation_after_pct": _text(r.utilisation_after_pct),
            "limit_currency": self.limit_currency,
            "amount_in_limit_currency": _text(self.amount_in_limit_currency),
            "conversions": [
                {
                    **asdict(c),
                    "amount": str(c.amount),
                    "rate": str(c.rate),
                    "rate_date": c.rate_date.isoformat(),
                    "converted_amount": str(c.converted_amount),
                }
                for c in self.conversions
            ],
        }

    @classmethod
    def kept(cls, order: SalesOrder, record: dict[str, Any]) -> OrderCheck:
        """The check an order was booked with, from its ``record``."""
        result = CreditCheckResult(
            decision=record["decision"],
            reasons=record["reasons"],
            static_exposure=Decimal(record["static_exposure"]),
            dynamic_exposure=_decimal(record["dynamic_exposure"]),
            limit=_decimal(record["limit"]),
            utilisation_after_pct=_decimal(record["utilisation_after_pct"]),
        )
        conversions = [
            Conversion(
                figure=c["figure"],
                currency=c["currency"],
                amount=Decimal(c["amount"]),
                rate=Decimal(c["rate"]),
                rate_date=date.fromisoformat(c["rate_date"]),
                converted_amount=Decimal(c["converted_amount"]),
            )
            for c in record["conversions"]
        ]
        return cls(result, order, record["limit_currency"], Decimal(record["amount_in_limit_currency"]), conversions)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


async def _run_check(
    session: AsyncSession,
    *,
    account_id: str,
    amount: Decimal,
    currency: str,
    expected_on: date | None,
    horizon: date | None,
    today: date,
    policy: CasePolicy = DEFAULT_CASE_POLICY,
) -> OrderCheck:
    """The credit check of an amount against the account's exposure and the limit in force today (nothing kept);
    ``policy`` holds the order-block rule (grades that block or warn, an open red alert)."""
    profile = await get_profile(session, account_id=account_id)
    invoices = await _open_invoices(session, account_id)
    orders = await _exposed_orders(session, account_id)
    currencies = {currency} | {i.currency for i in invoices} | {o.currency for o in orders}
    converter = await converter_for(
        session, target=limit_currency(profile), currencies=currencies | limit_currencies(profile, today), day=today
    )
    in_force = limit_in_force(profile, today)
    converted = converter.to_target(amount, currency, figure="order")
    result = credit_check(
        amount=converted,
        limit=effective_limit(profile, today, converter),
        receivables=_receivables(invoices, converter),
        open_orders=_open_orders(orders, converter),
        as_of=today,
        horizon=horizon,
        grade=profile.grade if profile else None,
        policy=check_policy(policy),
        expected_on=expected_on,
        temporary_limit_expires_on=profile.temporary_limit_expires_on
        if profile and in_force and in_force.temporary
        else None,
    )
    # Imported here: credit/groups.py reads this module's open balances and exposed orders.
    from services.risk.credit.groups import with_group_limits

    result = await with_group_limits(
        session, result, account_id=account_id, amount=amount, currency=currency, today=today
    )
    result = await with_order_block_rule(session, account_id=account_id, result=result, policy=policy)
    return OrderCheck(result, None, limit_currency(profile), converted, converter.conversions())


async def _by_reference(session: AsyncSession, account_id: str, reference: str) -> SalesOrder | None:
    return await session.scalar(
        select(SalesOrder).where(SalesOrder.account_id == account_id, SalesOrder.reference == reference)
    )


def _retried(order: SalesOrder, body: CreditCheckCreate) -> OrderCheck:
    """A retry of a booked order answers its kept check; other terms under the same reference are a 409."""
    same = (order.amount, order.currency, order.expected_on, order.horizon) == (
        body.amount,
        body.currency,
        body.expected_on,
        body.horizon,
    )
    if not same or order.check_result is None:
        raise Conflict(
            f"Order {order.reference} was already checked with other terms (order {order.id})",
            order_id=order.id,
            order_reference=order.reference,
        )
    return OrderCheck.kept(order, order.check_result)


async def check_order(
    session: AsyncSession,
    *,
    account_id: str,
    body: CreditCheckCreate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
    policy: CasePolicy = DEFAULT_CASE_POLICY,
) -> OrderCheck:
    """Credit-check an order; when ``body.record`` the order is kept (open, or blocked until released).

    The order, open balances, exposed orders and a temporary limit are converted into the limit's currency at
    the rates in force on ``today`` (the order's date); a currency without a rate is a 422 naming it. An order
    reference books one order per account: a retry with the same terms answers the first check again.
    """
    reference = body.order_reference or None
    if body.record and reference is not None and (booked := await _by_reference(session, account_id, reference)):
        return _retried(booked, body)
    check = await _run_check(
        session,
        account_id=account_id,
        amount=body.amount,
        currency=body.currency,
        expected_on=body.expected_on,
        horizon=body.horizon,
        today=today,
        policy=policy,
    )
    if not body.record:
        return check
    order = SalesOrder(
        account_id=account_id,
        reference=reference,
        amount=body.amount,
        currency=body.currency,
        expected_on=body.expected_on,
        horizon=body.horizon,
        status="blocked" if check.result.decision == "block" else "open",
        decision=check.result.decision,
        reasons=check.result.reasons,
        check_result=check.record(),
        checked_by=actor.user_id,
        checked_at=now,
    )
    try:
        async with session.begin_nested():  # a concurrent booking of the same reference wins; this one answers it
            session.add(order)
            await session.flush()
    except IntegrityError:
        booked = await _by_reference(session, account_id, reference or "")
        if booked is None:
            raise
        return _retried(booked, body)
    await refresh_credit_signals(session, account_id=account_id, publisher=publisher, now=now, today=today)
    return replace(check, order=order, created=True)


# ---------------------------------------------------------------- orders

# What the audit log shows of an order's move.
ORDER_AUDIT_FIELDS = ("status", "release_decision", "released_by", "release_reason", "closed_by", "close_reason")


def _ensure_move(order: SalesOrder, target: str) -> None:
    """409 with ``current`` and ``allowed`` unless the lifecycle allows ``order`` to move to ``target``."""
    if target not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"An order that is {order.status} cannot become {target}",
            current=order.status,
            allowed=ORDER_TRANSITIONS[order.status],
        )


async def release_order(
    session: AsyncSession,
    *,
    order: SalesOrder,
    body: OrderRelease,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
    policy: CasePolicy = DEFAULT_CASE_POLICY,
) -> SalesOrder:
    """Release a blocked order (it then counts as exposure); the credit check is re-run under the same order-block
    rule as the first (``policy``) and kept beside the blocking one (``release_decision``/``release_reasons``), and
    the release is audited."""
    _ensure_move(order, "released")
    recheck = await _run_check(
        session,
        account_id=order.account_id,
        amount=order.amount,
        currency=order.currency,
        expected_on=order.expected_on,
        horizon=order.horizon,
        today=today,
        policy=policy,
    )
    before = snapshot(order, ORDER_AUDIT_FIELDS)
    order.status, order.released_by, order.released_at, order.release_reason = (
        "released",
        actor.user_id,
        now,
        body.reason,
    )
    order.release_decision, order.release_reasons = recheck.result.decision, recheck.result.reasons
    await session.flush()
    await _audit_order(session, order, "order.released", before, actor_id=actor.user_id, now=now)
    await refresh_credit_signals(session, account_id=order.account_id, publisher=publisher, now=now, today=today)
    return order


async def _end_order(
    session: AsyncSession,
    *,
    order: SalesOrder,
    target: str,
    reason: str | None,
    actor_id: str,
    now: datetime | None,
) -> dict[str, Any]:
    """Move an order out of the open orders (closed, rejected, cancelled); returns what it was before."""
    _ensure_move(order, target)
    before = snapshot(order, ORDER_AUDIT_FIELDS)
    order.status, order.closed_by, order.closed_at, order.close_reason = target, actor_id, now, reason
    await session.flush()
    return before


async def _audit_order(
    session: AsyncSession, order: SalesOrder, action: str, before: dict[str, Any], *, actor_id: str, now: datetime
) -> None:
    await record_audit(
        session,
        audit_log,
        actor_id=actor_id,
        action=action,
        object_type="order",
        object_id=order.id,
        before=before,
        after=snapshot(order, ORDER_AUDIT_FIELDS),
        at=now,
    )


async def reject_order(
    session: AsyncSession, *, order: SalesOrder, reason: str, actor: Principal, now: datetime
) -> SalesOrder:
    """Credit management refuses a blocked order for good (audited); it never counts as exposure."""
    before = await _end_order(session, order=order, target="rejected", reason=reason, actor_id=actor.user_id, now=now)
    await _audit_order(session, order, "order.rejected", before, actor_id=actor.user_id, now=now)
    return order


async def cancel_order(
    session: AsyncSession,
    *,
    order: SalesOrder,
    reason: str,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> SalesOrder:
    """The order is withdrawn (blocked, open or released; audited): it no longer counts as exposure."""
    before = await _end_order(session, order=order, target="cancelled", reason=reason, actor_id=actor.user_id, now=now)
    await _audit_order(session, order, "order.cancelled", before, actor_id=actor.user_id, now=now)
    await refresh_credit_signals(session, account_id=order.account_id, publisher=publisher, now=now, today=today)
    return order


async def close_order(
    session: AsyncSession, *, order: SalesOrder, actor: Principal | None = None, now: datetime | None = None
) -> SalesOrder:
    """Close an open or released order once invoiced: it no longer counts as an open order."""
    await _end_order(
        session, order=order, target="closed", reason=None, actor_id=actor.user_id if actor else "system", now=now
    )
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
                Invoice.account_id == account_id,
                has_open_balance(),
                Invoice.due_on < today,
                Invoice.dispute_status.is_distinct_from("open"),  # a disputed invoice is not chased
            )
        )
    ).scalars()
    overdue = list(invoices)
    for invoice in overdue:
        await _overdue_signal(session, invoice=invoice, publisher=publisher, now=now, today=today)
    if not overdue:  # paid, credited or cancelled: the overdue alert clears itself (warnings.CLEARING)
        await settle_alerts(
            session,
            account_id=account_id,
            signal_type="receivables_overdue",
            reason="no open invoice is past due",
            publisher=publisher,
            now=now,
        )
    try:
        summary = await exposure_summary(session, account_id=account_id, today=today)
    except MissingRate as exc:
        log.warning("utilisation of account %s not refreshed: %s", account_id, exc.detail)
        return
    pct: Decimal | None = summary["utilisation_pct"]
    if pct is not None and not await rule_matches(session, signal_type="credit_utilisation", value=pct):
        await settle_alerts(
            session,
            account_id=account_id,
            signal_type="credit_utilisation",
            reason=f"utilisation {pct:f}% is under every threshold",
            publisher=publisher,
            now=now,
        )
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
        f"{invoice.open_balance:f} {invoice.currency} open)",
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

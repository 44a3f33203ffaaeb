"""Credit and exposure: profiles, assessments, maker-checker limit changes, receivables, credit checks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.alerts import record_signal
from services.risk.exposure import (
    CreditCheckResult,
    OpenOrder,
    Receivable,
    aging,
    bucket_for,
    credit_check,
    utilisation_pct,
)
from services.risk.exposure import payment_behaviour as derive_payment_behaviour
from services.risk.models import (
    CreditAssessment,
    CreditProfile,
    Invoice,
    LimitRequest,
    Payment,
    SalesOrder,
    ScorecardConfig,
    platform,
)
from services.risk.scorecard import (
    DEFAULT_SCORECARD,
    Scorecard,
    score_credit,
    scorecard_from_dict,
    scorecard_to_dict,
)
from shared.bus import add_event
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound, Unprocessable
from shared.events import CreditAssessed, CreditLimitChanged

CENTS = Decimal("0.0001")  # money is shown with the 4 places it is stored with
# Orders that count as exposure; blocked orders do not until released.
EXPOSED_ORDER_STATUSES = ("open", "released")
# First day of each overdue bucket: the value of a receivables_overdue signal (stable while in the bucket).
BUCKET_START_DAYS = {"1_30": 1, "31_60": 31, "61_90": 61, "over_90": 91}
# Utilisation is recorded as a signal from this percentage on, once per 10-point band.
UTILISATION_WATCH_PCT = Decimal(50)


async def get_profile(session: AsyncSession, *, account_id: str) -> CreditProfile | None:
    """The account's credit profile, if it has one."""
    return await session.get(CreditProfile, account_id)


async def ensure_profile(session: AsyncSession, *, account_id: str, now: datetime) -> CreditProfile:
    """The account's credit profile, created empty (no limit, not assessed) when missing."""
    profile = await session.get(CreditProfile, account_id)
    if profile is None:
        profile = CreditProfile(account_id=account_id, currency="CNY", version=1, updated_at=now)
        session.add(profile)
        await session.flush()
    return profile


def effective_limit(profile: CreditProfile | None, today: date) -> Decimal | None:
    """The limit in force: an unexpired temporary limit overrides the permanent one."""
    if profile is None:
        return None
    if (
        profile.temporary_limit is not None
        and profile.temporary_limit_expires_on is not None
        and today <= profile.temporary_limit_expires_on
    ):
        return profile.temporary_limit
    return profile.credit_limit


# ---------------------------------------------------------------- scorecard and assessment


async def get_scorecard(session: AsyncSession) -> Scorecard:
    """The configured scorecard, or the default one."""
    row = await session.get(ScorecardConfig, 1)
    return scorecard_from_dict(row.config) if row is not None else DEFAULT_SCORECARD


async def set_scorecard(session: AsyncSession, *, config: dict[str, Any], by: str, now: datetime) -> Scorecard:
    """Replace the scorecard (validated); its version goes up by one."""
    row = await session.get(ScorecardConfig, 1)
    version = (row.version if row is not None else DEFAULT_SCORECARD.version) + 1
    try:
        scorecard = scorecard_from_dict({**config, "version": version})
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise Unprocessable(f"Invalid scorecard: {exc}", field="factors") from exc
    stored = scorecard_to_dict(scorecard)
    if row is None:
        session.add(ScorecardConfig(id=1, config=stored, version=version, updated_by=by, updated_at=now))
    else:
        row.config, row.version, row.updated_by, row.updated_at = stored, version, by, now
    await session.flush()
    return scorecard


async def load_receivables(session: AsyncSession, *, account_id: str) -> list[Receivable]:
    """The account's invoices as receivables (paid ones included, for DSO)."""
    rows = (await session.execute(select(Invoice).where(Invoice.account_id == account_id))).scalars().all()
    return [Receivable(amount=i.amount, paid=i.paid_amount, due_on=i.due_on, issued_on=i.issued_on) for i in rows]


async def load_open_orders(session: AsyncSession, *, account_id: str) -> list[OpenOrder]:
    """The account's orders that count as exposure."""
    rows = (
        await session.execute(
            select(SalesOrder).where(SalesOrder.account_id == account_id, SalesOrder.status.in_(EXPOSED_ORDER_STATUSES))
        )
    ).scalars()
    return [OpenOrder(amount=o.amount, expected_on=o.expected_on) for o in rows]


async def assess_credit(
    session: AsyncSession, *, account_id: str, inputs: dict[str, Any], by: str, now: datetime
) -> CreditAssessment:
    """Score an account; payment behaviour not supplied is derived from its receivables. Publishes credit_assessed."""
    derived = derive_payment_behaviour(await load_receivables(session, account_id=account_id), now.date())
    has_invoices = await session.scalar(select(func.count()).where(Invoice.account_id == account_id))
    merged: dict[str, Any] = {k: v for k, v in inputs.items() if v is not None}
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
        assessed_by=by,
        assessed_at=now,
    )
    session.add(assessment)
    profile = await ensure_profile(session, account_id=account_id, now=now)
    profile.score, profile.grade, profile.risk_class = result.score, result.grade, result.risk_class
    profile.assessed_at, profile.updated_at = now, now
    profile.version += 1
    await session.flush()
    await add_event(
        session,
        platform.outbox,
        CreditAssessed(
            source="risk",
            account_id=account_id,
            data={"score": result.score, "grade": result.grade, "risk_class": result.risk_class, "assessed_at": now},
        ),
    )
    return assessment


async def list_assessments(session: AsyncSession, *, account_id: str, limit: int, offset: int) -> tuple[list[Any], int]:
    """The account's assessment history, newest first."""
    total = await session.scalar(select(func.count()).where(CreditAssessment.account_id == account_id)) or 0
    rows = (
        await session.execute(
            select(CreditAssessment)
            .where(CreditAssessment.account_id == account_id)
            .order_by(CreditAssessment.assessed_at.desc())
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    return list(rows), int(total)


# ---------------------------------------------------------------- limit changes (maker-checker)


async def request_limit_change(
    session: AsyncSession,
    *,
    account_id: str,
    kind: str,
    requested_limit: Decimal,
    currency: str,
    expires_on: date | None,
    reason: str,
    by: str,
    now: datetime,
) -> LimitRequest:
    """File a limit change request; nothing changes until someone else approves it."""
    if kind == "temporary" and (expires_on is None or expires_on < now.date()):
        raise Unprocessable("A temporary limit needs an expiry date that is not in the past", field="expires_on")
    if kind == "permanent" and expires_on is not None:
        raise Unprocessable("A permanent limit has no expiry date", field="expires_on")
    profile = await ensure_profile(session, account_id=account_id, now=now)
    if profile.credit_limit is not None and currency != profile.currency:
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
        requested_limit=requested_limit,
        currency=currency,
        expires_on=expires_on,
        reason=reason,
        status="pending",
        previous_limit=profile.credit_limit if kind == "permanent" else profile.temporary_limit,
        requested_by=by,
        requested_at=now,
    )
    session.add(request)
    await session.flush()
    return request


async def get_limit_request(session: AsyncSession, *, request_id: str) -> LimitRequest:
    """A limit request or 404."""
    request = await session.get(LimitRequest, request_id)
    if request is None:
        raise NotFound(f"Limit request {request_id} not found")
    return request


async def decide_limit_request(
    session: AsyncSession, *, request: LimitRequest, approve: bool, note: str | None, by: str, now: datetime
) -> LimitRequest:
    """Approve (apply the limit, publish credit_limit_changed once) or reject a pending request; maker ≠ checker."""
    if request.status != "pending":
        raise InvalidTransition(f"The request is already {request.status}", current=request.status, allowed=[])
    if by == request.requested_by:
        raise Forbidden("The maker of a limit request cannot approve or reject it; a second risk officer must")
    request.status = "approved" if approve else "rejected"
    request.decided_by, request.decided_at, request.decision_note = by, now, note
    if approve:
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
        await add_event(
            session,
            platform.outbox,
            CreditLimitChanged(
                source="risk",
                account_id=request.account_id,
                data={
                    "old_limit": old_limit,
                    "new_limit": request.requested_limit,
                    "currency": profile.currency,
                    "request_id": request.id,
                    "approved_by": by,
                },
            ),
        )
        await session.flush()
        await refresh_credit_signals(session, account_id=request.account_id, now=now)
    await session.flush()
    return request


async def expire_temporary_limits(session: AsyncSession, *, now: datetime) -> list[str]:
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
        await add_event(
            session,
            platform.outbox,
            CreditLimitChanged(
                source="risk",
                account_id=profile.account_id,
                data={
                    "old_limit": old,
                    "new_limit": profile.credit_limit if profile.credit_limit is not None else Decimal(0),
                    "currency": profile.currency,
                    "request_id": None,
                    "approved_by": None,
                },
            ),
        )
        accounts.append(profile.account_id)
    await session.flush()
    return accounts


# ---------------------------------------------------------------- receivables and orders


async def add_invoice(
    session: AsyncSession,
    *,
    account_id: str,
    number: str,
    amount: Decimal,
    paid_amount: Decimal,
    currency: str,
    issued_on: date,
    due_on: date,
    now: datetime,
    refresh: bool = True,
) -> Invoice:
    """Record a receivable (an invoice number is unique per account); ``refresh`` re-derives credit signals."""
    if due_on < issued_on:
        raise Unprocessable("due_on is before issued_on", field="due_on")
    if paid_amount > amount:
        raise Unprocessable("paid_amount exceeds amount", field="paid_amount")
    exists = await session.scalar(select(Invoice.id).where(Invoice.account_id == account_id, Invoice.number == number))
    if exists is not None:
        raise Conflict(f"Invoice {number} already exists for this account", invoice_id=exists)
    invoice = Invoice(
        account_id=account_id,
        number=number,
        amount=amount,
        paid_amount=paid_amount,
        currency=currency,
        issued_on=issued_on,
        due_on=due_on,
        created_at=now,
    )
    session.add(invoice)
    await session.flush()
    if refresh:
        await refresh_credit_signals(session, account_id=account_id, now=now)
    return invoice


async def import_invoices(session: AsyncSession, *, rows: list[dict[str, Any]], now: datetime) -> int:
    """Record a batch of receivables (all or nothing); credit signals are refreshed once per account."""
    accounts: list[str] = []
    for index, row in enumerate(rows):
        try:
            await add_invoice(session, now=now, refresh=False, **row)
        except (Conflict, Unprocessable) as exc:
            raise Unprocessable(f"invoices[{index}]: {exc.detail}", field=f"invoices.{index}") from exc
        if row["account_id"] not in accounts:
            accounts.append(row["account_id"])
    for account_id in accounts:
        await refresh_credit_signals(session, account_id=account_id, now=now)
    return len(accounts)


async def record_payment(
    session: AsyncSession, *, invoice: Invoice, amount: Decimal, paid_on: date, by: str, now: datetime
) -> Payment:
    """Record a payment against an invoice (never more than the open balance)."""
    if amount > invoice.amount - invoice.paid_amount:
        raise Unprocessable(
            f"The payment exceeds the open balance {invoice.amount - invoice.paid_amount:f}", field="amount"
        )
    payment = Payment(invoice_id=invoice.id, amount=amount, paid_on=paid_on, recorded_by=by, recorded_at=now)
    invoice.paid_amount = invoice.paid_amount + amount
    session.add(payment)
    await session.flush()
    return payment


async def exposure_summary(session: AsyncSession, *, account_id: str, today: date) -> dict[str, Any]:
    """Limit, receivables aging, open orders, exposure and utilisation of one account."""
    profile = await get_profile(session, account_id=account_id)
    receivables = await load_receivables(session, account_id=account_id)
    orders = await load_open_orders(session, account_id=account_id)
    buckets = {k: v.quantize(CENTS) for k, v in aging(receivables, today).items()}
    open_orders = sum((o.amount for o in orders), Decimal(0)).quantize(CENTS)
    exposure = buckets["total"] + open_orders
    limit = effective_limit(profile, today)
    pct = utilisation_pct(exposure, limit)
    return {
        "account_id": account_id,
        "currency": profile.currency if profile else "CNY",
        "credit_limit": profile.credit_limit if profile else None,
        "temporary_limit": profile.temporary_limit if profile else None,
        "temporary_limit_expires_on": profile.temporary_limit_expires_on if profile else None,
        "effective_limit": limit,
        "receivables": buckets["total"],
        "open_orders": open_orders,
        "exposure": exposure,
        "utilisation_pct": pct,
        "over_limit": limit is not None and exposure > limit,
        "aging": {k: buckets[k] for k in ("current", "1_30", "31_60", "61_90", "over_90", "overdue")},
    }


async def check_order(
    session: AsyncSession,
    *,
    account_id: str,
    amount: Decimal,
    reference: str,
    currency: str,
    expected_on: date | None,
    horizon: date | None,
    record: bool,
    by: str,
    now: datetime,
) -> tuple[CreditCheckResult, SalesOrder | None]:
    """Credit-check an order; when ``record`` the order is kept (open, or blocked until released)."""
    profile = await get_profile(session, account_id=account_id)
    if profile is not None and profile.credit_limit is not None and currency != profile.currency:
        raise Unprocessable(f"The account's limit is kept in {profile.currency}", field="currency")
    result = credit_check(
        amount=amount,
        limit=effective_limit(profile, now.date()),
        receivables=await load_receivables(session, account_id=account_id),
        open_orders=await load_open_orders(session, account_id=account_id),
        as_of=now.date(),
        horizon=horizon,
        grade=profile.grade if profile else None,
    )
    order = None
    if record:
        order = SalesOrder(
            account_id=account_id,
            reference=reference,
            amount=amount,
            currency=currency,
            expected_on=expected_on,
            status="blocked" if result.decision == "block" else "open",
            decision=result.decision,
            reasons=result.reasons,
            checked_by=by,
            checked_at=now,
        )
        session.add(order)
        await session.flush()
        await refresh_credit_signals(session, account_id=account_id, now=now)
    return result, order


async def get_order(session: AsyncSession, *, order_id: str) -> SalesOrder:
    """An order or 404."""
    order = await session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    return order


async def release_order(session: AsyncSession, *, order: SalesOrder, reason: str, by: str, now: datetime) -> SalesOrder:
    """Release a blocked order (it then counts as exposure)."""
    if order.status != "blocked":
        raise InvalidTransition(
            f"Only blocked orders can be released; this one is {order.status}", current=order.status, allowed=[]
        )
    order.status, order.released_by, order.released_at, order.release_reason = "released", by, now, reason
    await session.flush()
    await refresh_credit_signals(session, account_id=order.account_id, now=now)
    return order


async def close_order(session: AsyncSession, *, order: SalesOrder) -> SalesOrder:
    """Close an open or released order (invoiced or cancelled): it no longer counts as an open order."""
    if order.status not in EXPOSED_ORDER_STATUSES:
        raise InvalidTransition(
            f"Only open or released orders can be closed; this one is {order.status}",
            current=order.status,
            allowed=[],
        )
    order.status = "closed"
    await session.flush()
    return order


# ---------------------------------------------------------------- credit signals for early warning


async def refresh_credit_signals(session: AsyncSession, *, account_id: str, now: datetime) -> None:
    """Turn overdue invoices (one signal per invoice and aging bucket) and high utilisation into signals."""
    today = now.date()
    invoices = (
        await session.execute(
            select(Invoice).where(
                Invoice.account_id == account_id, Invoice.amount > Invoice.paid_amount, Invoice.due_on < today
            )
        )
    ).scalars()
    for invoice in list(invoices):
        days = (today - invoice.due_on).days
        bucket = bucket_for(days)
        await record_signal(
            session,
            account_id=account_id,
            signal_type="receivables_overdue",
            value=Decimal(BUCKET_START_DAYS[bucket]),
            source="job",
            source_ref=f"overdue:{invoice.id}:{bucket}",
            title=f"发票 {invoice.number} 逾期 {days} 天 (invoice {invoice.number} {days} days past due, "
            f"{invoice.amount - invoice.paid_amount:f} {invoice.currency} open)",
            details={"invoice_id": invoice.id, "days_past_due": days, "bucket": bucket},
            now=now,
        )
    summary = await exposure_summary(session, account_id=account_id, today=today)
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
        title=f"额度占用 {pct:f}% (exposure {summary['exposure']:f} of {summary['effective_limit']:f})",
        details={"exposure": str(summary["exposure"]), "limit": str(summary["effective_limit"])},
        now=now,
    )


async def refresh_all_credit_signals(session: AsyncSession, *, now: datetime) -> int:
    """Refresh the credit signals of every account with receivables or a limit (aging moves with time)."""
    with_invoices = set((await session.execute(select(Invoice.account_id).distinct())).scalars())
    with_limits = set(
        (
            await session.execute(select(CreditProfile.account_id).where(CreditProfile.credit_limit.is_not(None)))
        ).scalars()
    )
    accounts = sorted(with_invoices | with_limits)
    for account_id in accounts:
        await refresh_credit_signals(session, account_id=account_id, now=now)
    return len(accounts)

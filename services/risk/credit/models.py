"""Credit tables: profiles, assessments, limit requests, receivables, credit notes, payments, orders, the scorecard."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.risk.credit.policy import approvals_needed
from services.risk.models import Base, new_id
from shared.db import Money, UTCDateTime


class CreditProfile(Base):
    """An account's credit limit, temporary limit and current score/grade."""

    __tablename__ = "credit_profiles"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    credit_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    temporary_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    # The temporary limit's own currency (null: the limit's); converted into ``currency`` when in force.
    temporary_limit_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    temporary_limit_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    score: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    grade: Mapped[str | None] = mapped_column(String(1), nullable=True, index=True)
    risk_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The periodic review date (set from the grade at each assessment) and the one risk.review_due was sent for.
    review_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    review_notified_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The limit of the group this account heads, over itself and every subsidiary (credit/groups.py), in its own
    # currency; set by an approved limit request of kind ``group``.
    group_credit_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    group_limit_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)


class CreditAssessment(Base):
    """One scoring of an account (the profile's history)."""

    __tablename__ = "credit_assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[Decimal] = mapped_column(Money())
    grade: Mapped[str] = mapped_column(String(1))
    risk_class: Mapped[str] = mapped_column(String(20))
    scorecard_version: Mapped[int] = mapped_column(Integer)
    assessed_by: Mapped[str] = mapped_column(String(100))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LimitRequest(Base):
    """A requested limit change; applied only when a different risk officer approves it."""

    __tablename__ = "limit_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # permanent | temporary
    requested_limit: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | approved | rejected | withdrawn
    previous_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    # The risk officer asked to check it (null: any risk officer but the maker).
    checker_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Four eyes above the threshold: how many approvals it needs (2: a first and a second approver), the
    # threshold it was compared with, and the first approval once given.
    approvals_required: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    threshold_amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    threshold_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    first_approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The limit the policy table suggested for the account's grade when the request was filed.
    suggested_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    suggested_limit_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)

    @property
    def approvals_needed(self) -> list[dict[str, Any]]:
        """The approvals it still waits for (empty once decided or withdrawn)."""
        return approvals_needed(
            status=self.status,
            approvals_required=self.approvals_required or 1,
            requested_by=self.requested_by,
            checker_id=self.checker_id,
            first_approved_by=self.first_approved_by,
        )


class LimitRequestHistory(Base):
    """One step of a limit request's case: filed, approved (first or final), rejected, withdrawn — who, when, the
    status before and after, and the note written with it."""

    __tablename__ = "limit_request_history"

    # A sequence, not a UUID: steps of one instant (one transaction, a frozen clock) keep the order they happened in.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("limit_requests.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(100), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(100), nullable=True)
    actor_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Invoice(Base):
    """A receivable: amount, due date and what has been paid."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("account_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What credit notes took off it (their own rows in ``credit_notes``); the open balance is amount − paid − credited.
    credited_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0), server_default="0")
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")  # open | cancelled
    cancelled_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The customer's dispute (null: never disputed); an open one keeps the invoice out of dunning and overdue signals.
    dispute_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # open | resolved
    dispute_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disputed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dispute_resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    dispute_resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    dispute_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def open_balance(self) -> Decimal:
        """What the customer still owes on it (nothing once cancelled)."""
        if self.status == "cancelled":
            return Decimal(0)
        return self.amount - self.paid_amount - self.credited_amount


class CreditNote(Base):
    """A credit note against an invoice: its own document, reducing the invoice's open balance."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("account_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """A payment received against an invoice."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A reversed payment (bounced, booked to the wrong invoice) no longer counts as paid.
    reversed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reversal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SalesOrder(Base):
    """An order not yet invoiced, with its credit check outcome (open, blocked, released, rejected, cancelled or
    closed); a reference books one order per account (null: none given)."""

    __tablename__ = "sales_orders"
    __table_args__ = (UniqueConstraint("account_id", "reference"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    expected_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The dynamic check's horizon, and the first check's figures (answered again to a retry with the reference).
    horizon: Mapped[date | None] = mapped_column(Date, nullable=True)
    check_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The credit check re-run at release (the blocking one stays in ``decision``/``reasons``).
    release_decision: Mapped[str | None] = mapped_column(String(10), nullable=True)
    release_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    # Who took it out of the open orders (closed, rejected or cancelled), when and why.
    closed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ScorecardConfig(Base):
    """The configured scorecard (one row; absent means the default)."""

    __tablename__ = "scorecard_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountGroupLink(Base):
    """Which group an account belongs to, kept from ``accounts.registered`` / ``accounts.updated`` (scoring owns the
    hierarchy; risk keeps its own copy): the newest event wins by (event time, event id)."""

    __tablename__ = "account_group_links"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    parent_account_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[str] = mapped_column(String(64))

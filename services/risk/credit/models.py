"""Credit tables: profiles, assessments, limit requests, receivables, payments, orders, the scorecard."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

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
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | approved | rejected
    previous_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    # The risk officer asked to check it (null: any risk officer but the maker).
    checker_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)


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


class Payment(Base):
    """A payment received against an invoice."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SalesOrder(Base):
    """An order not yet invoiced, with its credit check outcome (open, blocked, released or closed)."""

    __tablename__ = "sales_orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    reference: Mapped[str] = mapped_column(String(100))
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


class ScorecardConfig(Base):
    """The configured scorecard (one row; absent means the default)."""

    __tablename__ = "scorecard_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Tables of the risk service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.api import idempotency_table
from shared.db import Money, UTCDateTime, add_platform_tables, make_metadata


def new_id() -> str:
    """A fresh UUID string for primary keys."""
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class CreditProfile(Base):
    """An account's credit limit, temporary limit and current score/grade."""

    __tablename__ = "credit_profiles"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    credit_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    temporary_limit: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
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


class WarningRule(Base):
    """An early-warning rule: for a signal type, conditions on the signal value → level."""

    __tablename__ = "warning_rules"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    signal_type: Mapped[str] = mapped_column(String(40), index=True)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanTemplate(Base):
    """The contingency plan for an alert type (signal type): steps with owner and due offset."""

    __tablename__ = "plan_templates"

    signal_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IndustryPolicy(Base):
    """A policy change entered once for an industry and applied to every account in it."""

    __tablename__ = "industry_policies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    industry: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[int] = mapped_column(Integer)
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskSignal(Base):
    """An observed risk signal of one account; ``source_ref`` makes repeats of one fact idempotent."""

    __tablename__ = "risk_signals"
    __table_args__ = (UniqueConstraint("account_id", "signal_type", "source_ref"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    signal_type: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Money())
    source: Mapped[str] = mapped_column(String(20))  # manual | policy | event | job
    source_ref: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """An early-warning alert; at most one open per account and rule (``open_key`` is unique while open)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_status", "account_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36))
    rule_code: Mapped[str] = mapped_column(String(60))
    signal_type: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(300))
    open_key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    signal_count: Mapped[int] = mapped_column(Integer, default=1)
    last_signal_id: Mapped[str] = mapped_column(String(36))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_signal_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mitigating_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ActionItem(Base):
    """One step of a contingency plan instantiated for an alert."""

    __tablename__ = "action_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    owner_role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # open | done
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class Contract(Base):
    """A contract with its clause checklist and review status."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    contract_type: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    auto_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    clauses: Mapped[dict[str, bool]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContractReview(Base):
    """One step of a contract's review workflow with the reviewer's note."""

    __tablename__ = "contract_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reviewer_id: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContractReminder(Base):
    """An expiry reminder sent for a contract (90, 60 or 30 days before its end)."""

    __tablename__ = "contract_reminders"

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonthlyRevenue(Base):
    """Monthly revenue totals per account (from ``goals.actuals_recorded``)."""

    __tablename__ = "monthly_revenue"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True, index=True)
    revenue: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

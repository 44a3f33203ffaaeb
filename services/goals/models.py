"""Tables of the goals service."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.api import idempotency_table
from shared.db import Money, UTCDateTime, add_platform_tables, make_metadata


class Base(DeclarativeBase):
    """Declarative base with the house naming convention."""

    metadata = make_metadata()


platform = add_platform_tables(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)


class Target(Base):
    """A target for an account (or an account manager's team) in one period, possibly split from a parent."""

    __tablename__ = "targets"
    __table_args__ = (
        Index("ix_targets_account_period", "account_id", "period"),
        Index("ix_targets_owner_period", "owner_id", "period"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # "account" | "team"
    account_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(100))  # team targets: the account manager
    metric: Mapped[str] = mapped_column(String(40))
    custom_metric: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(7))
    period_kind: Mapped[str] = mapped_column(String(10))
    product_line: Mapped[str | None] = mapped_column(String(100))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("targets.id"), index=True)
    split_method: Mapped[str | None] = mapped_column(String(20))  # how this target's children were made
    split_by: Mapped[str | None] = mapped_column(String(20))  # "period" | "product_line"
    target_value: Mapped[Decimal] = mapped_column(Money())
    stretch_value: Mapped[Decimal | None] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(10), default="draft")  # "draft" | "approved"
    manual_actual: Mapped[Decimal | None] = mapped_column(Money())
    note: Mapped[str | None] = mapped_column(Text)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    achieved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_actual: Mapped[Decimal | None] = mapped_column(Money())
    last_forecast: Mapped[Decimal | None] = mapped_column(Money())
    created_by: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ActionItem(Base):
    """An executable step under a target."""

    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_status_due", "status", "due_date"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(String(100))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    expected_impact: Mapped[Decimal | None] = mapped_column(Money())
    linked_metric: Mapped[str | None] = mapped_column(String(40))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class SalesRecord(Base):
    """One sales line (from the API or a CSV import)."""

    __tablename__ = "sales_records"
    # One index only: every extra B-tree slows the bulk import (batches find their rows by scanning, rarely).
    __table_args__ = (Index("ix_sales_records_account_month", "account_id", "month"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(36))
    sale_date: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))
    product_line: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[Decimal | None] = mapped_column(Money())
    revenue: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())
    batch_id: Mapped[str | None] = mapped_column(String(100))
    line_no: Mapped[int | None] = mapped_column(Integer)


class ImportBatch(Base):
    """A CSV import job: its progress and outcome (the batch id makes re-imports no-ops)."""

    __tablename__ = "import_batches"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # "running" | "completed" | "failed"
    filename: Mapped[str | None] = mapped_column(String(300))
    encoding: Mapped[str | None] = mapped_column(String(20))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    account_months: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportRejection(Base):
    """A row of an import that was refused, with its line number and why."""

    __tablename__ = "import_rejections"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(100), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)


class RiskAlert(Base):
    """Risk alerts per account (from ``risk.alert_raised`` / ``risk.alert_cleared``); red ones flag targets."""

    __tablename__ = "risk_alerts"

    alert_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    level: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)


class ComplaintFact(Base):
    """What the scorecards need of a complaint: first response within SLA and satisfaction."""

    __tablename__ = "complaint_facts"

    complaint_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    within_sla: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)

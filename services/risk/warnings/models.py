"""Early-warning tables: rules, plan templates, industry policies, signals, alerts, action items, revenue."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.risk.models import Base, new_id
from shared.db import Money, UTCDateTime


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
    # Sales drop: the least the comparison base must be (in the base currency) for a drop to count (null: none).
    min_amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)


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
    # Who looks after the alert (null: the account's team); a known, active worker who sees the account.
    owner_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # What the alert is about below the account (a contract id for contract expiry; null: the account).
    subject_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # When a higher level last re-opened an acknowledged or mitigating alert for attention.
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the cause was found gone for a signal type that is proposed (not auto-)cleared, and why.
    clear_proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clear_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


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
    # When ``risk.action_item_overdue`` was published for the current due time (null: not yet).
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # What was done, as its owner wrote on completing it.
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class MonthlyRevenue(Base):
    """Monthly revenue totals per account (from ``goals.actuals_recorded``)."""

    __tablename__ = "monthly_revenue"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True, index=True)
    revenue: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConcentrationState(Base):
    """The one row saying the revenue shares are stale since when (null: evaluated since the last total came in):
    on a large portfolio, totals that arrive only mark it, and the concentration job evaluates the shares once
    for all of them (``revenue.refresh_stale_concentration``)."""

    __tablename__ = "concentration_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertHistory(Base):
    """One step of an alert's case: raised, escalated, acknowledged, mitigating, cleared, assigned — who (null: the
    service itself), when, from/to (a status, a level or an owner) and the note written with it."""

    __tablename__ = "alert_history"

    # A sequence, not a UUID: steps of one instant (one transaction, a frozen clock) keep the order they happened in.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(100), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(100), nullable=True)
    actor_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

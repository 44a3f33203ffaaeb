"""Tables of the targets sub-domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base, FxRateNumeric
from shared.db import Money, UTCDateTime


class Target(Base):
    """A target for an account (or an account manager's team) in one period, possibly split from a parent."""

    __tablename__ = "targets"
    __table_args__ = (
        Index("ix_targets_account_period", "account_id", "period"),
        Index("ix_targets_owner_period", "owner_id", "period"),
        # One live target per account (or team), metric, period and product line: cancelled ones keep no key.
        Index("uq_targets_dedup_key", "dedup_key", unique=True),
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
    currency: Mapped[str] = mapped_column(String(3), default="CNY")  # the account's reporting currency
    # Given in another currency: what was given and the dated rate it was converted with.
    original_currency: Mapped[str | None] = mapped_column(String(3))
    original_target_value: Mapped[Decimal | None] = mapped_column(Money())
    original_stretch_value: Mapped[Decimal | None] = mapped_column(Money())
    fx_rate: Mapped[Decimal | None] = mapped_column(FxRateNumeric())
    fx_rate_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # "draft" | "approved" | "cancelled"
    # scope|account|owner|metric|custom metric|period|product line while not cancelled (null once cancelled).
    dedup_key: Mapped[str | None] = mapped_column(String(420))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    manual_actual: Mapped[Decimal | None] = mapped_column(Money())
    note: Mapped[str | None] = mapped_column(Text)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    achieved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the period was found over without the target achieved (goals.target_missed published once).
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_actual: Mapped[Decimal | None] = mapped_column(Money())
    last_forecast: Mapped[Decimal | None] = mapped_column(Money())
    created_by: Mapped[str] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

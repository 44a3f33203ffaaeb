"""Tables of scores and tiers: features kept from events, model versions, scores, overrides, tier history, jobs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.scoring.models import Base
from shared.db import Money, UTCDateTime


class MonthlyActual(Base):
    """One account's totals for one month, as last reported by goals (replaced, never added).

    The latest report wins by (``reported_at``, ``report_id``), so the order in which reports arrive never matters.
    """

    __tablename__ = "monthly_actuals"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Money())
    cost: Mapped[Decimal] = mapped_column(Money())
    gross_profit: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="CNY", server_default="CNY")
    by_product_line: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    report_id: Mapped[str | None] = mapped_column(String(36))


class ComplaintFeedback(Base):
    """Satisfaction of a closed complaint and how often it was escalated."""

    __tablename__ = "complaint_feedback"

    complaint_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    last_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyResult(Base):
    """One answered satisfaction survey of an account (``complaints.survey_answered``): NPS 0–10 and/or CSAT 1–5."""

    __tablename__ = "survey_results"

    survey_request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    contact_level: Mapped[str | None] = mapped_column(String(20))
    nps: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_by: Mapped[str] = mapped_column(String(20))


class AccountFeatures(Base):
    """Measured inputs of the score, derived from events (actuals, complaints, credit) and engagement."""

    __tablename__ = "account_features"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    annual_purchases: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    annual_profit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    previous_year_purchases: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    active_months: Mapped[int] = mapped_column(Integer, default=0)
    product_lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The satisfaction indicator (1–5): closed complaints' ratings and survey answers of the window together;
    # ``satisfaction_count`` counts the complaints, the parts are kept to explain the value.
    satisfaction_avg: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    satisfaction_count: Mapped[int] = mapped_column(Integer, default=0)
    complaint_satisfaction_avg: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    survey_satisfaction_avg: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    survey_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    credit_grade: Mapped[str | None] = mapped_column(String(1))
    credit_assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    highest_contact_level: Mapped[int] = mapped_column(Integer, default=0)
    # The business month the windowed features (purchases, profit, stability, lines, escalations) end with.
    window_period: Mapped[str | None] = mapped_column(String(7), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoringModelVersion(Base):
    """A versioned scoring model: indicators, normalisation, weights and tier policy (draft → published)."""

    __tablename__ = "scoring_models"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every change of the row (its ETag); a rollback's copy names the version it re-published.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    copied_from: Mapped[int | None] = mapped_column(Integer)


class AccountScore(Base):
    """The latest explained score of an account: dimensions and every indicator's contribution."""

    __tablename__ = "account_scores"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_version: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_tier: Mapped[str] = mapped_column(String(20))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TierOverride(Base):
    """A manual tier with reason, approver and optional expiry (audited: never deleted)."""

    __tablename__ = "tier_overrides"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    end_reason: Mapped[str | None] = mapped_column(String(30))


class TierChange(Base):
    """One change of an account's effective tier and why."""

    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_account_changed", "account_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(36))
    old_tier: Mapped[str | None] = mapped_column(String(20))
    new_tier: Mapped[str] = mapped_column(String(20))
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    reason: Mapped[str] = mapped_column(Text)
    model_version: Mapped[int | None] = mapped_column(Integer)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RescoreJob(Base):
    """A full re-score run with visible progress."""

    __tablename__ = "rescore_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    tier_changes: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class PortfolioState(Base):
    """What the stored scores of the whole portfolio were computed for: the model version and business date.

    One row. Every scoring write locks it, so concurrent scoring keeps one order; ``generation`` counts the
    writes, so a full re-score job can tell that events re-scored accounts while it ran.
    """

    __tablename__ = "portfolio_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    model_version: Mapped[int | None] = mapped_column(Integer)
    scored_on: Mapped[date | None] = mapped_column(Date)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

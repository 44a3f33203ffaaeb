"""Tables of the forecasts sub-domain: the account managers' submissions and the supervisors' adjustments (every
one kept: a new submission or adjustment supersedes, never overwrites)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base
from shared.db import Money, UTCDateTime


class ForecastSubmission(Base):
    """A person's commit / best case / pipeline for a quarter or a year, as submitted in one month (``revision``:
    the n-th submission of that month; the newest of the month is the month's forecast, the newest of all the
    person's forecast in force)."""

    __tablename__ = "forecast_submissions"
    __table_args__ = (
        UniqueConstraint("owner_id", "period", "month", "revision"),
        Index("ix_forecast_submissions_period_month", "period", "month"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(10))  # "2026-Q3" or "2026"
    month: Mapped[str] = mapped_column(String(7))  # the business month it was submitted in
    revision: Mapped[int] = mapped_column(Integer)
    commit_amount: Mapped[Decimal] = mapped_column(Money())
    best_case_amount: Mapped[Decimal] = mapped_column(Money())
    pipeline_amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))  # the reporting currency of the person's book
    note: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(100))  # the person, or a supervisor on their behalf
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded_by: Mapped[str | None] = mapped_column(String(36))  # the next submission for the person's period
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ForecastAdjustment(Base):
    """A supervisor's adjusted figures of a submission, with the reason (null: that figure is not adjusted); the
    newest revision is the one in force, the earlier stay in the history."""

    __tablename__ = "forecast_adjustments"
    __table_args__ = (UniqueConstraint("submission_id", "revision"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("forecast_submissions.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    commit_amount: Mapped[Decimal | None] = mapped_column(Money())
    best_case_amount: Mapped[Decimal | None] = mapped_column(Money())
    pipeline_amount: Mapped[Decimal | None] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(Text)
    adjusted_by: Mapped[str] = mapped_column(String(100))
    adjusted_at: Mapped[datetime] = mapped_column(UTCDateTime)

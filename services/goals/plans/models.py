"""Tables of the account-plan sub-domain: plans, their approved versions, review dates, and the contacts
projection the relationship map reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base
from shared.db import UTCDateTime


class AccountPlan(Base):
    """An account's plan for one year: the working version's content and where it stands."""

    __tablename__ = "account_plans"
    __table_args__ = (UniqueConstraint("account_id", "year"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3))  # the account's reporting currency when the plan was made
    status: Mapped[str] = mapped_column(String(20))  # draft | submitted | approved | archived
    plan_version: Mapped[int] = mapped_column(Integer, default=1)  # the working version's number
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the row version (ETag)


class AccountPlanVersion(Base):
    """An approved version of a plan, kept unchanged when the plan is revised (history)."""

    __tablename__ = "account_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "plan_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("account_plans.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountPlanReview(Base):
    """A review date of a plan's working version (kept beside the content so that due reviews can be queried)."""

    __tablename__ = "account_plan_reviews"
    __table_args__ = (Index("ix_account_plan_reviews_review_on", "review_on"),)

    plan_id: Mapped[str] = mapped_column(ForeignKey("account_plans.id"), primary_key=True)
    review_on: Mapped[date] = mapped_column(Date, primary_key=True)


class AccountContact(Base):
    """A contact at the customer, from scoring's ``accounts.contact_changed`` (the relationship map reads it)."""

    __tablename__ = "account_contacts"

    contact_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)

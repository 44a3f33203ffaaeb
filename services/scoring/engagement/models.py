"""Tables of layered engagement: the engagement log, the cadence policy per tier and level, and the overdue notices
published (``accounts.engagement_overdue``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.scoring.models import Base
from shared.db import UTCDateTime


class Engagement(Base):
    """A logged dialogue with the customer: visit, executive meeting or business review at one level."""

    __tablename__ = "engagements"
    __table_args__ = (
        Index("ix_engagements_account_level_date", "account_id", "level", "occurred_on"),
        Index("ix_engagements_status_planned_on", "status", "planned_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(20))
    # ``held``: it took place on ``occurred_on`` (what the cadence counts); ``planned``: due on ``planned_on``, no
    # ``occurred_on`` yet (so every max(occurred_on) of the cadence ignores it), overdue once that day has passed.
    status: Mapped[str] = mapped_column(String(20), default="held", server_default="held")
    occurred_on: Mapped[date | None] = mapped_column(Date)
    planned_on: Mapped[date | None] = mapped_column(Date)
    participants: Mapped[list[str]] = mapped_column(JSON, default=list)  # the customer's people (names)
    our_participant_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")  # our users
    # The account's contacts who took part (ids of ``contacts`` of the same account).
    participant_contact_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    notes: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_due_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The level as an account manager reported it counts for the score once a KA supervisor confirmed it
    # (services.scoring.contacts.level_review): ``confirmed`` (a supervisor's own entries at once), ``pending``,
    # ``rejected``; who reported the level last, who decided and why.
    level_review: Mapped[str] = mapped_column(String(20), default="confirmed", server_default="confirmed")
    level_reported_by: Mapped[str | None] = mapped_column(String(100))
    level_reviewed_by: Mapped[str | None] = mapped_column(String(100))
    level_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level_review_note: Mapped[str | None] = mapped_column(Text)


class CadenceRule(Base):
    """How often an account of a tier needs a contact at a level."""

    __tablename__ = "cadence_rules"

    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    every_days: Mapped[int] = mapped_column(Integer)


class EngagementOverdueNotice(Base):
    """The latest ``accounts.engagement_overdue`` published for an account and contact level, and the period it was
    for: the one since ``last_engaged_on`` (None: never contacted at that level). A period is announced once; a new
    engagement at the level starts the next one."""

    __tablename__ = "engagement_overdue_notices"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    contact_level: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_engaged_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # when the level fell due (never contacted: the registration date)
    days_overdue: Mapped[int] = mapped_column(Integer)  # as published
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)

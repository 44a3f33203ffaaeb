"""Tables of satisfaction surveys: templates (versioned), schedules, the contacts projection, requests with their
hashed links, answers and the follow-ups low scores raise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.complaints.models import Base
from shared.db import UTCDateTime


class SurveyTemplate(Base):
    """One version of a survey template: bilingual questions (NPS 0–10, CSAT 1–5, free text)."""

    __tablename__ = "survey_templates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(50), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("code", "version", name="uq_survey_templates_code_version"),)


class SurveySchedule(Base):
    """Which accounts (tier) and contacts (level) get which template how often (cadence)."""

    __tablename__ = "survey_schedules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20), index=True)
    contact_level: Mapped[str] = mapped_column(String(20))
    cadence: Mapped[str] = mapped_column(String(30))
    template_code: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyContact(Base):
    """A contact at the customer as scoring announced it (``accounts.contact_changed``): who may be surveyed."""

    __tablename__ = "survey_contacts"

    contact_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyRequest(Base):
    """One survey asked of one contact (or a complaint's revisit), reached by a single-use, expiring link.

    Only the SHA-256 of the link's token is kept; ``dedupe_key`` makes a schedule's generation idempotent (one
    request per contact per schedule per period; one revisit request per resolution).
    """

    __tablename__ = "survey_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[str] = mapped_column(String(36))
    schedule_id: Mapped[str | None] = mapped_column(String(36), index=True)
    complaint_id: Mapped[str | None] = mapped_column(String(36), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(36))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_level: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(60))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (Index("ix_survey_requests_account_state", "account_id", "state"),)


class SurveyAnswer(Base):
    """The answer to one request: the NPS and CSAT read from it, every answer by question, and whether it is low."""

    __tablename__ = "survey_answers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    template_id: Mapped[str] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    contact_level: Mapped[str | None] = mapped_column(String(20))
    nps: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[int | None] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_by: Mapped[str] = mapped_column(String(20))
    entered_by: Mapped[str | None] = mapped_column(String(100))
    low_score: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyFollowUp(Base):
    """The follow-up a low score raises: a task for the account's owner (open → done)."""

    __tablename__ = "survey_follow_ups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    answer_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)

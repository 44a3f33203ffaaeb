"""Tables of intake and SLA: the complaint with its stored timers, its timeline, pauses, escalations, revisits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.complaints.models import Base
from services.complaints.reference.models import Category
from shared.db import UTCDateTime


class Complaint(Base):
    """A complaint against an account, with its one owner, state and stored SLA timers."""

    __tablename__ = "complaints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    # Given at intake instead of a severity (the severity matrix derived it), kept with it; None otherwise.
    impact: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(20))
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_contact: Mapped[str | None] = mapped_column(String(200))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(30), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(100), index=True)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The policy in force: the account's tier when last computed (``default`` when it has none).
    policy_tier: Mapped[str] = mapped_column(String(30))
    # The conditions of the policy in force beyond tier × severity (``*``: it did not narrow on them).
    policy_category: Mapped[str] = mapped_column(String(50), default="*", server_default="*")
    policy_channel: Mapped[str] = mapped_column(String(30), default="*", server_default="*")
    hours_mode: Mapped[str] = mapped_column(String(20))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    first_response_within_sla: Mapped[bool | None]
    resolution_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_within_sla: Mapped[bool | None]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every leg of a reopened case (opened or reopened → resolved): how many were resolved, how many within the
    # SLA, and their minutes summed (paused time excluded) — what MTTR and SLA compliance count.
    resolution_legs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolution_legs_met: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolution_minutes_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    waived: Mapped[bool] = mapped_column(default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # Stored timers, recomputed on policy or tier changes and on pauses; the SLA job compares them with the clock.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_warning_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolution_warning_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    update_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    update_warning_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_customer_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused: Mapped[bool] = mapped_column(default=False)
    first_response_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    update_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    update_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The revisit timer: set on resolution, cleared on a reopen; ``revisit_notified_at`` marks the one
    # ``complaints.revisit_due`` published for this resolution.
    revisit_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revisit_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    root_cause_category: Mapped[str | None] = mapped_column(String(50))
    root_cause_description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_complaints_account_state", "account_id", "state"),)

    # The taxonomy entry (its labels and parent), loaded with the complaint for every read.
    category_entry: Mapped[Category | None] = relationship(
        Category, primaryjoin="foreign(Complaint.category) == Category.code", viewonly=True, lazy="selectin"
    )


class TimelineEntry(Base):
    """One action on a complaint; ``visibility`` separates internal notes from customer-visible updates."""

    __tablename__ = "timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    visibility: Mapped[str] = mapped_column(String(20), default="internal")
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PauseRecord(Base):
    """A stop of the SLA clock while waiting on the customer, with its logged reason."""

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(100))


class Escalation(Base):
    """One rung of the ladder reached (at most once per level)."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    escalated_to: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("complaint_id", "level", name="uq_escalations_complaint_level"),)


class Revisit(Base):
    """A revisit after resolution: satisfaction 1–5 with a comment, or a waiver with its reason."""

    __tablename__ = "revisits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(100))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    waived: Mapped[bool] = mapped_column(default=False)
    waiver_reason: Mapped[str | None] = mapped_column(Text)
    # Who gave it: the owner entering it (``owner``) or the customer through a revisit survey link (``customer``).
    answered_by: Mapped[str] = mapped_column(String(20), default="owner", server_default="owner")


class AttachmentFile(Base):
    """A file uploaded to a complaint (kept in the database; size-limited, its content type from an allow-list)."""

    __tablename__ = "attachment_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

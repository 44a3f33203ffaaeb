"""Tables of the cross-department project sub-domain: projects and their departments' parts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base
from shared.db import UTCDateTime


class CrossProject(Base):
    """A customer's new project that needs several departments (the project header)."""

    __tablename__ = "cross_projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    customer_project: Mapped[str | None] = mapped_column(String(300))  # the customer's name for the project
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ProjectPart(Base):
    """One department's part of a project: its owner, due date, status and acceptance."""

    __tablename__ = "project_parts"
    __table_args__ = (
        Index("ix_project_parts_owner_status", "owner_id", "status"),
        Index("ix_project_parts_status_due", "status", "due_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("cross_projects.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    department: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    acceptance_note: Mapped[str | None] = mapped_column(Text)
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When goals.project_part_overdue was published for the current due date (null: not yet); a new due date
    # clears it.
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

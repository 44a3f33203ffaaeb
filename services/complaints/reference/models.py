"""Tables of the reference data: the taxonomy, the severity matrix, the SLA policies and the escalation ladders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.complaints.models import Base
from shared.db import Money, UTCDateTime


class Category(Base):
    """One entry of the complaint taxonomy (中文 and English labels)."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A sub-category names its top-level category (one level deep); None for a top-level category.
    parent_code: Mapped[str | None] = mapped_column(String(50))
    parent: Mapped[Category | None] = relationship(
        "Category",
        primaryjoin="foreign(Category.parent_code) == Category.code",
        remote_side="Category.code",
        viewonly=True,
        lazy="selectin",
        join_depth=1,  # self-referential: load the parent one level up
    )


# A policy condition that matches anything (the category or channel of a policy that does not narrow on it).
ANY = "*"


class SlaPolicy(Base):
    """SLA targets for one account tier (``default`` when none) and severity, optionally narrowed to a category
    and a channel (``*``: any); the most specific matching policy governs a complaint."""

    __tablename__ = "sla_policies"

    tier: Mapped[str] = mapped_column(String(30), primary_key=True)
    severity: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(50), primary_key=True, default=ANY, server_default=ANY)
    channel: Mapped[str] = mapped_column(String(30), primary_key=True, default=ANY, server_default=ANY)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    update_interval_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    hours_mode: Mapped[str] = mapped_column(String(20), default="calendar")
    warning_ratio: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.75"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class SeverityMatrix(Base):
    """The severity matrix: impact × urgency → severity (``cells`` maps ``"impact/urgency"`` to a severity)."""

    __tablename__ = "severity_matrices"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    cells: Mapped[dict[str, str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class EscalationLadder(Base):
    """The escalation ladder above the owner for one tier (``default`` for the rest): rungs of a named user
    (``{"user_id": …}``) or a role (``{"role": …}``), level 1 first."""

    __tablename__ = "escalation_ladders"

    tier: Mapped[str] = mapped_column(String(30), primary_key=True)
    rungs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))

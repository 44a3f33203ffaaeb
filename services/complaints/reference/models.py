"""Tables of the reference data: the complaint taxonomy and the SLA policies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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


class SlaPolicy(Base):
    """SLA targets for one account tier (``default`` when none) and severity."""

    __tablename__ = "sla_policies"

    tier: Mapped[str] = mapped_column(String(30), primary_key=True)
    severity: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    update_interval_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    hours_mode: Mapped[str] = mapped_column(String(20), default="calendar")
    warning_ratio: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.75"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))

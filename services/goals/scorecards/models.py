"""Tables of the scorecards sub-domain: the scheme of each role, the supervisor's ratings of qualitative KPIs,
and signed-off scorecards (frozen versions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base
from shared.db import UTCDateTime


class ScorecardScheme(Base):
    """The components of a role's scorecard: ``[{key, kind, label, weight, cap}]`` (weights add up to 100)."""

    __tablename__ = "scorecard_schemes"

    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ScorecardRating(Base):
    """The supervisor's rating (0–100, with a comment) of a person's qualitative KPI in a period."""

    __tablename__ = "scorecard_ratings"
    __table_args__ = (UniqueConstraint("person_id", "period", "component"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(10))
    component: Mapped[str] = mapped_column(String(60))
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    comment: Mapped[str] = mapped_column(Text)
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScorecardSignoff(Base):
    """A person's scorecard of a period as the supervisor signed it off: frozen (later data changes nothing);
    signing off again makes the next version."""

    __tablename__ = "scorecard_signoffs"
    __table_args__ = (UniqueConstraint("person_id", "period", "card_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(100), index=True)
    period: Mapped[str] = mapped_column(String(10))
    card_version: Mapped[int] = mapped_column(Integer)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Tables of the catalogue: seasonal templates and product lines kept through the API (over the settings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.goals.models import Base
from shared.db import UTCDateTime


class SeasonalTemplate(Base):
    """A seasonal template set through the API: 12 monthly weights (first fiscal month first); one named like a
    template of the setting ``seasonal_templates`` replaces it."""

    __tablename__ = "seasonal_templates"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    weights: Mapped[list[Any]] = mapped_column(JSON)  # 12 decimal strings
    description: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ProductLine(Base):
    """A product line set through the API: a new one, or one of the setting ``product_lines`` described or retired
    (``active`` false: no longer offered)."""

    __tablename__ = "product_lines"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CatalogueAnnouncement(Base):
    """The product catalogue as last announced (``goals.catalogue_changed``): its fingerprint, so that a start-up
    announces it again only when it changed meanwhile (e.g. the setting ``product_lines``)."""

    __tablename__ = "catalogue_announcements"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # "product_lines"
    fingerprint: Mapped[str] = mapped_column(String(64))
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Tables of the playbook: the stored strategy settings (quadrant configuration, rule table) and the product
catalogue projected from goals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.scoring.models import Base
from shared.db import UTCDateTime


class StrategySetting(Base):
    """A stored strategy document: ``quadrant`` (axes, cut-offs, signals) or ``rules`` (the rule table); without a
    row the defaults apply (version 0)."""

    __tablename__ = "strategy_settings"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProductCatalogue(Base):
    """The product catalogue as goals last announced it (``goals.catalogue_changed``; the newest event wins by
    event time, then id)."""

    __tablename__ = "product_catalogue"

    source: Mapped[str] = mapped_column(String(20), primary_key=True)  # "goals"
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"name", "active", "description"}]
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

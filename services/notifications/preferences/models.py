"""Tables of preferences: one row per user who changed the defaults."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from services.notifications.models import Base
from shared.db import UTCDateTime


class Preference(Base):
    """A user's language, channels per kind, quiet hours (company zone) and digest time."""

    __tablename__ = "preferences"

    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    language: Mapped[str] = mapped_column(String(10))
    channels: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)  # kind or "*" → channels
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    digest_time: Mapped[time | None] = mapped_column(Time)  # None: the service's digest time
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

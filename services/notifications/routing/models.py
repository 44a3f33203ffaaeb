"""Tables of routing: the rules an admin changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.notifications.models import Base
from shared.db import UTCDateTime


class RoutingRule(Base):
    """Event kind × tier × level → recipients and channels. Every enabled rule that matches contributes."""

    __tablename__ = "routing_rules"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    event_kind: Mapped[str] = mapped_column(String(100), index=True)  # an event type, or "*" for every kind
    tiers: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any tier (and none)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any level (and none)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    critical: Mapped[bool | None] = mapped_column(Boolean)  # None: as the kind says (breach, red alert …)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)  # seeded default: may be disabled, not deleted
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")

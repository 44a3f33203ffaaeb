"""Tables of group robots: a WeCom, DingTalk or Feishu robot bound to an account, a team or everyone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.notifications.models import Base
from shared.db import UTCDateTime


class RobotChannel(Base):
    """A group robot's webhook (its URL carries the robot's key) and, for DingTalk and Feishu, its signing secret."""

    __tablename__ = "robot_channels"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(20))  # wecom, dingtalk or feishu
    webhook_url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(20))  # account, team or all
    scope_id: Mapped[str | None] = mapped_column(String(60), index=True)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # event kinds, or ["*"]
    language: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

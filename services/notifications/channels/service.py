"""One attempt of a claimed delivery on its channel: the email built and handed to SMTP, the webhook signed and
posted, the robot message formatted (and signed) and posted. No database work here."""

from __future__ import annotations

from datetime import datetime

import httpx

from services.notifications.config import NotificationsSettings
from services.notifications.delivery.schemas import ROBOT_CHANNELS, Claimed, SendOutcome
from services.notifications.mail.service import build_email, send_email
from services.notifications.robots.service import post_robot
from services.notifications.webhooks.service import post_webhook

EMAIL, WEBHOOK = "email", "webhook"


async def send_claimed(
    claimed: Claimed, *, settings: NotificationsSettings, client: httpx.AsyncClient, now: datetime
) -> SendOutcome:
    """One attempt on the delivery's channel (no database work here)."""
    if claimed.channel == EMAIL:
        mail = build_email(
            message=claimed.message,
            sender=settings.smtp_from,
            to_name=claimed.to_name,
            to_address=claimed.target,
            message_id=claimed.delivery_id,
            now=now,
        )
        return await send_email(mail, settings=settings)
    if claimed.channel == WEBHOOK:
        subscription = claimed.subscription
        if subscription is None or not subscription.enabled:
            return SendOutcome(ok=False, error="the webhook subscription is gone or disabled", permanent=True)
        return await post_webhook(
            client,
            subscription=subscription,
            payload=claimed.payload,
            delivery_id=claimed.delivery_id,
            kind=claimed.kind,
            now=now,
        )
    if claimed.channel in ROBOT_CHANNELS:
        if claimed.robot is None or not claimed.robot.enabled:
            return SendOutcome(ok=False, error="the robot is gone or disabled", permanent=True)
        return await post_robot(
            client, robot=claimed.robot, message=claimed.message, mentions=claimed.mentions, now=now
        )
    return SendOutcome(ok=False, error=f"no sender for channel {claimed.channel}", permanent=True)

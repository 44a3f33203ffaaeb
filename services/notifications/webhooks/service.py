"""Webhook subscriptions: kept by admins; the signature (pure), the payload, and posting a delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.audit import AuditedKind, fingerprint
from services.notifications.delivery.schemas import SendOutcome
from services.notifications.memo import WEBHOOKS_KEY, remembered
from services.notifications.robots.service import masked_url
from services.notifications.webhooks.models import WebhookSubscription
from services.notifications.webhooks.schemas import TestDeliveryResult, WebhookCreate, WebhookUpdate
from shared.auth import Principal

ANY_KIND = "*"
SIGNATURE_HEADER = "X-KAM-Signature"
TIMESTAMP_HEADER = "X-KAM-Timestamp"
DELIVERY_HEADER = "X-KAM-Delivery"
EVENT_HEADER = "X-KAM-Event"
USER_AGENT = "KAM-Notifications/1.0"


# ---------------------------------------------------------------- signature and body (pure)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 over ``"{timestamp}." + body`` (the receiver recomputes and compares)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str, *, now: float, tolerance: int) -> bool:
    """What a receiver does: the signature matches and the timestamp is within ``tolerance`` seconds of now."""
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode_body(payload: dict[str, Any]) -> bytes:
    """The JSON body exactly as sent and signed (UTF-8, Chinese kept as is)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


def signed_headers(*, secret: str, body: bytes, delivery_id: str, kind: str, now: datetime) -> dict[str, str]:
    """The headers of one delivery: who, what, when, and the signature over timestamp and body."""
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: kind,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


async def post_webhook(
    client: httpx.AsyncClient,
    *,
    subscription: WebhookSubscription,
    payload: dict[str, Any],
    delivery_id: str,
    kind: str,
    now: datetime,
) -> SendOutcome:
    """Post one signed delivery; any 2xx is success, anything else is retried (redirects are not followed)."""
    body = encode_body(payload)
    headers = signed_headers(secret=subscription.secret, body=body, delivery_id=delivery_id, kind=kind, now=now)
    try:
        response = await client.post(subscription.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return SendOutcome(ok=True, status_code=response.status_code)
    return SendOutcome(
        ok=False,
        status_code=response.status_code,
        error=f"HTTP {response.status_code}: {response.text[:200]}",
        retry_after=retry_after_seconds(response.headers.get("retry-after"), now),
    )


async def send_test_delivery(
    client: httpx.AsyncClient, *, subscription: WebhookSubscription, actor: Principal, now: datetime
) -> TestDeliveryResult:
    """Send a signed ``notifications.test`` delivery at once (not queued) and report the answer."""
    delivery_id = f"test-{uuid.uuid4()}"
    payload = {
        "delivery_id": delivery_id,
        "kind": "notifications.test",
        "subject": "KA 平台 webhook 测试 / test delivery",
        "requested_by": actor.user_id,
        "sent_at": now.isoformat(),
    }
    started = time.monotonic()
    outcome = await post_webhook(
        client, subscription=subscription, payload=payload, delivery_id=delivery_id, kind="notifications.test", now=now
    )
    return TestDeliveryResult(
        delivery_id=delivery_id,
        ok=outcome.ok,
        status_code=outcome.status_code,
        duration_ms=int((time.monotonic() - started) * 1000),
        error=outcome.error,
        signature_header=SIGNATURE_HEADER,
    )


# ---------------------------------------------------------------- subscriptions as data


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    """Every subscription, by name."""
    return list((await session.execute(select(WebhookSubscription).order_by(WebhookSubscription.name))).scalars())


async def create_subscription(
    session: AsyncSession, *, body: WebhookCreate, actor: Principal, now: datetime
) -> WebhookSubscription:
    """A new subscription (a secret is generated when the body brings none)."""
    values = body.model_dump()
    values["secret"] = body.secret or "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        id=str(uuid.uuid4()), **values, version=1, created_by=actor.user_id[:100], created_at=now, updated_at=now
    )
    session.add(subscription)
    await session.flush()
    await WEBHOOK_AUDIT.created(session, subscription, actor=actor, now=now)
    return subscription


def _audited(subscription: WebhookSubscription) -> dict[str, Any]:
    """What an audit entry keeps of a subscription (its address masked, its secret as a fingerprint)."""
    return {
        "name": subscription.name,
        "url": masked_url(subscription.url),
        "kinds": list(subscription.kinds),
        "tiers": list(subscription.tiers or []),
        "enabled": subscription.enabled,
        "secret": fingerprint(subscription.secret),
    }


WEBHOOK_AUDIT = AuditedKind[WebhookSubscription]("webhook", lambda subscription: subscription.id, _audited)


async def update_subscription(
    session: AsyncSession, *, subscription: WebhookSubscription, body: WebhookUpdate, actor: Principal, now: datetime
) -> WebhookSubscription:
    """Change a subscription (audited)."""
    before = WEBHOOK_AUDIT.state(subscription)
    for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(subscription, name, value)
    subscription.version += 1
    subscription.updated_at = now
    await session.flush()
    await WEBHOOK_AUDIT.updated(session, subscription, before=before, actor=actor, now=now)
    return subscription


async def delete_subscription(
    session: AsyncSession, *, subscription: WebhookSubscription, actor: Principal, now: datetime
) -> None:
    """Remove a subscription (its queued deliveries fail and are dead-lettered; audited)."""
    await WEBHOOK_AUDIT.deleted(session, subscription, actor=actor, now=now)
    await session.delete(subscription)
    await session.flush()


async def subscriptions_for(session: AsyncSession, *, kind: str, tier: str | None) -> list[WebhookSubscription]:
    """The enabled subscriptions that want this kind (and this tier, when they name tiers)."""
    query = select(WebhookSubscription).where(WebhookSubscription.enabled.is_(True)).order_by(WebhookSubscription.id)

    async def load() -> list[WebhookSubscription]:
        return list((await session.execute(query)).scalars())

    rows = await remembered(session, WEBHOOKS_KEY, load)
    return [
        s
        for s in rows
        if (ANY_KIND in s.kinds or kind in s.kinds) and (not s.tiers or (tier is not None and tier in s.tiers))
    ]

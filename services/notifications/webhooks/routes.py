"""HTTP routes of webhook subscriptions (admin): subscriptions, a test delivery, replaying dead deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.notifications.delivery_log.schemas import DeliveryFilters, ReplayResult
from services.notifications.delivery_log.service import replay_dead
from services.notifications.deps import Admin, HttpClientDep, WebhookForAdmin
from services.notifications.webhooks import service
from services.notifications.webhooks.schemas import (
    TestDeliveryResult,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(
    prefix="/notifications/admin/webhooks", tags=["notifications: webhooks"], responses=PROBLEM_RESPONSES
)


@router.get("", summary="Webhook subscriptions")
async def list_webhooks(_: Admin, session: SessionDep) -> list[WebhookRead]:
    """Every subscription (secrets are shown only when created)."""
    return [WebhookRead.model_validate(s) for s in await service.list_subscriptions(session)]


@router.get("/{webhook_id}", summary="One webhook subscription")
async def get_webhook(subscription: WebhookForAdmin, response: Response) -> WebhookRead:
    """A subscription with its version as ETag."""
    set_etag(response, subscription.version)
    return WebhookRead.model_validate(subscription)


@router.post("", status_code=201, summary="Subscribe an endpoint to event kinds", response_model=WebhookCreated)
async def create_webhook(actor: Admin, body: WebhookCreate, session: SessionDep, clock: ClockDep) -> WebhookCreated:
    """A subscription; the response carries its signing secret, once (accepts ``Idempotency-Key``)."""
    subscription = await service.create_subscription(session, body=body, actor=actor, now=clock.now())
    created = WebhookCreated.model_validate(subscription)
    return created


@router.patch("/{webhook_id}", summary="Change a webhook subscription (If-Match)")
async def update_webhook(
    actor: Admin,
    subscription: WebhookForAdmin,
    body: WebhookUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
) -> WebhookRead:
    """Change the URL, kinds, tiers or secret, or switch the subscription off."""
    check_if_match(request, subscription.version)
    subscription = await service.update_subscription(
        session, subscription=subscription, body=body, actor=actor, now=clock.now()
    )
    set_etag(response, subscription.version)
    return WebhookRead.model_validate(subscription)


@router.delete("/{webhook_id}", status_code=204, summary="Remove a webhook subscription")
async def delete_webhook(
    actor: Admin, subscription: WebhookForAdmin, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    """Remove a subscription (``If-Match`` with its ETag)."""
    check_if_match(request, subscription.version)
    await service.delete_subscription(session, subscription=subscription, actor=actor, now=clock.now())
    return Response(status_code=204)


@router.post("/{webhook_id}/test", summary="Send a signed test delivery now")
async def test_webhook(
    subscription: WebhookForAdmin, actor: Admin, client: HttpClientDep, clock: ClockDep
) -> TestDeliveryResult:
    """Post a signed ``notifications.test`` delivery at once and report the subscriber's answer."""
    return await service.send_test_delivery(client, subscription=subscription, actor=actor, now=clock.now())


@router.post("/{webhook_id}/replay", summary="Replay the subscription's dead deliveries")
async def replay_webhook(subscription: WebhookForAdmin, session: SessionDep, clock: ClockDep) -> ReplayResult:
    """Put every dead delivery of this subscription back in the queue (up to 500 at a time)."""
    filters = DeliveryFilters(channel="webhook", recipient=f"webhook:{subscription.id}")
    replayed = await replay_dead(session, filters=filters, now=clock.now())
    return ReplayResult(replayed=len(replayed), ids=[d.id for d in replayed])

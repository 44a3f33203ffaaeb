"""Request dependencies of the notifications service: the acting user and role-restricted aliases, settings, the
HTTP client of the senders, paging, filters, and the objects a route works on, loaded and checked once
(a 404 happens here)."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Path, Query, Request

from services.notifications.config import NotificationsSettings
from services.notifications.delivery.models import Delivery, Notification
from services.notifications.delivery.schemas import Channel, DeliveryStatus
from services.notifications.delivery_log.schemas import DeliveryFilters
from services.notifications.inbox.service import inbox_item
from services.notifications.robots.models import RobotChannel
from services.notifications.robots.service import get_robot
from services.notifications.routing.models import RoutingRule
from services.notifications.teams.models import Team
from services.notifications.webhooks.models import WebhookSubscription
from shared.api import Instant, PageParams, page_params
from shared.auth import ADMIN, SUPERVISOR, CurrentPrincipal, Principal, require_roles
from shared.errors import NotFound
from shared.service import SessionDep

# The acting user: everyone has an inbox and preferences; supervisors read the rules, teams and the delivery log;
# admins change rules, teams, robots and webhook subscriptions and replay deliveries.
Actor = CurrentPrincipal
Overseer = Annotated[Principal, Depends(require_roles(SUPERVISOR))]
Admin = Annotated[Principal, Depends(require_roles(ADMIN))]
PageDep = Annotated[PageParams, Depends(page_params)]

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,59}$"
NotificationId = Annotated[str, Path(pattern=UUID_PATTERN, description="Notification id (UUID)")]
DeliveryId = Annotated[str, Path(pattern=UUID_PATTERN, description="Delivery id (UUID)")]
RobotId = Annotated[str, Path(pattern=UUID_PATTERN, description="Robot id (UUID)")]
WebhookId = Annotated[str, Path(pattern=UUID_PATTERN, description="Subscription id (UUID)")]
RuleCode = Annotated[str, Path(pattern=CODE_PATTERN, description="Rule code")]
TeamCode = Annotated[str, Path(pattern=CODE_PATTERN, description="Team code")]
KindQuery = Annotated[str | None, Query(min_length=1, max_length=100)]
AccountIdQuery = Annotated[str | None, Query(min_length=1, max_length=36)]


def get_settings(request: Request) -> NotificationsSettings:
    """The app's notifications settings."""
    settings: NotificationsSettings = request.app.state.settings
    return settings


async def get_http_client(request: Request) -> httpx.AsyncClient:
    """The HTTP client the webhook and robot senders share (test deliveries too)."""
    client: httpx.AsyncClient = request.app.state.http
    return client


SettingsDep = Annotated[NotificationsSettings, Depends(get_settings)]
HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]


# ---------------------------------------------------------------- objects, loaded and checked once


async def _my_notification(notification_id: NotificationId, session: SessionDep, actor: Actor) -> Notification:
    return await inbox_item(session, user_id=actor.user_id, notification_id=notification_id)


async def _rule(code: RuleCode, session: SessionDep, _: Overseer) -> RoutingRule:
    rule = await session.get(RoutingRule, code)
    if rule is None:
        raise NotFound(f"Routing rule {code} not found")
    return rule


async def _rule_for_update(code: RuleCode, session: SessionDep, _: Admin) -> RoutingRule:
    return await _rule(code, session, _)


async def _team(code: TeamCode, session: SessionDep, _: Overseer) -> Team:
    team = await session.get(Team, code)
    if team is None:
        raise NotFound(f"Team {code} not found")
    return team


async def _team_for_update(code: TeamCode, session: SessionDep, _: Admin) -> Team:
    return await _team(code, session, _)


async def _robot(robot_id: RobotId, session: SessionDep, _: Admin) -> RobotChannel:
    return await get_robot(session, robot_id)


async def _webhook(webhook_id: WebhookId, session: SessionDep, _: Admin) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, webhook_id)
    if subscription is None:
        raise NotFound(f"Webhook subscription {webhook_id} not found")
    return subscription


async def _delivery(delivery_id: DeliveryId, session: SessionDep, _: Overseer) -> Delivery:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id} not found")
    return delivery


async def _delivery_for_replay(delivery_id: DeliveryId, session: SessionDep, _: Admin) -> Delivery:
    return await _delivery(delivery_id, session, _)


def delivery_filters(
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    kind: KindQuery = None,
    user_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    recipient: Annotated[str | None, Query(min_length=1, max_length=150)] = None,
    event_id: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    account_id: AccountIdQuery = None,
    since: Annotated[Instant | None, Query(description="created at or after (with an offset)")] = None,
    until: Annotated[Instant | None, Query(description="created before (with an offset)")] = None,
) -> DeliveryFilters:
    """The filters of the delivery log."""
    return DeliveryFilters(
        status=status,
        channel=channel,
        kind=kind,
        user_id=user_id,
        recipient=recipient,
        event_id=event_id,
        account_id=account_id,
        since=since,
        until=until,
    )


MyNotification = Annotated[Notification, Depends(_my_notification)]
RuleForRead = Annotated[RoutingRule, Depends(_rule)]
RuleForUpdate = Annotated[RoutingRule, Depends(_rule_for_update)]
TeamForRead = Annotated[Team, Depends(_team)]
TeamForUpdate = Annotated[Team, Depends(_team_for_update)]
RobotForAdmin = Annotated[RobotChannel, Depends(_robot)]
WebhookForAdmin = Annotated[WebhookSubscription, Depends(_webhook)]
DeliveryForRead = Annotated[Delivery, Depends(_delivery)]
DeliveryForReplay = Annotated[Delivery, Depends(_delivery_for_replay)]
DeliveryFiltersDep = Annotated[DeliveryFilters, Depends(delivery_filters)]

"""The delivery queue: a plan becomes notifications and deliveries (exactly one per event, recipient and channel);
due deliveries are claimed, sent on their channel, and marked delivered, retried with back-off, or dead."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, event, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.notifications.config import NotificationsSettings
from services.notifications.delivery.models import Delivery, DeliveryAttempt, Notification
from services.notifications.delivery.schemas import (
    DELIVERY_TRANSITIONS,
    ROBOT_CHANNELS,
    Claimed,
    SendOutcome,
)
from services.notifications.kinds.schemas import Facts
from services.notifications.models import platform
from services.notifications.preferences.service import plan_email, preferences_of
from services.notifications.robots.models import RobotChannel
from services.notifications.routing.schemas import Person, Plan
from services.notifications.templates.schemas import Rendered
from services.notifications.templates.service import render
from services.notifications.webhooks.models import WebhookSubscription
from shared.clock import ensure_aware
from shared.errors import InvalidTransition

IN_APP, EMAIL, WEBHOOK = "in_app", "email", "webhook"


def move(delivery: Delivery, status: str) -> None:
    """Change a delivery's status along ``DELIVERY_TRANSITIONS`` (409 naming what is allowed otherwise)."""
    allowed = DELIVERY_TRANSITIONS[delivery.status]
    if status not in allowed:
        raise InvalidTransition(
            f"A {delivery.status} delivery cannot become {status}", current=delivery.status, allowed=sorted(allowed)
        )
    delivery.status = status


def retry_delay(
    attempt: int, *, base: float, cap: float, jitter: float, rng: random.Random, retry_after: float | None = None
) -> float:
    """Pure: exponential back-off ``base × 2^(attempt-1)`` capped at ``cap``, less a random share up to ``jitter``
    (so that many failed deliveries do not come back at the same instant); never sooner than a ``Retry-After``."""
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    delay *= 1 - jitter * rng.random()
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


# ---------------------------------------------------------------- the plan → notifications and deliveries


def _payload(facts: Facts, plan: Plan, message: Rendered) -> dict[str, Any]:
    """What a webhook subscriber receives (besides the delivery id): the notification and the event's data."""
    return {
        "kind": facts.kind,
        "event_id": facts.event_id,
        "occurred_at": facts.occurred_at.isoformat(),
        "account": {"id": facts.account_id, "name": plan.account_name, "tier": facts.tier},
        "object": {"type": facts.object_type, "id": facts.object_id},
        "title": facts.title,
        "subject": message.subject,
        "body": message.body,
        "critical": facts.critical,
        "level": facts.level,
        "due_at": facts.due_at.isoformat() if facts.due_at else None,
        "due_on": facts.due_on.isoformat() if facts.due_on else None,
        "link": message.link,
        "recipients": [person.user_id for person in plan.people],
        "data": dict(facts.data),
    }


Row = dict[str, Any]


def _notification(
    *,
    facts: Facts,
    plan: Plan,
    recipient: str,
    message: Rendered,
    now: datetime,
    user_id: str | None = None,
    mentions: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> Row:
    """A ``notifications`` row (every column, so that one statement inserts many)."""
    return {
        "id": str(uuid.uuid4()),
        "event_id": facts.event_id,
        "kind": facts.kind,
        "account_id": facts.account_id,
        "account_name": plan.account_name,
        "recipient": recipient,
        "user_id": user_id,
        "language": message.language,
        "subject": message.subject[:500],
        "body": message.body,
        "link": message.link[:1000],
        "due": message.due,
        "due_at": facts.due_at,
        "critical": facts.critical,
        "level": facts.level,
        "tier": facts.tier,
        "object_type": facts.object_type,
        "object_id": facts.object_id[:120],
        "in_inbox": user_id is not None,
        "read_at": None,
        "occurred_at": facts.occurred_at,
        "created_at": now,
        "mentions": mentions or {},
        "payload": payload or {},
    }


def _delivery(
    notification: Row,
    *,
    channel: str,
    target: str,
    status: str,
    now: datetime,
    held_until: datetime | None = None,
    last_error: str | None = None,
) -> Row:
    """A ``deliveries`` row of a notification (every column)."""
    return {
        "id": str(uuid.uuid4()),
        "notification_id": notification["id"],
        "event_id": notification["event_id"],
        "kind": notification["kind"],
        "account_id": notification["account_id"],
        "recipient": notification["recipient"],
        "user_id": notification["user_id"],
        "channel": channel,
        "target": target[:320],
        "status": status,
        "critical": notification["critical"],
        "attempts": 0,
        "next_attempt_at": now if status == "pending" else None,
        "claimed_until": None,
        "held_until": held_until,
        "digest_id": None,
        "last_error": last_error,
        "last_status_code": None,
        "created_at": now,
        "updated_at": now,
        "delivered_at": now if status == "delivered" else None,
    }


def plan_message(plan: Plan, *, language: str, settings: NotificationsSettings) -> Rendered:
    """The plan's event rendered in ``language`` (once per language: every recipient reading it gets the same)."""
    rendered = plan.rendered.get(language)
    if rendered is None:
        rendered = plan.rendered[language] = render(
            plan.facts,
            language=language,
            account_name=plan.account_name,
            zone=settings.zone,
            console_base_url=settings.console_base_url,
            names=plan.names,
        )
    return rendered


async def _for_person(
    session: AsyncSession, *, plan: Plan, person: Person, settings: NotificationsSettings, now: datetime
) -> tuple[Row, list[Row]]:
    """The person's inbox item (delivered at once) and, as the rules and their preferences say, an email now, held
    for the digest, or skipped (no address)."""
    facts = plan.facts
    prefs = await preferences_of(session, user_id=person.user_id, settings=settings)
    message = plan_message(plan, language=prefs.language, settings=settings)
    notification = _notification(
        facts=facts, plan=plan, recipient=person.user_id, user_id=person.user_id, message=message, now=now
    )
    deliveries = [_delivery(notification, channel=IN_APP, target=person.user_id, status="delivered", now=now)]
    email = plan_email(
        kind=facts.kind,
        critical=facts.critical,
        rule_wants_email=EMAIL in person.channels,
        prefs=prefs,
        now=now,
        zone=settings.zone,
    )
    if email.wanted and settings.email_enabled:
        status = "skipped" if not person.email else "held" if email.held_until else "pending"
        error = "the user has no email address" if status == "skipped" else None
        deliveries.append(
            _delivery(
                notification,
                channel=EMAIL,
                target=person.email or "",
                status=status,
                now=now,
                held_until=email.held_until,
                last_error=error,
            )
        )
    return notification, deliveries


# Beyond the producer's clock being this far ahead, an event could be taken for younger than it is.
CLOCK_SKEW_MARGIN = timedelta(days=1)


async def _told_already(
    session: AsyncSession, *, facts: Facts, settings: NotificationsSettings, now: datetime
) -> set[str]:
    """Who was told of this event before. The consumer's inbox applies an event once while it keeps the event's
    id, ``inbox_retention_days`` from when it was applied — never earlier than the event occurred — so an event
    younger than that (less a margin for the producer's clock) reaching here was never applied: nobody to read.
    An older one (a replay from an archive, with ``stale_event_hours`` 0) is looked up."""
    if now - ensure_aware(facts.occurred_at) < timedelta(days=settings.inbox_retention_days) - CLOCK_SKEW_MARGIN:
        return set()
    query = select(Notification.recipient).where(Notification.event_id == facts.event_id)
    return set((await session.execute(query)).scalars().all())


class _Queued:
    """The rows a consumer transaction queued, written when it commits: every event's notifications in one
    statement, then their deliveries in another (rather than an ORM flush of six objects per event)."""

    def __init__(self) -> None:
        self.notifications: list[Row] = []
        self.deliveries: list[Row] = []

    def write(self, session: Session) -> None:
        """Before the commit (a ``before_commit`` listener of the transaction's session): insert what is queued."""
        notifications, deliveries, self.notifications, self.deliveries = self.notifications, self.deliveries, [], []
        if notifications:
            session.execute(insert(NOTIFICATIONS), notifications)
        if deliveries:
            session.execute(insert(DELIVERIES), deliveries)


QUEUED = "kam.notifications.queued"
# Core inserts of whole rows: one executemany each (an ORM bulk insert splits rows by which columns are None).
NOTIFICATIONS = cast(Table, Notification.__table__)
DELIVERIES = cast(Table, Delivery.__table__)


def _queued(session: AsyncSession) -> _Queued:
    queued: _Queued | None = session.info.get(QUEUED)
    if queued is None:
        queued = session.info[QUEUED] = _Queued()
        event.listen(session.sync_session, "before_commit", queued.write)
    return queued


async def enqueue(session: AsyncSession, *, plan: Plan, settings: NotificationsSettings, now: datetime) -> int:
    """Queue the notifications and deliveries of one event's plan in the consumer's transaction (the queue is the
    service's own outbox); written when that transaction commits. People first, then group robots (mentioning the
    people), then webhook subscribers; a recipient told of this event already is not told again. Returns how many
    deliveries were queued."""
    facts = plan.facts
    told = await _told_already(session, facts=facts, settings=settings, now=now)
    notifications: list[Row] = []
    deliveries: list[Row] = []
    for person in plan.people:
        if person.user_id in told:
            continue
        notification, theirs = await _for_person(session, plan=plan, person=person, settings=settings, now=now)
        notifications.append(notification)
        deliveries += theirs
    mentions: dict[str, list[str]] = {p: [x.im_ids[p] for x in plan.people if x.im_ids.get(p)] for p in ROBOT_CHANNELS}
    for robot in plan.robots:
        if f"robot:{robot.id}" in told:
            continue
        message = plan_message(plan, language=robot.language, settings=settings)
        notification = _notification(
            facts=facts,
            plan=plan,
            recipient=f"robot:{robot.id}",
            message=message,
            now=now,
            mentions={"ids": mentions.get(robot.provider, [])},
        )
        notifications.append(notification)
        deliveries.append(_delivery(notification, channel=robot.provider, target=robot.id, status="pending", now=now))
    for subscription in plan.webhooks:
        recipient = f"webhook:{subscription.id}"
        if recipient in told:
            continue
        message = plan_message(plan, language=settings.default_language, settings=settings)
        payload = _payload(facts, plan, message)
        notification = _notification(
            facts=facts, plan=plan, recipient=recipient, message=message, now=now, payload=payload
        )
        notifications.append(notification)
        deliveries.append(_delivery(notification, channel=WEBHOOK, target=subscription.id, status="pending", now=now))
    queued = _queued(session)
    queued.notifications += notifications
    queued.deliveries += deliveries
    return len(deliveries)


# ---------------------------------------------------------------- claim, send, mark


def _due_clause(now: datetime) -> Any:
    return or_(
        and_(Delivery.status.in_(("pending", "retrying")), Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.claimed_until < now),  # a worker died mid-send: try again
    )


async def _names(session: AsyncSession, user_ids: Sequence[str | None]) -> dict[str, str]:
    users = platform.users
    ids = sorted({u for u in user_ids if u})
    if not ids:
        return {}
    rows = (await session.execute(select(users.c.user_id, users.c.display_name).where(users.c.user_id.in_(ids)))).all()
    return {row.user_id: row.display_name or row.user_id for row in rows}


async def claim_due(
    session: AsyncSession, *, now: datetime, settings: NotificationsSettings, limit: int | None = None
) -> list[Claimed]:
    """Take the due deliveries for one attempt each (PostgreSQL replicas skip each other's rows)."""
    query = (
        select(Delivery)
        .where(_due_clause(now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit or settings.delivery_batch_size)
        .with_for_update(skip_locked=True)
    )
    deliveries = list((await session.execute(query)).scalars())
    if not deliveries:
        return []
    notifications = {n.id: n for n in await _by_ids(session, Notification, [d.notification_id for d in deliveries])}
    robot_ids = [d.target for d in deliveries if d.channel in ROBOT_CHANNELS]
    robots = {r.id: r for r in await _by_ids(session, RobotChannel, robot_ids)}
    hook_ids = [d.target for d in deliveries if d.channel == WEBHOOK]
    hooks = {s.id: s for s in await _by_ids(session, WebhookSubscription, hook_ids)}
    names = await _names(session, [d.user_id for d in deliveries])
    claimed = []
    for delivery in deliveries:
        move(delivery, "sending")
        delivery.attempts += 1
        delivery.claimed_until = now + timedelta(seconds=settings.delivery_lease_seconds)
        delivery.updated_at = now
        n = notifications[delivery.notification_id]
        claimed.append(
            Claimed(
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                channel=delivery.channel,
                target=delivery.target,
                kind=delivery.kind,
                message=Rendered(n.language, n.subject, n.body, n.link, n.due, n.critical),
                to_name=names.get(delivery.user_id or "", delivery.user_id or ""),
                mentions=list((n.mentions or {}).get("ids", [])),
                payload={"delivery_id": delivery.id, **(n.payload or {})},
                robot=robots.get(delivery.target),
                subscription=hooks.get(delivery.target),
            )
        )
    await session.flush()
    return claimed


async def _by_ids(session: AsyncSession, model: Any, ids: list[str]) -> list[Any]:
    if not ids:
        return []
    return list((await session.execute(select(model).where(model.id.in_(sorted(set(ids)))))).scalars())


async def record_outcome(
    session: AsyncSession,
    *,
    claimed: Claimed,
    outcome: SendOutcome,
    started_at: datetime,
    duration_ms: int,
    now: datetime,
    settings: NotificationsSettings,
    rng: random.Random,
) -> str:
    """Log the attempt and move the delivery: delivered; dead (permanent, or out of attempts); else retrying later."""
    delivery = await session.get(Delivery, claimed.delivery_id)
    if delivery is None:
        return "gone"
    earlier = await session.scalar(select(func.count()).where(DeliveryAttempt.delivery_id == delivery.id))
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            number=int(earlier or 0) + 1,  # counted across replays (``attempts`` counts the current round)
            started_at=started_at,
            duration_ms=duration_ms,
            outcome="delivered" if outcome.ok else "failed",
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )
    if delivery.status != "sending":  # another worker finished it after our claim expired
        return delivery.status
    delivery.claimed_until, delivery.updated_at = None, now
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    if outcome.ok:
        move(delivery, "delivered")
        delivery.delivered_at = now
    elif outcome.permanent or delivery.attempts >= settings.delivery_max_attempts:
        move(delivery, "dead")
    else:
        move(delivery, "retrying")
        delay = retry_delay(
            delivery.attempts,
            base=settings.retry_base_seconds,
            cap=settings.retry_max_seconds,
            jitter=settings.retry_jitter,
            rng=rng,
            retry_after=outcome.retry_after,
        )
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    await session.flush()
    return delivery.status

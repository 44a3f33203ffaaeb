"""Periodic work of the notifications service: seeding the default rules at start, the delivery worker (claim,
send, mark) and the daily digest. The queue and the held deliveries are stored; these jobs only wake them."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.exc import IntegrityError

from services.notifications.channels.service import send_claimed
from services.notifications.config import NotificationsSettings
from services.notifications.delivery.schemas import Claimed, SendOutcome
from services.notifications.delivery.service import claim_due, record_outcome
from services.notifications.delivery_log.service import queue_counts
from services.notifications.digest.service import collect_digests
from services.notifications.routing.service import seed_default_rules
from shared.db import Database
from shared.observability import Metrics
from shared.service import PeriodicJob

log = logging.getLogger("kam.notifications")
# The queue gauge is counted after every round that did work, and at least this often when idle.
QUEUE_GAUGE_SECONDS = 15.0


@dataclass(frozen=True)
class DeliveryMetrics:
    """The delivery queue on ``/metrics``: outcomes and latency per channel, the queue by status."""

    outcomes: Counter
    latency: Histogram
    queue: Gauge

    @classmethod
    def on(cls, metrics: Metrics) -> DeliveryMetrics:
        """Register the delivery metrics on the app's registry."""
        registry = metrics.registry
        return cls(
            outcomes=Counter(
                "kam_notification_deliveries_total", "Delivery attempts", ["channel", "outcome"], registry=registry
            ),
            latency=Histogram(
                "kam_notification_delivery_seconds", "Time of one delivery attempt", ["channel"], registry=registry
            ),
            queue=Gauge(
                "kam_notification_queue", "Deliveries by channel and status", ["channel", "status"], registry=registry
            ),
        )


async def start_notifications(app: FastAPI) -> None:
    """Seed the default routing rules (another replica may win the race), open the senders' HTTP client, and
    register the delivery metrics."""
    settings: NotificationsSettings = app.state.settings
    try:
        async with app.state.db.transaction() as session:
            await seed_default_rules(session, now=app.state.clock.now())
    except IntegrityError:
        log.info("default rules were seeded concurrently by another replica")
    app.state.http = httpx.AsyncClient(timeout=settings.http_timeout_seconds, follow_redirects=False)
    app.state.delivery_metrics = DeliveryMetrics.on(app.state.metrics)
    app.state.delivery_rng = random.Random()


async def _attempt(claimed: Claimed, app: FastAPI, limit: asyncio.Semaphore) -> tuple[SendOutcome, int]:
    """One send, bounded by the worker's concurrency; its latency and outcome counted."""
    settings: NotificationsSettings = app.state.settings
    async with limit:
        started, clock_started = time.monotonic(), app.state.clock.now()
        try:
            outcome = await send_claimed(claimed, settings=settings, client=app.state.http, now=clock_started)
        except Exception as exc:  # a sender's bug must not stop the worker: the attempt fails and is retried
            log.exception("sender failed", extra={"delivery_id": claimed.delivery_id})
            outcome = SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        elapsed = time.monotonic() - started
    metrics: DeliveryMetrics = app.state.delivery_metrics
    metrics.latency.labels(claimed.channel).observe(elapsed)
    metrics.outcomes.labels(claimed.channel, "delivered" if outcome.ok else "failed").inc()
    return outcome, int(elapsed * 1000)


async def deliver_due(app: FastAPI) -> int:
    """Claim due deliveries, send them concurrently (bounded), and mark each; repeat while the batch was full."""
    db: Database = app.state.db
    settings: NotificationsSettings = app.state.settings
    limit = asyncio.Semaphore(settings.delivery_concurrency)
    handled = 0
    while True:
        async with db.transaction() as session:
            claimed = await claim_due(session, now=app.state.clock.now(), settings=settings)
        if not claimed:
            break
        started_at = app.state.clock.now()
        results = await asyncio.gather(*(_attempt(c, app, limit) for c in claimed))
        async with db.transaction() as session:
            for item, (outcome, duration_ms) in zip(claimed, results, strict=True):
                status = await record_outcome(
                    session,
                    claimed=item,
                    outcome=outcome,
                    started_at=started_at,
                    duration_ms=duration_ms,
                    now=app.state.clock.now(),
                    settings=settings,
                    rng=app.state.delivery_rng,
                )
                if status == "dead":
                    app.state.delivery_metrics.outcomes.labels(item.channel, "dead").inc()
        handled += len(claimed)
        if len(claimed) < settings.delivery_batch_size:
            break
    if handled or time.monotonic() - getattr(app.state, "queue_gauge_at", 0.0) > QUEUE_GAUGE_SECONDS:
        await _refresh_queue_gauge(app)
    return handled


async def _refresh_queue_gauge(app: FastAPI) -> None:
    app.state.queue_gauge_at = time.monotonic()
    async with app.state.db.transaction(write=False) as session:
        counts = await queue_counts(session)
    gauge = app.state.delivery_metrics.queue
    for channel, statuses in counts.by_channel.items():
        for status, count in statuses.items():
            gauge.labels(channel, status).set(count)


async def send_digests(app: FastAPI) -> int:
    """Bundle the held deliveries whose digest time has come (the worker sends the digests)."""
    async with app.state.db.transaction() as session:
        digests = await collect_digests(session, now=app.state.clock.now(), settings=app.state.settings)
    return len(digests)


def periodic_jobs(settings: NotificationsSettings) -> list[PeriodicJob]:
    """The jobs with the intervals the settings give."""
    jobs = [PeriodicJob("digests", run=send_digests, interval_seconds=settings.digest_poll_seconds)]
    if settings.delivery_worker:
        jobs.insert(0, PeriodicJob("deliver", run=deliver_due, interval_seconds=settings.delivery_poll_seconds))
    return jobs


JOBS = periodic_jobs(NotificationsSettings.model_construct())

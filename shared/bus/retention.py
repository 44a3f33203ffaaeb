"""Outbox and inbox upkeep: re-sending published events after a broker loss, pruning old rows, their metrics.

Bounds (docs/RELIABILITY.md): a sent outbox row is kept ``outbox_retention_days`` (the horizon of
``republish``); an inbox id is kept ``inbox_retention_days``, which must be longer than any event can be delivered
again — the stream keeps events ``STREAM_MAX_AGE_DAYS`` (a consumer re-reading it from the start, or a republish,
must still find every id it applied) — so the settings refuse an inbox retention shorter than both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Table, delete, func, select, update

from shared.bus.nats import STREAM_MAX_AGE_SECONDS
from shared.db import Database

log = logging.getLogger("kam.retention")

STREAM_MAX_AGE_DAYS = STREAM_MAX_AGE_SECONDS / 86400
PRUNE_BATCH = 2000  # rows deleted per transaction: a short write lock each, business writes interleave


@dataclass(frozen=True)
class Republished:
    """What a republish re-queued (or would have: ``dry_run``)."""

    rows: int
    first_seq: int | None
    last_seq: int | None
    dry_run: bool


async def republish(
    db: Database, outbox: Table, *, since: datetime, until: datetime | None, dry_run: bool
) -> Republished:
    """Queue again the outbox rows sent in ``[since, until)``: the relay re-publishes them with their event ids.

    For recovery after a broker lost acknowledged events. Consumers de-duplicate by event id (their inbox), so
    re-sending what they already applied is harmless.
    """
    condition = outbox.c.sent_at.is_not(None) & (outbox.c.sent_at >= since)
    if until is not None:
        condition &= outbox.c.sent_at < until
    async with db.transaction(write=not dry_run) as session:
        rows, first, last = (
            await session.execute(select(func.count(), func.min(outbox.c.seq), func.max(outbox.c.seq)).where(condition))
        ).one()
        if not dry_run and rows:
            await session.execute(update(outbox).where(condition).values(sent_at=None, attempts=0, last_error=None))
    log.warning("outbox republish", extra={"rows": int(rows), "since": since.isoformat(), "dry_run": dry_run})
    return Republished(rows=int(rows), first_seq=first, last_seq=last, dry_run=dry_run)


class RetentionMetrics:
    """The upkeep gauges and counters on a service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pruned = Counter("kam_bus_rows_pruned_total", "Bus rows pruned", ["table"], registry=registry)
        self.oldest_pending = Gauge(
            "kam_outbox_oldest_pending_seconds", "Age of the oldest unsent outbox row (0: none)", registry=registry
        )
        self.inbox_rows = Gauge("kam_inbox_rows", "Event ids kept in the inbox", registry=registry)


async def _delete_batches(db: Database, table: Table, key: str, column: str, before: datetime) -> int:
    total = 0
    while True:
        async with db.transaction() as session:
            keys = select(table.c[key]).where(table.c[column] < before).limit(PRUNE_BATCH)
            result = await session.execute(delete(table).where(table.c[key].in_(keys)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        total += count
        if count < PRUNE_BATCH:
            return total


async def prune(
    db: Database,
    *,
    outbox: Table,
    inbox: Table,
    now: datetime,
    outbox_retention_days: float,
    inbox_retention_days: float,
    metrics: RetentionMetrics | None = None,
) -> dict[str, int]:
    """Delete sent outbox rows and inbox ids past their retention; never an unsent row. Returns the counts."""
    outbox_before = now - timedelta(days=outbox_retention_days)
    # Only sent rows: a pending row (sent_at NULL) never matches ``sent_at < …``.
    pruned_outbox = await _delete_batches(db, outbox, "seq", "sent_at", outbox_before)
    pruned_inbox = await _delete_batches(
        db, inbox, "event_id", "processed_at", now - timedelta(days=inbox_retention_days)
    )
    async with db.transaction(write=False) as session:
        oldest = await session.scalar(select(func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None)))
        inbox_rows = int(await session.scalar(select(func.count()).select_from(inbox)) or 0)
    if metrics is not None:
        metrics.pruned.labels("outbox").inc(pruned_outbox)
        metrics.pruned.labels("inbox").inc(pruned_inbox)
        metrics.oldest_pending.set(0 if oldest is None else max((now - oldest).total_seconds(), 0))
        metrics.inbox_rows.set(inbox_rows)
    if pruned_outbox or pruned_inbox:
        log.info("bus rows pruned", extra={"outbox": pruned_outbox, "inbox": pruned_inbox})
    return {"outbox": pruned_outbox, "inbox": pruned_inbox}

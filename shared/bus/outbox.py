"""Transactional outbox: events are rows in the business transaction; a relay publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.nats import NatsBus
from shared.db import Database
from shared.events.catalogue import EventBase

log = logging.getLogger("kam.outbox")

OUTBOX_FLAG = "kam_outbox_written"


async def add_events(
    session: AsyncSession, outbox: Table, events: Sequence[EventBase], *, written_at: datetime
) -> None:
    """Write events into the outbox inside the caller's transaction (published only if it commits).

    Services call it through their ``Publisher`` (``shared.bus.publish``), which fills in source and time.
    Many events are written with one statement (executemany).
    """
    if not events:
        return
    rows = [
        {
            "event_id": e.id,
            "subject": e.subject,
            "payload": e.model_dump_json(),
            "created_at": written_at,
            "attempts": 0,
        }
        for e in events
    ]
    await session.execute(insert(outbox), rows)
    session.sync_session.info[OUTBOX_FLAG] = True


class OutboxRelay:
    """Publishes pending outbox rows with ``Nats-Msg-Id`` = event id and marks them sent.

    Rows are taken with a **lease** (``claimed_until``, ``claimed_by``): several replicas may relay one outbox, and
    no database lock is held while waiting on NATS (docs/RELIABILITY.md).
    """

    def __init__(
        self,
        *,
        db: Database,
        outbox: Table,
        bus: NatsBus,
        batch_size: int = 200,
        poll_seconds: float = 0.25,
        lease_seconds: float = 15.0,
        relay_id: str | None = None,
        on_backlog: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.relay_id = relay_id or f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.on_backlog = on_backlog
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._skip_locked = not db.url.startswith("sqlite")

    def wake(self) -> None:
        """Ask the relay to look now (called after a commit that wrote to the outbox)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim, publish, mark: one batch; returns how many rows were sent.

        1. **Claim** (one short write transaction): up to ``batch_size`` pending rows whose lease is free or expired
           get ``claimed_until = now + lease_seconds`` and ``claimed_by = relay_id``; committed at once.
           PostgreSQL picks them with ``FOR UPDATE SKIP LOCKED`` (replicas claiming together never block each other
           or take the same row); SQLite's single writer (``BEGIN IMMEDIATE``) serialises claims.
        2. **Publish** with no transaction open, concurrently: at most ``batch_size`` acks in flight.
        3. **Mark** (a second short transaction): published rows still leased by this relay are marked sent; the
           others are released (attempts + 1) to be retried.

        A relay that dies after claiming leaves rows whose lease expires; another relay (or this one restarted)
        takes them. A row published but not marked is published again: JetStream drops it within its duplicate
        window (``Nats-Msg-Id``) and every consumer's inbox applies an event id once.
        """
        rows = await self._claim()
        if not rows:
            return 0
        published, failure = await self._publish(rows)
        await self._mark(rows, published, failure)
        if failure is not None:
            raise ConnectionError(failure)
        return len(published)

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        outbox = self.outbox
        return outbox.c.sent_at.is_(None) & (outbox.c.claimed_until.is_(None) | (outbox.c.claimed_until < now))

    async def _claim(self) -> list[Row[Any]]:
        outbox = self.outbox
        now = datetime.now(UTC)
        async with self.db.transaction(write=False) as session:  # nothing to do: no write lock taken at all
            if await session.scalar(select(outbox.c.seq).where(self._claimable(now)).limit(1)) is None:
                return []
        now = datetime.now(UTC)
        pick: Select[Any] = (
            select(outbox.c.seq).where(self._claimable(now)).order_by(outbox.c.seq).limit(self.batch_size)
        )
        if self._skip_locked:
            pick = pick.with_for_update(skip_locked=True)
        claim = (
            update(outbox)
            .where(outbox.c.seq.in_(pick.scalar_subquery()))
            .values(claimed_until=now + timedelta(seconds=self.lease_seconds), claimed_by=self.relay_id)
            .returning(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload)
        )
        async with self.db.transaction() as session:
            rows = list((await session.execute(claim)).all())
        return sorted(rows, key=lambda r: r.seq)  # RETURNING has no order; publish in outbox order

    async def _publish(self, rows: Sequence[Row[Any]]) -> tuple[list[int], str | None]:
        """Publish a batch concurrently (at most ``batch_size`` acks in flight, sent in outbox order)."""
        results = await asyncio.gather(
            *(self.bus.publish(r.subject, r.payload.encode(), msg_id=r.event_id) for r in rows),
            return_exceptions=True,
        )
        published = [r.seq for r, result in zip(rows, results, strict=True) if not isinstance(result, BaseException)]
        errors = [result for result in results if isinstance(result, BaseException)]
        for error in errors:
            if isinstance(error, asyncio.CancelledError):
                raise error
        failure = f"{type(errors[0]).__name__}: {errors[0]}" if errors else None
        return published, failure

    async def _mark(self, rows: Sequence[Row[Any]], published: list[int], failure: str | None) -> None:
        outbox = self.outbox
        mine = outbox.c.claimed_by == self.relay_id
        done = set(published)
        failed = [r.seq for r in rows if r.seq not in done]
        async with self.db.transaction() as session:
            if published:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(published) & mine)
                    .values(sent_at=datetime.now(UTC), claimed_until=None)
                )
            if failed:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(failed) & mine)
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_error=(failure or "not acknowledged")[:2000],
                        claimed_until=None,
                        claimed_by=None,
                    )
                )

    async def backlog(self) -> int:
        """How many rows wait to be published."""
        async with self.db.transaction(write=False) as session:
            count = await session.scalar(
                select(func.count()).select_from(self.outbox).where(self.outbox.c.sent_at.is_(None))
            )
        return int(count or 0)

    async def run_forever(self) -> None:
        """Relay until cancelled; retries with back-off while NATS is away."""
        delay = self.poll_seconds
        while True:
            self._wake.clear()  # a wake arriving while we work is kept for the wait below
            try:
                if self.bus.connected:
                    sent = await self.run_once()
                    delay = self.poll_seconds
                    if sent >= self.batch_size:
                        continue  # more waiting; go again at once
                    if self.on_backlog is not None:
                        self.on_backlog(await self.backlog())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay failed, backing off", extra={"error": str(exc)})
                delay = min(max(delay * 2, 0.1), 2.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def start(self) -> None:
        """Run in the background."""
        self._task = asyncio.create_task(self.run_forever(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the background loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

"""Transactional outbox: events are rows in the business transaction; a relay publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Table, func, insert, select, update
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

    Several replicas may relay one PostgreSQL outbox: rows are claimed with ``FOR UPDATE SKIP LOCKED``.
    """

    def __init__(
        self,
        *,
        db: Database,
        outbox: Table,
        bus: NatsBus,
        batch_size: int = 200,
        poll_seconds: float = 0.25,
        on_backlog: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.on_backlog = on_backlog
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._skip_locked = not db.url.startswith("sqlite")

    def wake(self) -> None:
        """Ask the relay to look now (called after a commit that wrote to the outbox)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish one batch; returns how many rows were sent."""
        sent = 0
        async with self.db.transaction() as session:
            query = (
                select(self.outbox.c.seq, self.outbox.c.event_id, self.outbox.c.subject, self.outbox.c.payload)
                .where(self.outbox.c.sent_at.is_(None))
                .order_by(self.outbox.c.seq)
                .limit(self.batch_size)
            )
            if self._skip_locked:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            published: list[int] = []
            failure: str | None = None
            for row in rows:
                try:
                    await self.bus.publish(row.subject, row.payload.encode(), msg_id=row.event_id)
                except Exception as exc:
                    failure = f"{type(exc).__name__}: {exc}"
                    break
                published.append(row.seq)
            if published:
                await session.execute(
                    update(self.outbox).where(self.outbox.c.seq.in_(published)).values(sent_at=datetime.now(UTC))
                )
                sent = len(published)
            if failure is not None and len(published) < len(rows):
                failed_seq = rows[len(published)].seq
                await session.execute(
                    update(self.outbox)
                    .where(self.outbox.c.seq == failed_seq)
                    .values(attempts=self.outbox.c.attempts + 1, last_error=failure[:2000])
                )
        if failure is not None:
            raise ConnectionError(failure)
        return sent

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

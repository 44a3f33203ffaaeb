"""Transactional outbox: events are rows in the business transaction; a relay publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, Table, func, insert, select, update
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
        """Publish one batch; returns how many rows were sent.

        No write lock is held while waiting on NATS: on SQLite (one database lock for every writer) the batch is
        read in a read-only transaction, published, and then marked sent in a short write transaction, so a hung
        broker slows nothing but the relay. On PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED``
        (row locks on these outbox rows only: business writes are not blocked) so several replicas never publish
        the same row; a row published twice anyway (a crash before the mark) is de-duplicated by its
        ``Nats-Msg-Id`` and by every consumer's inbox.
        """
        if self._skip_locked:
            async with self.db.transaction() as session:
                rows = (await session.execute(self._pending().with_for_update(skip_locked=True))).all()
                published, failure = await self._publish(rows)
                await self._mark(session, rows, published, failure)
        else:
            async with self.db.transaction(write=False) as session:
                rows = (await session.execute(self._pending())).all()
            published, failure = await self._publish(rows)
            if rows:
                async with self.db.transaction() as session:
                    await self._mark(session, rows, published, failure)
        if failure is not None:
            raise ConnectionError(failure)
        return len(published)

    def _pending(self) -> Select[Any]:
        outbox = self.outbox
        return (
            select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(self.batch_size)
        )

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

    async def _mark(
        self, session: AsyncSession, rows: Sequence[Row[Any]], published: list[int], failure: str | None
    ) -> None:
        outbox = self.outbox
        if published:
            await session.execute(update(outbox).where(outbox.c.seq.in_(published)).values(sent_at=datetime.now(UTC)))
        done = set(published)
        failed = [r.seq for r in rows if r.seq not in done]
        if failure is not None and failed:
            await session.execute(
                update(outbox)
                .where(outbox.c.seq.in_(failed))
                .values(attempts=outbox.c.attempts + 1, last_error=failure[:2000])
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

"""Durable pull consumers with an inbox: applied once, acked after commit, dead-lettered after N tries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from pydantic import ValidationError
from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.nats import NatsBus
from shared.bus.publish import Publisher
from shared.clock import Clock, SystemClock
from shared.db import Database, PlatformTables
from shared.errors import Conflict, NotFound
from shared.events.catalogue import STREAMS, SUBJECT_PREFIX, EventBase, UnknownEvent, parse_event

log = logging.getLogger("kam.consumer")


ExtraT = TypeVar("ExtraT")


@dataclass(frozen=True)
class HandlerContext(Generic[ExtraT]):
    """What a handler may use besides the session: the service's tables, clock, publisher and typed extras.

    ``extra`` is the service's own dependencies for its handlers (e.g. the complaint rules), built once at start;
    ``None`` for a service that needs none.
    """

    service: str
    tables: PlatformTables
    publisher: Publisher
    clock: Clock = field(default_factory=SystemClock)
    extra: ExtraT = None  # type: ignore[assignment]


Handler = Callable[[AsyncSession, Any, HandlerContext[Any]], Awaitable[None]]
# Handlers are registered by event class (cosmicpython's EVENT_HANDLERS): a typo is an import error, not silence.
Handlers = Mapping[type[EventBase], Sequence[Handler]]


def merge_handlers(*tables: Handlers) -> dict[type[EventBase], list[Handler]]:
    """Combine handler tables, keeping order (the first table's handlers run first)."""
    merged: dict[type[EventBase], list[Handler]] = {}
    for table in tables:
        for event_class, handlers in table.items():
            merged.setdefault(event_class, []).extend(handlers)
    return merged


class HandlerFailed(Exception):
    """A handler raised; carries the original error text."""


# The most inbox rows claimed by one statement (a chunk of a consumer transaction's events).
CLAIM_CHUNK = 64


def _insert_ignore(session: AsyncSession, table: Table) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


class EventConsumer:
    """Consumes the domains its handlers need, as durable pull consumers named after the service."""

    def __init__(
        self,
        *,
        db: Database,
        bus: NatsBus,
        context: HandlerContext[Any],
        handlers: Handlers,
        batch_size: int = 64,
        max_attempts: int = 5,
        retry_delay: float = 0.2,
        ack_wait: float = 5.0,
        group_seconds: float = 0.1,
        on_lag: Callable[[str, int], None] | None = None,
        on_dead_letter: Callable[[], None] | None = None,
        on_handled: Callable[[str, str], None] | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.context = context
        self.handlers = {cls.type_name(): list(v) for cls, v in handlers.items() if v}
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.ack_wait = ack_wait
        self.group_seconds = group_seconds
        self.on_lag = on_lag
        self.on_dead_letter = on_dead_letter
        self.on_handled = on_handled
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()

    @property
    def tables(self) -> PlatformTables:
        return self.context.tables

    @property
    def domains(self) -> list[str]:
        """The publishing domains this consumer reads."""
        return sorted({t.split(".", 1)[0] for t in self.handlers})

    async def process(self, event: EventBase) -> bool:
        """Apply an event once: inbox row and handler effects in one transaction. False if already applied."""
        async with self.db.transaction() as session:
            applied = await self._apply(session, event)
        if applied and self.on_handled is not None:
            self.on_handled(event.type, "applied")
        return applied

    async def _apply(self, session: AsyncSession, event: EventBase) -> bool:
        """The inbox row and the handlers' effects of one event in ``session`` (False: applied before)."""
        if not await self._claim(session, [event]):
            return False
        await self._handle(session, event)
        return True

    async def _claim(self, session: AsyncSession, events: Sequence[EventBase]) -> set[str]:
        """Insert the inbox rows of ``events`` in one statement; the ids not applied before (each id once)."""
        inbox = self.tables.inbox
        now = datetime.now(UTC)
        rows = {event.id: {"event_id": event.id, "event_type": event.type, "processed_at": now} for event in events}
        stmt = (
            _insert_ignore(session, inbox)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=[inbox.c.event_id])
            .returning(inbox.c.event_id)
        )
        with session.no_autoflush:  # the inbox rows depend on nothing pending (a handler's rows flush when needed)
            return set((await session.execute(stmt)).scalars().all())

    async def _handle(self, session: AsyncSession, event: EventBase) -> None:
        for handler in self.handlers.get(event.type, ()):
            await handler(session, event, self.context)

    async def _apply_together(self, pending: list[tuple[Msg, EventBase]], waiting: list[Msg]) -> None:
        """Apply fetched events in order, several per transaction: a transaction takes events until it has run for
        ``group_seconds`` (one commit for many small events, while a slow one does not hold the database for a
        whole batch), each acked once its transaction committed. When a handler raises, the transaction is rolled
        back: the events before the failing one are applied together again, and the failing one goes alone
        through ``handle_message`` (retried with a delay, dead-lettered after ``max_attempts``)."""
        loop = asyncio.get_running_loop()
        limit = len(pending)
        while pending:
            started, group = loop.time(), []
            try:
                async with self.db.transaction() as session:
                    # Inbox rows are claimed a chunk at a time, one statement each; chunks double (1, 2, 4 …) while
                    # time is left, so that a slow event still closes its transaction soon after it.
                    taken, size = 0, 1
                    while taken < limit and (taken == 0 or loop.time() - started < self.group_seconds):
                        chunk = pending[taken : min(limit, taken + size)]
                        fresh = await self._claim(session, [event for _, event in chunk])
                        for msg, event in chunk:
                            applied = event.id in fresh
                            fresh.discard(event.id)  # the same event twice in a chunk: applied once
                            if applied:
                                await self._handle(session, event)
                            group.append((msg, event, applied))
                        taken, size = taken + len(chunk), min(size * 2, CLAIM_CHUNK)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if 0 < len(group) < min(limit, len(pending)):  # the handler of event len(group) raised
                    limit = len(group)
                else:  # the first event, or the commit, failed: that event alone, then the rest together
                    log.info("event handled alone after a failure", extra={"error": str(exc)})
                    msg, _ = pending.pop(0)
                    await self._handle_alone(msg, waiting)
                    limit = len(pending)
                continue
            del pending[: len(group)]
            limit = len(pending)
            for msg, event, applied in group:
                if applied and self.on_handled is not None:
                    self.on_handled(event.type, "applied")
                try:
                    await msg.ack()
                except Exception as exc:  # lost with the connection: redelivered later, the inbox skips it
                    log.warning("ack failed", extra={"error": str(exc)})
                finally:
                    waiting.remove(msg)

    async def dead_letter(
        self, *, event_id: str, event_type: str, subject: str, payload: str, error: str, attempts: int
    ) -> None:
        """Record a poison event where operators can see and replay it."""
        async with self.db.transaction() as session:
            await session.execute(
                self.tables.dead_letters.insert().values(
                    event_id=event_id,
                    event_type=event_type,
                    subject=subject,
                    payload=payload,
                    error=error[:4000],
                    attempts=attempts,
                    created_at=datetime.now(UTC),
                    status="pending",
                )
            )
        if self.on_dead_letter is not None:
            self.on_dead_letter()
        log.error("event dead-lettered", extra={"event_id": event_id, "event_type": event_type, "error": error})

    async def handle_message(self, msg: Msg) -> None:
        """Parse, apply, ack; nak with delay on failure; dead-letter after ``max_attempts``."""
        raw = msg.data.decode("utf-8", errors="replace")
        try:
            event = parse_event(msg.data)
        except UnknownEvent:
            await msg.ack()  # a newer publisher's event type: not ours to handle
            return
        except ValidationError as exc:
            await self.dead_letter(
                event_id=(msg.headers or {}).get("Nats-Msg-Id", "unknown"),
                event_type=msg.subject.removeprefix(SUBJECT_PREFIX),
                subject=msg.subject,
                payload=raw,
                error=f"invalid envelope: {exc}",
                attempts=1,
            )
            await msg.ack()
            return
        if event.type not in self.handlers:
            await msg.ack()
            return
        try:
            await self.process(event)
        except Exception as exc:
            attempts = msg.metadata.num_delivered if msg.metadata else 1
            if attempts >= self.max_attempts:
                await self.dead_letter(
                    event_id=event.id,
                    event_type=event.type,
                    subject=msg.subject,
                    payload=raw,
                    error=f"{type(exc).__name__}: {exc}",
                    attempts=attempts,
                )
                await msg.ack()
            else:
                log.warning("handler failed, will retry", extra={"event_type": event.type, "attempt": attempts})
                await msg.nak(delay=self.retry_delay * attempts)
            return
        await msg.ack()

    async def handle_batch(self, msgs: Sequence[Msg]) -> None:
        """Handle fetched messages in order; the ones still waiting are kept in progress.

        Events this consumer handles are applied several per transaction (``_apply_together``); anything else —
        an unknown type, a malformed envelope, a type nobody here handles — goes through ``handle_message`` alone.
        ``ack_wait`` is short (a crashed consumer's in-flight events come back within seconds), so while a batch is
        worked through — or one slow handler runs — every message not yet acked is told ``in_progress`` each third
        of ``ack_wait`` and is not redelivered to another consumer meanwhile.
        """
        waiting = list(msgs)
        ticker = asyncio.create_task(self._keep_in_progress(waiting), name="consumer-in-progress")
        try:
            pending: list[tuple[Msg, EventBase]] = []
            for msg in msgs:
                event = self._handled_event(msg)
                if event is not None:
                    pending.append((msg, event))
                    continue
                if pending:  # keep the order: what came before is applied first
                    await self._apply_together(pending, waiting)
                await self._handle_alone(msg, waiting)
            if pending:
                await self._apply_together(pending, waiting)
        finally:
            ticker.cancel()

    def _handled_event(self, msg: Msg) -> EventBase | None:
        """The message's event when it parses and this consumer handles its type (else None)."""
        try:
            event = parse_event(msg.data)
        except (UnknownEvent, ValidationError):
            return None
        return event if event.type in self.handlers else None

    async def _handle_alone(self, msg: Msg, waiting: list[Msg]) -> None:
        try:
            await self.handle_message(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # ack/nak lost with the connection: redelivered later
            log.warning("message handling interrupted", extra={"error": str(exc)})
        finally:
            if msg in waiting:
                waiting.remove(msg)

    async def _keep_in_progress(self, waiting: list[Msg]) -> None:
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            for msg in list(waiting):
                try:
                    await msg.in_progress()
                except Exception as exc:  # the connection is gone: the message is redelivered later
                    log.debug("in-progress ack failed: %s", exc)

    async def _consume(self, domain: str) -> None:
        stream = STREAMS[domain]
        durable = self.context.service
        sub = None
        while sub is None:
            try:
                if not await self.bus.wait_connected(timeout=1.0):
                    continue
                await self.bus.ensure_streams([domain])
                assert self.bus.js is not None
                sub = await self.bus.js.pull_subscribe(
                    f"{SUBJECT_PREFIX}{domain}.>",
                    durable=durable,
                    stream=stream,
                    config=ConsumerConfig(
                        durable_name=durable,
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=self.ack_wait,
                        max_deliver=-1,
                        max_ack_pending=1000,
                    ),
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("subscribe failed, retrying", extra={"stream": stream, "error": str(exc)})
                await asyncio.sleep(0.5)
        self._subscribed_domains.add(domain)
        if self._subscribed_domains >= set(self.domains):
            self.subscribed.set()
        while True:
            try:
                msgs = await sub.fetch(self.batch_size, timeout=1.0)
            except (FetchTimeoutError, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("fetch failed", extra={"stream": stream, "error": str(exc)})
                await asyncio.sleep(0.2)
                continue
            await self.handle_batch(msgs)
            if self.on_lag is not None and msgs and msgs[-1].metadata is not None:
                self.on_lag(stream, int(msgs[-1].metadata.num_pending or 0))

    def start(self) -> None:
        """Start one pull loop per consumed domain."""
        self._subscribed_domains: set[str] = set()
        if not self.domains:
            self.subscribed.set()
        for domain in self.domains:
            self._tasks.append(asyncio.create_task(self._consume(domain), name=f"consume-{domain}"))

    async def stop(self) -> None:
        """Cancel the pull loops."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks.clear()


async def list_dead_letters(
    db: Database, tables: PlatformTables, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Dead letters, newest first, with the total count."""
    table = tables.dead_letters
    async with db.transaction(write=False) as session:
        query = select(table)
        count_query = select(func.count()).select_from(table)
        if status:
            query = query.where(table.c.status == status)
            count_query = count_query.where(table.c.status == status)
        rows = (await session.execute(query.order_by(table.c.id.desc()).limit(limit).offset(offset))).mappings().all()
        total = int(await session.scalar(count_query) or 0)
    return [dict(r) for r in rows], total


async def replay_dead_letter(consumer: EventConsumer, dead_letter_id: int) -> dict[str, Any]:
    """Run a dead-lettered event through the handlers again; marks it replayed on success."""
    table = consumer.tables.dead_letters
    async with consumer.db.transaction() as session:
        row = (await session.execute(select(table).where(table.c.id == dead_letter_id))).mappings().first()
    if row is None:
        raise NotFound(f"Dead letter {dead_letter_id} does not exist")
    if row["status"] == "replayed":
        raise Conflict(f"Dead letter {dead_letter_id} was already replayed")
    event = parse_event(row["payload"])
    try:
        applied = await consumer.process(event)
    except Exception as exc:
        async with consumer.db.transaction() as session:
            await session.execute(
                update(table).where(table.c.id == dead_letter_id).values(error=f"{type(exc).__name__}: {exc}"[:4000])
            )
        raise Conflict(f"Replay of dead letter {dead_letter_id} failed again: {type(exc).__name__}: {exc}") from exc
    async with consumer.db.transaction() as session:
        await session.execute(
            update(table).where(table.c.id == dead_letter_id).values(status="replayed", replayed_at=datetime.now(UTC))
        )
    return {"id": dead_letter_id, "event_id": event.id, "status": "replayed", "applied": applied}

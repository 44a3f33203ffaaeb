"""The one way a service publishes: a publisher bound to the service's name, outbox and clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.outbox import add_events
from shared.clock import Clock
from shared.events.catalogue import EventBase

E = TypeVar("E", bound=EventBase)


@dataclass(frozen=True)
class Publisher:
    """Writes events into the service's outbox inside the caller's transaction (sent only if it commits).

    The envelope's ``source`` is the service's name and its ``time`` the service's (injectable) clock, so no
    call site builds an envelope by hand.
    """

    service: str
    outbox: Table
    clock: Clock

    async def publish(
        self,
        session: AsyncSession,
        event_type: type[E],
        data: BaseModel,
        *,
        account_id: str | None,
        time: datetime | None = None,
    ) -> E:
        """Build ``event_type`` around its typed ``data`` and write it to the outbox; returns the event."""
        event = self.envelope(event_type, data, account_id=account_id, time=time)
        await add_events(session, self.outbox, [event], written_at=self.clock.now())
        return event

    async def publish_many(
        self,
        session: AsyncSession,
        event_type: type[E],
        items: Sequence[tuple[str | None, BaseModel]],
        *,
        time: datetime | None = None,
    ) -> list[E]:
        """Publish one ``event_type`` per ``(account_id, data)`` with a single outbox statement (bulk paths)."""
        now = self.clock.now()
        events = [self.envelope(event_type, data, account_id=a, time=time or now) for a, data in items]
        await add_events(session, self.outbox, events, written_at=now)
        return events

    def envelope(
        self, event_type: type[E], data: BaseModel, *, account_id: str | None, time: datetime | None = None
    ) -> E:
        """The event as it will be published (source and time filled in), without writing it."""
        return event_type.model_validate(
            {"source": self.service, "account_id": account_id, "time": time or self.clock.now(), "data": data}
        )

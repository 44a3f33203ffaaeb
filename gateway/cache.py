"""The composed-view cache: sections per account (and portfolio sections per caller scope).

Every entry carries the stamp (epoch, version) read *before* its fetch started; an invalidation bumps the
version, so a fetch that raced with a change is never stored. Concurrent misses share one fetch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

PORTFOLIO = "__portfolio__"
Stamp = tuple[int, int]


@dataclass(frozen=True)
class _Entry:
    stamp: Stamp
    fetched_at: float  # when the fetch started: the data is at most this old
    value: Any


class SectionCache:
    """Versioned entries; ``invalidate(account)`` and ``invalidate_all()`` make older entries unreachable.

    An entry is never served once its fetch started more than ``ttl_seconds`` ago (the hard bound on staleness,
    also for changes a service makes without an event); a hit older than ``refresh_after_seconds`` starts a
    background refresh, so that hot entries are replaced before they expire and readers rarely wait.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float,
        refresh_after_seconds: float | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.refresh_after = ttl_seconds / 2 if refresh_after_seconds is None else refresh_after_seconds
        self.now = now
        self.epoch = 0
        self.changes = 0  # any change anywhere: the portfolio's version
        self.versions: dict[str, int] = {}
        self.entries: dict[Hashable, _Entry] = {}
        self.inflight: dict[tuple[Hashable, Stamp], asyncio.Future[Any]] = {}
        self.background: set[asyncio.Task[Any]] = set()
        self.hits = 0
        self.misses = 0

    def stamp(self, scope: str) -> Stamp:
        """The current stamp of an account (or of the portfolio)."""
        if scope == PORTFOLIO:
            return (self.epoch, self.changes)
        return (self.epoch, self.versions.get(scope, 0))

    def invalidate(self, account_id: str | None) -> None:
        """An account changed (None: something changed, account unknown → everything)."""
        if account_id is None:
            self.invalidate_all()
            return
        self.versions[account_id] = self.versions.get(account_id, 0) + 1
        self.changes += 1

    def invalidate_all(self) -> None:
        """Forget everything (e.g. after a NATS reconnect, when events may have been missed)."""
        self.epoch += 1
        self.changes += 1
        self.entries.clear()
        self.versions.clear()

    def _fresh(self, key: Hashable, scope: str) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is None or entry.stamp != self.stamp(scope) or self.now() - entry.fetched_at > self.ttl:
            return None
        return entry

    def get(self, key: Hashable, scope: str) -> Any | None:
        """A fresh entry's value, or None."""
        entry = self._fresh(key, scope)
        return None if entry is None else entry.value

    def hit(self, key: Hashable, scope: str, fetch: Callable[[], Awaitable[tuple[Any, bool]]]) -> Any | None:
        """A fresh value without awaiting (starting a background refresh when it is getting old), or None."""
        entry = self._fresh(key, scope)
        if entry is None:
            return None
        self.hits += 1
        if self.now() - entry.fetched_at > self.refresh_after and (key, entry.stamp) not in self.inflight:
            task = asyncio.create_task(self._fetch(key, scope, fetch))
            self.background.add(task)
            task.add_done_callback(self._background_done)
        return entry.value

    async def get_or_fetch(self, key: Hashable, scope: str, fetch: Callable[[], Awaitable[tuple[Any, bool]]]) -> Any:
        """The cached value, or the result of ``fetch`` (shared by concurrent callers); ``fetch`` says if cacheable."""
        value = self.hit(key, scope, fetch)
        if value is not None:
            return value
        self.misses += 1
        return await self._fetch(key, scope, fetch)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled():
            task.exception()  # a failed refresh only means the next reader fetches

    async def _fetch(self, key: Hashable, scope: str, fetch: Callable[[], Awaitable[tuple[Any, bool]]]) -> Any:
        stamp = self.stamp(scope)
        flight_key = (key, stamp)
        pending = self.inflight.get(flight_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.inflight[flight_key] = future
        started = self.now()
        try:
            value, cacheable = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            self.inflight.pop(flight_key, None)
        future.set_result(value)
        if cacheable and self.stamp(scope) == stamp:
            self.entries[key] = _Entry(stamp, started, value)
        return value

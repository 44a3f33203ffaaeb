"""The composed-view cache: sections per account (and portfolio sections per caller scope), invalidated by version.

An entry keeps the version of its scope read *before* its fetch started and is served only while that version is
unchanged and the fetch started less than ``ttl_seconds`` ago; ``invalidate`` bumps a version, so a fetch that
raced with a change is never stored. Concurrent misses share one fetch. A hot entry is refreshed in the background
early enough for the refresh to land before the entry expires (its last fetch's duration ahead of the TTL): with
views that take most of the TTL to fetch, readers would otherwise wait for a fresh fetch in every TTL period.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

PORTFOLIO = "__portfolio__"
REFRESH_LEAD = 1.5  # a refresh starts this many of the entry's fetch durations before its TTL ends
Stamp = tuple[int, int]
V = TypeVar("V")
# A fetch returns the value and whether it may be stored (only complete answers are).
Fetch = Callable[[], Awaitable[tuple[V, bool]]]


@dataclass(frozen=True)
class _Entry(Generic[V]):
    stamp: Stamp
    fetched_at: float  # when the fetch started: the data is at most this old
    value: V
    took: float = 0.0  # how long the fetch took (when its refresh must start to replace it in time)


class SectionCache(Generic[V]):
    """Versioned entries per scope (an account id, or ``PORTFOLIO`` for what depends on every account).

    An entry is never served once its fetch started more than ``ttl_seconds`` ago (the hard bound on staleness,
    also for changes a service makes without an event); a hit older than ``refresh_after_seconds`` — or than the
    TTL less one and a half times the entry's own fetch duration, if that is sooner — starts a background refresh,
    so that hot entries are replaced before they expire and readers rarely wait.
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
        self.epoch = 0  # bumped by invalidate(None): every version at once
        self.changes = 0  # any change anywhere: the portfolio's version
        self.versions: dict[str, int] = {}
        self.entries: dict[Hashable, _Entry[V]] = {}
        self.inflight: dict[tuple[Hashable, Stamp], asyncio.Future[V]] = {}
        self.background: set[asyncio.Task[V]] = set()

    def _stamp(self, scope: str) -> Stamp:
        if scope == PORTFOLIO:
            return (self.epoch, self.changes)
        return (self.epoch, self.versions.get(scope, 0))

    def invalidate(self, account_id: str | None) -> None:
        """An account changed: bump its version and the portfolio's (None: unknown or everything → every version)."""
        self.changes += 1
        if account_id is not None:
            self.versions[account_id] = self.versions.get(account_id, 0) + 1
            return
        self.epoch += 1
        self.entries.clear()  # unreachable now; free them
        self.versions.clear()

    def _fresh(self, key: Hashable, scope: str) -> _Entry[V] | None:
        entry = self.entries.get(key)
        if entry is None or entry.stamp != self._stamp(scope) or self.now() - entry.fetched_at > self.ttl:
            return None
        return entry

    def get(self, key: Hashable, scope: str) -> V | None:
        """A fresh entry's value, or None (without refreshing it)."""
        entry = self._fresh(key, scope)
        return None if entry is None else entry.value

    def hit(self, key: Hashable, scope: str, refresh: Fetch[V]) -> V | None:
        """A fresh value without awaiting (starting a background ``refresh`` when it is getting old), or None."""
        entry = self._fresh(key, scope)
        if entry is None:
            return None
        refresh_after = min(self.refresh_after, self.ttl - REFRESH_LEAD * entry.took)
        if self.now() - entry.fetched_at > refresh_after and (key, entry.stamp) not in self.inflight:
            task = asyncio.create_task(self.fetch(key, scope, refresh))
            self.background.add(task)
            task.add_done_callback(self._background_done)
        return entry.value

    async def fetch(self, key: Hashable, scope: str, fetch: Fetch[V]) -> V:
        """Run ``fetch`` (or join the same fetch already in flight) and store its value if it may be stored."""
        stamp = self._stamp(scope)
        flight_key = (key, stamp)
        pending = self.inflight.get(flight_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
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
        if cacheable and self._stamp(scope) == stamp:
            self.entries[key] = _Entry(stamp, started, value, self.now() - started)
        return value

    def _background_done(self, task: asyncio.Task[V]) -> None:
        self.background.discard(task)
        if not task.cancelled():
            task.exception()  # a failed refresh only means the next reader fetches

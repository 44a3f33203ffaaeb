"""The view cache refreshes a hot entry early enough for the refresh to land before the entry's TTL ends."""

from __future__ import annotations

import asyncio

from gateway.cache import SectionCache


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_a_slow_fetch_is_refreshed_its_duration_ahead_of_the_ttl_and_never_served_past_it():
    clock = FakeTime()
    cache = SectionCache(ttl_seconds=0.1, refresh_after_seconds=0.08, now=clock)
    version = 0

    async def slow_fetch() -> tuple[dict[str, int], bool]:  # takes 40 ms of the (fake) clock
        nonlocal version
        version += 1
        clock.t += 0.04
        return {"v": version}, True

    assert await cache.fetch(("s",), "acc", slow_fetch) == {"v": 1}  # stored 40 ms old
    clock.t += 0.005  # 45 ms old: before refresh_after (80 ms), but a 40 ms refresh started at 80 ms would land late
    assert cache.hit(("s",), "acc", slow_fetch) == {"v": 1}
    assert len(cache.background) == 1, "the refresh starts 1.5 fetch durations before the TTL ends"
    await asyncio.gather(*cache.background)
    assert cache.get(("s",), "acc") == {"v": 2}
    clock.t += 0.101  # freshness is unchanged: past the TTL of its fetch start nothing is served
    assert cache.get(("s",), "acc") is None


async def test_a_fast_fetch_is_refreshed_only_after_refresh_after():
    clock = FakeTime()
    cache = SectionCache(ttl_seconds=0.1, refresh_after_seconds=0.08, now=clock)

    async def fast_fetch() -> tuple[dict[str, int], bool]:
        clock.t += 0.001
        return {"v": 1}, True

    await cache.fetch(("s",), "acc", fast_fetch)
    clock.t += 0.05
    assert cache.hit(("s",), "acc", fast_fetch) == {"v": 1}
    assert not cache.background
    clock.t += 0.03
    assert cache.hit(("s",), "acc", fast_fetch) == {"v": 1}
    assert len(cache.background) == 1
    await asyncio.gather(*cache.background)

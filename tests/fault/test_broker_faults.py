"""The broker fails while complaints are created through the gateway: nothing stored is lost or applied twice."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.fault.conftest import CONSUMERS
from tests.fault.harness import (
    ADMIN,
    FaultPlatform,
    complaint_events,
    create_complaints,
    expected_ids,
    inbox_ids,
    lock_waits,
    pending_outbox,
    probe_applications,
    report,
    stored_complaints,
    stream_event_ids,
)
from tests.support import wait_until

pytestmark = pytest.mark.fault


async def _all_applied(platform: FaultPlatform, stored: set[str]) -> bool:
    def check() -> bool:
        if pending_outbox(platform) != 0:
            return False
        return all(expected_ids(platform, stored, c) <= inbox_ids(platform, c) for c in CONSUMERS)

    return await asyncio.to_thread(check)


def _figures(platform: FaultPlatform, load, stored: set[str]) -> dict:
    expected = {c: expected_ids(platform, stored, c) for c in CONSUMERS}
    applications = probe_applications(platform)
    return {
        "requests": sum(load.statuses.values()),
        "answered_201": load.statuses[201],
        "stored": len(stored),
        "events_sent": len(set().union(*expected.values())),
        "delivered": {c: len(ids & inbox_ids(platform, c)) for c, ids in expected.items()},
        "applied_twice": sum(1 for i in expected["probe"] if applications[i] > 1),
        "lost": sum(len(ids - inbox_ids(platform, c)) for c, ids in expected.items()),
        "http_5xx": dict(load.causes),
        "longest_write_seconds": round(load.longest_seconds, 3),
    }


async def test_nats_killed_for_10s_and_stopped_for_10s_while_1000_complaints_are_created(fault_platform):
    platform, server = fault_platform, fault_platform.nats
    before = set(stored_complaints(platform))
    sqlite = platform.backend == "sqlite"  # the write-lock wait is SQLite's (BEGIN IMMEDIATE); PostgreSQL has none
    waits_before = await lock_waits(platform.services["complaints"].url) if sqlite else {}

    async def faults() -> None:
        await asyncio.sleep(4)  # the schedule of the faults, against the paced load below
        server.kill()
        await asyncio.sleep(10)
        server.start()
        await asyncio.sleep(5)
        server.pause()
        await asyncio.sleep(10)
        server.resume()

    load, _ = await asyncio.gather(create_complaints(platform, 1000, rate=30), faults())
    stored = stored_complaints(platform) - before
    assert set(load.created) == stored, "every 201 is stored, nothing else is"
    started = time.monotonic()
    await wait_until(lambda: _all_applied(platform, stored), timeout=120, message="every event applied")
    figures = _figures(platform, load, stored)
    figures["catch_up_seconds"] = round(time.monotonic() - started, 1)
    if sqlite:
        waits = await lock_waits(platform.services["complaints"].url)
        # The SQLite lock wait itself, measured inside complaints (BEGIN IMMEDIATE), not the client's round trip.
        figures["sqlite_lock_wait"] = {
            "write_transactions": int(waits["writes"] - waits_before["writes"]),
            "over_1s": int(waits["over_1s"] - waits_before["over_1s"]),
            "longest_seconds": round(waits["longest_seconds"], 3),
        }
    report("nats SIGKILL 10 s + SIGSTOP 10 s, 1,000 complaints", platform.backend, **figures)
    assert figures["stored"] + sum(load.causes.values()) == 1000
    assert all(cause.startswith("503") and "(Retry-After)" in cause for cause in load.causes), load.causes
    assert figures["applied_twice"] == 0 and figures["lost"] == 0
    assert all(figures["delivered"][c] == len(stored) for c in CONSUMERS), "one opened and one assigned each"
    # The longest create (client side, through the gateway) is a reported figure, not asserted: on a shared machine
    # it measures CPU contention. A write that waited out the SQLite lock budget would show as a 503 cause above.


async def test_broker_killed_with_minus_9_under_write_load_loses_no_acknowledged_event(fault_platform):
    platform, server = fault_platform, fault_platform.nats
    assert server.sync_interval == "always"  # the production durability setting
    load_started = datetime.now(UTC)
    before = set(stored_complaints(platform))

    async def crash() -> None:
        await asyncio.sleep(3)
        server.kill()
        server.start()

    load, _ = await asyncio.gather(create_complaints(platform, 300, rate=60), crash())
    stored = stored_complaints(platform) - before
    events = complaint_events(platform)
    ids = {i for c in stored for i in events[c].values()}
    await wait_until(lambda: _all_applied(platform, stored), timeout=120, message="every event applied")
    acknowledged = ids  # the outbox is drained: every one of them was acked by JetStream
    lost = acknowledged - await stream_event_ids(server.url)

    # The recovery path after a broker loss, shown even when nothing was lost: re-send what was sent since the load
    # began; JetStream's duplicate window and the consumers' inboxes make it harmless.
    async with httpx.AsyncClient(base_url=platform.api, headers=ADMIN, timeout=30) as api:
        response = await api.post("/complaints/admin/outbox/republish", json={"since": load_started.isoformat()})
    assert response.status_code == 200, response.text
    republished = response.json()["rows"]
    assert republished >= len(ids)
    await wait_until(lambda: _all_applied(platform, stored), timeout=60, message="republished rows sent")
    lost_after = acknowledged - await stream_event_ids(server.url)
    figures = _figures(platform, load, stored)
    report(
        "nats kill -9 under write load (sync_interval: always)",
        platform.backend,
        **figures,
        acknowledged=len(acknowledged),
        lost_at_broker=len(lost),
        republished=republished,
        lost_after_republish=len(lost_after),
    )
    assert lost_after == set()
    assert figures["applied_twice"] == 0 and figures["lost"] == 0
    assert all(cause.startswith("503") and "(Retry-After)" in cause for cause in load.causes), load.causes

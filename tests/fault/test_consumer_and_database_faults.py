"""A consumer killed mid-flow catches up once; a database that cannot be written says 503 and recovers."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import datetime

import httpx
import pytest

from shared.clock import ensure_aware
from tests.fault.harness import (
    ADMIN,
    SUPERVISOR,
    Load,
    asyncpg_dsn,
    create_complaints,
    inbox_ids,
    opened_event_ids,
    pending_outbox,
    probe_applications,
    query,
    report,
    stored_complaints,
)
from tests.support import wait_until

pytestmark = pytest.mark.fault


async def test_a_consumer_killed_mid_flow_and_restarted_applies_every_event_once(fault_platform):
    platform = fault_platform
    probe = platform.services["probe"]
    before = set(stored_complaints(platform))
    moments: dict[str, float] = {}

    async def crash() -> None:
        await asyncio.to_thread(lambda: wait_for_probe_applied(platform, before, 40))
        probe.kill()
        moments["killed_wall"] = time.time()
        probe.start()
        moments["restarted"] = time.monotonic()
        backlog = await asyncio.to_thread(lambda: set(opened_event_ids(platform).values()))  # stored at the restart
        await asyncio.to_thread(probe.wait_ready)
        moments["ready"] = time.monotonic()

        async def backlog_applied() -> bool:
            return await asyncio.to_thread(lambda: backlog <= inbox_ids(platform, "probe"))

        await wait_until(backlog_applied, timeout=60, message="the backlog at the restart applied")
        moments["backlog_applied"] = time.monotonic()

    async def load_then_note() -> Load:
        load = await create_complaints(platform, 300, rate=40)
        moments["load_done"] = time.monotonic()
        return load

    load, _ = await asyncio.gather(load_then_note(), crash())
    events = opened_event_ids(platform)
    stored = stored_complaints(platform) - before
    ids = {events[c] for c in stored}

    async def caught_up() -> bool:
        return await asyncio.to_thread(lambda: pending_outbox(platform) == 0 and ids <= inbox_ids(platform, "probe"))

    await wait_until(caught_up, timeout=60, message="the restarted probe catches up")
    done = time.monotonic()
    restarted = moments["restarted"]
    applications = probe_applications(platform)
    figures = {
        "stored": len(stored),
        "events_sent": len(ids),
        "delivered": {"probe": len(ids & inbox_ids(platform, "probe"))},
        "applied_twice": sum(1 for i in ids if applications[i] > 1),
        "lost": len(ids - inbox_ids(platform, "probe")),
        "http_5xx": dict(load.causes),
        # Where the time goes: process start (restart → /readyz 200), the first application after the restart,
        # then draining what the load kept writing meanwhile.
        "start_up_seconds": round(moments["ready"] - restarted, 1),
        "first_application_after_kill_seconds": round(first_application_after(platform, moments["killed_wall"]), 1),
        # The catch-up proper: every event stored before the restart applied (includes the dead consumer's
        # unacked deliveries, which come back after ack_wait).
        "backlog_at_restart_applied_seconds": round(moments["backlog_applied"] - restarted, 1),
        "load_ended_seconds_after_restart": round(moments["load_done"] - restarted, 1),
        "catch_up_seconds": round(done - restarted, 1),
        "caught_up_after_ready_and_last_write_seconds": round(done - max(moments["ready"], moments["load_done"]), 1),
    }
    report("consumer SIGKILL mid-flow and restart", platform.backend, **figures)
    assert figures["applied_twice"] == 0 and figures["lost"] == 0 and load.statuses[201] == len(stored)
    assert figures["backlog_at_restart_applied_seconds"] < 45, figures  # a sanity bound; the figures are reported


def first_application_after(platform, killed_wall: float) -> float:
    """Seconds from the kill to the restarted probe's first application (its own clock, in its database)."""
    rows = query(platform, "probe", "SELECT applied_at FROM applications ORDER BY id DESC LIMIT 2000")
    stamps = [r[0] if isinstance(r[0], datetime) else datetime.fromisoformat(r[0]) for r in rows]  # PG: a datetime
    after = [ensure_aware(stamp).timestamp() for stamp in stamps]
    return min((t for t in after if t > killed_wall), default=float("nan")) - killed_wall


def wait_for_probe_applied(platform, before: set[str], count: int) -> None:
    """Block until the probe applied ``count`` of the new complaints' events (mid-flow)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events = opened_event_ids(platform)
        new = {events[c] for c in stored_complaints(platform) - before if c in events}
        if len(new & set(probe_applications(platform))) >= count:
            return
        time.sleep(0.05)  # polling another process's database: there is no event to await
    raise AssertionError("the probe did not start applying")


def _immutable(paths, on: bool) -> None:
    for path in paths:
        if path.exists():
            subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)


async def _pg_read_only(url: str, on: bool) -> None:
    """Make a PostgreSQL database refuse writes (or take them again) and end its sessions, so the service's pool
    reconnects under the new default."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    # From the server's maintenance database: a session in the read-only one could not undo the setting.
    conn = await asyncpg.connect(asyncpg_dsn(make_url(url).set(database="postgres").render_as_string(False)))
    try:
        setting = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
        await conn.execute(f'ALTER DATABASE "{name}" {setting}')
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()


async def _read_only(platform, on: bool) -> None:
    """The complaints database cannot be written (SQLite: its files immutable; PostgreSQL: read-only by default)."""
    if platform.backend == "sqlite":
        # As root, chattr +i is what makes a file unwritable (permissions are not).
        _immutable([platform.db("complaints"), platform.workdir / "complaints.db-wal"], on)
    else:
        await _pg_read_only(platform.databases["complaints"], on)


async def test_a_read_only_database_answers_503_with_retry_after_the_others_unaffected_then_recovers(fault_platform):
    platform = fault_platform
    complaints, notifications = platform.services["complaints"], platform.services["notifications"]
    body = {
        "account_id": platform.account_id,
        "title": "只读数据库期间的投诉",
        "description": "写入应被拒绝并提示稍后重试。",
        "category": "product_quality",
    }
    async with httpx.AsyncClient(base_url=platform.api, headers=SUPERVISOR, timeout=30) as api:
        await _read_only(platform, True)
        try:
            refused = [await api.post("/complaints", json=body) for _ in range(5)]
            reads = [await api.get("/complaints", params={"limit": 5}) for _ in range(5)]
            ready = await api.get(f"{complaints.url}/readyz")
            others = await api.get(f"{notifications.url}/readyz")
            other_api = await api.get("/notifications/deliveries", headers=ADMIN, params={"limit": 5})
        finally:
            await _read_only(platform, False)
        recovered = await api.post("/complaints", json=body)
        ready_after = await api.get(f"{complaints.url}/readyz")
    report(
        "read-only database (complaints)",
        platform.backend,
        writes_refused=sum(r.status_code == 503 for r in refused),
        retry_after=sorted({r.headers.get("retry-after") for r in refused}),
        reads_ok=sum(r.status_code == 200 for r in reads),
        readyz=f"{ready.status_code} {ready.json()['database']}",
        other_service_readyz=others.status_code,
        recovered_write=recovered.status_code,
    )
    assert [r.status_code for r in refused] == [503] * 5
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in refused)
    assert all(r.headers.get("retry-after") for r in refused)
    assert [r.status_code for r in reads] == [200] * 5, "the gateway did not open the breaker for reads"
    assert ready.status_code == 503 and ready.json()["database"].startswith("not writable")
    assert others.status_code == 200 and others.json()["database"] == "writable"
    assert other_api.status_code == 200, other_api.text
    assert recovered.status_code == 201, recovered.text
    assert ready_after.status_code == 200

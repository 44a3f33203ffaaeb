"""Two replicas of one service on one database and one NATS: consumed events handled once, outbox rows published
once, and a replica SIGKILLed mid-flow loses nothing (the survivor takes over its lease and its deliveries)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import nats
import pytest
from sqlalchemy import func, select, update

from shared.bus import OutboxRelay
from shared.bus.nats import NatsBus
from shared.bus.outbox import add_events
from shared.db import Database, add_platform_tables, make_metadata
from shared.events import AccountRegistered, ComplaintOpened
from shared.nats_server import free_port
from tests.gateway.platform import ServiceProcess, publish_events
from tests.platform import replica_app
from tests.support import POSTGRES_URL, create_postgres_database, drop_postgres_database, wait_until


class CountingBus(NatsBus):
    """A real NATS bus that records every publish it made."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(url, name=name)
        self.published: list[str] = []

    async def publish(self, subject: str, payload: bytes, *, msg_id: str) -> None:
        await super().publish(subject, payload, msg_id=msg_id)
        self.published.append(msg_id)


def registered(i: int) -> AccountRegistered:
    return AccountRegistered(source="scoring", account_id=str(uuid.uuid4()), data={"name": f"客户{i}"})


async def test_a_dead_relays_lease_expires_and_another_relay_publishes_its_rows_once(make_database, nats_url):
    """Claim is a committed lease, not a lock: a relay that claimed and died blocks nothing and nobody else takes
    its rows until the lease expires; then another relay publishes them; the dead one's late mark changes nothing."""
    metadata = make_metadata()
    tables = add_platform_tables(metadata)
    url = await make_database("lease")
    db_a, db_b = Database(url), Database(url)
    bus_a, bus_b = CountingBus(nats_url, "relay-a"), CountingBus(nats_url, "relay-b")
    try:
        async with db_a.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        events = [registered(i) for i in range(30)]
        async with db_a.transaction() as session:
            await add_events(session, tables.outbox, events, written_at=datetime.now(UTC))
        for bus in (bus_a, bus_b):
            await bus.start()
            assert await bus.wait_connected(10)
            await bus.ensure_streams(["accounts"])
        dead = OutboxRelay(db=db_a, outbox=tables.outbox, bus=bus_a, batch_size=20, lease_seconds=1.5)
        survivor = OutboxRelay(db=db_b, outbox=tables.outbox, bus=bus_b, batch_size=50, lease_seconds=30)
        claimed = await dead._claim()  # claims, commits ... and "dies" before publishing
        assert len(claimed) == 20
        claimed_seqs = [r.seq for r in claimed]
        # No lock is held on the claimed rows: another connection updates them at once.
        async with asyncio.timeout(3), db_b.transaction() as session:
            touched = await session.execute(
                update(tables.outbox)
                .where(tables.outbox.c.seq.in_(claimed_seqs))
                .values(attempts=tables.outbox.c.attempts)
            )
        assert touched.rowcount == 20  # type: ignore[attr-defined]
        assert await survivor.run_once() == 10, "leased rows are not taken while the lease runs"
        await wait_until(survivor.run_once, timeout=10, message="the dead relay's lease to expire and be taken over")
        await dead._mark(claimed, [r.seq for r in claimed], None)  # a late mark of rows no longer its own
        async with db_a.transaction(write=False) as session:
            rows = (await session.execute(select(tables.outbox.c.claimed_by, tables.outbox.c.sent_at))).all()
        assert all(r.sent_at is not None for r in rows)
        assert {r.claimed_by for r in rows} == {survivor.relay_id}
        assert sorted(bus_b.published) == sorted(e.id for e in events)
        assert bus_a.published == []
    finally:
        await bus_a.close()
        await bus_b.close()
        await db_a.dispose()
        await db_b.dispose()


def opened(i: int) -> ComplaintOpened:
    return ComplaintOpened(
        source="complaints",
        account_id=str(uuid.uuid4()),
        data={
            "complaint_id": str(uuid.uuid4()),
            "category": "product_quality",
            "severity": "medium",
            "opened_at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC) + timedelta(seconds=i),
        },
    )


async def _counts(db: Database) -> tuple[Counter[str], set[int], int, set[str]]:
    """Applications per event id, the replicas that applied, pending outbox rows, relays that sent."""
    table, outbox = replica_app.applications, replica_app.platform.outbox
    async with db.transaction(write=False) as session:
        rows = (await session.execute(select(table.c.event_id, table.c.replica))).all()
        pending = int(await session.scalar(select(func.count()).where(outbox.c.sent_at.is_(None))) or 0)
        relays = set((await session.execute(select(outbox.c.claimed_by).distinct())).scalars())
    return Counter(r.event_id for r in rows), {r.replica for r in rows}, pending, {r for r in relays if r}


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs KAM_TEST_POSTGRES_URL (replicas share one PostgreSQL)")
async def test_two_replicas_on_one_postgres_handle_and_publish_once_and_a_killed_one_loses_nothing(nats_url, tmp_path):
    assert POSTGRES_URL is not None
    url = await create_postgres_database(POSTGRES_URL)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(replica_app.metadata.create_all)
    nc = await nats.connect(nats_url)
    on_the_wire: Counter[str] = Counter()  # every publish of an echo event, duplicates included (core NATS)

    async def _seen(msg: nats.aio.msg.Msg) -> None:
        on_the_wire[json.loads(msg.data)["id"]] += 1

    await nc.subscribe("kam.accounts.>", cb=_seen)
    env = {"database_url": url, "relay_lease_seconds": "2", "consumer_batch_size": "16"}
    replicas = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        replica = ServiceProcess(
            "replica", free_port(), tmp_path / name, nats_url, factory="tests.platform.replica_app:create_app"
        )
        replica.extra_env.update(env)
        replicas.append(replica.start())
    try:
        for replica in replicas:
            await asyncio.to_thread(replica.wait_ready)
        # Normal case: both replicas consume (one durable consumer) and both relays publish.
        first = [opened(i) for i in range(200)]
        await publish_events(nats_url, *first)

        async def settled(expected: int) -> bool:
            applied, _, pending, _ = await _counts(db)
            return len(applied) >= expected and pending == 0 and len(on_the_wire) >= expected

        await wait_until(lambda: settled(200), timeout=90, message="200 events applied and echoed")
        applied, by, _, relays = await _counts(db)
        assert set(applied) == {e.id for e in first} and set(applied.values()) == {1}, "each handled exactly once"
        assert len(by) == 2, "both replicas consumed"
        assert len(relays) == 2, "both relays published"
        await nc.flush()
        assert len(on_the_wire) == 200 and set(on_the_wire.values()) == {1}, "each outbox row published once"

        # One replica is SIGKILLed mid-flow; the survivor finishes.
        second = [opened(i) for i in range(200, 500)]
        publishing = asyncio.create_task(publish_events(nats_url, *second))

        async def mid_flow() -> bool:
            return len((await _counts(db))[0]) >= 260

        await wait_until(mid_flow, timeout=60, message="the second load under way")
        replicas[0].kill()
        await publishing
        await wait_until(lambda: settled(500), timeout=90, message="the survivor finishes")
        applied, _, pending, _ = await _counts(db)
        async with db.transaction(write=False) as session:
            echoes = set((await session.execute(select(replica_app.applications.c.echo_id))).scalars())
        assert set(applied) == {e.id for e in first + second}, "nothing lost"
        assert set(applied.values()) == {1}, "a redelivery after the kill was deduped, not applied again"
        assert pending == 0 and echoes <= set(on_the_wire), "every outbox row published"
        print(
            f"\nREPLICAS after SIGKILL: 500 applied once; {sum(on_the_wire.values()) - len(on_the_wire)} "
            "echo events published twice (deduped by Nats-Msg-Id and inboxes)"
        )
    finally:
        for replica in replicas:
            replica.stop()
        await nc.close()
        await db.dispose()
        await drop_postgres_database(url)

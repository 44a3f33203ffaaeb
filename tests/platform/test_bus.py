"""The event bus: outbox → NATS JetStream → inbox, exactly-once effects, outages, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from datetime import UTC, datetime

import nats
import pytest
from sqlalchemy import func, select

from services.complaints.app import create_app as create_complaints
from services.complaints.config import ComplaintsSettings
from services.complaints.models import platform as complaints_tables
from services.scoring.app import create_app as create_scoring
from services.scoring.config import ScoringSettings
from services.scoring.models import platform as scoring_tables
from shared.bus import OutboxRelay
from shared.bus.nats import NatsBus
from shared.bus.outbox import add_events
from shared.db import Database, add_platform_tables, make_metadata
from shared.events import AccountRegistered
from shared.nats_server import NatsServer
from tests.platform import probe
from tests.support import POSTGRES_URL, auth, running, service_settings, wait_until


def registered(name: str, account_id: str | None = None) -> AccountRegistered:
    return AccountRegistered(
        source="scoring",
        account_id=account_id or str(uuid.uuid4()),
        data={"name": name, "industry": "制造业", "owner_id": "am-1", "team_member_ids": ["am-2"]},
    )


async def publish_through_outbox(app, *events: AccountRegistered) -> None:
    async with app.state.db.transaction() as session:
        for event in events:
            await add_events(session, scoring_tables.outbox, [event], written_at=datetime.now(UTC))


async def test_outbox_event_is_handled_once_by_another_service_and_rollback_publishes_nothing(make_database, nats_url):
    scoring = create_scoring(
        service_settings(ScoringSettings, database_url=await make_database("scoring"), nats_url=nats_url)
    )
    complaints = create_complaints(
        service_settings(ComplaintsSettings, database_url=await make_database("complaints"), nats_url=nats_url)
    )
    async with running(scoring), running(complaints):
        # A transaction that rolls back leaves no outbox row and so publishes nothing.
        ghost = registered("回滚的客户")
        with pytest.raises(RuntimeError):
            async with scoring.state.db.transaction() as session:
                await add_events(session, scoring_tables.outbox, [ghost], written_at=datetime.now(UTC))
                raise RuntimeError("business rule failed")
        event = registered("华为技术有限公司")
        await publish_through_outbox(scoring, event)

        async def projected():
            async with complaints.state.db.transaction() as session:
                return (
                    (
                        await session.execute(
                            select(complaints_tables.accounts).where(
                                complaints_tables.accounts.c.account_id == event.account_id
                            )
                        )
                    )
                    .mappings()
                    .first()
                )

        row = await wait_until(projected, message="account projected in complaints")
        assert row["name"] == "华为技术有限公司"
        assert row["industry"] == "制造业"
        async with complaints.state.db.transaction() as session:
            inbox_ids = (await session.execute(select(complaints_tables.inbox.c.event_id))).scalars().all()
            ghost_row = await session.scalar(
                select(complaints_tables.accounts.c.account_id).where(
                    complaints_tables.accounts.c.account_id == ghost.account_id
                )
            )
            members = (
                (
                    await session.execute(
                        select(complaints_tables.account_access.c.user_id).where(
                            complaints_tables.account_access.c.account_id == event.account_id
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert inbox_ids == [event.id]
        assert ghost_row is None
        assert sorted(members) == ["am-1", "am-2"]
        async with scoring.state.db.transaction() as session:
            outbox_ids = (await session.execute(select(scoring_tables.outbox.c.event_id))).scalars().all()
        assert outbox_ids == [event.id]


async def test_nats_outage_of_five_seconds_loses_and_duplicates_nothing(make_database, tmp_path):
    server = NatsServer(tmp_path / "nats").start()
    try:
        scoring = create_scoring(
            service_settings(ScoringSettings, database_url=await make_database("scoring"), nats_url=server.url)
        )
        probe_url = await make_database("probe")
        await probe.create_probe_tables(probe_url)
        consumer = probe.create_probe(probe_url, server.url)
        async with running(scoring), running(consumer):
            await wait_until(lambda: _is_subscribed(consumer), message="probe subscribed")
            server.stop()
            stopped_at = time.monotonic()
            await wait_until(lambda: _disconnected(scoring), message="scoring notices the outage")
            events = [registered(f"客户{i:03d}") for i in range(200)]
            for chunk in range(0, 200, 20):  # many separate business transactions during the outage
                await publish_through_outbox(scoring, *events[chunk : chunk + 20])
            remaining = 5.0 - (time.monotonic() - stopped_at)
            if remaining > 0:
                await asyncio.sleep(remaining)  # keep the broker away for the whole outage window
            server.start()
            await wait_until(lambda: _count_at_least(consumer, 200), timeout=60, message="all 200 events applied")
            rows = await probe.applied(consumer)
            ids = [event_id for event_id, _ in rows]
            assert len(ids) == 200
            assert set(ids) == {e.id for e in events}
    finally:
        server.stop()


async def _is_subscribed(app) -> bool:
    return app.state.consumer.subscribed.is_set()


async def _disconnected(app) -> bool:
    return not app.state.bus.connected


async def _count_at_least(app, n: int) -> bool:
    return await probe.applied_count(app) >= n


async def test_the_same_event_delivered_twice_is_applied_once(sqlite_database, nats_url):
    url = await sqlite_database("probe")
    await probe.create_probe_tables(url)
    consumer = probe.create_probe(url, nats_url)
    async with running(consumer):
        await wait_until(lambda: _is_subscribed(consumer), message="probe subscribed")
        event = registered("重复投递")
        marker = registered("marker")
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        # Different message ids defeat JetStream's de-duplication, so the consumer really receives it twice.
        await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": "a"})
        await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": "b"})
        await js.publish(marker.subject, marker.model_dump_json().encode())
        await nc.close()
        await wait_until(lambda: _has(consumer, marker.id), message="marker applied")
        rows = await probe.applied(consumer)
        assert [r for r in rows if r[0] == event.id] == [(event.id, "重复投递")]


async def _has(app, event_id: str) -> bool:
    return any(r[0] == event_id for r in await probe.applied(app))


async def test_poison_event_is_dead_lettered_others_flow_and_replay_succeeds(sqlite_database, nats_url):
    url = await sqlite_database("probe")
    await probe.create_probe_tables(url)
    consumer = probe.create_probe(url, nats_url, consumer_max_attempts=3)
    async with running(consumer, headers=auth("admin")) as client:
        await wait_until(lambda: _is_subscribed(consumer), message="probe subscribed")
        poison = registered("poison-客户")
        after = registered("后续客户")
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await js.publish(poison.subject, poison.model_dump_json().encode(), headers={"Nats-Msg-Id": poison.id})
        await js.publish(after.subject, after.model_dump_json().encode(), headers={"Nats-Msg-Id": after.id})
        await nc.close()
        await wait_until(lambda: _has(consumer, after.id), message="later event applied despite the poison one")

        async def dead_letters():
            response = await client.get("/probe/admin/dead-letters")
            assert response.status_code == 200, response.text
            body = response.json()
            return body if body["total"] else None

        body = await wait_until(dead_letters, message="poison event dead-lettered")
        assert body["total"] == 1
        letter = body["items"][0]
        assert letter["event_id"] == poison.id
        assert letter["attempts"] == 3
        assert "cannot handle poison-客户" in letter["error"]
        assert not await _has(consumer, poison.id)

        # Still failing: replay reports it and keeps the letter pending.
        response = await client.post(f"/probe/admin/dead-letters/{letter['id']}/replay")
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")

        consumer.state.poison_fails = False  # the fix is deployed
        response = await client.post(f"/probe/admin/dead-letters/{letter['id']}/replay")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "replayed"
        assert [r for r in await probe.applied(consumer) if r[0] == poison.id] == [(poison.id, "poison-客户")]
        again = await client.post(f"/probe/admin/dead-letters/{letter['id']}/replay")
        assert again.status_code == 409
        assert (await client.get("/probe/admin/dead-letters", headers=auth("viewer"))).status_code == 403


async def test_a_backlog_is_applied_many_events_per_transaction_in_order_and_a_poison_one_alone(
    sqlite_database, nats_url
):
    """Fetched events are applied several per transaction (one commit for many, the bus's throughput; their inbox
    rows claimed a chunk per statement); a handler that raises rolls back only its transaction, whose events are
    then handled one by one: the poison event is dead-lettered, everything else is applied once (an event
    delivered twice in one chunk too), in the order published."""
    url = await sqlite_database("probe")
    await probe.create_probe_tables(url)
    first = probe.create_probe(url, nats_url, consumer_max_attempts=2)
    async with running(first):  # the durable consumer exists; the backlog below waits for the next start
        await wait_until(lambda: _is_subscribed(first), message="probe subscribed")
    events = [registered(f"积压客户{i}") for i in range(40)]
    events.insert(25, registered("poison-积压"))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for event in events:
        await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
        if event is events[10]:  # the same event again at once (another message id): in the same inbox claim
            await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": "again"})
    await nc.close()
    consumer = probe.create_probe(url, nats_url, consumer_max_attempts=2)
    async with running(consumer, headers=auth("admin")) as client:
        await wait_until(lambda: _has(consumer, events[-1].id), message="backlog applied")

        async def dead_lettered():
            return (await client.get("/probe/admin/dead-letters")).json()["total"] == 1

        await wait_until(dead_lettered, message="poison event dead-lettered")
        rows = await probe.applied(consumer)
        assert rows == [(e.id, e.data.name) for e in events if not e.data.name.startswith("poison")]
        assert await probe.transactions(consumer) < len(rows) / 2  # grouped (one per event before)


class CountingBus(NatsBus):
    """A real NATS bus that also counts what it was asked to publish."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(url, name=name)
        self.published: list[str] = []

    async def publish(self, subject: str, payload: bytes, *, msg_id: str) -> None:
        await super().publish(subject, payload, msg_id=msg_id)
        self.published.append(msg_id)


@pytest.mark.skipif(
    POSTGRES_URL is None, reason="needs KAM_TEST_POSTGRES_URL (SKIP LOCKED is PostgreSQL-only); .ci/run sets it"
)
async def test_two_relays_on_one_postgres_outbox_publish_each_row_once(nats_url):
    from tests.support import create_postgres_database, drop_postgres_database

    url = await create_postgres_database(POSTGRES_URL)
    metadata = make_metadata()
    tables = add_platform_tables(metadata)
    db_a, db_b = Database(url), Database(url)
    bus_a, bus_b = CountingBus(nats_url, "relay-a"), CountingBus(nats_url, "relay-b")
    try:
        async with db_a.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        events = [registered(f"客户{i}") for i in range(600)]
        async with db_a.transaction() as session:
            for event in events:
                await add_events(session, tables.outbox, [event], written_at=datetime.now(UTC))
        for bus in (bus_a, bus_b):
            await bus.start()
            assert await bus.wait_connected(10)
            await bus.ensure_streams(["accounts"])
        relay_a = OutboxRelay(db=db_a, outbox=tables.outbox, bus=bus_a, batch_size=25)
        relay_b = OutboxRelay(db=db_b, outbox=tables.outbox, bus=bus_b, batch_size=25)

        async def drain(relay: OutboxRelay) -> None:
            while await relay.run_once():
                pass

        await asyncio.gather(drain(relay_a), drain(relay_b), drain(relay_a), drain(relay_b))
        published = bus_a.published + bus_b.published
        assert sorted(published) == sorted(e.id for e in events)
        assert bus_a.published and bus_b.published, "both relays took part"
        async with db_a.transaction() as session:
            pending = await session.scalar(
                select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
            )
        assert pending == 0
    finally:
        await bus_a.close()
        await bus_b.close()
        await db_a.dispose()
        await db_b.dispose()
        await drop_postgres_database(url)


class WatchedBus(CountingBus):
    """A real NATS bus that says when a publish has started (so a test can act while it waits for its ack)."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(url, name)
        self.publishing = asyncio.Event()

    async def publish(self, subject: str, payload: bytes, *, msg_id: str) -> None:
        self.publishing.set()
        await super().publish(subject, payload, msg_id=msg_id)


async def test_a_hung_broker_does_not_block_business_writes_on_sqlite(sqlite_database, nats_server):
    """The relay holds no write lock while it waits for NATS acks: a SIGSTOPped broker slows nothing else."""
    db = Database(await sqlite_database("hung"))
    metadata = make_metadata()
    tables = add_platform_tables(metadata)
    bus = WatchedBus(nats_server.url, "relay-hung")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await bus.start()
        assert await bus.wait_connected(10)
        await bus.ensure_streams(["accounts"])
        events = [registered(f"挂起{i}") for i in range(5)]
        async with db.transaction() as session:
            await add_events(session, tables.outbox, events, written_at=datetime.now(UTC))
        relay = OutboxRelay(db=db, outbox=tables.outbox, bus=bus)
        assert nats_server.process is not None
        nats_server.process.send_signal(signal.SIGSTOP)
        try:
            publishing = asyncio.create_task(relay.run_once())
            await asyncio.wait_for(bus.publishing.wait(), 5)
            # A business write while the relay waits on the hung broker: it commits (at once, not after the ack).
            async with asyncio.timeout(3), db.transaction() as session:
                await add_events(session, tables.outbox, [registered("写入")], written_at=datetime.now(UTC))
        finally:
            nats_server.process.send_signal(signal.SIGCONT)
        with contextlib.suppress(ConnectionError):
            await publishing  # the acks of a stopped broker may have timed out: those rows stay pending
        while await relay.run_once():
            pass
        async with db.transaction(write=False) as session:
            pending = await session.scalar(
                select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
            )
        assert pending == 0
        assert set(bus.published) >= {e.id for e in events}
    finally:
        await bus.close()
        await db.dispose()


async def test_pruning_deletes_only_old_sent_rows_and_inbox_ids_past_their_retention(sqlite_database):
    from datetime import timedelta

    from prometheus_client import CollectorRegistry

    from shared.bus.retention import RetentionMetrics, prune

    db = Database(await sqlite_database("prune"))
    metadata = make_metadata()
    tables = add_platform_tables(metadata)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        rows = {"old-sent": (10, 10), "young-sent": (1, 1), "old-unsent": (30, None)}  # (created, sent) days ago
        async with db.transaction() as session:
            for name, (created, sent) in rows.items():
                await session.execute(
                    tables.outbox.insert().values(
                        event_id=name,
                        subject="kam.accounts.registered",
                        payload="{}",
                        created_at=now - timedelta(days=created),
                        sent_at=None if sent is None else now - timedelta(days=sent),
                        attempts=0,
                    )
                )
            for name, days in {"inbox-old": 101, "inbox-young": 99}.items():
                await session.execute(
                    tables.inbox.insert().values(event_id=name, event_type="x", processed_at=now - timedelta(days=days))
                )
        registry = CollectorRegistry()
        counts = await prune(
            db,
            outbox=tables.outbox,
            inbox=tables.inbox,
            now=now,
            outbox_retention_days=7,
            inbox_retention_days=100,
            metrics=RetentionMetrics(registry),
        )
        async with db.transaction(write=False) as session:
            outbox_left = set((await session.execute(select(tables.outbox.c.event_id))).scalars())
            inbox_left = set((await session.execute(select(tables.inbox.c.event_id))).scalars())
        assert counts == {"outbox": 1, "inbox": 1}
        assert outbox_left == {"young-sent", "old-unsent"}, "an unsent row is never pruned, however old"
        assert inbox_left == {"inbox-young"}
        assert registry.get_sample_value("kam_bus_rows_pruned_total", {"table": "outbox"}) == 1
        assert registry.get_sample_value("kam_outbox_oldest_pending_seconds") == 30 * 86400
        assert registry.get_sample_value("kam_inbox_rows") == 1
    finally:
        await db.dispose()


async def test_republish_resends_rows_sent_since_an_instant_and_consumers_apply_them_once(make_database, nats_url):
    scoring = create_scoring(
        service_settings(ScoringSettings, database_url=await make_database("scoring"), nats_url=nats_url)
    )
    probe_url = await make_database("probe")
    await probe.create_probe_tables(probe_url)
    consumer = probe.create_probe(probe_url, nats_url)
    async with running(scoring, headers=auth("admin")) as client, running(consumer):
        await wait_until(lambda: _is_subscribed(consumer), message="probe subscribed")
        early = registered("早先的客户")
        await publish_through_outbox(scoring, early)
        await wait_until(lambda: _has(consumer, early.id), message="early event applied")
        since = datetime.now(UTC)
        later = [registered(f"稍后的客户{i}") for i in range(3)]
        await publish_through_outbox(scoring, *later)
        await wait_until(lambda: _count_at_least(consumer, 4), message="later events applied")

        dry = await client.post("/scoring/admin/outbox/republish", json={"since": since.isoformat(), "dry_run": True})
        assert (dry.status_code, dry.json()["rows"], dry.json()["dry_run"]) == (200, 3, True)
        bad = await client.post("/scoring/admin/outbox/republish", json={"since": "2026-03-01T08:00:00"})
        assert bad.status_code == 422  # an instant without offset is refused
        response = await client.post("/scoring/admin/outbox/republish", json={"since": since.isoformat()})
        assert (response.status_code, response.json()["rows"]) == (200, 3)
        assert (
            await client.post(
                "/scoring/admin/outbox/republish", json={"since": since.isoformat()}, headers=auth("viewer")
            )
        ).status_code == 403

        async def resent() -> bool:
            async with scoring.state.db.transaction(write=False) as session:
                pending = await session.scalar(
                    select(func.count())
                    .select_from(scoring_tables.outbox)
                    .where(scoring_tables.outbox.c.sent_at.is_(None))
                )
            return pending == 0

        await wait_until(resent, message="republished rows sent again")
        marker = registered("标记")
        await publish_through_outbox(scoring, marker)
        await wait_until(lambda: _has(consumer, marker.id), message="marker applied after the republish")
        ids = [event_id for event_id, _ in await probe.applied(consumer)]
        assert sorted(ids) == sorted([early.id, *(e.id for e in later), marker.id]), "each applied once"

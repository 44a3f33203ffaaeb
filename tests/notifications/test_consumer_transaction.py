"""Many events in one consumer transaction: routing reads the rules, subscriptions, teams, preferences, people and
the account once per transaction, not once per event, and still sees what the transaction itself changed (a
projection event between two events) and what a request changed before it (a new preference)."""

from __future__ import annotations

import collections
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, func, select

from services.notifications.delivery.models import Delivery, Notification
from shared.events import ComplaintAssigned, EventBase, UserData, UserDeactivated
from tests.notifications.helpers import LI, MORNING, TickingClock, account_event, apply, notifications_app, user_events
from tests.support import running

FROM = re.compile(r'\bFROM\s+"?(\w+)', re.IGNORECASE)


def _assigned(account_id: str, *, owner: str = "am-zhang", previous: str = "am-li") -> ComplaintAssigned:
    data = {"complaint_id": str(uuid.uuid4()), "owner_id": owner, "previous_owner_id": previous, "title": "停机"}
    return ComplaintAssigned(source="complaints", account_id=account_id, time=MORNING, data=data)


INTO = re.compile(r"^\s*INSERT\s+INTO\s+\"?(\w+)", re.IGNORECASE)


@contextmanager
def _statements_by_table(app) -> Iterator[collections.Counter[str]]:
    """Statements issued on the app's engine, counted as ("select" | "insert", first table named)."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def count(conn, cursor, statement, params, context, executemany):
        inserted, found = INTO.search(statement), FROM.search(statement)
        if inserted:
            counts["insert", inserted.group(1).lower()] += 1
        elif statement.lstrip().upper().startswith("SELECT") and found:
            counts["select", found.group(1).lower()] += 1

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _in_one_transaction(app, events: list[EventBase]) -> None:
    consumer = app.state.consumer
    async with app.state.db.transaction() as session:
        for one in events:
            assert await consumer._apply(session, one)


async def _recipients(app, event_id: str) -> set[str]:
    async with app.state.db.transaction(write=False) as session:
        rows = await session.scalars(select(Notification.recipient).where(Notification.event_id == event_id))
        return set(rows)


async def test_a_batch_reads_the_directory_once_per_transaction_and_tells_everyone(sqlite_database):
    app = notifications_app(await sqlite_database("n"), clock=TickingClock(MORNING))  # the events are fresh
    async with running(app):
        account = account_event(MORNING)
        await apply(app, *user_events(MORNING), account)
        events = [_assigned(account.account_id) for _ in range(20)]
        with _statements_by_table(app) as statements:
            await _in_one_transaction(app, events)
        for one in events:
            assert await _recipients(app, one.id) == {"am-zhang", "am-li"}
        # One read of each for the whole transaction (twenty each, one per event, without the memo).
        for table in ("routing_rules", "webhook_subscriptions", "account_projection", "user_projection"):
            assert statements["select", table] == 1, (table, statements)
        assert statements["select", "preferences"] == 2  # one per person
        # Who was told already is not read: an event younger than the inbox's retention was never applied before.
        assert statements["select", "notifications"] == 0
        # Every event's notifications in one insert at the commit, then every delivery in another.
        assert statements["insert", "notifications"] == 1 and statements["insert", "deliveries"] == 1, statements
        async with app.state.db.transaction(write=False) as session:
            deliveries = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.event_id.in_([e.id for e in events]))
            )
        assert deliveries == len(events) * 4  # in-app and email for each of the two


async def test_a_projection_change_inside_the_transaction_is_seen_by_the_next_event(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        account = account_event(MORNING)
        people = user_events(MORNING)
        await apply(app, *people, account)
        zhang = next(p for p in people if p.data.user_id == "am-zhang").data
        gone = UserDeactivated(source="gateway", time=MORNING, data=UserData(**{**zhang.model_dump(), "active": False}))
        before, after = _assigned(account.account_id), _assigned(account.account_id)
        await _in_one_transaction(app, [before, gone, after])
        assert await _recipients(app, before.id) == {"am-zhang", "am-li"}
        assert await _recipients(app, after.id) == {"am-li"}  # a deactivated user is never told


async def test_a_preference_changed_by_a_request_applies_to_the_next_transaction(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app) as client:
        account = account_event(MORNING)
        await apply(app, *user_events(MORNING), account)
        first = _assigned(account.account_id, owner="am-li", previous="am-zhang")
        await _in_one_transaction(app, [first])
        put = await client.put(
            "/notifications/preferences/me",
            json={"language": "en", "channels": {}},
            headers={**LI, "If-Match": '"0"'},
        )
        assert put.status_code == 200, put.text
        second = _assigned(account.account_id, owner="am-li", previous="am-zhang")
        await _in_one_transaction(app, [second])
        async with app.state.db.transaction(write=False) as session:
            languages = dict(
                (
                    await session.execute(
                        select(Notification.event_id, Notification.language).where(Notification.recipient == "am-li")
                    )
                ).all()
            )
        assert languages == {first.id: "zh-CN", second.id: "en"}


async def test_an_event_older_than_the_inbox_keeps_ids_applied_again_tells_nobody_twice(sqlite_database):
    # Nine months after MORNING (stale events notified: stale_event_hours 0): the inbox may have forgotten it.
    app = notifications_app(await sqlite_database("n"), clock=TickingClock(MORNING + timedelta(days=270)))
    async with running(app):
        account = account_event(MORNING)
        await apply(app, *user_events(MORNING), account)
        once = _assigned(account.account_id)
        await _in_one_transaction(app, [once])
        inbox = app.state.consumer.tables.inbox
        async with app.state.db.transaction() as session:
            await session.execute(delete(inbox).where(inbox.c.event_id == once.id))
        await _in_one_transaction(app, [once])  # applied again: the inbox pruned its id, as after its retention
        async with app.state.db.transaction(write=False) as session:
            count = await session.scalar(select(func.count()).where(Notification.event_id == once.id))
        assert count == 2  # one per person, not four


async def test_a_transaction_rolled_back_writes_none_of_its_queued_notifications(sqlite_database):
    app = notifications_app(await sqlite_database("n"))
    async with running(app):
        account = account_event(MORNING)
        await apply(app, *user_events(MORNING), account)
        first = _assigned(account.account_id)
        with pytest.raises(RuntimeError):
            async with app.state.db.transaction() as session:
                assert await app.state.consumer._apply(session, first)
                raise RuntimeError("a later handler of the same transaction failed")
        assert await _recipients(app, first.id) == set()
        await _in_one_transaction(app, [first])  # the consumer applies it again in a transaction of its own
        async with app.state.db.transaction(write=False) as session:
            count = await session.scalar(select(func.count()).where(Notification.event_id == first.id))
        assert count == 2

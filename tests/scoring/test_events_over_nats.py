"""Over a real NATS JetStream: actuals lift an account over a threshold → one tier_changed; duplicates do nothing."""

from __future__ import annotations

import json
import uuid

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError
from sqlalchemy import func, select

from services.scoring.models import platform
from shared.events import ActualsRecorded
from tests.scoring.support import SIMPLE_MODEL, account_payload, running_with_people, scoring_app
from tests.support import auth, wait_until

SUP = auth("supervisor", user_id="sup-wang")


async def tier_changes_on_jetstream(js, account_id: str) -> list[dict]:
    """Every tier_changed of the account as stored in the KAM_ACCOUNTS stream (a fresh ephemeral reader)."""
    sub = await js.pull_subscribe(
        "kam.accounts.tier_changed",
        stream="KAM_ACCOUNTS",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    events = []
    try:
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except (FetchTimeoutError, TimeoutError):
                break
            for msg in msgs:
                await msg.ack()
                events.append(json.loads(msg.data))
    finally:
        await sub.unsubscribe()
    return [e for e in events if e["account_id"] == account_id]


async def test_actuals_over_nats_lift_the_tier_once_and_a_duplicate_changes_nothing(make_database, nats_url):
    app = scoring_app(await make_database("scoring"), nats_url=nats_url)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        async with running_with_people(app) as client:
            await wait_until(lambda: _subscribed(app), message="scoring subscribed to its streams")
            created = await client.post(
                "/scoring/models", json={"name": "简单", "definition": SIMPLE_MODEL}, headers=SUP
            )
            await client.post(f"/scoring/models/{created.json()['version']}/publish", headers=SUP)
            account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
            await client.put(
                f"/accounts/{account_id}/ratings",
                json={"industry_leadership": "5", "rationale": "区域龙头"},
                headers=SUP,
            )
            assert (await client.get(f"/accounts/{account_id}", headers=SUP)).json()["tier"] == "maintain"

            event = ActualsRecorded(
                source="goals",
                account_id=account_id,
                data={"period": "2026-11", "revenue": "6000000", "cost": "4500000", "gross_profit": "1500000"},
            )
            await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})

            async def tier_is_growth():
                return (await client.get(f"/accounts/{account_id}", headers=SUP)).json()["tier"] == "growth"

            await wait_until(tier_is_growth, message="tier lifted to growth by the actuals event")
            await wait_until(lambda: _outbox_drained(app), message="outbox relayed")
            lifted = [e for e in await tier_changes_on_jetstream(js, account_id) if e["data"]["new_tier"] == "growth"]
            assert len(lifted) == 1
            assert lifted[0]["data"]["old_tier"] == "maintain" and lifted[0]["data"]["score"] == "56.00"

            # The same event again: once with the same message id (stream de-duplication), once with another
            # message id (reaches the consumer; the inbox skips it), and the same totals under a new event id.
            await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
            redelivered = await js.publish(
                event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(uuid.uuid4())}
            )
            same_totals = event.model_copy(update={"id": str(uuid.uuid4())})
            last = await js.publish(
                same_totals.subject, same_totals.model_dump_json().encode(), headers={"Nats-Msg-Id": same_totals.id}
            )
            assert last.seq > redelivered.seq
            await wait_until(lambda: _acked_through(js, last.seq), message="duplicates consumed and acked")
            await wait_until(lambda: _outbox_drained(app), message="outbox relayed")
            history = (await client.get(f"/accounts/{account_id}/tier-history", headers=SUP)).json()
            all_changes = await tier_changes_on_jetstream(js, account_id)
            inbox = await _inbox_ids(app)
    finally:
        await nc.close()
    assert [(h["old_tier"], h["new_tier"]) for h in history] == [("maintain", "growth"), (None, "maintain")]
    assert [(e["data"]["old_tier"], e["data"]["new_tier"]) for e in all_changes] == [
        (None, "maintain"),
        ("maintain", "growth"),
    ]
    assert event.id in inbox and same_totals.id in inbox


async def _subscribed(app) -> bool:
    return app.state.consumer.subscribed.is_set()


async def _outbox_drained(app) -> bool:
    table = platform.outbox
    async with app.state.db.transaction() as session:
        pending = await session.scalar(select(func.count()).select_from(table).where(table.c.sent_at.is_(None)))
    return pending == 0


async def _acked_through(js, seq: int) -> bool:
    info = await js.consumer_info("KAM_GOALS", "scoring")
    return info.ack_floor.stream_seq >= seq and info.num_ack_pending == 0


async def _inbox_ids(app) -> set[str]:
    async with app.state.db.transaction() as session:
        return set((await session.execute(select(platform.inbox.c.event_id))).scalars())

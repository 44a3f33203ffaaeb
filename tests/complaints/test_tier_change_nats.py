"""Over a real NATS: ``accounts.tier_changed`` switches the account's open complaints to the stricter policy."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from services.complaints.models import platform
from shared.bus.nats import NatsBus
from shared.clock import FrozenClock
from shared.events import AccountRegistered, AccountTierChanged, EventBase
from tests.complaints.helpers import (
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    parse_time,
    register_staff,
)
from tests.support import running, wait_until


async def publish(bus: NatsBus, event: EventBase) -> None:
    await bus.publish(event.subject, event.model_dump_json().encode(), msg_id=event.id)


async def test_tier_changed_over_nats_switches_open_complaints_to_the_stricter_policy(make_database, nats_url):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock, nats_url=nats_url)
    scoring = NatsBus(nats_url, name="scoring-under-test")
    await scoring.start()
    try:
        assert await scoring.wait_connected(timeout=10)
        await scoring.ensure_streams(["accounts"])
        async with running(app, headers=SUPERVISOR) as client:
            await wait_until(lambda: _subscribed(app), message="complaints consumer subscribed")
            await register_staff(app)
            account_id = str(uuid.uuid4())
            await publish(
                scoring,
                AccountRegistered(
                    source="scoring",
                    account_id=account_id,
                    data={"name": "宁德时代新能源科技股份有限公司", "owner_id": "am-li", "tier": "key"},
                ),
            )

            async def projected() -> bool:
                return (await client.get(f"/complaints/views/accounts/{account_id}")).status_code == 200

            await wait_until(projected, message="account projected over NATS")
            complaint = await open_complaint(client, account_id, severity="critical")
            untouched = await open_complaint(client, account_id, severity="low")
            await client.post(f"/complaints/{untouched['id']}/acknowledge", json={"message": "收到"})
            await client.post(f"/complaints/{untouched['id']}/resolve", json={"message": "已解决"})
            assert complaint["policy_tier"] == "key"
            assert parse_time(complaint["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=8)

            await publish(
                scoring,
                AccountTierChanged(
                    source="scoring",
                    account_id=account_id,
                    data={"old_tier": "key", "new_tier": "strategic", "reason": "年度评审升级为战略客户"},
                ),
            )

            async def switched() -> dict | None:
                body = (await client.get(f"/complaints/{complaint['id']}")).json()
                return body if body["policy_tier"] == "strategic" else None

            body = await wait_until(switched, message="open complaint switched to the strategic policy")
            resolved = (await client.get(f"/complaints/{untouched['id']}")).json()

            async def relayed() -> bool:
                async with app.state.db.transaction() as session:
                    pending = await session.scalar(
                        select(func.count()).select_from(platform.outbox).where(platform.outbox.c.sent_at.is_(None))
                    )
                return pending == 0

            await wait_until(relayed, message="complaint events relayed to NATS")
    finally:
        await scoring.close()
    assert parse_time(body["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=4)
    assert parse_time(body["resolution_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=24)
    assert resolved["policy_tier"] == "key"  # a resolved complaint keeps the policy it was handled under


async def _subscribed(app) -> bool:
    return bool(app.state.consumer.subscribed.is_set())

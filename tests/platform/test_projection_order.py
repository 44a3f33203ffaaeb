"""The accounts and users projections do not depend on the order events arrive in (redelivery, reordering)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shared.bus.consumer import HandlerContext
from shared.bus.publish import Publisher
from shared.clock import SystemClock
from shared.db import Database, add_platform_tables, make_metadata
from shared.events import (
    AccountOwnerChanged,
    AccountRegistered,
    AccountTierChanged,
    AccountUpdated,
    EventBase,
    UserDeactivated,
    UserRegistered,
    UserUpdated,
)
from shared.projection import PROJECTION_HANDLERS

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ACCOUNT = "6a0f8a52-7d5e-4c1a-9d2e-0a1b2c3d4e5f"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def snapshot(kind: type[EventBase], minutes: int, name: str, **data: Any) -> EventBase:
    return kind(
        source="scoring", account_id=ACCOUNT, time=at(minutes), data={"name": name, "industry": "制造业", **data}
    )


def owner_changed(minutes: int, new_owner: str, team: list[str], *, event_id: str | None = None) -> EventBase:
    extra = {"id": event_id} if event_id else {}
    return AccountOwnerChanged(
        source="scoring",
        account_id=ACCOUNT,
        time=at(minutes),
        data={"old_owner_id": None, "new_owner_id": new_owner, "team_member_ids": team},
        **extra,
    )


def tier_changed(minutes: int, tier: str, *, event_id: str | None = None) -> EventBase:
    extra = {"id": event_id} if event_id else {}
    return AccountTierChanged(
        source="scoring",
        account_id=ACCOUNT,
        time=at(minutes),
        data={"old_tier": None, "new_tier": tier, "reason": "score"},
        **extra,
    )


# One account's history: the snapshots carry name, owner and sometimes a tier; the partial events change one group.
ACCOUNT_EVENTS: list[EventBase] = [
    snapshot(AccountRegistered, 0, "华为", owner_id="am-li", team_member_ids=["am-wang"], tier="key"),
    owner_changed(5, "am-zhao", ["am-wang", "am-zhao"]),
    snapshot(AccountUpdated, 10, "华为技术有限公司", owner_id="am-zhao", team_member_ids=["am-wang"], status="active"),
    tier_changed(12, "strategic"),
    snapshot(AccountUpdated, 15, "华为技术", owner_id="am-zhao", team_member_ids=["am-wang"]),  # carries no tier
    # Two owner changes of the same instant: the larger event id wins, whatever the arrival order.
    owner_changed(20, "am-qian", [], event_id="ffffffff-0000-4000-8000-000000000000"),
    owner_changed(20, "am-sun", ["am-li"], event_id="00000000-0000-4000-8000-000000000000"),
    tier_changed(20, "core", event_id="00000000-0000-4000-8000-000000000001"),
]
# What the history means, group by group: the newest description, tier and owner.
EXPECTED_ACCOUNT = {"name": "华为技术", "industry": "制造业", "tier": "core", "owner_id": "am-qian"}
EXPECTED_ACCESS = [("am-qian", "owner")]


def user_event(kind: type[EventBase], minutes: int, name: str, *, event_id: str | None = None) -> EventBase:
    extra = {"id": event_id} if event_id else {}
    return kind(
        source="gateway",
        time=at(minutes),
        data={"user_id": "am-li", "display_name": name, "roles": ["account_manager"]},
        **extra,
    )


USER_EVENTS: list[EventBase] = [
    user_event(UserRegistered, 0, "李雷"),
    user_event(UserUpdated, 3, "李雷 (华东)", event_id="00000000-0000-4000-8000-00000000000a"),
    user_event(UserDeactivated, 3, "李雷 (离职)", event_id="ffffffff-0000-4000-8000-00000000000a"),
    user_event(UserUpdated, 1, "李雷 (旧)"),
]


async def apply_in_order(directory: Path, order: list[EventBase]) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    """Apply events through the projection handlers (no inbox: a redelivered event is applied again too)."""
    metadata = make_metadata()
    tables = add_platform_tables(metadata)
    db = Database(f"sqlite+aiosqlite:///{directory / 'projection.db'}")
    context = HandlerContext[Any](
        service="probe", tables=tables, publisher=Publisher("probe", tables.outbox, SystemClock())
    )
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
        for event in order:
            async with db.transaction() as session:
                for handler in PROJECTION_HANDLERS[type(event)]:
                    await handler(session, event, context)
        async with db.transaction(write=False) as session:
            account = (await session.execute(select(tables.accounts))).mappings().one()
            access = (
                await session.execute(
                    select(tables.account_access.c.user_id, tables.account_access.c.relation).order_by(
                        tables.account_access.c.user_id
                    )
                )
            ).all()
            user = (await session.execute(select(tables.users))).mappings().one()
    finally:
        await db.dispose()
    return (
        {k: v for k, v in account.items() if k != "updated_at"},
        [tuple(r) for r in access],
        dict(user),
    )


def run(order: list[EventBase]) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    with tempfile.TemporaryDirectory() as directory:
        return asyncio.run(apply_in_order(Path(directory), order))


IN_ORDER = run(ACCOUNT_EVENTS + USER_EVENTS)


def test_events_in_publication_order_give_the_newest_state_of_each_group():
    account, access, user = IN_ORDER
    assert {k: account[k] for k in EXPECTED_ACCOUNT} == EXPECTED_ACCOUNT
    assert account["team_member_ids"] == []
    assert access == EXPECTED_ACCESS
    assert (user["display_name"], user["active"]) == ("李雷 (离职)", False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(ACCOUNT_EVENTS + USER_EVENTS),
    redelivered=st.lists(st.sampled_from(ACCOUNT_EVENTS + USER_EVENTS), max_size=4),
)
def test_any_arrival_order_with_redeliveries_gives_the_same_projection(order, redelivered):
    assert run([*order, *redelivered]) == IN_ORDER

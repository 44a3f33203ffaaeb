"""The users projection and the people check every owner, assignee and approver passes through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.db import Database, add_platform_tables, make_metadata
from shared.errors import Unprocessable
from shared.events import UserData
from shared.people import require_assignable
from shared.projection import set_account_access, upsert_account, upsert_user

metadata = make_metadata()
tables = add_platform_tables(metadata)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def db(make_database):
    database = Database(await make_database("people"))
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with database.transaction() as session:
        for user_id, roles, active in [
            ("sup", ["supervisor"], True),
            ("am-li", ["account_manager"], True),
            ("am-wang", ["account_manager"], True),
            ("viewer", ["viewer"], True),
            ("gone", ["account_manager"], False),
        ]:
            user = UserData(user_id=user_id, display_name=user_id, roles=roles, active=active)
            await upsert_user(session, tables, user=user, event_time=T0)
        await upsert_account(session, tables, account_id="acc-1", name="华为", owner_id="am-li")
        await set_account_access(session, tables, account_id="acc-1", owner_id="am-li", team_member_ids=[])
    yield database
    await database.dispose()


@pytest.mark.parametrize(
    ("user_id", "reason"),
    [
        ("nobody", "is not known"),
        ("gone", "is deactivated"),
        ("viewer", "holds none of the roles"),
        ("am-wang", "cannot see account acc-1"),
    ],
)
async def test_an_unfit_assignee_is_refused_naming_the_field(db, user_id, reason):
    async with db.transaction() as session:
        with pytest.raises(Unprocessable) as info:
            await require_assignable(session, tables, user_id=user_id, field="owner_id", account_id="acc-1")
    assert reason in info.value.detail
    assert info.value.extra["field"] == "owner_id"


@pytest.mark.parametrize("user_id", ["sup", "am-li", None])
async def test_a_fit_assignee_passes(db, user_id):
    async with db.transaction() as session:
        await require_assignable(session, tables, user_id=user_id, field="owner_id", account_id="acc-1")


async def test_an_older_identity_event_does_not_undo_a_newer_one(db):
    async with db.transaction() as session:
        newer = UserData(user_id="am-li", display_name="李雷", roles=["account_manager"], active=False)
        assert await upsert_user(session, tables, user=newer, event_time=T0 + timedelta(minutes=2))
        older = UserData(user_id="am-li", display_name="Li", roles=["account_manager"], active=True)
        assert not await upsert_user(session, tables, user=older, event_time=T0 + timedelta(minutes=1))
        with pytest.raises(Unprocessable, match="deactivated"):
            await require_assignable(session, tables, user_id="am-li", field="assignee_id")

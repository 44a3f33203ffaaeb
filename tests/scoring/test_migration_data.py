"""The consistent-scores migration on a database that holds data: nothing is lost, the first scoring afterwards
re-scores the whole portfolio (the stored scores were computed the old way)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from shared.clock import FrozenClock
from shared.db import Database
from shared.migrations import alembic_config, upgrade_to_head
from tests.scoring.support import MIGRATIONS, NOW, running_with_people, scoring_app
from tests.support import auth

BEFORE = "b27b85b02f1d"
ACCOUNT = "11111111-1111-4111-8111-111111111111"
SUP = auth("supervisor", user_id="sup-wang")


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config(MIGRATIONS)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_upgrading_keeps_accounts_contacts_and_engagements_and_rescores_on_first_use(sqlite_database):
    url = await sqlite_database("scoring")
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade_to, BEFORE)
            at = datetime(2026, 11, 1, tzinfo=UTC).isoformat(sep=" ")
            await conn.execute(
                text(
                    "INSERT INTO accounts (id, name, industry, region, currency, listed, status, owner_id, "
                    "team_member_ids, industry_leadership, version, created_at, updated_at) VALUES "
                    "(:account, '老客户', '汽车', '华东', 'CNY', 0, 'key_account', 'am-li', '[]', 3.34, 1, :at, :at)"
                ),
                {"at": at, "account": ACCOUNT},
            )
            await conn.execute(
                text(
                    "INSERT INTO contacts (id, account_id, name, level, created_at) "
                    "VALUES ('c-1', :account, '王总', 'executive', :at)"
                ),
                {"at": at, "account": ACCOUNT},
            )
            await conn.execute(
                text(
                    "INSERT INTO account_projection (account_id, name, owner_id, team_member_ids, active, updated_at) "
                    "VALUES (:account, '老客户', 'am-li', '[]', 1, :at)"
                ),
                {"at": at, "account": ACCOUNT},
            )
            await conn.execute(
                text(
                    "INSERT INTO engagements (id, account_id, kind, level, occurred_on, participants, created_by, "
                    "created_at) "
                    "VALUES ('e-1', :account, 'visit', 'executive', '2026-10-20', '[\"王总\"]', 'am-li', :at)"
                ),
                {"at": at, "account": ACCOUNT},
            )
        await upgrade_to_head(db, MIGRATIONS)
        async with db.transaction() as session:
            contacts = await session.scalar(text("SELECT count(*) FROM contacts"))
            engagement = (await session.execute(text("SELECT our_participant_ids FROM engagements"))).scalar_one()
            state = (await session.execute(text("SELECT id, scored_on, generation FROM portfolio_state"))).one()
    finally:
        await db.dispose()
    assert contacts == 1 and engagement == "[]" and tuple(state) == (1, None, 0)
    app = scoring_app(url, clock=FrozenClock(NOW))
    async with running_with_people(app) as client:
        rescored = await client.post(f"/accounts/{ACCOUNT}/rescore", headers=SUP)
        contacts_after = (await client.get(f"/accounts/{ACCOUNT}/contacts", headers=SUP)).json()
        async with app.state.db.transaction() as session:
            state = (await session.execute(text("SELECT model_version, scored_on FROM portfolio_state"))).one()
    assert rescored.status_code == 200, rescored.text
    leadership = next(i for i in rescored.json()["indicators"] if i["code"] == "industry_leadership")
    assert rescored.status_code == 200 and leadership["raw"] == "3.3400"
    assert [c["name"] for c in contacts_after] == ["王总"]
    assert tuple(state) == (1, NOW.date().isoformat())  # the first scoring re-scored the whole portfolio

"""Domain tier, ``accounts.engagement_overdue`` for the notifications service: each contact level of an account is
announced once each time it falls overdue under its tier's cadence, never again while it stays overdue, and again
after a new engagement at that level starts a new period that runs out (real SQLite — and PostgreSQL when
``KAM_TEST_POSTGRES_URL`` is set —, frozen clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from services.scoring.engagement import service as engagement
from services.scoring.engagement.cadence import cadence_status, overdue_before, overdue_notice
from services.scoring.engagement.models import EngagementOverdueNotice
from services.scoring.models import platform
from services.scoring.scores import tiers
from services.scoring.scores.schemas import OverrideCreate
from tests.scoring.support import NOW, Domain, actor, domain_database
from tests.scoring.test_domain_engagement import account_of_tier, log

SUP = actor()
TODAY = NOW.date()  # 2026-11-15 (09:00 UTC is 17:00 in Shanghai: the same business date)
OVERDUE = "accounts.engagement_overdue"


@pytest.fixture
async def domain(make_database) -> AsyncIterator[Domain]:
    """A migrated scoring database on each configured backend (the lock, the one query and the bulk writes)."""
    async with domain_database(await make_database("scoring")) as prepared:
        yield prepared


async def announce(domain) -> int:
    async with domain.db.transaction() as session:
        return await engagement.announce_overdue_engagements(session, publisher=domain.publisher, at=domain.at())


async def overdue_events(domain, level: str | None = None) -> list[dict[str, Any]]:
    return [e for e in await domain.events(OVERDUE) if level is None or e["data"]["contact_level"] == level]


async def strategic_in_touch(domain, name: str, *, decision_days_ago: int, **fields: Any):
    """A strategic account (executive every 90 days, decision 30, execution 14) in touch but at decision level."""
    async with domain.db.transaction() as session:
        account = await account_of_tier(domain, session, name, **fields)
        await log(domain, session, account, "executive", 10, kind="executive_meeting")
        await log(domain, session, account, "decision", decision_days_ago)
        await log(domain, session, account, "execution", 3)
    return account


def test_the_overdue_cut_off_agrees_with_the_cadence_status_and_a_notice_counts_from_the_due_date():
    for days_ago in range(25, 36):
        last = TODAY - timedelta(days=days_ago)
        [status] = cadence_status("strategic", {"strategic": {"decision": 30}}, {"decision": last}, TODAY)
        assert status.overdue == (last < overdue_before(30, TODAY))
    late = overdue_notice("decision", 30, date(2026, 10, 6), registered_on=date(2026, 1, 1), today=TODAY)
    assert (late.due_on, late.days_overdue) == (date(2026, 11, 5), 10)
    never = overdue_notice("executive", 90, None, registered_on=date(2026, 11, 1), today=TODAY)
    assert (never.last_contact_on, never.due_on, never.days_overdue) == (None, date(2026, 11, 1), 14)


async def test_an_overdue_decision_level_publishes_one_engagement_overdue_with_its_fields(domain):
    late = await strategic_in_touch(domain, "决策层逾期", decision_days_ago=40)  # due 30 days after: 10 days ago
    await strategic_in_touch(domain, "按时", decision_days_ago=20, owner_id="am-zhang")
    assert await announce(domain) == 1
    [published] = await overdue_events(domain)
    assert (published["source"], published["account_id"]) == ("scoring", late.id)
    assert published["data"] == {
        "contact_level": "decision",
        "days_overdue": 10,
        "owner_id": "am-li",
        "last_engaged_on": (TODAY - timedelta(days=40)).isoformat(),
    }
    async with domain.db.transaction() as session:
        [notice] = (await session.scalars(select(EngagementOverdueNotice))).all()
    assert (notice.account_id, notice.contact_level, notice.last_engaged_on) == (
        late.id,
        "decision",
        TODAY - timedelta(days=40),
    )
    assert (notice.due_on, notice.days_overdue) == (TODAY - timedelta(days=10), 10)


async def test_a_second_run_while_the_level_stays_overdue_publishes_nothing(domain):
    await strategic_in_touch(domain, "决策层逾期", decision_days_ago=40)
    assert await announce(domain) == 1
    assert await announce(domain) == 0  # the same run again
    domain.clock.advance(timedelta(days=2))  # still within the execution cadence, decision still overdue
    assert await announce(domain) == 0
    assert len(await overdue_events(domain)) == 1


async def test_a_new_engagement_resets_the_level_and_its_next_overdue_period_publishes_again(domain):
    account = await strategic_in_touch(domain, "决策层逾期", decision_days_ago=40)
    await announce(domain)
    async with domain.db.transaction() as session:
        await log(domain, session, account, "decision", 0, kind="business_review")
    assert await announce(domain) == 0  # back in time: nothing to announce
    domain.clock.advance(timedelta(days=30))  # due today (30 days after the review): not overdue yet
    await announce(domain)
    assert len(await overdue_events(domain, "decision")) == 1
    domain.clock.advance(timedelta(days=1))
    await announce(domain)
    await announce(domain)
    first, second = await overdue_events(domain, "decision")
    assert first["data"]["last_engaged_on"] == (TODAY - timedelta(days=40)).isoformat()
    assert second["data"] == {
        "contact_level": "decision",
        "days_overdue": 1,
        "owner_id": "am-li",
        "last_engaged_on": TODAY.isoformat(),
    }
    async with domain.db.transaction() as session:
        notice = await session.get(EngagementOverdueNotice, (account.id, "decision"))
    assert notice is not None and (notice.last_engaged_on, notice.due_on) == (TODAY, TODAY + timedelta(days=30))


async def test_a_level_never_contacted_is_announced_once_counted_from_registration(domain):
    async with domain.db.transaction() as session:
        account = await account_of_tier(domain, session, "从未联系", tier="growth")  # decision 90, execution 45
        await log(domain, session, account, "execution", 5)
        await account_of_tier(domain, session, "已流失", tier="growth", status="former")
    domain.clock.advance(timedelta(days=3))
    assert await announce(domain) == 1
    domain.clock.advance(timedelta(days=1))
    assert await announce(domain) == 0
    [published] = await overdue_events(domain)
    assert published["account_id"] == account.id
    assert published["data"] == {
        "contact_level": "decision",
        "days_overdue": 3,
        "owner_id": "am-li",
        "last_engaged_on": None,
    }


async def test_a_tier_change_while_the_level_stays_overdue_publishes_nothing_more(domain):
    account = await strategic_in_touch(domain, "改为重点", decision_days_ago=70)
    await announce(domain)
    async with domain.db.transaction() as session:  # key: decision every 60 days, so still overdue (10 days)
        await tiers.set_override(
            session,
            platform,
            publisher=domain.publisher,
            account=account,
            body=OverrideCreate(tier="key", reason="降为重点"),
            actor=SUP,
            at=domain.at(),
        )
    assert await announce(domain) == 0
    [published] = await overdue_events(domain)
    assert published["data"]["days_overdue"] == 40  # announced under the strategic cadence


@contextmanager
def counted_statements(domain) -> Iterator[list[str]]:
    statements: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = domain.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _count)


async def test_the_check_reads_and_writes_the_portfolio_in_the_same_few_statements_whatever_its_size(domain):
    counts = []
    for size in (2, 12):
        async with domain.db.transaction() as session:
            for i in range(size):
                account = await account_of_tier(domain, session, f"客户{size}-{i}")
                await log(domain, session, account, "decision", 40 + i)
        with counted_statements(domain) as statements:
            assert await announce(domain) == size * 3  # decision late, executive and execution never contacted
        counts.append(len(statements))
        assert sum("FROM engagements" in statement for statement in statements) == 1  # the portfolio, once
    assert counts[0] == counts[1]

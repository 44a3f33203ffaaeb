"""The KA registry's domain functions on a real SQLite session (no HTTP): register, update, team and ownership."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services.scoring.contacts import service as contacts_service
from services.scoring.contacts.schemas import ContactCreate
from services.scoring.models import platform
from services.scoring.registry import queries
from services.scoring.registry import service as registry
from services.scoring.registry.queries import AccountListQuery
from services.scoring.registry.schemas import (
    AccountCreate,
    AccountUpdate,
    RatingsUpdate,
    TeamUpdate,
)
from services.scoring.scores.models import TierChange
from shared.api import PageParams
from shared.errors import Conflict, Forbidden, Unprocessable
from tests.scoring.support import account_payload, actor, credit_code

SUP = actor()
LI = actor("account_manager", "am-li")
ZHANG = actor("account_manager", "am-zhang")


def body(name: str = "上海汽车集团股份有限公司", **fields) -> AccountCreate:
    return AccountCreate.model_validate(account_payload(name, **fields))


async def register(domain, session, name: str = "上海汽车集团股份有限公司", by=SUP, **fields):
    return await registry.register_account(
        session, platform, publisher=domain.publisher, body=body(name, **fields), actor=by, at=domain.at()
    )


async def test_registering_projects_the_account_publishes_registered_and_gives_it_a_first_tier(domain):
    async with domain.db.transaction() as session:
        account = await register(
            domain, session, team_member_ids=["am-zhang", "am-li", " "], credit_code=credit_code(7)
        )
        projected = (
            (await session.execute(select(platform.accounts).where(platform.accounts.c.account_id == account.id)))
            .mappings()
            .one()
        )
        access = set((await session.execute(select(platform.account_access.c.user_id))).scalars())
    assert account.owner_id == "am-li" and account.team_member_ids == ["am-zhang"]  # the owner is not a member
    assert account.tier == "maintain" and account.score is not None and account.version == 1
    assert projected["tier"] == "maintain" and projected["owner_id"] == "am-li"
    assert access == {"am-li", "am-zhang"}
    events = await domain.events()
    assert [e["type"] for e in events] == ["accounts.registered", "accounts.tier_changed"]
    assert events[0]["source"] == "scoring" and events[0]["time"].startswith("2026-11-15T09:00:00")
    assert events[0]["data"]["team_member_ids"] == ["am-zhang"] and events[1]["data"]["old_tier"] is None


async def test_an_account_manager_registers_only_accounts_they_own_and_never_rates_them(domain):
    async with domain.db.transaction() as session:
        with pytest.raises(Forbidden, match="own themselves"):
            await register(domain, session, by=LI, owner_id="am-zhang")
        with pytest.raises(Forbidden, match="supervisor rates"):
            await register(domain, session, by=LI, ratings={"industry_leadership": "9", "rationale": "龙头"})
        own = await register(domain, session, by=LI, owner_id=None)
    assert own.owner_id == "am-li"


async def test_credit_codes_are_normalised_checked_and_unique(domain):
    code = credit_code(42)
    async with domain.db.transaction() as session:
        first = await register(domain, session, credit_code=f"  {code.lower()} ")
        with pytest.raises(Conflict) as duplicate:
            await register(domain, session, "另一家", credit_code=code)
        with pytest.raises(Unprocessable) as malformed:
            await register(domain, session, "第三家", credit_code=code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert first.credit_code == code
    assert duplicate.value.extra["account_id"] == first.id
    assert malformed.value.extra["field"] == "credit_code" and "check digit" in malformed.value.detail


async def test_an_update_that_changes_nothing_publishes_nothing_and_keeps_the_version(domain):
    async with domain.db.transaction() as session:
        account = await register(domain, session)
        before = len(await domain.events(session=session))
        await registry.update_account(
            session,
            platform,
            publisher=domain.publisher,
            account=account,
            body=AccountUpdate(region="华东"),
            at=domain.at(),
        )
        assert account.version == 1 and len(await domain.events(session=session)) == before
        with pytest.raises(Unprocessable) as null_name:
            await registry.update_account(
                session,
                platform,
                publisher=domain.publisher,
                account=account,
                body=AccountUpdate(name=None),
                at=domain.at(),
            )
    assert null_name.value.extra["field"] == "name"


async def test_a_profile_change_bumps_the_version_updates_the_projection_and_publishes_updated(domain):
    async with domain.db.transaction() as session:
        account = await register(domain, session)
        domain.clock.advance(timedelta(hours=1))
        await registry.update_account(
            session,
            platform,
            publisher=domain.publisher,
            account=account,
            body=AccountUpdate(region="华南", name_en="SAIC"),
            at=domain.at(),
        )
        region = await session.scalar(
            select(platform.accounts.c.region).where(platform.accounts.c.account_id == account.id)
        )
    updated = await domain.events("accounts.updated")
    assert account.version == 2 and account.updated_at == domain.now() and region == "华南"
    assert [(e["data"]["region"], e["data"]["name_en"]) for e in updated] == [("华南", "SAIC")]


async def test_a_new_owner_moves_access_and_publishes_owner_changed_once(domain):
    async with domain.db.transaction() as session:
        account = await register(domain, session, team_member_ids=["am-zhang"])
        team = TeamUpdate(owner_id="am-zhang", team_member_ids=["am-zhao", "am-zhang"])
        await registry.set_team(
            session, platform, publisher=domain.publisher, account=account, body=team, now=domain.now()
        )
        await registry.set_team(
            session, platform, publisher=domain.publisher, account=account, body=team, now=domain.now()
        )
        li_sees, _ = await queries.list_accounts(
            session, platform, actor=LI, query=AccountListQuery(), page=PageParams(limit=50, offset=0)
        )
        zhang_sees, _ = await queries.list_accounts(
            session, platform, actor=ZHANG, query=AccountListQuery(), page=PageParams(limit=50, offset=0)
        )
    changed = await domain.events("accounts.owner_changed")
    assert [(e["data"]["old_owner_id"], e["data"]["new_owner_id"], e["data"]["team_member_ids"]) for e in changed] == [
        ("am-li", "am-zhang", ["am-zhao"])
    ]
    assert account.version == 2 and li_sees == [] and [a.id for a in zhang_sees] == [account.id]


async def test_the_book_of_a_manager_is_filtered_and_sorted_by_tier_rank(domain):
    async with domain.db.transaction() as session:
        mine = await register(domain, session, "甲")
        strategic = await register(domain, session, "乙", team_member_ids=["am-li"], owner_id="am-zhang")
        strategic.tier = "strategic"
        await register(domain, session, "丙", owner_id="am-zhang", industry="医药")
        page = PageParams(limit=50, offset=0)
        by_tier, total = await queries.list_accounts(
            session, platform, actor=LI, query=AccountListQuery(sort="tier"), page=page
        )
        pharma, _ = await queries.list_accounts(
            session, platform, actor=SUP, query=AccountListQuery(industry=["医药"]), page=page
        )
        with pytest.raises(Unprocessable) as bad_sort:
            await queries.list_accounts(session, platform, actor=SUP, query=AccountListQuery(sort="-owner"), page=page)
    assert total == 2 and [a.id for a in by_tier] == [strategic.id, mine.id]
    assert [a.name for a in pharma] == ["丙"]
    assert bad_sort.value.extra["field"] == "sort"


async def test_an_import_is_all_or_none_and_names_the_failing_entry(domain):
    with pytest.raises(Unprocessable) as refused:  # the refusal rolls the whole import back
        async with domain.db.transaction() as session:
            await registry.register_accounts(
                session,
                platform,
                publisher=domain.publisher,
                bodies=[body("好"), body("坏", credit_code="123")],
                actor=SUP,
                at=domain.at(),
            )
    assert refused.value.extra["field"] == "accounts.1.credit_code"
    async with domain.db.transaction() as session:
        imported = await registry.register_accounts(
            session, platform, publisher=domain.publisher, bodies=[body("一"), body("二")], actor=SUP, at=domain.at()
        )
        moves = (await session.execute(select(TierChange.new_tier))).scalars().all()
    assert [a.tier for a in imported] == ["maintain", "maintain"] and moves == ["maintain", "maintain"]


async def test_ratings_and_a_higher_contact_level_rescore_the_account(domain):
    async with domain.db.transaction() as session:
        account = await register(domain, session)
        first_score = account.score
        ratings = RatingsUpdate(industry_leadership=10, reference_value=10, channel_value=10, rationale="行业龙头")
        await registry.set_ratings(
            session, platform, publisher=domain.publisher, account=account, body=ratings, actor=SUP, at=domain.at()
        )
        rated_score = account.score
        await contacts_service.add_contact(
            session,
            platform,
            publisher=domain.publisher,
            account=account,
            body=ContactCreate(name="方总", level="executive"),
            actor=SUP,
            at=domain.at(),
        )
        contacts = await contacts_service.list_contacts(session, account_id=account.id)
    assert rated_score > first_score and account.rated_by == "sup-wang" and account.ratings_rationale == "行业龙头"
    assert account.score > rated_score  # the executive level is the highest contact level
    assert [c.name for c in contacts] == ["方总"]

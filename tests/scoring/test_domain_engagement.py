"""Layered engagement's domain functions on a real SQLite session (no HTTP): logging, cadence policy, overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.scoring.engagement import service as engagement
from services.scoring.engagement.schemas import CadencePolicy, EngagementCreate
from services.scoring.models import platform
from services.scoring.registry import service as registry
from services.scoring.registry.schemas import AccountCreate
from services.scoring.scores import tiers
from services.scoring.scores.feature_store import features_for
from services.scoring.scores.schemas import OverrideCreate
from shared.errors import Unprocessable
from tests.scoring.support import NOW, account_payload, actor

SUP = actor()
LI = actor("account_manager", "am-li")
ZHANG = actor("account_manager", "am-zhang")
TODAY = NOW.date()


async def account_of_tier(domain, session, name: str, tier: str = "strategic", **fields):
    body = AccountCreate.model_validate(account_payload(name, **fields))
    account = await registry.register_account(
        session, platform, publisher=domain.publisher, body=body, actor=SUP, at=domain.at()
    )
    if tier != account.tier:
        await tiers.set_override(
            session,
            platform,
            publisher=domain.publisher,
            account=account,
            body=OverrideCreate(tier=tier, reason="测试分级"),
            actor=SUP,
            at=domain.at(),
        )
    return account


async def log(domain, session, account, level: str, days_ago: int, kind: str = "visit", by=LI):
    return await engagement.log_engagement(
        session,
        platform,
        publisher=domain.publisher,
        account=account,
        body=EngagementCreate(kind=kind, level=level, occurred_on=TODAY - timedelta(days=days_ago)),
        actor=by,
        at=domain.at(),
    )


async def test_logging_an_engagement_records_who_and_a_higher_level_rescores(domain):
    async with domain.db.transaction() as session:
        account = await account_of_tier(domain, session, "比亚迪", tier="maintain")
        first = account.score
        reported = await log(domain, session, account, "executive", 3, kind="executive_meeting")
        pending = (
            account.score,
            (await features_for(session, account_id=account.id, now=domain.now())).highest_contact_level,
        )
        logged = await log(domain, session, account, "executive", 3, kind="executive_meeting", by=SUP)
        after_executive = account.score
        await log(domain, session, account, "execution", 1)  # lower than what was reached: no change
        features = await features_for(session, account_id=account.id, now=domain.now())
        with pytest.raises(Unprocessable) as future:
            await log(domain, session, account, "decision", -1)
        listed = await engagement.list_engagements(session, account_id=account.id, limit=10, offset=0)
    assert (reported.created_by, reported.level_review) == ("am-li", "pending")
    assert pending == (first, 0)  # the account manager's report waits for a supervisor (contacts/level_review.py)
    assert (logged.created_by, logged.level_review) == ("sup-wang", "confirmed") and features.highest_contact_level == 3
    assert after_executive > first and account.score == after_executive
    assert future.value.extra["field"] == "occurred_on"
    assert [e.level for e in listed] == ["execution", "executive", "executive"]  # latest first


async def test_a_level_without_contact_in_its_period_is_overdue_and_never_contacted_ranks_first(domain):
    async with domain.db.transaction() as session:
        late = await account_of_tier(domain, session, "晚了")
        for level, ago in (("executive", 120), ("decision", 10), ("execution", 3)):
            await log(domain, session, late, level, ago)
        never = await account_of_tier(domain, session, "从未联系")
        on_time = await account_of_tier(domain, session, "按时")
        for level, ago in (("executive", 30), ("decision", 10), ("execution", 3)):
            await log(domain, session, on_time, level, ago)
        await account_of_tier(domain, session, "已流失", status="former")
        overdue = await engagement.overdue_accounts(session, platform, actor=SUP, today=TODAY)
        status = await engagement.engagement_status(session, account=late, today=TODAY)
    assert [item.account_id for item in overdue] == [never.id, late.id]
    executive = status.levels[0]
    assert status.overdue and (executive.level, executive.every_days, executive.days_overdue) == ("executive", 90, 30)
    assert [lv.overdue for lv in status.levels] == [True, False, False]


async def test_overdue_lists_only_the_managers_book_and_the_chosen_tier(domain):
    async with domain.db.transaction() as session:
        mine = await account_of_tier(domain, session, "李的", tier="key")
        await account_of_tier(domain, session, "张的", tier="key", owner_id="am-zhang")
        await account_of_tier(domain, session, "李的战略", tier="strategic")
        li_key = await engagement.overdue_accounts(session, platform, actor=LI, today=TODAY, tier="key")
        zhang_owned_by_li = await engagement.overdue_accounts(
            session, platform, actor=ZHANG, today=TODAY, owner_id="am-li"
        )
    assert [item.account_id for item in li_key] == [mine.id]
    assert zhang_owned_by_li == []


async def test_a_replaced_cadence_policy_is_served_in_tier_order_and_decides_what_is_overdue(domain):
    async with domain.db.transaction() as session:
        account = await account_of_tier(domain, session, "维护客户", tier="maintain")
        await log(domain, session, account, "execution", 60)
        assert await engagement.overdue_accounts(session, platform, actor=SUP, today=TODAY) == []
        policy = CadencePolicy.model_validate(
            {
                "rules": [
                    {"tier": "maintain", "level": "execution", "every_days": 30},
                    {"tier": "strategic", "level": "executive", "every_days": 60},
                ]
            }
        )
        await engagement.replace_cadence_rules(session, body=policy)
        served = await engagement.cadence_policy(session)
        overdue = await engagement.overdue_accounts(session, platform, actor=SUP, today=TODAY)
        duplicate = CadencePolicy.model_validate(
            {"rules": [policy.rules[0].model_dump(), policy.rules[0].model_dump()]}
        )
        with pytest.raises(Unprocessable) as refused:
            await engagement.replace_cadence_rules(session, body=duplicate)
    assert [(r.tier, r.every_days) for r in served.rules] == [("strategic", 60), ("maintain", 30)]
    assert [item.account_id for item in overdue] == [account.id]
    assert refused.value.extra["field"] == "rules.1"

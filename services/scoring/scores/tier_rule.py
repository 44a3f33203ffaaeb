"""The top-N % rule in one account's explained score: its rank among the active accounts by the rule's measure
(the order ``scoring_model.ranked_ids`` gives: measure, then score, then id), counted in SQL, and what the rule did
to its tier ("capped at growth: rank 5 of 35 by annual purchases")."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account
from services.scoring.scores.models import AccountFeatures, AccountScore
from services.scoring.scoring_model import TierPolicy, TopRuleStanding, tier_for_score, top_rule_standing

ZERO = Decimal(0)


def _measure(by: str) -> Any:
    column = {
        "annual_purchases": AccountFeatures.annual_purchases,
        "annual_profit": AccountFeatures.annual_profit,
    }.get(by, AccountScore.total)
    return func.coalesce(column, ZERO)


async def top_rule_of(session: AsyncSession, *, stored: AccountScore, policy: TierPolicy) -> TopRuleStanding | None:
    """Where the account stands under the model's top-N % rule (None: no rule, or a former account, which is not
    ranked)."""
    rule = policy.top_percent
    if rule is None:
        return None
    measure, total = _measure(rule.by), func.coalesce(AccountScore.total, ZERO)
    base = (
        select(func.count())
        .select_from(Account)
        .outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
        .outerjoin(AccountScore, AccountScore.account_id == Account.id)
        .where(Account.status != "former")
    )
    mine = (
        await session.execute(
            select(measure, Account.status)
            .select_from(Account)
            .outerjoin(AccountFeatures, AccountFeatures.account_id == Account.id)
            .outerjoin(AccountScore, AccountScore.account_id == Account.id)
            .where(Account.id == stored.account_id)
        )
    ).first()
    if mine is None or mine[1] == "former":
        return None
    value, my_total = mine[0], stored.total
    ahead = base.where(
        or_(
            measure > value,
            and_(measure == value, total > my_total),
            and_(measure == value, total == my_total, Account.id < stored.account_id),
        )
    )
    population = int(await session.scalar(base) or 0)
    rank = int(await session.scalar(ahead) or 0) + 1
    return top_rule_standing(
        rule,
        threshold_tier=tier_for_score(stored.total, policy.thresholds),
        tier=stored.computed_tier,
        rank=rank,
        population=population,
    )


def standing_json(standing: TopRuleStanding | None) -> dict[str, Any] | None:
    """The standing as the explained score serves it."""
    return None if standing is None else {**asdict(standing), "percent": str(standing.percent)}

"""One account's explained score as served (dimensions, contributions, why this tier); its strategy is the
playbook's (``playbook.service``). Scoring itself is in ``consistency`` (one account's change) and
``portfolio`` (everyone at once)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.registry.models import Account
from services.scoring.scores.models import AccountFeatures, AccountScore, ScoringModelVersion, TierOverride
from services.scoring.scores.schemas import ScoreRead
from services.scoring.scores.tier_rule import standing_json, top_rule_of
from services.scoring.scores.tiers import active_override
from services.scoring.scoring_model import THRESHOLD_TIERS, ModelDefinition, expand_breakdown, parse_definition
from shared.errors import NotFound


def _explanation(
    stored: AccountScore,
    definition: ModelDefinition | None,
    indicators: list[dict[str, Any]],
    override: TierOverride | None,
    tier_rule: str | None = None,
) -> str:
    policy = definition.tiers if definition else None
    thresholds = dict(policy.thresholds) if policy else {}
    top = sorted(indicators, key=lambda i: Decimal(i["contribution"]), reverse=True)[:3]
    why = [f"Score {stored.total} under model v{stored.model_version} gives {stored.computed_tier}"]
    if thresholds:
        why.append("thresholds: " + ", ".join(f"{t} ≥ {thresholds[t]}" for t in THRESHOLD_TIERS) + ", else maintain")
    if policy and policy.top_percent is not None:
        why.append(
            f"top-{policy.top_percent.percent}% rule by {policy.top_percent.by}: key accounts are exactly the top "
            f"{policy.top_percent.percent}% of the portfolio"
        )
    if tier_rule:
        why.append(tier_rule)
    why.append("largest contributions: " + ", ".join(f"{i['label_en']} {i['contribution']}" for i in top))
    if override is not None:
        why.append(f"tier overridden to {override.tier} by {override.approved_by}: {override.reason}")
    return "; ".join(why) + "."


def _explain_satisfaction(indicators: list[dict[str, Any]], features: AccountFeatures | None) -> None:
    """Say where the satisfaction indicator's value came from: closed complaints' ratings and survey answers
    (NPS mapped 0–10 → 1–5, CSAT as given) of the window, each one vote."""
    for indicator in indicators:
        if indicator["code"] != "satisfaction" or features is None:
            continue
        complaints, surveys = features.complaint_satisfaction_avg, features.survey_satisfaction_avg
        indicator["source"] = {
            "complaints": {
                "count": features.satisfaction_count,
                "average": None if complaints is None else str(complaints),
            },
            "surveys": {"count": features.survey_count, "average": None if surveys is None else str(surveys)},
            "explanation": (
                f"{features.satisfaction_count} closed complaint rating(s) and {features.survey_count} survey "
                "answer(s) of the last 12 months averaged (NPS 0–10 mapped to 1–5; CSAT as given) / "
                f"投诉回访评分 {features.satisfaction_count} 条与满意度调研 {features.survey_count} 份合并平均"
            ),
        }


async def explain_score(session: AsyncSession, *, account: Account, now: datetime) -> ScoreRead:
    """The stored score of an account with dimensions, contributions and why this tier (404 if never scored)."""
    stored = await session.get(AccountScore, account.id)
    if stored is None:
        raise NotFound(f"Account {account.id} has not been scored yet")
    model = await session.get(ScoringModelVersion, stored.model_version)
    definition = parse_definition(model.definition) if model else None
    policy = definition.tiers if definition else None
    dimensions, indicators = expand_breakdown(stored.breakdown, definition)
    standing = await top_rule_of(session, stored=stored, policy=policy) if policy else None
    _explain_satisfaction(indicators, await session.get(AccountFeatures, account.id))
    override = await active_override(session, account_id=account.id, now=now)
    return ScoreRead(
        account_id=account.id,
        model_version=stored.model_version,
        total=stored.total,
        computed_tier=stored.computed_tier,
        tier=account.tier,
        overridden=override is not None,
        thresholds=dict(policy.thresholds) if policy else {},
        top_percent=policy.top_percent.model_dump(mode="json") if policy and policy.top_percent else None,
        explanation=_explanation(
            stored, definition, indicators, override, f"{standing.label_en} / {standing.label_zh}" if standing else None
        ),
        dimensions=dimensions,
        indicators=indicators,
        scored_at=stored.scored_at,
        tier_rule=standing_json(standing),
    )

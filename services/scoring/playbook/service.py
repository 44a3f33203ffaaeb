"""The playbook's domain: the stored quadrant configuration and rule table (supervisors change them: validated,
versioned, audited), and one account's strategy from them, its explained score, its measured growth and the
product catalogue. Flush only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.features import WINDOW_MONTHS, AsOf, growth_pct, month_index, summarise_actuals
from services.scoring.models import audit_log
from services.scoring.playbook.catalogue import Catalogue, current_catalogue
from services.scoring.playbook.models import StrategySetting
from services.scoring.playbook.schemas import (
    AccountStrategyRead,
    CatalogueLineRead,
    CatalogueRead,
    GrowthRead,
    QuadrantConfigRead,
    QuadrantRead,
    RuleRef,
    RuleTableRead,
)
from services.scoring.quadrant import Growth, Quadrant, QuadrantConfig, place_account, signals_of, validate_config
from services.scoring.registry.models import Account
from services.scoring.scores.feature_store import SCORING_CURRENCY
from services.scoring.scores.models import AccountScore, MonthlyActual, ScoringModelVersion
from services.scoring.scoring_model import parse_definition
from services.scoring.strategy import RuleTable, Situation, default_rules, recommend, unknown_lines, validate_rules
from shared.audit import record_audit
from shared.auth import Principal

QUADRANT = "quadrant"
RULES = "rules"


async def setting_version(session: AsyncSession, name: str) -> int:
    """The version of a stored document (0: the defaults, never changed) — what ``If-Match`` is checked against."""
    row = await session.get(StrategySetting, name)
    return row.version if row is not None else 0


def _meta(row: StrategySetting | None) -> dict[str, Any]:
    if row is None:
        return {"version": 0, "is_default": True, "updated_by": None, "updated_at": None}
    return {"version": row.version, "is_default": False, "updated_by": row.updated_by, "updated_at": row.updated_at}


async def _config(session: AsyncSession) -> tuple[QuadrantConfig, int]:
    row = await session.get(StrategySetting, QUADRANT)
    return (QuadrantConfig.model_validate(row.document), row.version) if row else (QuadrantConfig(), 0)


async def _rules(session: AsyncSession) -> tuple[RuleTable, int]:
    row = await session.get(StrategySetting, RULES)
    return (RuleTable.model_validate(row.document), row.version) if row else (default_rules(), 0)


async def quadrant_config(session: AsyncSession) -> QuadrantConfigRead:
    """The quadrant configuration in force (the defaults until a supervisor changes it)."""
    row = await session.get(StrategySetting, QUADRANT)
    config = QuadrantConfig.model_validate(row.document) if row else QuadrantConfig()
    return QuadrantConfigRead(config=config, **_meta(row))


async def rule_table(session: AsyncSession) -> RuleTableRead:
    """The strategy rules in force (the defaults until a supervisor changes them)."""
    row = await session.get(StrategySetting, RULES)
    table = RuleTable.model_validate(row.document) if row else default_rules()
    return RuleTableRead(rules=table.rules, **_meta(row))


async def _store(
    session: AsyncSession,
    *,
    name: str,
    document: dict[str, Any],
    before: dict[str, Any],
    actor: Principal,
    now: datetime,
) -> StrategySetting:
    row = await session.get(StrategySetting, name)
    if row is None:
        row = StrategySetting(name=name, document=document, version=1, updated_by=actor.user_id, updated_at=now)
        session.add(row)
    else:
        row.document, row.updated_by, row.updated_at = document, actor.user_id, now
        row.version += 1
    await session.flush()
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=f"strategy.{name}_changed",
        object_type="strategy_setting",
        object_id=name,
        before=before,
        after={**document, "version": row.version},
        at=now,
    )
    return row


async def put_quadrant_config(
    session: AsyncSession, *, body: QuadrantConfig, actor: Principal, now: datetime
) -> QuadrantConfigRead:
    """Replace the quadrant configuration (422 naming the field for an unknown input or crossed thresholds)."""
    validate_config(body)
    before, version = await _config(session)
    row = await _store(
        session,
        name=QUADRANT,
        document=body.model_dump(mode="json"),
        before={**before.model_dump(mode="json"), "version": version},
        actor=actor,
        now=now,
    )
    return QuadrantConfigRead(config=body, **_meta(row))


async def put_rule_table(session: AsyncSession, *, body: RuleTable, actor: Principal, now: datetime) -> RuleTableRead:
    """Replace the rule table (422: a duplicate code, an account no rule applies to, a former account not won back)."""
    validate_rules(body)
    before, version = await _rules(session)
    row = await _store(
        session,
        name=RULES,
        document=body.model_dump(mode="json"),
        before={**before.model_dump(mode="json"), "version": version},
        actor=actor,
        now=now,
    )
    return RuleTableRead(rules=body.rules, **_meta(row))


async def catalogue_read(session: AsyncSession, *, fallback: Sequence[str]) -> CatalogueRead:
    """The product catalogue as scoring counts white space against it."""
    catalogue = await current_catalogue(session, fallback=fallback)
    return CatalogueRead(
        source=catalogue.source,
        as_of=catalogue.as_of,
        lines=[CatalogueLineRead.model_validate(line) for line in catalogue.lines],
    )


async def _purchases(session: AsyncSession, *, account: Account, at: AsOf) -> tuple[Decimal, Decimal, list[str]]:
    """(purchases of the 12 months to today, of the 12 before, product lines bought in the window) from the stored
    monthly actuals in the scoring currency, as of today — never a figure stored earlier."""
    first = month_index(at.period) - 2 * WINDOW_MONTHS + 1
    start = f"{first // 12:04d}-{first % 12 + 1:02d}"
    rows = await session.execute(
        select(MonthlyActual.period, MonthlyActual.revenue, MonthlyActual.gross_profit, MonthlyActual.by_product_line)
        .where(MonthlyActual.account_id == account.id, MonthlyActual.currency == SCORING_CURRENCY)
        .where(MonthlyActual.period >= start)
    )
    summary = summarise_actuals(((p, r, g, lines or {}) for p, r, g, lines in rows), current_period=at.period)
    return summary.annual_purchases, summary.previous_year_purchases, summary.product_lines


async def _explained(session: AsyncSession, account: Account) -> tuple[dict[str, Any] | None, Any]:
    stored = await session.get(AccountScore, account.id)
    if stored is None:
        return None, None
    model = await session.get(ScoringModelVersion, stored.model_version)
    return stored.breakdown, parse_definition(model.definition) if model else None


def _quadrant_read(quadrant: Quadrant, version: int) -> QuadrantRead:
    return QuadrantRead.model_validate(
        {
            "code": quadrant.code,
            "label_zh": quadrant.label_zh,
            "label_en": quadrant.label_en,
            "value": quadrant.value.__dict__ | {"components": [c.__dict__ for c in quadrant.value.components]},
            "potential": quadrant.potential.__dict__
            | {"components": [c.__dict__ for c in quadrant.potential.components]},
            "cutoffs_from": quadrant.cutoffs_from,
            "config_version": version,
        }
    )


async def account_strategy(
    session: AsyncSession, *, account: Account, fallback_lines: Sequence[str], at: AsOf
) -> AccountStrategyRead:
    """The account's quadrant (from its explained score and measured growth), the strategy of the first rule that
    applies to its status, tier, quadrant and signals, and white space against the catalogue (unknown lines
    flagged, never counted as coverage)."""
    config, config_version = await _config(session)
    table, rules_version = await _rules(session)
    catalogue: Catalogue = await current_catalogue(session, fallback=fallback_lines)
    purchases, previous, bought = await _purchases(session, account=account, at=at)
    growth = Growth(growth_pct(purchases, previous), purchases, previous, account.expected_growth_pct)
    signals = signals_of(config.signals, leadership=account.industry_leadership, growth=growth)
    breakdown, definition = await _explained(session, account)
    quadrant = place_account(
        config, tier=account.tier, breakdown=breakdown, definition=definition, growth=growth, signals=signals
    )
    known = catalogue.known()
    missing = [line for line in catalogue.offered() if line not in set(bought)]
    leader = f"{account.industry_leadership} ≥ {config.signals.leader_rating}"
    details = {
        "industry_leader": (f"行业影响力评分 {leader}", f"rating {leader}"),
        "high_growth": (signals.explanation_zh, signals.explanation_en),
        "declining": (signals.explanation_zh, signals.explanation_en),
    }
    situation = Situation(account.status, account.tier or "unscored", quadrant.code, signals.active())
    strategy = recommend(table, situation, missing_lines=missing, details=details)
    return AccountStrategyRead(
        account_id=account.id,
        tier=account.tier,
        status=account.status,
        code=strategy.code,
        title_zh=strategy.title_zh,
        title_en=strategy.title_en,
        reason=strategy.reason,
        reason_zh=strategy.reason_zh,
        actions=strategy.actions,
        actions_en=strategy.actions_en,
        rule=RuleRef(position=strategy.rule_position, code=strategy.code, rules_version=rules_version),
        quadrant=_quadrant_read(quadrant, config_version),
        growth=GrowthRead(
            **growth.__dict__,
            high_growth=signals.high_growth,
            declining=signals.declining,
            industry_leader=signals.industry_leader,
            explanation_en=signals.explanation_en,
            explanation_zh=signals.explanation_zh,
        ),
        product_lines_bought=[line for line in bought if line in known],
        white_space=missing,
        unknown_product_lines=unknown_lines(known, bought),
        catalogue_source=catalogue.source,
    )

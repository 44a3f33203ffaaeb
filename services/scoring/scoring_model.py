"""The scoring model (FAQ 1): indicators in four dimensions, normalisation, weights, explained scores, tiers.

Pure functions only, so the arithmetic is testable without a database and fast enough to re-score a
whole portfolio in memory.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field

from shared.api import RequestBody
from shared.errors import Unprocessable
from shared.vocabulary import KEY_ACCOUNT_TIERS, TIER_CODES, TIER_LABELS, TierCode

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
NO_SCORE = Decimal("0.00")
FULL_SCORE = Decimal("100.00")

DIMENSIONS: dict[str, tuple[str, str]] = {
    "scale": ("规模与价值", "Scale and value"),
    "strategic": ("战略意义", "Strategic significance"),
    "potential": ("合作潜力", "Potential"),
    "relationship": ("关系深度", "Relationship depth"),
}

# Every tier but the lowest has a minimum score (best first); below them all is ``maintain``.
THRESHOLD_TIERS: tuple[TierCode, ...] = TIER_CODES[:-1]


@dataclass(frozen=True)
class IndicatorInfo:
    """What an indicator measures and which dimension it belongs to."""

    code: str
    dimension: str
    label_zh: str
    label_en: str
    unit: str


INDICATORS: dict[str, IndicatorInfo] = {
    i.code: i
    for i in (
        IndicatorInfo("annual_purchases", "scale", "年采购额(近12个月)", "Annual purchases, last 12 months", "CNY"),
        IndicatorInfo("annual_profit", "scale", "利润贡献(近12个月毛利)", "Profit contribution, last 12 months", "CNY"),
        IndicatorInfo("profit_share", "scale", "利润贡献占比", "Share of our total gross profit", "%"),
        IndicatorInfo("industry_leadership", "strategic", "行业影响力", "Industry leadership (rating)", "0-10"),
        IndicatorInfo("reference_value", "strategic", "标杆效应", "Reference value (rating)", "0-10"),
        IndicatorInfo("channel_value", "strategic", "渠道价值", "Channel value (rating)", "0-10"),
        IndicatorInfo("product_fit", "potential", "产品匹配度", "Fit with our core products (rating)", "0-10"),
        IndicatorInfo("expected_growth", "potential", "3-5年增长预期", "Expected 3–5-year growth", "% a year"),
        IndicatorInfo("revenue_growth", "potential", "采购额同比增长", "Purchases growth, year on year", "%"),
        IndicatorInfo("cooperation_years", "relationship", "合作年限", "Years of cooperation", "years"),
        IndicatorInfo("highest_contact_level", "relationship", "最高沟通层级", "Highest contact level reached", "0-3"),
        IndicatorInfo("stability", "relationship", "合作稳定性(有采购的月数)", "Months with purchases of 12", "months"),
        IndicatorInfo("satisfaction", "relationship", "客户满意度", "Satisfaction (complaints, surveys)", "1-5"),
        IndicatorInfo("escalations", "relationship", "投诉升级次数", "Complaint escalations", "count"),
        IndicatorInfo("credit_grade", "relationship", "信用等级", "Credit grade (A=5 … E=1)", "1-5"),
    )
}

CREDIT_GRADE_VALUES = {"A": 5, "B": 4, "C": 3, "D": 2, "E": 1}
TOP_PERCENT_MEASURES = ("annual_purchases", "annual_profit", "score")

# Numbers of a model: finite decimals with at most 4 places (a weight, score or percentage has 6 whole digits at
# most; a raw value such as an amount 16), so nothing in a model can overflow a computation or a column.
ModelNumber = Annotated[Decimal, Field(max_digits=10, decimal_places=4, allow_inf_nan=False)]
RawValue = Annotated[Decimal, Field(max_digits=20, decimal_places=4, allow_inf_nan=False)]


class ThresholdStep(RequestBody):
    """Raw values at or above ``at`` score ``score`` (the highest step reached counts)."""

    at: RawValue
    score: ModelNumber


class Normalisation(RequestBody):
    """How a raw value becomes 0–100: linear between bounds, threshold steps, or percentile in the portfolio."""

    method: Literal["bounds", "thresholds", "percentile"]
    min: RawValue | None = Field(default=None, description="bounds: raw value scoring 0 (min > max: lower is better)")
    max: RawValue | None = Field(default=None, description="bounds: raw value scoring 100")
    steps: list[ThresholdStep] = Field(default_factory=list, max_length=50, description="thresholds: ascending")
    missing: RawValue | None = Field(default=None, description="raw value assumed when there is no data (else 0)")


class IndicatorWeight(RequestBody):
    """One indicator of a model with its weight (weights of a model sum to 100)."""

    code: str = Field(min_length=1, max_length=50)
    weight: ModelNumber
    normalisation: Normalisation


class TopPercentRule(RequestBody):
    """Key accounts (strategic + key) are exactly the top ``percent`` % of the portfolio by ``by``."""

    percent: ModelNumber
    by: str = Field(default="annual_purchases", max_length=50)


class TierPolicy(RequestBody):
    """Minimum scores of each tier (below ``growth`` is ``maintain``) and the optional top-N % rule."""

    thresholds: dict[Annotated[str, Field(max_length=20)], ModelNumber] = Field(
        default_factory=lambda: {"strategic": Decimal(80), "key": Decimal(65), "growth": Decimal(45)},
        max_length=10,
    )
    top_percent: TopPercentRule | None = None


class ModelDefinition(RequestBody):
    """A complete scoring model."""

    indicators: list[IndicatorWeight] = Field(max_length=50)
    tiers: TierPolicy = Field(default_factory=TierPolicy)


def _bounds(lo: str, hi: str, missing: str | None = None) -> Normalisation:
    return Normalisation(
        method="bounds", min=Decimal(lo), max=Decimal(hi), missing=Decimal(missing) if missing else None
    )


def _steps(*pairs: tuple[str, str]) -> Normalisation:
    return Normalisation(method="thresholds", steps=[ThresholdStep(at=Decimal(a), score=Decimal(s)) for a, s in pairs])


def default_definition() -> ModelDefinition:
    """The model published on first start: FAQ 1's four dimensions weighted 35 / 25 / 20 / 20."""
    w = Decimal
    return ModelDefinition(
        indicators=[
            IndicatorWeight(code="annual_purchases", weight=w(15), normalisation=Normalisation(method="percentile")),
            IndicatorWeight(code="annual_profit", weight=w(10), normalisation=_bounds("0", "8000000")),
            IndicatorWeight(code="profit_share", weight=w(10), normalisation=_bounds("0", "8")),
            IndicatorWeight(code="industry_leadership", weight=w(10), normalisation=_bounds("0", "10")),
            IndicatorWeight(code="reference_value", weight=w(8), normalisation=_bounds("0", "10")),
            IndicatorWeight(code="channel_value", weight=w(7), normalisation=_bounds("0", "10")),
            IndicatorWeight(code="product_fit", weight=w(8), normalisation=_bounds("0", "10", "5")),
            IndicatorWeight(code="expected_growth", weight=w(7), normalisation=_bounds("0", "30")),
            IndicatorWeight(code="revenue_growth", weight=w(5), normalisation=_bounds("-20", "50", "0")),
            IndicatorWeight(
                code="cooperation_years",
                weight=w(5),
                normalisation=_steps(("1", "25"), ("3", "50"), ("5", "75"), ("10", "100")),
            ),
            IndicatorWeight(
                code="highest_contact_level", weight=w(5), normalisation=_steps(("1", "30"), ("2", "65"), ("3", "100"))
            ),
            IndicatorWeight(code="stability", weight=w(3), normalisation=_bounds("0", "12")),
            IndicatorWeight(code="satisfaction", weight=w(4), normalisation=_bounds("1", "5", "3.5")),
            IndicatorWeight(code="escalations", weight=w(1), normalisation=_bounds("4", "0", "0")),
            IndicatorWeight(code="credit_grade", weight=w(2), normalisation=_bounds("1", "5", "3")),
        ]
    )


# ---------------------------------------------------------------- validation


def validate_definition(definition: ModelDefinition) -> None:
    """Refuse a model that cannot score: unknown indicators, bad weights or normalisation, bad tiers (422)."""
    seen: set[str] = set()
    for i, indicator in enumerate(definition.indicators):
        where = f"indicators.{i}"
        if indicator.code not in INDICATORS:
            raise Unprocessable(
                f"Unknown indicator {indicator.code!r}; known: {', '.join(INDICATORS)}", field=f"{where}.code"
            )
        if indicator.code in seen:
            raise Unprocessable(f"Indicator {indicator.code!r} appears twice", field=f"{where}.code")
        seen.add(indicator.code)
        if indicator.weight < 0:
            raise Unprocessable(
                f"Weight of {indicator.code!r} is negative ({indicator.weight})", field=f"{where}.weight"
            )
        _validate_normalisation(indicator.normalisation, f"{where}.normalisation")
    if not definition.indicators:
        raise Unprocessable("A model needs at least one indicator", field="indicators")
    total = sum((ind.weight for ind in definition.indicators), ZERO)
    if total != HUNDRED:
        raise Unprocessable(f"Weights must sum to 100, they sum to {total}", field="indicators")
    _validate_tiers(definition.tiers)


def _validate_normalisation(spec: Normalisation, where: str) -> None:
    if spec.method == "bounds":
        if spec.min is None or spec.max is None:
            raise Unprocessable("Bounds normalisation needs min and max", field=where)
        if spec.min == spec.max:
            raise Unprocessable("Bounds normalisation needs min different from max", field=f"{where}.max")
    elif spec.method == "thresholds":
        if not spec.steps:
            raise Unprocessable("Thresholds normalisation needs at least one step", field=f"{where}.steps")
        ats = [s.at for s in spec.steps]
        if ats != sorted(ats) or len(set(ats)) != len(ats):
            raise Unprocessable("Threshold steps must be strictly ascending by 'at'", field=f"{where}.steps")
        if any(not ZERO <= s.score <= HUNDRED for s in spec.steps):
            raise Unprocessable("Threshold step scores must lie between 0 and 100", field=f"{where}.steps")


def _validate_tiers(policy: TierPolicy) -> None:
    needed = THRESHOLD_TIERS
    unknown = set(policy.thresholds) - set(needed)
    if unknown:
        raise Unprocessable(
            f"Unknown tier threshold(s) {sorted(unknown)}; expected {list(needed)}", field="tiers.thresholds"
        )
    missing = [t for t in needed if t not in policy.thresholds]
    if missing:
        raise Unprocessable(f"Missing tier threshold(s) {missing}", field="tiers.thresholds")
    values = [policy.thresholds[t] for t in needed]
    if not all(ZERO <= v <= HUNDRED for v in values) or not values[0] > values[1] > values[2]:
        raise Unprocessable("Tier thresholds must lie in 0–100 with strategic > key > growth", field="tiers.thresholds")
    rule = policy.top_percent
    if rule is not None:
        if not ZERO < rule.percent <= HUNDRED:
            raise Unprocessable("top_percent.percent must be in (0, 100]", field="tiers.top_percent.percent")
        if rule.by not in TOP_PERCENT_MEASURES:
            raise Unprocessable(
                f"top_percent.by must be one of {', '.join(TOP_PERCENT_MEASURES)}", field="tiers.top_percent.by"
            )


def parse_definition(raw: Mapping[str, Any]) -> ModelDefinition:
    """A stored definition as a model object."""
    return ModelDefinition.model_validate(raw)


# ---------------------------------------------------------------- normalisation and scoring


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percentile_rank(sorted_values: Sequence[Decimal], value: Decimal) -> Decimal:
    """Share of the portfolio (others) strictly below ``value``, 0–100; a lone account ranks 100."""
    n = len(sorted_values)
    if n <= 1:
        return FULL_SCORE
    below = bisect.bisect_left(sorted_values, value)
    return _q(Decimal(below) * HUNDRED / Decimal(n - 1)).min(HUNDRED)


Normaliser = Callable[[Decimal | None, Sequence[Decimal] | None], Decimal]


def normaliser(spec: Normalisation) -> Normaliser:
    """A function raw value → 0–100 (2 decimals) with the spec's constants worked out once."""
    missing = spec.missing
    if spec.method == "bounds":
        assert spec.min is not None and spec.max is not None
        low, span = spec.min, spec.max - spec.min

        def bounds(raw: Decimal | None, population: Sequence[Decimal] | None) -> Decimal:
            value = raw if raw is not None else missing
            if value is None:
                return NO_SCORE
            scaled = (value - low) * HUNDRED / span
            if scaled <= ZERO:
                return NO_SCORE
            if scaled >= HUNDRED:
                return FULL_SCORE
            return scaled.quantize(CENT, rounding=ROUND_HALF_UP)

        return bounds
    if spec.method == "thresholds":
        steps = [(step.at, step.score.quantize(CENT, rounding=ROUND_HALF_UP)) for step in spec.steps]

        def thresholds(raw: Decimal | None, population: Sequence[Decimal] | None) -> Decimal:
            value = raw if raw is not None else missing
            score = NO_SCORE
            if value is not None:
                for at, step_score in steps:
                    if value >= at:
                        score = step_score
            return score

        return thresholds

    def percentile(raw: Decimal | None, population: Sequence[Decimal] | None) -> Decimal:
        value = raw if raw is not None else missing
        return NO_SCORE if value is None else percentile_rank(population or (), value)

    return percentile


def normalise(spec: Normalisation, raw: Decimal | None, population: Sequence[Decimal] | None = None) -> Decimal:
    """The 0–100 value of a raw indicator value under its normalisation (2 decimals)."""
    return normaliser(spec)(raw, population)


class IndicatorScore(NamedTuple):
    """One indicator's part of a score."""

    code: str
    dimension: str
    raw: Decimal | None
    normalised: Decimal
    weight: Decimal
    contribution: Decimal


class DimensionScore(NamedTuple):
    """One dimension: its 0–100 score, its weight and its contribution to the total."""

    dimension: str
    score: Decimal
    weight: Decimal
    contribution: Decimal


@dataclass(frozen=True)
class ScoreResult:
    """An explained score: total = sum of the indicators' contributions."""

    total: Decimal
    dimensions: list[DimensionScore]
    indicators: list[IndicatorScore]

    def compact(self) -> dict[str, Any]:
        """Compact JSON form stored with the score (labels are added when it is served)."""
        return {
            "d": {d.dimension: [str(d.score), str(d.weight), str(d.contribution)] for d in self.dimensions},
            "i": [
                [i.code, None if i.raw is None else str(i.raw), str(i.normalised), str(i.weight), str(i.contribution)]
                for i in self.indicators
            ],
        }


# Why an indicator can have no data (中文, English); the model's ``missing`` value (or 0) is assumed instead.
MISSING_DATA: dict[str, tuple[str, str]] = {
    "industry_leadership": ("尚未评分", "not rated yet"),
    "reference_value": ("尚未评分", "not rated yet"),
    "channel_value": ("尚未评分", "not rated yet"),
    "product_fit": ("尚未评分", "not rated yet"),
    "expected_growth": ("未填写3-5年增长预期", "no expected growth entered"),
    "revenue_growth": (
        "前一个12个月无采购, 无法计算同比",
        "no purchases in the 12 months before: no year-on-year growth",
    ),
    "cooperation_years": ("合作起始日期未知", "start of cooperation unknown"),
    "satisfaction": (
        "近12个月无投诉回访评分或满意度调研",
        "no complaint rating or survey answer in the last 12 months",
    ),
    "credit_grade": ("尚无信用评级", "no credit grade yet"),
}
NO_DATA = ("无数据", "no data")


def assumed_value(code: str, definition: ModelDefinition | None) -> dict[str, Any]:
    """How an indicator without data was scored: ``assumed``, the value assumed and the reason (中文 / English)."""
    spec = next((i.normalisation for i in definition.indicators if i.code == code), None) if definition else None
    missing = spec.missing if spec is not None else None
    why_zh, why_en = MISSING_DATA.get(code, NO_DATA)
    if missing is not None:
        reason = f"{why_zh}, 按模型缺省值 {missing} 计 / {why_en}: the model assumes {missing}"
    else:
        reason = f"{why_zh}, 按 0 分计 / {why_en}: scored 0"
    return {"assumed": True, "assumed_value": None if missing is None else str(missing), "assumed_reason": reason}


def expand_breakdown(
    compact: Mapping[str, Any], definition: ModelDefinition | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(dimensions, indicators) of a stored compact breakdown, with labels, for the API; an indicator without
    data says so (``assumed``: the value ``definition`` assumes for missing data, and why there was none)."""
    dimensions = [
        {
            "dimension": code,
            "label_zh": DIMENSIONS[code][0],
            "label_en": DIMENSIONS[code][1],
            "score": score,
            "weight": weight,
            "contribution": contribution,
        }
        for code, (score, weight, contribution) in compact.get("d", {}).items()
    ]
    indicators = [
        {
            "code": code,
            "dimension": INDICATORS[code].dimension,
            "label_zh": INDICATORS[code].label_zh,
            "label_en": INDICATORS[code].label_en,
            "unit": INDICATORS[code].unit,
            "raw": raw,
            "normalised": normalised,
            "weight": weight,
            "contribution": contribution,
            **(assumed_value(code, definition) if raw is None else {"assumed": False}),
        }
        for code, raw, normalised, weight, contribution in compact.get("i", [])
    ]
    return dimensions, indicators


Populations = Mapping[str, Sequence[Decimal]]


@dataclass(frozen=True)
class CompiledIndicator:
    """One indicator ready to score: its dimension, weight, weight / 100 and normaliser."""

    code: str
    dimension: str
    weight: Decimal
    share: Decimal
    normalise: Normaliser


@dataclass(frozen=True)
class CompiledModel:
    """A definition prepared for scoring many accounts (no per-account lookups of the model)."""

    indicators: tuple[CompiledIndicator, ...]
    dimension_weights: dict[str, Decimal]


def compile_model(definition: ModelDefinition) -> CompiledModel:
    """Resolve each indicator's dimension, weight share and normaliser once."""
    indicators = tuple(
        CompiledIndicator(
            item.code,
            INDICATORS[item.code].dimension,
            item.weight,
            item.weight / HUNDRED,
            normaliser(item.normalisation),
        )
        for item in definition.indicators
    )
    weights = dict.fromkeys(DIMENSIONS, ZERO)
    for indicator in indicators:
        weights[indicator.dimension] += indicator.weight
    return CompiledModel(indicators, weights)


def score_account(
    model: ModelDefinition | CompiledModel,
    features: Mapping[str, Decimal | None],
    populations: Populations | None = None,
) -> ScoreResult:
    """Score one account: contribution = weight × normalised / 100 (2 decimals); total = their sum."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    indicators: list[IndicatorScore] = []
    contributions = dict.fromkeys(DIMENSIONS, ZERO)
    total = ZERO
    for ind in compiled.indicators:
        raw = features.get(ind.code)
        normalised = ind.normalise(raw, populations.get(ind.code) if populations else None)
        contribution = (ind.share * normalised).quantize(CENT, rounding=ROUND_HALF_UP)
        indicators.append(IndicatorScore(ind.code, ind.dimension, raw, normalised, ind.weight, contribution))
        contributions[ind.dimension] += contribution
        total += contribution
    dimensions = [
        DimensionScore(
            dimension,
            _q(contributions[dimension] * HUNDRED / weight) if weight else ZERO,
            weight,
            contributions[dimension],
        )
        for dimension, weight in compiled.dimension_weights.items()
    ]
    return ScoreResult(total=total, dimensions=dimensions, indicators=indicators)


def percentile_indicators(definition: ModelDefinition) -> list[str]:
    """Codes of the indicators normalised by portfolio percentile (they need the population)."""
    return [i.code for i in definition.indicators if i.normalisation.method == "percentile"]


def build_populations(definition: ModelDefinition, portfolio: Iterable[Mapping[str, Decimal | None]]) -> Populations:
    """Sorted raw values of every percentile indicator across the portfolio (missing values as assumed)."""
    specs = {i.code: i.normalisation for i in definition.indicators if i.normalisation.method == "percentile"}
    values: dict[str, list[Decimal]] = {code: [] for code in specs}
    for features in portfolio:
        for code, spec in specs.items():
            raw = features.get(code)
            value = raw if raw is not None else spec.missing
            if value is not None:
                values[code].append(value)
    for column in values.values():
        column.sort()
    return values


# ---------------------------------------------------------------- tiers


def tier_for_score(total: Decimal, thresholds: Mapping[str, Decimal]) -> str:
    """The tier whose minimum the score reaches (best first); below every minimum is ``maintain``."""
    for tier in THRESHOLD_TIERS:
        if total >= thresholds[tier]:
            return tier
    return "maintain"


def top_count(portfolio_size: int, percent: Decimal) -> int:
    """How many accounts the top-N % rule admits (rounded up, at least one in a non-empty portfolio)."""
    if portfolio_size <= 0:
        return 0
    return max(1, math.ceil(portfolio_size * percent / HUNDRED))


def apply_top_rule(computed: str, in_top: bool) -> str:
    """Within the top N % an account is at least ``key``; outside it at most ``growth``."""
    if in_top:
        return computed if computed in KEY_ACCOUNT_TIERS else "key"
    return "growth" if computed in KEY_ACCOUNT_TIERS else computed


def ranked_ids(entries: Sequence[tuple[str, Decimal, Decimal]]) -> list[str]:
    """Account ids of (account id, score, measure) ranked by measure, then score, then id (a total order, so ties
    are decided the same way whatever order the portfolio was read in)."""
    return [account_id for account_id, _, _ in sorted(entries, key=lambda e: (-e[2], -e[1], e[0]))]


def top_set(rule: TopPercentRule, entries: Sequence[tuple[str, Decimal, Decimal]]) -> set[str]:
    """The accounts inside the top N % (``ranked_ids``)."""
    return set(ranked_ids(entries)[: top_count(len(entries), rule.percent)])


MEASURE_LABELS: dict[str, tuple[str, str]] = {
    "annual_purchases": ("年采购额", "annual purchases"),
    "annual_profit": ("利润贡献", "annual profit"),
    "score": ("综合评分", "score"),
}


@dataclass(frozen=True)
class TopRuleStanding:
    """Where an account stands under the top-N % rule and what the rule did to its tier (中文 / English)."""

    percent: Decimal
    by: str
    rank: int
    population: int
    admitted: int
    effect: Literal["raised", "capped", "inside", "outside"]
    tier: str
    label_zh: str
    label_en: str


def top_rule_standing(
    rule: TopPercentRule, *, threshold_tier: str, tier: str, rank: int, population: int
) -> TopRuleStanding:
    """The explanation of an account ranked ``rank`` of ``population`` active accounts by the rule's measure:
    "capped at growth: rank 5 of 35 by annual purchases (top 10 % = 4 accounts)" and its 中文."""
    admitted = top_count(population, rule.percent)
    inside = rank <= admitted
    if threshold_tier != tier:
        effect: Literal["raised", "capped", "inside", "outside"] = "raised" if inside else "capped"
    else:
        effect = "inside" if inside else "outside"
    percent = format(rule.percent.normalize(), "f")
    measure_zh, measure_en = MEASURE_LABELS.get(rule.by, (rule.by, rule.by))
    tier_labels: dict[str, tuple[str, str]] = {str(t): labels for t, labels in TIER_LABELS.items()}
    tier_zh = tier_labels.get(tier, (tier, tier))[0]
    head_en, head_zh = {
        "raised": (f"raised to {tier}", f"提升为{tier_zh}"),
        "capped": (f"capped at {tier}", f"限为{tier_zh}"),
        "inside": (f"within the top {percent}%", f"位于前{percent}%"),
        "outside": (f"outside the top {percent}%", f"未进入前{percent}%"),
    }[effect]
    return TopRuleStanding(
        percent=rule.percent,
        by=rule.by,
        rank=rank,
        population=population,
        admitted=admitted,
        effect=effect,
        tier=tier,
        label_en=f"{head_en}: rank {rank} of {population} by {measure_en} "
        f"(top {percent}% = {admitted} account{'' if admitted == 1 else 's'})",
        label_zh=f"{head_zh}: 按{measure_zh}排名第{rank}/{population}(前{percent}%即{admitted}家)",
    )


def assign_tiers(policy: TierPolicy, entries: Sequence[tuple[str, Decimal, Decimal]]) -> dict[str, str]:
    """Tiers of a portfolio of (account id, score, top-rule measure): thresholds, then the top-N % rule."""
    tiers = {account_id: tier_for_score(total, policy.thresholds) for account_id, total, _ in entries}
    rule = policy.top_percent
    if rule is None:
        return tiers
    top = top_set(rule, entries)
    return {account_id: apply_top_rule(tier, account_id in top) for account_id, tier in tiers.items()}


# ---------------------------------------------------------------- what of one account the others depend on


@dataclass(frozen=True)
class Footprint:
    """One account as the rest of the portfolio sees it: active or not, and its raw indicator values.

    ``profit_share`` is left out: it depends on the portfolio, not on the account alone (its input is
    ``annual_profit``).
    """

    active: bool
    values: Mapping[str, Decimal | None]

    @classmethod
    def of(cls, values: Mapping[str, Decimal | None], *, active: bool) -> Footprint:
        """The footprint of an account's indicator values."""
        return cls(active=active, values={k: v for k, v in values.items() if k != "profit_share"})


def portfolio_inputs(definition: ModelDefinition) -> frozenset[str]:
    """The raw values of one account that other accounts' scores or tiers depend on under this model.

    Percentile indicators rank an account against the others, the profit share divides by the portfolio's
    profit, and the top-N % rule ranks by its measure; every other indicator is the account's own business.
    """
    watched = set(percentile_indicators(definition))
    if "profit_share" in watched or any(i.code == "profit_share" for i in definition.indicators):
        watched.discard("profit_share")
        watched.add("annual_profit")
    rule = definition.tiers.top_percent
    if rule is not None and rule.by != "score":
        watched.add(rule.by)
    return frozenset(watched)


def is_portfolio_relative(definition: ModelDefinition) -> bool:
    """Whether one account's score or tier depends on the other accounts under this model."""
    return bool(portfolio_inputs(definition)) or definition.tiers.top_percent is not None


def moves_portfolio(definition: ModelDefinition, before: Footprint | None, after: Footprint | None) -> bool:
    """Whether a change of one account (``None``: not in the registry) changes other accounts' scores or tiers.

    An account joining or leaving the active portfolio changes every percentile and the top-N % count; an
    active account changing a watched value changes the others' ranks or profit shares.
    """
    if not is_portfolio_relative(definition):
        return False
    was_active = before is not None and before.active
    is_active = after is not None and after.active
    if was_active != is_active:
        return True
    if not is_active or before is None or after is None:
        return False  # a former account is ranked against the others, never the other way round
    return any(before.values.get(code) != after.values.get(code) for code in portfolio_inputs(definition))


def override_is_active(expires_at: datetime | None, ended_at: datetime | None, now: datetime) -> bool:
    """An override counts until it is ended or expires."""
    return ended_at is None and (expires_at is None or expires_at > now)


def effective_tier(computed: str, override_tier: str | None, override_active: bool) -> tuple[str, bool]:
    """(tier, overridden): an active override wins, otherwise the computed tier."""
    if override_tier is not None and override_active:
        return override_tier, True
    return computed, False

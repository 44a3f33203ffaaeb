"""The value × potential quadrant of an account: configurable axes (dimensions or indicators of the explained score,
weighted), cut-offs (optionally per tier), and growth taken from the data.

Growth is what the account's purchases did (the 12 months to today against the 12 before), never a stale or
self-reported figure: the score's growth indicators are re-normalised from the measured growth, a self-reported
expectation counts no higher than the measured growth, and an account whose purchases fall by the configured
decline (default 10 % a year) or more is never of high potential. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from services.scoring.scoring_model import DIMENSIONS, INDICATORS, ModelDefinition, normalise
from shared.api import RequestBody
from shared.errors import Unprocessable
from shared.vocabulary import TierCode

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=2, allow_inf_nan=False)]
Weight = Annotated[Decimal, Field(gt=0, le=1000, max_digits=8, decimal_places=4, allow_inf_nan=False)]
GrowthPct = Annotated[Decimal, Field(ge=-100, le=10000, max_digits=8, decimal_places=2, allow_inf_nan=False)]
Rating = Annotated[Decimal, Field(ge=0, le=10, max_digits=6, decimal_places=4, allow_inf_nan=False)]
QuadrantCode = Literal["star", "cash_cow", "rising", "ordinary"]
Level = Literal["high", "low"]

# (value level, potential level) → quadrant, with its labels.
QUADRANTS: dict[tuple[str, str], tuple[QuadrantCode, str, str]] = {
    ("high", "high"): ("star", "明星客户(高价值·高潜力)", "Star (high value, high potential)"),
    ("high", "low"): ("cash_cow", "现金牛客户(高价值·低潜力)", "Cash cow (high value, low potential)"),
    ("low", "high"): ("rising", "潜力客户(低价值·高潜力)", "Rising (low value, high potential)"),
    ("low", "low"): ("ordinary", "一般客户(低价值·低潜力)", "Ordinary (low value, low potential)"),
}
QUADRANT_CODES: tuple[QuadrantCode, ...] = tuple(code for code, _, _ in QUADRANTS.values())
GROWTH_INDICATORS = ("revenue_growth", "expected_growth")


class AxisComponent(RequestBody):
    """One input of an axis: a dimension's 0–100 score or an indicator's normalised 0–100 value, with a weight."""

    source: Literal["dimension", "indicator"]
    code: str = Field(min_length=1, max_length=50)
    weight: Weight = Decimal(1)


class Axis(RequestBody):
    """An axis: the weighted mean of its components (inputs without data are left out, weights re-normalised)."""

    components: list[AxisComponent] = Field(min_length=1, max_length=15)


class Cutoffs(RequestBody):
    """An axis score at or above its cut-off is ``high``."""

    value: Percent = Decimal(50)
    potential: Percent = Decimal(50)


class Signals(RequestBody):
    """The thresholds of the signals strategy rules may ask for."""

    leader_rating: Rating = Field(default=Decimal(8), description="industry leadership rating of a leader")
    high_growth_pct: GrowthPct = Field(default=Decimal(20), description="measured purchases growth, % a year")
    high_expected_growth_pct: GrowthPct = Field(
        default=Decimal(15), description="self-reported growth counted only without a measured one"
    )
    declining_growth_pct: GrowthPct = Field(
        default=Decimal(-10), description="measured growth at or below this is a decline: potential is low"
    )


def _default_value() -> Axis:
    return Axis(components=[AxisComponent(source="dimension", code="scale", weight=Decimal(1))])


def _default_potential() -> Axis:
    return Axis(components=[AxisComponent(source="dimension", code="potential", weight=Decimal(1))])


class QuadrantConfig(RequestBody):
    """What makes value and potential, where they are cut, per tier if wished, and the signal thresholds."""

    value: Axis = Field(default_factory=_default_value)
    potential: Axis = Field(default_factory=_default_potential)
    cutoffs: Cutoffs = Field(default_factory=Cutoffs)
    tier_cutoffs: dict[TierCode, Cutoffs] = Field(default_factory=dict)
    signals: Signals = Field(default_factory=Signals)


def validate_config(config: QuadrantConfig) -> None:
    """Refuse axes naming unknown dimensions or indicators, twice the same input, or crossed growth thresholds."""
    for axis_name in ("value", "potential"):
        axis: Axis = getattr(config, axis_name)
        seen: set[tuple[str, str]] = set()
        for i, component in enumerate(axis.components):
            where = f"{axis_name}.components.{i}.code"
            known = DIMENSIONS if component.source == "dimension" else INDICATORS
            if component.code not in known:
                raise Unprocessable(
                    f"{where}: unknown {component.source} {component.code!r}; known: {', '.join(known)}", field=where
                )
            if (component.source, component.code) in seen:
                raise Unprocessable(f"{where}: {component.code!r} appears twice on the axis", field=where)
            seen.add((component.source, component.code))
    signals = config.signals
    if signals.declining_growth_pct >= signals.high_growth_pct:
        field = "signals.declining_growth_pct"
        raise Unprocessable(f"{field} must be below signals.high_growth_pct", field=field)


@dataclass(frozen=True)
class Growth:
    """Purchases growth as measured from the actuals, beside the self-reported expectation."""

    measured_pct: Decimal | None
    annual_purchases: Decimal
    previous_year_purchases: Decimal
    expected_pct: Decimal | None

    def effective_expected(self) -> Decimal | None:
        """The expectation as the potential counts it: never above what the purchases actually did."""
        if self.expected_pct is None or self.measured_pct is None:
            return self.expected_pct
        return min(self.expected_pct, self.measured_pct)


@dataclass(frozen=True)
class SignalValues:
    """Signals of one account (rules may require them) and why."""

    industry_leader: bool
    high_growth: bool
    declining: bool
    explanation_en: str
    explanation_zh: str

    def active(self) -> frozenset[str]:
        """The names of the signals that hold."""
        return frozenset(name for name in ("industry_leader", "high_growth", "declining") if getattr(self, name))


def signals_of(signals: Signals, *, leadership: Decimal | None, growth: Growth) -> SignalValues:
    """Leader by rating; high growth by the measured growth (the expectation only when nothing is measured);
    declining when the measured growth is at or below the decline threshold."""
    leader = leadership is not None and leadership >= signals.leader_rating
    measured = growth.measured_pct
    if measured is not None:
        high = measured >= signals.high_growth_pct
        declining = measured <= signals.declining_growth_pct
        now, before = growth.annual_purchases, growth.previous_year_purchases
        en = f"purchases {measured} % year on year (measured: {now} vs {before})"
        zh = f"采购额同比 {measured} %(实际数据: 近12个月 {now}, 上年同期 {before})"
        if growth.expected_pct is not None:
            en += f"; the self-reported {growth.expected_pct} % is not used for growth"
            zh += f"; 自报增长预期 {growth.expected_pct} % 不作为增长依据"
    else:
        high = growth.expected_pct is not None and growth.expected_pct >= signals.high_expected_growth_pct
        declining = False
        expected = "—" if growth.expected_pct is None else growth.expected_pct
        en = f"no purchases of the year before to measure growth; expected {expected} % (self-reported)"
        zh = f"无上年采购数据, 无法计算实际增长; 自报增长预期 {expected} %"
    return SignalValues(leader, high, declining, en, zh)


@dataclass(frozen=True)
class ComponentValue:
    """One input of an axis as it counted (``value`` None: no data under the model in force)."""

    source: str
    code: str
    label_zh: str
    label_en: str
    weight: Decimal
    value: Decimal | None


@dataclass(frozen=True)
class AxisValue:
    """An axis of one account: its score, cut-off, level and inputs."""

    score: Decimal | None
    cutoff: Decimal
    level: Level | None
    components: list[ComponentValue]
    note_en: str | None = None
    note_zh: str | None = None


@dataclass(frozen=True)
class Quadrant:
    """Where an account stands (``code`` None: not scored yet, or no axis input has data)."""

    code: QuadrantCode | None
    label_zh: str | None
    label_en: str | None
    value: AxisValue
    potential: AxisValue
    cutoffs_from: str  # "default" | "tier:<code>"


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _indicators(
    breakdown: Mapping[str, Any], definition: ModelDefinition | None, growth: Growth
) -> dict[str, tuple[Decimal, Decimal]]:
    """(weight, normalised) of each indicator of the stored score, the growth ones re-normalised from the data."""
    specs = {i.code: i.normalisation for i in definition.indicators} if definition else {}
    raw_growth = {"revenue_growth": growth.measured_pct, "expected_growth": growth.effective_expected()}
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for code, _raw, normalised, weight, _contribution in breakdown.get("i", []):
        value = Decimal(normalised)
        if code in GROWTH_INDICATORS and code in specs:
            value = normalise(specs[code], raw_growth[code])
        out[code] = (Decimal(weight), value)
    return out


def _component(component: AxisComponent, indicators: Mapping[str, tuple[Decimal, Decimal]]) -> ComponentValue:
    if component.source == "dimension":
        zh, en = DIMENSIONS[component.code]
        parts = [(w, v) for code, (w, v) in indicators.items() if INDICATORS[code].dimension == component.code]
        total = sum((w for w, _ in parts), Decimal(0))
        contributions = sum((_q(w * v / HUNDRED) for w, v in parts), Decimal(0))
        value = _q(contributions * HUNDRED / total) if total > 0 else None
    else:
        info = INDICATORS[component.code]
        zh, en = info.label_zh, info.label_en
        entry = indicators.get(component.code)
        value = entry[1] if entry is not None else None
    return ComponentValue(component.source, component.code, zh, en, component.weight, value)


def _axis(axis: Axis, indicators: Mapping[str, tuple[Decimal, Decimal]], cutoff: Decimal) -> AxisValue:
    components = [_component(c, indicators) for c in axis.components]
    counted = [(c.weight, c.value) for c in components if c.value is not None]
    weight = sum((w for w, _ in counted), Decimal(0))
    if not counted or weight <= 0:
        return AxisValue(None, cutoff, None, components)
    score = _q(sum((w * v for w, v in counted), Decimal(0)) / weight)
    return AxisValue(score, cutoff, "high" if score >= cutoff else "low", components)


def place_account(
    config: QuadrantConfig,
    *,
    tier: str | None,
    breakdown: Mapping[str, Any] | None,
    definition: ModelDefinition | None,
    growth: Growth,
    signals: SignalValues,
) -> Quadrant:
    """The account's quadrant from its explained score (``breakdown`` None: never scored) and measured growth."""
    cut = config.tier_cutoffs.get(tier) if tier is not None else None  # type: ignore[call-overload]
    cutoffs, source = (cut, f"tier:{tier}") if cut is not None else (config.cutoffs, "default")
    indicators = _indicators(breakdown or {}, definition, growth)
    value = _axis(config.value, indicators, cutoffs.value)
    potential = _axis(config.potential, indicators, cutoffs.potential)
    if signals.declining and potential.level == "high":
        potential = AxisValue(
            potential.score,
            potential.cutoff,
            "low",
            potential.components,
            f"capped at low: purchases fell {growth.measured_pct} % year on year "
            f"(decline threshold {config.signals.declining_growth_pct} %)",
            f"采购额同比下降 {growth.measured_pct} %(下降阈值 {config.signals.declining_growth_pct} %), 潜力判为低",
        )
    if breakdown is None or value.level is None or potential.level is None:
        return Quadrant(None, None, None, value, potential, source)
    code, zh, en = QUADRANTS[(value.level, potential.level)]
    return Quadrant(code, zh, en, value, potential, source)

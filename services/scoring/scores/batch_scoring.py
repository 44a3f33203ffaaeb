"""The scoring model over a whole portfolio at once: a published model compiled into NumPy arrays, the raw
indicator values of every account as columns, and scores, tiers and the stored explained breakdowns computed for
all accounts together — equal, to the stored precision (cents) and string for string, to ``scoring_model``'s
per-account ``score_account``, ``assign_tiers`` and ``ScoreResult.compact``.

Exactness: raw values are compared and scaled as float64 where that is exact — every raw value the platform
stores has at most 4 decimal places, and below 10¹¹ such a number has at most 15 significant digits, so distinct
values stay distinct and ordered as floats. A column outside that range (or with more places) is normalised with
``scoring_model``'s own Decimal normaliser, element by element; so is every bounds value whose float result lies
within rounding error of a half cent. Weights, contributions and dimension scores are looked up in tables built
with the Decimal arithmetic of ``scoring_model`` for the cents that occur.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from services.scoring.features import cooperation_years, growth_pct
from services.scoring.scoring_model import (
    CENT,
    CREDIT_GRADE_VALUES,
    DIMENSIONS,
    HUNDRED,
    THRESHOLD_TIERS,
    ZERO,
    ModelDefinition,
    Normalisation,
    ScoreResult,
    TierPolicy,
    compile_model,
    normaliser,
    top_count,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Raw values below this magnitude with ≤ 4 decimal places have ≤ 15 significant digits: exact as float64.
SAFE_MAGNITUDE = 1e11
SCALE = 10_000  # 4 decimal places
NULL = "null"


def token(value: Decimal | None) -> str:
    """The JSON token of a raw value in the stored breakdown: its decimal string, or null."""
    return NULL if value is None else f'"{value}"'


def _cents_token(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f'"{sign}{whole}.{part:02d}"'


# The tokens of 0.00 … 100.00 (normalised values, contributions and dimension scores all lie there).
_TOKENS = np.array([f'"{c // 100}.{c % 100:02d}"' for c in range(10_001)], dtype=object)


def cents_tokens(cents: IntArray) -> list[str]:
    """The tokens of many cents values (a table for 0.00 … 100.00, formatted outside it)."""
    inside = (cents >= 0) & (cents <= 10_000)
    if bool(inside.all()):
        return _TOKENS[cents].tolist()  # type: ignore[no-any-return]
    return [_TOKENS[c] if 0 <= c <= 10_000 else _cents_token(c) for c in cents.tolist()]


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


@dataclass
class RawColumn:
    """One indicator's raw values across the portfolio: as float64 (NaN: no data) and as breakdown tokens."""

    values: FloatArray
    tokens: list[str]

    @classmethod
    def of(cls, raw: Sequence[Decimal | None]) -> RawColumn:
        """A column from exact raw values."""
        nan = np.nan
        shared: dict[str, str] = {}  # one string per distinct value (ratings, levels, years repeat a lot)
        return cls(
            np.array([nan if v is None else float(v) for v in raw], dtype=np.float64),
            [NULL if v is None else shared.setdefault(t := f'"{v}"', t) for v in raw],
        )

    def decimal(self, i: int) -> Decimal | None:
        """The exact raw value of account ``i`` (read back from its token)."""
        text = self.tokens[i]
        return None if text == NULL else Decimal(text[1:-1])

    def exact_safe(self) -> bool:
        """Whether every value is exact as float64 here (≤ 4 places, below ``SAFE_MAGNITUDE``)."""
        finite = self.values[~np.isnan(self.values)]
        if finite.size == 0:
            return True
        if float(np.max(np.abs(finite))) >= SAFE_MAGNITUDE:
            return False
        scaled = finite * SCALE
        return bool(np.all(np.abs(scaled - np.round(scaled)) < 1e-3))


@dataclass
class PortfolioColumns:
    """The portfolio as the vectorised model sees it: account ids, who is active, and a column per indicator."""

    ids: list[str]
    active: BoolArray
    raw: dict[str, RawColumn] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(
        cls, values: Mapping[str, Mapping[str, Decimal | None]], active: Iterable[str] | None = None
    ) -> PortfolioColumns:
        """Columns from per-account indicator values (``indicator_values`` dicts); every account active by default."""
        ids = list(values)
        wanted = set(ids if active is None else active)
        codes = {code for v in values.values() for code in v}
        raw = {code: RawColumn.of([values[i].get(code) for i in ids]) for code in codes}
        return cls(ids, np.array([i in wanted for i in ids], dtype=bool), raw)


# ---------------------------------------------------------------- raw indicator values from stored rows

ACCOUNT_FIELDS = (
    "id",
    "cooperation_since",
    "industry_leadership",
    "reference_value",
    "channel_value",
    "product_fit",
    "expected_growth_pct",
)
FEATURE_FIELDS = (
    "annual_purchases",
    "annual_profit",
    "previous_year_purchases",
    "active_months",
    "satisfaction_avg",
    "escalations",
    "credit_grade",
    "highest_contact_level",
)


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(values: Sequence[Any]) -> list[Decimal]:
    """``_d(v) or Decimal(0)`` of ``features.indicator_values`` for a column."""
    zero = Decimal(0)
    return [(_dec(v) or zero) for v in values]


HUNDREDTH = Decimal("0.01")


def _floats(values: Sequence[Decimal]) -> FloatArray:
    return np.array([float(v) for v in values], dtype=np.float64)


def _tokens(values: Sequence[Decimal]) -> list[str]:
    shared: dict[str, str] = {}
    return [shared.setdefault(t := f'"{v}"', t) for v in values]


def _rounded_column(
    scaled: FloatArray, defined: BoolArray, exact: Any, *, safe: BoolArray, half_even: bool
) -> RawColumn:
    """A column of values quantized to 2 places, from their float value in hundredths (``scaled``; None where not
    ``defined``); elements the floats cannot decide (near a half, below -0.00, not ``safe``) come from ``exact``."""
    with np.errstate(invalid="ignore"):
        if half_even:
            rounded = np.rint(scaled)
        else:
            rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
        frac = np.abs(scaled) - np.floor(np.abs(scaled))
        doubtful = defined & (
            ~safe
            | ~np.isfinite(scaled)
            | (np.abs(frac - 0.5) < 1e-6 + 1e-13 * np.abs(scaled))
            | ((scaled < 0) & (scaled > -1))
            | (np.abs(scaled) >= 1e15)
        )
    cents = np.where(defined & ~doubtful, rounded, 0).astype(np.int64)
    tokens = cents_tokens(cents)
    values = cents / 100
    for i in np.flatnonzero(~defined).tolist():
        tokens[i], values[i] = NULL, np.nan
    for i in np.flatnonzero(doubtful).tolist():
        value = exact(i)
        tokens[i] = token(value)
        values[i] = np.nan if value is None else float(value)
    return RawColumn(values, tokens)


def _integer(values: Sequence[Any]) -> RawColumn:
    ints = [int(v or 0) for v in values]
    shared: dict[int, str] = {}
    return RawColumn(np.array(ints, dtype=np.float64), [shared.get(v) or shared.setdefault(v, f'"{v}"') for v in ints])


def profit_share_column(profit: Sequence[Decimal], portfolio_profit: Decimal) -> RawColumn:
    """The profit share (% of the portfolio's profit, 2 places) of accounts with these profits (``_d(v) or 0``)."""
    if portfolio_profit <= 0:
        return RawColumn(np.zeros(len(profit)), ['"0"'] * len(profit))
    profit_f = _floats(profit)
    return _rounded_column(
        profit_f * 10_000 / float(portfolio_profit),
        np.ones(len(profit), dtype=bool),
        lambda i: (profit[i] * 100 / portfolio_profit).quantize(HUNDREDTH),
        safe=np.abs(profit_f) < SAFE_MAGNITUDE,
        half_even=True,
    )


def indicator_columns(
    columns: Mapping[str, Sequence[Any]], *, today: date, portfolio_profit: Decimal | None
) -> dict[str, RawColumn]:
    """Every indicator's raw values for many accounts at once, exactly as ``features.indicator_values`` gives them
    one account at a time (``columns``: the account and feature fields by name, one value per account; a missing
    feature row is None in each feature field). ``portfolio_profit`` None: no profit share yet (a slice of the
    portfolio read before its total is known; ``profit_share_column`` adds it)."""
    purchases = _money(columns["annual_purchases"])
    profit = _money(columns["annual_profit"])
    previous = _money(columns["previous_year_purchases"])
    purchases_f, profit_f, previous_f = (_floats(c) for c in (purchases, profit, previous))
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = _rounded_column(
            (purchases_f - previous_f) * 10_000 / previous_f,
            previous_f > 0,
            lambda i: growth_pct(purchases[i], previous[i]),
            safe=(np.abs(purchases_f) < SAFE_MAGNITUDE) & (previous_f < SAFE_MAGNITUDE) & (previous_f > 1),
            half_even=False,
        )
    years_cache: dict[Any, Decimal | None] = {}
    years = []
    for since in columns["cooperation_since"]:
        if since not in years_cache:
            years_cache[since] = cooperation_years(since, today)
        years.append(years_cache[since])
    grades = [CREDIT_GRADE_VALUES.get(g) if g is not None else None for g in columns["credit_grade"]]
    return {
        "annual_purchases": RawColumn(purchases_f, _tokens(purchases)),
        "annual_profit": RawColumn(profit_f, _tokens(profit)),
        **({} if portfolio_profit is None else {"profit_share": profit_share_column(profit, portfolio_profit)}),
        "industry_leadership": RawColumn.of([_dec(v) for v in columns["industry_leadership"]]),
        "reference_value": RawColumn.of([_dec(v) for v in columns["reference_value"]]),
        "channel_value": RawColumn.of([_dec(v) for v in columns["channel_value"]]),
        "product_fit": RawColumn.of([_dec(v) for v in columns["product_fit"]]),
        "expected_growth": RawColumn.of([_dec(v) for v in columns["expected_growth_pct"]]),
        "revenue_growth": growth,
        "cooperation_years": RawColumn.of(years),
        "highest_contact_level": _integer(columns["highest_contact_level"]),
        "stability": _integer(columns["active_months"]),
        "satisfaction": RawColumn.of([_dec(v) for v in columns["satisfaction_avg"]]),
        "escalations": _integer(columns["escalations"]),
        "credit_grade": RawColumn(
            np.array([np.nan if g is None else float(g) for g in grades], dtype=np.float64),
            [NULL if g is None else f'"{g}"' for g in grades],
        ),
    }


def concat_columns(parts: Sequence[dict[str, RawColumn]]) -> dict[str, RawColumn]:
    """Columns of consecutive slices of the portfolio joined."""
    if not parts:
        return {}
    return {
        code: RawColumn(np.concatenate([p[code].values for p in parts]), [t for p in parts for t in p[code].tokens])
        for code in parts[0]
    }


# ---------------------------------------------------------------- the compiled model


@dataclass(frozen=True)
class BatchIndicator:
    """One indicator of a compiled model: its normalisation, weight and where it sits in the breakdown."""

    code: str
    dimension: str
    spec: Normalisation
    share: Decimal
    weight_text: str


@dataclass(frozen=True)
class BatchModel:
    """A definition compiled for scoring whole portfolios."""

    definition: ModelDefinition
    indicators: tuple[BatchIndicator, ...]
    dimension_weights: dict[str, Decimal]
    template: str

    @classmethod
    def of(cls, definition: ModelDefinition) -> BatchModel:
        compiled = compile_model(definition)
        specs = {i.code: i.normalisation for i in definition.indicators}
        indicators = tuple(
            BatchIndicator(c.code, c.dimension, specs[c.code], c.share, str(c.weight)) for c in compiled.indicators
        )
        dims = ",".join(f'"{d}":[%s,"{w}",%s]' for d, w in compiled.dimension_weights.items())
        items = ",".join(f'["{i.code}",%s,%s,"{i.weight_text}",%s]' for i in indicators)
        return cls(definition, indicators, dict(compiled.dimension_weights), '{"d":{' + dims + '},"i":[' + items + "]}")


@dataclass
class BatchScores:
    """Scores of every account of a portfolio (cents), with what the breakdowns are written from."""

    totals: IntArray
    normalised: list[IntArray]  # per indicator, cents
    normalised_tokens: list[list[str] | None]  # per indicator: tokens where they differ from the cents' (percentile)
    contributions: list[IntArray]  # per indicator, cents
    dimension_contributions: dict[str, IntArray]
    contribution_tokens: dict[int, str] = field(default_factory=dict)

    def total(self, i: int) -> Decimal:
        """The total of account ``i`` as ``score_account`` gives it."""
        return Decimal(int(self.totals[i])).scaleb(-2)


def _filled(column: RawColumn | None, n: int, missing: Decimal | None) -> FloatArray:
    """Raw values with the normalisation's assumed value where there is no data (NaN: still none)."""
    values = np.full(n, np.nan) if column is None else column.values.copy()
    if missing is not None:
        values[np.isnan(values)] = float(missing)
    return values


def _exact_each(
    spec: Normalisation, column: RawColumn | None, indices: Iterable[int], population: Sequence[Decimal] | None
) -> dict[int, Decimal]:
    norm = normaliser(spec)
    return {int(i): norm(column.decimal(int(i)) if column else None, population) for i in indices}


def _exact_population(spec: Normalisation, column: RawColumn | None, active: BoolArray) -> list[Decimal]:
    """The sorted exact values of the active accounts (missing as assumed), for columns floats cannot rank."""
    values = [column.decimal(int(i)) if column else None for i in np.flatnonzero(active)]
    filled = [v if v is not None else spec.missing for v in values]
    return sorted(v for v in filled if v is not None)


def _normalise(spec: Normalisation, column: RawColumn | None, active: BoolArray) -> tuple[IntArray, list[str] | None]:
    """Normalised cents of one indicator for every account, and tokens where they are not the cents' own."""
    n = len(active)
    values = _filled(column, n, spec.missing)
    none = np.isnan(values)
    safe = column is None or column.exact_safe()
    if spec.method == "percentile":
        tokens: list[str] | None = None
        if not safe:
            exact = _exact_each(spec, column, range(n), _exact_population(spec, column, active))
            cents = np.array([_cents(exact[i]) for i in range(n)], dtype=np.int64)
            return cents, [f'"{exact[i]}"' for i in range(n)]
        population = np.sort(values[active & ~none])
        size = len(population)
        if size <= 1:
            cents = np.where(none, 0, 10_000).astype(np.int64)
            return cents, None
        below = np.searchsorted(population, np.where(none, 0.0, values), side="left").astype(np.int64)
        raw_cents = (2 * below * 10_000 + (size - 1)) // (2 * (size - 1))
        over = (raw_cents > 10_000) & ~none
        cents = np.where(none, 0, np.minimum(raw_cents, 10_000)).astype(np.int64)
        if over.any():  # Decimal.min(100) gives "100" for a rank above 100 (an account outside the population)
            tokens = cents_tokens(cents)
            for i in np.flatnonzero(over):
                tokens[int(i)] = f'"{HUNDRED}"'
        return cents, tokens
    if spec.method == "thresholds":
        if not safe or any(abs(s.at) >= Decimal(SAFE_MAGNITUDE) for s in spec.steps):
            exact = _exact_each(spec, column, range(n), None)
            return np.array([_cents(exact[i]) for i in range(n)], dtype=np.int64), None
        cents = np.zeros(n, dtype=np.int64)
        for step in spec.steps:
            step_cents = _cents(step.score.quantize(CENT, rounding=ROUND_HALF_UP))
            cents = np.where(~none & (values >= float(step.at)), step_cents, cents)
        return cents, None
    assert spec.min is not None and spec.max is not None
    low, span = float(spec.min), float(spec.max - spec.min)
    if not safe or abs(spec.min) >= Decimal(SAFE_MAGNITUDE) or abs(spec.max) >= Decimal(SAFE_MAGNITUDE):
        exact = _exact_each(spec, column, range(n), None)
        return np.array([_cents(exact[i]) for i in range(n)], dtype=np.int64), None
    with np.errstate(invalid="ignore"):
        scaled = (np.where(none, 0.0, values) - low) * 10_000 / span  # in cents
        rounded = np.floor(scaled + 0.5)
        cents = np.clip(rounded, 0, 10_000).astype(np.int64)
        # Within float error of a half cent: decided by the Decimal arithmetic itself.
        error = 1e-7 + 1e-12 * (np.abs(values) + abs(low)) * 10_000 / abs(span)
        doubtful = ~none & (np.abs(scaled - np.floor(scaled) - 0.5) < error) & (scaled > -1) & (scaled < 10_001)
    cents[none] = 0
    if doubtful.any():
        exact = _exact_each(spec, column, np.flatnonzero(doubtful), None)
        cents[list(exact)] = [_cents(value) for value in exact.values()]
    return cents, None


def _lookup(cents: IntArray, fn: Any) -> tuple[IntArray, dict[int, Any]]:
    """Apply a Decimal function to each distinct cents value once; its results (cents) for every element."""
    unique, inverse = np.unique(cents, return_inverse=True)
    results = {int(u): fn(int(u)) for u in unique}
    table = np.array([_cents(results[int(u)]) for u in unique], dtype=np.int64)
    return table[inverse.reshape(cents.shape)], results


def score_columns(model: BatchModel, portfolio: PortfolioColumns) -> BatchScores:
    """Every account's score (``score_account`` for each, percentiles over the active accounts)."""
    n = len(portfolio)
    normalised, tokens, contributions = [], [], []
    dims = {d: np.zeros(n, dtype=np.int64) for d in DIMENSIONS}
    total = np.zeros(n, dtype=np.int64)
    for ind in model.indicators:
        cents, special = _normalise(ind.spec, portfolio.raw.get(ind.code), portfolio.active)
        share = ind.share
        contribution, _ = _lookup(
            cents, lambda c, s=share: (s * Decimal(c).scaleb(-2)).quantize(CENT, rounding=ROUND_HALF_UP)
        )
        normalised.append(cents)
        tokens.append(special)
        contributions.append(contribution)
        dims[ind.dimension] += contribution
        total += contribution
    return BatchScores(total, normalised, tokens, contributions, dims)


def score_values(
    definition: ModelDefinition, values: Mapping[str, Mapping[str, Decimal | None]], active: Iterable[str] | None = None
) -> tuple[PortfolioColumns, BatchScores]:
    """Score per-account indicator values (``indicator_values`` dicts) all at once."""
    portfolio = PortfolioColumns.of(values, active)
    return portfolio, score_columns(BatchModel.of(definition), portfolio)


# ---------------------------------------------------------------- tiers


def tiers_of(
    policy: TierPolicy, portfolio: PortfolioColumns, totals: IntArray, *, measure: FloatArray | None = None
) -> list[str]:
    """Computed tiers: thresholds, then the top-N % rule over the active accounts ranked by its measure, then
    score, then id (``assign_tiers``); former accounts by thresholds alone (``portfolio.portfolio_tiers``)."""
    n = len(portfolio)
    tiers = np.full(n, "maintain", dtype=object)
    hundredths = totals * 100  # the totals (cents) in 1/10,000
    for tier in reversed(THRESHOLD_TIERS):  # the best tier reached wins
        limit = policy.thresholds[tier]
        # total ≥ threshold, exactly: both in 1/10,000 (thresholds have at most 4 places)
        reached = hundredths >= int((limit * SCALE).to_integral_value(rounding=ROUND_CEILING))
        tiers[reached] = tier
    rule = policy.top_percent
    if rule is not None:
        active = np.flatnonzero(portfolio.active)
        if rule.by == "score":
            key = totals[active].astype(np.float64)
        else:
            assert measure is not None
            key = np.nan_to_num(measure[active], nan=0.0)
        ids = np.array([portfolio.ids[i] for i in active])
        order = np.lexsort((ids, -totals[active], -key)) if len(active) else np.array([], dtype=np.int64)
        top = np.zeros(n, dtype=bool)
        top[active[order[: top_count(len(active), rule.percent)]]] = True
        key_tiers = np.isin(tiers, ["strategic", "key"])
        act = np.zeros(n, dtype=bool)
        act[active] = True
        tiers = np.where(act & top & ~key_tiers, "key", np.where(act & ~top & key_tiers, "growth", tiers))
    return [str(t) for t in tiers]


def measure_of(policy: TierPolicy, portfolio: PortfolioColumns) -> FloatArray | None:
    """The raw column the top-N % rule ranks by (None: by score, or no rule)."""
    rule = policy.top_percent
    if rule is None or rule.by == "score":
        return None
    column = portfolio.raw.get(rule.by)
    if column is None:
        return np.zeros(len(portfolio))
    if not column.exact_safe():
        raise ValueError(f"top_percent.by {rule.by!r} has values too large to rank as floats")
    return column.values


# ---------------------------------------------------------------- the stored breakdown


def breakdown_texts(
    model: BatchModel, portfolio: PortfolioColumns, scores: BatchScores, indices: Sequence[int]
) -> list[str]:
    """The stored explained scores (``ScoreResult.compact`` as JSON text) of the accounts at ``indices``."""
    idx = np.asarray(indices, dtype=np.int64)
    count = len(idx)
    slots: list[list[str]] = []
    for dimension, weight in model.dimension_weights.items():
        members = [k for k, ind in enumerate(model.indicators) if ind.dimension == dimension]
        contribution = scores.dimension_contributions[dimension][idx]
        if not members:
            slots += [[f'"{ZERO}"'] * count, [f'"{ZERO}"'] * count]
            continue
        if weight:
            unique, inverse = np.unique(contribution, return_inverse=True)
            table = np.array(
                [
                    f'"{(Decimal(int(c)).scaleb(-2) * HUNDRED / weight).quantize(CENT, rounding=ROUND_HALF_UP)}"'
                    for c in unique
                ],
                dtype=object,
            )
            slots.append(table[inverse.reshape(-1)].tolist())
        else:
            slots.append([f'"{ZERO}"'] * count)
        slots.append(cents_tokens(contribution))
    for k, ind in enumerate(model.indicators):
        column = portfolio.raw.get(ind.code)
        if column is None:
            slots.append([NULL] * count)
        else:
            tokens = column.tokens
            slots.append([tokens[i] for i in idx.tolist()])
        special = scores.normalised_tokens[k]
        slots.append([special[i] for i in idx.tolist()] if special else cents_tokens(scores.normalised[k][idx]))
        slots.append(cents_tokens(scores.contributions[k][idx]))
    template = model.template
    return [template % parts for parts in zip(*slots, strict=True)]


def compact_text(result: ScoreResult) -> str:
    """One explained score as the stored breakdown text (the same form ``breakdown_texts`` writes)."""
    return json.dumps(result.compact(), separators=(",", ":"), ensure_ascii=False)


def exact_values(column: RawColumn) -> list[Decimal | None]:
    """The exact raw values of a column (tests)."""
    return [column.decimal(i) for i in range(len(column.tokens))]

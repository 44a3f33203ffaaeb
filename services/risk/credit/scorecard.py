"""The credit scorecard: factor bands and weights → score 0–100 → grade A–E → risk class (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any, Literal, get_args

from shared.vocabulary import CreditGrade

Direction = Literal["lower_is_better", "higher_is_better"]

# Every factor the scorecard knows: payment behaviour, financials and an external rating.
FACTORS: tuple[str, ...] = (
    "days_sales_outstanding",
    "days_past_due",
    "overdue_ratio",
    "revenue_trend",
    "debt_ratio",
    "operating_cash_flow_margin",
    "external_rating",
)

EXTERNAL_RATING_POINTS: dict[str, int] = {
    "AAA": 100,
    "AA": 90,
    "A": 80,
    "BBB": 65,
    "BB": 50,
    "B": 35,
    "CCC": 20,
    "CC": 10,
    "C": 5,
    "D": 0,
}

RISK_CLASSES: dict[str, str] = {"A": "low", "B": "moderate", "C": "medium", "D": "high", "E": "very_high"}
# The most points a band (or the floor) may give: a score is a weighted mean of points, 0–100.
MAX_POINTS = 100


@dataclass(frozen=True)
class Band:
    """A value at or beyond ``bound`` (in the factor's direction) earns ``points``."""

    bound: Decimal
    points: int


@dataclass(frozen=True)
class Factor:
    """One scored input with its weight and bands (best band first)."""

    name: str
    weight: Decimal
    direction: Direction
    bands: tuple[Band, ...]
    floor_points: int = 0

    def points_for(self, value: Decimal) -> int:
        """The points a value earns: the first band it satisfies, else ``floor_points``."""
        for band in self.bands:
            if (self.direction == "lower_is_better" and value <= band.bound) or (
                self.direction == "higher_is_better" and value >= band.bound
            ):
                return band.points
        return self.floor_points


@dataclass(frozen=True)
class Scorecard:
    """Weighted factors and the grade cut-offs (minimum score per grade, best first)."""

    factors: tuple[Factor, ...]
    grade_cutoffs: tuple[tuple[CreditGrade, Decimal], ...]
    version: int = 1

    def factor(self, name: str) -> Factor | None:
        """The factor named ``name``, if configured."""
        return next((f for f in self.factors if f.name == name), None)


@dataclass(frozen=True)
class ScoreResult:
    """A computed score with its grade, risk class and the points of each factor used."""

    score: Decimal
    grade: CreditGrade
    risk_class: str
    breakdown: dict[str, dict[str, str]]


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _bands(*pairs: tuple[str, int]) -> tuple[Band, ...]:
    return tuple(Band(Decimal(bound), points) for bound, points in pairs)


DEFAULT_SCORECARD = Scorecard(
    factors=(
        Factor(
            "days_sales_outstanding",
            Decimal(15),
            "lower_is_better",
            _bands(("30", 100), ("45", 80), ("60", 60), ("90", 35)),
            10,
        ),
        Factor(
            "days_past_due",
            Decimal(20),
            "lower_is_better",
            _bands(("0", 100), ("15", 80), ("30", 60), ("60", 35), ("90", 15)),
        ),
        Factor(
            "overdue_ratio",
            Decimal(15),
            "lower_is_better",
            _bands(("0.05", 100), ("0.15", 75), ("0.30", 50), ("0.50", 25)),
        ),
        Factor(
            "revenue_trend",
            Decimal(10),
            "higher_is_better",
            _bands(("0.10", 100), ("0", 75), ("-0.10", 50), ("-0.25", 25)),
        ),
        Factor(
            "debt_ratio",
            Decimal(15),
            "lower_is_better",
            _bands(("0.40", 100), ("0.60", 75), ("0.75", 45), ("0.90", 20)),
        ),
        Factor(
            "operating_cash_flow_margin",
            Decimal(10),
            "higher_is_better",
            _bands(("0.10", 100), ("0.05", 80), ("0", 60), ("-0.05", 30)),
        ),
        # External ratings are mapped to points first (EXTERNAL_RATING_POINTS), so bands are identity-like.
        Factor("external_rating", Decimal(15), "higher_is_better", ()),
    ),
    grade_cutoffs=(("A", Decimal(80)), ("B", Decimal(65)), ("C", Decimal(50)), ("D", Decimal(35)), ("E", Decimal(0))),
)


def grade_for_score(score: Decimal, scorecard: Scorecard = DEFAULT_SCORECARD) -> CreditGrade:
    """The grade of a score under the scorecard's cut-offs."""
    for grade, minimum in scorecard.grade_cutoffs:
        if score >= minimum:
            return grade
    return "E"


def risk_class_for_grade(grade: str) -> str:
    """The risk class derived from a grade (SAP's risk category)."""
    return RISK_CLASSES[grade]


def score_credit(inputs: dict[str, Any], scorecard: Scorecard = DEFAULT_SCORECARD) -> ScoreResult:
    """Score the supplied factors; weights of missing factors are spread over the supplied ones.

    ``external_rating`` is a rating symbol (e.g. ``"BBB"``); every other factor is a number.
    Raises ValueError when no configured factor was supplied or a rating symbol is unknown.
    """
    total_weight = Decimal(0)
    weighted = Decimal(0)
    breakdown: dict[str, dict[str, str]] = {}
    for factor in scorecard.factors:
        raw = inputs.get(factor.name)
        if raw is None or factor.weight <= 0:
            continue
        if factor.name == "external_rating":
            symbol = str(raw).strip().upper()
            if symbol not in EXTERNAL_RATING_POINTS:
                raise ValueError(f"unknown external rating {raw!r}")
            points = EXTERNAL_RATING_POINTS[symbol]
            shown = symbol
        else:
            value = _d(raw)
            points = factor.points_for(value)
            shown = format(value, "f")
        total_weight += factor.weight
        weighted += factor.weight * points
        breakdown[factor.name] = {"value": shown, "points": str(points), "weight": format(factor.weight, "f")}
    if total_weight == 0:
        raise ValueError("no scorecard factor was supplied")
    score = (weighted / total_weight).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    grade = grade_for_score(score, scorecard)
    return ScoreResult(score=score, grade=grade, risk_class=risk_class_for_grade(grade), breakdown=breakdown)


def missing_factors(inputs: dict[str, Any], scorecard: Scorecard, minimum: int) -> list[str]:
    """The weighted factors not supplied when fewer than ``minimum`` are (empty: enough to grade on)."""
    weighted = [f.name for f in scorecard.factors if f.weight > 0]
    supplied = [name for name in weighted if inputs.get(name) is not None]
    if len(supplied) >= min(minimum, len(weighted)):
        return []
    return [name for name in weighted if inputs.get(name) is None]


def _number(value: Any, what: str) -> Decimal:
    """A finite decimal (NaN or Infinity in a stored or submitted scorecard would fail every comparison)."""
    number = _d(value)
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value}")
    return number


def _points(value: Any, what: str) -> int:
    points = int(value)
    if not 0 <= points <= MAX_POINTS:
        raise ValueError(f"{what} must be 0 to {MAX_POINTS} points, not {points}")
    return points


def _factor_from_dict(item: dict[str, Any]) -> Factor:
    """One factor, validated: known, finite, weight ≥ 0, points within 0–100 and bands best first."""
    name = item["name"]
    if name not in FACTORS:
        raise ValueError(f"unknown factor {name!r}; known: {', '.join(FACTORS)}")
    if item["direction"] not in ("lower_is_better", "higher_is_better"):
        raise ValueError(f"factor {name}: direction must be lower_is_better or higher_is_better")
    weight = _number(item["weight"], f"factor {name}: weight")
    if weight < 0:
        raise ValueError(f"factor {name}: weight must not be negative")
    bands = tuple(
        Band(_number(b["bound"], f"factor {name}: band {i} bound"), _points(b["points"], f"factor {name}: band {i}"))
        for i, b in enumerate(item.get("bands", []))
    )
    floor = _points(item.get("floor_points", 0), f"factor {name}: floor_points")
    bounds = [b.bound for b in bands]
    ordered = bounds == sorted(bounds, reverse=item["direction"] == "higher_is_better")
    if not ordered or len(set(bounds)) != len(bounds):
        raise ValueError(f"factor {name}: bands must go from the best bound to the worst, each bound once")
    points = [b.points for b in bands] + [floor]
    if any(later > earlier for earlier, later in pairwise(points)):
        raise ValueError(f"factor {name}: a worse band (or the floor) cannot earn more points than a better one")
    return Factor(name=name, weight=weight, direction=item["direction"], bands=bands, floor_points=floor)


def scorecard_to_dict(scorecard: Scorecard) -> dict[str, Any]:
    """A JSON-friendly form of a scorecard (stored and served)."""
    return {
        "version": scorecard.version,
        "factors": [
            {
                "name": f.name,
                "weight": format(f.weight, "f"),
                "direction": f.direction,
                "bands": [{"bound": format(b.bound, "f"), "points": b.points} for b in f.bands],
                "floor_points": f.floor_points,
            }
            for f in scorecard.factors
        ],
        "grade_cutoffs": [{"grade": g, "min_score": format(m, "f")} for g, m in scorecard.grade_cutoffs],
    }


def scorecard_from_dict(data: dict[str, Any]) -> Scorecard:
    """Parse a stored or submitted scorecard; ValueError on unknown or repeated factors, a value that is not finite,
    a negative weight, points outside 0–100, bands out of order, no positive weight, or unordered cut-offs."""
    factors = [_factor_from_dict(item) for item in data["factors"]]
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise ValueError("each factor may be listed once")
    if not any(f.weight > 0 for f in factors):
        raise ValueError("at least one factor needs a positive weight")
    cutoffs: list[tuple[CreditGrade, Decimal]] = [
        (c["grade"], _number(c["min_score"], f"grade {c['grade']}: min_score")) for c in data["grade_cutoffs"]
    ]
    if [g for g, _ in cutoffs] != list(get_args(CreditGrade)):
        raise ValueError("grade_cutoffs must list grades A, B, C, D, E in that order")
    if any(cutoffs[i][1] <= cutoffs[i + 1][1] for i in range(len(cutoffs) - 1)):
        raise ValueError("grade_cutoffs must decrease from A to E")
    return Scorecard(factors=tuple(factors), grade_cutoffs=tuple(cutoffs), version=int(data.get("version", 1)))

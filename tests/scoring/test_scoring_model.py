"""The scoring arithmetic: hand-computed totals, contributions, weights, normalisation, validation, tiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.scoring.scoring_model import (
    IndicatorWeight,
    ModelDefinition,
    Normalisation,
    ThresholdStep,
    TierPolicy,
    TopPercentRule,
    assign_tiers,
    build_populations,
    default_definition,
    effective_tier,
    normalise,
    override_is_active,
    percentile_rank,
    score_account,
    tier_for_score,
    top_count,
    validate_definition,
)
from shared.errors import Unprocessable

D = Decimal


def fixture_model(purchases_weight: str = "50", leadership_weight: str = "30") -> ModelDefinition:
    return ModelDefinition(
        indicators=[
            IndicatorWeight(
                code="annual_purchases",
                weight=D(purchases_weight),
                normalisation=Normalisation(method="bounds", min=D(0), max=D(10_000_000)),
            ),
            IndicatorWeight(
                code="industry_leadership",
                weight=D(leadership_weight),
                normalisation=Normalisation(method="bounds", min=D(0), max=D(10)),
            ),
            IndicatorWeight(
                code="cooperation_years",
                weight=D(20),
                normalisation=Normalisation(
                    method="thresholds",
                    steps=[
                        ThresholdStep(at=D(a), score=D(s))
                        for a, s in (("1", "25"), ("3", "50"), ("5", "75"), ("10", "100"))
                    ],
                ),
            ),
        ],
        tiers=TierPolicy(thresholds={"strategic": D(80), "key": D(60), "growth": D(30)}),
    )


PORTFOLIO = {
    "A": {"annual_purchases": D(8_000_000), "industry_leadership": D(9), "cooperation_years": D(6)},
    "B": {"annual_purchases": D(5_000_000), "industry_leadership": D(5), "cooperation_years": D(2)},
    "C": {"annual_purchases": D(12_000_000), "industry_leadership": None, "cooperation_years": D("0.5")},
    "D": {"annual_purchases": D(1_234_567), "industry_leadership": D("3.3"), "cooperation_years": D(10)},
}


def test_fixture_portfolio_scores_to_hand_computed_totals():
    model = fixture_model()
    totals = {k: score_account(model, v).total for k, v in PORTFOLIO.items()}
    # A: 50×80% + 30×90% + 20×75% ; C: capped at 100 %, no rating, under a year ; D: 12.35 % → 6.175 → 6.18
    assert totals == {"A": D("82.00"), "B": D("45.00"), "C": D("50.00"), "D": D("36.08")}


def test_contributions_sum_to_the_total_and_explain_each_indicator():
    model = fixture_model()
    for features in PORTFOLIO.values():
        result = score_account(model, features)
        assert sum(i.contribution for i in result.indicators) == result.total
        assert sum(d.contribution for d in result.dimensions) == result.total
    d = score_account(model, PORTFOLIO["D"])
    purchases = d.indicators[0]
    assert (purchases.raw, purchases.normalised, purchases.weight, purchases.contribution) == (
        D(1_234_567),
        D("12.35"),
        D(50),
        D("6.18"),
    )
    a = {dim.dimension: dim.score for dim in score_account(model, PORTFOLIO["A"]).dimensions}
    assert a == {"scale": D("80.00"), "strategic": D("90.00"), "potential": D(0), "relationship": D("75.00")}


def test_changing_one_weight_changes_scores_as_computed():
    model = fixture_model(purchases_weight="40", leadership_weight="40")
    totals = {k: score_account(model, v).total for k, v in PORTFOLIO.items()}
    # A: 40×80% + 40×90% + 15 ; D: 40×12.35% = 4.94, 40×33% = 13.20, + 20
    assert totals == {"A": D("83.00"), "B": D("45.00"), "C": D("40.00"), "D": D("38.14")}


def test_bounds_with_min_above_max_reward_lower_values():
    lower_is_better = Normalisation(method="bounds", min=D(4), max=D(0))
    assert normalise(lower_is_better, D(0)) == D(100)
    assert normalise(lower_is_better, D(1)) == D(75)
    assert normalise(lower_is_better, D(9)) == D(0)
    assert normalise(Normalisation(method="bounds", min=D(1), max=D(5), missing=D("3.5")), None) == D("62.50")
    assert normalise(Normalisation(method="bounds", min=D(1), max=D(5)), None) == D(0)


def test_percentile_ranks_an_account_against_the_rest_of_the_portfolio():
    population = [D(0), D(10), D(20), D(30), D(40)]
    assert percentile_rank(population, D(20)) == D("50.00")
    assert percentile_rank(population, D(40)) == D(100)
    assert percentile_rank(population, D(0)) == D(0)
    assert percentile_rank([D(5)], D(5)) == D(100)
    model = ModelDefinition(
        indicators=[
            IndicatorWeight(code="annual_purchases", weight=D(100), normalisation=Normalisation(method="percentile"))
        ]
    )
    portfolio = [{"annual_purchases": D(v)} for v in (300, 100, 200)]
    populations = build_populations(model, portfolio)
    assert [score_account(model, f, populations).total for f in portfolio] == [D(100), D(0), D("50.00")]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        (lambda m: m["indicators"][1].update(weight="-30"), "indicators.1.weight", "negative"),
        (lambda m: m["indicators"][0].update(weight="40"), "indicators", "sum to 90"),
        (lambda m: m["indicators"][0].update(code="luck"), "indicators.0.code", "Unknown indicator"),
        (lambda m: m["indicators"][1].update(code="annual_purchases"), "indicators.1.code", "twice"),
        (lambda m: m["indicators"][0]["normalisation"].update(max="0"), "indicators.0.normalisation.max", "different"),
        (lambda m: m["tiers"]["thresholds"].update(key="90"), "tiers.thresholds", "strategic > key > growth"),
        (lambda m: m["tiers"].update(top_percent={"percent": "0"}), "tiers.top_percent.percent", "(0, 100]"),
        (
            lambda m: m["indicators"][2]["normalisation"].update(
                steps=[{"at": 5, "score": 50}, {"at": 1, "score": 20}]
            ),
            "indicators.2.normalisation.steps",
            "ascending",
        ),
    ],
)
def test_invalid_models_are_refused_naming_the_problem(change, field, fragment):
    raw = fixture_model().model_dump(mode="json")
    change(raw)
    with pytest.raises(Unprocessable) as caught:
        validate_definition(ModelDefinition.model_validate(raw))
    assert caught.value.extra["field"] == field
    assert fragment in caught.value.detail


def test_the_default_model_is_valid_and_weights_the_four_dimensions():
    model = default_definition()
    validate_definition(model)
    result = score_account(model, {})
    assert {d.dimension: d.weight for d in result.dimensions} == {
        "scale": D(35),
        "strategic": D(25),
        "potential": D(20),
        "relationship": D(20),
    }


def test_tier_thresholds_classify_scores_at_their_boundaries():
    thresholds = {"strategic": D(80), "key": D(60), "growth": D(30)}
    scores = [D(100), D(80), D("79.99"), D(60), D("59.99"), D(30), D("29.99"), D(0)]
    assert [tier_for_score(s, thresholds) for s in scores] == [
        "strategic",
        "strategic",
        "key",
        "key",
        "growth",
        "growth",
        "maintain",
        "maintain",
    ]


def test_top_percent_rule_makes_key_accounts_exactly_the_top_n_percent_by_value():
    policy = TierPolicy(
        thresholds={"strategic": D(80), "key": D(60), "growth": D(30)},
        top_percent=TopPercentRule(percent=D(20), by="annual_purchases"),
    )
    entries = [
        ("a", D(85), D(10)),  # strategic by score but not in the top 20 % by value → growth
        ("b", D(50), D(1000)),  # growth by score, top by value → key
        ("c", D(82), D(900)),  # strategic and in the top → stays strategic
        ("d", D(70), D(5)),  # key by score, outside the top → growth
        ("e", D(30), D(4)),
        ("f", D(10), D(3)),
        ("g", D(25), D(2)),
        ("h", D(25), D(2)),
        ("i", D(25), D(1)),
        ("j", D(25), D(0)),
    ]
    tiers = assign_tiers(policy, entries)
    assert tiers == {
        "a": "growth",
        "b": "key",
        "c": "strategic",
        "d": "growth",
        "e": "growth",
        "f": "maintain",
        "g": "maintain",
        "h": "maintain",
        "i": "maintain",
        "j": "maintain",
    }
    assert sum(1 for t in tiers.values() if t in {"strategic", "key"}) == top_count(len(entries), D(20)) == 2
    assert top_count(36, D(10)) == 4
    assert assign_tiers(TierPolicy(thresholds=policy.thresholds), entries)["a"] == "strategic"


def test_an_expired_override_falls_back_to_the_computed_tier():
    now = datetime(2026, 11, 15, tzinfo=UTC)
    active = override_is_active(now + timedelta(days=1), None, now)
    expired = override_is_active(now - timedelta(seconds=1), None, now)
    revoked = override_is_active(None, now - timedelta(days=1), now)
    assert effective_tier("growth", "strategic", active) == ("strategic", True)
    assert effective_tier("growth", "strategic", expired) == ("growth", False)
    assert effective_tier("growth", "strategic", revoked) == ("growth", False)
    assert override_is_active(None, None, now)

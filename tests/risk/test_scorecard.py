"""The credit scorecard: weighted factor points → score → grade → risk class."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.risk.credit.scorecard import (
    DEFAULT_SCORECARD,
    grade_for_score,
    risk_class_for_grade,
    score_credit,
    scorecard_from_dict,
    scorecard_to_dict,
)


def test_a_strong_payer_with_sound_financials_scores_grade_a():
    result = score_credit(
        {
            "days_sales_outstanding": 28,
            "days_past_due": 0,
            "overdue_ratio": "0.02",
            "revenue_trend": "0.15",
            "debt_ratio": "0.35",
            "operating_cash_flow_margin": "0.12",
            "external_rating": "AA",
        }
    )
    # Every factor earns 100 except the AA rating (90): (100·85 + 90·15) / 100 = 98.50
    assert result.score == D("98.50")
    assert (result.grade, result.risk_class) == ("A", "low")
    assert result.breakdown["external_rating"] == {"value": "AA", "points": "90", "weight": "15"}


def test_missing_factors_spread_their_weight_over_the_supplied_ones():
    # days_past_due 20 → 60 points (weight 20); debt_ratio 0.8 → 20 points (weight 15): (1200 + 300) / 35 = 42.857…
    result = score_credit({"days_past_due": 20, "debt_ratio": "0.8"})
    assert result.score == D("42.86")
    assert result.grade == "D"
    assert set(result.breakdown) == {"days_past_due", "debt_ratio"}


def test_grades_follow_the_cutoffs():
    assert [grade_for_score(D(s)) for s in ("80", "79.99", "65", "50", "49.99", "35", "34.99", "0")] == [
        "A",
        "B",
        "B",
        "C",
        "D",
        "D",
        "E",
        "E",
    ]
    assert [risk_class_for_grade(g) for g in "ABCDE"] == ["low", "moderate", "medium", "high", "very_high"]


def test_a_late_payer_in_poor_shape_scores_grade_e():
    result = score_credit(
        {"days_past_due": 120, "overdue_ratio": "0.6", "debt_ratio": "0.95", "external_rating": "CCC"}
    )
    # 0·20 + 0·15 + 0·15 + 20·15 = 300 / 65 = 4.62
    assert result.score == D("4.62")
    assert result.grade == "E"


def test_scoring_needs_a_factor_and_a_known_rating():
    with pytest.raises(ValueError, match="no scorecard factor"):
        score_credit({})
    with pytest.raises(ValueError, match="unknown external rating"):
        score_credit({"external_rating": "ZZZ"})


def test_a_scorecard_round_trips_and_bad_ones_are_refused():
    data = scorecard_to_dict(DEFAULT_SCORECARD)
    assert scorecard_from_dict(data) == DEFAULT_SCORECARD
    with pytest.raises(ValueError, match="unknown factor"):
        scorecard_from_dict({**data, "factors": [{"name": "shoe_size", "weight": 1, "direction": "higher_is_better"}]})
    reversed_cutoffs = [dict(c) for c in data["grade_cutoffs"]]
    reversed_cutoffs[0]["min_score"] = "10"
    with pytest.raises(ValueError, match="decrease"):
        scorecard_from_dict({**data, "grade_cutoffs": reversed_cutoffs})


def test_a_custom_scorecard_changes_the_grade():
    data = scorecard_to_dict(DEFAULT_SCORECARD)
    data["grade_cutoffs"] = [
        {"grade": "A", "min_score": "95"},
        {"grade": "B", "min_score": "90"},
        {"grade": "C", "min_score": "50"},
        {"grade": "D", "min_score": "30"},
        {"grade": "E", "min_score": "0"},
    ]
    strict = scorecard_from_dict(data)
    assert score_credit({"days_past_due": 10}).grade == "A"  # 80 points
    assert score_credit({"days_past_due": 10}, strict).grade == "C"

"""Pure arithmetic of the goals domain against hand computation: periods, splits, forecasts, variance, KPIs."""

from datetime import date
from decimal import Decimal as D

import pytest

from services.goals.decomposition import SplitMismatch, check_manual, split_even, split_weighted
from services.goals.forecast import MonthFigures, is_at_risk, metric_actual, track
from services.goals.periods import FiscalCalendar, InvalidPeriod, elapsed_fractions
from services.goals.scorecard import Component, ScorecardInputs, component_scores, default_components, kpi_score
from services.goals.variance import Cell, compare, price_volume


def test_periods_follow_a_fiscal_year_starting_in_april():
    cal = FiscalCalendar(start_month=4)
    year = cal.parse("2026")
    assert year.months[0] == "2026-04" and year.months[-1] == "2027-03" and len(year.months) == 12
    assert cal.parse("2026-Q4").months == ("2027-01", "2027-02", "2027-03")
    assert cal.quarter_of("2027-02") == "2026-Q4"
    assert cal.fiscal_year_of("2026-03") == 2025
    assert [p.text for p in cal.children(year, "quarters")] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert cal.shifted(cal.parse("2026-Q1"), periods=-1).text == "2025-Q4"
    assert cal.shifted(cal.parse("2026-03"), years=-1).text == "2025-03"
    with pytest.raises(InvalidPeriod):
        cal.parse("2026-13")


def test_elapsed_fractions_count_whole_days_of_the_current_month():
    cal = FiscalCalendar()
    fractions = elapsed_fractions(cal.parse("2026-Q3"), date(2026, 8, 16))
    assert fractions == [D(1), D(15) / D(31), D(0)]


def test_even_split_adds_up_to_the_cent_with_the_remainder_on_the_first_parts():
    parts = split_even(D("100.00"), ["a", "b", "c"])
    assert parts == {"a": D("33.34"), "b": D("33.33"), "c": D("33.33")}
    assert sum(parts.values()) == D("100.00")


def test_seasonal_split_follows_weights_and_adds_up_exactly():
    parts = split_weighted(D("1000"), ["Q1", "Q2", "Q3", "Q4"], [D(1), D(2), D(3), D(4)])
    assert parts == {"Q1": D("100.00"), "Q2": D("200.00"), "Q3": D("300.00"), "Q4": D("400.00")}
    odd = split_weighted(D("10"), ["x", "y", "z"], [D(1), D(1), D(1)])
    assert sum(odd.values()) == D("10")


def test_manual_split_that_does_not_add_up_names_the_gap():
    assert check_manual(D("100"), {"a": D("60"), "b": D("40")}) == {"a": D("60"), "b": D("40")}
    with pytest.raises(SplitMismatch) as err:
        check_manual(D("100"), {"a": D("60"), "b": D("30")})
    assert err.value.gap == D("10")
    assert "gap of 10.00" in str(err.value)


def test_run_rate_forecast_attainment_and_gap_match_hand_computation():
    # Target 1,200,000 for the year; 450,000 sold in the first 4.5 months.
    fractions = [D(1)] * 4 + [D("0.5")] + [D(0)] * 7
    t = track(
        metric="revenue",
        target_value=D(1200000),
        months=[f"2026-{m:02d}" for m in range(1, 13)],
        fractions=fractions,
        actual=D(450000),
    )
    assert t.forecast_method == "run_rate"
    assert t.forecast == D("1200000.00")  # 450,000 / 4.5 × 12
    assert t.attainment_pct == D("37.50")
    assert t.gap == D("0.00")
    assert not is_at_risk(t, D(90))


def test_seasonal_forecast_uses_the_weight_of_the_elapsed_months():
    # Weights 1,1,2,2 … the first two months carry 2/12 of the year; 100 sold → forecast 600.
    weights = [D(1), D(1), D(2), D(2), D(1), D(1), D(2), D(2), D(0), D(0), D(0), D(0)]
    t = track(
        metric="revenue",
        target_value=D(800),
        months=[f"2026-{m:02d}" for m in range(1, 13)],
        fractions=[D(1), D(1)] + [D(0)] * 10,
        actual=D(100),
        seasonal_weights=weights,
    )
    assert t.forecast_method == "seasonal"
    assert t.seasonal_forecast == D("600.00")
    assert t.run_rate_forecast == D("600.00")  # 100 / 2 × 12 (coincidence of this shape)
    assert t.forecast_attainment_pct == D("75.00")
    assert t.gap == D("200.00")
    assert is_at_risk(t, D(90))


def test_margin_penetration_and_new_business_from_sales_figures():
    figures = {
        "2026-01": MonthFigures(D(1000), D(700), D(0), {"工业网关", "PLC控制器"}, {"华东"}),
        "2026-02": MonthFigures(D(500), D(400), D(0), {"工业网关", "运维服务"}, {"华南"}),
    }
    history = {"2025-06": MonthFigures(D(10), D(5), D(0), {"工业网关"}, {"华东"})}
    offered = ["工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务"]
    months = ["2026-01", "2026-02"]
    assert metric_actual("gross_margin_pct", months, figures, offered_lines=offered) == D("26.67")  # 400 / 1500
    assert metric_actual("gross_profit", months, figures, offered_lines=offered) == D(400)
    assert metric_actual("product_penetration", months, figures, offered_lines=offered) == D("50.00")  # 3 of 6
    # New: PLC控制器 and 运维服务 (product lines), 华南 (region).
    assert metric_actual("new_business", months, figures, offered_lines=offered, history=history) == D(3)


def test_price_and_volume_effects_add_up_to_the_delta():
    # Last year 100 units at 10; this year 120 units at 9 → delta 80 = volume 200 + price −120.
    price, volume = price_volume(Cell(D(1080), D(120)), Cell(D(1000), D(100)))
    assert volume == D("200.00")
    assert price == D("-120.00")
    rows = compare(
        {"工业网关": Cell(D(1080), D(120)), "PLC控制器": Cell(D(500), D(5))},
        {"工业网关": Cell(D(1000), D(100)), "运维服务": Cell(D(300), D(3))},
    )
    by_key = {r.key: r for r in rows}
    # PLC控制器 is new and 运维服务 lost: each its own effect, not volume.
    assert (by_key["PLC控制器"].delta, by_key["PLC控制器"].new_effect, by_key["PLC控制器"].volume_effect) == (
        500,
        500,
        0,
    )
    assert (by_key["运维服务"].delta, by_key["运维服务"].lost_effect) == (-300, -300)
    assert sum(r.delta for r in rows) == D(280)
    assert by_key["PLC控制器"].share_pct == D("178.57")  # 500 / 280
    assert rows[0].key == "PLC控制器"  # largest absolute delta first


def test_kpi_score_is_the_weighted_mean_of_capped_component_scores():
    inputs = ScorecardInputs(
        revenue_attainment_pct=D(130),  # capped at 120
        margin_attainment_pct=D(80),
        sla_compliance_pct=D("75.00"),
        satisfaction_avg=D(4),  # 80 points
        at_risk_targets=2,  # 100 − 2 × 20 = 60
    )
    scores = component_scores(inputs, at_risk_penalty_points=D(20))
    weights = {
        "revenue_attainment": D("0.35"),
        "margin_attainment": D("0.25"),
        "sla_compliance": D("0.15"),
        "satisfaction": D("0.15"),
        "at_risk_targets": D("0.10"),
    }
    total, breakdown = kpi_score(scores, default_components(weights, attainment_cap_pct=D(120)))
    # 0.35×120 + 0.25×80 + 0.15×75 + 0.15×80 + 0.10×60 = 42 + 20 + 11.25 + 12 + 6
    assert total == D("91.25")
    assert [b.contribution for b in breakdown] == [D("42.00"), D("20.00"), D("11.25"), D("12.00"), D("6.00")]


def test_kpi_score_renormalises_weights_over_components_with_data():
    inputs = ScorecardInputs(D(100), D(50), None, None, 0)
    scores = component_scores(inputs, at_risk_penalty_points=D(20))
    components = [Component("revenue_attainment", D(50), D(120)), Component("margin_attainment", D(25), D(120))]
    components += [Component("sla_compliance", D(0), D(100)), Component("at_risk_targets", D(25), D(100))]
    total, breakdown = kpi_score(scores, components)
    assert total == D("87.50")  # (50×100 + 25×50 + 25×100) / 100; SLA has no data and no weight
    assert [b.has_data for b in breakdown] == [True, True, False, True]
